package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
	"github.com/walrus-go/walrus/store"
)

// challengeOptions are a test network whose nodes challenge each other
// quickly: a failing member is given up on after a few seconds.
func challengeOptions(commission uint16) nettest.Options {
	return nettest.Options{
		Genesis: func(g *local.Genesis) {
			for i := range g.Nodes {
				g.Nodes[i].Commission = commission
			}
		},
		NodeConfig: func(_ int, c *node.Config) {
			c.ChallengeWindow = 4 * time.Second
			c.ChallengeBackoff = 200 * time.Millisecond
			c.RecoveryAttempts = 2
		},
	}
}

// waitAttested waits until every running member of epoch's committee has its
// attestation for epoch on chain (its status says so), and returns their
// statuses.
func waitAttested(t testing.TB, nw *network.Network, epoch uint32) map[int]*node.ChallengeStatus {
	t.Helper()
	out := map[int]*node.ChallengeStatus{}
	err := waitUntil(func() error {
		for i, n := range nw.Nodes {
			run := n.Running()
			if run == nil {
				continue
			}
			st := run.Status(context.Background())
			if !st.Member {
				continue
			}
			cs := st.Challenges
			if cs == nil || cs.Epoch != epoch || (!cs.Attested && cs.AttestError == "") {
				return fmt.Errorf("%w: node %d has not attested epoch %d (%+v)", errNotYet, i, epoch, cs)
			}
			if cs.AttestError != "" {
				return fmt.Errorf("node %d: attestation of epoch %d refused: %s", i, epoch, cs.AttestError)
			}
			out[i] = cs
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// history returns node i's record of epoch e.
func history(t testing.TB, nw *network.Network, i int, e uint32) chain.NodeEpoch {
	t.Helper()
	h, err := nw.Chain.NodeHistory(context.Background(), nw.Nodes[i].ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range h {
		if r.Epoch == e {
			return r
		}
	}
	t.Fatalf("node %d has no history for epoch %d: %+v", i, e, h)
	return chain.NodeEpoch{}
}

// TestChallengesHonestUnderLoad: over several epochs, with clients storing
// and reading all along, every member passes every other member's
// challenges and the chain records every node as passed.
func TestChallengesHonestUnderLoad(t *testing.T) {
	nw := nettest.New(t, challengeOptions(0))
	c := nettest.Client(t, nw)
	ctx := context.Background()
	var ids []encoding.BlobID
	for i := range 3 {
		res, err := c.Store(ctx, nettest.Blob(3000+1000*i, uint32(i)), client.StoreOptions{Epochs: 10})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.BlobID())
	}
	const epochs = 4
	for e := uint32(1); e <= epochs; e++ {
		// The load: stores and reads while the challenges run.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for k := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := c.Store(ctx, nettest.Blob(2000+500*k, uint32(100*e)+uint32(k)), client.StoreOptions{Epochs: 10})
				if err != nil {
					errs <- err
					return
				}
				if _, err := c.ReadBlob(ctx, ids[k%len(ids)], client.ReadOptions{}); err != nil {
					errs <- err
				}
				_ = res
			}()
		}
		statuses := waitAttested(t, nw, e)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("epoch %d: load: %v", e, err)
		}
		for i, cs := range statuses {
			if len(cs.Passed) != len(nw.Nodes) || len(cs.Unproven) != 0 {
				t.Fatalf("epoch %d: node %d passed %v of %d members, unproven shards %v (%+v)", e, i, cs.Passed, len(nw.Nodes), cs.Unproven, cs.Members)
			}
			if e >= 2 && cs.BlobSet < len(ids) {
				t.Fatalf("epoch %d: node %d challenges a set of %d blobs, want ≥ %d", e, i, cs.BlobSet, len(ids))
			}
		}
		if _, err := nw.AdvanceEpoch(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range nw.Nodes {
			if r := history(t, nw, i, e); r.Verdict != chain.VerdictPassed || r.PassedBy != 10 {
				t.Fatalf("epoch %d: node %d: %+v, want passed by all 10 shards", e, i, r)
			}
		}
	}
}

// TestChallengesCatchDroppedSlivers: a node that dropped slivers from its
// store and cannot recover them fails its challenges and earns nothing; the
// others earn the hand-computed amounts, commission included, and the
// forfeited share is burned. The same for a node that answers as if it
// stored nothing (faults.Forget).
func TestChallengesCatchDroppedSlivers(t *testing.T) {
	for _, mode := range []string{"dropped slivers", "forget"} {
		t.Run(mode, func(t *testing.T) { testChallengesCatch(t, mode) })
	}
}

func testChallengesCatch(t *testing.T, mode string) {
	const commission = 1000 // 10%
	nw := nettest.New(t, challengeOptions(commission))
	c := nettest.Client(t, nw)
	ctx := context.Background()
	st, err := nw.Chain.SystemState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	params, err := st.Params()
	if err != nil {
		t.Fatal(err)
	}
	n := st.NShards

	// Epoch 1: store blobs for epochs 1 to 3. Their fees are the pots:
	// storage units × price per epoch, and the write fees in epoch 1.
	const blobEpochs = 3
	pots := map[uint32]uint64{}
	var ids []encoding.BlobID
	for i := range 4 {
		size := 4000 + 1500*i
		res, err := c.Store(ctx, nettest.Blob(size, uint32(i+1)), client.StoreOptions{Epochs: blobEpochs})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.BlobID())
		enc, err := params.EncodedLength(uint64(size))
		if err != nil {
			t.Fatal(err)
		}
		units := chain.StorageUnits(enc)
		if got, want := res.NewlyCreated.Cost, units*(st.StoragePrice*blobEpochs+st.WritePrice); got != want {
			t.Fatalf("blob %d cost %d, want %d", i, got, want)
		}
		for e := uint32(1); e <= blobEpochs; e++ {
			pots[e] += units * st.StoragePrice
		}
		pots[1] += units * st.WritePrice
	}
	com, err := nw.Committee(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The cheater: the member with the fewest shards, so that the others
	// hold a quorum without it.
	cheater := 0
	shardsOf := map[int]int{}
	for i := range nw.Nodes {
		k, _ := com.Index(nw.Nodes[i].ID())
		shardsOf[i] = len(com.Members[k].Shards)
		if shardsOf[i] < shardsOf[cheater] {
			cheater = i
		}
	}
	before := map[int]chain.NodeInfo{}
	for i := range nw.Nodes {
		if before[i], err = nw.Chain.Node(ctx, nw.Nodes[i].ID()); err != nil {
			t.Fatal(err)
		}
	}
	waitAttested(t, nw, 1)

	// Before epoch 2's challenges, the cheater loses the pairs of two blobs
	// on every shard it holds, and cannot get them back: the others lie to
	// its recovery requests for those blobs.
	dropped := ids[:2]
	switch mode {
	case "dropped slivers":
		nettest.Must(t, nw.StopNode(cheater), "stopping node %d", cheater)
		s, err := store.Open(filepath.Join(nw.Nodes[cheater].Config.DataDir, "db"), store.Options{Logger: nettest.Logger(t, false)})
		if err != nil {
			t.Fatal(err)
		}
		k, _ := com.Index(nw.Nodes[cheater].ID())
		for _, id := range dropped {
			for _, sh := range com.Members[k].Shards {
				if err := s.DeletePair(ctx, sh, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for i := range nw.Nodes {
			if i != cheater {
				nw.Nodes[i].Faults.Set(faults.LieSymbols, dropped...)
			}
		}
	case "forget":
		nw.Nodes[cheater].Faults.Set(faults.Forget)
	}
	if _, err := nw.AdvanceEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	if mode == "dropped slivers" {
		nettest.Must(t, nw.StartNode(ctx, cheater), "restarting node %d", cheater)
	}

	// Epochs 2 and 3: the cheater fails.
	for e := uint32(2); e <= blobEpochs; e++ {
		statuses := waitAttested(t, nw, e)
		for i, cs := range statuses {
			if i == cheater {
				// It may vouch for itself; its shards alone are no quorum.
				continue
			}
			k, _ := com.Index(nw.Nodes[cheater].ID())
			if slices.Contains(cs.Passed, k) {
				t.Fatalf("epoch %d: node %d marked the cheater (member %d) as passing: %+v", e, i, k, cs)
			}
			if len(cs.Passed) != len(nw.Nodes)-1 {
				t.Fatalf("epoch %d: node %d passed %v, want every member but the cheater", e, i, cs.Passed)
			}
		}
		if e == blobEpochs {
			// Every blob is still readable: the cheater's loss does not
			// matter. The others' lies (they kept the cheater from
			// recovering) end first: a reader drops a node that lied to
			// it for the rest of the read, and they would be all but one.
			for i := range nw.Nodes {
				if i != cheater {
					nw.Nodes[i].Faults.Set(faults.Honest)
				}
			}
			for _, id := range ids {
				if _, err := c.ReadBlob(ctx, id, client.ReadOptions{}); err != nil {
					t.Fatalf("reading blob %s: %v", id, err)
				}
			}
		}
		if _, err := nw.AdvanceEpoch(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A node that forgets answers for others but still proves its own
	// shards vouches for itself; one that lost slivers cannot.
	selfVouch := 0
	if mode == "forget" {
		selfVouch = shardsOf[cheater]
	}

	// The hand computation: each epoch's pot (with what carried over) goes
	// to the members by shards, ⌊pot × shards / n⌋; the cheater's share of
	// epochs 2 and 3 is burned; 10% of each reward is commission.
	wantPool := map[int]uint64{}
	wantCommission := map[int]uint64{}
	carry := uint64(0)
	for e := uint32(1); e <= blobEpochs; e++ {
		pot := pots[e] + carry
		spent := uint64(0)
		for i := range nw.Nodes {
			reward := pot * uint64(shardsOf[i]) / uint64(n)
			spent += reward
			r := history(t, nw, i, e)
			if i == cheater && e >= 2 {
				if r.Verdict != chain.VerdictFailed || r.Reward != 0 || r.Burned != reward || r.PassedBy != selfVouch {
					t.Fatalf("epoch %d: cheater: %+v, want failed, reward 0, burned %d", e, r, reward)
				}
				continue
			}
			comm := reward * commission / chain.MaxCommission
			if r.Verdict != chain.VerdictPassed || r.Reward != reward || r.Commission != comm {
				t.Fatalf("epoch %d: node %d: %+v, want passed, reward %d, commission %d", e, i, r, reward, comm)
			}
			wantPool[i] += reward - comm
			wantCommission[i] += comm
		}
		carry = pot - spent
	}
	for i := range nw.Nodes {
		after, err := nw.Chain.Node(ctx, nw.Nodes[i].ID())
		if err != nil {
			t.Fatal(err)
		}
		if got := after.Stake - before[i].Stake; got != wantPool[i] {
			t.Errorf("node %d: pool grew by %d, want %d", i, got, wantPool[i])
		}
		if got := after.CommissionAccrued - before[i].CommissionAccrued; got != wantCommission[i] {
			t.Errorf("node %d: commission accrued %d, want %d", i, got, wantCommission[i])
		}
	}
}

// TestChallengesSurviveRestart: a node restarted in the middle of an epoch
// takes the epoch's blob set back from its data dir (the records have moved
// on since the epoch started) and proves its shards again, and the next
// epoch's challenges pass everywhere.
func TestChallengesSurviveRestart(t *testing.T) {
	nw := nettest.New(t, challengeOptions(0))
	c := nettest.Client(t, nw)
	ctx := context.Background()
	for i := range 3 {
		if _, err := c.Store(ctx, nettest.Blob(3000+700*i, uint32(40+i)), client.StoreOptions{Epochs: 5}); err != nil {
			t.Fatal(err)
		}
	}
	waitAttested(t, nw, 1)
	if _, err := nw.AdvanceEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	before := waitAttested(t, nw, 2)[0]
	// A blob certified in epoch 2 is in no set of epoch 2, whatever the
	// records say after a restart.
	if _, err := c.Store(ctx, nettest.Blob(5000, 99), client.StoreOptions{Epochs: 5}); err != nil {
		t.Fatal(err)
	}
	nettest.Must(t, nw.RestartNode(ctx, 0), "restarting node 0")
	var after *node.ChallengeStatus
	if err := waitUntil(func() error {
		after = nw.Nodes[0].Running().Status(ctx).Challenges
		if after == nil || after.Epoch != 2 || len(after.Proven) != len(before.Proven) {
			return fmt.Errorf("%w: node 0 after its restart: %+v", errNotYet, after)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if after.BlobSet != before.BlobSet || after.BlobSet != 3 {
		t.Fatalf("blob set of epoch 2: %d blobs before the restart, %d after, want 3", before.BlobSet, after.BlobSet)
	}
	if after.ResponseBytes != before.ResponseBytes {
		t.Fatalf("responses of %d bytes after the restart, %d before", after.ResponseBytes, before.ResponseBytes)
	}
	// It attested before the restart and does not try again.
	if !after.Attested || after.AttestError != "" || len(after.Members) != 0 {
		t.Fatalf("after the restart: attested %v, error %q, members %v; want attested, no new challenges", after.Attested, after.AttestError, after.Members)
	}
	if _, err := nw.AdvanceEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	for i, cs := range waitAttested(t, nw, 3) {
		if len(cs.Passed) != len(nw.Nodes) || cs.BlobSet != 4 {
			t.Fatalf("epoch 3: node %d passed %v, blob set %d (want all, 4)", i, cs.Passed, cs.BlobSet)
		}
	}
}
