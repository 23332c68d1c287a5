package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/walrus-go/walrus/encoding"
)

// Tests of the sliver log (vlog.go, vlog_gc.go), on real Pebble and real
// segment files.

// vlogN is the shard count of the tests' pairs: rows 34, cols 67, so a pair
// of symbol size S holds 67·S primary and 34·S secondary bytes.
const vlogN = 100

// vlogPairs returns blob number k and its pairs on the given shards, with
// symbols of sz bytes and data of their own (a pure function of k and sz).
func vlogPairs(k uint64, sz int, shards ...uint16) (encoding.BlobID, []ShardPair) {
	var id encoding.BlobID
	binary.BigEndian.PutUint64(id[:8], k*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint64(id[8:], k)
	id[16] = byte(sz)
	var seed [32]byte
	copy(seed[:], id[:])
	data := rand.NewChaCha8(seed)
	params, _ := encoding.NewParams(vlogN)
	fill := func(n int) []byte {
		b := make([]byte, n)
		_, _ = data.Read(b)
		return b
	}
	out := make([]ShardPair, len(shards))
	for i, sh := range shards {
		p := id.PairForShard(int(sh), vlogN)
		out[i] = ShardPair{Shard: sh, Pair: encoding.SliverPair{
			Primary:   encoding.Sliver{Axis: encoding.Primary, Index: uint16(p), SymbolSize: uint16(sz), Data: fill(params.Cols * sz)},
			Secondary: encoding.Sliver{Axis: encoding.Secondary, Index: uint16(vlogN - 1 - p), SymbolSize: uint16(sz), Data: fill(params.Rows * sz)},
		}}
	}
	return id, out
}

// vlogOpen opens a store in dir with opts (a test logger added), closed at
// the end of the test.
func vlogOpen(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && err != ErrClosed {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// stopCollector stops the store's background collection, so that a test's
// own CollectSlivers calls see every deletion. Close stops it again, harmlessly.
func stopCollector(s *Store) { s.gc.stop() }

// rawPayload returns the payload stored under key, its envelope checked.
func rawPayload(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	p, err := openValue(key, rawGet(t, s, key))
	if err != nil {
		t.Fatalf("%s: %v", describeKey(key), err)
	}
	return p
}

// refOf returns the reference stored under key, failing if there is none.
func refOf(t *testing.T, s *Store, key []byte) sliverRef {
	t.Helper()
	p := rawPayload(t, s, key)
	if !isRef(p) {
		t.Fatalf("%s holds an inline sliver, want a reference", describeKey(key))
	}
	ref, err := parseRef(p)
	if err != nil {
		t.Fatalf("%s: %v", describeKey(key), err)
	}
	return ref
}

// segPath is the file of segment id of the store in dir.
func segPath(dir string, id uint32) string {
	return filepath.Join(dir, sliverLogDir, segmentName(id))
}

// segFiles returns the sizes of the segment files of the store in dir, by id.
func segFiles(t *testing.T, dir string) map[uint32]int64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, sliverLogDir))
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32]int64{}
	for _, e := range ents {
		var id uint32
		if _, err := fmt.Sscanf(e.Name(), "%08d.slv", &id); err != nil || segmentName(id) != e.Name() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[id] = fi.Size()
	}
	return out
}

// checkPairs checks that every sliver of pairs reads back whole, by Sliver.
func checkPairs(t *testing.T, s *Store, id encoding.BlobID, pairs []ShardPair) {
	t.Helper()
	for _, sp := range pairs {
		for _, want := range []encoding.Sliver{sp.Pair.Primary, sp.Pair.Secondary} {
			got, err := s.Sliver(bg, sp.Shard, id, want.Axis)
			if err != nil {
				t.Errorf("Sliver(shard %d, %s, %s): %v", sp.Shard, id, want.Axis, err)
			} else if !sliverEqual(got, want) {
				t.Errorf("Sliver(shard %d, %s, %s): %d bytes, index %d, symbol size %d; want %d, %d, %d",
					sp.Shard, id, want.Axis, len(got.Data), got.Index, got.SymbolSize, len(want.Data), want.Index, want.SymbolSize)
			}
		}
	}
}

// checkGone checks that the pairs of id on shards are not stored.
func checkGone(t *testing.T, s *Store, id encoding.BlobID, shards ...uint16) {
	t.Helper()
	for _, sh := range shards {
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			if _, err := s.Sliver(bg, sh, id, axis); !errors.Is(err, ErrNotFound) {
				t.Errorf("Sliver(shard %d, %s, %s) of a deleted pair: %v, want ErrNotFound", sh, id, axis, err)
			}
		}
		if ok, err := s.HasPair(bg, sh, id); ok || err != nil {
			t.Errorf("HasPair(shard %d, %s) of a deleted pair = %v, %v", sh, id, ok, err)
		}
	}
}

func TestSliverLogRoundTrip(t *testing.T) {
	const minLogged = 20_000
	opts := Options{DisableSync: true, MinLoggedSliver: minLogged}
	dir := t.TempDir()
	s := vlogOpen(t, dir, opts)

	type blob struct {
		id    encoding.BlobID
		pairs []ShardPair
	}
	// Symbols of 512 bytes: a primary sliver of 34,304 bytes (logged) and a
	// secondary of 17,408 (inline), in one PutPairs; 1024: both logged; 64:
	// both inline.
	var blobs []blob
	for k, sz := range []int{512, 1024, 64, 512} {
		id, pairs := vlogPairs(uint64(k), sz, 0, 1, 7)
		if err := s.PutPairs(bg, id, pairs); err != nil {
			t.Fatalf("PutPairs(symbol size %d): %v", sz, err)
		}
		blobs = append(blobs, blob{id, pairs})
	}
	logged, inline := 0, 0
	for _, b := range blobs {
		for _, sp := range b.pairs {
			for _, sl := range []*encoding.Sliver{&sp.Pair.Primary, &sp.Pair.Secondary} {
				p := rawPayload(t, s, sliverKey(sp.Shard, sl.Axis, b.id))
				want := len(sl.Data) >= minLogged
				if isRef(p) != want {
					t.Errorf("sliver of %d bytes: payload is a reference = %v, want %v", len(sl.Data), isRef(p), want)
				}
				if want {
					logged++
					ref, err := parseRef(p)
					if err != nil || ref.n != uint32(len(sl.Data)) || ref.symbolSize != sl.SymbolSize || ref.index != sl.Index {
						t.Errorf("reference %+v, %v for a sliver of %d bytes, symbol size %d, index %d", ref, err, len(sl.Data), sl.SymbolSize, sl.Index)
					}
				} else {
					inline++
				}
			}
		}
	}
	if logged == 0 || inline == 0 {
		t.Fatalf("%d logged and %d inline slivers: the test wants both", logged, inline)
	}

	check := func(t *testing.T, s *Store) {
		for _, b := range blobs {
			checkPairs(t, s, b.id, b.pairs)
		}
		for _, sh := range []uint16{0, 1, 7} {
			for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
				want := map[encoding.BlobID]encoding.Sliver{}
				for _, b := range blobs {
					for _, sp := range b.pairs {
						if sp.Shard == sh {
							want[b.id] = pairSliver(&sp.Pair, axis)
						}
					}
				}
				got, err := s.ShardSlivers(bg, sh, axis, Page{})
				if err != nil {
					t.Fatalf("ShardSlivers(%d, %s): %v", sh, axis, err)
				}
				if len(got) != len(want) {
					t.Errorf("ShardSlivers(%d, %s): %d slivers, want %d", sh, axis, len(got), len(want))
				}
				for _, bs := range got {
					if w, ok := want[bs.BlobID]; !ok || !sliverEqual(bs.Sliver, w) {
						t.Errorf("ShardSlivers(%d, %s): sliver of blob %s differs from the one stored (known: %v)", sh, axis, bs.BlobID, ok)
					}
				}
			}
		}
	}
	check(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = vlogOpen(t, dir, opts)
	t.Run("reopened", func(t *testing.T) { check(t, s) })

}

// pairSliver returns the sliver of axis of a pair.
func pairSliver(p *encoding.SliverPair, axis encoding.Axis) encoding.Sliver {
	if axis == encoding.Primary {
		return p.Primary
	}
	return p.Secondary
}

// TestShardSliversMaxBytesLogged checks that Page.MaxBytes counts a logged
// sliver by its data, not by its 25-byte reference.
func TestShardSliversMaxBytesLogged(t *testing.T) {
	s, _ := openTest(t, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver})
	const sz = 512
	const d = 67 * sz // a primary sliver's data
	for k := range uint64(3) {
		id, pairs := vlogPairs(100+k, sz, 0)
		if err := s.PutPairs(bg, id, pairs); err != nil {
			t.Fatal(err)
		}
		refOf(t, s, sliverKey(0, encoding.Primary, id))
	}
	for _, tc := range []struct{ maxBytes, want int }{
		{1, 1},       // a page holds one sliver whatever its bound
		{2*d - 1, 1}, // the second does not fit by one byte
		{2 * d, 2},   // two fit exactly
		{3*d - 1, 2}, // the third does not
		{3 * d, 3},   // all three
		{MaxPageBytes, 3},
	} {
		got, err := s.ShardSlivers(bg, 0, encoding.Primary, Page{MaxBytes: tc.maxBytes})
		if err != nil || len(got) != tc.want {
			t.Errorf("ShardSlivers(MaxBytes %d) = %d slivers, %v; want %d", tc.maxBytes, len(got), err, tc.want)
		}
		for _, bs := range got {
			if len(bs.Sliver.Data) != d {
				t.Errorf("sliver of %d bytes, want %d", len(bs.Sliver.Data), d)
			}
		}
	}
}

