package encoding

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// forgeSliver models the real attack: the writer alters one symbol of
// primary sliver bad and commits to the altered sliver in the metadata, so
// that every sliver verifies on its own. It returns the forged metadata and
// the altered sliver.
func forgeSliver(t testing.TB, c *Codec, enc *EncodedBlob, bad int) (*Metadata, Sliver) {
	t.Helper()
	sl := enc.Primary[bad]
	sl.Data = bytes.Clone(sl.Data)
	sl.Data[0] ^= 0x5a
	root, err := c.SliverRoot(&sl)
	if err != nil {
		t.Fatal(err)
	}
	md := *enc.Metadata
	md.Hashes = append([]SliverPairHashes(nil), md.Hashes...)
	md.Hashes[bad].Primary = root
	if err := c.VerifySliver(&md, &sl); err != nil {
		t.Fatalf("the altered sliver should verify against the forged metadata: %v", err)
	}
	return &md, sl
}

// symbolsFor returns the recovery symbols for target (axis, index) from
// every sliver of the other axis, primary sliver bad replaced by alt.
func symbolsFor(t testing.TB, c *Codec, md *Metadata, enc *EncodedBlob, axis Axis, index, bad int, alt Sliver) []RecoverySymbol {
	t.Helper()
	var out []RecoverySymbol
	for src := range c.Params().N {
		held := enc.Secondary[src]
		if axis == Secondary {
			held = enc.Primary[src]
			if src == bad {
				held = alt
			}
		}
		syms, err := c.RecoverySymbols(md, &held, []int{index})
		if err != nil {
			t.Fatalf("symbols of %s sliver %d: %v", held.Axis, src, err)
		}
		out = append(out, syms...)
	}
	return out
}

func TestInconsistencyProof(t *testing.T) {
	for _, n := range []int{10, 19} {
		c, enc, _ := encodeRandom(t, n, 3000, uint64(n))
		p := c.Params()
		cases := []struct {
			name  string
			bad   int // the altered primary sliver
			axis  Axis
			index int
		}{
			// Rebuilding the altered sliver from honest secondary slivers
			// gives the original sliver: not what the metadata commits to.
			{"primary/systematic", 1, Primary, 1},
			{"primary/parity", p.N - 1, Primary, p.N - 1},
			// Rebuilding the column through the altered symbol.
			{"secondary/through-altered", 1, Secondary, 0},
			// The first rows sources are honest and decode consistently;
			// the builder must swap in the altered row's symbol.
			{"secondary/swap", p.N - 1, Secondary, p.N - 1},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("n=%d/%s", n, tc.name), func(t *testing.T) {
				md, alt := forgeSliver(t, c, enc, tc.bad)
				syms := symbolsFor(t, c, md, enc, tc.axis, tc.index, tc.bad, alt)
				pr, err := c.NewInconsistencyProof(md, tc.axis, tc.index, syms)
				if err != nil {
					t.Fatalf("building the proof: %v", err)
				}
				if len(pr.Symbols) != p.ProofSymbols(tc.axis) || pr.Axis != tc.axis || int(pr.Index) != tc.index {
					t.Fatalf("proof of %d symbols for %s %d, want %d for %s %d", len(pr.Symbols), pr.Axis, pr.Index,
						p.ProofSymbols(tc.axis), tc.axis, tc.index)
				}
				if err := c.VerifyInconsistencyProof(md, pr); err != nil {
					t.Fatalf("verifying the proof: %v", err)
				}
				// The same proof against the honest metadata fails: the
				// symbols' proofs do not verify, or the sliver is consistent.
				if err := c.VerifyInconsistencyProof(enc.Metadata, pr); !errors.Is(err, ErrInvalidInconsistencyProof) {
					t.Fatalf("against the honest metadata: err = %v, want ErrInvalidInconsistencyProof", err)
				}
				for _, bad := range tamper(pr) {
					if err := c.VerifyInconsistencyProof(md, &bad.pr); !errors.Is(err, ErrInvalidInconsistencyProof) {
						t.Errorf("%s: err = %v, want ErrInvalidInconsistencyProof", bad.name, err)
					}
				}
			})
		}
		t.Run(fmt.Sprintf("n=%d/honest", n), func(t *testing.T) {
			for _, axis := range []Axis{Primary, Secondary} {
				syms := symbolsFor(t, c, enc.Metadata, enc, axis, 2, -1, Sliver{})
				if _, err := c.NewInconsistencyProof(enc.Metadata, axis, 2, syms); !errors.Is(err, ErrInvalidInconsistencyProof) {
					t.Fatalf("%s: a proof from an honest encoding: err = %v, want ErrInvalidInconsistencyProof", axis, err)
				}
				pr := &InconsistencyProof{Axis: axis, Index: 2, Symbols: syms[:p.ProofSymbols(axis)]}
				if err := c.VerifyInconsistencyProof(enc.Metadata, pr); !errors.Is(err, ErrInvalidInconsistencyProof) {
					t.Fatalf("%s: verifying honest symbols: err = %v, want ErrInvalidInconsistencyProof", axis, err)
				}
			}
		})
	}
}

type badProof struct {
	name string
	pr   InconsistencyProof
}

// tamper returns broken variants of a valid proof.
func tamper(pr *InconsistencyProof) []badProof {
	mod := func(name string, f func(*InconsistencyProof)) badProof {
		c := *pr
		c.Symbols = append([]RecoverySymbol(nil), pr.Symbols...)
		f(&c)
		return badProof{name, c}
	}
	return []badProof{
		mod("one symbol short", func(p *InconsistencyProof) { p.Symbols = p.Symbols[1:] }),
		mod("one symbol more", func(p *InconsistencyProof) { p.Symbols = append(p.Symbols, p.Symbols[0]) }),
		mod("duplicate source", func(p *InconsistencyProof) { p.Symbols[1] = p.Symbols[0] }),
		mod("corrupted symbol", func(p *InconsistencyProof) {
			p.Symbols[0].Data = bytes.Clone(p.Symbols[0].Data)
			p.Symbols[0].Data[1] ^= 1
		}),
		mod("other target", func(p *InconsistencyProof) { p.Index ^= 1 }),
		mod("other axis", func(p *InconsistencyProof) { p.Axis = p.Axis.Other() }),
		mod("out of range", func(p *InconsistencyProof) { p.Index = MaxShards }),
	}
}

// BenchmarkVerifyInconsistencyProof times what a node spends on a proof it
// is sent (a secondary proof: rows symbols).
func BenchmarkVerifyInconsistencyProof(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			c, enc, _ := encodeRandom(b, n, 4<<20, 1)
			md, alt := forgeSliver(b, c, enc, c.Params().N-1)
			syms := symbolsFor(b, c, md, enc, Secondary, 0, c.Params().N-1, alt)
			pr, err := c.NewInconsistencyProof(md, Secondary, 0, syms)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := c.VerifyInconsistencyProof(md, pr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
