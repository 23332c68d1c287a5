package store

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// testLogger returns a logger that writes warnings and errors to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// openTest opens a store in a fresh directory, without WAL syncs unless the
// test asks (the tests that need durability open their own), and closes it at
// the end of the test.
func openTest(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	return vlogOpen(t, dir, opts), dir
}

func newTestStore(t testing.TB) *Store {
	s, _ := openTest(t, Options{DisableSync: true})
	return s
}

var (
	codecsMu sync.Mutex
	codecs   = map[int]*encoding.Codec{}
)

// encodeBlob encodes size deterministic bytes (from seed) for n shards with the
// real codec.
func encodeBlob(t testing.TB, n, size int, seed uint64) *encoding.EncodedBlob {
	t.Helper()
	codecsMu.Lock()
	c := codecs[n]
	if c == nil {
		var err error
		if c, err = encoding.New(n); err != nil {
			codecsMu.Unlock()
			t.Fatalf("encoding.New(%d): %v", n, err)
		}
		codecs[n] = c
	}
	codecsMu.Unlock()
	blob := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	enc, err := c.Encode(blob)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return enc
}

// shardPairs returns the pairs of enc for the given shards.
func shardPairs(enc *encoding.EncodedBlob, shards ...uint16) []ShardPair {
	n := len(enc.Primary)
	out := make([]ShardPair, len(shards))
	for i, sh := range shards {
		out[i] = ShardPair{Shard: sh, Pair: enc.Pair(enc.BlobID.PairForShard(int(sh), n))}
	}
	return out
}

func sliverEqual(a, b encoding.Sliver) bool {
	return a.Axis == b.Axis && a.Index == b.Index && a.SymbolSize == b.SymbolSize && bytes.Equal(a.Data, b.Data)
}

// blobID returns a blob ID made of b repeated.
func blobID(b byte) encoding.BlobID {
	var id encoding.BlobID
	for i := range id {
		id[i] = b
	}
	return id
}

var bg = context.Background()
