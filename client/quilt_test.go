package client_test

import (
	"bytes"
	"testing"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/quilt"
	"github.com/walrus-go/walrus/encoding/quilt/quilttest"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
)

// holderOf returns the node that holds column (secondary sliver) j of
// quilt id.
func holderOf(t *testing.T, nw *network.Network, c *client.Client, id encoding.BlobID, j int) *network.Node {
	t.Helper()
	com, err := c.Committee(t.Context())
	nettest.Must(t, err, "committee")
	n := com.NShards
	shard := uint16(id.ShardForPair(encoding.PairIndex(encoding.Secondary, j, n), n))
	for _, m := range com.Members {
		for _, s := range m.Shards {
			if s == shard {
				for _, node := range nw.Nodes {
					if node.ID() == m.NodeID {
						return node
					}
				}
			}
		}
	}
	t.Fatalf("no node holds shard %d", shard)
	return nil
}

// TestQuiltColumnReads stores a golden quilt (n = 10) and checks that a
// patch read fetches the patch's columns alone (secondary slivers, counted
// by the nodes), a read by identifier the index's columns too, and that
// reads fall back to the whole quilt when a column's holder is down or
// lies.
func TestQuiltColumnReads(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	v := quilttest.Load(t, "many_files_n10")
	blobs := v.Blobs(t)
	res, err := c.StoreQuilt(t.Context(), blobs, client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store quilt")
	qid := res.BlobStoreResult.BlobID()
	if qid.String() != v.QuiltID {
		t.Fatalf("quilt ID %s, want the golden %s", qid, v.QuiltID)
	}
	nettest.Must(t, nw.WaitHeld(t.Context(), qid), "waiting for the nodes")
	data := map[string][]byte{}
	for _, b := range blobs {
		data[b.Identifier] = b.Data
	}

	for i, p := range res.StoredQuiltBlobs {
		want := v.Index[i]
		if p.Identifier != want.Identifier || p.QuiltPatchID.String() != want.PatchID {
			t.Fatalf("patch %d: %s %s, want %s %s", i, p.Identifier, p.QuiltPatchID, want.Identifier, want.PatchID)
		}
		before := served(nw)
		b, err := c.ReadQuiltPatch(t.Context(), p.QuiltPatchID, client.ReadOptions{})
		nettest.Must(t, err, "read patch")
		if b.Identifier != want.Identifier || !bytes.Equal(b.Data, data[want.Identifier]) {
			t.Fatalf("patch %s: %q, %d bytes", want.PatchID, b.Identifier, len(b.Data))
		}
		if got, cols := served(nw)-before, int64(want.End-want.Start); got != cols {
			t.Errorf("patch %s (columns [%d, %d)): %d slivers served, want %d", want.Identifier, want.Start, want.End, got, cols)
		}
	}
	before := served(nw)
	ix, err := c.QuiltIndex(t.Context(), qid, client.ReadOptions{})
	nettest.Must(t, err, "index")
	if len(ix.Patches) != len(v.Index) || served(nw)-before != int64(ix.Columns) {
		t.Errorf("index: %d patches, %d slivers served for %d columns", len(ix.Patches), served(nw)-before, ix.Columns)
	}
	last := v.Index[len(v.Index)-1]
	before = served(nw)
	b, id, err := c.ReadQuiltBlob(t.Context(), qid, last.Identifier, client.ReadOptions{})
	nettest.Must(t, err, "read by identifier")
	if !bytes.Equal(b.Data, data[last.Identifier]) || (quilt.QuiltPatchID{QuiltID: qid, Patch: id}).String() != last.PatchID {
		t.Fatalf("by identifier: %d bytes, patch %v", len(b.Data), id)
	}
	if got, want := served(nw)-before, int64(ix.Columns+last.End-last.Start); got != want {
		t.Errorf("read by identifier: %d slivers served, want %d", got, want)
	}
	// Several identifiers: one round for all their columns.
	got, err := c.ReadQuiltBlobs(t.Context(), qid, []string{v.Index[2].Identifier, v.Index[0].Identifier}, client.ReadOptions{})
	nettest.Must(t, err, "read by identifiers")
	if len(got) != 2 || !bytes.Equal(got[0].Data, data[v.Index[2].Identifier]) || !bytes.Equal(got[1].Data, data[v.Index[0].Identifier]) {
		t.Fatalf("by identifiers: %+v", got)
	}

	// A liar holding the first patch's column: caught, and the whole
	// quilt read instead.
	first := res.StoredQuiltBlobs[0].QuiltPatchID
	liar := holderOf(t, nw, c, qid, int(first.Patch.Start))
	liar.Faults.Set(faults.LieSlivers, qid)
	b, err = c.ReadQuiltPatch(t.Context(), first, client.ReadOptions{})
	nettest.Must(t, err, "read past a liar")
	if !bytes.Equal(b.Data, data[v.Index[0].Identifier]) {
		t.Fatal("read past a liar: wrong bytes")
	}
	liar.Faults.Set(faults.Honest)
	// Its holder down: the whole quilt, from the others.
	for i, node := range nw.Nodes {
		if node == liar {
			nettest.Must(t, nw.StopNode(i), "stopping the holder")
		}
	}
	b, err = c.ReadQuiltPatch(t.Context(), first, client.ReadOptions{})
	nettest.Must(t, err, "read with the holder down")
	if !bytes.Equal(b.Data, data[v.Index[0].Identifier]) {
		t.Fatal("read with the holder down: wrong bytes")
	}
}
