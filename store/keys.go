package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
)

// Key schema.
//
// These constants and layouts are part of the on-disk format and must not
// change; a change needs a new SchemaVersion (and a migration). The golden test
// in keys_test.go pins the exact bytes.
//
// The schema version is not under a key but in a file beside Pebble's (see
// schema.go).
//
// Every key starts with the schema version byte and a table tag byte.
// Integers in keys are big-endian, so that Pebble's bytewise order is numeric
// order; blob IDs are their 32 raw bytes; an axis is encoding.Axis as one byte
// (0 = primary, 1 = secondary). Every value is a payload in the checksummed
// envelope of value.go. Version 1:
//
//	key                                      len  value payload
//	01 01 ‖ blob ID                           34  metadata, BCS (encoding.Metadata)
//	01 02 ‖ shard u16 ‖ axis u8 ‖ blob ID     37  sliver, BCS (encoding.Sliver), or a reference into the sliver log (vlog.go)
//	01 03 ‖ shard u16 ‖ blob ID               36  pair marker by shard: empty
//	01 04 ‖ blob ID ‖ shard u16               36  pair marker by blob: empty
//	01 05 ‖ blob ID                           34  blob record (record.go)
//	01 06 ‖ end epoch u32 ‖ blob ID           38  expiry index entry: empty
//	01 07                                      2  event cursor: opaque bytes
//	01 08                                      2  current epoch: u32 LE
//	01 09 ‖ shard u16                          4  shard status: u8 (ShardStatus)
//	01 0a ‖ blob ID ‖ object ID               66  object record (record.go)
//	01 0b ‖ shard u16                          4  shard-sync cursor: epoch u32 LE ‖ blob ID (SyncCursor)
//
// Why this layout:
//
//   - Slivers are keyed by shard first, so that a shard's data is one key
//     range: shard sync pages through it in order, and dropping a shard is a
//     range deletion. The axis comes before the blob ID, so that a sync of one
//     axis (as Walrus's shard sync asks for) reads only that axis's slivers.
//   - A sliver pair is written together with two markers, in one batch. The
//     marker by shard lists a shard's blobs without touching sliver values
//     (which are large: Pebble would load each one's block); the marker by blob
//     lists the shards of a blob, so deleting a blob needs no scan of every
//     shard. A marker exists if and only if its pair's two slivers exist.
//   - The expiry index (end epoch, blob ID) is maintained in the same batch as
//     the blob record, so garbage collection reads a prefix of it instead of
//     every record.
//   - Each registration of a blob (a chain object) has a record of its own,
//     keyed by blob ID then object ID: checking that an object registers a
//     blob is one point read, however many registrations the blob ID has
//     (there is no cap for a squatter to fill), and deleting a blob removes
//     its objects' records as one key range. Table 0x0a was added to version 1
//     without a migration: a database written before it has no such keys,
//     and its blob records list their object IDs instead (BlobRecord.ObjectIDs).
//   - Slivers of Options.MinLoggedSliver bytes and more are written once, to
//     the sliver log, and their key holds a 25-byte reference (vlog.go): its
//     first byte, 0x00, is never the first of a BCS sliver, so the form was
//     added to version 1 without a migration, as table 0x0a was.
//   - A shard being synced at an epoch change keeps how far the sync got: the
//     last blob ID whose pair it has, and the epoch the sync is for. It is
//     written in the same batch as the pairs it covers (PutSyncedPairs), so a
//     restarted sync resumes after what is stored and never skips a pair. The
//     table was added within version 1: a store without it has no sync in
//     progress, and nothing else reads it.
const (
	// SchemaVersion is the version of the key schema and value formats this
	// package reads and writes. Open refuses a database of another version.
	SchemaVersion byte = 1

	tagMetadata    byte = 0x01
	tagSliver      byte = 0x02
	tagShardPair   byte = 0x03
	tagBlobShard   byte = 0x04
	tagBlobRecord  byte = 0x05
	tagExpiry      byte = 0x06
	tagEventCursor byte = 0x07
	tagEpoch       byte = 0x08
	tagShardStatus byte = 0x09
	tagObject      byte = 0x0a
	tagSyncCursor  byte = 0x0b

	blobIDLen   = 32
	objectIDLen = 32

	metadataKeyLen    = 2 + blobIDLen
	sliverKeyLen      = 2 + 2 + 1 + blobIDLen
	shardPairKeyLen   = 2 + 2 + blobIDLen
	blobShardKeyLen   = 2 + blobIDLen + 2
	blobRecordKeyLen  = 2 + blobIDLen
	expiryKeyLen      = 2 + 4 + blobIDLen
	eventCursorKeyLen = 2
	epochKeyLen       = 2
	shardStatusKeyLen = 2 + 2
	objectKeyLen      = 2 + blobIDLen + objectIDLen
	syncCursorKeyLen  = 2 + 2
)

