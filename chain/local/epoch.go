package local

import (
	"container/heap"
	"math/bits"
	"slices"

	"github.com/walrus-go/walrus/chain"
)

// stakeFor is the WAL a pool holds in epoch t = current + 1: its active
// stake, less what withdraws at t, plus what activates at t.
func (s *state) stakeFor(n *nodeRec, t uint32) uint64 {
	out := n.active
	for _, id := range n.withdrawing[t] {
		out -= min(out, poolValue(n, s.staked[id].shares))
	}
	return out + n.pending[t]
}

// selectCommittee chooses the committee of epoch t from the pools' stake in
// t: the MaxCommitteeSize (at most n) largest pools with stake, shards
// apportioned by D'Hondt, moving as few shards from prev as possible. With
// no stake at all it keeps prev's members and shards.
func (s *state) selectCommittee(t uint32, prev *chain.Committee) (*chain.Committee, error) {
	type cand struct {
		id    chain.NodeID
		stake uint64
	}
	var cands []cand
	for _, id := range sortedIDs(s.nodes) {
		if st := s.stakeFor(s.nodes[id], t); st > 0 {
			cands = append(cands, cand{id, st})
		}
	}
	com := &chain.Committee{Epoch: t, NShards: s.p.n}
	if len(cands) == 0 {
		if prev != nil {
			c := prev.Clone()
			c.Epoch = t
			return c, nil
		}
		return com, nil
	}
	// Largest stake first, ties by ID; keep the top.
	slices.SortStableFunc(cands, func(a, b cand) int {
		if a.stake != b.stake {
			if a.stake > b.stake {
				return -1
			}
			return 1
		}
		return cmpID(a.id, b.id)
	})
	cands = cands[:min(len(cands), MaxCommitteeSize, s.p.n)]
	stakes := make([]uint64, len(cands))
	caps := make([]int, len(cands))
	perShard := s.bytesPerShard(t)
	for i, c := range cands {
		stakes[i] = c.stake
		caps[i] = shardCap(s.nodes[c.id].info.Capacity, perShard, s.p.n)
	}
	counts := dhondtCapped(s.p.n, stakes, caps)
	// Members in node ID order, with their counts.
	type mem struct {
		id    chain.NodeID
		stake uint64
		count int
	}
	var mems []mem
	for i, c := range cands {
		if counts[i] > 0 {
			mems = append(mems, mem{c.id, c.stake, counts[i]})
		}
	}
	slices.SortFunc(mems, func(a, b mem) int { return cmpID(a.id, b.id) })
	ids := make([]chain.NodeID, len(mems))
	want := make([]int, len(mems))
	for i, m := range mems {
		ids[i], want[i] = m.id, m.count
	}
	shards := assignShards(s.p.n, prev, ids, want)
	for i, m := range mems {
		n := s.nodes[m.id]
		key := n.info.PublicKey
		if n.info.NextPublicKey != nil {
			key = *n.info.NextPublicKey
		}
		com.Members = append(com.Members, chain.Member{
			NodeID: m.id, Name: n.info.Name, PeerID: n.info.PeerID,
			Addresses: slices.Clone(n.info.Addresses), PublicKey: key,
			Shards: shards[i], Stake: m.stake,
		})
	}
	return com, nil
}

// bytesPerShard is what one shard stores in epoch t: the encoded length of
// the storage sold for t over n, rounded up (every shard holds one sliver
// pair of each blob, 1/n of its encoded length).
func (s *state) bytesPerShard(t uint32) uint64 {
	st := s.stored[t]
	return st/uint64(s.p.n) + min(1, st%uint64(s.p.n))
}

// shardCap is how many shards a node of the given capacity can hold when a
// shard stores perShard bytes: ⌊capacity / perShard⌋, at most n.
func shardCap(capacity, perShard uint64, n int) int {
	if perShard == 0 {
		return n
	}
	return int(min(capacity/perShard, uint64(n)))
}

// dhondt apportions seats among parties by votes with the D'Hondt method:
// each seat goes to the party with the largest votes/(seats+1), ties to the
// larger party, then to the earlier one. Parties are given largest first.
func dhondt(seats int, votes []uint64) []int { return dhondtCapped(seats, votes, nil) }

