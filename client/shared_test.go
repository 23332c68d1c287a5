package client_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestSharedBlobKeepsBlobAlive stores a shared blob on a real network for
// one epoch, funds it and extends it from its funds, then moves the network
// past the epoch it would have ended in: the nodes follow the extension and
// still serve it.
func TestSharedBlobKeepsBlobAlive(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	ctx := t.Context()
	blob := nettest.Blob(2000, 51)
	if _, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 1, Share: true, Deletable: true}); !errors.Is(err, client.ErrInvalidOptions) {
		t.Fatalf("sharing a deletable blob: %v", err)
	}
	if _, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 1, Share: true, Owner: chain.Address{1}}); !errors.Is(err, client.ErrInvalidOptions) {
		t.Fatalf("sharing and sending: %v", err)
	}
	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 1, Share: true})
	if err != nil {
		t.Fatal(err)
	}
	nc := res.NewlyCreated
	if nc == nil || nc.SharedBlobObject == nil {
		t.Fatalf("result %+v; want a new shared blob", res)
	}
	end := nc.BlobObject.Storage.EndEpoch
	nettest.Must(t, nw.WaitHeld(ctx, nc.BlobObject.BlobID), "waiting for the nodes")
	id := *nc.SharedBlobObject
	if _, err := c.ExtendShared(ctx, id, 2); !errors.Is(err, chain.ErrInsufficientBalance) {
		t.Fatalf("extending an unfunded shared blob: %v", err)
	}
	if _, err := c.FundSharedBlob(ctx, id, 0); !errors.Is(err, client.ErrInvalidOptions) {
		t.Fatalf("funding zero: %v", err)
	}
	st, err := c.SystemState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cost, _ := st.StorageCost(nc.BlobObject.Storage.Size, 2)
	if sb, err := c.FundSharedBlob(ctx, id, cost); err != nil || sb.Funds != cost {
		t.Fatalf("funding %d: %+v, %v", cost, sb, err)
	}
	x, err := c.ExtendShared(ctx, id, 2)
	if err != nil || x.Cost != cost || x.Shared.Funds != 0 || x.Shared.Blob.EndEpoch() != end+2 {
		t.Fatalf("extension: %+v, %v", x, err)
	}
	// A control: the same lifetime, not extended.
	other := nettest.Blob(2000, 52)
	ctl, err := c.Store(ctx, other, client.StoreOptions{Epochs: 1, Share: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := nw.AdvanceEpoch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := nw.Chain.SystemState(ctx); s.Epoch <= end {
		t.Fatalf("epoch %d, not past the original end %d", s.Epoch, end)
	}
	got, err := c.ReadBlob(ctx, nc.BlobObject.BlobID, client.ReadOptions{})
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("read after the original end epoch %d: %d bytes, %v", end, len(got), err)
	}
	if _, err := c.ReadBlob(ctx, ctl.NewlyCreated.BlobObject.BlobID, client.ReadOptions{}); err == nil {
		t.Fatal("the unextended shared blob is still read after its end epoch")
	}
	sb, err := c.SharedBlob(ctx, id)
	if err != nil || sb.Blob.EndEpoch() != end+2 || sb.Blob.ID != nc.BlobObject.ID {
		t.Fatalf("shared blob %+v, %v", sb, err)
	}
}
