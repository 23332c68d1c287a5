package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/walrus-go/walrus/encoding"
)

// damagedStore writes the metadata, a record and every pair of three blobs
// for 10 shards, plus an event cursor, flushes them into one sstable, closes
// the store and flips one byte of the primary sliver of blob 0 on shard 2 in
// the file. It returns the directory and the blobs.
func damagedStore(t *testing.T) (string, []*encoding.EncodedBlob) {
	t.Helper()
	s, dir := openTest(t, Options{KeepValuesInTables: true})
	var blobs []*encoding.EncodedBlob
	all := []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for i := range 3 {
		// Primary slivers of 37 KiB: a block each, so that the flipped
		// block holds one sliver (and Pebble's search for a flipped bit,
		// a checksum per bit of the block on every read of it, stays short).
		enc := encodeBlob(t, 10, 150_000, uint64(40+i))
		blobs = append(blobs, enc)
		if err := s.PutMetadata(bg, enc.BlobID, enc.Metadata); err != nil {
			t.Fatal(err)
		}
		if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, all...)); err != nil {
			t.Fatal(err)
		}
		err := s.Update(bg, func(tx *Tx) error {
			if err := tx.PutBlobRecord(enc.BlobID, BlobRecord{EndEpoch: 9, RegisteredEpoch: 1, PermanentRegistered: 1,
				UnencodedLength: 150_000}); err != nil {
				return err
			}
			return tx.SetEventCursor([]byte("cursor-1"))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	flushAndFlip(t, s, dir, shardPairs(blobs[0], 2)[0].Pair.Primary.Data[1000:1064])
	return dir, blobs
}

// flushAndFlip flushes s into a table, closes it and flips a byte of needle
// in the table.
func flushAndFlip(t *testing.T, s *Store, dir string, needle []byte) {
	t.Helper()
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	flipInSST(t, dir, needle, 0x40)
}

// TestExciseDamagedTable flips a byte of a flushed table and checks the whole
// repair: VerifyTable finds the table, a read of the damaged sliver notes it
// too, Excise takes it out keeping everything readable, the pairs that lost
// a sliver are gone whole and listed, compactions work again, and rewriting
// the listed pairs gives a store that serves every sliver byte-identical.
func TestExciseDamagedTable(t *testing.T) {
	dir, blobs := damagedStore(t)
	s, err := Open(dir, Options{Logger: testLogger(t), KeepValuesInTables: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	tables, err := s.Tables()
	if err != nil || len(tables) == 0 {
		t.Fatalf("Tables = %v, %v", tables, err)
	}
	var read int
	pace := func(_ context.Context, n int) error { read += n; return nil }
	corrupt := 0
	for _, tb := range tables {
		err := s.VerifyTable(bg, tb, pace)
		if errors.Is(err, ErrCorrupt) {
			corrupt++
		} else if err != nil {
			t.Fatalf("VerifyTable(%s) = %v", tb.Path, err)
		}
	}
	if corrupt != 1 || read == 0 {
		t.Fatalf("VerifyTable found %d corrupt tables (read %d bytes), want 1", corrupt, read)
	}
	// A read of the sliver hits the block too, and notes the same table.
	if _, err := s.Sliver(bg, 2, blobs[0].BlobID, encoding.Primary); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Sliver of the flipped block = %v, want ErrCorrupt", err)
	}
	dmg := s.Damaged()
	if len(dmg) != 1 {
		t.Fatalf("Damaged = %v, want one table", dmg)
	}
	if _, n := s.DamageNoted(); n != 1 {
		t.Errorf("DamageNoted = %d, want 1", n)
	}

	// The damaged table wedges compactions: each that merges it with an
	// overlapping table reads the corrupt block and fails, and Pebble
	// retries it for ever (a manual compaction never returns).
	extra := encodeBlob(t, 10, 150_000, 49)
	if err := s.PutPairs(bg, extra.BlobID, shardPairs(extra, 0, 9)); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	wedged, cancel := context.WithTimeout(bg, 2*time.Second)
	err = s.Compact(wedged)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Compact before Excise = %v, want it stuck until its deadline", err)
	}
	res, err := s.Excise(bg, dmg[0])
	if err != nil {
		t.Fatalf("Excise: %v", err)
	}
	t.Logf("excised: kept %d values (%d B), dropped pairs %v, metadata %v, lost %v", res.Kept, res.KeptBytes, res.Pairs, res.Metadata, res.Lost)
	if len(s.Damaged()) != 0 {
		t.Errorf("Damaged after Excise = %v", s.Damaged())
	}
	dropped := map[PairRef]bool{}
	for _, p := range res.Pairs {
		dropped[p] = true
	}
	if !dropped[PairRef{2, blobs[0].BlobID}] {
		t.Errorf("Excise dropped %v, not the flipped pair", res.Pairs)
	}
	if len(res.Pairs) != 1 || len(res.Lost) != 0 || len(res.Metadata) != 0 || res.LostRecords {
		t.Errorf("Excise dropped %d of 30 pairs, lost %v, metadata %v: want the damaged block's pair only", len(res.Pairs), res.Lost, res.Metadata)
	}
	// Every kept pair is whole and byte-identical; every dropped one is gone,
	// markers and all.
	for _, enc := range blobs {
		if md, err := s.Metadata(bg, enc.BlobID); err != nil || md.BlobID() != enc.BlobID {
			t.Errorf("metadata of %s after Excise: %v", enc.BlobID, err)
		}
		if rec, err := s.BlobRecord(bg, enc.BlobID); err != nil || rec.EndEpoch != 9 {
			t.Errorf("record of %s after Excise: %+v, %v", enc.BlobID, rec, err)
		}
		shards, err := s.StoredShards(bg, enc.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		inBlob := map[uint16]bool{}
		for _, sh := range shards {
			inBlob[sh] = true
		}
		for sh := range uint16(10) {
			has, err := s.HasPair(bg, sh, enc.BlobID)
			if err != nil {
				t.Fatal(err)
			}
			if d := dropped[PairRef{sh, enc.BlobID}]; has == d || inBlob[sh] == d {
				t.Errorf("blob %s shard %d: dropped %v, marker by shard %v, by blob %v", enc.BlobID, sh, d, has, inBlob[sh])
			}
			if !has {
				continue
			}
			want := shardPairs(enc, sh)[0].Pair
			for _, w := range []encoding.Sliver{want.Primary, want.Secondary} {
				if sl, err := s.Sliver(bg, sh, enc.BlobID, w.Axis); err != nil || !sliverEqual(sl, w) {
					t.Errorf("blob %s shard %d %s sliver after Excise: %v", enc.BlobID, sh, w.Axis, err)
				}
			}
		}
	}
	if c, err := s.EventCursor(bg); err != nil || string(c) != "cursor-1" {
		t.Errorf("event cursor after Excise = %q, %v", c, err)
	}
	// Compactions work, and every table verifies.
	if err := s.Compact(bg); err != nil {
		t.Fatalf("Compact after Excise: %v", err)
	}
	tables, _ = s.Tables()
	for _, tb := range tables {
		if err := s.VerifyTable(bg, tb, nil); err != nil {
			t.Errorf("VerifyTable after Excise: %v", err)
		}
	}
	// Rebuilding the dropped pairs (recovery, on a node) makes the store whole.
	for _, p := range res.Pairs {
		for _, enc := range blobs {
			if enc.BlobID == p.BlobID {
				if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, p.Shard)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, enc := range blobs {
		for _, sp := range shardPairs(enc, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9) {
			for _, w := range []encoding.Sliver{sp.Pair.Primary, sp.Pair.Secondary} {
				if sl, err := s.Sliver(bg, sp.Shard, enc.BlobID, w.Axis); err != nil || !sliverEqual(sl, w) {
					t.Errorf("blob %s shard %d %s sliver after the rebuild: %v", enc.BlobID, sp.Shard, w.Axis, err)
				}
			}
		}
	}
	if len(s.Damaged()) != 0 {
		t.Errorf("Damaged at the end = %v", s.Damaged())
	}
}

// TestExciseInvalid refuses an empty range.
func TestExciseInvalid(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.Excise(bg, Damage{Start: []byte{1, 2}, End: []byte{1, 2}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Excise of an empty range = %v, want ErrInvalid", err)
	}
}

// TestExciseLostRecords flips a byte among a table's object records: the
// excision reports the records it lost (LostRecords), and ForgetRecords then
// drops every record written from the chain's events, the event cursor with
// them, and keeps the metadata and the slivers, for a replay to rebuild the
// records exactly.
func TestExciseLostRecords(t *testing.T) {
	s, dir := openTest(t, Options{KeepValuesInTables: true})
	enc := encodeBlob(t, 10, 10_000, 51)
	if err := s.PutMetadata(bg, enc.BlobID, enc.Metadata); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, 0, 1)); err != nil {
		t.Fatal(err)
	}
	var objs []ObjectID
	rng := rand.New(rand.NewPCG(51, 52))
	err := s.Update(bg, func(tx *Tx) error {
		for i := range 400 {
			var id encoding.BlobID
			id[0], id[1], id[31] = byte(i>>8), byte(i), 0x5a
			var obj ObjectID // random, so that the table's compression keeps it whole
			for k := range obj {
				obj[k] = byte(rng.Uint32())
			}
			objs = append(objs, obj)
			if err := tx.PutBlobRecord(id, BlobRecord{EndEpoch: 9, RegisteredEpoch: 1, PermanentRegistered: 1}); err != nil {
				return err
			}
			if err := tx.PutObjectRecord(id, obj, ObjectRecord{EndEpoch: 9}); err != nil {
				return err
			}
		}
		return tx.SetEventCursor([]byte("cursor-7"))
	})
	if err != nil {
		t.Fatal(err)
	}
	flushAndFlip(t, s, dir, objs[200][:])

	s, err = Open(dir, Options{Logger: testLogger(t), KeepValuesInTables: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tables, err := s.Tables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if err := s.VerifyTable(bg, tb, nil); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatal(err)
		}
	}
	dmg := s.Damaged()
	if len(dmg) != 1 {
		t.Fatalf("Damaged = %v, want one table", dmg)
	}
	res, err := s.Excise(bg, dmg[0])
	if err != nil {
		t.Fatal(err)
	}
	if !res.LostRecords || len(res.Lost) == 0 || len(res.Pairs) != 0 {
		t.Fatalf("Excise: LostRecords %v, lost %v, pairs %v: want object records lost, no pair", res.LostRecords, res.Lost, res.Pairs)
	}
	if err := s.ForgetRecords(bg); err != nil {
		t.Fatal(err)
	}
	if page, err := s.ExpiredAt(bg, 1<<31, nil, 0); err != nil || len(page) != 0 {
		t.Errorf("expiry entries after ForgetRecords: %d, %v", len(page), err)
	}
	var id0 encoding.BlobID
	id0[31] = 0x5a
	if _, err := s.BlobRecord(bg, id0); !errors.Is(err, ErrNotFound) {
		t.Errorf("a blob record after ForgetRecords: %v, want ErrNotFound", err)
	}
	if _, err := s.EventCursor(bg); !errors.Is(err, ErrNotFound) {
		t.Errorf("event cursor after ForgetRecords: %v, want ErrNotFound", err)
	}
	if md, err := s.Metadata(bg, enc.BlobID); err != nil || md.BlobID() != enc.BlobID {
		t.Errorf("metadata after ForgetRecords: %v", err)
	}
	for _, sp := range shardPairs(enc, 0, 1) {
		if sl, err := s.Sliver(bg, sp.Shard, enc.BlobID, encoding.Primary); err != nil || !sliverEqual(sl, sp.Pair.Primary) {
			t.Errorf("shard %d sliver after ForgetRecords: %v", sp.Shard, err)
		}
	}
}

// TestOverlapsEventTables: a lost range counts as lost records exactly when
// it holds keys of an event table.
func TestOverlapsEventTables(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []byte
		want bool
	}{
		{"slivers only", prefix(tagSliver), prefixEnd(prefix(tagSliver)), false},
		{"markers to blob records", prefix(tagShardPair), prefix(tagBlobRecord), false},
		{"into blob records", prefix(tagShardPair), append(prefix(tagBlobRecord), 1), true},
		{"event cursor", eventCursorKey(), prefixEnd(eventCursorKey()), true},
		{"objects to the end", prefix(tagObject), nil, true},
		{"shard status only", prefix(tagShardStatus), prefixEnd(prefix(tagShardStatus)), false},
		{"past objects", prefix(tagSyncCursor), nil, false},
		{"metadata", prefix(tagMetadata), prefix(tagSliver), false},
	} {
		if got := overlapsEventTables(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: overlapsEventTables = %v, want %v", tc.name, got, tc.want)
		}
	}
}
