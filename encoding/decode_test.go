package encoding

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// decodeCases cover the column code in one doubling (n = 4, 7: 2f ≤ K) and
// in several (n = 10, 19, 100), small and odd symbol sizes.
var decodeCases = []struct {
	n, size int
}{
	{4, 0}, {4, 1}, {4, 1000}, {7, 961}, {10, 1}, {10, 5000}, {19, 12345}, {100, 70001},
}

func encodeRandom(t testing.TB, n, size int, seed uint64) (*Codec, *EncodedBlob, []byte) {
	t.Helper()
	c, err := New(n)
	if err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	enc, err := c.Encode(blob)
	if err != nil {
		t.Fatal(err)
	}
	return c, enc, blob
}

// pick returns count distinct indices of [0, n) chosen by rng, or the given
// fixed ones.
func pick(rng *rand.Rand, n, count int) []int {
	return rng.Perm(n)[:count]
}

func TestDecodeSubsets(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(fmt.Sprintf("n=%d/size=%d", tc.n, tc.size), func(t *testing.T) {
			c, enc, blob := encodeRandom(t, tc.n, tc.size, uint64(tc.n*7919+tc.size))
			p := c.Params()
			rng := rand.New(rand.NewPCG(uint64(tc.size), 2))
			// Subsets: systematic only, the last ones (most missing), random.
			primarySets := [][]int{seq(0, p.Rows), seq(p.N-p.Rows, p.N)}
			secondarySets := [][]int{seq(0, p.Cols), seq(p.N-p.Cols, p.N)}
			for range 4 {
				primarySets = append(primarySets, pick(rng, p.N, p.Rows))
				secondarySets = append(secondarySets, pick(rng, p.N, p.Cols))
			}
			for _, set := range primarySets {
				checkDecode(t, c, enc, blob, Primary, set)
			}
			for _, set := range secondarySets {
				checkDecode(t, c, enc, blob, Secondary, set)
			}
			// One too few fails with ErrTooFewSymbols.
			for _, axis := range []Axis{Primary, Secondary} {
				need := p.Rows
				if axis == Secondary {
					need = p.Cols
				}
				sl := slivers(enc, axis, seq(0, need-1))
				if _, err := c.Decode(enc.Metadata, sl, CheckDefault); !errors.Is(err, ErrTooFewSymbols) {
					t.Errorf("%s decode from %d slivers: err = %v, want ErrTooFewSymbols", axis, need-1, err)
				}
			}
		})
	}
}

func seq(a, b int) []int {
	var s []int
	for i := a; i < b; i++ {
		s = append(s, i)
	}
	return s
}

func slivers(enc *EncodedBlob, axis Axis, idx []int) []Sliver {
	var out []Sliver
	for _, i := range idx {
		if axis == Primary {
			out = append(out, enc.Primary[i])
		} else {
			out = append(out, enc.Secondary[i])
		}
	}
	return out
}

func checkDecode(t *testing.T, c *Codec, enc *EncodedBlob, blob []byte, axis Axis, set []int) {
	t.Helper()
	for _, check := range []ConsistencyCheck{CheckDefault, CheckStrict, CheckNone} {
		got, err := c.Decode(enc.Metadata, slivers(enc, axis, set), check)
		if err != nil {
			t.Fatalf("%s decode from %v (check %d): %v", axis, set, check, err)
		}
		if !bytes.Equal(got, blob) {
			t.Fatalf("%s decode from %v (check %d): %d bytes differ from the blob", axis, set, check, len(got))
		}
	}
}

func TestVerifySliver(t *testing.T) {
	c, enc, _ := encodeRandom(t, 10, 3000, 1)
	for i := range 10 {
		for _, sl := range []Sliver{enc.Primary[i], enc.Secondary[i]} {
			if err := c.VerifySliver(enc.Metadata, &sl); err != nil {
				t.Fatalf("%s sliver %d: %v", sl.Axis, i, err)
			}
		}
	}
	bad := []struct {
		name string
		mod  func(s *Sliver)
	}{
		{"flipped bit", func(s *Sliver) { s.Data[len(s.Data)/2] ^= 1 }},
		{"other index", func(s *Sliver) { s.Index = (s.Index + 1) % 10 }},
		{"index out of range", func(s *Sliver) { s.Index = 10 }},
		{"short", func(s *Sliver) { s.Data = s.Data[:len(s.Data)-int(s.SymbolSize)] }},
		{"symbol size", func(s *Sliver) { s.SymbolSize += 2 }},
		{"other axis", func(s *Sliver) { s.Axis = s.Axis.Other() }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			sl := enc.Primary[3]
			sl.Data = bytes.Clone(sl.Data)
			tc.mod(&sl)
			if err := c.VerifySliver(enc.Metadata, &sl); !errors.Is(err, ErrInvalidSliver) {
				t.Fatalf("err = %v, want ErrInvalidSliver", err)
			}
		})
	}
}

