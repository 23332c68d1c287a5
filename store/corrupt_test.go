package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/walrus-go/walrus/encoding"
)

// rawGet returns the raw value under key.
func rawGet(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	v, closer, err := s.db.Get(key)
	if err != nil {
		t.Fatalf("raw get %s: %v", describeKey(key), err)
	}
	defer closer.Close()
	return bytes.Clone(v)
}

func rawSet(t *testing.T, s *Store, key, v []byte) {
	t.Helper()
	if err := s.db.Set(key, v, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
}

// flipBit flips one bit of the payload of the value under key, leaving its
// checksum as it was.
func flipBit(t *testing.T, s *Store, key []byte, bit int) {
	t.Helper()
	v := rawGet(t, s, key)
	v[checksumLen+bit/8%(len(v)-checksumLen)] ^= 1 << (bit % 8)
	rawSet(t, s, key, v)
}

// reseal stores payload under key with a valid checksum: data that passes the
// envelope but is not a valid value of its table.
func reseal(t *testing.T, s *Store, key, payload []byte) {
	t.Helper()
	rawSet(t, s, key, sealValue(key, payload))
}

// TestCorruptValue damages one value of each table, by a flipped bit (the
// checksum catches it), a value moved under another key, or a payload with a
// valid checksum that does not decode, and checks that every reader of that
// value returns ErrCorrupt naming the key, and no data.
func TestCorruptValue(t *testing.T) {
	const n = 10
	enc := encodeBlob(t, n, 30_000, 21)
	id := enc.BlobID
	const shard = 4
	// One store for all cases: each damages one value, then puts its bytes
	// back (reads that fail leave the store as it was).
	s := newTestStore(t)
	{
		if err := s.PutMetadata(bg, id, enc.Metadata); err != nil {
			t.Fatal(err)
		}
		if err := s.PutPairs(bg, id, shardPairs(enc, shard, shard+1)); err != nil {
			t.Fatal(err)
		}
		err := s.Update(bg, func(tx *Tx) error {
			return errors.Join(tx.PutBlobRecord(id, fullRecord()), tx.SetEventCursor([]byte("cursor")),
				tx.SetCurrentEpoch(3), tx.SetShardStatus(shard, ShardActive))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	type read struct {
		name string
		call func(s *Store) (any, error)
	}
	sliverReads := func(axis encoding.Axis) []read {
		return []read{
			{"Sliver", func(s *Store) (any, error) { return s.Sliver(bg, shard, id, axis) }},
			{"ShardSlivers", func(s *Store) (any, error) { return s.ShardSlivers(bg, shard, axis, Page{}) }},
		}
	}
	tests := []struct {
		name    string
		key     []byte
		corrupt func(t *testing.T, s *Store, key []byte)
		reads   []read
	}{
		{"metadata bit flip", metadataKey(id), func(t *testing.T, s *Store, k []byte) { flipBit(t, s, k, 100) }, []read{
			{"Metadata", func(s *Store) (any, error) { return s.Metadata(bg, id) }},
			{"HasMetadata", func(s *Store) (any, error) { return s.HasMetadata(bg, id) }},
		}},
		{"metadata undecodable", metadataKey(id), func(t *testing.T, s *Store, k []byte) { reseal(t, s, k, []byte{0, 1, 2}) }, []read{
			{"Metadata", func(s *Store) (any, error) { return s.Metadata(bg, id) }},
		}},
		{"primary sliver bit flip", sliverKey(shard, encoding.Primary, id), func(t *testing.T, s *Store, k []byte) { flipBit(t, s, k, 5000) }, sliverReads(encoding.Primary)},
		{"secondary sliver checksum flip", sliverKey(shard, encoding.Secondary, id), func(t *testing.T, s *Store, k []byte) {
			v := rawGet(t, s, k)
			v[0] ^= 0x80
			rawSet(t, s, k, v)
		}, sliverReads(encoding.Secondary)},
		{"sliver truncated", sliverKey(shard, encoding.Primary, id), func(t *testing.T, s *Store, k []byte) {
			v := rawGet(t, s, k)
			rawSet(t, s, k, v[:len(v)-1])
		}, sliverReads(encoding.Primary)},
		{"sliver of another shard", sliverKey(shard, encoding.Primary, id), func(t *testing.T, s *Store, k []byte) {
			rawSet(t, s, k, rawGet(t, s, sliverKey(shard+1, encoding.Primary, id)))
		}, sliverReads(encoding.Primary)},
		{"sliver undecodable", sliverKey(shard, encoding.Primary, id), func(t *testing.T, s *Store, k []byte) {
			sl := shardPairs(enc, shard)[0].Pair.Primary
			sl.SymbolSize = 3 // odd: not a sliver
			reseal(t, s, k, sl.MarshalBCS())
		}, sliverReads(encoding.Primary)},
		{"value shorter than a checksum", sliverKey(shard, encoding.Primary, id), func(t *testing.T, s *Store, k []byte) { rawSet(t, s, k, []byte{1, 2}) }, sliverReads(encoding.Primary)},
		{"pair marker by shard", shardPairKey(shard, id), func(t *testing.T, s *Store, k []byte) { rawSet(t, s, k, []byte{0, 0, 0, 0}) }, []read{
			{"HasPair", func(s *Store) (any, error) { return s.HasPair(bg, shard, id) }},
			{"ShardBlobs", func(s *Store) (any, error) { return s.ShardBlobs(bg, shard, Page{}) }},
		}},
		{"pair marker with a payload", shardPairKey(shard, id), func(t *testing.T, s *Store, k []byte) { reseal(t, s, k, []byte{1}) }, []read{
			{"ShardBlobs", func(s *Store) (any, error) { return s.ShardBlobs(bg, shard, Page{}) }},
		}},
		{"pair marker by blob", blobShardKey(id, shard), func(t *testing.T, s *Store, k []byte) { rawSet(t, s, k, nil) }, []read{
			{"StoredShards", func(s *Store) (any, error) { return s.StoredShards(bg, id) }},
			{"DeleteBlob", func(s *Store) (any, error) { return nil, s.DeleteBlob(bg, id) }},
		}},
		{"record bit flip", blobRecordKey(id), func(t *testing.T, s *Store, k []byte) { flipBit(t, s, k, 9) }, []read{
			{"BlobRecord", func(s *Store) (any, error) { return s.BlobRecord(bg, id) }},
			{"PutBlobRecord", func(s *Store) (any, error) { return nil, s.PutBlobRecord(bg, id, BlobRecord{}) }},
			{"DeleteBlobRecord", func(s *Store) (any, error) { return nil, s.DeleteBlobRecord(bg, id) }},
		}},
		{"record of unknown version", blobRecordKey(id), func(t *testing.T, s *Store, k []byte) {
			b := marshalRecord(ptr(fullRecord()))
			b[0] = 9
			reseal(t, s, k, b)
		}, []read{
			{"BlobRecord", func(s *Store) (any, error) { return s.BlobRecord(bg, id) }},
		}},
		{"expiry entry", expiryKey(fullRecord().EndEpoch, id), func(t *testing.T, s *Store, k []byte) { rawSet(t, s, k, []byte("garbage")) }, []read{
			{"ExpiredAt", func(s *Store) (any, error) { return s.ExpiredAt(bg, 100, nil, 0) }},
		}},
		{"event cursor", eventCursorKey(), func(t *testing.T, s *Store, k []byte) { flipBit(t, s, k, 3) }, []read{
			{"EventCursor", func(s *Store) (any, error) { return s.EventCursor(bg) }},
		}},
		{"epoch of 3 bytes", epochKey(), func(t *testing.T, s *Store, k []byte) { reseal(t, s, k, []byte{1, 2, 3}) }, []read{
			{"CurrentEpoch", func(s *Store) (any, error) { return s.CurrentEpoch(bg) }},
		}},
		{"shard status 0", shardStatusKey(shard), func(t *testing.T, s *Store, k []byte) { reseal(t, s, k, []byte{0}) }, []read{
			{"ShardStatus", func(s *Store) (any, error) { return s.ShardStatus(bg, shard) }},
			{"ShardStatuses", func(s *Store) (any, error) { return s.ShardStatuses(bg) }},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := rawGet(t, s, tt.key)
			defer func() {
				rawSet(t, s, tt.key, orig)
				s.bad.forget(func([]byte) bool { return true })
			}()
			tt.corrupt(t, s, tt.key)
			for _, r := range tt.reads {
				got, err := r.call(s)
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s = %v, want ErrCorrupt", r.name, err)
					continue
				}
				if !strings.Contains(err.Error(), describeKey(tt.key)) {
					t.Errorf("%s: error %q does not name the key (%s)", r.name, err, describeKey(tt.key))
				}
				if got != nil && !isZero(got) {
					t.Errorf("%s returned data with ErrCorrupt: %v", r.name, got)
				}
			}
		})
	}
}

// isZero reports whether v is the zero value of its type (or an empty slice,
// map or false).
func isZero(v any) bool {
	switch v := v.(type) {
	case encoding.Sliver:
		return v.Data == nil
	case *encoding.Metadata:
		return v == nil
	case BlobRecord:
		return reflect.DeepEqual(v, BlobRecord{})
	case []BlobSliver:
		return v == nil
	case []encoding.BlobID:
		return v == nil
	case []uint16:
		return v == nil
	case []Expiry:
		return v == nil
	case []byte:
		return v == nil
	case bool:
		return !v
	case uint32:
		return v == 0
	case ShardStatus:
		return v == 0
	case map[uint16]ShardStatus:
		return v == nil
	}
	return false
}

// sstFiles returns the paths of the sstables in dir.
func sstFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".sst") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// flipInSST xors mask into a byte of needle where it appears in the sstables
// of dir (the store closed), failing t when it appears in none.
func flipInSST(t *testing.T, dir string, needle []byte, mask byte) {
	t.Helper()
	found := false
	for _, p := range sstFiles(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, needle); i >= 0 {
			b[i+10] ^= mask
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("bytes not found in any sstable")
	}
}

// flushedStore writes metadata and two pairs of a blob, flushes them into an
// sstable and closes the store, returning its directory and the blob.
func flushedStore(t *testing.T) (string, *encoding.EncodedBlob) {
	t.Helper()
	s, dir := openTest(t, Options{})
	// Slivers of 2.5 and 1.4 KiB: small blocks, so that Pebble's search for
	// a flipped bit in a corrupt block (a checksum per bit of the block) is
	// quick.
	enc := encodeBlob(t, 10, 10_000, 31)
	if err := s.PutMetadata(bg, enc.BlobID, enc.Metadata); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, 2, 8)); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, enc
}

