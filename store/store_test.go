package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/walrus-go/walrus/encoding"
)

func TestOptionsDefaults(t *testing.T) {
	var o Options
	o.EnsureDefaults()
	if o.Logger == nil || o.CacheSize != DefaultCacheSize || o.MemTableSize != DefaultMemTableSize ||
		o.MaxOpenFiles != DefaultMaxOpenFiles || o.MaxBatchSize != DefaultMaxBatchSize || o.DisableSync {
		t.Errorf("EnsureDefaults = %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	po := o.pebbleOptions(o.Logger)
	if po.FormatMajorVersion != formatMajorVersion || po.MemTableSize != DefaultMemTableSize || po.CacheSize != DefaultCacheSize {
		t.Errorf("pebbleOptions: format %d, memtable %d, cache %d", po.FormatMajorVersion, po.MemTableSize, po.CacheSize)
	}
	if vs := po.Experimental.ValueSeparationPolicy(); !vs.Enabled || vs.MinimumSize != valueSeparationMinSize {
		t.Errorf("value separation %+v, want enabled from %d bytes", vs, valueSeparationMinSize)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
		want []string // "" = valid
	}{
		{"min bounds", func(o *Options) {
			o.CacheSize, o.MemTableSize, o.MaxOpenFiles, o.MaxBatchSize = MinCacheSize, MinMemTableSize, MinMaxOpenFiles, MinMaxBatchSize
		}, nil},
		{"max bounds", func(o *Options) { o.MemTableSize, o.MaxBatchSize = MaxMemTableSize, MaxMaxBatchSize }, nil},
		{"cache", func(o *Options) { o.CacheSize = MinCacheSize - 1 }, []string{"CacheSize (1048575) must be >= 1048576"}},
		{"negative cache", func(o *Options) { o.CacheSize = -1 }, []string{"CacheSize (-1)"}},
		{"memtable small", func(o *Options) { o.MemTableSize = 1024 }, []string{"MemTableSize (1024) must be in [1048576, 1073741824]"}},
		{"memtable large", func(o *Options) { o.MemTableSize = MaxMemTableSize + 1 }, []string{"MemTableSize (1073741825)"}},
		{"open files", func(o *Options) { o.MaxOpenFiles = 3 }, []string{"MaxOpenFiles (3) must be >= 16"}},
		{"batch", func(o *Options) { o.MaxBatchSize = MaxMaxBatchSize + 1 }, []string{"MaxBatchSize (2147483649) must be in"}},
		{"all at once", func(o *Options) {
			o.Logger, o.CacheSize, o.MaxOpenFiles, o.MaxBatchSize = nil, 1, 1, 1
		}, []string{"Logger must be set", "CacheSize (1)", "MaxOpenFiles (1)", "MaxBatchSize (1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Options
			o.EnsureDefaults()
			tt.mod(&o)
			err := o.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
		})
	}
	// Open validates too, and creates nothing.
	dir := t.TempDir() + "/db"
	if _, err := Open(dir, Options{MemTableSize: 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with MemTableSize 1 = %v, want ErrInvalid", err)
	}
}

func TestOpenSchema(t *testing.T) {
	s, dir := openTest(t, Options{DisableSync: true})
	b, err := os.ReadFile(filepath.Join(dir, schemaFile))
	if err != nil || string(b) != "walrus/store schema=1\n" {
		t.Fatalf("schema file = %q, %v", b, err)
	}
	// A second Open of the same directory fails while the first holds it.
	if _, err := Open(dir, Options{Logger: testLogger(t)}); !errors.Is(err, ErrIO) {
		t.Errorf("second Open = %v, want ErrIO (locked)", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		contents string
		want     error
		msg      string
	}{
		{"version 1", "walrus/store schema=1\n", nil, ""},
		{"version 2", "walrus/store schema=2\n", ErrSchema, "schema version 2, this build reads version 1"},
		{"version 0", "walrus/store schema=0\n", ErrCorrupt, `bad version "0"`},
		{"leading zero", "walrus/store schema=01\n", ErrCorrupt, `bad version "01"`},
		{"no newline", "walrus/store schema=1", ErrCorrupt, "does not end in a newline"},
		{"flipped bit", "walrus/stnre schema=1\n", ErrCorrupt, "does not start with"},
		{"empty", "", ErrCorrupt, "does not start with"},
		{"too long", "walrus/store schema=1\n" + strings.Repeat(" ", 64), ErrCorrupt, "longer than 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, schemaFile), []byte(tt.contents), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, Options{Logger: testLogger(t)})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s.Close()
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Open = %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}

	// A store whose schema file is lost is not recreated over its data.
	if err := os.Remove(filepath.Join(dir, schemaFile)); err != nil {
		t.Fatal(err)
	}
	// (The store above is empty, so Open writes a new file; give it data.)
	s, err = Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCurrentEpoch(bg, 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Remove(filepath.Join(dir, schemaFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{Logger: testLogger(t)}); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "not a store") {
		t.Errorf("Open without a schema file = %v, want ErrSchema", err)
	}

	// A Pebble database of someone else: ErrSchema, and it is left alone.
	foreign := t.TempDir()
	db, err := pebble.Open(foreign, &pebble.Options{Logger: pebbleLogger{testLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("theirs"), []byte("x"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(foreign, Options{Logger: testLogger(t)}); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "not a store") {
		t.Errorf("Open of a foreign database = %v, want ErrSchema", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, schemaFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open wrote a schema file into a foreign database: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	s, dir := openTest(t, Options{})
	enc := encodeBlob(t, 10, 5000, 1)
	if err := s.PutMetadata(bg, enc.BlobID, enc.Metadata); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCurrentEpoch(bg, 42); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	md, err := s.Metadata(bg, enc.BlobID)
	if err != nil || md.BlobID() != enc.BlobID {
		t.Errorf("Metadata after reopen: %v", err)
	}
	sl, err := s.Sliver(bg, 2, enc.BlobID, encoding.Secondary)
	if err != nil || !sliverEqual(sl, shardPairs(enc, 2)[0].Pair.Secondary) {
		t.Errorf("Sliver after reopen: %v", err)
	}
	if e, err := s.CurrentEpoch(bg); err != nil || e != 42 {
		t.Errorf("CurrentEpoch after reopen = %d, %v", e, err)
	}
}

func TestMetadata(t *testing.T) {
	s := newTestStore(t)
	enc := encodeBlob(t, 10, 1000, 2)
	id := enc.BlobID
	if ok, err := s.HasMetadata(bg, id); ok || err != nil {
		t.Errorf("HasMetadata before Put = %v, %v", ok, err)
	}
	if _, err := s.Metadata(bg, id); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "metadata blob="+id.String()) {
		t.Errorf("Metadata before Put = %v, want ErrNotFound naming the blob", err)
	}
	if err := s.PutMetadata(bg, id, enc.Metadata); err != nil {
		t.Fatal(err)
	}
	md, err := s.Metadata(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(md, enc.Metadata) {
		t.Errorf("Metadata = %+v, want %+v", md, enc.Metadata)
	}
	if ok, err := s.HasMetadata(bg, id); !ok || err != nil {
		t.Errorf("HasMetadata after Put = %v, %v", ok, err)
	}

	other := encodeBlob(t, 10, 1000, 3)
	short := &encoding.Metadata{EncodingType: encoding.RS2, UnencodedLength: 1, Hashes: enc.Metadata.Hashes[:3]}
	tests := []struct {
		name string
		md   *encoding.Metadata
		want string
	}{
		{"nil", nil, "nil metadata"},
		{"other blob's", other.Metadata, "metadata hashes to blob " + other.BlobID.String()},
		{"too few pairs", short, "metadata for blob"},
		{"unknown encoding type", &encoding.Metadata{EncodingType: 9, UnencodedLength: 1, Hashes: enc.Metadata.Hashes}, "metadata for blob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newID := blobID(0x42)
			err := s.PutMetadata(bg, newID, tt.md)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PutMetadata = %v, want ErrInvalid containing %q", err, tt.want)
			}
			if ok, _ := s.HasMetadata(bg, newID); ok {
				t.Error("refused metadata was stored")
			}
		})
	}
}

func TestPairs(t *testing.T) {
	s := newTestStore(t)
	const n = 10
	enc := encodeBlob(t, n, 20_000, 4)
	id := enc.BlobID
	shards := []uint16{0, 3, 9}
	if err := s.PutPairs(bg, id, shardPairs(enc, shards...)); err != nil {
		t.Fatal(err)
	}
	for sh := uint16(0); sh < n; sh++ {
		stored := slices.Contains(shards, sh)
		ok, err := s.HasPair(bg, sh, id)
		if err != nil || ok != stored {
			t.Errorf("HasPair(shard %d) = %v, %v; want %v", sh, ok, err, stored)
		}
		want := shardPairs(enc, sh)[0].Pair
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			got, err := s.Sliver(bg, sh, id, axis)
			if !stored {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("Sliver(shard %d, %s) = %v, want ErrNotFound", sh, axis, err)
				}
				continue
			}
			w := want.Primary
			if axis == encoding.Secondary {
				w = want.Secondary
			}
			if err != nil || !sliverEqual(got, w) {
				t.Errorf("Sliver(shard %d, %s): %v, equal=%v", sh, axis, err, sliverEqual(got, w))
			}
		}
	}
	if got, err := s.StoredShards(bg, id); err != nil || !slices.Equal(got, shards) {
		t.Errorf("StoredShards = %v, %v; want %v", got, err, shards)
	}
	// The returned sliver is the caller's: changing it changes nothing stored.
	sl, _ := s.Sliver(bg, 3, id, encoding.Primary)
	sl.Data[0] ^= 0xff
	if again, _ := s.Sliver(bg, 3, id, encoding.Primary); again.Data[0] == sl.Data[0] {
		t.Error("Sliver returned memory shared with the store")
	}
	// Overwriting a pair is allowed and idempotent.
	if err := s.PutPair(bg, 3, id, shardPairs(enc, 3)[0].Pair); err != nil {
		t.Errorf("PutPair again: %v", err)
	}
	if _, err := s.Sliver(bg, 3, id, 2); !errors.Is(err, ErrInvalid) {
		t.Errorf("Sliver(axis 2) = %v, want ErrInvalid", err)
	}

	if err := s.DeletePair(bg, 3, id); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.HasPair(bg, 3, id); ok {
		t.Error("HasPair after DeletePair")
	}
	if _, err := s.Sliver(bg, 3, id, encoding.Secondary); !errors.Is(err, ErrNotFound) {
		t.Errorf("Sliver after DeletePair = %v", err)
	}
	if got, _ := s.StoredShards(bg, id); !slices.Equal(got, []uint16{0, 9}) {
		t.Errorf("StoredShards after DeletePair = %v", got)
	}
	if err := s.DeletePair(bg, 3, id); err != nil {
		t.Errorf("DeletePair of a missing pair = %v", err)
	}
}

func TestPutPairsRejects(t *testing.T) {
	s := newTestStore(t)
	const n = 10
	enc := encodeBlob(t, n, 20_000, 5)
	id := enc.BlobID
	good := shardPairs(enc, 4)[0]
	mod := func(f func(sp *ShardPair)) []ShardPair {
		sp := good
		sp.Pair.Primary.Data = bytes.Clone(sp.Pair.Primary.Data)
		f(&sp)
		return []ShardPair{sp}
	}
	other := encodeBlob(t, n, 20_000, 6)
	tests := []struct {
		name  string
		pairs []ShardPair
		want  string
	}{
		{"none", nil, "no sliver pairs"},
		{"wrong shard", mod(func(sp *ShardPair) { sp.Shard = 5 }), "belongs on shard 4"},
		{"shard out of range", mod(func(sp *ShardPair) { sp.Shard = 10 }), "belongs on shard 4"},
		{"swapped axes", mod(func(sp *ShardPair) { sp.Pair.Primary, sp.Pair.Secondary = sp.Pair.Secondary, sp.Pair.Primary }), "secondary and a primary sliver"},
		{"not a pair", mod(func(sp *ShardPair) { sp.Pair.Secondary.Index = 0; sp.Pair.Primary.Index = 1 }), "are no pair"},
		{"short primary", mod(func(sp *ShardPair) { sp.Pair.Primary.Data = sp.Pair.Primary.Data[:len(sp.Pair.Primary.Data)-2] }), "slivers of"},
		{"odd symbol size", mod(func(sp *ShardPair) { sp.Pair.Primary.SymbolSize = 3 }), "symbol sizes 3 and"},
		{"zero symbol size", mod(func(sp *ShardPair) { sp.Pair.Primary.SymbolSize, sp.Pair.Secondary.SymbolSize = 0, 0 }), "symbol sizes 0 and 0"},
		{"twice", []ShardPair{good, good}, "shard 4 given twice"},
		{"one bad of two", append(shardPairs(enc, 1), shardPairs(other, 4)...), "belongs on shard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutPairs(bg, id, tt.pairs)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PutPairs = %v, want ErrInvalid containing %q", err, tt.want)
			}
			if shards, _ := s.StoredShards(bg, id); len(shards) != 0 {
				t.Errorf("refused pairs were stored: shards %v", shards)
			}
		})
	}
}

func TestPutPairsTooLarge(t *testing.T) {
	// Inline slivers: a logged sliver takes only its reference's bytes of a batch.
	s, _ := openTest(t, Options{DisableSync: true, MaxBatchSize: MinMaxBatchSize, MinLoggedSliver: MaxMinLoggedSliver})
	enc := encodeBlob(t, 10, 800_000, 7) // pairs of 200 + 114 KiB
	if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, 0, 1, 2)); err != nil {
		t.Fatalf("three pairs under the limit: %v", err)
	}
	err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, 3, 4, 5, 6))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MaxBatchSize is 1048576") {
		t.Fatalf("four pairs over the limit = %v, want ErrTooLarge", err)
	}
	if got, _ := s.StoredShards(bg, enc.BlobID); !slices.Equal(got, []uint16{0, 1, 2}) {
		t.Errorf("StoredShards = %v, want [0 1 2]: a refused batch wrote something", got)
	}
}

