package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// benchN is the shard count of the benchmark pairs: n = 100, rows 34, cols 67,
// so a pair of symbol size S is 101·S bytes of sliver data.
const benchN = 100

// benchPairs returns pairs generated for symbol size sz, shard count benchN:
// count distinct pair indices with random data, keyed later by blob ID.
func benchPairData(sz int) (primary, secondary []byte) {
	params, _ := encoding.NewParams(benchN)
	r := rand.NewChaCha8([32]byte{byte(sz)})
	primary = make([]byte, params.Cols*sz)
	secondary = make([]byte, params.Rows*sz)
	_, _ = r.Read(primary)
	_, _ = r.Read(secondary)
	return primary, secondary
}

// benchBlob returns blob ID number i and its pairs for shards count pairs of
// it, sharing the given sliver data.
func benchBlob(i uint64, pairs int, primary, secondary []byte, sz int) (encoding.BlobID, []ShardPair) {
	var id encoding.BlobID
	binary.BigEndian.PutUint64(id[:8], i*0x9e3779b97f4a7c15) // spread over the key space
	binary.BigEndian.PutUint64(id[8:], i)
	out := make([]ShardPair, pairs)
	for p := range out {
		out[p] = ShardPair{
			Shard: uint16(id.ShardForPair(p, benchN)),
			Pair: encoding.SliverPair{
				Primary:   encoding.Sliver{Axis: encoding.Primary, Index: uint16(p), SymbolSize: uint16(sz), Data: primary},
				Secondary: encoding.Sliver{Axis: encoding.Secondary, Index: uint16(benchN - 1 - p), SymbolSize: uint16(sz), Data: secondary},
			},
		}
	}
	return id, out
}

// BenchmarkPutPairs measures sliver-pair writes: one PutPairs of `pairs` pairs
// per operation, synced or not, from 1 or 16 goroutines (Pebble's commit
// pipeline groups concurrent synced batches into one WAL sync). MB/s counts
// sliver bytes.
func BenchmarkPutPairs(b *testing.B) {
	for _, sync := range []bool{true, false} {
		for _, sz := range []int{64, 2048, 16384} { // pairs of 6.3 KiB, 202 KiB, 1.6 MiB
			for _, pairs := range []int{1, 10} {
				for _, par := range []int{1, 16} {
					name := fmt.Sprintf("sync=%v/pair=%s/pairs=%d/writers=%d", sync, byteSize(101*sz), pairs, par)
					b.Run(name, func(b *testing.B) { benchmarkPutPairs(b, sync, sz, pairs, par) })
				}
			}
		}
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func benchmarkPutPairs(b *testing.B, sync bool, sz, pairs, writers int) {
	s, _ := openTest(b, Options{DisableSync: !sync})
	primary, secondary := benchPairData(sz)
	b.SetBytes(int64(pairs * (len(primary) + len(secondary))))
	b.ReportAllocs()
	var next atomic.Uint64
	if writers == 1 {
		for b.Loop() {
			id, sp := benchBlob(next.Add(1), pairs, primary, secondary, sz)
			if err := s.PutPairs(bg, id, sp); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(writers) // goroutines per GOMAXPROCS
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, sp := benchBlob(next.Add(1), pairs, primary, secondary, sz)
			if err := s.PutPairs(bg, id, sp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSliver measures reads of single slivers (primary, random blob) from
// a store of 256 pairs, flushed to an sstable.
func BenchmarkSliver(b *testing.B) {
	for _, sz := range []int{64, 2048, 16384} {
		b.Run("pair="+byteSize(101*sz), func(b *testing.B) {
			s, _ := openTest(b, Options{DisableSync: true})
			primary, secondary := benchPairData(sz)
			const blobs = 256
			ids := make([]encoding.BlobID, blobs)
			shards := make([]uint16, blobs)
			for i := range ids {
				id, sp := benchBlob(uint64(i), 1, primary, secondary, sz)
				if err := s.PutPairs(bg, id, sp); err != nil {
					b.Fatal(err)
				}
				ids[i], shards[i] = id, sp[0].Shard
			}
			if err := s.db.Flush(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(primary)))
			b.ReportAllocs()
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				i := r.IntN(blobs)
				if _, err := s.Sliver(bg, shards[i], ids[i], encoding.Primary); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkShardSlivers measures paging through one shard's primary slivers
// for shard sync, 4 MiB per page: 200 blobs whose pair on that shard is stored
// among three more pairs of other shards.
func BenchmarkShardSlivers(b *testing.B) {
	const sz, blobs, shard = 2048, 200, 42
	s, _ := openTest(b, Options{DisableSync: true})
	primary, secondary := benchPairData(sz)
	for i := range uint64(blobs) {
		id, all := benchBlob(i, benchN, primary, secondary, sz)
		p := id.PairForShard(shard, benchN)
		sp := []ShardPair{all[p], all[(p+1)%benchN], all[(p+2)%benchN], all[(p+3)%benchN]}
		if err := s.PutPairs(bg, id, sp); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(blobs * len(primary)))
	b.ReportAllocs()
	for b.Loop() {
		var after *encoding.BlobID
		got := 0
		for {
			page, err := s.ShardSlivers(bg, shard, encoding.Primary, Page{After: after, MaxBytes: 4 << 20})
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got += len(page)
			after = &page[len(page)-1].BlobID
		}
		if got != blobs {
			b.Fatalf("paged %d slivers, want %d", got, blobs)
		}
	}
}