// TestCorruptSSTBitFlip flips one bit of a sliver inside an sstable on disk
// and checks that the read is refused: Pebble's block checksum catches it, and
// the store reports ErrCorrupt naming the key.
func TestCorruptSSTBitFlip(t *testing.T) {
	dir, enc := flushedStore(t)
	want := shardPairs(enc, 2)[0].Pair.Primary
	flipInSST(t, dir, want.Data[1000:1064], 0x01) // random bytes: stored verbatim, since they do not compress
	s, err := Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	sl, err := s.Sliver(bg, 2, enc.BlobID, encoding.Primary)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "sliver shard=2 axis=primary") {
		t.Fatalf("Sliver of a flipped block = %v, want ErrCorrupt naming the sliver", err)
	}
	if sl.Data != nil {
		t.Error("corrupt sliver returned data")
	}
	if _, err := s.ShardSlivers(bg, 2, encoding.Primary, Page{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ShardSlivers over a flipped block = %v, want ErrCorrupt", err)
	}
	// A second read fails at once, without asking Pebble again.
	if _, err := s.Sliver(bg, 2, enc.BlobID, encoding.Primary); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), errRemembered.Error()) {
		t.Errorf("second read = %v, want ErrCorrupt from the remembered keys", err)
	}
	// Rewriting the pair (as a node does after recovering it from peers)
	// shadows the corrupt block: the sliver reads back again.
	if err := s.PutPairs(bg, enc.BlobID, shardPairs(enc, 2)); err != nil {
		t.Fatal(err)
	}
	if sl, err := s.Sliver(bg, 2, enc.BlobID, encoding.Primary); err != nil || !sliverEqual(sl, want) {
		t.Errorf("Sliver after rewriting the pair: %v", err)
	}
}