// TestSliverSegmentRotation checks that the active segment is sealed at
// SliverSegmentSize, that a write larger than a segment goes into one whole,
// and that every sliver reads back, before and after a reopen.
func TestSliverSegmentRotation(t *testing.T) {
	const segSize = 256 << 10
	opts := Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver, SliverSegmentSize: segSize}
	dir := t.TempDir()
	s := vlogOpen(t, dir, opts)
	type blob struct {
		id    encoding.BlobID
		pairs []ShardPair
	}
	var blobs []blob
	// Pairs of 1024-byte symbols: 68,608 + 34,816 bytes; 20 of them fill
	// about 8 segments.
	for k := range uint64(10) {
		id, pairs := vlogPairs(k, 1024, 3, 4)
		if err := s.PutPairs(bg, id, pairs); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, blob{id, pairs})
	}
	// A primary of 4096-byte symbols: 274,432 bytes, more than a segment.
	bigID, big := vlogPairs(99, 4096, 5)
	if err := s.PutPairs(bg, bigID, big); err != nil {
		t.Fatal(err)
	}
	blobs = append(blobs, blob{bigID, big})

	check := func(t *testing.T, s *Store) {
		files := segFiles(t, dir)
		if len(files) < 8 {
			t.Errorf("%d segment files, want at least 8", len(files))
		}
		perSeg := map[uint32]int{}
		for _, b := range blobs {
			checkPairs(t, s, b.id, b.pairs)
			for _, sp := range b.pairs {
				for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
					ref := refOf(t, s, sliverKey(sp.Shard, axis, b.id))
					size, ok := files[ref.seg]
					if !ok {
						t.Fatalf("reference to segment %d, which has no file", ref.seg)
					}
					if int64(ref.off)+int64(ref.n) > size {
						t.Errorf("reference to [%d, %d) of segment %d of %d bytes", ref.off, ref.off+uint64(ref.n), ref.seg, size)
					}
					perSeg[ref.seg]++
				}
			}
		}
		for id, size := range files {
			if perSeg[id] > 1 && size > segSize {
				t.Errorf("segment %d holds %d slivers in %d bytes, more than SliverSegmentSize %d", id, perSeg[id], size, segSize)
			}
		}
		ref := refOf(t, s, sliverKey(5, encoding.Primary, bigID))
		// Right after the header, or at the first aligned offset when
		// written with direct I/O, padded.
		end := int64(len(segmentHeader)) + int64(ref.n)
		if ref.off == directAlign {
			end = directAlign + alignUp(int64(ref.n))
		}
		if (ref.off != uint64(len(segmentHeader)) && ref.off != directAlign) || files[ref.seg] != end || perSeg[ref.seg] != 1 {
			t.Errorf("the sliver larger than a segment is at offset %d of segment %d (%d bytes, %d slivers); want it alone",
				ref.off, ref.seg, files[ref.seg], perSeg[ref.seg])
		}
		if got := s.vlog.diskBytes(); got != sumSizes(files) {
			t.Errorf("diskBytes = %d, the segment files hold %d", got, sumSizes(files))
		}
	}
	check(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = vlogOpen(t, dir, opts)
	t.Run("reopened", func(t *testing.T) { check(t, s) })

	// At the smallest segment size every sliver gets a segment of its own.
	t.Run("MinSliverSegmentSize", func(t *testing.T) {
		dir := t.TempDir()
		s := vlogOpen(t, dir, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver, SliverSegmentSize: MinSliverSegmentSize})
		id, pairs := vlogPairs(7, 64, 0, 1, 2) // slivers of 4,288 and 2,176 bytes
		if err := s.PutPairs(bg, id, pairs); err != nil {
			t.Fatal(err)
		}
		checkPairs(t, s, id, pairs)
		files := segFiles(t, dir)
		if len(files) != 2*len(pairs) {
			t.Errorf("%d segment files for %d slivers", len(files), 2*len(pairs))
		}
		for _, sp := range pairs {
			for _, sl := range []encoding.Sliver{sp.Pair.Primary, sp.Pair.Secondary} {
				ref := refOf(t, s, sliverKey(sp.Shard, sl.Axis, id))
				if ref.off != uint64(len(segmentHeader)) || files[ref.seg] != int64(len(segmentHeader)+len(sl.Data)) {
					t.Errorf("sliver of %d bytes at offset %d of a segment of %d bytes", len(sl.Data), ref.off, files[ref.seg])
				}
			}
		}
	})
}

func sumSizes(files map[uint32]int64) uint64 {
	var n uint64
	for _, sz := range files {
		n += uint64(sz)
	}
	return n
}

