package client_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/sui"
	"github.com/walrus-go/walrus/chain/sui/suitest"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestLifecycleOnSui runs a client's write path through one blob's whole
// life against the Sui backend (chain/sui), over the Sui JSON-RPC test
// server in front of the test network's chain: registered (WAL coins
// split and merged, gas paid), certified, read, extended, deleted. The
// storage nodes follow the same chain.
func TestLifecycleOnSui(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	ctx := t.Context()
	srv := suitest.Over(t, nw.Chain, nw.Wallet)
	sc, err := sui.Open(ctx, srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	c := nettest.Client(t, nw, func(cfg *client.Config) { cfg.Chain = sc })

	blob := nettest.Blob(12_345, 77)
	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 2, Deletable: true})
	if err != nil {
		t.Fatal(err)
	}
	obj := res.NewlyCreated.BlobObject
	if obj.CertifiedEpoch == nil || !obj.Deletable || obj.Storage.EndEpoch != 3 {
		t.Fatalf("stored on Sui: %+v", obj)
	}
	// The embedded chain behind the server holds the same object.
	lo, err := nw.Chain.BlobObject(ctx, obj.ID)
	if err != nil || !lo.IsCertified() || lo.BlobID != obj.BlobID || lo.Owner != nw.Wallet.Address() {
		t.Fatalf("the chain's object %+v, %v", lo, err)
	}
	got, err := c.ReadBlob(ctx, obj.BlobID, client.ReadOptions{})
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("read: %v", err)
	}
	st, err := c.Status(ctx, obj.BlobID, client.StatusOptions{})
	if err != nil || st.Status.Kind != chain.BlobDeletable || st.Status.Deletable.Certified != 1 {
		t.Fatalf("status on Sui: %+v, %v", st, err)
	}
	// Stored again: Sui's status reports it certified, so the store
	// de-duplicates only when permanent; a deletable one is a second object.
	if ext, err := c.Extend(ctx, obj.ID, 3); err != nil || ext.Blob.EndEpoch() != 6 {
		t.Fatalf("extend on Sui: %+v, %v", ext, err)
	}
	if lo, _ := nw.Chain.BlobObject(ctx, obj.ID); lo.EndEpoch() != 6 {
		t.Fatalf("the chain's end epoch after extending: %d", lo.EndEpoch())
	}
	if _, err := c.Delete(ctx, obj.ID); err != nil {
		t.Fatalf("delete on Sui: %v", err)
	}
	if _, err := nw.Chain.BlobObject(ctx, obj.ID); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("the chain's object after deleting: %v", err)
	}
	if _, err := c.ReadBlob(context.Background(), obj.BlobID, client.ReadOptions{}); !errors.Is(err, client.ErrBlobNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
}
