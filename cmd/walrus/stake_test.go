package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
)

type stakedList struct {
	StakedWals []stakedWALOutput `json:"stakedWals"`
}

// find returns the listed staked WAL object with id (failing t if absent).
func (l stakedList) find(t *testing.T, id chain.ObjectID) stakedWALOutput {
	t.Helper()
	for _, s := range l.StakedWals {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("staked WAL %s not listed: %+v", id, l.StakedWals)
	return stakedWALOutput{}
}

// TestStakingLifecycle runs the staking commands against the real chain
// over HTTP, asserting their JSON field by field: stake (one node, then two
// with an amount each, WAL and FROST), withdrawing pending stake at once,
// set-commission, an epoch in which one node is left out of the storage
// challenges' attestations (it earns nothing; stakers see 0 for that epoch
// in list-staked-wal and info) while another earns, collect-commission,
// then request-withdraw-stake and withdraw-stake once the epoch has come.
func TestStakingLifecycle(t *testing.T) {
	// Challenges give up on a member that does not answer within seconds.
	e := newClientEnvWith(t, nettest.Options{NodeConfig: func(_ int, c *node.Config) {
		c.ChallengeWindow = 20 * time.Second
		c.ChallengeBackoff = 200 * time.Millisecond
	}})
	ctx := t.Context()
	nw := e.net
	url := e.chainURL(t)

	com, err := nw.Chain.Committee(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A: the member with the fewest shards (at most f, so that the others'
	// attestations prove it failed); B: another.
	a := 0
	for i, m := range com.Members {
		if len(m.Shards) < len(com.Members[a].Shards) {
			a = i
		}
	}
	b := (a + 1) % len(com.Members)
	if len(com.Members[a].Shards) > com.F() {
		t.Fatalf("member %d holds %d shards, more than f = %d", a, len(com.Members[a].Shards), com.F())
	}
	nodeA, nodeB := nw.NodeByID(com.Members[a].NodeID), nw.NodeByID(com.Members[b].NodeID)
	idA, idB := nodeA.ID(), nodeB.ID()

	// Pending stake: listed with its activation epoch, withdrawn at once.
	var st struct {
		StakedWal []stakedWALOutput `json:"stakedWal"`
	}
	balance0, _ := nw.Chain.Balance(ctx, nw.Wallet.Address())
	e.runJSON(t, &st, "stake", "--node-id", idA.String(), "--amount", "2")
	if len(st.StakedWal) != 1 {
		t.Fatalf("stake: %+v", st)
	}
	p := st.StakedWal[0]
	if p.NodeID != idA || p.Principal != 2*chain.FrostPerWAL || p.ActivationEpoch != 2 || p.Status != statusPending ||
		p.Epoch != 2 || p.Value != p.Principal || p.Rewards != 0 || p.State.Withdrawing != nil || len(p.Epochs) != 0 || !p.WithdrawAtOnce {
		t.Fatalf("stake --json: %+v", p)
	}
	var list stakedList
	list = e.listStaked(t)
	if got := list.find(t, p.ID); got.Status != statusPending || got.Epoch != 2 {
		t.Fatalf("pending stake listed as %+v", got)
	}
	out, _, code := e.run(t, "list-staked-wal")
	if code != 0 || !strings.Contains(out, "activates in 2") || !strings.Contains(out, p.ID.String()) {
		t.Fatalf("list-staked-wal: %d %q", code, out)
	}
	var wd struct {
		StakedWalIDs []chain.ObjectID `json:"stakedWalIds"`
		Withdrawn    []struct {
			ID     chain.ObjectID `json:"stakedWalId"`
			Amount uint64         `json:"amount"`
		} `json:"withdrawn"`
		Total uint64 `json:"total"`
	}
	e.runJSON(t, &wd, "withdraw-stake", p.ID.String())
	if len(wd.StakedWalIDs) != 1 || wd.StakedWalIDs[0] != p.ID || len(wd.Withdrawn) != 1 || wd.Withdrawn[0].Amount != p.Principal || wd.Total != p.Principal {
		t.Fatalf("withdraw-stake of pending stake: %+v", wd)
	}
	if bal, _ := nw.Chain.Balance(ctx, nw.Wallet.Address()); bal != balance0 {
		t.Errorf("balance %d after staking and withdrawing, %d before", bal, balance0)
	}
	list = e.listStaked(t)
	if len(list.StakedWals) != 0 {
		t.Fatalf("withdrawn stake still listed: %+v", list)
	}

	// Two nodes, an amount each: WAL and FROST.
	st.StakedWal = nil
	e.runJSON(t, &st, "stake", "--node-ids", idA.String()+","+idB.String(), "--amounts", "1.5,2500000000frost")
	if len(st.StakedWal) != 2 || st.StakedWal[0].NodeID != idA || st.StakedWal[0].Principal != 1_500_000_000 ||
		st.StakedWal[1].NodeID != idB || st.StakedWal[1].Principal != 2_500_000_000 {
		t.Fatalf("stake with two nodes: %+v", st)
	}
	sA, sB := st.StakedWal[0], st.StakedWal[1]
	// Pending stake cannot be requested; the error says what to do.
	if _, errOut, code := e.run(t, "request-withdraw-stake", idA.String()); code == 0 || !strings.Contains(errOut, "walrus withdraw-stake "+sA.ID.String()) {
		t.Fatalf("request-withdraw-stake of pending stake: %d %q", code, errOut)
	}

	// B's operator sets a commission of 12.5% from epoch 2.
	cfgB := filepath.Join(nodeB.Dir, "node.yaml")
	var sc struct {
		NodeID             chain.NodeID `json:"nodeId"`
		CommissionRate     uint16       `json:"commissionRate"`
		NextCommissionRate uint16       `json:"nextCommissionRate"`
		FromEpoch          uint32       `json:"fromEpoch"`
	}
	runJSONNoConfig(t, &sc, "node", "set-commission", "--config", cfgB, "--chain", url, "--commission-rate", "12.5%")
	if sc.NodeID != idB || sc.NextCommissionRate != 1250 || sc.FromEpoch != 2 {
		t.Fatalf("set-commission: %+v", sc)
	}

	// Past the midpoint the next committee counts the pending stake: it is
	// no longer withdrawn at once.
	if err := nw.AdvanceToMidpoint(ctx); err != nil {
		t.Fatal(err)
	}
	list = e.listStaked(t)
	if got := list.find(t, sA.ID); got.Status != statusPending || got.Epoch != 2 || got.WithdrawAtOnce {
		t.Fatalf("pending stake the next committee counts: %+v", got)
	}
	if _, errOut, code := e.run(t, "withdraw-stake", sA.ID.String()); code == 0 || !strings.Contains(errOut, "request the withdrawal") {
		t.Fatalf("withdraw-stake of counted pending stake: %d %q", code, errOut)
	}

	// Storage bought for epochs 1–3 funds the nodes' rewards.
	if _, err := nw.Chain.ReserveStorage(ctx, nw.Wallet, 64<<20, 3); err != nil {
		t.Fatal(err)
	}
	// Epoch 2: A forgets what it holds, so that the others' challengers fail it.
	nodeA.Faults.Set(faults.Forget)
	if _, err := nw.AdvanceEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	list = e.listStaked(t)
	if got := list.find(t, sA.ID); got.Status != statusActive || got.Epoch != 0 || len(got.Epochs) != 0 {
		t.Fatalf("active stake: %+v", got)
	}

	// Every other member attests epoch 2 (leaving A out) before it ends.
	com2, err := nw.Chain.Committee(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, m := range com2.Members {
		if m.NodeID == idA {
			continue
		}
		for {
			run := nw.NodeByID(m.NodeID).Running()
			if cs := run.Status(ctx).Challenges; cs != nil && cs.Epoch == 2 && (cs.Attested || cs.AttestError != "") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s has not attested epoch 2: %+v", m.Name, run.Status(ctx).Challenges)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, err := nw.AdvanceEpoch(ctx); err != nil {
		t.Fatal(err)
	}

	// Stakers see it: A earned nothing in epoch 2, B did.
	list = e.listStaked(t)
	gotA, gotB := list.find(t, sA.ID), list.find(t, sB.ID)
	// Shares round down: the value may be a FROST under the principal.
	if gotA.Status != statusActive || gotA.Rewards != 0 || gotA.Value > sA.Principal || gotA.Value+1 < sA.Principal || len(gotA.Epochs) != 1 {
		t.Fatalf("stake with the node left out: %+v", gotA)
	}
	// Whether A's own attestation (its challenger runs; only its handler is
	// silent) landed before the epoch ended depends on timing: not checked.
	if ep := gotA.Epochs[0]; ep.Epoch != 2 || ep.Verdict != chain.VerdictFailed || ep.PoolReward != 0 || ep.Reward != 0 {
		t.Errorf("epoch 2 of the node left out: %+v", ep)
	}
	if gotB.Rewards == 0 || gotB.Value != gotB.Principal+gotB.Rewards || len(gotB.Epochs) != 1 {
		t.Fatalf("stake with an earning node: %+v", gotB)
	}
	if ep := gotB.Epochs[0]; ep.Epoch != 2 || !ep.Attested || ep.Verdict != chain.VerdictPassed || ep.PoolReward == 0 ||
		ep.Reward == 0 || ep.Reward > gotB.Rewards+1 || ep.Reward+1 < gotB.Rewards {
		t.Errorf("epoch 2 of the earning node: %+v (stake's rewards %d)", ep, gotB.Rewards)
	}
	out, _, _ = e.run(t, "list-staked-wal")
	t.Logf("list-staked-wal:\n%s", out)
	if want := fmt.Sprintf("epoch 2: challenges failed (attested: %t), pool earned 0 WAL, this stake 0 WAL", gotA.Epochs[0].Attested); !strings.Contains(out, want) {
		t.Errorf("list-staked-wal does not show A's empty epoch:\n%s", out)
	}

	// info shows the same per node.
	var info infoOutput
	e.runJSON(t, &info, "info", "--chain", url)
	byID := map[chain.NodeID]storageNodeInfo{}
	for _, n := range info.CommitteeInfo.CurrentStorageNodes {
		byID[n.NodeID] = n
	}
	hA, hB := byID[idA], byID[idB]
	// Epoch 1 (before A went silent) may have passed or gone unproven,
	// depending on when the challengers ran: only epoch 2 is pinned.
	if hA.NodeID != idA || hA.ChallengesFailed != 1 || hA.Burned == 0 || len(hA.Epochs) != 2 ||
		hA.RewardsEarned != hA.Epochs[0].Reward || hA.CommissionAccrued != 0 || hA.Epochs[1].Epoch != 2 || hA.Epochs[1].Reward != 0 ||
		hA.Epochs[1].Verdict != chain.VerdictFailed {
		t.Errorf("info of the node left out: %+v", hA)
	}
	if hB.NodeID != idB || hB.ChallengesPassed < 1 || hB.ChallengesFailed != 0 || hB.RewardsEarned == 0 || hB.CommissionRate != 1250 ||
		hB.CommissionAccrued == 0 || hB.CommissionAccrued != hB.Epochs[len(hB.Epochs)-1].Commission ||
		hB.CommissionAccrued != hB.Epochs[len(hB.Epochs)-1].Reward*1250/10_000 || hB.ActiveStake < com.Members[b].Stake+sB.Principal {
		t.Errorf("info of the earning node: %+v", hB)
	}
	out, _, _ = e.run(t, "info", "--chain", url, "--node", idA.String())
	t.Logf("info --node:\n%s", out)
	if !strings.Contains(out, "epoch 2: ") || !strings.Contains(out, fmt.Sprintf("failed (attested: %t", gotA.Epochs[0].Attested)) || !strings.Contains(out, "reward 0 WAL") {
		t.Errorf("info --node of the node left out:\n%s", out)
	}

	// B's operator collects the commission.
	var cc struct {
		NodeID   chain.NodeID  `json:"nodeId"`
		Operator chain.Address `json:"operator"`
		Amount   uint64        `json:"amount"`
		Balance  uint64        `json:"balance"`
	}
	opBefore, _ := nw.Chain.Balance(ctx, nodeB.Keys.Account.Address())
	runJSONNoConfig(t, &cc, "node", "collect-commission", "--config", cfgB, "--chain", url)
	if cc.NodeID != idB || cc.Operator != nodeB.Keys.Account.Address() || cc.Amount != hB.CommissionAccrued || cc.Balance != opBefore+cc.Amount {
		t.Fatalf("collect-commission: %+v (accrued %d, balance before %d)", cc, hB.CommissionAccrued, opBefore)
	}
	runJSONNoConfig(t, &cc, "node", "collect-commission", "--config", cfgB, "--chain", url)
	if cc.Amount != 0 {
		t.Errorf("second collect-commission: %+v", cc)
	}

	// Withdraw B's stake: requested now, withdrawable from the next epoch.
	var rq stakedList
	e.runJSON(t, &rq, "request-withdraw-stake", idB.String(), "--dry-run")
	if len(rq.StakedWals) != 1 || rq.StakedWals[0].ID != sB.ID || rq.StakedWals[0].Status != statusActive {
		t.Fatalf("request-withdraw-stake --dry-run: %+v", rq)
	}
	rq = stakedList{}
	e.runJSON(t, &rq, "request-withdraw-stake", idB.String(), sB.ID.String())
	if len(rq.StakedWals) != 1 {
		t.Fatalf("request-withdraw-stake: %+v", rq)
	}
	r := rq.StakedWals[0]
	if r.ID != sB.ID || r.Status != statusWithdrawing || r.State.Withdrawing == nil || *r.State.Withdrawing != r.Epoch || r.Epoch <= 3 {
		t.Fatalf("request-withdraw-stake --json: %+v", r)
	}
	if _, errOut, code := e.run(t, "withdraw-stake", sB.ID.String()); code == 0 || !strings.Contains(errOut, sB.ID.String()) {
		t.Fatalf("withdraw-stake too early: %d %q", code, errOut)
	}
	for epoch := uint32(3); epoch < r.Epoch; epoch++ {
		if _, err := nw.AdvanceEpoch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	list = e.listStaked(t, "--withdrawing-only")
	if len(list.StakedWals) != 1 || list.StakedWals[0].Status != statusWithdrawable {
		t.Fatalf("list-staked-wal --withdrawing-only: %+v", list)
	}
	worth := list.StakedWals[0].Value
	e.runJSON(t, &wd, "withdraw-stake", sB.ID.String())
	if len(wd.Withdrawn) != 1 || wd.Withdrawn[0].Amount != worth || worth < sB.Principal+gotB.Rewards {
		t.Fatalf("withdraw-stake: %+v (worth %d)", wd, worth)
	}
	list = e.listStaked(t, "--staked-only")
	if len(list.StakedWals) != 1 || list.StakedWals[0].ID != sA.ID {
		t.Fatalf("list-staked-wal --staked-only: %+v", list)
	}
}

// listStaked runs list-staked-wal --json with args into a fresh list.
func (e *clientEnv) listStaked(t *testing.T, args ...string) stakedList {
	t.Helper()
	var l stakedList
	e.runJSON(t, &l, append([]string{"list-staked-wal"}, args...)...)
	return l
}

func runJSONNoConfig(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, code := runCLI(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d, stderr %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: output %q: %v", args, out, err)
	}
}

func TestStakingCommandErrors(t *testing.T) {
	e := newClientEnv(t)
	node := e.net.Nodes[0].ID().String()
	cfg := filepath.Join(e.net.Nodes[0].Dir, "node.yaml")
	url := e.chainURL(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"stake", "--node-id", "bad", "--amount", "1"}, "--node-ids"},
		{[]string{"stake", "--node-id", node, "--amount", "1.5frost"}, "FROST are whole"},
		{[]string{"stake", "--node-id", node, "--amount", "abc"}, `invalid amount "abc"`},
		{[]string{"stake", "--node-id", node, "--amount", "0"}, "at least 1 FROST"},
		{[]string{"stake", "--node-id", node, "--node-id", node, "--amounts", "1,2,3"}, "one amount or one per node"},
		{[]string{"stake"}, "--node-ids"},
		{[]string{"get-wal", "--amount", "0.0000000001"}, "more than 9 decimals"},
		{[]string{"request-withdraw-stake"}, "requires at least 1 arg"},
		{[]string{"request-withdraw-stake", "bad"}, "NODE_ID"},
		{[]string{"request-withdraw-stake", node}, "no staked WAL"},
		{[]string{"request-withdraw-stake", node, "0x12"}, "STAKED_WAL_ID"},
		{[]string{"withdraw-stake"}, "requires at least 1 arg"},
		{[]string{"withdraw-stake", "0x" + strings.Repeat("0", 64)}, "withdrawing staked WAL"},
		{[]string{"list-staked-wal", "--staked-only", "--withdrawing-only"}, "mutually exclusive"},
		{[]string{"list-staked-wal", "--context", "readonly"}, "no wallet"},
	}
	for _, tc := range cases {
		_, errOut, code := e.run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a failure mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "set-commission", "--config", cfg, "--chain", url}, "--commission-rate is required"},
		{[]string{"node", "set-commission", "--config", cfg, "--chain", url, "--commission-rate", "101%"}, "more than 100%"},
		{[]string{"node", "set-commission", "--config", cfg, "--chain", url, "--commission-rate", "10001"}, "more than 100%"},
		{[]string{"node", "set-commission", "--config", cfg, "--chain", url, "--commission-rate", "1.234%"}, "two decimals"},
		{[]string{"node", "set-commission", "--config", cfg, "--chain", url, "--commission-rate", "ten"}, "invalid commission rate"},
		{[]string{"node", "collect-commission", "--chain", url}, "--config is required"},
		{[]string{"node", "collect-commission", "--config", cfg, "--chain", url, "--node-id", e.net.Nodes[1].ID().String()}, "operated by"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a failure mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestParseCommission(t *testing.T) {
	for in, want := range map[string]uint16{"0": 0, "1000": 1000, "10000": 10_000, "10%": 1000, "12.5%": 1250, "0.01%": 1, "100%": 10_000, " 7 % ": 700} {
		if got, err := parseCommission(in); err != nil || got != want {
			t.Errorf("parseCommission(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "%", "-1", "10001", "100.01%", "1.5", "1.234%", "x%", "99999999999"} {
		if _, err := parseCommission(in); !errors.Is(err, errInvalidCommission) {
			t.Errorf("parseCommission(%q) = %v; want errInvalidCommission", in, err)
		}
	}
}