// putBlobs stores, for each of count blobs (n = 10), the pairs of the given
// shards, and returns the encoded blobs.
func putBlobs(t *testing.T, s *Store, count int, seed uint64, shards ...uint16) []*encoding.EncodedBlob {
	t.Helper()
	out := make([]*encoding.EncodedBlob, count)
	for i := range out {
		enc := encodeBlob(t, 10, 300+i, seed+uint64(i))
		var sps []ShardPair
		for _, sh := range shards {
			sps = append(sps, shardPairs(enc, sh)...)
		}
		if err := s.PutPairs(bg, enc.BlobID, sps); err != nil {
			t.Fatal(err)
		}
		out[i] = enc
	}
	return out
}

func sortedIDs(encs []*encoding.EncodedBlob) []encoding.BlobID {
	ids := make([]encoding.BlobID, len(encs))
	for i, e := range encs {
		ids[i] = e.BlobID
	}
	slices.SortFunc(ids, func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func TestShardListing(t *testing.T) {
	s := newTestStore(t)
	encs := putBlobs(t, s, 25, 100, 2, 3)
	putBlobs(t, s, 5, 500, 4) // another shard, not listed
	want := sortedIDs(encs)
	byID := map[encoding.BlobID]*encoding.EncodedBlob{}
	for _, e := range encs {
		byID[e.BlobID] = e
	}

	all, err := s.ShardBlobs(bg, 2, Page{})
	if err != nil || !slices.Equal(all, want) {
		t.Fatalf("ShardBlobs(all) = %d IDs, %v; want %d", len(all), err, len(want))
	}
	for _, limit := range []int{1, 7, 25, 26} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var got []encoding.BlobID
			var after *encoding.BlobID
			for pages := 0; ; pages++ {
				page, err := s.ShardBlobs(bg, 3, Page{After: after, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit || pages > 30 {
					t.Fatalf("page of %d entries, limit %d (page %d)", len(page), limit, pages)
				}
				got = append(got, page...)
				if len(page) < limit {
					break
				}
				after = &page[len(page)-1]
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged ShardBlobs = %d IDs, want %d in order", len(got), len(want))
			}
		})
	}

	for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
		// Slivers of these blobs are a few hundred bytes; 1,000 bytes make
		// pages of a few slivers.
		var got []encoding.BlobID
		var after *encoding.BlobID
		for pages := 0; ; pages++ {
			page, err := s.ShardSlivers(bg, 2, axis, Page{After: after, MaxBytes: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			if pages > 30 {
				t.Fatal("too many pages")
			}
			size := 0
			for _, bs := range page {
				sp := shardPairs(byID[bs.BlobID], 2)[0].Pair
				w := sp.Primary
				if axis == encoding.Secondary {
					w = sp.Secondary
				}
				if !sliverEqual(bs.Sliver, w) {
					t.Errorf("ShardSlivers(%s): sliver of %s differs", axis, bs.BlobID)
				}
				size += bs.Sliver.BCSSize()
				got = append(got, bs.BlobID)
			}
			if len(page) > 1 && size > 1000 {
				t.Errorf("page of %d slivers holds %d bytes, MaxBytes 1000", len(page), size)
			}
			after = &page[len(page)-1].BlobID
		}
		if !slices.Equal(got, want) {
			t.Errorf("paged ShardSlivers(%s) = %d blobs, want %d", axis, len(got), len(want))
		}
	}
	// A page always holds one sliver, however small MaxBytes.
	if page, err := s.ShardSlivers(bg, 2, encoding.Primary, Page{MaxBytes: 1, Limit: 5}); err != nil || len(page) != 1 {
		t.Errorf("ShardSlivers(MaxBytes 1) = %d slivers, %v; want 1", len(page), err)
	}
	if page, err := s.ShardBlobs(bg, 7, Page{}); err != nil || len(page) != 0 {
		t.Errorf("ShardBlobs of an empty shard = %v, %v", page, err)
	}

	for _, p := range []Page{{Limit: -1}, {Limit: MaxPageLimit + 1}, {MaxBytes: -1}, {MaxBytes: MaxPageBytes + 1}} {
		if _, err := s.ShardBlobs(bg, 2, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("ShardBlobs(%+v) = %v, want ErrInvalid", p, err)
		}
	}
	if _, err := s.ShardSlivers(bg, 2, 5, Page{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ShardSlivers(axis 5) = %v, want ErrInvalid", err)
	}
}

func TestDeleteShard(t *testing.T) {
	for _, chunk := range []int{deleteShardChunk, 4} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			s := newTestStore(t)
			s.deleteChunk = chunk
			encs := putBlobs(t, s, 11, 700, 1, 2)
			for _, e := range encs {
				if err := s.PutMetadata(bg, e.BlobID, e.Metadata); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.DeleteShard(bg, 1); err != nil {
				t.Fatal(err)
			}
			if ids, _ := s.ShardBlobs(bg, 1, Page{}); len(ids) != 0 {
				t.Errorf("shard 1 still lists %d blobs", len(ids))
			}
			if ids, _ := s.ShardBlobs(bg, 2, Page{}); !slices.Equal(ids, sortedIDs(encs)) {
				t.Errorf("shard 2 lists %d blobs, want %d", len(ids), len(encs))
			}
			for _, e := range encs {
				if sh, _ := s.StoredShards(bg, e.BlobID); !slices.Equal(sh, []uint16{2}) {
					t.Errorf("StoredShards(%s) = %v, want [2]", e.BlobID, sh)
				}
				if _, err := s.Sliver(bg, 1, e.BlobID, encoding.Primary); !errors.Is(err, ErrNotFound) {
					t.Errorf("sliver of deleted shard: %v", err)
				}
				if sl, err := s.Sliver(bg, 2, e.BlobID, encoding.Secondary); err != nil || !sliverEqual(sl, shardPairs(e, 2)[0].Pair.Secondary) {
					t.Errorf("sliver of kept shard: %v", err)
				}
				if ok, _ := s.HasMetadata(bg, e.BlobID); !ok {
					t.Error("DeleteShard deleted metadata")
				}
			}
			// Raw check: not a key of shard 1 is left.
			for _, p := range [][]byte{sliverShardPrefix(1), shardPairPrefix(1)} {
				if n := countKeys(t, s, p); n != 0 {
					t.Errorf("%d keys left under %x", n, p)
				}
			}
		})
	}
}

// countKeys counts the keys under prefix p.
func countKeys(t testing.TB, s *Store, p []byte) int {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for v := it.First(); v; v = it.Next() {
		n++
	}
	return n
}

func TestDeleteShardCancelled(t *testing.T) {
	s := newTestStore(t)
	s.deleteChunk = 3
	encs := putBlobs(t, s, 10, 800, 5)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := s.DeleteShard(ctx, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteShard(cancelled) = %v", err)
	}
	if ids, _ := s.ShardBlobs(bg, 5, Page{}); len(ids) != len(encs) {
		t.Errorf("cancelled DeleteShard removed pairs: %d left of %d", len(ids), len(encs))
	}
}

func TestBlobRecords(t *testing.T) {
	s := newTestStore(t)
	id := blobID(1)
	if _, err := s.BlobRecord(bg, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("BlobRecord before Put = %v", err)
	}
	rec := fullRecord()
	if err := s.PutBlobRecord(bg, id, rec); err != nil {
		t.Fatal(err)
	}
	if got, err := s.BlobRecord(bg, id); err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("BlobRecord = %+v, %v", got, err)
	}
	// Extending moves the expiry entry.
	rec.EndEpoch = 30
	if err := s.PutBlobRecord(bg, id, rec); err != nil {
		t.Fatal(err)
	}
	if got := expiries(t, s, math.MaxUint32); !slices.Equal(got, []Expiry{{30, id}}) {
		t.Errorf("expiry index after extend = %v", got)
	}
	bad := rec
	bad.PermanentCertified = 100
	if err := s.PutBlobRecord(bg, id, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutBlobRecord(invalid) = %v", err)
	}
	if got, _ := s.BlobRecord(bg, id); !reflect.DeepEqual(got, rec) {
		t.Error("an invalid record replaced the stored one")
	}
	if err := s.DeleteBlobRecord(bg, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlobRecord(bg, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("BlobRecord after delete = %v", err)
	}
	if got := expiries(t, s, math.MaxUint32); len(got) != 0 {
		t.Errorf("expiry index after delete = %v", got)
	}
	if err := s.DeleteBlobRecord(bg, id); err != nil {
		t.Errorf("DeleteBlobRecord of a missing record = %v", err)
	}
}

// expiries lists the whole expiry index up to epoch.
func expiries(t *testing.T, s *Store, epoch uint32) []Expiry {
	t.Helper()
	got, err := s.ExpiredAt(bg, epoch, nil, MaxPageLimit)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestExpiredAt(t *testing.T) {
	s := newTestStore(t)
	// Blob i ends at epoch ends[i].
	ends := []uint32{5, 3, 5, 0, 7, math.MaxUint32, 3}
	var all []Expiry
	for i, end := range ends {
		id := blobID(byte(10 - i))
		if err := s.PutBlobRecord(bg, id, BlobRecord{EndEpoch: end}); err != nil {
			t.Fatal(err)
		}
		all = append(all, Expiry{end, id})
	}
	slices.SortFunc(all, func(a, b Expiry) int {
		if a.EndEpoch != b.EndEpoch {
			return int(int64(a.EndEpoch) - int64(b.EndEpoch))
		}
		return bytes.Compare(a.BlobID[:], b.BlobID[:])
	})
	upTo := func(epoch uint32) []Expiry {
		var out []Expiry
		for _, e := range all {
			if e.EndEpoch <= epoch {
				out = append(out, e)
			}
		}
		return out
	}
	for _, epoch := range []uint32{0, 2, 3, 4, 5, 7, 100, math.MaxUint32 - 1, math.MaxUint32} {
		if got := expiries(t, s, epoch); !slices.Equal(got, upTo(epoch)) {
			t.Errorf("ExpiredAt(%d) = %v, want %v", epoch, got, upTo(epoch))
		}
	}
	// Paging with after.
	var got []Expiry
	var after *Expiry
	for {
		page, err := s.ExpiredAt(bg, 6, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = &page[len(page)-1]
	}
	if !slices.Equal(got, upTo(6)) {
		t.Errorf("paged ExpiredAt(6) = %v, want %v", got, upTo(6))
	}
	// A cursor past the epoch gives an empty page.
	if page, err := s.ExpiredAt(bg, 3, &Expiry{EndEpoch: 7, BlobID: blobID(0)}, 0); err != nil || len(page) != 0 {
		t.Errorf("ExpiredAt(3, after epoch 7) = %v, %v; want an empty page", page, err)
	}
	if _, err := s.ExpiredAt(bg, 6, nil, MaxPageLimit+1); !errors.Is(err, ErrInvalid) {
		t.Errorf("ExpiredAt over MaxPageLimit = %v", err)
	}
}

func TestDeleteBlob(t *testing.T) {
	s := newTestStore(t)
	encs := putBlobs(t, s, 2, 900, 0, 3, 6)
	const objects = 2000 // past the legacy record's MaxObjectIDs
	for _, e := range encs {
		if err := s.PutMetadata(bg, e.BlobID, e.Metadata); err != nil {
			t.Fatal(err)
		}
		err := s.Update(bg, func(tx *Tx) error {
			for i := range objects {
				var obj ObjectID
				binary.BigEndian.PutUint32(obj[:], uint32(i))
				if err := tx.PutObjectRecord(e.BlobID, obj, ObjectRecord{Deletable: i%2 == 0, EndEpoch: uint32(i)}); err != nil {
					return err
				}
			}
			return tx.PutBlobRecord(e.BlobID, BlobRecord{EndEpoch: 4})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	gone, kept := encs[0], encs[1]
	last := ObjectID{0, 0, 0x07, 0xcf} // object 1999
	if rec, err := s.ObjectRecord(bg, gone.BlobID, last); err != nil || rec != (ObjectRecord{EndEpoch: objects - 1}) {
		t.Fatalf("ObjectRecord of the 2,000th registration = %+v, %v", rec, err)
	}
	if err := s.DeleteBlob(bg, gone.BlobID); err != nil {
		t.Fatal(err)
	}
	if sh, _ := s.StoredShards(bg, gone.BlobID); len(sh) != 0 {
		t.Errorf("StoredShards after DeleteBlob = %v", sh)
	}
	for _, sh := range []uint16{0, 3, 6} {
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			if _, err := s.Sliver(bg, sh, gone.BlobID, axis); !errors.Is(err, ErrNotFound) {
				t.Errorf("Sliver(%d, %s) after DeleteBlob = %v", sh, axis, err)
			}
		}
		if ok, _ := s.HasPair(bg, sh, kept.BlobID); !ok {
			t.Errorf("DeleteBlob removed shard %d of another blob", sh)
		}
	}
	if ok, _ := s.HasMetadata(bg, gone.BlobID); ok {
		t.Error("metadata left")
	}
	if _, err := s.BlobRecord(bg, gone.BlobID); !errors.Is(err, ErrNotFound) {
		t.Errorf("record left: %v", err)
	}
	if got := expiries(t, s, 10); !slices.Equal(got, []Expiry{{4, kept.BlobID}}) {
		t.Errorf("expiry index = %v, want only the kept blob", got)
	}
	for _, obj := range []ObjectID{{}, last} {
		if _, err := s.ObjectRecord(bg, gone.BlobID, obj); !errors.Is(err, ErrNotFound) {
			t.Errorf("object record %x left: %v", obj[:4], err)
		}
		if _, err := s.ObjectRecord(bg, kept.BlobID, obj); err != nil {
			t.Errorf("DeleteBlob removed object %x of another blob: %v", obj[:4], err)
		}
	}
	if err := s.DeleteBlob(bg, gone.BlobID); err != nil {
		t.Errorf("DeleteBlob again = %v", err)
	}
}

func TestUpdate(t *testing.T) {
	s := newTestStore(t)
	id := blobID(7)
	boom := errors.New("boom")
	// A failing transaction writes nothing, though its reads saw its writes.
	err := s.Update(bg, func(tx *Tx) error {
		if err := tx.PutBlobRecord(id, BlobRecord{EndEpoch: 9}); err != nil {
			return err
		}
		if err := tx.SetEventCursor([]byte("c1")); err != nil {
			return err
		}
		if r, err := tx.BlobRecord(id); err != nil || r.EndEpoch != 9 {
			t.Errorf("read of own write = %+v, %v", r, err)
		}
		if c, err := tx.EventCursor(); err != nil || string(c) != "c1" {
			t.Errorf("EventCursor in tx = %q, %v", c, err)
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	if _, err := s.BlobRecord(bg, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("failed Update wrote a record: %v", err)
	}
	if _, err := s.EventCursor(bg); !errors.Is(err, ErrNotFound) {
		t.Errorf("failed Update wrote the cursor: %v", err)
	}
	if got := expiries(t, s, 100); len(got) != 0 {
		t.Errorf("failed Update wrote the expiry index: %v", got)
	}

	// A successful one writes everything.
	var leaked *Tx
	err = s.Update(bg, func(tx *Tx) error {
		leaked = tx
		if err := tx.PutBlobRecord(id, BlobRecord{EndEpoch: 9}); err != nil {
			return err
		}
		// Moving the end epoch twice in one transaction leaves one entry.
		if err := tx.PutBlobRecord(id, BlobRecord{EndEpoch: 12}); err != nil {
			return err
		}
		if err := tx.SetShardStatus(3, ShardSyncing); err != nil {
			return err
		}
		if err := tx.SetCurrentEpoch(8); err != nil {
			return err
		}
		if e, err := tx.CurrentEpoch(); err != nil || e != 8 {
			t.Errorf("CurrentEpoch in tx = %d, %v", e, err)
		}
		if st, err := tx.ShardStatus(3); err != nil || st != ShardSyncing {
			t.Errorf("ShardStatus in tx = %v, %v", st, err)
		}
		return tx.SetEventCursor([]byte("c2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.EventCursor(bg); err != nil || string(c) != "c2" {
		t.Errorf("EventCursor = %q, %v", c, err)
	}
	if got := expiries(t, s, 100); !slices.Equal(got, []Expiry{{12, id}}) {
		t.Errorf("expiry index = %v, want one entry at 12", got)
	}
	if err := leaked.SetCurrentEpoch(1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Tx used after Update = %v, want ErrInvalid", err)
	}
	if _, err := leaked.BlobRecord(id); !errors.Is(err, ErrInvalid) {
		t.Errorf("Tx read after Update = %v, want ErrInvalid", err)
	}

	// Cancelled before commit: nothing written.
	ctx, cancel := context.WithCancel(bg)
	err = s.Update(ctx, func(tx *Tx) error {
		cancel()
		return tx.SetCurrentEpoch(99)
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context = %v", err)
	}
	if e, _ := s.CurrentEpoch(bg); e != 8 {
		t.Errorf("CurrentEpoch = %d after a cancelled Update, want 8", e)
	}
}

func TestNodeState(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.CurrentEpoch(bg); !errors.Is(err, ErrNotFound) {
		t.Errorf("CurrentEpoch unset = %v", err)
	}
	if _, err := s.ShardStatus(bg, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("ShardStatus unset = %v", err)
	}
	for _, e := range []uint32{0, 1, math.MaxUint32} {
		if err := s.SetCurrentEpoch(bg, e); err != nil {
			t.Fatal(err)
		}
		if got, err := s.CurrentEpoch(bg); err != nil || got != e {
			t.Errorf("CurrentEpoch = %d, %v; want %d", got, err, e)
		}
	}

	cursors := []struct {
		name string
		c    []byte
		ok   bool
	}{
		{"empty", []byte{}, true},
		{"small", []byte("tx:1234/7"), true},
		{"max", bytes.Repeat([]byte{0xc5}, MaxEventCursorSize), true},
		{"over max", bytes.Repeat([]byte{1}, MaxEventCursorSize+1), false},
	}
	for _, tt := range cursors {
		t.Run("cursor "+tt.name, func(t *testing.T) {
			before, _ := s.EventCursor(bg)
			err := s.SetEventCursor(bg, tt.c)
			got, gerr := s.EventCursor(bg)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tt.ok {
				if err != nil || !bytes.Equal(got, tt.c) {
					t.Errorf("SetEventCursor = %v, read back %d bytes", err, len(got))
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "MaxEventCursorSize") {
				t.Errorf("SetEventCursor = %v, want ErrInvalid", err)
			}
			if !bytes.Equal(got, before) {
				t.Error("refused cursor replaced the stored one")
			}
		})
	}

	want := map[uint16]ShardStatus{0: ShardActive, 7: ShardSyncing, 65535: ShardRemoved}
	for sh, st := range want {
		if err := s.SetShardStatus(bg, sh, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetShardStatus(bg, 8, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetShardStatus(0) = %v", err)
	}
	if err := s.SetShardStatus(bg, 8, 4); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetShardStatus(4) = %v", err)
	}
	if got, err := s.ShardStatuses(bg); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ShardStatuses = %v, %v; want %v", got, err, want)
	}
	if st, err := s.ShardStatus(bg, 7); err != nil || st != ShardSyncing || st.String() != "syncing" {
		t.Errorf("ShardStatus(7) = %v, %v", st, err)
	}
	if err := s.Update(bg, func(tx *Tx) error { return tx.DeleteShardStatus(7) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ShardStatus(bg, 7); !errors.Is(err, ErrNotFound) {
		t.Errorf("ShardStatus after delete = %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := newTestStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	id := blobID(1)
	calls := map[string]func() error{
		"Close":         s.Close,
		"Metadata":      func() error { _, err := s.Metadata(bg, id); return err },
		"HasMetadata":   func() error { _, err := s.HasMetadata(bg, id); return err },
		"PutMetadata":   func() error { e := encodeBlob(t, 4, 10, 1); return s.PutMetadata(bg, e.BlobID, e.Metadata) },
		"Sliver":        func() error { _, err := s.Sliver(bg, 0, id, encoding.Primary); return err },
		"HasPair":       func() error { _, err := s.HasPair(bg, 0, id); return err },
		"PutPairs":      func() error { e := encodeBlob(t, 4, 10, 1); return s.PutPairs(bg, e.BlobID, shardPairs(e, 0)) },
		"DeletePair":    func() error { return s.DeletePair(bg, 0, id) },
		"StoredShards":  func() error { _, err := s.StoredShards(bg, id); return err },
		"ShardBlobs":    func() error { _, err := s.ShardBlobs(bg, 0, Page{}); return err },
		"ShardSlivers":  func() error { _, err := s.ShardSlivers(bg, 0, encoding.Primary, Page{}); return err },
		"DeleteShard":   func() error { return s.DeleteShard(bg, 0) },
		"ExpiredAt":     func() error { _, err := s.ExpiredAt(bg, 0, nil, 0); return err },
		"Update":        func() error { return s.Update(bg, func(*Tx) error { return nil }) },
		"BlobRecord":    func() error { _, err := s.BlobRecord(bg, id); return err },
		"DeleteBlob":    func() error { return s.DeleteBlob(bg, id) },
		"EventCursor":   func() error { _, err := s.EventCursor(bg); return err },
		"CurrentEpoch":  func() error { _, err := s.CurrentEpoch(bg); return err },
		"ShardStatus":   func() error { _, err := s.ShardStatus(bg, 0); return err },
		"ShardStatuses": func() error { _, err := s.ShardStatuses(bg); return err },
		"Compact":       func() error { return s.Compact(bg) },
		"DiskUsage":     func() error { _, err := s.DiskUsage(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	enc := encodeBlob(t, 4, 10, 1)
	if err := s.PutPairs(ctx, enc.BlobID, shardPairs(enc, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("PutPairs(cancelled) = %v", err)
	}
	if ok, _ := s.HasPair(bg, 0, enc.BlobID); ok {
		t.Error("PutPairs with a cancelled context wrote")
	}
	if _, err := s.Metadata(ctx, enc.BlobID); !errors.Is(err, context.Canceled) {
		t.Errorf("Metadata(cancelled) = %v", err)
	}
}

func TestCompactReclaimsSpace(t *testing.T) {
	s := newTestStore(t)
	enc := encodeBlob(t, 10, 400_000, 11)
	for sh := uint16(0); sh < 10; sh++ {
		if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, sh)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(bg); err != nil {
		t.Fatal(err)
	}
	// Live table and blob-file bytes (slivers live in blob files: value
	// separation): DiskUsage also counts obsolete files, which Pebble
	// deletes in the background.
	live := func() uint64 {
		m := s.db.Metrics()
		return m.Table.Local.LiveSize + m.BlobFiles.LiveSize + s.vlog.diskBytes()
	}
	full := live()
	if du, err := s.DiskUsage(); err != nil || du < full {
		t.Errorf("DiskUsage = %d, %v; live tables alone take %d", du, err, full)
	}
	for sh := uint16(0); sh < 10; sh++ {
		if err := s.DeleteShard(bg, sh); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(bg); err != nil {
		t.Fatal(err)
	}
	empty := live()
	// Ten pairs of ~70 KiB each: the sliver bytes must be gone from disk.
	if full < 600_000 || empty > full-600_000 {
		t.Errorf("live tables take %d bytes with the slivers, %d after deleting and compacting", full, empty)
	}
}

// TestConcurrent runs writers, readers, listings, shard deletions and
// transactions at once (for -race), then checks the invariant the store
// promises: every pair marker has its two slivers and the other marker.
func TestConcurrent(t *testing.T) {
	s := newTestStore(t)
	s.deleteChunk = 3
	const n = 10
	encs := make([]*encoding.EncodedBlob, 12)
	for i := range encs {
		encs[i] = encodeBlob(t, n, 2000+i, uint64(1000+i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			for i, e := range encs {
				sh := uint16((i + w) % n)
				if err := s.PutPairs(bg, e.BlobID, shardPairs(e, sh, (sh+1)%n)); err != nil {
					errs <- err
					return
				}
				if _, err := s.Sliver(bg, sh, e.BlobID, encoding.Primary); err != nil && !errors.Is(err, ErrNotFound) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 6 {
			if err := s.DeleteShard(bg, uint16(i%3)); err != nil {
				errs <- err
				return
			}
			if _, err := s.ShardSlivers(bg, 4, encoding.Secondary, Page{}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for i, e := range encs[:4] {
			err := s.Update(bg, func(tx *Tx) error {
				if err := tx.PutBlobRecord(e.BlobID, BlobRecord{EndEpoch: uint32(i)}); err != nil {
					return err
				}
				return tx.SetEventCursor([]byte{byte(i)})
			})
			if err == nil && i%2 == 0 {
				err = s.DeleteBlob(bg, e.BlobID)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkInvariant(t, s)
}

// checkInvariant checks every pair marker of the store: each has the other
// marker and both slivers, which decode.
func checkInvariant(t *testing.T, s *Store) {
	t.Helper()
	byShard, byBlob := 0, 0
	p := prefix(tagShardPair)
	err := s.scan(bg, s.db, p, prefixEnd(p), func(key, _ []byte) (bool, error) {
		byShard++
		ki, err := parseKey(key)
		if err != nil {
			return false, err
		}
		if ok, err := s.has(s.db, blobShardKey(ki.blobID, ki.shard)); !ok || err != nil {
			t.Errorf("%s without its marker by blob (%v)", describeKey(key), err)
		}
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			if _, err := s.Sliver(bg, ki.shard, ki.blobID, axis); err != nil {
				t.Errorf("%s without its %s sliver: %v", describeKey(key), axis, err)
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p = prefix(tagBlobShard)
	if err := s.scan(bg, s.db, p, prefixEnd(p), func(key, _ []byte) (bool, error) { byBlob++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if slivers := countKeys(t, s, prefix(tagSliver)); byShard != byBlob || slivers != 2*byShard {
		t.Errorf("%d markers by shard, %d by blob, %d slivers", byShard, byBlob, slivers)
	}
}

// TestPutPairsLargerThanMemTable writes batches larger than the memtable
// (Pebble commits them as flushable batches of their own) and reads them back
// after a reopen.
func TestPutPairsLargerThanMemTable(t *testing.T) {
	s, dir := openTest(t, Options{MemTableSize: MinMemTableSize, DisableSync: true})
	const sz = 2048
	primary, secondary := benchPairData(sz)
	var ids []encoding.BlobID
	var shards []uint16
	for i := range uint64(3) {
		id, sp := benchBlob(i, 10, primary, secondary, sz) // 2 MiB per batch
		if err := s.PutPairs(bg, id, sp); err != nil {
			t.Fatal(err)
		}
		ids, shards = append(ids, id), append(shards, sp[9].Shard)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Logger: testLogger(t), MemTableSize: MinMemTableSize})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, id := range ids {
		sl, err := s.Sliver(bg, shards[i], id, encoding.Secondary)
		if err != nil || !bytes.Equal(sl.Data, secondary) || sl.Index != benchN-1-9 {
			t.Errorf("blob %d: sliver %d bytes, index %d, %v", i, len(sl.Data), sl.Index, err)
		}
		if got, _ := s.StoredShards(bg, id); len(got) != 10 {
			t.Errorf("blob %d: %d shards stored, want 10", i, len(got))
		}
	}
}

// TestSliverCompression checks the adaptive compression of blob files:
// slivers of text (here, repeated bytes) are stored compressed, random ones as
// they are.
func TestSliverCompression(t *testing.T) {
	for _, tc := range []struct {
		name       string
		random     bool
		maxPercent uint64 // of the values' size on disk
	}{{"text", false, 50}, {"random", true, 101}} {
		t.Run(tc.name, func(t *testing.T) {
			// Blob files hold the slivers kept in Pebble; the sliver log
			// stores its slivers as they are.
			s, _ := openTest(t, Options{DisableSync: true, MinLoggedSliver: MaxMinLoggedSliver})
			const sz = 16384
			primary, secondary := benchPairData(sz)
			if !tc.random {
				primary, secondary = bytes.Repeat([]byte("walrus "), len(primary)/7+1)[:len(primary)],
					bytes.Repeat([]byte("blob "), len(secondary)/5+1)[:len(secondary)]
			}
			for i := range uint64(4) {
				id, sp := benchBlob(i, 4, primary, secondary, sz)
				if err := s.PutPairs(bg, id, sp); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
			m := s.db.Metrics().BlobFiles
			if m.ValueSize == 0 || m.LiveSize*100 > m.ValueSize*tc.maxPercent {
				t.Errorf("blob files of %d bytes hold %d bytes of values, want at most %d%%", m.LiveSize, m.ValueSize, tc.maxPercent)
			}
		})
	}
}
