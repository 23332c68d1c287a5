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
	s, _ := openTest(t, Options{MemTableSize: MinMemTableSize, DisableSync: true})
	enc := encodeBlob(t, 10, 1800000, 1) // pairs of about 0.8 MiB
	pairs := shardPairs(enc, 3)
	key := sliverKey(3, encoding.Primary, enc.BlobID)
	s.bad.add(key)
	s.bad.add([]byte("another key"))
	if _, err := s.Sliver(bg, 3, enc.BlobID, encoding.Primary); err == nil {
		t.Fatal("Sliver of a key remembered corrupt succeeded")
	}
	if size := pairBatchSize(&pairs[0]); !s.opts.mayBeLargeBatch(size, 4) {
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
