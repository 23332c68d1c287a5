package node

import (
	"context"
	"testing"

	"github.com/walrus-go/walrus/chain"
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

// TestStatusFormatters: the status page's human units.
func TestStatusFormatters(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{formatUptime(0), "0 s"},
		{formatUptime(-5), "0 s"},
		{formatUptime(42), "42 s"},
		{formatUptime(60), "1 min"},
		{formatUptime(185), "3 min 5 s"},
		{formatUptime(4*3600 + 12*60 + 9), "4 h 12 min"},
		{formatUptime(2*86400 + 3*3600 + 59), "2 d 3 h"},
		{formatUptime(86400), "1 d"},
		{formatWAL(0), "0 WAL"},
		{formatWAL(chain.FrostPerWAL * 3 / 2), "1.5 WAL"},
		{formatWAL(10_000 * chain.FrostPerWAL), "10,000 WAL"},
		{formatWAL(1_234_567*chain.FrostPerWAL + 1), "1,234,567.000000001 WAL"},
		{groupDigits("999"), "999"},
		{groupDigits("1000"), "1,000"},
		{groupDigits("123456789"), "123,456,789"},
		{formatPending(0, nil), "0 WAL"},
		{formatPending(250*chain.FrostPerWAL, []chain.EpochAmount{{Epoch: 3, Amount: 250 * chain.FrostPerWAL}}), "250 WAL, active from epoch 3"},
		{formatPending(300*chain.FrostPerWAL, []chain.EpochAmount{{Epoch: 3, Amount: 250 * chain.FrostPerWAL}, {Epoch: 4, Amount: 50 * chain.FrostPerWAL}}),
			"300 WAL: 250 WAL active from epoch 3, 50 WAL from epoch 4"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
