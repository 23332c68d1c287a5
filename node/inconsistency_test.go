package node_test

import (
	"errors"
	"testing"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/p2p"
)

// TestInconsistencyProofRefused: a node attests a blob ID invalid only for a
// proof that verifies against the metadata it stores, in its current
// epoch. Symbols of an honest blob, a short proof, another epoch and an
// unknown blob are each refused with a typed error, and the node stays
// healthy (the blob still reads back).
func TestInconsistencyProofRefused(t *testing.T) {
	e := newEnv(t, nettest.Options{Nodes: 4, Shards: 10})
	enc, _ := e.storeBlob(randomBytes(9_000, 5), 2, false)
	p := e.codec.Params()
	target := p.N - 1
	var syms []encoding.RecoverySymbol
	for i := range p.Rows {
		s, err := e.codec.RecoverySymbols(enc.Metadata, &enc.Primary[i], []int{target})
		if err != nil {
			t.Fatal(err)
		}
		syms = append(syms, s...)
	}
	honest := &encoding.InconsistencyProof{Axis: encoding.Secondary, Index: uint16(target), Symbols: syms}
	short := &encoding.InconsistencyProof{Axis: encoding.Secondary, Index: uint16(target), Symbols: syms[1:]}
	epoch := e.committee().Epoch
	for _, tc := range []struct {
		name  string
		id    encoding.BlobID
		epoch uint32
		pr    *encoding.InconsistencyProof
		want  error
	}{
		{"consistent blob", enc.BlobID, epoch, honest, p2p.ErrInvalid},
		{"short proof", enc.BlobID, epoch, short, p2p.ErrInvalid},
		{"other epoch", enc.BlobID, epoch + 1, honest, p2p.ErrInvalid},
		{"unknown blob", encoding.BlobID{7}, epoch, honest, p2p.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := e.p2p.PutInconsistencyProof(e.ctx, e.pid(1), tc.id, tc.epoch, tc.pr)
			if !errors.Is(err, tc.want) || a.Signature != nil {
				t.Fatalf("attestation %x, err = %v; want none and %v", a.Signature, err, tc.want)
			}
		})
	}
	e.readBack(enc)
}
