package client_test

import (
	"fmt"
	"testing"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding/quilt"
	"github.com/walrus-go/walrus/network/nettest"
)

// BenchmarkQuiltPatchRead reads one patch of a quilt of 60 files of 16 KiB
// (n = 100, 10 nodes) from the columns it occupies, and, for comparison,
// by reading and decoding the whole quilt.
//
//	go test -run '^$' -bench QuiltPatchRead -benchtime 20x ./client/
func BenchmarkQuiltPatchRead(b *testing.B) {
	nw := nettest.New(b, nettest.Options{Shards: 100, Nodes: 10})
	c := nettest.Client(b, nw)
	var blobs []quilt.Blob
	for i := range 60 {
		blobs = append(blobs, quilt.Blob{Identifier: fmt.Sprintf("file-%02d", i), Data: nettest.Blob(16<<10, uint32(i))})
	}
	res, err := c.StoreQuilt(b.Context(), blobs, client.StoreOptions{Epochs: 2})
	if err != nil {
		b.Fatal(err)
	}
	if err := nw.WaitHeld(b.Context(), res.BlobStoreResult.BlobID()); err != nil {
		b.Fatal(err)
	}
	id := res.StoredQuiltBlobs[30].QuiltPatchID
	b.Run("columns", func(b *testing.B) {
		b.SetBytes(16 << 10)
		for b.Loop() {
			if _, err := c.ReadQuiltPatch(b.Context(), id, client.ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(16 << 10)
		for b.Loop() {
			q, err := c.ReadQuilt(b.Context(), id.QuiltID, client.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := q.BlobByPatchID(id.Patch); err != nil {
				b.Fatal(err)
			}
		}
	})
}
