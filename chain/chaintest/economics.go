package chaintest

import (
	"slices"

	"github.com/walrus-go/walrus/chain"
)

// The tests of rewards, commission, attestations, pending stake and
// capacity (issue 9): what stakers and operators see, per node.

// attest makes the committee members at the indices attesters submit their
// attestation for the current epoch, marking as passing the members for
// which pass returns true.
func (e *env) attest(attesters []int, pass func(member int) bool) {
	e.t.Helper()
	com := e.committee(0)
	var passing []int
	for i := range com.Members {
		if pass(i) {
			passing = append(passing, i)
		}
	}
	bm := chain.BitmapOf(len(com.Members), passing...)
	for _, i := range attesters {
		m := com.Members[i]
		n := e.nodeByID(m.NodeID)
		att := chain.Attestation{Node: m.NodeID, Epoch: com.Epoch, Passed: bm, Signature: n.Key.Sign(chain.AttestationMessage(com.Epoch, m.NodeID, bm))}
		_, err := e.c.SubmitAttestation(e.ctx, n.Operator, att)
		e.must(err)
	}
}

// allMembers returns the indices of the current committee's members.
func (e *env) allMembers() []int {
	com := e.committee(0)
	out := make([]int, len(com.Members))
	for i := range out {
		out[i] = i
	}
	return out
}

func (e *env) node(id chain.NodeID) chain.NodeInfo {
	e.t.Helper()
	info, err := e.c.Node(e.ctx, id)
	e.must(err)
	return info
}

// lastEpoch returns the newest entry of a node's history.
func (e *env) lastEpoch(id chain.NodeID) chain.NodeEpoch {
	e.t.Helper()
	h, err := e.c.NodeHistory(e.ctx, id)
	e.must(err)
	if len(h) == 0 {
		e.t.Fatalf("node %s has no history", id)
	}
	return h[len(h)-1]
}

// testRewards: the fees of an epoch go to its committee by shards (members
// holding n − f shards attesting that all passed, where the backend runs
// challenges); the operator's commission accrues to the node and is
// collected by a transaction; the rest raises the pool's stake.
func testRewards(e *env) {
	// Storage bought for epoch 1 only: its fees are epoch 1's rewards.
	r := e.register(e.net.Client, blob(1, 1<<20, 1, false))
	n0, id0 := e.net.Nodes[0], e.ids[0]
	before := e.node(id0)
	opBal := e.balance(n0.Operator.Address())
	if e.b.Caps.StorageChallenges {
		e.attest(e.allMembers(), func(int) bool { return true })
	}
	e.nextEpoch()
	com := e.committee(1)
	// The hand computation: reward = ⌊fees × shards / n⌋, commission =
	// ⌊reward × rate / 10,000⌋.
	var total uint64
	for _, ev := range e.eventsOf(chain.EventRewardsDistributed) {
		i, _ := com.Index(ev.NodeID)
		if want := r.Cost * uint64(len(com.Members[i].Shards)) / NShards; ev.Amount != want || ev.Burned != 0 || ev.Epoch != 1 {
			e.t.Errorf("rewards of %s: %+v, want %d", ev.NodeID, ev, want)
		}
		total += ev.Amount
	}
	if total == 0 || total > r.Cost {
		e.t.Fatalf("rewards %d for fees %d", total, r.Cost)
	}
	i0, _ := com.Index(id0)
	share := r.Cost * uint64(len(com.Members[i0].Shards)) / NShards
	commission := share * uint64(n0.Commission) / chain.MaxCommission
	after := e.node(id0)
	if got := after.Stake - before.Stake; got != share-commission {
		e.t.Errorf("pool grew by %d, want %d", got, share-commission)
	}
	staked, _ := e.c.StakedWAL(e.ctx, n0.Operator.Address())
	if staked[0].Value != after.Stake {
		e.t.Errorf("sole staker's value %d, pool %d", staked[0].Value, after.Stake)
	}
	// Commission accrues; the operator collects it.
	if after.CommissionAccrued != commission || e.balance(n0.Operator.Address()) != opBal {
		e.t.Fatalf("commission accrued %d (want %d), operator balance %d → %d", after.CommissionAccrued, commission, opBal, e.balance(n0.Operator.Address()))
	}
	_, err := e.c.CollectCommission(e.ctx, e.net.Client, id0)
	e.wantErr(err, chain.ErrNotOwner, "collecting another operator's commission")
	_, err = e.c.CollectCommission(e.ctx, n0.Operator, chain.ObjectID{9})
	e.wantErr(err, chain.ErrUnknownNode, "collecting the commission of an unknown node")
	got, err := e.c.CollectCommission(e.ctx, n0.Operator, id0)
	e.must(err)
	if got != commission || e.balance(n0.Operator.Address()) != opBal+commission || e.node(id0).CommissionAccrued != 0 {
		e.t.Fatalf("collected %d, want %d; balance %d", got, commission, e.balance(n0.Operator.Address()))
	}
	if got, err := e.c.CollectCommission(e.ctx, n0.Operator, id0); err != nil || got != 0 {
		e.t.Errorf("collecting again: %d %v", got, err)
	}
	if !e.b.Caps.StorageChallenges {
		return
	}
	h := e.lastEpoch(id0)
	if h != (chain.NodeEpoch{Epoch: 1, Shards: 4, Attested: true, PassedBy: NShards, Verdict: chain.VerdictPassed, Reward: share, Commission: commission}) {
		e.t.Errorf("history of node 0: %+v", h)
	}
}

