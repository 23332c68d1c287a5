package encoding

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var benchShapes = []struct {
	n    int
	size int
	name string
}{
	{10, 1 << 10, "1KiB"}, {10, 1 << 20, "1MiB"},
	{100, 1 << 10, "1KiB"}, {100, 1 << 20, "1MiB"}, {100, 64 << 20, "64MiB"},
	{1000, 1 << 10, "1KiB"}, {1000, 1 << 20, "1MiB"}, {1000, 64 << 20, "64MiB"},
}

func benchBlob(size int) []byte {
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(0xabadc0de, uint64(size)))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// peakHeap samples the live heap while running fn and returns its maximum
// above the starting point.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

// BenchmarkEncode measures the whole encode: RS, layout and hashing. The
// peak-MB metric is the heap above the starting point (the blob excluded).
func BenchmarkEncode(b *testing.B) {
	for _, sh := range benchShapes {
		b.Run(fmt.Sprintf("n=%d/size=%s", sh.n, sh.name), func(b *testing.B) {
			c, err := New(sh.n)
			if err != nil {
				b.Fatal(err)
			}
			blob := benchBlob(sh.size)
			if _, err := c.Encode(blob); err != nil { // warm up: tables, pools
				b.Fatal(err)
			}
			b.SetBytes(int64(sh.size))
			b.ReportAllocs()
			b.ResetTimer()
			var peak uint64
			cpu0 := cpuTime()
			for range b.N {
				peak = max(peak, peakHeap(func() {
					if _, err := c.Encode(blob); err != nil {
						b.Fatal(err)
					}
				}))
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
		})
	}
}

// BenchmarkEncodeRawRS runs only klauspost's encodes for the same symbols
// and the same work split as BenchmarkEncode: no packing, no hashing, no
// sliver layout. BenchmarkEncode / this is what layout and hashing cost.
func BenchmarkEncodeRawRS(b *testing.B) {
	for _, sh := range benchShapes {
		b.Run(fmt.Sprintf("n=%d/size=%s", sh.n, sh.name), func(b *testing.B) {
			c, err := New(sh.n)
			if err != nil {
				b.Fatal(err)
			}
			p := c.Params()
			s, _ := p.SymbolSize(uint64(sh.size))
			run := func() {
				wc := c.stripe(c.col.span, s, p.Cols)
				err := c.parallel((p.Cols+wc-1)/wc, func(ws *workerScratch, u int) error {
					sz := newLayout(s, min(wc, p.Cols-u*wc)).size()
					shd := ws.shards(c.col.span, sz)
					return c.col.encode(shd[:p.Rows], shd[p.Rows:p.N], shd[p.N:c.col.span], nil)
				})
				if err != nil {
					b.Fatal(err)
				}
				g := c.stripe(p.N, s, p.N)
				err = c.parallel((p.N+g-1)/g, func(ws *workerScratch, u int) error {
					sz := newLayout(s, min(g, p.N-u*g)).size()
					return c.row.encode(ws.shards(p.N, sz), nil)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			run()
			b.SetBytes(int64(sh.size))
			b.ResetTimer()
			for range b.N {
				run()
			}
		})
	}
}

// BenchmarkDecode measures decoding: from the systematic slivers (a copy),
// from the slivers that leave the most to compute, each with the default
// consistency check.
func BenchmarkDecode(b *testing.B) {
	for _, sh := range benchShapes {
		if sh.size < 1<<20 {
			continue
		}
		c, err := New(sh.n)
		if err != nil {
			b.Fatal(err)
		}
		blob := benchBlob(sh.size)
		enc, err := c.Encode(blob)
		if err != nil {
			b.Fatal(err)
		}
		p := c.Params()
		cases := []struct {
			name string
			sl   []Sliver
		}{
			{"primary-systematic", slivers(enc, Primary, seq(0, p.Rows))},
			{"primary-last", slivers(enc, Primary, seq(p.N-p.Rows, p.N))},
			{"secondary-systematic", slivers(enc, Secondary, seq(0, p.Cols))},
			{"secondary-last", slivers(enc, Secondary, seq(p.N-p.Cols, p.N))},
		}
		for _, tc := range cases {
			b.Run(fmt.Sprintf("n=%d/size=%s/%s", sh.n, sh.name, tc.name), func(b *testing.B) {
				b.SetBytes(int64(sh.size))
				b.ReportAllocs()
				for range b.N {
					if _, err := c.Decode(enc.Metadata, tc.sl, CheckDefault); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRecoverSliver measures rebuilding one lost sliver from recovery
// symbols (their verification included) and producing one symbol.
func BenchmarkRecoverSliver(b *testing.B) {
	for _, n := range []int{100, 1000} {
		c, enc, _ := encodeRandom(b, n, 1<<20, 1)
		p := c.Params()
		for _, axis := range []Axis{Primary, Secondary} {
			need := p.Cols
			if axis == Secondary {
				need = p.Rows
			}
			var syms []RecoverySymbol
			for src := p.N - need; src < p.N; src++ {
				got, err := c.RecoverySymbols(enc.Metadata, sliverOf(enc, axis.Other(), src), []int{0})
				if err != nil {
					b.Fatal(err)
				}
				syms = append(syms, got...)
			}
			b.Run(fmt.Sprintf("n=%d/size=1MiB/rebuild-%s", n, axis), func(b *testing.B) {
				for range b.N {
					if _, err := c.RecoverSliver(enc.Metadata, axis, 0, syms); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("n=%d/size=1MiB/symbol-from-%s", n, axis.Other()), func(b *testing.B) {
				for range b.N {
					if _, err := c.RecoverySymbols(enc.Metadata, sliverOf(enc, axis.Other(), 1), []int{0}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerifySliver measures the check a storage node runs on every
// sliver it is sent (and a reader on every sliver it gets): re-expanding the
// sliver to its full row or column, hashing its n symbols and their Merkle
// tree, against the metadata. Throughput is in sliver bytes.
func BenchmarkVerifySliver(b *testing.B) {
	for _, sh := range []struct {
		n    int
		size int
		name string
	}{{100, 1 << 20, "1MiB"}, {100, 64 << 20, "64MiB"}, {1000, 1 << 10, "1KiB"}, {1000, 64 << 20, "64MiB"}} {
		c, enc, _ := encodeRandom(b, sh.n, sh.size, 3)
		for _, axis := range []Axis{Primary, Secondary} {
			b.Run(fmt.Sprintf("n=%d/size=%s/%s", sh.n, sh.name, axis), func(b *testing.B) {
				sl := sliverOf(enc, axis, sh.n/2)
				if err := c.VerifySliver(enc.Metadata, sl); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(sl.Data)))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for range b.N {
					if err := c.VerifySliver(enc.Metadata, sl); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// BenchmarkComputeMetadata measures what a blob ID costs: Encode without the
// secondary slivers.
func BenchmarkComputeMetadata(b *testing.B) {
	for _, sh := range benchShapes {
		if sh.n < 1000 {
			continue
		}
		b.Run(fmt.Sprintf("n=%d/size=%s", sh.n, sh.name), func(b *testing.B) {
			c, err := New(sh.n)
			if err != nil {
				b.Fatal(err)
			}
			blob := benchBlob(sh.size)
			if _, _, err := c.ComputeMetadata(blob); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(sh.size))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				if _, _, err := c.ComputeMetadata(blob); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}
