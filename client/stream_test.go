package client_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
)

// served is the primary slivers the nodes have served so far.
func served(nw *network.Network) int64 {
	var n int64
	for _, x := range nw.Nodes {
		n += x.Faults.SliversServed.Load()
	}
	return n
}

// TestStreamRange: a range read asks only for the rows (systematic
// primary slivers) that cover the range, and writes exactly its bytes; a
// range outside the blob is refused before anything is fetched.
func TestStreamRange(t *testing.T) {
	// n = 10: rows = 4, cols = 7.
	nw := nettest.New(t, nettest.Options{Nodes: 4, Shards: 10})
	c := nettest.Client(t, nw)
	blob := nettest.Blob(50_000, 7)
	res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store")
	id := res.BlobID()
	nettest.Must(t, nw.WaitHeld(t.Context(), id), "waiting for the nodes")
	b, err := c.Open(t.Context(), id, client.ReadOptions{})
	nettest.Must(t, err, "open")
	if b.Size() != int64(len(blob)) || b.ID() != id {
		t.Fatalf("opened %s of %d bytes, want %s of %d", b.ID(), b.Size(), id, len(blob))
	}
	row := int64(b.RowSize())
	if row*4 < int64(len(blob)) || row*3 >= int64(len(blob)) {
		t.Fatalf("row size %d for a blob of %d bytes in 4 rows", row, len(blob))
	}
	for _, tc := range []struct {
		name          string
		start, length int64
		rows          int64
	}{
		{"whole", 0, int64(len(blob)), 4},
		{"first byte", 0, 1, 1},
		{"last byte", int64(len(blob)) - 1, 1, 1},
		{"within row 1", row + 10, 100, 1},
		{"across rows 1 and 2", 2*row - 5, 10, 2},
		{"rows 1 to 3", row, int64(len(blob)) - row, 3},
		{"empty", 100, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, fetched := served(nw), b.FetchedBytes()
			var buf bytes.Buffer
			n, err := b.StreamRange(t.Context(), &buf, tc.start, tc.length)
			if err != nil || n != tc.length || !bytes.Equal(buf.Bytes(), blob[tc.start:tc.start+tc.length]) {
				t.Fatalf("StreamRange(%d, %d) = %d, %v (equal %v)", tc.start, tc.length, n, err, bytes.Equal(buf.Bytes(), blob[tc.start:tc.start+tc.length]))
			}
			if got := served(nw) - before; got != tc.rows {
				t.Errorf("nodes served %d slivers, want %d", got, tc.rows)
			}
			if got := b.FetchedBytes() - fetched; got != tc.rows*row {
				t.Errorf("fetched %d bytes, want %d", got, tc.rows*row)
			}
		})
	}
	before := served(nw)
	for _, r := range [][2]int64{{-1, 1}, {0, int64(len(blob)) + 1}, {int64(len(blob)) + 1, 0}, {10, -1}} {
		if _, err := b.StreamRange(t.Context(), &bytes.Buffer{}, r[0], r[1]); !errors.Is(err, client.ErrRangeNotSatisfiable) {
			t.Errorf("StreamRange(%d, %d): %v, want ErrRangeNotSatisfiable", r[0], r[1], err)
		}
	}
	if got := served(nw) - before; got != 0 {
		t.Errorf("bad ranges fetched %d slivers", got)
	}
}

// TestStreamWindow: a read with a window of one row fetches one row at a
// time and still returns the whole blob, in order; so does a blob of
// warmBlobSize bytes or more, whose rows wait for the codec's tables before
// they are verified.
func TestStreamWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shards int
		size   int
		rows   int // one write per row
	}{
		{"rows of 375 kB", 10, 1500_000, 4},
		{"large blob", 20, 4 << 20, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nw := nettest.New(t, nettest.Options{Nodes: 4, Shards: tc.shards})
			c := nettest.Client(t, nw, func(cfg *client.Config) { cfg.ReadWindow = 1 })
			blob := nettest.Blob(tc.size, 9)
			res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 2})
			nettest.Must(t, err, "store")
			nettest.Must(t, nw.WaitHeld(t.Context(), res.BlobID()), "waiting for the nodes")
			var w orderedWriter
			n, err := c.Read(t.Context(), res.BlobID(), &w, client.ReadOptions{})
			if err != nil || n != int64(len(blob)) || !bytes.Equal(w.buf.Bytes(), blob) {
				t.Fatalf("read: %d, %v (equal %v)", n, err, bytes.Equal(w.buf.Bytes(), blob))
			}
			if w.writes < tc.rows {
				t.Errorf("%d writes, want one per row (%d)", w.writes, tc.rows)
			}
		})
	}
}

type orderedWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *orderedWriter) Write(p []byte) (int, error) { w.writes++; return w.buf.Write(p) }

// TestStreamHedgesSilentNode: a node that takes the request and never
// answers costs a read the hedge delay, not its transfer timeout: its rows
// are rebuilt from the others' recovery symbols. A node that lies about a
// row is caught, logged with its peer ID once, and its row rebuilt.
func TestStreamHedgesSilentNode(t *testing.T) {
	// n = 10, one shard per node: each row has its own node.
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	c := nettest.Client(t, nw)
	blob := nettest.Blob(40_000, 11)
	res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store")
	id := res.BlobID()
	nettest.Must(t, nw.WaitHeld(t.Context(), id), "waiting for the nodes")
	nodeOfRow := func(r int) *network.Node {
		n, err := nw.NodeForShard(t.Context(), uint16(id.ShardForPair(r, 10)))
		nettest.Must(t, err, "node of row %d", r)
		return n
	}
	for _, tc := range []struct {
		behavior faults.Behavior
		log      string
	}{
		{faults.Silent, "storage node is slow"},
		{faults.LieSlivers, "storage node lied"},
	} {
		t.Run(tc.behavior.String(), func(t *testing.T) {
			defer heal(t, nw)
			logger, logs := nettest.RecordLogs(t)
			const timeout = time.Minute
			r := nettest.Client(t, nw, func(cfg *client.Config) {
				cfg.Signer = nil
				cfg.Logger = logger
				cfg.HedgeDelay = 100 * time.Millisecond
				cfg.RequestTimeout, cfg.TransferTimeout = timeout, timeout
			})
			bad := nodeOfRow(1)
			bad.Faults.Set(tc.behavior, id)
			start := time.Now()
			var buf bytes.Buffer
			_, err := r.Read(t.Context(), id, &buf, client.ReadOptions{SkipChainCheck: true})
			if err != nil || !bytes.Equal(buf.Bytes(), blob) {
				t.Fatalf("read with a %s node: %v (equal %v)", tc.behavior, err, bytes.Equal(buf.Bytes(), blob))
			}
			if d := time.Since(start); d >= timeout {
				t.Errorf("the read took %v: it waited for the %s node's timeout", d, tc.behavior)
			}
			if lines := logs.Matching(tc.log, bad.PeerID()); len(lines) != 1 {
				t.Errorf("%d log lines %q name node %s, want 1", len(lines), tc.log, bad.PeerID())
			}
		})
	}
}

// TestStreamRebuildsBeyondF: with more than f shards' nodes unable to
// serve (forgetting the blob), rows cannot be rebuilt from recovery symbols
// (n − f needed), but rows primary slivers still decode the blob: the
// streamed read falls back to that and returns the blob.
func TestStreamRebuildsBeyondF(t *testing.T) {
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	c := nettest.Client(t, nw)
	blob := nettest.Blob(30_000, 12)
	res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store")
	id := res.BlobID()
	nettest.Must(t, nw.WaitHeld(t.Context(), id), "waiting for the nodes")
	defer heal(t, nw)
	// The nodes of rows 0..3 (all systematic) and one more forget it: 5 > f.
	for r := range 5 {
		n, err := nw.NodeForShard(t.Context(), uint16(id.ShardForPair(r, 10)))
		nettest.Must(t, err, "node of row %d", r)
		n.Faults.Set(faults.Forget, id)
	}
	var buf bytes.Buffer
	if _, err := c.Read(t.Context(), id, &buf, client.ReadOptions{}); err != nil || !bytes.Equal(buf.Bytes(), blob) {
		t.Fatalf("read: %v (equal %v)", err, bytes.Equal(buf.Bytes(), blob))
	}
}