// testChallengeRewards: a member is paid only when attesters holding n − f
// shards mark it as passing; one they do not mark forfeits its reward
// (burned); when the attesters hold fewer than n − f shards, nobody is
// paid or burned and the fees carry over to the next epoch.
func testChallengeRewards(e *env) {
	if !e.b.Caps.StorageChallenges {
		e.t.Skip("the backend runs no storage challenges")
	}
	com := e.committee(0)
	byNode := func(i int) int { j, _ := com.Index(e.ids[i]); return j }
	r1 := e.register(e.net.Client, blob(1, 1<<20, 1, false))
	stakes := map[chain.NodeID]uint64{}
	for _, id := range e.ids {
		stakes[id] = e.node(id).Stake
	}
	// Epoch 1: only node 0 (4 of 10 shards) attests: unproven.
	e.attest([]int{byNode(0)}, func(int) bool { return true })
	e.nextEpoch()
	for i, id := range e.ids {
		h := e.lastEpoch(id)
		if h.Verdict != chain.VerdictUnproven || h.Reward != 0 || h.Burned != 0 || h.PassedBy != 4 || h.FailedBy != 0 || h.Attested != (i == 0) {
			e.t.Errorf("epoch 1 of node %d: %+v", i, h)
		}
		if got := e.node(id).Stake; got != stakes[id] {
			e.t.Errorf("node %d was paid for an unproven epoch: %d → %d", i, stakes[id], got)
		}
	}
	for _, ev := range e.eventsOf(chain.EventRewardsDistributed) {
		if ev.Amount != 0 || ev.Burned != 0 {
			e.t.Errorf("rewards of an unproven epoch: %+v", ev)
		}
	}

	// Epoch 2: its own fees and epoch 1's. Nodes 0, 1 and 2 (9 shards)
	// attest that 0, 1 and 2 passed, not 3.
	r2 := e.register(e.net.Client, blob(2, 1<<20, 1, false))
	pot := r1.Cost + r2.Cost
	com = e.committee(0)
	three := byNode(3)
	e.attest([]int{byNode(0), byNode(1), byNode(2)}, func(i int) bool { return i != three })
	opBal := e.balance(e.net.Nodes[3].Operator.Address())
	e.nextEpoch()
	var burned uint64
	for i, id := range e.ids {
		j := byNode(i)
		want := pot * uint64(len(com.Members[j].Shards)) / NShards
		h := e.lastEpoch(id)
		got := e.node(id).Stake - stakes[id]
		if i == 3 {
			if h.Verdict != chain.VerdictFailed || h.Burned != want || h.Reward != 0 || h.PassedBy != 0 || h.FailedBy != 9 || h.Attested || got != 0 {
				e.t.Errorf("epoch 2 of the failing node: %+v, pool grew by %d", h, got)
			}
			burned = h.Burned
			continue
		}
		commission := want * uint64(e.net.Nodes[i].Commission) / chain.MaxCommission
		if h.Verdict != chain.VerdictPassed || h.Reward != want || h.Commission != commission || h.PassedBy != 9 || got != want-commission {
			e.t.Errorf("epoch 2 of node %d: %+v (want reward %d), pool grew by %d", i, h, want, got)
		}
	}
	if burned == 0 || e.balance(e.net.Nodes[3].Operator.Address()) != opBal || e.node(e.ids[3]).CommissionAccrued != 0 {
		e.t.Errorf("the failing node's operator gained from its forfeit")
	}
	var evBurned uint64
	for _, ev := range e.eventsOf(chain.EventRewardsDistributed) {
		evBurned += ev.Burned
	}
	if evBurned != burned {
		e.t.Errorf("events burned %d, history %d", evBurned, burned)
	}
	if h, _ := e.c.NodeHistory(e.ctx, e.ids[3]); len(h) != 2 || h[0].Epoch != 1 || h[1].Epoch != 2 {
		e.t.Errorf("history of node 3: %+v", h)
	}
}