// TestCollectSlivers deletes pairs by each of DeletePair, DeleteShard and
// Tx.DeleteBlob, so that a third of the segments hold no live sliver, a third
// are mostly garbage and a third mostly live, and checks what CollectSlivers
// does to each.
func TestCollectSlivers(t *testing.T) {
	const sz = 512
	// A blob's 3 pairs take 3·101·512 = 155,136 bytes: with the header, one
	// segment exactly.
	const blobBytes = 3 * 101 * sz
	const segSize = len(segmentHeader) + blobBytes
	opts := Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver, SliverSegmentSize: int64(segSize)}
	dir := t.TempDir()
	s := vlogOpen(t, dir, opts)
	stopCollector(s)
	const blobs = 24
	ids := make([]encoding.BlobID, blobs)
	pairs := make([][]ShardPair, blobs)
	for k := range blobs {
		ids[k], pairs[k] = vlogPairs(uint64(k), sz, 1, 2, 3)
		if err := s.PutPairs(bg, ids[k], pairs[k]); err != nil {
			t.Fatal(err)
		}
		if ref := refOf(t, s, sliverKey(1, encoding.Primary, ids[k])); ref.seg != uint32(k+1) {
			t.Fatalf("blob %d went to segment %d, want %d", k, ref.seg, k+1)
		}
	}
	// Blobs 0-5: deleted whole (Tx.DeleteBlob). 6-11: pairs of shards 1
	// and 2 deleted (DeletePair), 3 by DeleteShard: none left. 12-17: shard
	// 2 left, a third of each segment. 18-23: shards 1 and 2 left, two
	// thirds.
	err := s.Update(bg, func(tx *Tx) error {
		for k := range 6 {
			if err := tx.DeleteBlob(ids[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := 6; k < 18; k++ {
		if err := s.DeletePair(bg, 1, ids[k]); err != nil {
			t.Fatal(err)
		}
		if k < 12 {
			if err := s.DeletePair(bg, 2, ids[k]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteShard(bg, 3); err != nil {
		t.Fatal(err)
	}

	before := segFiles(t, dir)
	duBefore, err := s.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	// Segment 24 is still the active one: no collection touches it.
	res, err := s.CollectSlivers(bg)
	if err != nil {
		t.Fatal(err)
	}
	// Segments 1-12 go, 13-18 go once their 12 live slivers (shard 2's
	// two of each blob) have moved.
	want := SliverGC{Segments: 23, Removed: 18, FreedBytes: 18 * uint64(segSize), Moved: 12, MovedBytes: 6 * 101 * sz}
	if res != want {
		t.Errorf("CollectSlivers with segment 24 active = %+v, want %+v", res, want)
	}
	s.vlog.seal()
	mid := segFiles(t, dir)
	res2, err := s.CollectSlivers(bg)
	if err != nil {
		t.Fatal(err)
	}
	// Segment 24 is mostly live, and so are those the moves went to.
	if want := (SliverGC{Segments: len(mid)}); res2 != want {
		t.Errorf("CollectSlivers after seal = %+v, want %+v", res2, want)
	}
	after := segFiles(t, dir)
	if !maps.Equal(mid, after) {
		t.Errorf("segments %v became %v in a collection that did nothing", mid, after)
	}
	newSegs := 0
	for id := range after {
		if id > blobs {
			newSegs++
		}
	}
	if newSegs < 2 { // 310,272 bytes moved into segments of 155,152
		t.Errorf("the moves went to %d new segments, want at least 2", newSegs)
	}
	for id := uint32(1); id <= 18; id++ {
		if _, ok := after[id]; ok {
			t.Errorf("segment %d (no live sliver, or mostly garbage) is still on disk", id)
		}
	}
	for id := uint32(19); id <= 24; id++ {
		if after[id] != before[id] {
			t.Errorf("segment %d (mostly live) is %d bytes, was %d", id, after[id], before[id])
		}
	}
	if got, want := sumSizes(before)-sumSizes(after), want.FreedBytes-want.MovedBytes-uint64(newSegs*len(segmentHeader)); got != want {
		t.Errorf("segment files shrank by %d bytes, want %d (freed less moved less the new headers)", got, want)
	}
	duAfter, err := s.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if duAfter+(want.FreedBytes-want.MovedBytes)/2 > duBefore {
		t.Errorf("DiskUsage %d → %d after freeing %d bytes of segments", duBefore, duAfter, want.FreedBytes-want.MovedBytes)
	}

	check := func(t *testing.T, s *Store) {
		for k := range blobs {
			switch {
			case k < 6:
				checkGone(t, s, ids[k], 1, 2, 3)
			case k < 12:
				checkGone(t, s, ids[k], 1, 2, 3)
			case k < 18:
				checkGone(t, s, ids[k], 1, 3)
				checkPairs(t, s, ids[k], pairs[k][1:2])
				if ref := refOf(t, s, sliverKey(2, encoding.Primary, ids[k])); ref.seg <= blobs {
					t.Errorf("blob %d's shard 2 primary is in segment %d, want it moved to a new one", k, ref.seg)
				}
			default:
				checkGone(t, s, ids[k], 3)
				checkPairs(t, s, ids[k], pairs[k][:2])
				if ref := refOf(t, s, sliverKey(1, encoding.Primary, ids[k])); ref.seg != uint32(k+1) {
					t.Errorf("blob %d's shard 1 primary is in segment %d, want it where it was written (%d)", k, ref.seg, k+1)
				}
			}
		}
	}
	check(t, s)
	// Nothing is left to collect.
	s.vlog.seal()
	for range 2 {
		res, err := s.CollectSlivers(bg)
		if err != nil || res.Removed != 0 || res.Moved != 0 || res.FreedBytes != 0 {
			t.Errorf("another CollectSlivers = %+v, %v; want nothing removed or moved", res, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = vlogOpen(t, dir, opts)
	t.Run("reopened", func(t *testing.T) { check(t, s) })
}

// TestCollectSliversInflight checks that a segment with a write reserved
// and not finished is not collected, though it holds no live sliver, and that
// it is once the write is over.
func TestCollectSliversInflight(t *testing.T) {
	dir := t.TempDir()
	s := vlogOpen(t, dir, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver})
	stopCollector(s)
	id, pairs := vlogPairs(1, 64, 0)
	if err := s.PutPairs(bg, id, pairs); err != nil {
		t.Fatal(err)
	}
	seg := refOf(t, s, sliverKey(0, encoding.Primary, id)).seg
	// A write in flight in the active segment, which is then sealed
	// (rotation or Compact).
	sg, _, _, err := s.vlog.reserve(1000)
	if err != nil {
		t.Fatal(err)
	}
	if sg.id != seg {
		t.Fatalf("reserved in segment %d, want the active one (%d)", sg.id, seg)
	}
	s.vlog.seal()
	if err := s.DeletePair(bg, 0, id); err != nil {
		t.Fatal(err)
	}
	res, err := s.CollectSlivers(bg)
	if err != nil || res != (SliverGC{}) {
		t.Errorf("CollectSlivers with a write in flight = %+v, %v; want nothing done", res, err)
	}
	if _, ok := segFiles(t, dir)[seg]; !ok {
		t.Fatalf("segment %d with a write in flight was removed", seg)
	}
	s.vlog.finish(sg)
	res, err = s.CollectSlivers(bg)
	if err != nil || res.Removed != 1 || res.FreedBytes != uint64(len(segmentHeader)+len(pairs[0].Pair.Primary.Data)+len(pairs[0].Pair.Secondary.Data)+1000) {
		t.Errorf("CollectSlivers after the write = %+v, %v; want segment %d removed", res, err, seg)
	}
	if _, ok := segFiles(t, dir)[seg]; ok {
		t.Errorf("segment %d is still on disk", seg)
	}
}

// TestSliverLogConcurrent runs readers (Sliver, ShardSlivers) against writers,
// a deleter and a collector that keeps sealing the active segment, moving
// slivers and removing segments. A reader may find a pair deleted, never an
// error otherwise, nor other bytes than those written.
func TestSliverLogConcurrent(t *testing.T) {
	t.Parallel()  // with TestSliverLogBackgroundCollection, which waits
	const sz = 64 // pairs of 4,288 + 2,176 bytes, about 10 to a segment
	const shard = 0
	const initial, maxK = 60, 100_000
	dir := t.TempDir()
	s := vlogOpen(t, dir, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver, SliverSegmentSize: 64 << 10})
	stopCollector(s)

	var wantMu sync.Mutex
	want := map[encoding.BlobID]encoding.SliverPair{}
	keyOf := map[encoding.BlobID]uint64{}
	state := make([]atomic.Int32, maxK) // 0 unwritten, 1 stored, 2 deleting or deleted
	var written atomic.Int64            // blobs 0 to written−1 are in state 1 or 2
	put := func(k uint64) error {
		id, pairs := vlogPairs(k, sz, shard)
		wantMu.Lock()
		want[id], keyOf[id] = pairs[0].Pair, k
		wantMu.Unlock()
		return s.PutPairs(bg, id, pairs)
	}
	for k := range uint64(initial) {
		if err := put(k); err != nil {
			t.Fatal(err)
		}
		state[k].Store(1)
	}
	written.Store(initial)

	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		failures atomic.Int32
		reads    atomic.Int64
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
		stop.Store(true)
	}
	lookup := func(id encoding.BlobID) (encoding.SliverPair, uint64, bool) {
		wantMu.Lock()
		defer wantMu.Unlock()
		p, ok := want[id]
		return p, keyOf[id], ok
	}
	idsMu := sync.Mutex{}
	ids := make([]encoding.BlobID, 0, maxK)
	for k := range uint64(initial) {
		id, _ := vlogPairs(k, sz, shard)
		ids = append(ids, id)
	}
	idAt := func(k int64) encoding.BlobID {
		idsMu.Lock()
		defer idsMu.Unlock()
		return ids[k]
	}

	// A writer: new blobs, in key order of their numbers.
	wg.Go(func() {
		for k := uint64(initial); !stop.Load() && k < maxK; k++ {
			if err := put(k); err != nil {
				fail("PutPairs(blob %d): %v", k, err)
				return
			}
			id, _ := vlogPairs(k, sz, shard)
			idsMu.Lock()
			ids = append(ids, id)
			idsMu.Unlock()
			state[k].Store(1)
			written.Store(int64(k + 1))
		}
	})
	// A deleter: two blobs of every three, at random.
	wg.Go(func() {
		r := rand.New(rand.NewPCG(1, 2))
		for !stop.Load() {
			k := r.Int64N(written.Load())
			if k%3 == 0 || !state[k].CompareAndSwap(1, 2) {
				continue
			}
			if err := s.DeletePair(bg, shard, idAt(k)); err != nil {
				fail("DeletePair(blob %d): %v", k, err)
			}
		}
	})
	// The collector.
	var total SliverGC
	wg.Go(func() {
		for !stop.Load() {
			s.vlog.seal()
			res, err := s.CollectSlivers(bg)
			if err != nil {
				fail("CollectSlivers: %v", err)
				return
			}
			total.Removed += res.Removed
			total.Moved += res.Moved
			time.Sleep(time.Millisecond)
		}
	})
	// Point readers.
	for r := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 3))
			for !stop.Load() {
				k := rng.Int64N(written.Load())
				id := idAt(k)
				axis := []encoding.Axis{encoding.Primary, encoding.Secondary}[rng.IntN(2)]
				got, err := s.Sliver(bg, shard, id, axis)
				reads.Add(1)
				switch {
				case errors.Is(err, ErrNotFound):
					if state[k].Load() != 2 {
						fail("Sliver of blob %d, never deleted: %v", k, err)
					}
				case err != nil:
					fail("Sliver of blob %d: %v", k, err)
				default:
					p, _, _ := lookup(id)
					if !sliverEqual(got, pairSliver(&p, axis)) {
						fail("Sliver of blob %d (%s) returned other bytes than written", k, axis)
					}
				}
			}
		})
	}
	// A shard reader, paging through both axes.
	wg.Go(func() {
		for !stop.Load() {
			for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
				var after *encoding.BlobID
				for {
					page, err := s.ShardSlivers(bg, shard, axis, Page{After: after, Limit: 16})
					if err != nil {
						fail("ShardSlivers(%s): %v", axis, err)
						return
					}
					if len(page) == 0 {
						break
					}
					for _, bs := range page {
						p, k, ok := lookup(bs.BlobID)
						if !ok || !sliverEqual(bs.Sliver, pairSliver(&p, axis)) {
							fail("ShardSlivers(%s): sliver of blob %d (known %v) differs from the one written", axis, k, ok)
						}
					}
					reads.Add(int64(len(page)))
					after = &page[len(page)-1].BlobID
				}
			}
		}
	})
	time.Sleep(1500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d blobs written, %d sliver reads, collections removed %d segments and moved %d slivers", written.Load(), reads.Load(), total.Removed, total.Moved)
	if total.Removed == 0 || total.Moved == 0 {
		t.Errorf("collections removed %d segments and moved %d slivers: the test wants both", total.Removed, total.Moved)
	}
	// Everything not deleted is whole; everything deleted is gone.
	for k := range uint64(written.Load()) {
		id, pairs := vlogPairs(k, sz, shard)
		if state[k].Load() == 2 {
			checkGone(t, s, id, shard)
		} else {
			checkPairs(t, s, id, pairs)
		}
	}
}

// rotStore returns a store in dir with three blobs of one pair on shard 0,
// every sliver logged in segment 1.
func rotStore(t *testing.T, dir string, opts Options) (*Store, []encoding.BlobID, [][]ShardPair) {
	t.Helper()
	s := vlogOpen(t, dir, opts)
	stopCollector(s)
	var ids []encoding.BlobID
	var pairs [][]ShardPair
	for k := range uint64(3) {
		id, ps := vlogPairs(200+k, 512, 0)
		if err := s.PutPairs(bg, id, ps); err != nil {
			t.Fatal(err)
		}
		if seg := refOf(t, s, sliverKey(0, encoding.Primary, id)).seg; seg != 1 {
			t.Fatalf("blob %d in segment %d, want 1", k, seg)
		}
		ids, pairs = append(ids, id), append(pairs, ps)
	}
	return s, ids, pairs
}

// flipFileByte flips the bits of mask in the byte at off of the file at path.
func flipFileByte(t *testing.T, path string, off int64, mask byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= mask
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// wantCorrupt checks that the sliver under key reads as ErrCorrupt naming
// the key, by Sliver and by ShardSlivers (which names the first damaged
// sliver of the shard, that one unless all are).
func wantCorrupt(t *testing.T, s *Store, shard uint16, id encoding.BlobID, axis encoding.Axis, all bool) {
	t.Helper()
	key := describeKey(sliverKey(shard, axis, id))
	sl, err := s.Sliver(bg, shard, id, axis)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) {
		t.Errorf("Sliver of a damaged sliver = %d bytes, %v; want ErrCorrupt naming %s", len(sl.Data), err, key)
	}
	if all {
		key = fmt.Sprintf("sliver shard=%d axis=%s blob=", shard, axis)
	}
	page, err := s.ShardSlivers(bg, shard, axis, Page{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) {
		t.Errorf("ShardSlivers over a damaged sliver = %d slivers, %v; want ErrCorrupt naming %s", len(page), err, key)
	}
}

func TestSliverRot(t *testing.T) {
	opts := Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver}
	tests := []struct {
		name string
		// damage damages the sliver of blob victim (of 0, 1, 2) on axis,
		// in the store s of dir; it returns the store to read from.
		victim int
		axis   encoding.Axis
		damage func(t *testing.T, s *Store, dir string, ref sliverRef) *Store
		// others says whether the other slivers still read.
		others bool
	}{
		{"flipped byte", 0, encoding.Primary, func(t *testing.T, s *Store, dir string, ref sliverRef) *Store {
			flipFileByte(t, segPath(dir, ref.seg), int64(ref.off)+int64(ref.n)/2, 0x10)
			return s
		}, true},
		{"flipped first byte", 1, encoding.Secondary, func(t *testing.T, s *Store, dir string, ref sliverRef) *Store {
			flipFileByte(t, segPath(dir, ref.seg), int64(ref.off), 0x01)
			return s
		}, true},
		{"truncated", 2, encoding.Secondary, func(t *testing.T, s *Store, dir string, ref sliverRef) *Store {
			// The last sliver of the segment, cut in half.
			if err := os.Truncate(segPath(dir, ref.seg), int64(ref.off)+int64(ref.n)/2); err != nil {
				t.Fatal(err)
			}
			return s
		}, true},
		{"segment removed while closed", 0, encoding.Primary, func(t *testing.T, s *Store, dir string, ref sliverRef) *Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(segPath(dir, ref.seg)); err != nil {
				t.Fatal(err)
			}
			s = vlogOpen(t, dir, opts)
			stopCollector(s)
			return s
		}, false},
		{"segment header damaged while closed", 1, encoding.Primary, func(t *testing.T, s *Store, dir string, ref sliverRef) *Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			flipFileByte(t, segPath(dir, ref.seg), 3, 0x20)
			s = vlogOpen(t, dir, opts)
			stopCollector(s)
			return s
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, ids, pairs := rotStore(t, dir, opts)
			victim := ids[tc.victim]
			ref := refOf(t, s, sliverKey(0, tc.axis, victim))
			s = tc.damage(t, s, dir, ref)
			damaged, err := os.ReadFile(segPath(dir, ref.seg))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			wantCorrupt(t, s, 0, victim, tc.axis, !tc.others)
			for i, id := range ids {
				for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
					if i == tc.victim && axis == tc.axis {
						continue
					}
					if tc.others {
						got, err := s.Sliver(bg, 0, id, axis)
						if want := pairSliver(&pairs[i][0].Pair, axis); err != nil || !sliverEqual(got, want) {
							t.Errorf("undamaged sliver of blob %d (%s): %v", i, axis, err)
						}
					} else if _, err := s.Sliver(bg, 0, id, axis); !errors.Is(err, ErrCorrupt) {
						t.Errorf("sliver of blob %d (%s) in a lost segment: %v, want ErrCorrupt", i, axis, err)
					}
				}
			}
			// A collection keeps the reference to the damaged sliver.
			before := rawPayload(t, s, sliverKey(0, tc.axis, victim))
			s.vlog.seal()
			if _, err := s.CollectSlivers(bg); err != nil {
				t.Fatalf("CollectSlivers: %v", err)
			}
			if after := rawPayload(t, s, sliverKey(0, tc.axis, victim)); !bytes.Equal(before, after) {
				t.Errorf("a collection changed the reference to a damaged sliver: %x → %x", before, after)
			}
			wantCorrupt(t, s, 0, victim, tc.axis, !tc.others)
			// Writing the pair again heals it.
			if err := s.PutPairs(bg, victim, pairs[tc.victim]); err != nil {
				t.Fatalf("PutPairs over a damaged sliver: %v", err)
			}
			checkPairs(t, s, victim, pairs[tc.victim])
			page, err := s.ShardSlivers(bg, 0, tc.axis, Page{})
			if tc.others && (err != nil || len(page) != len(ids)) {
				t.Errorf("ShardSlivers after the repair: %d slivers, %v", len(page), err)
			}
			if tc.others {
				return
			}
			// The slivers of a lost segment that were not rewritten stay
			// unreadable, even where new writes reuse its number.
			for i, id := range ids {
				if i != tc.victim {
					if _, err := s.Sliver(bg, 0, id, encoding.Primary); !errors.Is(err, ErrCorrupt) {
						t.Errorf("sliver of blob %d in a lost segment, after other writes: %v, want ErrCorrupt", i, err)
					}
				}
			}
			// A segment file that is there but unreadable is left as it was
			// (for the operator), not reused for new writes.
			if damaged != nil {
				if ref2 := refOf(t, s, sliverKey(0, tc.axis, victim)); ref2.seg == ref.seg {
					t.Errorf("the rewritten sliver went to segment %d, whose file is damaged", ref2.seg)
				}
				if now, err := os.ReadFile(segPath(dir, ref.seg)); err != nil || !bytes.Equal(now, damaged) {
					t.Errorf("segment %d, damaged, was written to (%d → %d bytes, %v)", ref.seg, len(damaged), len(now), err)
				}
			}
		})
	}
}

