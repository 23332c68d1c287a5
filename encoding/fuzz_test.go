package encoding

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzUnmarshalMetadata: whatever decodes re-encodes to the same bytes.
func FuzzUnmarshalMetadata(f *testing.F) {
	for _, n := range []int{4, 10} {
		_, enc, _ := encodeRandom(f, n, 100, 1)
		f.Add(enc.Metadata.MarshalBCS())
	}
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := UnmarshalMetadata(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(md.MarshalBCS(), b) {
			t.Fatal("round trip differs")
		}
	})
}

// FuzzUnmarshalSliver: whatever decodes re-encodes to the same bytes, and
// verification against real metadata never panics and only accepts the
// original slivers.
func FuzzUnmarshalSliver(f *testing.F) {
	c, enc, _ := encodeRandom(f, 7, 300, 2)
	for i := range 7 {
		f.Add(uint8(Primary), enc.Primary[i].MarshalBCS())
		f.Add(uint8(Secondary), enc.Secondary[i].MarshalBCS())
	}
	f.Fuzz(func(t *testing.T, axis uint8, b []byte) {
		ax := Axis(axis & 1)
		s, err := UnmarshalSliver(ax, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(s.MarshalBCS(), b) {
			t.Fatal("round trip differs")
		}
		if c.VerifySliver(enc.Metadata, &s) == nil {
			want := enc.Primary[s.Index]
			if ax == Secondary {
				want = enc.Secondary[s.Index]
			}
			if !bytes.Equal(want.Data, s.Data) {
				t.Fatal("a sliver other than the encoded one verifies")
			}
		}
	})
}

// FuzzUnmarshalRecoverySymbol: round trip, and only genuine symbols verify.
func FuzzUnmarshalRecoverySymbol(f *testing.F) {
	c, enc, _ := encodeRandom(f, 7, 300, 3)
	syms, err := c.RecoverySymbols(enc.Metadata, &enc.Secondary[2], []int{0, 4})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range syms {
		f.Add(s.MarshalBCS())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalRecoverySymbol(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.MarshalBCS(), b) {
			t.Fatal("round trip differs")
		}
		if c.VerifyRecoverySymbol(enc.Metadata, &r) == nil {
			genuine, err := c.RecoverySymbols(enc.Metadata, sliverOf(enc, r.SourceAxis, int(r.SourceIndex)), []int{int(r.TargetIndex)})
			if err != nil || !bytes.Equal(genuine[0].Data, r.Data) {
				t.Fatal("a forged recovery symbol verifies")
			}
		}
	})
}

func sliverOf(enc *EncodedBlob, axis Axis, i int) *Sliver {
	if axis == Primary {
		return &enc.Primary[i]
	}
	return &enc.Secondary[i]
}

// FuzzMerkleProof: flipping any bit of the leaf, a proof node or the index
// never verifies.
func FuzzMerkleProof(f *testing.F) {
	f.Add(uint16(10), uint16(3), uint16(0), []byte("leaf"))
	f.Add(uint16(1), uint16(0), uint16(5), []byte{})
	f.Add(uint16(1000), uint16(999), uint16(300), []byte("x"))
	f.Fuzz(func(t *testing.T, n, i, bit uint16, data []byte) {
		count := int(n%2000) + 1
		idx := int(i) % count
		leaves := make([]Hash, count)
		for k := range leaves {
			leaves[k] = LeafHash([]byte{byte(k), byte(k >> 8)})
		}
		leaves[idx] = LeafHash(data)
		tree := NewMerkleTree(leaves)
		proof, _ := tree.Proof(idx)
		root := tree.Root()
		leaf := LeafHash(data)
		if err := proof.Verify(root, leaf, idx, count); err != nil {
			t.Fatalf("genuine proof fails: %v", err)
		}
		total := 256 + 256*len(proof)
		b := int(bit) % total
		bad := append(MerkleProof(nil), proof...)
		badLeaf := leaf
		if b < 256 {
			badLeaf[b/8] ^= 1 << (b % 8)
		} else {
			b -= 256
			bad[b/256][b%256/8] ^= 1 << (b % 8)
		}
		if err := bad.Verify(root, badLeaf, idx, count); err == nil {
			t.Fatal("a flipped bit verifies")
		}
		if count > 1 {
			if err := proof.Verify(root, leaf, (idx+1)%count, count); err == nil && leaves[(idx+1)%count] != leaf {
				t.Fatal("the proof verifies at another index")
			}
		}
	})
}

// FuzzDecodeSubset: any sufficient subset of slivers decodes to the blob.
func FuzzDecodeSubset(f *testing.F) {
	f.Add(uint8(0), uint16(100), uint64(1), false)
	f.Add(uint8(2), uint16(5000), uint64(2), true)
	f.Add(uint8(3), uint16(1), uint64(3), false)
	ns := []int{4, 7, 10, 19}
	codecs := make([]*Codec, len(ns))
	for i, n := range ns {
		codecs[i], _ = New(n)
	}
	f.Fuzz(func(t *testing.T, which uint8, size uint16, seed uint64, secondary bool) {
		c := codecs[int(which)%len(ns)]
		p := c.Params()
		rng := rand.New(rand.NewPCG(seed, 0))
		blob := make([]byte, int(size)%20000)
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		enc, err := c.Encode(blob)
		if err != nil {
			t.Fatal(err)
		}
		axis, need := Primary, p.Rows
		if secondary {
			axis, need = Secondary, p.Cols
		}
		set := rng.Perm(p.N)[:need+rng.IntN(p.N-need+1)]
		got, err := c.Decode(enc.Metadata, slivers(enc, axis, set), CheckDefault)
		if err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("n=%d %s decode from %v: %v", p.N, axis, set, err)
		}
	})
}