// dhondtCapped is dhondt where party i takes at most caps[i] seats (nil: no
// caps). When every party is at its cap and seats are left, those go by
// D'Hondt among all parties, caps ignored: every shard needs a holder.
func dhondtCapped(seats int, votes []uint64, caps []int) []int {
	out := make([]int, len(votes))
	h := &quotients{votes: votes, seats: out}
	for i := range votes {
		if caps == nil || caps[i] > 0 {
			h.idx = append(h.idx, i)
		}
	}
	heap.Init(h)
	for left := seats; left > 0; left-- {
		if h.Len() == 0 {
			// Capacity ran out: the rest by stake alone.
			for i := range votes {
				h.idx = append(h.idx, i)
			}
			heap.Init(h)
			caps = nil
		}
		i := h.idx[0]
		out[i]++
		if caps != nil && out[i] >= caps[i] {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return out
}

// captureStake is the smallest stake with which one new pool, against pools
// of the given stakes, wins at least seats of n shards at a committee
// selection: the largest min(MaxCommitteeSize, n) pools, D'Hondt, every tie
// going to the new pool. Seats grow with stake, so it is found by bisection.
func captureStake(n, seats int, stakes []uint64) uint64 {
	sorted := slices.Sorted(slices.Values(stakes))
	slices.Reverse(sorted)
	k := min(MaxCommitteeSize, n)
	won := func(a uint64) bool {
		// The new pool goes before the pools of equal stake: it wins ties.
		i, _ := slices.BinarySearchFunc(sorted, a, func(x, t uint64) int {
			switch {
			case x > t:
				return -1
			case x < t:
				return 1
			}
			return 1
		})
		if i >= k {
			return false
		}
		votes := slices.Insert(slices.Clone(sorted), i, a)
		return dhondt(n, votes[:min(len(votes), k)])[i] >= seats
	}
	// A pool whose every quotient a/seats beats the largest other stake
	// wins seats shards.
	hi, lo := uint64(1), uint64(1)
	if len(sorted) > 0 {
		h, l := bits.Mul64(sorted[0], uint64(seats))
		if h != 0 || l == ^uint64(0) {
			hi = ^uint64(0)
		} else {
			hi = l + 1
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if won(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// exclusionStake is the least stake with which new pools could push one of
// the pools of the given stakes out of a committee of min(MaxCommitteeSize,
// n) members (see MaxFaucetTotal).
func exclusionStake(n int, stakes []uint64) uint64 {
	sorted := slices.Sorted(slices.Values(stakes))
	slices.Reverse(sorted)
	k := min(MaxCommitteeSize, n)
	if len(sorted) >= k {
		return sorted[k-1]
	}
	h, l := bits.Mul64(uint64(k-len(sorted)+1), sorted[len(sorted)-1])
	if h != 0 {
		return ^uint64(0)
	}
	return l
}

// quotients is a max-heap of parties by their D'Hondt quotient.
type quotients struct {
	votes []uint64
	seats []int
	idx   []int
}

func (h *quotients) Len() int { return len(h.idx) }
func (h *quotients) Less(a, b int) bool {
	i, j := h.idx[a], h.idx[b]
	// votes[i]/(seats[i]+1) > votes[j]/(seats[j]+1), in 128 bits.
	lh, ll := bits.Mul64(h.votes[i], uint64(h.seats[j]+1))
	rh, rl := bits.Mul64(h.votes[j], uint64(h.seats[i]+1))
	if lh != rh || ll != rl {
		return lh > rh || (lh == rh && ll > rl)
	}
	if h.votes[i] != h.votes[j] {
		return h.votes[i] > h.votes[j]
	}
	return i < j
}
func (h *quotients) Swap(a, b int) { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }
func (h *quotients) Push(x any)    { h.idx = append(h.idx, x.(int)) }
func (h *quotients) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// assignShards gives member i want[i] shards, keeping as many of the shards
// it held in prev as it can (its lowest), and handing out the freed shards in
// ascending order to the members that grow, in member order. Only
// Σ max(0, want − held) shards move: the least possible.
func assignShards(n int, prev *chain.Committee, ids []chain.NodeID, want []int) [][]uint16 {
	held := map[chain.NodeID][]uint16{}
	if prev != nil {
		for _, m := range prev.Members {
			held[m.NodeID] = slices.Sorted(slices.Values(m.Shards))
		}
	}
	taken := make([]bool, n)
	out := make([][]uint16, len(ids))
	for i, id := range ids {
		keep := held[id][:min(len(held[id]), want[i])]
		for _, sh := range keep {
			if int(sh) < n && !taken[sh] {
				taken[sh] = true
				out[i] = append(out[i], sh)
			}
		}
	}
	next := 0
	for i := range ids {
		for len(out[i]) < want[i] {
			for taken[next] {
				next++
			}
			taken[next] = true
			out[i] = append(out[i], uint16(next))
		}
		slices.Sort(out[i])
	}
	return out
}

// votedPrice is the highest price that members holding at least n − f
// shards voted for or above: votes sorted ascending, the first at which the
// cumulative shard weight exceeds f. Zero votes count as the current price.
func votedPrice(c *chain.Committee, vote func(chain.NodeID) uint64, current uint64) uint64 {
	if len(c.Members) == 0 {
		return current
	}
	type wv struct {
		v uint64
		w int
	}
	vs := make([]wv, 0, len(c.Members))
	total := 0
	for _, m := range c.Members {
		v := vote(m.NodeID)
		if v == 0 {
			v = current
		}
		vs = append(vs, wv{v, len(m.Shards)})
		total += len(m.Shards)
	}
	slices.SortStableFunc(vs, func(a, b wv) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	f := (total - 1) / 3
	cum := 0
	for _, x := range vs {
		cum += x.w
		if cum > f {
			return x.v
		}
	}
	return vs[len(vs)-1].v
}

// advanceTime runs the time-driven transitions due at the block's time: the
// next committee at the epoch's midpoint, the epoch change at its end.
func (s *state) advanceTime(randomness [32]byte) {
	for {
		switch {
		case s.phase == chain.PhaseActive && s.timeMs >= s.epochStartMs+s.p.epochMs/2:
			s.selectNext()
		case s.phase == chain.PhaseNextSelected && s.timeMs >= s.epochStartMs+s.p.epochMs:
			s.changeEpoch(randomness)
		default:
			return
		}
	}
}

// nextDeadline returns the block time at which advanceTime has work, or
// false while the epoch waits for sync reports.
func (s *state) nextDeadline() (uint64, bool) {
	switch s.phase {
	case chain.PhaseActive:
		return s.epochStartMs + s.p.epochMs/2, true
	case chain.PhaseNextSelected:
		return s.epochStartMs + s.p.epochMs, true
	}
	return 0, false
}

// selectNext chooses the committee and prices of the next epoch. New public
// keys enter with it: a node's NextPublicKey becomes its PublicKey.
func (s *state) selectNext() {
	t := s.epoch + 1
	com, _ := s.selectCommittee(t, s.committees[s.epoch])
	s.committees[t] = com
	for _, n := range s.nodes {
		if n.info.NextPublicKey != nil {
			delete(s.keys, n.info.PublicKey)
			n.info.PublicKey = *n.info.NextPublicKey
			n.info.NextPublicKey = nil
		}
	}
	s.nextStorage = votedPrice(com, func(id chain.NodeID) uint64 { return s.nodes[id].info.StoragePriceVote }, s.storagePrice)
	s.nextWrite = votedPrice(com, func(id chain.NodeID) uint64 { return s.nodes[id].info.WritePriceVote }, s.writePrice)
	s.phase = chain.PhaseNextSelected
	s.emit(chain.Event{Kind: chain.EventCommitteeSelected, NextEpoch: t})
}

// changeEpoch ends the current epoch: it pays the epoch's rewards, settles
// the stake that withdraws or activates next epoch, and starts the next
// epoch in its sync phase.
func (s *state) changeEpoch(randomness [32]byte) {
	old := s.epoch
	t := old + 1
	s.distributeRewards(old)
	for _, id := range sortedIDs(s.nodes) {
		n := s.nodes[id]
		for _, sid := range n.withdrawing[t] {
			r := s.staked[sid]
			amount := poolValue(n, r.shares)
			n.active -= amount
			n.shares -= r.shares
			r.shares, r.withdrawable, r.settled = 0, amount, true
		}
		delete(n.withdrawing, t)
		for _, sid := range n.activating[t] {
			r := s.staked[sid]
			amount := r.obj.Principal
			if n.shares == 0 || n.active == 0 {
				r.shares = amount
			} else {
				r.shares = mulDiv(amount, n.shares, n.active)
			}
			n.active += amount
			n.shares += r.shares
		}
		delete(n.activating, t)
		delete(n.pending, t)
		n.info.Commission = n.info.NextCommission
	}
	delete(s.attest, old)
	delete(s.stored, old)
	s.pruneExpired(t)
	s.epoch = t
	s.epochStartMs = s.timeMs
	s.storagePrice, s.writePrice = s.nextStorage, s.nextWrite
	s.seeds[t] = seedOf(t, randomness)
	clear(s.syncDone)
	s.phase = chain.PhaseSyncing
	if len(s.committees[t].Members) == 0 {
		s.phase = chain.PhaseActive
	}
	s.emit(chain.Event{Kind: chain.EventEpochChangeStart})
	if s.phase == chain.PhaseActive {
		s.emit(chain.Event{Kind: chain.EventEpochChangeDone})
	}
}

// distributeRewards pays the fees of epoch e (its storage fees, and the
// write fees of the blobs registered in it) to its committee, by the
// attestations of its challenges, and records every member's epoch in its
// history. In FROST, rounding down:
//
//	reward_i     = ⌊pot × shards_i / n⌋
//	commission_i = ⌊reward_i × commission rate_i / 10,000⌋  (accrues to the operator)
//	pool_i      += reward_i − commission_i                (raises its shares' value)
//
// A member is paid when attesters holding ≥ n − f shards marked it as
// passing. When the attesters together hold ≥ n − f shards, a member they
// did not mark so forfeits its reward, which is burned. When they hold
// fewer, no member can be proven either way: the rewards are not paid and
// not burned but carry over to epoch e+1's pot, like the rounding dust
// (pot − Σ reward_i).
func (s *state) distributeRewards(e uint32) {
	pot := s.pots[e]
	delete(s.pots, e)
	com := s.committees[e]
	carry := pot
	if com != nil && len(com.Members) > 0 {
		carry = s.payCommittee(com, pot)
	}
	if carry > 0 {
		s.pots[e+1] += carry
	}
}

// payCommittee distributes pot to com's members (see distributeRewards) and
// returns what carries over.
func (s *state) payCommittee(com *chain.Committee, pot uint64) uint64 {
	atts := s.attest[com.Epoch]
	attWeight := 0
	for id := range atts {
		if i, ok := com.Index(id); ok {
			attWeight += len(com.Members[i].Shards)
		}
	}
	quorum := com.QuorumShards()
	var paid, burned uint64
	for i, m := range com.Members {
		n := s.nodes[m.NodeID]
		_, attested := atts[m.NodeID]
		pass := s.passWeight(com, atts, i)
		rec := chain.NodeEpoch{
			Epoch: com.Epoch, Shards: len(m.Shards), Attested: attested, PassedBy: pass, FailedBy: attWeight - pass,
		}
		reward := mulDiv(pot, uint64(len(m.Shards)), uint64(com.NShards))
		switch {
		case pass >= quorum:
			rec.Verdict = chain.VerdictPassed
			rec.Reward = reward
			rec.Commission = mulDiv(reward, uint64(n.info.Commission), chain.MaxCommission)
			n.commission += rec.Commission
			n.active += reward - rec.Commission
			paid += reward
		case attWeight >= quorum:
			rec.Verdict = chain.VerdictFailed
			rec.Burned = reward
			burned += reward
		default:
			rec.Verdict = chain.VerdictUnproven
		}
		if pot > 0 {
			s.emit(chain.Event{Kind: chain.EventRewardsDistributed, NodeID: m.NodeID, Amount: rec.Reward, Burned: rec.Burned})
		}
		n.history = append(n.history, rec)
		if k := len(n.history) - NodeHistoryEpochs; k > 0 {
			n.history = slices.Delete(n.history, 0, k)
		}
	}
	s.burned += burned
	return pot - paid - burned
}

// passWeight is the shards of the attesters that marked member i as passed.
func (s *state) passWeight(com *chain.Committee, atts map[chain.NodeID]chain.Bitmap, i int) int {
	w := 0
	for id, bm := range atts {
		if j, ok := com.Index(id); ok && bm.Has(i) {
			w += len(com.Members[j].Shards)
		}
	}
	return w
}

func sortedIDs[V any](m map[chain.ObjectID]V) []chain.ObjectID {
	ids := make([]chain.ObjectID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, cmpID)
	return ids
}
