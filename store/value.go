package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Value envelope.
//
// This layout is part of the on-disk format. Every value the store writes is
//
//	CRC-32C(key ‖ payload) u32 LE ‖ payload
//
// The checksum covers the key as well as the payload, so a value that ends up
// under another key (a misdirected write, a bug in a migration) fails its check
// just as a flipped bit does. CRC-32C (Castagnoli) has hardware support on
// amd64 and arm64, so checking a sliver of megabytes costs a fraction of
// reading it. Payloads by table are listed in keys.go.
const checksumLen = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errChecksum is the cause of ErrCorrupt for a value whose checksum does not
// match.
var errChecksum = errors.New("checksum mismatch")

// checksum is CRC-32C over key ‖ payload.
func checksum(key, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, payload)
}

// putChecksum writes the checksum of payload under key into v[:checksumLen].
func putChecksum(v, key, payload []byte) {
	binary.LittleEndian.PutUint32(v, checksum(key, payload))
}

// sealValue returns the envelope of payload under key.
func sealValue(key, payload []byte) []byte {
	v := make([]byte, checksumLen, checksumLen+len(payload))
	binary.LittleEndian.PutUint32(v, checksum(key, payload))
	return append(v, payload...)
}

// openValue checks the envelope of a value read under key and returns its
// payload, which aliases v. The error is errChecksum or a description of a
// short value; callers wrap it as ErrCorrupt.
func openValue(key, v []byte) ([]byte, error) {
	if len(v) < checksumLen {
		return nil, fmt.Errorf("value of %d bytes is shorter than its %d-byte checksum", len(v), checksumLen)
	}
	payload := v[checksumLen:]
	if got, want := binary.LittleEndian.Uint32(v), checksum(key, payload); got != want {
		return nil, fmt.Errorf("%w: stored %08x, computed %08x", errChecksum, got, want)
	}
	return payload, nil
}

// ShardStatus is the node's state of one shard, stored per shard. Its values
// are part of the on-disk format.
type ShardStatus uint8

// Shard states. The zero value is not a state: it is never stored, and a read
// of it is ErrCorrupt.
const (
	// ShardActive: the node holds the shard in the current epoch and serves
	// its slivers.
	ShardActive ShardStatus = 1
	// ShardSyncing: the shard was assigned to the node at an epoch change and
	// its data is being pulled from the previous holder or recovered.
	ShardSyncing ShardStatus = 2
	// ShardRemoved: the shard moved to another node; its data may be
	// deleted (DeleteShard) once the new holder has synced.
	ShardRemoved ShardStatus = 3
)

func (st ShardStatus) String() string {
	switch st {
	case ShardActive:
		return "active"
	case ShardSyncing:
		return "syncing"
	case ShardRemoved:
		return "removed"
	}
	return fmt.Sprintf("shard_status(%d)", uint8(st))
}

// valid reports whether st is one of the defined states.
func (st ShardStatus) valid() bool { return st >= ShardActive && st <= ShardRemoved }

// decodeShardStatus decodes a shard status payload: one byte, a defined state.
func decodeShardStatus(p []byte) (ShardStatus, error) {
	if len(p) != 1 {
		return 0, fmt.Errorf("shard status of %d bytes, want 1", len(p))
	}
	st := ShardStatus(p[0])
	if !st.valid() {
		return 0, fmt.Errorf("unknown shard status %d", p[0])
	}
	return st, nil
}

// decodeEpoch decodes an epoch payload: u32 LE.
func decodeEpoch(p []byte) (uint32, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("epoch of %d bytes, want 4", len(p))
	}
	return binary.LittleEndian.Uint32(p), nil
}

// decodeEmpty checks the payload of a marker or index entry: empty.
func decodeEmpty(p []byte) error {
	if len(p) != 0 {
		return fmt.Errorf("marker of %d bytes, want 0", len(p))
	}
	return nil
}
