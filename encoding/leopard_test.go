package encoding

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// TestLeopardMatchesKlauspost compares the pure-Go encoder with klauspost's
// Leopard GF(2^16) code, shard for shard, for the row and column codes' shapes
// and for edges of the FFT (k below, at and above m; m = 1, 2, 4).
func TestLeopardMatchesKlauspost(t *testing.T) {
	shapes := [][2]int{{1, 1}, {2, 1}, {3, 1}, {2, 2}, {3, 2}, {5, 3}, {4, 4}, {7, 4}, {9, 4}, {8, 8}, {13, 7}, {100, 3}}
	for _, n := range []int{4, 7, 10, 19, 100, 301, 1000} {
		p, _ := NewParams(n)
		shapes = append(shapes, [2]int{p.Cols, p.F})
		col, _ := newColCode(p)
		shapes = append(shapes, [2]int{col.first.k, col.first.m})
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var scratch leoScratch
	for _, sh := range shapes {
		k, m := sh[0], sh[1]
		for _, size := range []int{64, 192} {
			t.Run(fmt.Sprintf("k=%d/m=%d/size=%d", k, m, size), func(t *testing.T) {
				enc, err := reedsolomon.New(k, m, reedsolomon.WithLeopardGF16(true))
				if err != nil {
					t.Fatal(err)
				}
				want := make([][]byte, k+m)
				got := make([][]byte, k+m)
				for i := range want {
					want[i] = make([]byte, size)
					got[i] = make([]byte, size)
					if i < k {
						for j := range want[i] {
							want[i][j] = byte(rng.Uint32())
						}
						// Zero elements take the multiply's shortcut.
						want[i][rng.IntN(size)] = 0
						copy(got[i], want[i])
					} else {
						// Parity must not depend on what it held before.
						for j := range got[i] {
							got[i][j] = byte(rng.Uint32())
						}
					}
				}
				if err := enc.Encode(want); err != nil {
					t.Fatal(err)
				}
				leoEncode(k, m, got, &scratch)
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("shard %d differs", i)
					}
				}
			})
		}
	}
}

// TestSmallRSBudget checks the choice between the encoders: the pure-Go one
// only while klauspost's tables are not built and the budget lasts.
func TestSmallRSBudget(t *testing.T) {
	ready, left := klauspostReady.Load(), smallLeft.Load()
	defer func() { klauspostReady.Store(ready); smallLeft.Store(left) }()

	klauspostReady.Store(false)
	smallLeft.Store(100)
	if !smallRS(60) {
		t.Fatal("work within the budget did not use the pure-Go encoder")
	}
	if smallRS(60) {
		t.Fatal("work beyond what is left of the budget used the pure-Go encoder")
	}
	smallLeft.Store(100)
	klauspostReady.Store(true)
	if smallRS(1) {
		t.Fatal("the pure-Go encoder was chosen after klauspost's tables were built")
	}
}

// doubling is the column code by its definition (the top of rs.go): the
// rows data symbols and K−rows zeros, encoded (M, M) while the known values
// fall short of K+2f, with klauspost's Encode. It returns the parity
// positions rows..n−1.
func doubling(t *testing.T, c *colCode, data [][]byte) [][]byte {
	t.Helper()
	size := len(data[0])
	known := append([][]byte{}, data...)
	for len(known) < c.k {
		known = append(known, make([]byte, size))
	}
	for len(known) < c.k+c.n-c.rows {
		m := len(known)
		enc, err := reedsolomon.New(m, m, reedsolomon.WithLeopardGF16(true))
		if err != nil {
			t.Fatal(err)
		}
		sh := append([][]byte{}, known...)
		for range m {
			sh = append(sh, make([]byte, size))
		}
		if err := enc.Encode(sh); err != nil {
			t.Fatal(err)
		}
		known = append(known, sh[m:]...)
	}
	parity := make([][]byte, c.n-c.rows)
	for r := c.rows; r < c.n; r++ {
		parity[r-c.rows] = known[c.knownIndex(r)]
	}
	return parity
}

// TestColCodeMatchesDoubling checks colCode.encode, on both kernels, against
// the doubling it shortcuts, for shapes with and without values past 2K and
// for shards longer than klauspost's chunk.
func TestColCodeMatchesDoubling(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	tops, direct := 0, 0
	for _, n := range []int{4, 7, 10, 13, 19, 25, 40, 100, 127, 301, 1000} {
		p, err := NewParams(n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := newColCode(p)
		if err != nil {
			t.Fatal(err)
		}
		if c.top > 0 {
			tops++
		}
		if c.directTop {
			direct++
		}
		sizes := []int{64, 192}
		if n == 100 {
			sizes = append(sizes, klauspostChunk+128)
		}
		for _, size := range sizes {
			data := make([][]byte, p.Rows)
			for i := range data {
				data[i] = make([]byte, size)
				for j := range data[i] {
					data[i][j] = byte(rng.Uint32())
				}
			}
			want := doubling(t, c, data)
			for _, small := range []*leoScratch{nil, {}} {
				t.Run(fmt.Sprintf("n=%d/size=%d/pure=%v", n, size, small != nil), func(t *testing.T) {
					parity := make([][]byte, p.N-p.Rows)
					for i := range parity {
						parity[i] = make([]byte, size)
						for j := range parity[i] { // what it held must not matter
							parity[i][j] = byte(rng.Uint32())
						}
					}
					scratch := make([][]byte, c.scratchShards())
					for i := range scratch {
						scratch[i] = make([]byte, size)
					}
					if err := c.encode(data, parity, scratch, small); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if !bytes.Equal(parity[i], want[i]) {
							t.Fatalf("position %d (known %d) differs", p.Rows+i, c.knownIndex(p.Rows+i))
						}
					}
				})
			}
		}
	}
	if tops == 0 || direct == 0 || direct == tops {
		t.Fatalf("%d shapes have values past 2K, %d of them computed directly: want some of each", tops, direct)
	}
}

// TestRowTailMatchesLeopard checks the row code's encode with a tail
// multiplied in directly (rowTail) against klauspost's Leopard (cols, f)
// code, for shapes with tails of 1 to 10 shards, over shards shorter and
// longer than tailChunk.
func TestRowTailMatchesLeopard(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{7, 14, 17, 30, 56, 100, 106, 203, 782} {
		p, err := NewParams(n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := newRowCode(p)
		if err != nil {
			t.Fatal(err)
		}
		if c.tail == 0 {
			t.Fatalf("n = %d: no tail; the test wants shapes with one", n)
		}
		for _, size := range []int{64, 192, tailChunk + 128} {
			t.Run(fmt.Sprintf("n=%d/tail=%d/size=%d", n, c.tail, size), func(t *testing.T) {
				enc, err := reedsolomon.New(p.Cols, p.F, reedsolomon.WithLeopardGF16(true))
				if err != nil {
					t.Fatal(err)
				}
				want := make([][]byte, n)
				got := make([][]byte, n)
				for i := range want {
					want[i] = make([]byte, size)
					got[i] = make([]byte, size)
					for j := range got[i] {
						got[i][j] = byte(rng.Uint32()) // parity must not depend on it
					}
					if i < p.Cols {
						copy(want[i], got[i])
					}
				}
				if err := enc.Encode(want); err != nil {
					t.Fatal(err)
				}
				if err := c.encode(got, nil); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("shard %d of %d differs", i, n)
					}
				}
			})
		}
	}
}
