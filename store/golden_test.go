package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs/bcstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenDB is a small database of schema version 1, written through the
// Store's API: what TestDatabaseGolden pins byte for byte.
type goldenDB struct {
	enc    *encoding.EncodedBlob
	shard  uint16
	rec    BlobRecord
	object ObjectID
	objRec ObjectRecord
	cursor []byte
}

func newGoldenDB(t *testing.T) goldenDB {
	return goldenDB{
		enc:   encodeBlob(t, 4, 20, 1), // 4 shards, 20 bytes: slivers of a few symbols
		shard: 2,
		rec: BlobRecord{
			EncodingType: encoding.RS2, UnencodedLength: 20, EndEpoch: 9, RegisteredEpoch: 2,
			Certified: true, CertifiedEpoch: 3, DeletableRegistered: 1, DeletableCertified: 1,
			ObjectIDs: []ObjectID{{0x0b, 0x1e, 0xc7}},
		},
		object: ObjectID{0x0b, 0x1e, 0xc8},
		objRec: ObjectRecord{Deletable: true, Certified: true, EndEpoch: 9},
		cursor: []byte("tx 42 event 0"),
	}
}

func (g goldenDB) write(t *testing.T, s *Store) {
	id := g.enc.BlobID
	if err := s.PutMetadata(bg, id, g.enc.Metadata); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPairs(bg, id, shardPairs(g.enc, g.shard)); err != nil {
		t.Fatal(err)
	}
	err := s.Update(bg, func(tx *Tx) error {
		return errors.Join(tx.PutBlobRecord(id, g.rec), tx.PutObjectRecord(id, g.object, g.objRec), tx.SetEventCursor(g.cursor), tx.SetCurrentEpoch(3),
			tx.SetShardStatus(g.shard, ShardActive), tx.SetShardStatus(g.shard+1, ShardSyncing),
			tx.SetSyncCursor(g.shard+1, SyncCursor{Epoch: 3, After: id}))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// check reads the database back through the Store's API.
func (g goldenDB) check(t *testing.T, s *Store) {
	id := g.enc.BlobID
	md, err := s.Metadata(bg, id)
	if err != nil || !bytes.Equal(md.MarshalBCS(), g.enc.Metadata.MarshalBCS()) {
		t.Errorf("Metadata = %v", err)
	}
	want := shardPairs(g.enc, g.shard)[0].Pair
	for _, w := range []encoding.Sliver{want.Primary, want.Secondary} {
		if sl, err := s.Sliver(bg, g.shard, id, w.Axis); err != nil || !sliverEqual(sl, w) {
			t.Errorf("%s sliver = %+v, %v", w.Axis, sl, err)
		}
	}
	if shards, err := s.StoredShards(bg, id); err != nil || !reflect.DeepEqual(shards, []uint16{g.shard}) {
		t.Errorf("StoredShards = %v, %v", shards, err)
	}
	if rec, err := s.BlobRecord(bg, id); err != nil || !reflect.DeepEqual(rec, g.rec) {
		t.Errorf("BlobRecord = %+v, %v", rec, err)
	}
	if rec, err := s.ObjectRecord(bg, id, g.object); err != nil || rec != g.objRec {
		t.Errorf("ObjectRecord = %+v, %v", rec, err)
	}
	if exp, err := s.ExpiredAt(bg, g.rec.EndEpoch, nil, 10); err != nil || len(exp) != 1 || exp[0].BlobID != id {
		t.Errorf("ExpiredAt(%d) = %v, %v", g.rec.EndEpoch, exp, err)
	}
	if c, err := s.EventCursor(bg); err != nil || !bytes.Equal(c, g.cursor) {
		t.Errorf("EventCursor = %q, %v", c, err)
	}
	if e, err := s.CurrentEpoch(bg); err != nil || e != 3 {
		t.Errorf("CurrentEpoch = %d, %v", e, err)
	}
	err = s.Update(bg, func(tx *Tx) error {
		for sh, want := range map[uint16]ShardStatus{g.shard: ShardActive, g.shard + 1: ShardSyncing} {
			if st, err := tx.ShardStatus(sh); err != nil || st != want {
				return fmt.Errorf("ShardStatus(%d) = %v, %v; want %v", sh, st, err, want)
			}
		}
		if c, err := tx.SyncCursor(g.shard + 1); err != nil || c != (SyncCursor{Epoch: 3, After: id}) {
			return fmt.Errorf("SyncCursor = %+v, %v", c, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestDatabaseGolden pins the on-disk format: every key and value of a small
// database, and the schema file, as annotated hex in
// testdata/database-v1.txt. A database written before a change must still be
// read after it, so the golden bytes are also loaded into a fresh store and
// read through the API. Rewrite the file with
//
//	go test ./store -run TestDatabaseGolden -update
//
// only with a new SchemaVersion (and a migration), and review the diff.
func TestDatabaseGolden(t *testing.T) {
	g := newGoldenDB(t)
	s, dir := openTest(t, Options{DisableSync: true})
	g.write(t, s)

	var text strings.Builder
	schema, err := readSchemaFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&text, "# %s: %q\n", schemaFile, schema)
	type kv struct{ k, v []byte }
	var kvs []kv
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		kvs = append(kvs, kv{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, e := range kvs {
		key := bcstest.NewDump(e.k)
		key.Comment("%s", describeKey(e.k))
		dissectKey(key)
		value := bcstest.NewDump(e.v)
		dissectValue(value, e.k[1])
		text.WriteString("\n")
		for _, d := range []*bcstest.Dump{key, value} {
			s, err := d.Text()
			if err != nil {
				t.Fatalf("dissecting %s: %v", describeKey(e.k), err)
			}
			text.WriteString(s)
		}
		all = append(append(all, e.k...), e.v...)
	}
	golden := bcstest.Check(t, filepath.Join("testdata", "database-v1.txt"), text.String(), *update)
	if !bytes.Equal(golden, all) {
		t.Fatalf("the golden file's bytes are not the database's")
	}
	if want := fmt.Sprintf("# %s: %q\n", schemaFile, formatSchema(SchemaVersion)); !strings.HasPrefix(text.String(), want) {
		t.Errorf("schema file %q", schema)
	}

	// The golden bytes, in a fresh store, read as what was written.
	fresh := newTestStore(t)
	for _, e := range kvs {
		k, v := golden[:len(e.k)], golden[len(e.k):len(e.k)+len(e.v)]
		golden = golden[len(e.k)+len(e.v):]
		rawSet(t, fresh, k, v)
	}
	g.check(t, fresh)
}

func readSchemaFile(dir string) ([]byte, error) {
	v, err := readSchema(dir)
	if err != nil {
		return nil, err
	}
	return formatSchema(v), nil
}

// dissectKey reads a key of schema version 1 (keys.go): integers in keys are
// big-endian, so they are shown as raw bytes with their value.
func dissectKey(d *bcstest.Dump) {
	d.U8("schema version")
	tag := d.U8("table")
	d.Note("%s", tableNames[tag])
	be := func(name string, n int) {
		b := d.Fixed(name, n)
		var v uint64
		for _, c := range b {
			v = v<<8 | uint64(c)
		}
		d.Note("%d", v)
	}
	blobID := func() { d.Fixed("blob_id", blobIDLen) }
	switch tag {
	case tagMetadata, tagBlobRecord:
		blobID()
	case tagSliver:
		be("shard u16 BE", 2)
		a := d.U8("axis")
		d.Note("%s", encoding.Axis(a))
		blobID()
	case tagShardPair:
		be("shard u16 BE", 2)
		blobID()
	case tagBlobShard:
		blobID()
		be("shard u16 BE", 2)
	case tagExpiry:
		be("end epoch u32 BE", 4)
		blobID()
	case tagShardStatus, tagSyncCursor:
		be("shard u16 BE", 2)
	case tagObject:
		blobID()
		d.Fixed("object_id", objectIDLen)
	}
}

// dissectValue reads a value of table tag: the envelope (value.go), then the
// payload.
func dissectValue(d *bcstest.Dump, tag byte) {
	sum := d.Fixed("checksum u32 LE", checksumLen)
	d.Note("CRC-32C of key ‖ payload: %#08x", binary.LittleEndian.Uint32(sum))
	switch tag {
	case tagMetadata:
		// encoding's layout, pinned by encoding's golden vectors.
		d.Fixed("payload: metadata, encoding.Metadata's BCS", d.Remaining())
	case tagSliver:
		d.Fixed("payload: sliver, encoding.Sliver's BCS", d.Remaining())
	case tagBlobRecord:
		dissectRecord(d)
	case tagObject:
		d.Comment("payload: object record (record.go)")
		d.Indent(func() {
			d.U8("version")
			d.Bool("deletable")
			d.Bool("certified")
			d.U32("end epoch")
		})
	case tagEventCursor:
		d.Fixed("payload: event cursor, opaque", d.Remaining())
	case tagEpoch:
		d.U32("payload: current epoch")
	case tagShardStatus:
		st := d.U8("payload: shard status")
		d.Note("%s", ShardStatus(st))
	case tagSyncCursor:
		d.Comment("payload: shard-sync cursor")
		d.Indent(func() {
			d.U32("epoch")
			d.Fixed("after: blob_id", blobIDLen)
		})
	default: // markers and index entries: empty
		d.Comment("payload: empty")
	}
}

func dissectRecord(d *bcstest.Dump) {
	d.Comment("payload: blob record (record.go)")
	d.Indent(func() {
		d.U8("version")
		d.U8("encoding type")
		d.U64("unencoded length")
		d.U32("end epoch")
		d.U32("registered epoch")
		if d.Option("certified epoch") {
			d.Indent(func() { d.U32("certified epoch") })
		}
		d.U32("permanent registered")
		d.U32("permanent certified")
		d.U32("deletable registered")
		d.U32("deletable certified")
		d.Bool("invalid")
		n := d.Length("object IDs", MaxObjectIDs)
		d.Indent(func() {
			for i := range n {
				d.Fixed(fmt.Sprintf("[%d]", i), len(ObjectID{}))
			}
		})
	})
}

// TestSliverLogGolden pins the sliver log's on-disk format (vlog.go): the
// golden database written with every sliver logged, as annotated hex in
// testdata/sliver-log-v1.txt: each sliver key's reference, and the segment
// file. The golden bytes, loaded into a fresh store (references into Pebble,
// the segment into its log), read as what was written. Rewrite with
//
//	go test ./store -run TestSliverLogGolden -update
//
// only with a new SchemaVersion, and review the diff.
func TestSliverLogGolden(t *testing.T) {
	g := newGoldenDB(t)
	s, dir := openTest(t, Options{DisableSync: true, MinLoggedSliver: 1})
	g.write(t, s)

	var text strings.Builder
	var all []byte
	type kv struct{ k, v []byte }
	var refs []kv
	lo := prefix(tagSliver)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		refs = append(refs, kv{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if len(refs) != 2 {
		t.Fatalf("%d sliver keys, want 2", len(refs))
	}
	for _, e := range refs {
		d := bcstest.NewDump(e.v)
		d.Comment("%s", describeKey(e.k))
		sum := d.Fixed("checksum u32 LE", checksumLen)
		d.Note("CRC-32C of key ‖ payload: %#08x", binary.LittleEndian.Uint32(sum))
		d.Comment("payload: sliver reference (vlog.go)")
		d.Indent(func() {
			d.U8("marker (never the first byte of a BCS sliver)")
			d.U32("segment")
			d.U64("offset")
			d.U32("length")
			crc := d.Fixed("CRC-32C of the data u32 LE", 4)
			d.Note("%#08x", binary.LittleEndian.Uint32(crc))
			d.U16("symbol size")
			d.U16("sliver index")
		})
		out, err := d.Text()
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString("\n" + out)
		all = append(all, e.v...)
	}
	segPath := filepath.Join(dir, sliverLogDir, segmentName(1))
	seg, err := os.ReadFile(segPath)
	if err != nil {
		t.Fatal(err)
	}
	d := bcstest.NewDump(seg)
	d.Comment("segment file %s/%s", sliverLogDir, segmentName(1))
	d.Fixed(fmt.Sprintf("header %q", segmentHeader), len(segmentHeader))
	want := shardPairs(g.enc, g.shard)[0].Pair
	d.Fixed("primary sliver's data", len(want.Primary.Data))
	d.Fixed("secondary sliver's data", len(want.Secondary.Data))
	out, err := d.Text()
	if err != nil {
		t.Fatal(err)
	}
	text.WriteString("\n" + out)
	all = append(all, seg...)
	golden := bcstest.Check(t, filepath.Join("testdata", "sliver-log-v1.txt"), text.String(), *update)
	if !bytes.Equal(golden, all) {
		t.Fatalf("the golden file's bytes are not the store's")
	}

	// The golden bytes in a fresh store read as the slivers written.
	fdir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(fdir, sliverLogDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fdir, sliverLogDir, segmentName(1)), golden[len(golden)-len(seg):], 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, err := Open(fdir, Options{Logger: testLogger(t), DisableSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, e := range refs {
		rawSet(t, fresh, e.k, golden[:len(e.v)])
		golden = golden[len(e.v):]
	}
	for _, w := range []encoding.Sliver{want.Primary, want.Secondary} {
		if sl, err := fresh.Sliver(bg, g.shard, g.enc.BlobID, w.Axis); err != nil || !sliverEqual(sl, w) {
			t.Errorf("%s sliver from the golden bytes = %+v, %v", w.Axis, sl, err)
		}
	}
}