// TestCollectSliversKeepsRotten checks that a collection that cannot read a
// live sliver (its bytes rotted) leaves it, its reference and its segment,
// moving the others, and that the segment goes once the pair is rewritten.
func TestCollectSliversKeepsRotten(t *testing.T) {
	dir := t.TempDir()
	s := vlogOpen(t, dir, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver})
	stopCollector(s)
	var ids []encoding.BlobID
	var pairs [][]ShardPair
	for k := range uint64(5) {
		id, ps := vlogPairs(300+k, 512, 0)
		if err := s.PutPairs(bg, id, ps); err != nil {
			t.Fatal(err)
		}
		ids, pairs = append(ids, id), append(pairs, ps)
	}
	s.vlog.seal()
	// Blobs 1, 2, 3 deleted: 2 of 5 live, a sparse segment. Blob 0's
	// primary rots.
	for _, k := range []int{1, 2, 3} {
		if err := s.DeletePair(bg, 0, ids[k]); err != nil {
			t.Fatal(err)
		}
	}
	key := sliverKey(0, encoding.Primary, ids[0])
	ref := refOf(t, s, key)
	flipFileByte(t, segPath(dir, ref.seg), int64(ref.off)+100, 0x80)
	before := rawPayload(t, s, key)
	res, err := s.CollectSlivers(bg)
	if err != nil {
		t.Fatal(err)
	}
	if want := (SliverGC{Segments: 1, Moved: 3, MovedBytes: 101*512 + 34*512}); res != want {
		t.Errorf("CollectSlivers = %+v, want %+v (the rotten sliver and its segment kept)", res, want)
	}
	if _, ok := segFiles(t, dir)[ref.seg]; !ok {
		t.Fatalf("segment %d, which holds a live rotten sliver, was removed", ref.seg)
	}
	if after := rawPayload(t, s, key); !bytes.Equal(before, after) {
		t.Errorf("reference to the rotten sliver changed: %x → %x", before, after)
	}
	wantCorrupt(t, s, 0, ids[0], encoding.Primary, false)
	got, err := s.Sliver(bg, 0, ids[0], encoding.Secondary)
	if err != nil || !sliverEqual(got, pairs[0][0].Pair.Secondary) {
		t.Errorf("blob 0's secondary: %v", err)
	}
	checkPairs(t, s, ids[4], pairs[4])
	for _, k := range []int{0, 4} {
		if r := refOf(t, s, sliverKey(0, encoding.Secondary, ids[k])); r.seg == ref.seg {
			t.Errorf("blob %d's secondary was not moved out of segment %d", k, ref.seg)
		}
	}
	// The node repairs the pair: then the segment holds nothing live.
	if err := s.PutPairs(bg, ids[0], pairs[0]); err != nil {
		t.Fatal(err)
	}
	s.vlog.seal()
	res, err = s.CollectSlivers(bg)
	if err != nil || res.Removed != 1 || res.Moved != 0 {
		t.Errorf("CollectSlivers after the repair = %+v, %v; want the segment removed", res, err)
	}
	if _, ok := segFiles(t, dir)[ref.seg]; ok {
		t.Errorf("segment %d is still on disk", ref.seg)
	}
	for _, k := range []int{0, 4} {
		checkPairs(t, s, ids[k], pairs[k])
	}
}

// sliverFault is an errorfs injector that fails the operations of the given
// kinds on files under dir (the sliver log's directory, which it includes)
// while on, from the skip+1st such operation.
type sliverFault struct {
	dir   string
	kinds []errorfs.OpKind
	skip  int32
	max   int32 // the most operations failed; 0: no limit
	on    atomic.Bool
	seen  atomic.Int32
	hits  atomic.Int32
}

func (f *sliverFault) String() string { return "sliver log fault" }

func (f *sliverFault) MaybeError(op errorfs.Op) error {
	if !f.on.Load() || !slices.Contains(f.kinds, op.Kind) || !strings.HasPrefix(op.Path, f.dir) {
		return nil
	}
	if f.seen.Add(1) <= f.skip {
		return nil
	}
	if h := f.hits.Add(1); f.max > 0 && h > f.max {
		return nil
	}
	return errorfs.ErrInjected
}

// TestSliverLogWriteFaults fails the writes, syncs and creations of segment
// files, and checks that PutPairs reports ErrIO and stores nothing: no
// marker, no reference to bytes that may not be on disk. Writes succeed again
// once the fault is gone.
func TestSliverLogWriteFaults(t *testing.T) {
	t.Parallel() // with TestSliverLogBackgroundCollection, which waits
	tests := []struct {
		name  string
		kinds []errorfs.OpKind
		skip  int32 // operations of those kinds that succeed first
		seal  bool  // seal the active segment first: the write creates one
		// small: segments of 40 KiB, slivers from 10,000 bytes logged, so
		// that a pair's primary (34,304 bytes) fills a segment and its
		// secondary (17,408) begins another.
		small bool
		big   bool
	}{
		{"write", []errorfs.OpKind{errorfs.OpFileWriteAt}, 0, false, false, false},
		{"second write of the batch", []errorfs.OpKind{errorfs.OpFileWriteAt}, 1, false, false, false},
		{"sync", []errorfs.OpKind{errorfs.OpFileSyncData}, 0, false, false, false},
		{"second sync of the batch", []errorfs.OpKind{errorfs.OpFileSyncData}, 1, true, true, false},
		{"create segment", []errorfs.OpKind{errorfs.OpOpen}, 0, true, false, false},
		{"write header", []errorfs.OpKind{errorfs.OpFileWriteAt}, 0, true, false, false},
		{"sync header", []errorfs.OpKind{errorfs.OpFileSync}, 0, true, false, false},
		{"sync directory", []errorfs.OpKind{errorfs.OpOpenDir}, 0, true, false, false},
		{"second segment's header", []errorfs.OpKind{errorfs.OpFileSync}, 1, true, true, false},
		// big: primaries of 4096-byte symbols (274,432 bytes), written
		// with direct I/O.
		{"direct write", []errorfs.OpKind{errorfs.OpFileWriteAt}, 0, false, false, true},
		{"second direct write of the batch", []errorfs.OpKind{errorfs.OpFileWriteAt}, 1, false, false, true},
		{"sync after direct writes", []errorfs.OpKind{errorfs.OpFileSyncData}, 0, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fault := &sliverFault{dir: filepath.Join(dir, sliverLogDir), kinds: tc.kinds, skip: tc.skip}
			opts := Options{FS: errorfs.Wrap(vfs.Default, fault), MinLoggedSliver: 20_000}
			if tc.small {
				opts.SliverSegmentSize, opts.MinLoggedSliver = 40<<10, 10_000
			}
			s := vlogOpen(t, dir, opts)
			stopCollector(s)
			// A pair stored before the fault.
			id0, pairs0 := vlogPairs(400, 512, 5)
			if err := s.PutPairs(bg, id0, pairs0); err != nil {
				t.Fatal(err)
			}
			if tc.seal {
				s.vlog.seal()
			}
			// Two pairs of logged primaries (34,304 bytes) and inline
			// secondaries (17,408), logged too if small.
			id, pairs := vlogPairs(401, 512, 1, 2)
			if tc.big {
				id, pairs = vlogPairs(401, 4096, 1, 2)
			}
			filesBefore := segFiles(t, dir)
			fault.on.Store(true)
			err := s.PutPairs(bg, id, pairs)
			fault.on.Store(false)
			if fault.hits.Load() == 0 {
				t.Fatalf("the fault was never hit (PutPairs: %v)", err)
			}
			if !errors.Is(err, ErrIO) || errors.Is(err, ErrCorrupt) {
				t.Fatalf("PutPairs with a failing sliver log = %v, want ErrIO", err)
			}
			for _, sp := range pairs {
				if ok, err := s.HasPair(bg, sp.Shard, id); ok || err != nil {
					t.Errorf("HasPair(%d) after a failed PutPairs = %v, %v", sp.Shard, ok, err)
				}
				for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
					if _, closer, err := s.db.Get(sliverKey(sp.Shard, axis, id)); !errors.Is(err, pebble.ErrNotFound) {
						if err == nil {
							closer.Close()
						}
						t.Errorf("a failed PutPairs left a value under %s: %v", describeKey(sliverKey(sp.Shard, axis, id)), err)
					}
				}
			}
			// No segment file without its header is left behind by a
			// failed creation.
			for sid := range segFiles(t, dir) {
				if _, ok := filesBefore[sid]; ok {
					continue
				}
				b, err := os.ReadFile(segPath(dir, sid))
				if err != nil || !bytes.HasPrefix(b, []byte(segmentHeader)) {
					t.Errorf("a failed write left segment %d without its header (%q, %v)", sid, b[:min(len(b), 16)], err)
				}
			}
			checkPairs(t, s, id0, pairs0)
			// The fault gone, the same pairs go in.
			if err := s.PutPairs(bg, id, pairs); err != nil {
				t.Fatalf("PutPairs after the fault: %v", err)
			}
			checkPairs(t, s, id, pairs)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = vlogOpen(t, dir, opts)
			stopCollector(s)
			checkPairs(t, s, id0, pairs0)
			checkPairs(t, s, id, pairs)
		})
	}
}

