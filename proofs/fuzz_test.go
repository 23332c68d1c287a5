package proofs

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// FuzzUnmarshalChallenge: whatever decodes re-encodes to the same bytes;
// every failure is ErrMalformed.
func FuzzUnmarshalChallenge(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct{ n, blobs int }{{4, 2}, {7, 10}, {10, 300}} {
		x := mustIndex(f, seedOf(rng), 3, tc.n, randomIDs(rng, tc.blobs))
		f.Add(mustChallenge(f, x, seedOf(rng), tc.n-1).MarshalBCS())
	}
	f.Add(make([]byte, 41))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalChallenge(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(c.MarshalBCS(), b) {
			t.Fatal("round trip differs")
		}
	})
}

// FuzzUnmarshalResponse: under a shape taken from the input, whatever
// decodes re-encodes to the same bytes and fits the shape's bound, and every
// failure is ErrMalformed.
func FuzzUnmarshalResponse(f *testing.F) {
	codec, src := newNetwork(f, 4, 3, 300, 1)
	ch, err := Derive([32]byte{1}, 1, 4, [32]byte{2}, 0, slices.Values(src.ids))
	if err != nil {
		f.Fatal(err)
	}
	resp, err := NewProver(codec, src, nil).Prove(context.Background(), ch)
	if err != nil {
		f.Fatal(err)
	}
	sizes := symbolSizes(resp)
	// The seed's shape is (count, symbol size of all, proof length).
	f.Add(uint8(len(sizes)), uint16(sizes[0]), uint8(ProofLen(4)), resp.MarshalBCS())
	resp.Answers[1] = Answer{Released: true}
	f.Add(uint8(len(sizes)), uint16(sizes[0]), uint8(ProofLen(4)), resp.MarshalBCS())
	f.Fuzz(func(t *testing.T, count uint8, size uint16, proofLen uint8, b []byte) {
		shape := Shape{SymbolSizes: make([]int, count%16), ProofLen: int(proofLen % (encoding.MaxProofLen + 1))}
		for i := range shape.SymbolSizes {
			// Vary the sizes within the response, as blobs differ.
			shape.SymbolSizes[i] = 2 * (1 + (int(size)+i*int(proofLen))%(encoding.MaxSymbolSize/2))
		}
		r, err := UnmarshalResponse(b, shape)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		out := r.MarshalBCS()
		if !bytes.Equal(out, b) || len(out) != r.BCSSize() || len(out) > shape.MaxSize() {
			t.Fatal("round trip differs or exceeds the shape's bound")
		}
	})
}

// FuzzVerify: a response of any bytes to a real challenge never panics the
// verifier, is either accepted or a verdict (ErrFailed), and is accepted
// only if it is the honest response (symbols are determined by the blob).
func FuzzVerify(f *testing.F) {
	codec, src := newNetwork(f, 4, 3, 300, 2)
	x := mustIndex(f, [32]byte{3}, 2, 4, src.ids)
	ch := mustChallenge(f, x, [32]byte{4}, 1)
	resp, err := NewProver(codec, src, nil).Prove(context.Background(), ch)
	if err != nil {
		f.Fatal(err)
	}
	honest := resp.MarshalBCS()
	v := mustVerifier(f, 4, src, nil)
	f.Add(honest)
	f.Add(honest[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		err := v.Verify(context.Background(), ch, bytes.NewReader(b))
		switch {
		case err == nil:
			if !bytes.Equal(b[:len(honest)], honest) {
				t.Fatal("a response other than the honest one verifies")
			}
		case !errors.Is(err, ErrFailed):
			t.Fatalf("error %v is not a verdict", err)
		}
	})
}
