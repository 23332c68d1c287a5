package encoding

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// TestSymbolsFromLeaves checks that the symbols a holder serves from a
// sliver's kept leaf hashes are exactly those RecoverySymbols computes from
// the whole sliver, proofs included, and that a wrong symbol, a wrong leaf,
// a parity target or a short list of leaves gives ErrInvalidSliver and no
// symbols.
func TestSymbolsFromLeaves(t *testing.T) {
	for _, tc := range []struct{ n, size int }{{10, 5000}, {100, 1 << 20}} {
		t.Run(fmt.Sprintf("n=%d", tc.n), func(t *testing.T) {
			c, enc, _ := encodeRandom(t, tc.n, tc.size, 3)
			p := c.Params()
			for _, axis := range []Axis{Primary, Secondary} {
				index := p.N / 2
				sl := sliverOf(enc, axis, index)
				leaves, err := c.VerifySliverLeaves(enc.Metadata, sl)
				if err != nil {
					t.Fatal(err)
				}
				if len(leaves) != p.N {
					t.Fatalf("%d leaves, want %d", len(leaves), p.N)
				}
				src := sl.NumSymbols()
				targets := []int{0, src / 2, src - 1}
				data := make([][]byte, len(targets))
				for i, x := range targets {
					data[i] = append([]byte(nil), sl.Symbol(x)...)
				}
				got, err := c.SymbolsFromLeaves(enc.Metadata, axis, index, leaves, targets, data)
				if err != nil {
					t.Fatal(err)
				}
				want, err := c.RecoverySymbols(enc.Metadata, sl, targets)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: symbols from leaves differ from RecoverySymbols", axis)
				}
				for i := range got {
					if err := c.VerifyRecoverySymbol(enc.Metadata, &got[i]); err != nil {
						t.Fatal(err)
					}
				}

				flipped := func() [][]byte {
					d := make([][]byte, len(data))
					for i := range data {
						d[i] = append([]byte(nil), data[i]...)
					}
					d[1][0] ^= 1
					return d
				}
				badLeaves := append([]Hash(nil), leaves...)
				badLeaves[p.N-1][5] ^= 1
				cases := []struct {
					name    string
					leaves  []Hash
					targets []int
					data    [][]byte
				}{
					{"flipped symbol", leaves, targets, flipped()},
					{"flipped parity leaf", badLeaves, targets, data},
					{"short leaves", leaves[:p.N-1], targets, data},
					{"parity target", leaves, []int{src}, [][]byte{data[0]}},
					{"short symbol", leaves, targets[:1], [][]byte{data[0][:len(data[0])-2]}},
					{"count mismatch", leaves, targets, data[:2]},
				}
				for _, bc := range cases {
					syms, err := c.SymbolsFromLeaves(enc.Metadata, axis, index, bc.leaves, bc.targets, bc.data)
					if !errors.Is(err, ErrInvalidSliver) || syms != nil {
						t.Errorf("%s %s: got %d symbols, %v; want ErrInvalidSliver", axis, bc.name, len(syms), err)
					}
				}
				// Another sliver's leaves do not prove this one.
				other, err := c.VerifySliverLeaves(enc.Metadata, sliverOf(enc, axis, index+1))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.SymbolsFromLeaves(enc.Metadata, axis, index, other, targets, data); !errors.Is(err, ErrInvalidSliver) {
					t.Errorf("another sliver's leaves: %v", err)
				}
			}
			// A sliver that does not match its hash has no leaves.
			bad := *sliverOf(enc, Primary, 1)
			bad.Data = append([]byte(nil), bad.Data...)
			bad.Data[0] ^= 1
			if l, err := c.VerifySliverLeaves(enc.Metadata, &bad); !errors.Is(err, ErrInvalidSliver) || l != nil {
				t.Errorf("VerifySliverLeaves of a damaged sliver: %d leaves, %v", len(l), err)
			}
		})
	}
}

// TestVerifyRecoverySymbols checks the batched verification against
// VerifyRecoverySymbol: 20 symbols of a primary sliver (more than a batch's
// lanes) all verify, and a flipped byte, a short symbol or an index out of
// range at position k is reported at k, with VerifyRecoverySymbol's error
// class.
func TestVerifyRecoverySymbols(t *testing.T) {
	c, enc, _ := encodeRandom(t, 100, 1<<20, 4)
	targets := make([]int, 20)
	for i := range targets {
		targets[i] = 3 * i
	}
	good, err := c.RecoverySymbols(enc.Metadata, &enc.Primary[7], targets)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := c.VerifyRecoverySymbols(enc.Metadata, good); k != -1 || err != nil {
		t.Fatalf("good symbols: %d, %v", k, err)
	}
	if k, err := c.VerifyRecoverySymbols(enc.Metadata, nil); k != -1 || err != nil {
		t.Fatalf("no symbols: %d, %v", k, err)
	}
	for _, tc := range []struct {
		name  string
		k     int
		spoil func(*RecoverySymbol)
	}{
		{"flipped byte", 0, func(s *RecoverySymbol) { s.Data[5] ^= 1 }},
		{"flipped byte, last lane", 7, func(s *RecoverySymbol) { s.Data[len(s.Data)-1] ^= 1 }},
		{"flipped byte, second batch", 13, func(s *RecoverySymbol) { s.Data[0] ^= 0x80 }},
		{"short", 19, func(s *RecoverySymbol) { s.Data = s.Data[:len(s.Data)-2] }},
		{"target out of range", 9, func(s *RecoverySymbol) { s.TargetIndex = 100 }},
		{"another target", 4, func(s *RecoverySymbol) { s.TargetIndex++ }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			syms := make([]RecoverySymbol, len(good))
			for i := range good {
				syms[i] = good[i]
				syms[i].Data = append([]byte(nil), good[i].Data...)
			}
			tc.spoil(&syms[tc.k])
			want := c.VerifyRecoverySymbol(enc.Metadata, &syms[tc.k])
			if want == nil {
				t.Fatal("VerifyRecoverySymbol accepts the spoiled symbol")
			}
			k, err := c.VerifyRecoverySymbols(enc.Metadata, syms)
			if k != tc.k || err == nil || err.Error() != want.Error() {
				t.Fatalf("got %d, %v; want %d, %v", k, err, tc.k, want)
			}
		})
	}
}
