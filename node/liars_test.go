package node_test

import (
	"testing"

	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestRecoveryDropsLiars: a peer that serves recovery symbols whose proofs
// fail is caught by verification, logged with its peer ID, and not asked
// again during that blob's recovery (which needs both axes, and retries),
// and the node still rebuilds its slivers from the honest peers.
func TestRecoveryDropsLiars(t *testing.T) {
	for _, lie := range []faults.Behavior{faults.LieSymbols, faults.LieProofs, faults.LieMetadata} {
		t.Run(lie.String(), func(t *testing.T) {
			logger, logs := nettest.RecordLogs(t)
			e := newEnv(t, nettest.Options{Nodes: 7, Shards: 10, Logger: logger})
			lazy := e.leastShards()
			enc, obj := e.register(randomBytes(20_000, 71), 2, false)
			var signers []int
			for i := range e.nw.Nodes {
				if i != lazy {
					e.send(enc, i)
					signers = append(signers, i)
				}
			}
			cert, err := e.confirm(enc, obj, signers)
			if err != nil {
				t.Fatal(err)
			}
			bad := (lazy + 1) % len(e.nw.Nodes)
			liar := e.nw.Nodes[bad].Faults
			liar.Set(lie)
			// The lazy node asks its peers for metadata in committee order,
			// and for symbols only as many peers as it needs, in random
			// order. Make the liar the only one that has anything to tell,
			// so that it is surely asked; once it is caught, the others
			// tell again.
			for i, n := range e.nw.Nodes {
				if i != bad && i != lazy {
					n.Faults.Set(faults.Forget)
				}
			}
			before := liar.RecoveryRequests.Load()
			if _, err := e.nw.Chain.CertifyBlob(e.ctx, e.nw.Wallet, obj.ID, cert); err != nil {
				t.Fatal(err)
			}
			what := "lie=\"recovery symbols\""
			if lie == faults.LieMetadata {
				what = "lie=metadata"
			}
			if err := waitUntil(func() error {
				if len(logs.Matching("peer lied during recovery", e.nw.Nodes[bad].PeerID(), what)) == 0 {
					return errNotYet
				}
				return nil
			}); err != nil {
				t.Fatalf("the lazy node did not name the peer whose %s does not verify: %v", what, err)
			}
			for i, n := range e.nw.Nodes {
				if i != bad {
					n.Faults.Set(faults.Honest)
				}
			}
			if err := e.nw.WaitHeld(e.ctx, enc.BlobID, lazy); err != nil {
				t.Fatal(err)
			}
			liar.Set(faults.Honest)
			e.readBack(enc)
			if got := liar.RecoveryRequests.Load() - before; lie != faults.LieMetadata && got != 1 {
				t.Errorf("the liar was asked for recovery symbols %d times, want once (then dropped)", got)
			}
			if lie == faults.LieMetadata {
				if got := liar.RecoveryRequests.Load() - before; got != 0 {
					t.Errorf("the peer caught lying about metadata was asked for symbols %d times", got)
				}
				return
			}
			if lines := logs.Matching("peer lied during recovery", e.nw.Nodes[bad].PeerID(), "lie=\"recovery symbols\""); len(lines) != 1 {
				t.Errorf("%d log lines name the liar %s, want 1: %q", len(lines), e.nw.Nodes[bad].PeerID(), logs.Matching("lied"))
			}
		})
	}
}
