package node_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/p2p"
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