// prefix returns the two bytes every key of table tag starts with, with room
// for the longest key so that appending the rest does not reallocate.
func prefix(tag byte) []byte {
	b := make([]byte, 2, objectKeyLen+1)
	b[0], b[1] = SchemaVersion, tag
	return b
}

func metadataKey(id encoding.BlobID) []byte {
	return append(prefix(tagMetadata), id[:]...)
}

func sliverKey(shard uint16, axis encoding.Axis, id encoding.BlobID) []byte {
	k := binary.BigEndian.AppendUint16(prefix(tagSliver), shard)
	k = append(k, byte(axis))
	return append(k, id[:]...)
}

// sliverAxisPrefix is the prefix of all slivers of one axis of a shard.
func sliverAxisPrefix(shard uint16, axis encoding.Axis) []byte {
	return append(binary.BigEndian.AppendUint16(prefix(tagSliver), shard), byte(axis))
}

// sliverShardPrefix is the prefix of all slivers of a shard.
func sliverShardPrefix(shard uint16) []byte {
	return binary.BigEndian.AppendUint16(prefix(tagSliver), shard)
}

func shardPairKey(shard uint16, id encoding.BlobID) []byte {
	return append(shardPairPrefix(shard), id[:]...)
}

// shardPairPrefix is the prefix of the pair markers of a shard.
func shardPairPrefix(shard uint16) []byte {
	return binary.BigEndian.AppendUint16(prefix(tagShardPair), shard)
}

func blobShardKey(id encoding.BlobID, shard uint16) []byte {
	return binary.BigEndian.AppendUint16(blobShardPrefix(id), shard)
}

// blobShardPrefix is the prefix of the pair markers of a blob.
func blobShardPrefix(id encoding.BlobID) []byte {
	return append(prefix(tagBlobShard), id[:]...)
}

func blobRecordKey(id encoding.BlobID) []byte {
	return append(prefix(tagBlobRecord), id[:]...)
}

func expiryKey(endEpoch uint32, id encoding.BlobID) []byte {
	return append(expiryEpochPrefix(endEpoch), id[:]...)
}

// expiryEpochPrefix is the prefix of the expiry entries of one end epoch.
func expiryEpochPrefix(endEpoch uint32) []byte {
	return binary.BigEndian.AppendUint32(prefix(tagExpiry), endEpoch)
}

func eventCursorKey() []byte { return prefix(tagEventCursor) }

func epochKey() []byte { return prefix(tagEpoch) }

func shardStatusKey(shard uint16) []byte {
	return binary.BigEndian.AppendUint16(prefix(tagShardStatus), shard)
}

func objectKey(id encoding.BlobID, obj ObjectID) []byte {
	return append(objectPrefix(id), obj[:]...)
}

// objectPrefix is the prefix of the object records of a blob.
func objectPrefix(id encoding.BlobID) []byte {
	return append(prefix(tagObject), id[:]...)
}

func syncCursorKey(shard uint16) []byte {
	return binary.BigEndian.AppendUint16(prefix(tagSyncCursor), shard)
}

// prefixEnd returns the smallest key greater than every key starting with p:
// the exclusive upper bound of p's range. p must not be all 0xff bytes.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	panic("store: prefixEnd of an all-0xff prefix")
}

// keyInfo is a parsed key: the table and whichever fields its layout has.
type keyInfo struct {
	tag      byte
	shard    uint16
	axis     encoding.Axis
	blobID   encoding.BlobID
	endEpoch uint32
	objectID ObjectID
}