// testAttestation: attestations of epoch e are taken from its members, in
// epoch e once its epoch change is done (the challenge window), once each.
func testAttestation(e *env) {
	if !e.b.Caps.StorageChallenges {
		e.t.Skip("the backend runs no storage challenges")
	}
	com := e.committee(0)
	n0, id0 := e.net.Nodes[0], e.ids[0]
	passed := chain.BitmapOf(len(com.Members), 0, 1, 2, 3)
	att := chain.Attestation{Node: id0, Epoch: 1, Passed: passed, Signature: n0.Key.Sign(chain.AttestationMessage(1, id0, passed))}
	bad := att
	bad.Signature = e.net.Nodes[1].Key.Sign(chain.AttestationMessage(1, id0, passed))
	_, err := e.c.SubmitAttestation(e.ctx, n0.Operator, bad)
	e.wantErr(err, chain.ErrBadSignature, "attestation signed by another node")
	_, err = e.c.SubmitAttestation(e.ctx, e.net.Client, att)
	e.wantErr(err, chain.ErrNotOwner, "attestation by a non-operator")
	old := att
	old.Epoch = 2
	_, err = e.c.SubmitAttestation(e.ctx, n0.Operator, old)
	e.wantErr(err, chain.ErrWrongEpoch, "attestation for another epoch")
	short := att
	short.Passed = chain.Bitmap{}
	_, err = e.c.SubmitAttestation(e.ctx, n0.Operator, short)
	e.wantErr(err, chain.ErrInvalidArgument, "attestation bitmap of the wrong size")
	rc, err := e.c.SubmitAttestation(e.ctx, n0.Operator, att)
	e.must(err)
	if len(rc.Events) != 1 || rc.Events[0].Kind != chain.EventAttestation || rc.Events[0].NodeID != id0 {
		e.t.Fatalf("events %+v", rc.Events)
	}
	_, err = e.c.SubmitAttestation(e.ctx, n0.Operator, att)
	e.wantErr(err, chain.ErrInvalidArgument, "attesting twice")

	// Epoch 2 starts syncing: its window opens once the change is done.
	e.advance(e.net.EpochDuration)
	com = e.committee(2)
	i0, _ := com.Index(id0)
	bm := chain.BitmapOf(len(com.Members), i0)
	att2 := chain.Attestation{Node: id0, Epoch: 2, Passed: bm, Signature: n0.Key.Sign(chain.AttestationMessage(2, id0, bm))}
	_, err = e.c.SubmitAttestation(e.ctx, n0.Operator, att2)
	e.wantErr(err, chain.ErrWrongPhase, "attestation during the epoch change")
	late := att
	_, err = e.c.SubmitAttestation(e.ctx, e.net.Nodes[1].Operator, chain.Attestation{Node: e.ids[1], Epoch: 1, Passed: late.Passed,
		Signature: e.net.Nodes[1].Key.Sign(chain.AttestationMessage(1, e.ids[1], late.Passed))})
	e.wantErr(err, chain.ErrWrongEpoch, "attestation of a past epoch")
	e.syncAll()
	_, err = e.c.SubmitAttestation(e.ctx, n0.Operator, att2)
	e.must(err)
	// Still open after the midpoint.
	e.advance(e.net.EpochDuration / 2)
	i1, _ := com.Index(e.ids[1])
	bm1 := chain.BitmapOf(len(com.Members), i1)
	_, err = e.c.SubmitAttestation(e.ctx, e.net.Nodes[1].Operator, chain.Attestation{Node: e.ids[1], Epoch: 2, Passed: bm1,
		Signature: e.net.Nodes[1].Key.Sign(chain.AttestationMessage(2, e.ids[1], bm1))})
	e.must(err)
}