// TestCorruptSSTRandomFlips flips random bits of the sstable and checks that
// the store never serves wrong data: every read returns the exact value, or
// ErrCorrupt (or ErrNotFound, when the flip hits a key and the read misses it),
// and Open either works or fails with ErrCorrupt.
func TestCorruptSSTRandomFlips(t *testing.T) {
	pristine, enc := flushedStore(t)
	ssts := sstFiles(t, pristine)
	if len(ssts) != 1 {
		t.Fatalf("%d sstables, want 1", len(ssts))
	}
	orig, err := os.ReadFile(ssts[0])
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(pristine, ssts[0])
	rng := rand.New(rand.NewPCG(7, 7))
	flips := 8
	if testing.Short() {
		flips = 3
	}
	outcomes := map[string]int{}
	for range flips {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(pristine)); err != nil {
			t.Fatal(err)
		}
		b := bytes.Clone(orig)
		pos := rng.IntN(len(b))
		b[pos] ^= 1 << rng.IntN(8)
		if err := os.WriteFile(filepath.Join(dir, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{Logger: testLogger(t)})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("flip at %d/%d: Open = %v, want success or ErrCorrupt", pos, len(b), err)
			}
			outcomes["open refused"]++
			continue
		}
		check := func(what string, ok bool, err error) {
			switch {
			case err == nil && ok:
				outcomes["intact"]++
			case err == nil:
				t.Errorf("flip at %d: %s returned wrong data", pos, what)
			case errors.Is(err, ErrCorrupt):
				outcomes["corrupt"]++
			case errors.Is(err, ErrNotFound):
				outcomes["not found"]++
			default:
				t.Errorf("flip at %d: %s = %v", pos, what, err)
			}
		}
		md, err := s.Metadata(bg, enc.BlobID)
		check("Metadata", err == nil && md.BlobID() == enc.BlobID, err)
		for _, sh := range []uint16{2, 8} {
			want := shardPairs(enc, sh)[0].Pair
			for _, w := range []encoding.Sliver{want.Primary, want.Secondary} {
				sl, err := s.Sliver(bg, sh, enc.BlobID, w.Axis)
				check("Sliver", sliverEqual(sl, w), err)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Logf("outcomes of %d flips: %v", flips, outcomes)
}

// TestCorruptValueChecksumOrder pins that the checksum covers the key: two
// keys with the same payload have different envelopes.
func TestCorruptValueChecksumOrder(t *testing.T) {
	a, b := sealValue(shardPairKey(1, blobID(1)), nil), sealValue(shardPairKey(2, blobID(1)), nil)
	if binary.LittleEndian.Uint32(a) == binary.LittleEndian.Uint32(b) {
		t.Error("markers of two shards have the same checksum")
	}
}

// TestGCOfCorruptRecord: a blob whose record is corrupt is still deleted
// whole, and its expiry entry goes with DeleteExpiry.
func TestGCOfCorruptRecord(t *testing.T) {
	s := newTestStore(t)
	enc := encodeBlob(t, 10, 3000, 41)
	id := enc.BlobID
	if err := s.PutPairs(bg, id, shardPairs(enc, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlobRecord(bg, id, BlobRecord{EndEpoch: 3}); err != nil {
		t.Fatal(err)
	}
	flipBit(t, s, blobRecordKey(id), 12)
	exp, err := s.ExpiredAt(bg, 3, nil, 0)
	if err != nil || len(exp) != 1 || exp[0].BlobID != id {
		t.Fatalf("ExpiredAt = %v, %v", exp, err)
	}
	err = s.Update(bg, func(tx *Tx) error {
		if err := tx.DeleteBlob(id); err != nil {
			return err
		}
		return tx.DeleteExpiry(exp[0])
	})
	if err != nil {
		t.Fatalf("DeleteBlob of a blob with a corrupt record: %v", err)
	}
	if sh, _ := s.StoredShards(bg, id); len(sh) != 0 {
		t.Errorf("shards %v left", sh)
	}
	if _, err := s.BlobRecord(bg, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("record left: %v", err)
	}
	if exp, _ := s.ExpiredAt(bg, 3, nil, 0); len(exp) != 0 {
		t.Errorf("expiry entries left: %v", exp)
	}
}
