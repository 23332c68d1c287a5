package store

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/walrus-go/walrus/encoding"
)

// TestMayBeLargeBatch checks Options.mayBeLargeBatch against Pebble: a batch
// it calls small is committed through the memtable (Pebble leaves the Batch
// whole), whatever its entries' sizes, and a sliver batch of half the memtable
// is taken over as a flushable of its own (Pebble empties the Batch).
func TestMayBeLargeBatch(t *testing.T) {
	s, _ := openTest(t, Options{MemTableSize: MinMemTableSize, DisableSync: true})
	for _, vlen := range []int{0, 1, 100, 4 << 10, 100 << 10} {
		t.Run(fmt.Sprintf("values=%d", vlen), func(t *testing.T) {
			b := s.db.NewBatch()
			defer b.Close()
			val := make([]byte, vlen)
			for i := 0; ; i++ {
				k := []byte(fmt.Sprintf("k%08d", i))
				if s.opts.mayBeLargeBatch(b.Len()+len(k)+len(val)+batchOpOverhead, b.Count()+1) {
					break
				}
				if err := b.Set(k, val, nil); err != nil {
					t.Fatal(err)
				}
			}
			n := b.Len()
			if err := b.Commit(pebble.NoSync); err != nil {
				t.Fatal(err)
			}
			if b.Len() != n {
				t.Fatalf("a batch of %d bytes, %d entries, called small, was taken over by Pebble", n, b.Count())
			}
		})
	}
	b := s.db.NewBatch()
	defer b.Close()
	sl := make([]byte, MinMemTableSize/2)
	if err := b.Set([]byte("sliver"), sl, nil); err != nil {
		t.Fatal(err)
	}
	if !s.opts.mayBeLargeBatch(b.Len(), b.Count()) {
		t.Fatalf("a batch of %d bytes is called small", b.Len())
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 12 {
		t.Fatalf("a batch of half the memtable was copied into it (Len %d after commit)", b.Len())
	}
}

// TestLargeBatchForgetsCorruptKeys checks that a pair write large enough to
// skip the memtable (Pebble empties the Batch at commit) still drops its keys
// from the keys known to be corrupt, and that they read back.
func TestLargeBatchForgetsCorruptKeys(t *testing.T) {
	// Slivers inline: a batch of references is never large.
	s, _ := openTest(t, Options{MemTableSize: MinMemTableSize, DisableSync: true, MinLoggedSliver: MaxMinLoggedSliver})
	enc := encodeBlob(t, 10, 1800000, 1) // pairs of about 0.8 MiB
	pairs := shardPairs(enc, 3)
	key := sliverKey(3, encoding.Primary, enc.BlobID)
	s.bad.add(key)
	s.bad.add([]byte("another key"))
	if _, err := s.Sliver(bg, 3, enc.BlobID, encoding.Primary); err == nil {
		t.Fatal("Sliver of a key remembered corrupt succeeded")
	}
	if size := s.pairBatchSize(&pairs[0]); !s.opts.mayBeLargeBatch(size, 4) {
		t.Fatalf("a pair of %d bytes is not a large batch for a memtable of %d", size, MinMemTableSize)
	}
	if err := s.PutPairs(bg, enc.BlobID, pairs); err != nil {
		t.Fatal(err)
	}
	if s.bad.has(key) {
		t.Error("the sliver written is still remembered corrupt")
	}
	if !s.bad.has([]byte("another key")) {
		t.Error("a key the batch did not write was forgotten")
	}
	for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
		got, err := s.Sliver(bg, 3, enc.BlobID, axis)
		want := pairs[0].Pair.Primary
		if axis == encoding.Secondary {
			want = pairs[0].Pair.Secondary
		}
		if err != nil || !sliverEqual(got, want) {
			t.Errorf("Sliver(%s) = %v, want the sliver written", axis, err)
		}
	}
}

// TestPairBatchReuse checks the reuse of pair batches' buffers (pairBufs):
// pairs written one after another through reused buffers all read back, from
// the memtable and after a flush, and so does a pair of a batch Pebble kept as
// a flushable of its own (whose buffer is not reused) while later batches
// are written. The store must configure no WAL failover, under which Pebble
// may read a batch after Apply returns.
func TestPairBatchReuse(t *testing.T) {
	if po := (&Options{}).pebbleOptions(testLogger(t)); po.WALFailover != nil {
		t.Fatal("WAL failover is configured: the pair batches' buffers may not be reused")
	}
	for _, mem := range []uint64{DefaultMemTableSize, MinMemTableSize} {
		t.Run(fmt.Sprintf("memtable=%d", mem), func(t *testing.T) {
			s, _ := openTest(t, Options{MemTableSize: mem, DisableSync: true, MinLoggedSliver: MaxMinLoggedSliver})
			var encs []*encoding.EncodedBlob
			for i := range 6 {
				size := 20 << 10
				if i%2 == 0 {
					size = 1800000 // pairs of about 0.8 MiB: large batches for the small memtable
				}
				enc := encodeBlob(t, 10, size, uint64(i))
				if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)[:1+i%3]); err != nil {
					t.Fatal(err)
				}
				encs = append(encs, enc)
			}
			check := func(when string) {
				for i, enc := range encs {
					for _, sp := range shardPairs(enc, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)[:1+i%3] {
						for _, want := range []encoding.Sliver{sp.Pair.Primary, sp.Pair.Secondary} {
							got, err := s.Sliver(bg, sp.Shard, enc.BlobID, want.Axis)
							if err != nil || !sliverEqual(got, want) {
								t.Errorf("%s: blob %d shard %d %s: %v, or not the sliver written", when, i, sp.Shard, want.Axis, err)
							}
						}
					}
				}
			}
			check("before flush")
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
			check("after flush")
		})
	}
}