// testPendingWithdrawal: pending stake that no selected committee counts is
// withdrawn at once; pending stake the next committee counts is requested
// and leaves the epoch after it activates. Nodes show their pending and
// withdrawing stake by epoch.
func testPendingWithdrawal(e *env) {
	staker, id := e.net.Client, e.ids[3]
	bal := e.balance(staker.Address())
	a, err := e.c.Stake(e.ctx, staker, id, 5*chain.FrostPerWAL)
	e.must(err)
	info := e.node(id)
	if !slices.Equal(info.PendingByEpoch, []chain.EpochAmount{{Epoch: 2, Amount: 5 * chain.FrostPerWAL}}) || info.PendingStake != 5*chain.FrostPerWAL {
		e.t.Fatalf("pending stake %+v", info.PendingByEpoch)
	}
	got, err := e.c.Withdraw(e.ctx, staker, a.ID)
	e.must(err)
	if got != 5*chain.FrostPerWAL || e.balance(staker.Address()) != bal {
		e.t.Fatalf("withdrew pending stake: %d, balance %d → %d", got, bal, e.balance(staker.Address()))
	}
	if info := e.node(id); len(info.PendingByEpoch) != 0 || info.PendingStake != 0 {
		e.t.Fatalf("pending stake after its withdrawal %+v", info.PendingByEpoch)
	}
	if list, _ := e.c.StakedWAL(e.ctx, staker.Address()); len(list) != 0 {
		e.t.Errorf("staked WAL left %+v", list)
	}

	// Counted by the next committee: requested, leaves in epoch 3.
	b, err := e.c.Stake(e.ctx, staker, id, 6*chain.FrostPerWAL)
	e.must(err)
	e.advance(e.net.EpochDuration / 2)
	_, err = e.c.Withdraw(e.ctx, staker, b.ID)
	e.wantErr(err, chain.ErrNotWithdrawing, "withdrawing at once stake the next committee counts")
	w, err := e.c.RequestWithdrawal(e.ctx, staker, b.ID)
	e.must(err)
	if w.State != chain.StakeWithdrawing || w.WithdrawEpoch != 3 || w.ActivationEpoch != 2 {
		e.t.Fatalf("early withdrawal %+v", w)
	}
	info = e.node(id)
	if !slices.Equal(info.WithdrawingByEpoch, []chain.EpochAmount{{Epoch: 3, Amount: 6 * chain.FrostPerWAL}}) {
		e.t.Errorf("withdrawing stake %+v", info.WithdrawingByEpoch)
	}
	// After the midpoint, stake activates in epoch 3: nothing counts it.
	c, err := e.c.Stake(e.ctx, staker, id, 7*chain.FrostPerWAL)
	e.must(err)
	if c.ActivationEpoch != 3 || !slices.Equal(e.node(id).PendingByEpoch, []chain.EpochAmount{{Epoch: 2, Amount: 6 * chain.FrostPerWAL}, {Epoch: 3, Amount: 7 * chain.FrostPerWAL}}) {
		e.t.Fatalf("pending stake %+v", e.node(id).PendingByEpoch)
	}
	if got, err := e.c.Withdraw(e.ctx, staker, c.ID); err != nil || got != 7*chain.FrostPerWAL {
		e.t.Fatalf("withdrawing stake of epoch 3 at once: %d %v", got, err)
	}
	e.advance(e.net.EpochDuration / 2)
	e.syncAll()
	_, err = e.c.Withdraw(e.ctx, staker, b.ID)
	e.wantErr(err, chain.ErrTooEarly, "withdrawing before the withdrawal epoch")
	e.nextEpoch()
	if got, err := e.c.Withdraw(e.ctx, staker, b.ID); err != nil || got < 6*chain.FrostPerWAL {
		e.t.Fatalf("withdrawal in epoch 3: %d %v", got, err)
	}
	if e.balance(staker.Address()) < bal {
		e.t.Errorf("balance %d, started with %d", e.balance(staker.Address()), bal)
	}
}

// testCapacity: a node's declared capacity bounds the shards it is
// assigned: at most ⌊capacity / bytes per shard⌋, a shard storing 1/n of
// the encoded length of the storage sold for the epoch.
func testCapacity(e *env) {
	if !e.b.Caps.CapacityLimits {
		e.t.Skip("the backend does not bound shards by capacity")
	}
	p, _ := e.system().Params()
	size := min(p.MaxBlobSize(), 8<<20)
	e.register(e.net.Client, blob(1, size, 3, false))
	encLen, _ := p.EncodedLength(size)
	perShard := (encLen + NShards - 1) / NShards
	op := NewAccount(150)
	_, err := e.c.TransferWAL(e.ctx, e.net.Client, op.Address(), 600*chain.FrostPerWAL)
	e.must(err)
	key, _ := chain.GenerateBLSKey(keyRand(151))
	args := e.registration(op, key, NewNetworkKey(keyRand(152)), "small")
	args.Capacity = 2*perShard + perShard/2
	info, err := e.c.RegisterNode(e.ctx, op, args)
	e.must(err)
	// 500 WAL against 100 would win 8 of 10 shards; capacity allows 2.
	_, err = e.c.Stake(e.ctx, op, info.ID, 500*chain.FrostPerWAL)
	e.must(err)
	e.advance(e.net.EpochDuration / 2)
	next := e.committee(2)
	e.must(next.Validate())
	i, ok := next.Index(info.ID)
	if !ok || len(next.Members[i].Shards) != 2 {
		e.t.Fatalf("node of capacity %d (%d per shard) in the next committee: %v %+v", args.Capacity, perShard, ok, next.Members)
	}
}
