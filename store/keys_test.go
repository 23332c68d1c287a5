package store

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// seqID is the blob ID 00 01 02 … 1f.
func seqID() encoding.BlobID {
	var id encoding.BlobID
	for i := range id {
		id[i] = byte(i)
	}
	return id
}

const seqHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// TestKeyGolden pins the exact bytes of every key of schema version 1. These
// are part of the on-disk format: if this test fails, a database written before
// the change can no longer be read.
func TestKeyGolden(t *testing.T) {
	id := seqID()
	tests := []struct {
		name string
		key  []byte
		want string
	}{
		{"metadata", metadataKey(id), "0101" + seqHex},
		{"sliver primary", sliverKey(0x0102, encoding.Primary, id), "0102" + "0102" + "00" + seqHex},
		{"sliver secondary", sliverKey(0xfffe, encoding.Secondary, id), "0102" + "fffe" + "01" + seqHex},
		{"pair marker by shard", shardPairKey(7, id), "0103" + "0007" + seqHex},
		{"pair marker by blob", blobShardKey(id, 7), "0104" + seqHex + "0007"},
		{"blob record", blobRecordKey(id), "0105" + seqHex},
		{"expiry", expiryKey(0x01020304, id), "0106" + "01020304" + seqHex},
		{"event cursor", eventCursorKey(), "0107"},
		{"current epoch", epochKey(), "0108"},
		{"shard status", shardStatusKey(999), "0109" + "03e7"},
		{"object record", objectKey(id, ObjectID(blobID(0xab))), "010a" + seqHex + strings.Repeat("ab", 32)},
		{"object record blob prefix", objectPrefix(id), "010a" + seqHex},
		{"sliver axis prefix", sliverAxisPrefix(3, encoding.Secondary), "0102000301"},
		{"sliver shard prefix", sliverShardPrefix(3), "01020003"},
		{"pair marker shard prefix", shardPairPrefix(3), "01030003"},
		{"pair marker blob prefix", blobShardPrefix(id), "0104" + seqHex},
		{"expiry epoch prefix", expiryEpochPrefix(5), "010600000005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.key); got != tt.want {
				t.Errorf("key = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseKeyRoundTrip(t *testing.T) {
	id := seqID()
	tests := []keyInfo{
		{tag: tagMetadata, blobID: id},
		{tag: tagSliver, shard: 65535, axis: encoding.Secondary, blobID: id},
		{tag: tagSliver, shard: 0, axis: encoding.Primary, blobID: id},
		{tag: tagShardPair, shard: 12, blobID: id},
		{tag: tagBlobShard, shard: 300, blobID: id},
		{tag: tagBlobRecord, blobID: id},
		{tag: tagExpiry, endEpoch: 1 << 31, blobID: id},
		{tag: tagEventCursor},
		{tag: tagEpoch},
		{tag: tagShardStatus, shard: 4},
		{tag: tagObject, blobID: id, objectID: ObjectID(blobID(0x42))},
	}
	for _, want := range tests {
		k := want.encode()
		got, err := parseKey(k)
		if err != nil {
			t.Errorf("parseKey(%x): %v", k, err)
			continue
		}
		if got != want {
			t.Errorf("parseKey(%x) = %+v, want %+v", k, got, want)
		}
		if d := describeKey(k); strings.HasPrefix(d, "key ") {
			t.Errorf("describeKey(%x) = %q, want a name", k, d)
		}
	}
}

func TestDescribeKey(t *testing.T) {
	id := blobID(0)
	tests := []struct {
		key  []byte
		want string
	}{
		{sliverKey(3, encoding.Secondary, id), "sliver shard=3 axis=secondary blob=" + id.String()},
		{expiryKey(9, id), "expiry entry end_epoch=9 blob=" + id.String()},
		{objectKey(id, ObjectID{0xab, 0xcd}), "object record blob=" + id.String() + " object=abcd" + strings.Repeat("00", 30)},
		{sliverAxisPrefix(2, encoding.Primary), "sliver keys from 0102000200"},
		{shardPairPrefix(2), "pair marker (by shard) keys from 01030002"},
		{[]byte{1, 0x7f}, "key 017f"},
		{nil, "key "},
	}
	for _, tt := range tests {
		if got := describeKey(tt.key); got != tt.want {
			t.Errorf("describeKey(%x) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	id := seqID()
	tests := []struct {
		name string
		key  []byte
		want string
	}{
		{"empty", nil, "not a version 1 key"},
		{"one byte", []byte{1}, "not a version 1 key"},
		{"other version", append([]byte{2, tagMetadata}, id[:]...), "not a version 1 key"},
		{"foreign key", []byte("\xffwalrus"), "not a version 1 key"},
		{"unknown table", []byte{1, 0x7f}, "unknown table 0x7f"},
		{"table 0", []byte{1, 0}, "unknown table"},
		{"short metadata", metadataKey(id)[:33], "33 bytes, table 0x01 keys have 34"},
		{"long sliver", append(sliverKey(1, 0, id), 0), "38 bytes"},
		{"bad axis", func() []byte { k := sliverKey(1, 0, id); k[4] = 2; return k }(), "axis 2"},
		{"cursor with suffix", append(eventCursorKey(), 1), "3 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseKey(tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseKey(%x) = %v, want error containing %q", tt.key, err, tt.want)
			}
		})
	}
}

// TestKeyOrder checks the orders the listings rely on: shards and epochs in
// numeric order, a shard's slivers grouped by axis, a blob's markers together.
func TestKeyOrder(t *testing.T) {
	lo, hi := blobID(0x00), blobID(0xff)
	ordered := [][][]byte{
		{sliverKey(1, encoding.Primary, hi), sliverKey(1, encoding.Secondary, lo), sliverKey(2, encoding.Primary, lo), sliverKey(256, encoding.Primary, lo)},
		{shardPairKey(255, hi), shardPairKey(256, lo)},
		{expiryKey(255, hi), expiryKey(256, lo), expiryKey(1<<24, lo)},
		{blobShardKey(lo, 65535), blobShardKey(hi, 0)},
		{metadataKey(lo), sliverKey(0, 0, lo), shardPairKey(0, lo), blobShardKey(lo, 0),
			blobRecordKey(lo), expiryKey(0, lo), eventCursorKey(), epochKey(), shardStatusKey(0), shardStatusKey(65535)},
	}
	for i, keys := range ordered {
		for j := 1; j < len(keys); j++ {
			if bytes.Compare(keys[j-1], keys[j]) >= 0 {
				t.Errorf("group %d: key %x sorts at or after %x", i, keys[j-1], keys[j])
			}
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0102", "0103"},
		{"01ff", "02"},
		{"0106ffffffff", "0107"},
		{"00", "01"},
	}
	for _, tt := range tests {
		in, _ := hex.DecodeString(tt.in)
		if got := hex.EncodeToString(prefixEnd(in)); got != tt.want {
			t.Errorf("prefixEnd(%s) = %s, want %s", tt.in, got, tt.want)
		}
		if hex.EncodeToString(in) != tt.in {
			t.Errorf("prefixEnd modified its argument: %x", in)
		}
	}
}

// FuzzParseKey: a key that parses re-encodes to itself, and describeKey never
// panics.
func FuzzParseKey(f *testing.F) {
	id := seqID()
	for _, k := range [][]byte{
		metadataKey(id), sliverKey(3, 1, id), shardPairKey(3, id), blobShardKey(id, 3), blobRecordKey(id),
		expiryKey(9, id), eventCursorKey(), epochKey(), shardStatusKey(2), {1}, {},
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k []byte) {
		_ = describeKey(k)
		ki, err := parseKey(k)
		if err != nil {
			return
		}
		if got := ki.encode(); !bytes.Equal(got, k) {
			t.Fatalf("parseKey(%x) = %+v, which encodes to %x", k, ki, got)
		}
	})
}
