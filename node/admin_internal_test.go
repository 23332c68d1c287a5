package node

import (
	"context"
	"testing"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/store"
)

// TestCountStored: the status counts pairs and blobs of the held shards
// from the store's pair index, and stops at its limit.
func TestCountStored(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	codec, err := encoding.New(4)
	if err != nil {
		t.Fatal(err)
	}
	// Three blobs on shards 0 and 1; one of them also on shard 2.
	for b := range 3 {
		enc, err := codec.Encode([]byte{byte(b), 1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		shards := []uint16{0, 1}
		if b == 0 {
			shards = append(shards, 2)
		}
		for _, sh := range shards {
			pair := enc.BlobID.PairForShard(int(sh), 4)
			if err := s.PutPair(ctx, sh, enc.BlobID, enc.Pair(pair)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		shards       []uint16
		limit        int
		pairs, blobs int
		truncated    bool
	}{
		{[]uint16{0, 1, 2}, 100, 7, 3, false},
		{[]uint16{2}, 100, 1, 1, false},
		{[]uint16{3}, 100, 0, 0, false},
		{[]uint16{0, 1, 2}, 4, 4, 3, true},
		{[]uint16{0, 1, 2}, 2, 2, 2, true},
	} {
		got := countStored(ctx, s, tc.shards, tc.limit)
		if got.SliverPairs != tc.pairs || got.Blobs != tc.blobs || got.Truncated != tc.truncated || got.Error != "" {
			t.Errorf("countStored(%v, limit %d) = %+v; want %d pairs, %d blobs, truncated %v", tc.shards, tc.limit, got, tc.pairs, tc.blobs, tc.truncated)
		}
	}
}
