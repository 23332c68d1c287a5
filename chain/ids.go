package chain

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// Address identifies an account: Blake2b-256(0x00 ‖ Ed25519 public key), as
// on Sui. Its text form is "0x" followed by 64 lowercase hex digits.
// The zero Address is never an account's.
type Address [32]byte

// ObjectID identifies an object on chain (blob, storage resource, staked WAL,
// staking pool). Its text form is "0x" followed by 64 lowercase hex digits.
type ObjectID [32]byte

// NodeID identifies a storage node: the ID of its staking pool object, as on
// Walrus.
type NodeID = ObjectID

// Digest identifies a transaction. Its text form is 64 lowercase hex digits.
type Digest [32]byte

// addressFlagEd25519 is Sui's signature scheme flag for Ed25519; an address
// hashes it before the public key.
const addressFlagEd25519 = 0x00

// objectIDDomain separates object ID derivation from other Blake2b uses.
const objectIDDomain = 0xF1

// AddressOf returns the address of an Ed25519 public key:
// Blake2b-256(0x00 ‖ public key).
func AddressOf(pub []byte) Address {
	h, _ := blake2b.New256(nil)
	h.Write([]byte{addressFlagEd25519})
	h.Write(pub)
	var a Address
	h.Sum(a[:0])
	return a
}

// DeriveObjectID returns the ID of the index-th object created by the
// transaction with the given digest: Blake2b-256(0xF1 ‖ digest ‖ index u64 LE).
func DeriveObjectID(tx Digest, index uint64) ObjectID {
	var buf [1 + 32 + 8]byte
	buf[0] = objectIDDomain
	copy(buf[1:], tx[:])
	binary.LittleEndian.PutUint64(buf[33:], index)
	return ObjectID(blake2b.Sum256(buf[:]))
}

func parseHex32(kind, s string, prefix bool) ([32]byte, error) {
	var out [32]byte
	t := s
	if prefix {
		var ok bool
		if t, ok = strings.CutPrefix(s, "0x"); !ok {
			return out, fmt.Errorf("%w: %s %q must start with 0x", ErrInvalidArgument, kind, s)
		}
	}
	if len(t) != 64 {
		return out, fmt.Errorf("%w: %s %q must have 64 hex digits", ErrInvalidArgument, kind, s)
	}
	if _, err := hex.Decode(out[:], []byte(t)); err != nil {
		return out, fmt.Errorf("%w: %s %q: %v", ErrInvalidArgument, kind, s, err)
	}
	return out, nil
}

// ParseAddress parses the text form of an address ("0x" + 64 hex digits).
func ParseAddress(s string) (Address, error) {
	b, err := parseHex32("address", s, true)
	return Address(b), err
}

// String returns "0x" followed by 64 lowercase hex digits.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// IsZero reports whether a is the zero address.
func (a Address) IsZero() bool { return a == Address{} }

// MarshalText implements encoding.TextMarshaler.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseObjectID parses the text form of an object ID ("0x" + 64 hex digits).
func ParseObjectID(s string) (ObjectID, error) {
	b, err := parseHex32("object ID", s, true)
	return ObjectID(b), err
}

// String returns "0x" followed by 64 lowercase hex digits.
func (id ObjectID) String() string { return "0x" + hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID.
func (id ObjectID) IsZero() bool { return id == ObjectID{} }

// MarshalText implements encoding.TextMarshaler.
func (id ObjectID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ObjectID) UnmarshalText(b []byte) error {
	v, err := ParseObjectID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseDigest parses the text form of a digest (64 hex digits).
func ParseDigest(s string) (Digest, error) {
	b, err := parseHex32("digest", s, false)
	return Digest(b), err
}

// String returns 64 lowercase hex digits.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Bitmap is a set of committee member indices: bit i (byte i/8, bit i%8,
// least significant bit first) stands for member i. Its JSON form is base64.
type Bitmap []byte

// NewBitmap returns an empty bitmap for n members.
func NewBitmap(n int) Bitmap { return make(Bitmap, (n+7)/8) }

// BitmapOf returns a bitmap for n members with the given members set. It
// ignores indices outside [0, n).
func BitmapOf(n int, members ...int) Bitmap {
	b := NewBitmap(n)
	for _, i := range members {
		if i >= 0 && i < n {
			b.Set(i)
		}
	}
	return b
}

// Set adds member i. It panics if i is outside the bitmap.
func (b Bitmap) Set(i int) { b[i/8] |= 1 << (i % 8) }

// Has reports whether member i is in the set; false outside the bitmap.
func (b Bitmap) Has(i int) bool {
	if i < 0 || i/8 >= len(b) {
		return false
	}
	return b[i/8]&(1<<(i%8)) != 0
}

// Members returns the indices in the set, ascending.
func (b Bitmap) Members() []int {
	var out []int
	for i := 0; i < len(b)*8; i++ {
		if b.Has(i) {
			out = append(out, i)
		}
	}
	return out
}

// check reports an error unless b is the canonical bitmap for n members:
// exactly ceil(n/8) bytes, no bit at or above n.
func (b Bitmap) check(n int) error {
	if len(b) != (n+7)/8 {
		return fmt.Errorf("%w: signer bitmap has %d bytes, want %d for %d members", ErrInvalidCertificate, len(b), (n+7)/8, n)
	}
	if n%8 != 0 && b[len(b)-1]>>(n%8) != 0 {
		return fmt.Errorf("%w: signer bitmap sets members beyond the committee's %d", ErrInvalidCertificate, n)
	}
	return nil
}
