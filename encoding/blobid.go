package encoding

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/blake2b"
)

// BlobID identifies a blob: Blake2b-256(encoding type u8 ‖ unencoded length
// u64 LE ‖ Merkle root over the sliver pair hashes). Its text form is URL-safe
// base64 without padding (43 characters), as Walrus shows it.
type BlobID [32]byte

// BlobIDLen is the length of a blob ID's text form.
const BlobIDLen = 43

// ErrInvalidBlobID is returned when a blob ID's text form does not parse.
var ErrInvalidBlobID = errors.New("encoding: invalid blob ID")

// ComputeBlobID derives a blob ID from its parts.
func ComputeBlobID(typ EncodingType, unencodedLength uint64, root Hash) BlobID {
	var buf [1 + 8 + 32]byte
	buf[0] = byte(typ)
	binary.LittleEndian.PutUint64(buf[1:9], unencodedLength)
	copy(buf[9:], root[:])
	return BlobID(blake2b.Sum256(buf[:]))
}

// String returns the URL-safe base64 form without padding.
func (id BlobID) String() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// ParseBlobID parses the URL-safe base64 form (43 characters, no padding).
func ParseBlobID(s string) (BlobID, error) {
	var id BlobID
	if len(s) != BlobIDLen {
		return id, fmt.Errorf("%w: %q has %d characters, want %d", ErrInvalidBlobID, truncate(s), len(s), BlobIDLen)
	}
	n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(s))
	if err != nil || n != len(id) {
		return BlobID{}, fmt.Errorf("%w: %q is not URL-safe base64", ErrInvalidBlobID, s)
	}
	return id, nil
}

// MarshalText implements encoding.TextMarshaler (JSON uses the base64 form).
func (id BlobID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *BlobID) UnmarshalText(b []byte) error {
	v, err := ParseBlobID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ShardForPair returns the shard that stores sliver pair `pair` of this blob:
// (pair + offset) mod n with offset = the blob ID as a big-endian integer mod n.
func (id BlobID) ShardForPair(pair, n int) int {
	return (pair + id.rotation(n)) % n
}

// PairForShard is the inverse of ShardForPair.
func (id BlobID) PairForShard(shard, n int) int {
	return (shard - id.rotation(n) + n) % n
}

// rotation is the blob ID as a big-endian integer mod n (Horner's rule).
func (id BlobID) rotation(n int) int {
	r := 0
	for _, b := range id {
		r = (r<<8 | int(b)) % n
	}
	return r
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
