package store

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// syncedPairs returns the pairs of shard of count blobs (n = 10), with their
// metadata.
func syncedPairs(t *testing.T, count int, seed uint64, shard uint16) ([]SyncedPair, []*encoding.EncodedBlob) {
	t.Helper()
	var out []SyncedPair
	var encs []*encoding.EncodedBlob
	for i := range count {
		enc := encodeBlob(t, 10, 500+i, seed+uint64(i))
		encs = append(encs, enc)
		out = append(out, SyncedPair{BlobID: enc.BlobID, Metadata: enc.Metadata, Pair: shardPairs(enc, shard)[0].Pair})
	}
	return out, encs
}

// TestPutSyncedPairs: pairs, metadata and cursor are stored together, and
// read back through the usual API.
func TestPutSyncedPairs(t *testing.T) {
	s := newTestStore(t)
	const shard = 6
	pairs, encs := syncedPairs(t, 3, 40, shard)
	pairs[1].Metadata = nil // the store has it already, say
	cur := SyncCursor{Epoch: 4, After: pairs[2].BlobID}
	if _, err := s.SyncCursor(bg, shard); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SyncCursor before = %v, want ErrNotFound", err)
	}
	if err := s.PutSyncedPairs(bg, shard, pairs, cur); err != nil {
		t.Fatal(err)
	}
	for i, enc := range encs {
		if ok, err := s.HasPair(bg, shard, enc.BlobID); err != nil || !ok {
			t.Errorf("blob %d: HasPair = %v, %v", i, ok, err)
		}
		want := shardPairs(enc, shard)[0].Pair.Secondary
		if sl, err := s.Sliver(bg, shard, enc.BlobID, encoding.Secondary); err != nil || !sliverEqual(sl, want) {
			t.Errorf("blob %d: secondary sliver %v", i, err)
		}
		has, err := s.HasMetadata(bg, enc.BlobID)
		if err != nil || has != (i != 1) {
			t.Errorf("blob %d: HasMetadata = %v, %v", i, has, err)
		}
	}
	if got, err := s.SyncCursor(bg, shard); err != nil || got != cur {
		t.Fatalf("SyncCursor = %+v, %v; want %+v", got, err, cur)
	}
	// A cursor alone moves over blobs the holder skipped.
	next := SyncCursor{Epoch: 4, After: blobID(0xff)}
	if err := s.PutSyncedPairs(bg, shard, nil, next); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SyncCursor(bg, shard); got != next {
		t.Fatalf("SyncCursor = %+v, want %+v", got, next)
	}
	// DeleteShard leaves the cursor; the Tx deletes it.
	if err := s.DeleteShard(bg, shard); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(bg, func(tx *Tx) error { return tx.DeleteSyncCursor(shard) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SyncCursor(bg, shard); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SyncCursor after delete = %v, want ErrNotFound", err)
	}
}

// TestPutSyncedPairsRejects: a bad pair or metadata anywhere writes nothing,
// not even the cursor.
func TestPutSyncedPairsRejects(t *testing.T) {
	const shard = 2
	good, _ := syncedPairs(t, 2, 50, shard)
	wrongShard, _ := syncedPairs(t, 1, 60, shard+1)
	otherMD, _ := syncedPairs(t, 1, 70, shard)
	mod := func(f func(ps []SyncedPair)) []SyncedPair {
		ps := slices.Clone(good)
		f(ps)
		return ps
	}
	for _, tt := range []struct {
		name  string
		pairs []SyncedPair
		want  string
	}{
		{"another shard's pair", mod(func(ps []SyncedPair) { ps[1] = wrongShard[0] }), "belongs on shard"},
		{"blob twice", mod(func(ps []SyncedPair) { ps[1] = ps[0] }), "given twice"},
		{"metadata of another blob", mod(func(ps []SyncedPair) { ps[1].Metadata = otherMD[0].Metadata }), "metadata hashes to blob"},
		{"swapped axes", mod(func(ps []SyncedPair) {
			ps[0].Pair.Primary, ps[0].Pair.Secondary = ps[0].Pair.Secondary, ps[0].Pair.Primary
		}), "sliver"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			err := s.PutSyncedPairs(bg, shard, tt.pairs, SyncCursor{Epoch: 1, After: good[1].BlobID})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid with %q", err, tt.want)
			}
			if ids, _ := s.ShardBlobs(bg, shard, Page{}); len(ids) != 0 {
				t.Errorf("a refused batch stored %d pairs", len(ids))
			}
			if _, err := s.SyncCursor(bg, shard); !errors.Is(err, ErrNotFound) {
				t.Errorf("a refused batch set the cursor: %v", err)
			}
			for _, p := range good {
				if has, _ := s.HasMetadata(bg, p.BlobID); has {
					t.Error("a refused batch stored metadata")
				}
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		s, _ := openTest(t, Options{DisableSync: true, MaxBatchSize: MinMaxBatchSize, MinLoggedSliver: MaxMinLoggedSliver})
		var big []SyncedPair
		for i := range 2 {
			enc := encodeBlob(t, 10, 1_500_000, 80+uint64(i)) // pairs of about 590 KB
			big = append(big, SyncedPair{BlobID: enc.BlobID, Pair: shardPairs(enc, shard)[0].Pair})
		}
		if err := s.PutSyncedPairs(bg, shard, big[:1], SyncCursor{}); err != nil {
			t.Fatalf("one pair under the limit: %v", err)
		}
		err := s.PutSyncedPairs(bg, shard, big, SyncCursor{})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
}

// TestSyncCursorCorrupt: a cursor value of the wrong length is ErrCorrupt.
func TestSyncCursorCorrupt(t *testing.T) {
	s := newTestStore(t)
	k := syncCursorKey(1)
	rawSet(t, s, k, sealValue(k, bytes.Repeat([]byte{1}, syncCursorLen-1)))
	if _, err := s.SyncCursor(bg, 1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}
