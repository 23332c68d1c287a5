package client_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestReadDropsLiars: a node that serves metadata or slivers that do not
// verify is caught, logged with its peer ID, and not asked again for the
// rest of the read; the read returns the blob from the others.
func TestReadDropsLiars(t *testing.T) {
	// n = 10, rows = 4, one shard per node.
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	c := nettest.Client(t, nw)
	blob := nettest.Blob(20_000, 81)
	res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store")
	id := res.BlobID()
	nettest.Must(t, nw.WaitHeld(t.Context(), id), "waiting for the nodes")
	// The liar holds a systematic sliver: a read asks it in its first wave
	// (the systematic slivers, rows of them), unless it is dropped.
	var liar *network.Node
	for s := range uint16(10) {
		if id.PairForShard(int(s), 10) == 0 {
			liar, err = nw.NodeForShard(t.Context(), s)
			nettest.Must(t, err, "node of shard %d", s)
		}
	}
	for _, tc := range []struct {
		lie    faults.Behavior
		served int64 // slivers the liar may serve
	}{
		{faults.LieMetadata, 0}, // caught at the metadata: never asked for slivers
		{faults.LieSlivers, 1},  // caught at its sliver: not asked for another
	} {
		t.Run(tc.lie.String(), func(t *testing.T) {
			defer heal(t, nw)
			logger, logs := nettest.RecordLogs(t)
			r := nettest.Client(t, nw, func(cfg *client.Config) {
				cfg.Signer = nil
				cfg.Logger = logger
				cfg.MetadataFanout = len(nw.Nodes) // every node is asked for the metadata at once
			})
			liar.Faults.Set(tc.lie)
			if tc.lie == faults.LieMetadata {
				// The liar answers first; the honest answers come later.
				for _, n := range nw.Nodes {
					if n != liar {
						n.Faults.SetDelay(faults.OpMetadata, 300*time.Millisecond)
					}
				}
			}
			before := liar.Faults.SliversServed.Load()
			got, err := r.ReadBlob(t.Context(), id, client.ReadOptions{})
			if err != nil || !bytes.Equal(got, blob) {
				t.Fatalf("read with a liar: %v (equal %v)", err, bytes.Equal(got, blob))
			}
			if served := liar.Faults.SliversServed.Load() - before; served != tc.served {
				t.Errorf("the liar served %d slivers, want %d", served, tc.served)
			}
			if lines := logs.Matching("storage node lied", liar.PeerID()); len(lines) != 1 {
				t.Errorf("%d log lines name the liar %s, want 1: %q", len(lines), liar.PeerID(), logs.Matching("lied"))
			}
		})
	}
}

// TestStoreDropsLiars: the client verifies every confirmation's message and
// signature against the member's key before it aggregates them; a node
// that forges its signature or signs another message is caught, logged
// with its peer ID and left out of the certificate, which the chain
// accepts.
func TestStoreDropsLiars(t *testing.T) {
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	for k, lie := range []faults.Behavior{faults.ForgeSignature, faults.WrongMessage} {
		t.Run(lie.String(), func(t *testing.T) {
			defer heal(t, nw)
			logger, logs := nettest.RecordLogs(t)
			c := nettest.Client(t, nw, func(cfg *client.Config) {
				cfg.Logger = logger
				cfg.GracePeriod = time.Second // wait for every confirmation, the liar's too
			})
			liar := nw.Nodes[3]
			liar.Faults.Set(lie)
			before := liar.Faults.Confirmations.Load()
			res, err := c.Store(t.Context(), nettest.Blob(5000, uint32(90+k)), client.StoreOptions{Epochs: 1})
			if err != nil || res.NewlyCreated == nil || res.NewlyCreated.BlobObject.CertifiedEpoch == nil {
				t.Fatalf("store with a liar: %+v, %v", res, err)
			}
			if got := liar.Faults.Confirmations.Load() - before; got != 1 {
				t.Errorf("the liar was asked for %d confirmations, want 1", got)
			}
			if lines := logs.Matching("storage node lied", liar.PeerID(), "invalid confirmation"); len(lines) != 1 {
				t.Errorf("%d log lines name the liar %s, want 1: %q", len(lines), liar.PeerID(), logs.Matching("lied"))
			}
		})
	}
}
