package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
)

// TestE2EEconomy runs the stake move of TestE2EShardSync (stake leaves node
// A for node B, the committee changes, B pulls its new shards over shard
// sync, counted in bytes, and every blob reads throughout) with the storage
// challenges the node processes run among themselves, and then checks the
// money against a hand computation: each epoch's pot (its storage fees, the
// write fees of its registrations and what the last epoch carried over)
// goes to the members the attestations vouch for, ⌊pot × shards / n⌋
// each; every pool grows by exactly its node's rewards, and A's operator
// withdraws its principal and A's rewards (make e2e; WALRUS_E2E_LONG=1,
// about two minutes of 8-second epochs).
func TestE2EEconomy(t *testing.T) {
	if os.Getenv("WALRUS_E2E_LONG") == "" {
		t.Skip("set WALRUS_E2E_LONG=1 (make e2e) for the end-to-end test of rewards")
	}
	nw := startNetwork(t, 4, 10, 8*time.Second)
	c := nw.chainClient()
	ctx := context.Background()
	st0, err := c.SystemState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for k := range 4 {
		blobs = append(blobs, e2eBlob(20_000+15_000*k, uint64(500+k)))
	}
	before, err := c.Committee(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	shardSyncE2E(t, nw, blobs, 2)

	// A's operator withdraws once its withdrawal epoch has come.
	held := shardsOf(t, before)
	a, _ := mostAndFewest(held)
	opA, staked := nw.operatorStake(c, a)
	nw.waitCommittee(c, 60*time.Second, "node A's withdrawal epoch", func(com *chain.Committee) bool {
		return com.Epoch >= staked[0].WithdrawEpoch
	})
	paidA, err := c.Withdraw(ctx, opA, staked[0].ID)
	if err != nil {
		t.Fatal(err)
	}

	// The epochs to check: all of them, from genesis, while the chain
	// still has every node's history.
	st, err := c.SystemState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := st.Epoch - 1
	if last > local.NodeHistoryEpochs {
		t.Fatalf("the test ran %d epochs; the chain keeps %d of history", last, local.NodeHistoryEpochs)
	}
	if st.StoragePrice != st0.StoragePrice || st.WritePrice != st0.WritePrice {
		t.Fatalf("prices moved: %d/%d to %d/%d", st0.StoragePrice, st0.WritePrice, st.StoragePrice, st.WritePrice)
	}
	params, err := st.Params()
	if err != nil {
		t.Fatal(err)
	}
	wallet, err := chain.LoadAccountKey(filepath.Join(nw.dir, "wallet.key"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := c.BlobObjects(ctx, wallet.Address())
	if err != nil {
		t.Fatal(err)
	}
	fees := map[uint32]uint64{}
	for _, o := range objs {
		enc, err := params.EncodedLength(o.Size)
		if err != nil {
			t.Fatal(err)
		}
		units := chain.StorageUnits(enc)
		fees[o.RegisteredEpoch] += units * st.WritePrice
		for e := o.Storage.StartEpoch; e < o.Storage.EndEpoch; e++ {
			fees[e] += units * st.StoragePrice
		}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hist := map[chain.NodeID]map[uint32]chain.NodeEpoch{}
	for _, n := range nodes {
		h, err := c.NodeHistory(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		hist[n.ID] = map[uint32]chain.NodeEpoch{}
		for _, r := range h {
			hist[n.ID][r.Epoch] = r
		}
	}
	earned := map[chain.NodeID]uint64{}
	carry := uint64(0)
	proven := 0
	for e := uint32(1); e <= last; e++ {
		com, err := c.Committee(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		pot := fees[e] + carry
		out := uint64(0)
		for _, m := range com.Members {
			r, ok := hist[m.NodeID][e]
			if !ok {
				t.Fatalf("epoch %d: member %s has no history", e, m.Name)
			}
			share := pot * uint64(len(m.Shards)) / uint64(com.NShards)
			switch r.Verdict {
			case chain.VerdictPassed:
				if r.Reward != share || r.Burned != 0 {
					t.Errorf("epoch %d: %s passed with reward %d, burned %d; want %d of pot %d", e, m.Name, r.Reward, r.Burned, share, pot)
				}
				earned[m.NodeID] += r.Reward - r.Commission
				out += share
			case chain.VerdictFailed:
				t.Errorf("epoch %d: honest %s failed its challenges: %+v", e, m.Name, r)
				out += share
			default:
				if r.Reward != 0 || r.Burned != 0 {
					t.Errorf("epoch %d: %s unproven but paid %d, burned %d", e, m.Name, r.Reward, r.Burned)
				}
			}
			if r.Verdict == chain.VerdictPassed {
				proven++
			}
		}
		carry = pot - out
		t.Logf("epoch %d: pot %d (fees %d), paid %d, carried %d", e, pot, fees[e], out, carry)
	}
	if proven == 0 {
		t.Fatal("no member's storage was proven in any epoch")
	}
	// The pools: each grew by its node's rewards (no commission here);
	// A's operator got its principal and A's rewards.
	for _, n := range nodes {
		if n.ID == staked[0].NodeID {
			if want := staked[0].Principal + earned[n.ID]; paidA != want {
				t.Errorf("A's operator withdrew %d, want principal %d + rewards %d", paidA, staked[0].Principal, earned[n.ID])
			}
			continue
		}
		principal := uint64(0)
		for _, owner := range []chain.Address{n.Operator, wallet.Address()} {
			sw, err := c.StakedWAL(ctx, owner)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sw {
				if s.NodeID == n.ID && s.ActivationEpoch <= st.Epoch {
					principal += s.Principal
				}
			}
		}
		if want := principal + earned[n.ID]; n.Stake != want {
			t.Errorf("node %s: pool holds %d, want principal %d + rewards %d", n.Name, n.Stake, principal, earned[n.ID])
		}
	}
}