// TestSliverLogDirectWrites checks the slivers written with direct I/O: at
// aligned offsets, padded with zeros, through a handle with O_DIRECT set that
// closes once the segment is sealed, beside buffered small slivers in the
// same segment; and that a direct handle that cannot be opened leaves the
// writes buffered.
func TestSliverLogDirectWrites(t *testing.T) {
	dir := t.TempDir()
	fault := &sliverFault{dir: filepath.Join(dir, sliverLogDir), kinds: []errorfs.OpKind{errorfs.OpOpen}}
	opts := Options{FS: errorfs.Wrap(vfs.Default, fault), MinLoggedSliver: 10_000}
	s := vlogOpen(t, dir, opts)
	stopCollector(s)
	// Small (34,304 + 17,408 bytes, buffered), big (274,432 + 139,264:
	// the primary direct), small again, big again (268,134 bytes, from an
	// aligned address).
	type blob struct {
		id    encoding.BlobID
		pairs []ShardPair
	}
	var blobs []blob
	for k, sz := range []int{512, 4096, 512, 4002} {
		id, pairs := vlogPairs(uint64(500+k), sz, 1)
		if k == 3 {
			// At an aligned address, as the p2p server reads slivers: the
			// data goes to disk from there but for its last partial block.
			d := pairs[0].Pair.Primary.Data
			buf := make([]byte, len(d)+directAlign)
			a := int(alignUp(int64(addr(buf)))) - int(addr(buf))
			pairs[0].Pair.Primary.Data = buf[a : a+len(d)]
			copy(pairs[0].Pair.Primary.Data, d)
			if len(d)%directAlign == 0 {
				t.Fatal("the aligned sliver has no partial last block")
			}
		}
		if err := s.PutPairs(bg, id, pairs); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, blob{id, pairs})
	}
	s.vlog.mu.Lock()
	active := s.vlog.active
	direct := active.direct
	s.vlog.mu.Unlock()
	if direct == nil {
		t.Skip("the file system of the test's directory takes no O_DIRECT")
	}
	// The handle has O_DIRECT (octal 040000 on amd64 and arm64) in its flags.
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", direct.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	var flags uint64
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, _ = strconv.ParseUint(strings.TrimSpace(v), 8, 64)
		}
	}
	if flags&0o40000 == 0 {
		t.Errorf("the direct handle's flags are %o, without O_DIRECT", flags)
	}
	seg, err := os.ReadFile(segPath(dir, active.id))
	if err != nil {
		t.Fatal(err)
	}
	aligned := 0
	for _, b := range blobs {
		checkPairs(t, s, b.id, b.pairs)
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			ref := refOf(t, s, sliverKey(1, axis, b.id))
			wantDirect := ref.n >= directMinSliver
			if isAligned := ref.off%directAlign == 0; wantDirect && !isAligned {
				t.Errorf("a sliver of %d bytes at offset %d, not aligned", ref.n, ref.off)
			}
			if !wantDirect {
				continue
			}
			aligned++
			end := ref.off + uint64(ref.n)
			want := b.pairs[0].Pair.Primary.Data
			if axis == encoding.Secondary {
				want = b.pairs[0].Pair.Secondary.Data
			}
			if !bytes.Equal(seg[ref.off:end], want) {
				t.Errorf("segment bytes at %d are not the sliver's", ref.off)
			}
			pad := seg[end:alignUp(int64(end))]
			if !bytes.Equal(pad, make([]byte, len(pad))) {
				t.Errorf("the padding after %d is not zeros", end)
			}
		}
	}
	if aligned != 2 {
		t.Errorf("%d slivers written directly, want 2", aligned)
	}
	// Sealed, the segment drops its direct handle.
	s.vlog.seal()
	s.vlog.mu.Lock()
	if active.direct != nil {
		t.Error("a sealed segment keeps its direct handle")
	}
	s.vlog.mu.Unlock()
	// A new segment whose direct handle cannot be opened: the big pair is
	// written buffered, right after the previous sliver.
	id, pairs := vlogPairs(510, 512, 1)
	if err := s.PutPairs(bg, id, pairs); err != nil {
		t.Fatal(err)
	}
	fault.on.Store(true)
	bigID, big := vlogPairs(511, 4096, 1)
	err = s.PutPairs(bg, bigID, big)
	fault.on.Store(false)
	if err != nil {
		t.Fatalf("PutPairs without a direct handle: %v", err)
	}
	if fault.hits.Load() == 0 {
		t.Fatal("the open of the direct handle was never failed")
	}
	prev := refOf(t, s, sliverKey(1, encoding.Secondary, id))
	if ref := refOf(t, s, sliverKey(1, encoding.Primary, bigID)); ref.off != prev.off+uint64(prev.n) {
		t.Errorf("buffered big sliver at %d, want it right after the previous one (%d)", ref.off, prev.off+uint64(prev.n))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = vlogOpen(t, dir, opts)
	stopCollector(s)
	for _, b := range append(blobs, blob{id, pairs}, blob{bigID, big}) {
		checkPairs(t, s, b.id, b.pairs)
	}
}

func TestParseRefRejects(t *testing.T) {
	valid := sliverRef{seg: 1, off: uint64(len(segmentHeader)), n: 68, crc: 0xdeadbeef, symbolSize: 2, index: 7}
	enc := func(mod func(r *sliverRef)) []byte {
		r := valid
		mod(&r)
		return r.appendPayload(nil)
	}
	tests := []struct {
		name string
		p    []byte
		want string // in the error; "" = valid
	}{
		{"valid", enc(func(*sliverRef) {}), ""},
		{"largest", enc(func(r *sliverRef) {
			r.seg, r.off, r.n, r.symbolSize, r.index = ^uint32(0), ^uint64(0), ^uint32(0)-1, 2, ^uint16(0)
		}), ""},
		{"empty", nil, "of 0 bytes, want 25"},
		{"short", enc(func(*sliverRef) {})[:refPayloadLen-1], "of 24 bytes, want 25"},
		{"long", append(enc(func(*sliverRef) {}), 0), "of 26 bytes, want 25"},
		{"with leaves", append(enc(func(*sliverRef) {}), make([]byte, 2*leafLen)...), ""},
		{"partial leaf", append(enc(func(*sliverRef) {}), make([]byte, leafLen+1)...), "of 58 bytes, want 25"},
		{"too many leaves", append(enc(func(*sliverRef) {}), make([]byte, (maxRefLeaves+1)*leafLen)...), "want 25 and up to"},
		{"inline marker", append([]byte{0x01}, enc(func(*sliverRef) {})[1:]...), "sliver reference of 25 bytes"},
		{"segment 0", enc(func(r *sliverRef) { r.seg = 0 }), "segment 0"},
		{"offset in the header", enc(func(r *sliverRef) { r.off = uint64(len(segmentHeader)) - 1 }), "offset 15"},
		{"offset 0", enc(func(r *sliverRef) { r.off = 0 }), "offset 0"},
		{"no data", enc(func(r *sliverRef) { r.n = 0 }), "0 bytes"},
		{"symbol size 0", enc(func(r *sliverRef) { r.symbolSize = 0 }), "symbol size 0"},
		{"odd symbol size", enc(func(r *sliverRef) { r.symbolSize, r.n = 3, 69 }), "symbol size 3"},
		{"partial symbol", enc(func(r *sliverRef) { r.n = 67 }), "67 bytes, symbol size 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseRef(tc.p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("parseRef: %v", err)
				}
				if got := r.appendPayload(nil); !bytes.Equal(got, tc.p) {
					t.Errorf("round trip %x → %+v → %x", tc.p, r, got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || r.seg != 0 || r.leaves != nil {
				t.Errorf("parseRef(%x) = %+v, %v; want an error with %q", tc.p, r, err, tc.want)
			}
		})
	}
	// A reference is never mistaken for an inline sliver, nor the reverse.
	if !isRef(enc(func(*sliverRef) {})) || isRef(nil) {
		t.Error("isRef")
	}
	sl := encoding.Sliver{Axis: encoding.Primary, SymbolSize: 2, Data: make([]byte, 2)}
	if isRef(sl.AppendBCS(nil)) {
		t.Error("an inline sliver's BCS starts with the reference marker")
	}
}

func FuzzParseRef(f *testing.F) {
	f.Add((&sliverRef{seg: 1, off: 16, n: 4288, crc: 1, symbolSize: 64, index: 3}).appendPayload(nil))
	f.Add((&sliverRef{seg: ^uint32(0), off: ^uint64(0), n: 2, symbolSize: 2}).appendPayload(nil))
	f.Add(make([]byte, refPayloadLen))
	f.Add([]byte{0})
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, refPayloadLen))
	f.Add(append((&sliverRef{seg: 1, off: 16, n: 4288, symbolSize: 64}).appendPayload(nil), make([]byte, 3*leafLen)...))
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := parseRef(p)
		if err != nil {
			return
		}
		if !isRef(p) {
			t.Fatalf("parseRef accepted %x, which isRef rejects", p)
		}
		if got := r.appendPayload(nil); !bytes.Equal(got, p) {
			t.Fatalf("%x → %+v → %x", p, r, got)
		}
		if r.seg == 0 || r.off < uint64(len(segmentHeader)) || r.n == 0 || r.symbolSize == 0 || r.symbolSize%2 != 0 || r.n%uint32(r.symbolSize) != 0 {
			t.Fatalf("parseRef accepted %+v", r)
		}
	})
}