// parseKey parses a key of the current schema. It checks the version, the tag,
// the length and the axis; a key it rejects was not written by this package.
func parseKey(k []byte) (keyInfo, error) {
	if len(k) < 2 || k[0] != SchemaVersion {
		return keyInfo{}, fmt.Errorf("key %x: not a version %d key", k, SchemaVersion)
	}
	ki := keyInfo{tag: k[1]}
	want := 0
	switch ki.tag {
	case tagMetadata:
		want = metadataKeyLen
	case tagSliver:
		want = sliverKeyLen
	case tagShardPair:
		want = shardPairKeyLen
	case tagBlobShard:
		want = blobShardKeyLen
	case tagBlobRecord:
		want = blobRecordKeyLen
	case tagExpiry:
		want = expiryKeyLen
	case tagEventCursor:
		want = eventCursorKeyLen
	case tagEpoch:
		want = epochKeyLen
	case tagShardStatus:
		want = shardStatusKeyLen
	case tagObject:
		want = objectKeyLen
	case tagSyncCursor:
		want = syncCursorKeyLen
	default:
		return keyInfo{}, fmt.Errorf("key %x: unknown table %#02x", k, ki.tag)
	}
	if len(k) != want {
		return keyInfo{}, fmt.Errorf("key %x: %d bytes, table %#02x keys have %d", k, len(k), ki.tag, want)
	}
	b := k[2:]
	switch ki.tag {
	case tagMetadata, tagBlobRecord:
		copy(ki.blobID[:], b)
	case tagSliver:
		ki.shard = binary.BigEndian.Uint16(b)
		ki.axis = encoding.Axis(b[2])
		if ki.axis != encoding.Primary && ki.axis != encoding.Secondary {
			return keyInfo{}, fmt.Errorf("key %x: axis %d", k, b[2])
		}
		copy(ki.blobID[:], b[3:])
	case tagShardPair:
		ki.shard = binary.BigEndian.Uint16(b)
		copy(ki.blobID[:], b[2:])
	case tagBlobShard:
		copy(ki.blobID[:], b)
		ki.shard = binary.BigEndian.Uint16(b[blobIDLen:])
	case tagExpiry:
		ki.endEpoch = binary.BigEndian.Uint32(b)
		copy(ki.blobID[:], b[4:])
	case tagShardStatus, tagSyncCursor:
		ki.shard = binary.BigEndian.Uint16(b)
	case tagObject:
		copy(ki.blobID[:], b)
		copy(ki.objectID[:], b[blobIDLen:])
	}
	return ki, nil
}

// encode returns the key ki describes; parseKey(ki.encode()) == ki.
func (ki keyInfo) encode() []byte {
	switch ki.tag {
	case tagMetadata:
		return metadataKey(ki.blobID)
	case tagSliver:
		return sliverKey(ki.shard, ki.axis, ki.blobID)
	case tagShardPair:
		return shardPairKey(ki.shard, ki.blobID)
	case tagBlobShard:
		return blobShardKey(ki.blobID, ki.shard)
	case tagBlobRecord:
		return blobRecordKey(ki.blobID)
	case tagExpiry:
		return expiryKey(ki.endEpoch, ki.blobID)
	case tagEventCursor:
		return eventCursorKey()
	case tagEpoch:
		return epochKey()
	case tagShardStatus:
		return shardStatusKey(ki.shard)
	case tagObject:
		return objectKey(ki.blobID, ki.objectID)
	case tagSyncCursor:
		return syncCursorKey(ki.shard)
	}
	return nil
}

// tableNames names the tables for describeKey.
var tableNames = map[byte]string{
	tagMetadata:    "metadata",
	tagSliver:      "sliver",
	tagShardPair:   "pair marker (by shard)",
	tagBlobShard:   "pair marker (by blob)",
	tagBlobRecord:  "blob record",
	tagExpiry:      "expiry entry",
	tagEventCursor: "event cursor",
	tagEpoch:       "current epoch",
	tagShardStatus: "shard status",
	tagObject:      "object record",
	tagSyncCursor:  "shard-sync cursor",
}

// describeKey names a key for error messages and logs: "sliver shard=3
// axis=primary blob=…". It never fails; an unknown key is shown in hex.
func describeKey(k []byte) string {
	ki, err := parseKey(k)
	if err != nil {
		// A range bound (the prefix of a listing) names its table.
		if len(k) >= 2 && k[0] == SchemaVersion && tableNames[k[1]] != "" {
			return tableNames[k[1]] + " keys from " + hex.EncodeToString(k)
		}
		return "key " + hex.EncodeToString(k)
	}
	switch ki.tag {
	case tagMetadata:
		return "metadata blob=" + ki.blobID.String()
	case tagSliver:
		return fmt.Sprintf("sliver shard=%d axis=%s blob=%s", ki.shard, ki.axis, ki.blobID)
	case tagShardPair:
		return fmt.Sprintf("pair marker shard=%d blob=%s", ki.shard, ki.blobID)
	case tagBlobShard:
		return fmt.Sprintf("pair marker blob=%s shard=%d", ki.blobID, ki.shard)
	case tagBlobRecord:
		return "blob record blob=" + ki.blobID.String()
	case tagExpiry:
		return fmt.Sprintf("expiry entry end_epoch=%d blob=%s", ki.endEpoch, ki.blobID)
	case tagEventCursor:
		return "event cursor"
	case tagEpoch:
		return "current epoch"
	case tagShardStatus:
		return fmt.Sprintf("shard status shard=%d", ki.shard)
	case tagObject:
		return fmt.Sprintf("object record blob=%s object=%x", ki.blobID, ki.objectID[:])
	case tagSyncCursor:
		return fmt.Sprintf("shard-sync cursor shard=%d", ki.shard)
	}
	return "key " + hex.EncodeToString(k)
}