func TestRecoverSliver(t *testing.T) {
	for _, tc := range decodeCases {
		if tc.n > 19 {
			continue
		}
		t.Run(fmt.Sprintf("n=%d/size=%d", tc.n, tc.size), func(t *testing.T) {
			c, enc, _ := encodeRandom(t, tc.n, tc.size, 3)
			p := c.Params()
			rng := rand.New(rand.NewPCG(4, 5))
			for _, axis := range []Axis{Primary, Secondary} {
				for _, target := range []int{0, p.N - 1, rng.IntN(p.N)} {
					need := p.Cols
					if axis == Secondary {
						need = p.Rows
					}
					// Symbols from a random set of helpers of the other axis.
					var syms []RecoverySymbol
					for _, src := range pick(rng, p.N, need) {
						held := enc.Primary[src]
						if axis == Primary {
							held = enc.Secondary[src]
						}
						got, err := c.RecoverySymbols(enc.Metadata, &held, []int{target})
						if err != nil {
							t.Fatal(err)
						}
						syms = append(syms, got...)
					}
					sl, err := c.RecoverSliver(enc.Metadata, axis, target, syms)
					if err != nil {
						t.Fatalf("%s %d: %v", axis, target, err)
					}
					want := enc.Primary[target]
					if axis == Secondary {
						want = enc.Secondary[target]
					}
					if !bytes.Equal(sl.Data, want.Data) || sl.Index != want.Index || sl.SymbolSize != want.SymbolSize {
						t.Fatalf("%s %d: rebuilt sliver differs", axis, target)
					}
					// A corrupted symbol is rejected; with one symbol short the
					// rebuild fails and names the rejection.
					syms[0].Data = bytes.Clone(syms[0].Data)
					syms[0].Data[0] ^= 0x80
					if err := c.VerifyRecoverySymbol(enc.Metadata, &syms[0]); !errors.Is(err, ErrInvalidProof) {
						t.Fatalf("corrupted symbol: err = %v, want ErrInvalidProof", err)
					}
					if _, err := c.RecoverSliver(enc.Metadata, axis, target, syms); !errors.Is(err, ErrTooFewSymbols) {
						t.Fatalf("with a corrupted symbol: err = %v, want ErrTooFewSymbols", err)
					}
				}
			}
		})
	}
}

// TestInconsistentBlob models a writer that encodes a blob wrongly: one
// parity primary sliver is replaced by garbage and the metadata (and so the
// blob ID) commits to the garbage. Every sliver verifies against that
// metadata, yet reading through it must fail, never return data.
func TestInconsistentBlob(t *testing.T) {
	c, enc, blob := encodeRandom(t, 10, 2000, 9)
	p := c.Params()
	bad := p.N - 1 // a parity row
	garbage := enc.Primary[bad]
	garbage.Data = bytes.Clone(garbage.Data)
	for i := range garbage.Data {
		garbage.Data[i] ^= byte(i*31 + 7)
	}
	var ws workerScratch
	root, err := c.sliverRoot(&ws, &garbage)
	if err != nil {
		t.Fatal(err)
	}
	md := *enc.Metadata
	md.Hashes = append([]SliverPairHashes(nil), md.Hashes...)
	md.Hashes[bad].Primary = root
	if err := c.VerifySliver(&md, &garbage); err != nil {
		t.Fatalf("the garbage sliver should verify against the forged metadata: %v", err)
	}
	// Decoding through the garbage sliver: the default check catches it.
	set := append(seq(1, p.Rows), bad)
	sl := slivers(enc, Primary, set[:len(set)-1])
	sl = append(sl, garbage)
	for _, check := range []ConsistencyCheck{CheckDefault, CheckStrict} {
		got, err := c.Decode(&md, sl, check)
		if !errors.Is(err, ErrInconsistentBlob) || got != nil {
			t.Fatalf("check %d: got %d bytes, err = %v; want ErrInconsistentBlob and no data", check, len(got), err)
		}
	}
	// From the systematic slivers the default check passes (the data is what
	// they commit to); the strict check sees the whole encoding is wrong.
	sys := slivers(enc, Primary, seq(0, p.Rows))
	if got, err := c.Decode(&md, sys, CheckDefault); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("default check from systematic slivers: %v", err)
	}
	if _, err := c.Decode(&md, sys, CheckStrict); !errors.Is(err, ErrInconsistentBlob) {
		t.Fatalf("strict check from systematic slivers: err = %v, want ErrInconsistentBlob", err)
	}
	// Without a check, decoding through the garbage sliver returns data that
	// is not the blob: what a reader who skips the check risks.
	if got, err := c.Decode(&md, sl, CheckNone); err != nil || bytes.Equal(got, blob) {
		t.Fatalf("no check through the garbage sliver: err = %v, equal to the blob = %v; want other bytes", err, bytes.Equal(got, blob))
	}
}

// TestColumnPoints pins the derivation in rs.go: the column code's known
// index q is the value of one polynomial of degree < K at point q⊕K.
// Interpolating from any K values must reproduce klauspost's encoding.
func TestColumnPoints(t *testing.T) {
	for _, n := range []int{4, 10, 19, 100, 1000} {
		p, _ := NewParams(n)
		col, err := newColCode(p)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(n), 0))
		const size = 64
		data := make([][]byte, p.Rows)
		for r := range data {
			data[r] = make([]byte, size)
			for i := range data[r] {
				data[r][i] = byte(rng.Uint32())
			}
		}
		parity := make([][]byte, p.N-p.Rows)
		for i := range parity {
			parity[i] = make([]byte, size)
		}
		scratch := make([][]byte, col.scratchShards())
		for i := range scratch {
			scratch[i] = make([]byte, size)
		}
		if err := col.encode(data, parity, scratch, nil); err != nil {
			t.Fatal(err)
		}
		all := append(append([][]byte{}, data...), parity...)
		// Interpolate every data position from the last rows positions.
		present := make([]bool, p.N)
		src := seq(p.N-p.Rows, p.N)
		for _, r := range src {
			present[r] = true
		}
		coefs := col.weights(src, seq(0, p.Rows))
		for ti := range p.Rows {
			pl := &colPlan{c: col, src: src, targets: seq(0, p.Rows), coefs: coefs}
			out := make([]byte, size)
			pl.interpolate(ti, all, out)
			if !bytes.Equal(out, data[ti]) {
				t.Fatalf("n=%d: interpolated position %d differs from the data", n, ti)
			}
		}
	}
}