func TestOptionsValidateSliverLog(t *testing.T) {
	var d Options
	d.EnsureDefaults()
	if d.MinLoggedSliver != DefaultMinLoggedSliver || d.SliverSegmentSize != DefaultSliverSegmentSize {
		t.Errorf("defaults: MinLoggedSliver %d, SliverSegmentSize %d", d.MinLoggedSliver, d.SliverSegmentSize)
	}
	tests := []struct {
		name      string
		minLogged int
		segSize   int64
		want      []string // nil = valid
	}{
		{"defaults", DefaultMinLoggedSliver, DefaultSliverSegmentSize, nil},
		{"smallest", MinMinLoggedSliver, MinSliverSegmentSize, nil},
		{"largest", MaxMinLoggedSliver, MaxSliverSegmentSize, nil},
		{"MinLoggedSliver below MinMinLoggedSliver", MinMinLoggedSliver - 1, DefaultSliverSegmentSize,
			[]string{fmt.Sprintf("MinLoggedSliver (%d) must be in [%d, %d]", MinMinLoggedSliver-1, MinMinLoggedSliver, MaxMinLoggedSliver)}},
		{"MinLoggedSliver negative", -1, DefaultSliverSegmentSize, []string{"MinLoggedSliver (-1)"}},
		{"MinLoggedSliver above MaxMinLoggedSliver", MaxMinLoggedSliver + 1, DefaultSliverSegmentSize,
			[]string{fmt.Sprintf("MinLoggedSliver (%d)", MaxMinLoggedSliver+1)}},
		{"SliverSegmentSize below MinSliverSegmentSize", DefaultMinLoggedSliver, MinSliverSegmentSize - 1,
			[]string{fmt.Sprintf("SliverSegmentSize (%d) must be in [%d, %d]", MinSliverSegmentSize-1, MinSliverSegmentSize, MaxSliverSegmentSize)}},
		{"SliverSegmentSize above MaxSliverSegmentSize", DefaultMinLoggedSliver, MaxSliverSegmentSize + 1,
			[]string{fmt.Sprintf("SliverSegmentSize (%d)", int64(MaxSliverSegmentSize)+1)}},
		{"both", 0, -1, []string{"MinLoggedSliver (0)", "SliverSegmentSize (-1)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			o.EnsureDefaults()
			o.MinLoggedSliver, o.SliverSegmentSize = tc.minLogged, tc.segSize
			err := o.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
			// Open refuses them too, creating nothing (but where a 0
			// would be replaced by its default).
			if tc.minLogged == 0 || tc.segSize == 0 {
				return
			}
			dir := filepath.Join(t.TempDir(), "db")
			if _, err := Open(dir, o); !errors.Is(err, ErrInvalid) {
				t.Errorf("Open = %v, want ErrInvalid", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Open with invalid options created %s (%v)", dir, err)
			}
		})
	}
}

// TestCrashAtomicityVlog is TestCrashAtomicity with every sliver logged, in
// segments of crashVlogSegment bytes, and collections running without pause
// in the child: after each kill, every pair is whole or absent (verifyCrash),
// every sliver is a reference to a segment that is there, and a collection
// then leaves every pair readable.
func TestCrashAtomicityVlog(t *testing.T) {
	t.Parallel() // with TestSliverLogBackgroundCollection, which waits
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	crashAtomicity(t, 2, []string{crashVlogEnv + "=1"}, func(t *testing.T, dir string, _ crashLog) {
		s, err := Open(dir, crashOptions(t))
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s.Close()
		stopCollector(s)
		refs := 0
		p := prefix(tagSliver)
		err = s.scan(bg, s.db, p, prefixEnd(p), func(key, payload []byte) (bool, error) {
			if !isRef(payload) {
				t.Errorf("%s is inline; the child logs every sliver", describeKey(key))
				return true, nil
			}
			ref, err := parseRef(payload)
			if err != nil {
				return false, err
			}
			if sg, size, err := s.vlog.acquire(ref.seg); err != nil {
				t.Errorf("%s refers to segment %d, which is not in the log", describeKey(key), ref.seg)
			} else {
				if ref.off+uint64(ref.n) > uint64(size) {
					t.Errorf("%s refers to [%d, %d) of segment %d of %d bytes", describeKey(key), ref.off, ref.off+uint64(ref.n), ref.seg, size)
				}
				sg.release()
			}
			refs++
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if refs == 0 {
			t.Fatal("no logged sliver in the store")
		}
		s.vlog.seal()
		res, err := s.CollectSlivers(bg)
		if err != nil {
			t.Fatalf("CollectSlivers after the kill: %v", err)
		}
		ops := map[uint64]bool{}
		p = prefix(tagShardPair)
		err = s.scan(bg, s.db, p, prefixEnd(p), func(key, _ []byte) (bool, error) {
			ki, err := parseKey(key)
			if err != nil {
				return false, err
			}
			ops[binary.BigEndian.Uint64(ki.blobID[:8])] = true
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for k := range ops {
			checkCrashOp(t, s, k)
		}
		t.Logf("%d references to the log; the collection after the kill: %+v; %d ops read back", refs, res, len(ops))
	})
}

// TestSliverBadReference stores references that pass their envelope but
// name bytes no segment holds, as a bug could write them, and checks that
// reading one is ErrCorrupt naming the key, and allocates no more than the
// segment could hold.
func TestSliverBadReference(t *testing.T) {
	s, _ := openTest(t, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver})
	stopCollector(s)
	id, pairs := vlogPairs(500, 64, 0)
	if err := s.PutPairs(bg, id, pairs); err != nil {
		t.Fatal(err)
	}
	key := sliverKey(0, encoding.Primary, id)
	good := refOf(t, s, key)
	segEnd := uint64(len(segmentHeader)) + uint64(len(pairs[0].Pair.Primary.Data)+len(pairs[0].Pair.Secondary.Data))
	tests := []struct {
		name string
		mod  func(r *sliverRef)
	}{
		{"no such segment", func(r *sliverRef) { r.seg = 999 }},
		{"past the end", func(r *sliverRef) { r.off = segEnd }},
		{"across the end", func(r *sliverRef) { r.off = segEnd - 2 }},
		{"offset of 2^63", func(r *sliverRef) { r.off = 1 << 63 }},
		{"largest offset", func(r *sliverRef) { r.off = ^uint64(0) }},
		{"offset and length wrap", func(r *sliverRef) { r.off, r.n = 1<<63-2, 4 }},
		{"huge length", func(r *sliverRef) { r.n = 1<<31 - 2; r.symbolSize = 2 }},
		{"wrong checksum", func(r *sliverRef) { r.crc ^= 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.mod(&r)
			reseal(t, s, key, r.appendPayload(nil))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := s.Sliver(bg, 0, id, encoding.Primary)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrIO) || !strings.Contains(err.Error(), describeKey(key)) {
				t.Errorf("Sliver of reference %+v = %v, want ErrCorrupt naming the key", r, err)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
				t.Errorf("reading reference %+v allocated %d bytes", r, a)
			}
			if _, err := s.ShardSlivers(bg, 0, encoding.Primary, Page{}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("ShardSlivers over reference %+v = %v, want ErrCorrupt", r, err)
			}
		})
	}
	// A collection keeps such a reference, and the segment.
	s.vlog.seal()
	if _, err := s.CollectSlivers(bg); err != nil {
		t.Fatal(err)
	}
	got, err := s.Sliver(bg, 0, id, encoding.Secondary)
	if err != nil || !sliverEqual(got, pairs[0].Pair.Secondary) {
		t.Errorf("the pair's other sliver: %v", err)
	}
}

// TestSliverGCPlan checks which segments a collection removes outright
// and which it empties, by their live bytes, within the move limit.
func TestSliverGCPlan(t *testing.T) {
	const h = len(segmentHeader)
	seg := func(size int64, live uint64) segUse { return segUse{size: int64(h) + size, live: live} }
	tests := []struct {
		name       string
		segs       map[uint32]segUse
		limit      uint64
		dead, move []uint32
	}{
		{"dead, sparse and dense", map[uint32]segUse{1: seg(1000, 0), 2: seg(1000, 499), 3: seg(1000, 500), 4: seg(1000, 1000)},
			maxGCMoveBytes, []uint32{1}, []uint32{2}},
		{"header only", map[uint32]segUse{5: seg(0, 0)}, maxGCMoveBytes, []uint32{5}, nil},
		{"limit reached", map[uint32]segUse{1: seg(1000, 400), 2: seg(1000, 400), 3: seg(1000, 200), 4: seg(1000, 100)},
			1000, nil, []uint32{1, 2, 3}},
		{"skips one over the rest of the limit", map[uint32]segUse{1: seg(1000, 400), 2: seg(1000, 400), 3: seg(1000, 300)},
			1000, nil, []uint32{1, 2}},
		// A segment with more live bytes than the limit (a 4 GiB segment
		// with 1.5 GiB live, against maxGCMoveBytes) is moved alone.
		{"first over the limit", map[uint32]segUse{7: seg(4000, 1500), 8: seg(4000, 100)},
			1000, nil, []uint32{7}},
		{"real sizes", map[uint32]segUse{1: seg(MaxSliverSegmentSize, 3<<29), 2: seg(MaxSliverSegmentSize, 0)},
			maxGCMoveBytes, []uint32{2}, []uint32{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cands := map[uint32]*segUse{}
			for id, u := range tc.segs {
				u.seg = &segment{id: id}
				cands[id] = &u
			}
			dead, sparse := planCollection(cands, tc.limit)
			var gotDead []uint32
			for _, u := range dead {
				gotDead = append(gotDead, u.seg.id)
			}
			gotMove := slices.Sorted(maps.Keys(sparse))
			if !slices.Equal(gotDead, tc.dead) || !slices.Equal(gotMove, tc.move) {
				t.Errorf("planCollection = dead %v, move %v; want %v, %v", gotDead, gotMove, tc.dead, tc.move)
			}
		})
	}
}

// opLog is an errorfs injector that fails nothing and records the
// operations on the paths under dir, in order.
type opLog struct {
	dir string
	mu  sync.Mutex
	ops []errorfs.Op
}

func (l *opLog) String() string { return "op log" }

func (l *opLog) MaybeError(op errorfs.Op) error {
	if strings.HasPrefix(op.Path, l.dir) {
		l.mu.Lock()
		l.ops = append(l.ops, op)
		l.mu.Unlock()
	}
	return nil
}

// TestSliverLogDirSynced checks, on the real file system wrapped to record
// its operations, that a new store makes its slivers directory durable in
// the store's directory (a sync of the store's directory after the mkdir)
// before the first reference to a segment in it commits: the segment files'
// own entries are synced in slivers/, which is no use if slivers/ itself is
// lost.
func TestSliverLogDirSynced(t *testing.T) {
	dir := t.TempDir()
	log := &opLog{dir: dir}
	opts := Options{FS: errorfs.Wrap(vfs.Default, log), MinLoggedSliver: MinMinLoggedSliver}
	s := vlogOpen(t, dir, opts)
	stopCollector(s)
	id, pairs := vlogPairs(700, 64, 0)
	if err := s.PutPairs(bg, id, pairs); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	ops := slices.Clone(log.ops)
	log.mu.Unlock()
	slv := filepath.Join(dir, sliverLogDir)
	mkdir := slices.IndexFunc(ops, func(op errorfs.Op) bool { return op.Kind == errorfs.OpMkdirAll && op.Path == slv })
	if mkdir < 0 {
		t.Fatalf("no MkdirAll of %s among %d operations", slv, len(ops))
	}
	synced := slices.ContainsFunc(ops[mkdir:], func(op errorfs.Op) bool {
		return op.Kind == errorfs.OpFileSync && filepath.Clean(op.Path) == filepath.Clean(dir)
	})
	if !synced {
		t.Errorf("the store's directory was not synced after %s was created", slv)
	}
}

// TestSliverLogMaxSegments checks that the log creates no segment past
// maxSegments, and creates them again once under it.
func TestSliverLogMaxSegments(t *testing.T) {
	l, err := openSliverLog(vfs.Default, t.TempDir(), MinSliverSegmentSize, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	sg, _, _, err := l.reserve(10)
	if err != nil {
		t.Fatal(err)
	}
	l.finish(sg)
	// Stand-ins for segments 2 to maxSegments, taken out before close.
	l.mu.Lock()
	for id := uint32(2); id <= maxSegments; id++ {
		l.segs[id] = &segment{id: id}
	}
	l.nextID = maxSegments + 1
	l.mu.Unlock()
	l.seal()
	if _, _, _, err := l.reserve(10); !errors.Is(err, ErrIO) || !strings.Contains(err.Error(), fmt.Sprint(maxSegments)) {
		t.Errorf("reserve with %d segments = %v, want ErrIO naming the limit", maxSegments, err)
	}
	l.mu.Lock()
	for id := uint32(2); id <= maxSegments; id++ {
		delete(l.segs, id)
	}
	l.mu.Unlock()
	sg, _, _, err = l.reserve(10)
	if err != nil {
		t.Fatalf("reserve under the limit again: %v", err)
	}
	if sg.id != maxSegments+1 {
		t.Errorf("new segment %d, want %d", sg.id, maxSegments+1)
	}
	l.finish(sg)
}

// TestSliverLogBackgroundCollection checks that the background collection
// removes a sealed segment without live slivers sliverGCDelay after a
// deletion kicked it (the first after Open's own kick, then one that only a
// deletion's kick can start), and that Compact collects the active
// segment's garbage too. It runs in parallel: it mostly waits.
func TestSliverLogBackgroundCollection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Segments of 8 KiB: each pair (4,288 + 2,176 bytes) fills one.
	s := vlogOpen(t, dir, Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver, SliverSegmentSize: 8 << 10})
	var ids []encoding.BlobID
	var pairs [][]ShardPair
	for k := range uint64(3) {
		id, ps := vlogPairs(800+k, 64, 0)
		if err := s.PutPairs(bg, id, ps); err != nil {
			t.Fatal(err)
		}
		ids, pairs = append(ids, id), append(pairs, ps)
	}
	first := refOf(t, s, sliverKey(0, encoding.Primary, ids[0])).seg
	last := refOf(t, s, sliverKey(0, encoding.Primary, ids[2])).seg
	if first == last {
		t.Fatalf("blobs 0 and 2 in one segment (%d)", first)
	}
	second := refOf(t, s, sliverKey(0, encoding.Primary, ids[1])).seg
	if second == first || second == last {
		t.Fatalf("blob 1 in segment %d, with another", second)
	}
	waitGone := func(seg uint32) {
		t.Helper()
		const patience = sliverGCDelay + 3*time.Second
		deadline := time.Now().Add(patience)
		for {
			if _, ok := segFiles(t, dir)[seg]; !ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("segment %d, without live slivers, still on disk %v after the deletion", seg, patience)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := s.DeletePair(bg, 0, ids[0]); err != nil {
		t.Fatal(err)
	}
	waitGone(first)
	checkPairs(t, s, ids[1], pairs[1])
	checkPairs(t, s, ids[2], pairs[2])
	if err := s.DeletePair(bg, 0, ids[1]); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitGone(second)
	if d := time.Since(start); d < sliverGCDelay/2 {
		t.Errorf("segment %d collected %v after the deletion; the collection waits %v", second, d, sliverGCDelay)
	}
	checkPairs(t, s, ids[2], pairs[2])
	// The last pair's segment is the active one: Compact seals it first.
	if err := s.DeletePair(bg, 0, ids[2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(bg); err != nil {
		t.Fatal(err)
	}
	if _, ok := segFiles(t, dir)[last]; ok {
		t.Errorf("segment %d, active and without live slivers, survived Compact", last)
	}
	checkGone(t, s, ids[2], 0)
}

// TestSliverLogSyncedPairs checks that a shard sync's batch logs its large
// slivers too, and that a failing sliver log stores none of the batch: no
// pair, no cursor.
func TestSliverLogSyncedPairs(t *testing.T) {
	dir := t.TempDir()
	fault := &sliverFault{dir: filepath.Join(dir, sliverLogDir), kinds: []errorfs.OpKind{errorfs.OpFileWriteAt}, skip: 2}
	s := vlogOpen(t, dir, Options{FS: errorfs.Wrap(vfs.Default, fault), MinLoggedSliver: MinMinLoggedSliver})
	stopCollector(s)
	const shard = 9
	var synced []SyncedPair
	for k := range uint64(3) {
		id, ps := vlogPairs(900+k, 128, shard)
		synced = append(synced, SyncedPair{BlobID: id, Pair: ps[0].Pair})
	}
	cur := SyncCursor{Epoch: 3, After: synced[2].BlobID}
	fault.on.Store(true)
	err := s.PutSyncedPairs(bg, shard, synced, cur)
	fault.on.Store(false)
	if !errors.Is(err, ErrIO) {
		t.Fatalf("PutSyncedPairs with the third sliver write failing = %v, want ErrIO", err)
	}
	if c, err := s.SyncCursor(bg, shard); !errors.Is(err, ErrNotFound) {
		t.Errorf("SyncCursor after a failed PutSyncedPairs = %+v, %v; want ErrNotFound", c, err)
	}
	for _, sp := range synced {
		checkGone(t, s, sp.BlobID, shard)
	}
	if err := s.PutSyncedPairs(bg, shard, synced, cur); err != nil {
		t.Fatal(err)
	}
	if c, err := s.SyncCursor(bg, shard); err != nil || c != cur {
		t.Errorf("SyncCursor = %+v, %v; want %+v", c, err, cur)
	}
	for _, sp := range synced {
		refOf(t, s, sliverKey(shard, encoding.Primary, sp.BlobID))
		refOf(t, s, sliverKey(shard, encoding.Secondary, sp.BlobID))
		checkPairs(t, s, sp.BlobID, []ShardPair{{Shard: shard, Pair: sp.Pair}})
	}
}

// TestSliverLogReadFaults fails the reads of segment files: Sliver and
// ShardSlivers report ErrIO naming the key (a disk's fault, not a sliver to
// repair), a collection moves nothing it cannot read and loses nothing, and
// reads succeed once the fault is gone.
func TestSliverLogReadFaults(t *testing.T) {
	dir := t.TempDir()
	fault := &sliverFault{dir: filepath.Join(dir, sliverLogDir), kinds: []errorfs.OpKind{errorfs.OpFileReadAt}}
	s := vlogOpen(t, dir, Options{FS: errorfs.Wrap(vfs.Default, fault), DisableSync: true, MinLoggedSliver: MinMinLoggedSliver})
	stopCollector(s)
	var ids []encoding.BlobID
	var pairs [][]ShardPair
	for k := range uint64(4) {
		id, ps := vlogPairs(1000+k, 64, 0)
		if err := s.PutPairs(bg, id, ps); err != nil {
			t.Fatal(err)
		}
		ids, pairs = append(ids, id), append(pairs, ps)
	}
	s.vlog.seal()
	for _, k := range []int{1, 2, 3} { // a sparse segment
		if err := s.DeletePair(bg, 0, ids[k]); err != nil {
			t.Fatal(err)
		}
	}
	before := rawPayload(t, s, sliverKey(0, encoding.Primary, ids[0]))
	fault.on.Store(true)
	key := describeKey(sliverKey(0, encoding.Primary, ids[0]))
	if _, err := s.Sliver(bg, 0, ids[0], encoding.Primary); !errors.Is(err, ErrIO) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) {
		t.Errorf("Sliver with failing reads = %v, want ErrIO naming %s", err, key)
	}
	if _, err := s.ShardSlivers(bg, 0, encoding.Primary, Page{}); !errors.Is(err, ErrIO) || errors.Is(err, ErrCorrupt) {
		t.Errorf("ShardSlivers with failing reads = %v, want ErrIO", err)
	}
	res, err := s.CollectSlivers(bg)
	fault.on.Store(false)
	if err != nil || res.Moved != 0 || res.Removed != 0 {
		t.Errorf("CollectSlivers with failing reads = %+v, %v; want nothing moved or removed", res, err)
	}
	if after := rawPayload(t, s, sliverKey(0, encoding.Primary, ids[0])); !bytes.Equal(before, after) {
		t.Errorf("a collection that could not read a sliver changed its reference")
	}
	checkPairs(t, s, ids[0], pairs[0])
	res, err = s.CollectSlivers(bg)
	if err != nil || res.Moved != 2 || res.Removed != 1 {
		t.Errorf("CollectSlivers once reads work = %+v, %v; want 2 slivers moved and the segment removed", res, err)
	}
	checkPairs(t, s, ids[0], pairs[0])
}

// TestSliverLogKeepValuesInTables checks that KeepValuesInTables keeps every
// sliver in Pebble, whatever MinLoggedSliver says.
func TestSliverLogKeepValuesInTables(t *testing.T) {
	dir := t.TempDir()
	s := vlogOpen(t, dir, Options{DisableSync: true, KeepValuesInTables: true, MinLoggedSliver: MinMinLoggedSliver})
	id, pairs := vlogPairs(1100, 512, 0)
	if err := s.PutPairs(bg, id, pairs); err != nil {
		t.Fatal(err)
	}
	for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
		if isRef(rawPayload(t, s, sliverKey(0, axis, id))) {
			t.Errorf("%s sliver logged under KeepValuesInTables", axis)
		}
	}
	checkPairs(t, s, id, pairs)
	if files := segFiles(t, dir); len(files) != 0 {
		t.Errorf("segment files %v under KeepValuesInTables", files)
	}
}

// TestSliverLogSyncFailureSticky checks that once a sync of a segment fails,
// a batch that wrote to the segment before it fails too, though its own sync
// would succeed (the kernel reports a writeback error once, and may have
// dropped that batch's pages with the failing one's), and that new writes go
// to another segment.
func TestSliverLogSyncFailureSticky(t *testing.T) {
	dir := t.TempDir()
	fault := &sliverFault{dir: filepath.Join(dir, sliverLogDir), kinds: []errorfs.OpKind{errorfs.OpFileSyncData}, max: 1}
	s := vlogOpen(t, dir, Options{FS: errorfs.Wrap(vfs.Default, fault), MinLoggedSliver: MinMinLoggedSliver})
	stopCollector(s)
	_, pairs := vlogPairs(1200, 64, 0)
	// Two batches write to the active segment; the first one's sync fails.
	w1, w2 := &logWriter{l: s.vlog}, &logWriter{l: s.vlog}
	r1, err := w1.write(&pairs[0].Pair.Primary, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := w2.write(&pairs[0].Pair.Secondary, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1.seg != r2.seg {
		t.Fatalf("the batches wrote to segments %d and %d, want one", r1.seg, r2.seg)
	}
	fault.on.Store(true)
	err1 := w1.sync()
	err2 := w2.sync()
	fault.on.Store(false)
	w1.done()
	w2.done()
	if !errors.Is(err1, ErrIO) {
		t.Errorf("the failing sync = %v, want ErrIO", err1)
	}
	if fault.hits.Load() < 1 {
		t.Fatal("the fault was never hit")
	}
	if !errors.Is(err2, ErrIO) {
		t.Errorf("a sync after another batch's failed sync of the same segment = %v, want ErrIO", err2)
	}
	// The segment takes no more writes; new pairs go in.
	id, ps := vlogPairs(1201, 64, 0)
	if err := s.PutPairs(bg, id, ps); err != nil {
		t.Fatalf("PutPairs after the failed sync: %v", err)
	}
	if seg := refOf(t, s, sliverKey(0, encoding.Primary, id)).seg; seg == r1.seg {
		t.Errorf("a new pair went to segment %d, whose sync failed", seg)
	}
	checkPairs(t, s, id, ps)
}

// TestSliverLogReopenAppends checks that writes after Open go on in the last
// segment, after what a crash left at its end (here, bytes no reference
// names), rather than beginning a new segment per Open; and that a full last
// segment, or one with a damaged header, is not written to.
func TestSliverLogReopenAppends(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DisableSync: true}
	var ids []encoding.BlobID
	var pairs [][]ShardPair
	put := func(s *Store, k uint64) {
		t.Helper()
		id, sp := vlogPairs(k, 1024, 3, 4)
		if err := s.PutPairs(bg, id, sp); err != nil {
			t.Fatal(err)
		}
		ids, pairs = append(ids, id), append(pairs, sp)
	}
	checkAll := func(s *Store) {
		t.Helper()
		for i := range ids {
			checkPairs(t, s, ids[i], pairs[i])
		}
	}
	s := vlogOpen(t, dir, opts)
	put(s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn write's tail: bytes past every reference.
	f, err := os.OpenFile(segPath(dir, 1), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte{0xa5}, 3000)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before := segFiles(t, dir)[1]
	for round := uint64(2); round <= 4; round++ {
		s = vlogOpen(t, dir, opts)
		put(s, round)
		checkAll(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	files := segFiles(t, dir)
	if len(files) != 1 || files[1] <= before {
		t.Fatalf("segments %v after three reopens, want segment 1 alone, grown past %d bytes", files, before)
	}
	s = vlogOpen(t, dir, opts)
	checkAll(s)
	if ref := refOf(t, s, sliverKey(3, encoding.Primary, ids[1])); ref.seg != 1 || ref.off < uint64(before) {
		t.Errorf("the first write after the torn tail went to segment %d offset %d, want segment 1 from %d", ref.seg, ref.off, before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A last segment at its size is full: the next write begins another.
	full := segFiles(t, dir)[1]
	small := Options{DisableSync: true, SliverSegmentSize: MinSliverSegmentSize}
	s = vlogOpen(t, dir, small)
	put(s, 5)
	checkAll(s)
	if ref := refOf(t, s, sliverKey(3, encoding.Primary, ids[4])); ref.seg == 1 {
		t.Errorf("a write went to segment 1, of %d bytes, past SliverSegmentSize %d", full, MinSliverSegmentSize)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files = segFiles(t, dir)
	if files[1] != full {
		t.Errorf("segment 1 grew from %d to %d bytes", full, files[1])
	}
	// A damaged header in the last segment: never written to again (and
	// its slivers are corrupt).
	last := uint32(0)
	for id := range files {
		last = max(last, id)
	}
	flipFileByte(t, segPath(dir, last), 0, 0x01)
	lastSize := files[last]
	s = vlogOpen(t, dir, opts)
	put(s, 6)
	if ref := refOf(t, s, sliverKey(3, encoding.Primary, ids[len(ids)-1])); ref.seg != last+1 {
		t.Errorf("a write after segment %d's header was damaged went to segment %d, want %d", last, ref.seg, last+1)
	}
	checkPairs(t, s, ids[len(ids)-1], pairs[len(pairs)-1])
	for i := range ids[:4] {
		checkPairs(t, s, ids[i], pairs[i])
	}
	if got := segFiles(t, dir)[last]; got != lastSize {
		t.Errorf("the segment with a damaged header grew from %d to %d bytes", lastSize, got)
	}
}

// TestSliverLogIDsNotReused checks that a segment ID is never handed out
// twice: when the highest segment's file is lost (its references remain, and
// read as corrupt), the next segment gets a new ID, so that the stale
// references cannot name its bytes; and that a damaged HIGHEST file falls
// back to the segment files' IDs.
func TestSliverLogIDsNotReused(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DisableSync: true, SliverSegmentSize: MinSliverSegmentSize}
	s := vlogOpen(t, dir, opts)
	stopCollector(s)
	id1, p1 := vlogPairs(1, 1024, 5)
	id2, p2 := vlogPairs(2, 1024, 5)
	for _, w := range []struct {
		id encoding.BlobID
		p  []ShardPair
	}{{id1, p1}, {id2, p2}} {
		if err := s.PutPairs(bg, w.id, w.p); err != nil {
			t.Fatal(err)
		}
	}
	lost := refOf(t, s, sliverKey(5, encoding.Secondary, id2)).seg
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readHighest(vfs.Default, filepath.Join(dir, sliverLogDir)); got != lost {
		t.Fatalf("HIGHEST records %d, want the last segment created, %d", got, lost)
	}
	if err := os.Remove(segPath(dir, lost)); err != nil {
		t.Fatal(err)
	}
	s = vlogOpen(t, dir, opts)
	stopCollector(s)
	id3, p3 := vlogPairs(3, 1024, 5)
	if err := s.PutPairs(bg, id3, p3); err != nil {
		t.Fatal(err)
	}
	for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
		if seg := refOf(t, s, sliverKey(5, axis, id3)).seg; seg <= lost {
			t.Errorf("a new %s sliver went to segment %d, not past the lost segment %d", axis, seg, lost)
		}
	}
	wantCorrupt(t, s, 5, id2, encoding.Secondary, false)
	checkPairs(t, s, id1, p1)
	checkPairs(t, s, id3, p3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A HIGHEST that does not parse: the files' IDs still bound new ones.
	if err := os.WriteFile(filepath.Join(dir, sliverLogDir, highestFile), []byte("rotten"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	top := uint32(0)
	for id := range files {
		top = max(top, id)
	}
	s = vlogOpen(t, dir, Options{DisableSync: true, SliverSegmentSize: MinSliverSegmentSize})
	id4, p4 := vlogPairs(4, 1024, 5)
	if err := s.PutPairs(bg, id4, p4); err != nil {
		t.Fatal(err)
	}
	if seg := refOf(t, s, sliverKey(5, encoding.Primary, id4)).seg; seg <= top {
		t.Errorf("with HIGHEST damaged, a new sliver went to segment %d, not past the files' highest %d", seg, top)
	}
	checkPairs(t, s, id4, p4)
}

// openSegmentFiles counts the process's open files in the sliver log of dir
// (from /proc/self/fd), or -1 where /proc is not there.
func openSegmentFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	logDir := filepath.Join(dir, sliverLogDir) + string(filepath.Separator)
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, logDir) && strings.HasSuffix(target, segmentSuffix) {
			n++
		}
	}
	return n
}

// TestSliverLogOpenFilesBounded checks that a store with more segments than
// maxOpenSegments keeps at most that many segment files open, while readers
// in parallel read every sliver of every segment back, byte-identical.
func TestSliverLogOpenFilesBounded(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DisableSync: true, MinLoggedSliver: MinMinLoggedSliver, SliverSegmentSize: MinSliverSegmentSize}
	s := vlogOpen(t, dir, opts)
	stopCollector(s)
	const blobs = maxOpenSegments/2 + 40 // two segments each: past the bound
	ids := make([]encoding.BlobID, blobs)
	pairs := make([][]ShardPair, blobs)
	for k := range blobs {
		ids[k], pairs[k] = vlogPairs(uint64(5000+k), 64, 7)
		if err := s.PutPairs(bg, ids[k], pairs[k]); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(segFiles(t, dir)); got < 2*blobs {
		t.Fatalf("%d segments, want %d or more", got, 2*blobs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = vlogOpen(t, dir, opts)
	stopCollector(s)
	if n := openSegmentFiles(t, dir); n > 1 {
		t.Errorf("%d segment files open after Open, want at most the active one", n)
	}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range blobs {
				k := (i*5 + r*31) % blobs // 5 is prime to blobs: every blob
				checkPairs(t, s, ids[k], pairs[k])
			}
		}()
	}
	wg.Wait()
	s.vlog.mu.Lock()
	open := s.vlog.open
	s.vlog.mu.Unlock()
	if open > maxOpenSegments {
		t.Errorf("the log counts %d open segments, more than maxOpenSegments (%d)", open, maxOpenSegments)
	}
	if n := openSegmentFiles(t, dir); n > maxOpenSegments || (n >= 0 && n != open) {
		t.Errorf("%d segment files open, the log counts %d; want at most %d", n, open, maxOpenSegments)
	}
	// A collection after deletions closes and removes segments it never opened.
	for k := range blobs / 2 {
		if err := s.DeletePair(bg, 7, ids[k]); err != nil {
			t.Fatal(err)
		}
	}
	s.vlog.seal()
	res, err := s.CollectSlivers(bg)
	if err != nil || res.Removed < blobs {
		t.Fatalf("CollectSlivers = %+v, %v; want %d or more segments removed", res, err, blobs)
	}
	for k := blobs / 2; k < blobs; k++ {
		checkPairs(t, s, ids[k], pairs[k])
	}
	if n := openSegmentFiles(t, dir); n > maxOpenSegments {
		t.Errorf("%d segment files open after the collection", n)
	}
}

// diskBytes is the size of the log's segments, as it counts them.
func (l *sliverLog) diskBytes() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n uint64
	for _, sg := range l.segs {
		n += uint64(sg.size)
	}
	return n
}

// TestPutPairsSums checks that PutPairs keeps the checksums a caller gives
// (ShardPair.Sums) in the references, that they are the ones it computes
// itself, and that it trusts them: a wrong one reads back as corrupt.
func TestPutPairsSums(t *testing.T) {
	s := vlogOpen(t, t.TempDir(), Options{MinLoggedSliver: 10_000})
	stopCollector(s)
	id, pairs := vlogPairs(600, 512, 1, 2)
	for i := range pairs {
		p := &pairs[i].Pair
		pairs[i].Sums = &[2]uint32{SliverSum(p.Primary.Data), SliverSum(p.Secondary.Data)}
	}
	pairs[1].Sums[0] ^= 1 // shard 2's primary: a wrong sum
	if err := s.PutPairs(bg, id, pairs); err != nil {
		t.Fatal(err)
	}
	// Without sums the store computes the same ones.
	selfID, self := vlogPairs(601, 512, 1)
	if err := s.PutPairs(bg, selfID, self); err != nil {
		t.Fatal(err)
	}
	if got, want := refOf(t, s, sliverKey(1, encoding.Primary, selfID)).crc, SliverSum(self[0].Pair.Primary.Data); got != want {
		t.Errorf("the store's own sum %08x, SliverSum %08x", got, want)
	}
	if ref := refOf(t, s, sliverKey(1, encoding.Secondary, id)); ref.crc != pairs[0].Sums[1] {
		t.Errorf("reference keeps %08x, given %08x", ref.crc, pairs[0].Sums[1])
	}
	checkPairs(t, s, id, pairs[:1])
	if _, err := s.Sliver(bg, 2, id, encoding.Primary); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a sliver stored with a wrong sum reads %v, want ErrCorrupt", err)
	}
}
