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
	return count(nw, func(h *faults.Handler) int64 { return h.SliversServed.Load() })
}

// count sums a counter over the nodes.
func count(nw *network.Network, counter func(*faults.Handler) int64) int64 {
	var n int64
	for _, x := range nw.Nodes {
		n += counter(x.Faults)
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

// symbolsAsked is the symbols/get requests the nodes have taken so far.
func symbolsAsked(nw *network.Network) int64 {
	return count(nw, func(h *faults.Handler) int64 { return h.SymbolRequests.Load() })
}

// TestStreamSymbolRange: a range that covers at most half of a row of
// Config.SymbolReadMinRow bytes or more is read as the symbols that hold
// it, each verified by its proof: exactly those symbols' bytes are fetched
// and no sliver. A node that lies about its symbols or their proofs is
// caught and the row rebuilt from the others; a node that does not serve
// symbols/get is asked for the whole row.
func TestStreamSymbolRange(t *testing.T) {
	// n = 10: rows = 4, cols = 7; one shard per node, so each row has a
	// node of its own.
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	c := nettest.Client(t, nw, func(cfg *client.Config) { cfg.SymbolReadMinRow = 1 })
	blob := nettest.Blob(50_000, 31)
	res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store")
	id := res.BlobID()
	nettest.Must(t, nw.WaitHeld(t.Context(), id), "waiting for the nodes")
	b, err := c.Open(t.Context(), id, client.ReadOptions{})
	nettest.Must(t, err, "open")
	row := int64(b.RowSize())
	s := row / 7
	for _, tc := range []struct {
		name          string
		start, length int64
		symbols       int64 // fetched as symbols
		rows          int64 // fetched as whole rows
	}{
		{"one byte", row + 10, 1, 1, 0},
		{"within a symbol", row + s + 1, s - 2, 1, 0},
		{"three symbols", row + s - 1, s + 2, 3, 0},
		{"across rows 1 and 2", 2*row - 5, 10, 2, 0},
		{"three of seven symbols", 2 * row, 2*s + 1, 3, 0},
		{"four of seven symbols", 2 * row, 3*s + 1, 0, 1},
		{"a row and a symbol", row - 1, row + 1, 1, 1},
		{"whole", 0, int64(len(blob)), 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, asked, fetched := served(nw), symbolsAsked(nw), b.FetchedBytes()
			var buf bytes.Buffer
			n, err := b.StreamRange(t.Context(), &buf, tc.start, tc.length)
			if err != nil || n != tc.length || !bytes.Equal(buf.Bytes(), blob[tc.start:tc.start+tc.length]) {
				t.Fatalf("StreamRange(%d, %d) = %d, %v (equal %v)", tc.start, tc.length, n, err, bytes.Equal(buf.Bytes(), blob[tc.start:tc.start+tc.length]))
			}
			if got := served(nw) - before; got != tc.rows {
				t.Errorf("nodes served %d slivers, want %d", got, tc.rows)
			}
			if got := b.FetchedBytes() - fetched; got != tc.rows*row+tc.symbols*s {
				t.Errorf("fetched %d bytes, want %d", got, tc.rows*row+tc.symbols*s)
			}
			if tc.symbols > 0 && symbolsAsked(nw) == asked {
				t.Errorf("no symbols/get request reached a node")
			}
		})
	}

	nodeOfRow := func(r int) *network.Node {
		n, err := nw.NodeForShard(t.Context(), uint16(id.ShardForPair(r, 10)))
		nettest.Must(t, err, "node of row %d", r)
		return n
	}
	for _, behavior := range []faults.Behavior{faults.LieSymbols, faults.LieProofs} {
		t.Run(behavior.String(), func(t *testing.T) {
			defer heal(t, nw)
			logger, logs := nettest.RecordLogs(t)
			r := nettest.Client(t, nw, func(cfg *client.Config) {
				cfg.Signer, cfg.Logger, cfg.SymbolReadMinRow = nil, logger, 1
			})
			bad := nodeOfRow(1)
			bad.Faults.Set(behavior, id)
			o, err := r.Open(t.Context(), id, client.ReadOptions{SkipChainCheck: true})
			nettest.Must(t, err, "open")
			var buf bytes.Buffer
			start := row + 3*s/2
			if _, err := o.StreamRange(t.Context(), &buf, start, s); err != nil || !bytes.Equal(buf.Bytes(), blob[start:start+s]) {
				t.Fatalf("range read with a %s node: %v (equal %v)", behavior, err, bytes.Equal(buf.Bytes(), blob[start:start+s]))
			}
			if lines := logs.Matching("storage node lied", bad.PeerID()); len(lines) != 1 {
				t.Errorf("%d log lines name the lying node %s, want 1", len(lines), bad.PeerID())
			}
		})
	}

	t.Run("node without symbols", func(t *testing.T) {
		bad := nodeOfRow(2)
		var i int
		for k, n := range nw.Nodes {
			if n == bad {
				i = k
			}
		}
		bad.Faults.ServeSymbols(false)
		nettest.Must(t, nw.RestartNode(t.Context(), i), "restarting node %d", i)
		defer func() {
			bad.Faults.ServeSymbols(true)
			nettest.Must(t, nw.RestartNode(t.Context(), i), "restarting node %d", i)
		}()
		nettest.Must(t, nw.WaitHeld(t.Context(), id), "waiting for the nodes")
		r := nettest.Client(t, nw, func(cfg *client.Config) { cfg.SymbolReadMinRow = 1 })
		o, err := r.Open(t.Context(), id, client.ReadOptions{})
		nettest.Must(t, err, "open")
		before, asked := bad.Faults.SliversServed.Load(), symbolsAsked(nw)
		var buf bytes.Buffer
		start := 2*row + 10
		if _, err := o.StreamRange(t.Context(), &buf, start, 100); err != nil || !bytes.Equal(buf.Bytes(), blob[start:start+100]) {
			t.Fatalf("range read: %v (equal %v)", err, bytes.Equal(buf.Bytes(), blob[start:start+100]))
		}
		if got := bad.Faults.SliversServed.Load() - before; got != 1 {
			t.Errorf("the node served %d slivers, want its row", got)
		}
		if got := symbolsAsked(nw) - asked; got != 0 {
			t.Errorf("%d symbols/get requests reached a node", got)
		}
		if got := o.FetchedBytes(); got != row {
			t.Errorf("fetched %d bytes, want the row's %d", got, row)
		}
	})
}
