package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// TestSliverSymbols: a sliver stored with its leaf hashes gives back the
// symbols asked for and those leaves, exactly, also after a collection
// moved it; one stored without leaves, or inline, is read whole (ok false);
// bad positions and leaf counts are typed errors.
func TestSliverSymbols(t *testing.T) {
	const sz = 512
	dir := t.TempDir()
	s := vlogOpen(t, dir, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver})
	stopCollector(s)
	id, pairs := vlogPairs(7, sz, 1, 2, 3)
	leaves := make([]encoding.Hash, vlogN)
	for i := range leaves {
		leaves[i][0], leaves[i][31] = byte(i), 0xa5
	}
	pairs[0].Leaves[0] = leaves // shards 2 and 3 keep none
	bad := pairs[0]
	bad.Leaves[1] = leaves[:3]
	if err := s.PutPairs(bg, id, []ShardPair{bad}); err == nil {
		t.Fatal("PutPairs took 3 leaf hashes for a sliver of 100")
	}
	if err := s.PutPairs(bg, id, pairs); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		positions := []int{0, 1, 2, 9, 40, 41}
		part, ok, err := s.SliverSymbols(bg, 1, id, encoding.Primary, positions)
		if err != nil || !ok {
			t.Fatalf("%s: SliverSymbols = %v, %v", when, ok, err)
		}
		want := &pairs[0].Pair.Primary
		if part.SymbolSize != want.SymbolSize || part.Index != want.Index || len(part.Symbols) != len(positions) {
			t.Fatalf("%s: got symbol size %d, index %d, %d symbols", when, part.SymbolSize, part.Index, len(part.Symbols))
		}
		for i, p := range positions {
			if !bytes.Equal(part.Symbols[i], want.Data[p*sz:(p+1)*sz]) {
				t.Errorf("%s: symbol %d differs from the sliver's", when, p)
			}
		}
		if len(part.Leaves) != vlogN || part.Leaves[99] != leaves[99] || part.Leaves[0] != leaves[0] {
			t.Errorf("%s: leaves not kept", when)
		}
	}
	check("stored")
	// Shard 1's secondary and both of shard 2's were stored without leaves.
	for _, c := range []struct {
		shard uint16
		axis  encoding.Axis
	}{{1, encoding.Secondary}, {2, encoding.Primary}} {
		if _, ok, err := s.SliverSymbols(bg, c.shard, id, c.axis, []int{0}); ok || err != nil {
			t.Errorf("shard %d %s without leaves: ok %v, %v; want false, nil", c.shard, c.axis, ok, err)
		}
	}
	for _, positions := range [][]int{nil, {3, 3}, {4, 2}, {-1}, {1 << 20}} {
		if _, _, err := s.SliverSymbols(bg, 1, id, encoding.Primary, positions); !errors.Is(err, ErrInvalid) {
			t.Errorf("positions %v: %v, want ErrInvalid", positions, err)
		}
	}
	if _, _, err := s.SliverSymbols(bg, 4, id, encoding.Primary, []int{0}); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent shard: %v, want ErrNotFound", err)
	}
	// Shards 2 and 3 go, and the collection moves shard 1's slivers.
	for _, sh := range []uint16{2, 3} {
		if err := s.DeletePair(bg, sh, id); err != nil {
			t.Fatal(err)
		}
	}
	before := refOf(t, s, sliverKey(1, encoding.Primary, id))
	s.vlog.seal()
	if _, err := s.CollectSlivers(bg); err != nil {
		t.Fatal(err)
	}
	if after := refOf(t, s, sliverKey(1, encoding.Primary, id)); after.seg == before.seg {
		t.Fatalf("the collection left the sliver in segment %d", after.seg)
	}
	check("moved")

	// A sliver small enough to be stored inline has no leaves kept.
	small := vlogOpen(t, t.TempDir(), Options{DisableSync: true})
	sid, sp := vlogPairs(8, 2, 1)
	sp[0].Leaves[0] = leaves
	if err := small.PutPairs(bg, sid, sp); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := small.SliverSymbols(bg, 1, sid, encoding.Primary, []int{0}); ok || err != nil {
		t.Errorf("inline sliver: ok %v, %v; want false, nil", ok, err)
	}
}

// TestPutSyncedPairsKeepsLeaves: a shard sync's pairs keep their leaf
// hashes as PutPairs' do, and a wrong count of them is refused.
func TestPutSyncedPairsKeepsLeaves(t *testing.T) {
	const sz = 512
	s := vlogOpen(t, t.TempDir(), Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver})
	id, pairs := vlogPairs(8, sz, 1)
	leaves := make([]encoding.Hash, vlogN)
	for i := range leaves {
		leaves[i][0], leaves[i][31] = byte(i), 0x5a
	}
	sp := SyncedPair{BlobID: id, Pair: pairs[0].Pair, Leaves: [2][]encoding.Hash{nil, leaves}}
	cur := SyncCursor{Epoch: 2, After: id}
	bad := sp
	bad.Leaves[0] = leaves[:5]
	if err := s.PutSyncedPairs(bg, pairs[0].Shard, []SyncedPair{bad}, cur); !errors.Is(err, ErrInvalid) {
		t.Fatalf("PutSyncedPairs took 5 leaf hashes for a sliver of %d: %v", vlogN, err)
	}
	if err := s.PutSyncedPairs(bg, pairs[0].Shard, []SyncedPair{sp}, cur); err != nil {
		t.Fatal(err)
	}
	part, ok, err := s.SliverSymbols(bg, pairs[0].Shard, id, encoding.Secondary, []int{0, 2})
	want := pairs[0].Pair.Secondary.Data
	if err != nil || !ok || len(part.Leaves) != vlogN || part.Leaves[7] != leaves[7] ||
		!bytes.Equal(part.Symbols[1], want[2*sz:3*sz]) {
		t.Fatalf("synced secondary sliver: ok %v, %d leaves, %v; want its leaves and symbols", ok, len(part.Leaves), err)
	}
	if _, ok, err := s.SliverSymbols(bg, pairs[0].Shard, id, encoding.Primary, []int{0}); ok || err != nil {
		t.Fatalf("synced primary sliver without leaves: ok %v, %v; want false, nil", ok, err)
	}
}
