package encoding

import (
	"bytes"
	"fmt"
	"testing"
)

// TestRecoveryBandwidth measures what rebuilding one lost sliver pair costs
// in bytes on the wire, divided by the pair's size: the promise of RS2
// (Walrus's two-dimensional code) is close to 1×, where a one-dimensional
// Reed-Solomon code must fetch k shards (the whole blob) to rebuild one.
//
// The cheapest rebuild takes cols recovery symbols for the primary sliver
// and rows for the secondary one, each from a different holder, each with
// its Merkle proof: (rows + cols) symbols for a pair of (rows + cols)
// symbols, so the ratio is 1 plus the proof and header per symbol over the
// symbol size. The test rebuilds a real pair from real symbols (BCS as on
// the wire) at n = 100 and n = 1000, and asserts the ratio for those blobs
// and, from the measured per-symbol overhead, for a blob of the maximum
// size. Run it with -v to see the table.
func TestRecoveryBandwidth(t *testing.T) {
	cases := []struct {
		n, size int
		bound   float64 // on the measured ratio
	}{
		{100, 1 << 20, 1.6},   // S = 462: 7-node proofs (224 B) weigh half a symbol
		{100, 8 << 20, 1.07},  // S = 3,684
		{1000, 4 << 20, 18},   // S = 20: small blobs pay mostly proofs at n = 1000
		{1000, 32 << 20, 3.3}, // S = 152
	}
	switch {
	case raceTest:
		cases = cases[:2] // an encode at n = 1000 takes 14 s under -race
	case testing.Short():
		cases = cases[:3]
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("n=%d/size=%d", tc.n, tc.size), func(t *testing.T) {
			c, enc, _ := encodeRandom(t, tc.n, tc.size, 7)
			p := c.Params()
			pair := p.N / 3
			prim, sec := pair, p.N-1-pair
			// The rebuilding node's peers: the first cols holders of
			// secondary slivers, the first rows holders of primary ones.
			var wire int
			rebuild := func(axis Axis, index int) *Sliver {
				var syms []RecoverySymbol
				for src := range p.ProofSymbols(axis) {
					held := enc.Secondary[src]
					if axis == Secondary {
						held = enc.Primary[src]
					}
					s, err := c.RecoverySymbols(enc.Metadata, &held, []int{index})
					if err != nil {
						t.Fatal(err)
					}
					wire += len(s[0].MarshalBCS())
					syms = append(syms, s...)
				}
				sl, err := c.RecoverSliver(enc.Metadata, axis, index, syms)
				if err != nil {
					t.Fatal(err)
				}
				return sl
			}
			ps, ss := rebuild(Primary, prim), rebuild(Secondary, sec)
			if !bytes.Equal(ps.Data, enc.Primary[prim].Data) || !bytes.Equal(ss.Data, enc.Secondary[sec].Data) {
				t.Fatal("rebuilt pair differs")
			}
			size := len(ps.Data) + len(ss.Data)
			s := int(ps.SymbolSize)
			ratio := float64(wire) / float64(size)
			symbols := p.Rows + p.Cols
			overhead := float64(wire-size) / float64(symbols) // bytes per symbol besides its data
			// At the maximum symbol size the same proofs and headers (2
			// more bytes of ULEB128 length) cost:
			maxRatio := 1 + (overhead+2)/MaxSymbolSize
			oneD := float64(p.Rows*p.Cols) / float64(symbols) // 1-D RS: k shards of the blob's size / (rows+cols) per shard
			t.Logf("n=%d blob=%d B S=%d: pair %d B, wire %d B (%d symbols, %.0f B overhead each): %.3f×; at S=%d: %.4f×; 1-D RS: %.1f×",
				p.N, tc.size, s, size, wire, symbols, overhead, ratio, MaxSymbolSize, maxRatio, oneD)
			if ratio < 1 || ratio > tc.bound {
				t.Errorf("ratio %.3f outside [1, %.2f]", ratio, tc.bound)
			}
			if maxRatio > 1.01 {
				t.Errorf("at the maximum symbol size the ratio is %.4f, over 1.01", maxRatio)
			}
		})
	}
}
