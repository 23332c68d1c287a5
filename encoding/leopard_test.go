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
		for _, l := range col.levels {
			shapes = append(shapes, [2]int{l.k, l.m})
		}
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
