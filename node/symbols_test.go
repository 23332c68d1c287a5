package node_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// TestGetSymbols: a node serves symbols of the slivers it stores, each
// with a proof that verifies against the metadata (the sliver's own bytes at
// systematic positions, the expansion's past them), and refuses with a typed
// error what it does not hold or cannot be.
func TestGetSymbols(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	com := e.committee()
	enc, _ := e.register(randomBytes(20_000, 5), 2, false)
	e.send(enc, 0)
	own := e.slivers(com, enc, 0)[0] // a primary sliver of node 0
	other := e.slivers(com, enc, 1)[0]
	s := int(own.SymbolSize)
	n := com.NShards
	positions := []uint16{uint16(own.NumSymbols() - 1), 0, uint16(n - 1)}
	syms, err := e.p2p.GetSymbols(e.ctx, e.pid(0), enc.BlobID, own.Axis, own.Index, positions, s)
	if err != nil {
		t.Fatal(err)
	}
	for k := range syms {
		if err := e.codec.VerifyRecoverySymbol(enc.Metadata, &syms[k]); err != nil {
			t.Fatalf("symbol at %d: %v", positions[k], err)
		}
		if p := int(positions[k]); p < own.NumSymbols() && !bytes.Equal(syms[k].Data, own.Symbol(p)) {
			t.Fatalf("symbol at %d is not the sliver's", p)
		}
	}
	for _, tc := range []struct {
		name      string
		id        encoding.BlobID
		index     uint16
		positions []uint16
		want      error
	}{
		{"another node's sliver", enc.BlobID, other.Index, []uint16{0}, p2p.ErrNotAssigned},
		{"unknown blob", encoding.BlobID{0xee}, own.Index, []uint16{0}, p2p.ErrNotFound},
		{"sliver index past n", enc.BlobID, uint16(n), []uint16{0}, p2p.ErrInvalid},
		{"position past n", enc.BlobID, own.Index, []uint16{uint16(n)}, p2p.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.p2p.GetSymbols(e.ctx, e.pid(0), tc.id, own.Axis, tc.index, tc.positions, s); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestGetSymbolsFromLeaves: a sliver large enough has its leaf hashes kept
// when it is stored, and symbols of it, asked in increasing order or not
// (served from the leaves, or by expanding the sliver), are its own bytes
// with proofs that verify.
func TestGetSymbolsFromLeaves(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	com := e.committee()
	n := com.NShards
	enc, _ := e.register(randomBytes(64*n*32*n, 6), 2, false)
	e.send(enc, 0)
	own := e.slivers(com, enc, 0)[0]
	if own.Axis != encoding.Primary || len(own.Data) < 64*n*32 {
		t.Fatalf("test blob gives a %s sliver of %d bytes, want a primary one of at least %d", own.Axis, len(own.Data), 64*n*32)
	}
	s := int(own.SymbolSize)
	last := uint16(own.NumSymbols() - 1)
	// Increasing source positions come from the leaves; the others (out of
	// order, or past the sliver's symbols) from the expanded sliver.
	for _, tc := range []struct {
		positions  []uint16
		fromLeaves float64
	}{{[]uint16{0, 1, 2, last}, 4}, {[]uint16{last, 0}, 0}, {[]uint16{1, uint16(n - 1)}, 0}} {
		positions := tc.positions
		before := e.metric(0, "recovery_symbols_from_leaves_total")
		syms, err := e.p2p.GetSymbols(e.ctx, e.pid(0), enc.BlobID, own.Axis, own.Index, positions, s)
		if err != nil {
			t.Fatalf("positions %v: %v", positions, err)
		}
		for k := range syms {
			if err := e.codec.VerifyRecoverySymbol(enc.Metadata, &syms[k]); err != nil {
				t.Fatalf("positions %v, symbol at %d: %v", positions, positions[k], err)
			}
			if p := int(positions[k]); p < own.NumSymbols() && !bytes.Equal(syms[k].Data, own.Symbol(p)) {
				t.Fatalf("positions %v: symbol at %d is not the sliver's", positions, p)
			}
		}
		if got := e.metric(0, "recovery_symbols_from_leaves_total") - before; got != tc.fromLeaves {
			t.Errorf("positions %v: %v symbols served from leaves, want %v", positions, got, tc.fromLeaves)
		}
	}
	if err := e.nw.StopNode(0); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(e.nw.Nodes[0].Config.DataDir, "db"), store.Options{Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	shard := uint16(enc.BlobID.ShardForPair(int(own.Index), n))
	part, ok, err := st.SliverSymbols(e.ctx, shard, enc.BlobID, encoding.Primary, []int{0})
	if err != nil || !ok || len(part.Leaves) != n || !bytes.Equal(part.Symbols[0], own.Symbol(0)) {
		t.Fatalf("stored sliver: ok %v, %d leaves, %v; want its leaves kept", ok, len(part.Leaves), err)
	}
}

// TestRecoveredSliversKeepLeaves: a wiped node rebuilds its slivers from
// its peers' recovery symbols and keeps their leaf hashes, as intake does,
// so its range reads take symbols from them.
func TestRecoveredSliversKeepLeaves(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	n := e.committee().NShards
	// Large enough that both slivers go to the sliver log (an inline one keeps
	// no leaves).
	enc, _ := e.storeBlob(randomBytes(4*64*n*32*n, 7), 2, false)
	const wiped = 1
	if err := e.nw.WipeNode(e.ctx, wiped); err != nil {
		t.Fatal(err)
	}
	if err := e.nw.WaitHeld(e.ctx, enc.BlobID, wiped); err != nil {
		t.Fatal(err)
	}
	if err := e.nw.StopNode(wiped); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(e.nw.Nodes[wiped].Config.DataDir, "db"), store.Options{Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	shards, err := st.StoredShards(e.ctx, enc.BlobID)
	if err != nil || len(shards) == 0 {
		t.Fatalf("node %d holds shards %v of the blob (%v)", wiped, shards, err)
	}
	for _, shard := range shards {
		pair := enc.Pair(enc.BlobID.PairForShard(int(shard), n))
		for _, want := range []encoding.Sliver{pair.Primary, pair.Secondary} {
			part, ok, err := st.SliverSymbols(e.ctx, shard, enc.BlobID, want.Axis, []int{0})
			if err != nil || !ok || len(part.Leaves) != n || !bytes.Equal(part.Symbols[0], want.Symbol(0)) {
				t.Fatalf("shard %d, recovered %s sliver of %d bytes (n = %d): ok %v, %d leaves, %v; want its leaves kept", shard, want.Axis, len(want.Data), n, ok, len(part.Leaves), err)
			}
		}
	}
}
