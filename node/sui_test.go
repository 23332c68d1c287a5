package node_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/sui"
	"github.com/walrus-go/walrus/chain/sui/suitest"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
	"github.com/walrus-go/walrus/p2p"
)

// TestFollowerOnSui runs storage nodes that follow the chain through the
// Sui backend (chain/sui over the Sui JSON-RPC test server in front of the
// test network's chain) through one blob's whole life: they see its
// registration (and store what a client sends), certification,
// extension, the epoch change (reporting sync done with epoch_sync_done)
// and its deletion, after which they drop it.
func TestFollowerOnSui(t *testing.T) {
	var (
		once sync.Once
		srv  *suitest.Server
	)
	e := newEnv(t, nettest.Options{NodeChain: func(nw *network.Network, i int) (node.Chain, io.Closer, error) {
		once.Do(func() {
			keys := []*chain.AccountKey{nw.Wallet}
			for _, n := range nw.Nodes {
				keys = append(keys, n.Keys.Account)
			}
			srv = suitest.Over(t, nw.Chain, keys...)
		})
		c, err := sui.Open(context.Background(), srv.Config())
		return c, c, err
	}})
	ctx := e.ctx
	c := nettest.Client(t, e.nw)
	blob := nettest.Blob(20_000, 5)
	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 3, Deletable: true})
	if err != nil {
		t.Fatal(err)
	}
	obj := res.NewlyCreated.BlobObject
	nettest.Must(t, e.nw.WaitHeld(ctx, obj.BlobID), "the nodes hold the blob")
	status := func(want p2p.BlobState, end uint32) error {
		for i := range e.nw.Nodes {
			st, err := e.p2p.GetStatus(ctx, e.pid(i), obj.BlobID)
			if err != nil {
				return err
			}
			if st.State != want || (end != 0 && st.EndEpoch != end) {
				return errNotYet
			}
		}
		return nil
	}
	nettest.Must(t, waitUntil(func() error { return status(p2p.BlobCertified, 4) }), "the nodes see the certification")
	if _, err := c.Extend(ctx, obj.ID, 2); err != nil {
		t.Fatal(err)
	}
	nettest.Must(t, waitUntil(func() error { return status(p2p.BlobCertified, 6) }), "the nodes see the extension")
	// The epoch change completes only if the nodes report sync done
	// through Sui.
	epoch, err := e.nw.AdvanceEpoch(ctx)
	nettest.Must(t, err, "advancing the epoch")
	if _, err := e.nw.WaitChangeDone(ctx); err != nil {
		t.Fatalf("epoch %d: %v", epoch, err)
	}
	if got := readAll(t, c, obj.BlobID); !bytes.Equal(got, blob) {
		t.Fatal("the blob does not read back after the epoch change")
	}
	if _, err := c.Delete(ctx, obj.ID); err != nil {
		t.Fatal(err)
	}
	nettest.Must(t, waitUntil(func() error { return status(p2p.BlobUnknown, 0) }), "the nodes drop the deleted blob")
}
