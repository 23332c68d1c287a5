package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
)

// MaxObjectIDs bounds BlobRecord.ObjectIDs: 1,024 IDs make a 32 KiB record.
// A blob ID with more live registrations than that is not something an honest
// network produces, and an unbounded record would be read and rewritten whole
// on every event of that blob.
const MaxObjectIDs = 1024

// ObjectID is the ID of a chain object, such as the Blob object a registration
// created.
type ObjectID [32]byte

// BlobRecord is the node's local view of a blob's state on chain, aggregated
// over all registrations of the blob ID (the same bytes may be registered more
// than once, permanently or deletably). The node writes it as it follows the
// chain's events; the store keeps the expiry index in step with EndEpoch.
type BlobRecord struct {
	// EncodingType and UnencodedLength are those of the registration.
	EncodingType    encoding.EncodingType
	UnencodedLength uint64
	// EndEpoch is the first epoch in which the blob is no longer stored (the
	// end is exclusive): the latest end epoch over the live registrations.
	// The expiry index is keyed by it.
	EndEpoch uint32
	// RegisteredEpoch is the epoch of the first registration.
	RegisteredEpoch uint32
	// Certified says whether the blob has been certified; CertifiedEpoch is
	// the epoch of the first certification, and is 0 when Certified is false.
	Certified      bool
	CertifiedEpoch uint32
	// PermanentRegistered and PermanentCertified count the live permanent
	// registrations, and those of them that are certified.
	PermanentRegistered uint32
	PermanentCertified  uint32
	// DeletableRegistered and DeletableCertified count the live deletable
	// registrations, and those of them that are certified.
	DeletableRegistered uint32
	DeletableCertified  uint32
	// Invalid is set once the blob ID has been certified invalid: its
	// slivers are not stored and not served.
	Invalid bool
	// ObjectIDs are the chain objects of the live registrations, at most
	// MaxObjectIDs, in the order the node added them.
	ObjectIDs []ObjectID
}

// Deletable reports whether every live registration of the blob is deletable:
// deleting them all deletes the blob.
func (r *BlobRecord) Deletable() bool {
	return r.PermanentRegistered == 0 && r.DeletableRegistered > 0
}

// Validate checks the record's invariants: CertifiedEpoch is 0 unless
// Certified, a certified count does not exceed its registered count, and
// ObjectIDs has at most MaxObjectIDs entries. It returns ErrInvalid, wrapped
// with the broken invariant.
func (r *BlobRecord) Validate() error {
	var errs []error
	if !r.Certified && r.CertifiedEpoch != 0 {
		errs = append(errs, fmt.Errorf("CertifiedEpoch (%d) must be 0 when Certified is false", r.CertifiedEpoch))
	}
	if r.PermanentCertified > r.PermanentRegistered {
		errs = append(errs, fmt.Errorf("PermanentCertified (%d) must be <= PermanentRegistered (%d)", r.PermanentCertified, r.PermanentRegistered))
	}
	if r.DeletableCertified > r.DeletableRegistered {
		errs = append(errs, fmt.Errorf("DeletableCertified (%d) must be <= DeletableRegistered (%d)", r.DeletableCertified, r.DeletableRegistered))
	}
	if len(r.ObjectIDs) > MaxObjectIDs {
		errs = append(errs, fmt.Errorf("ObjectIDs has %d entries, at most %d (MaxObjectIDs)", len(r.ObjectIDs), MaxObjectIDs))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: blob record: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// Blob record encoding.
//
// This layout is part of the on-disk format. It follows BCS (little-endian
// integers, bools as 0x00/0x01, options as a 0x00/0x01 tag, vectors with a
// ULEB128 length) so that it reads like the chain's own structures, and starts
// with its own version byte so that the record can grow without a new key
// schema:
//
//	version u8 (= 1)
//	encoding type u8
//	unencoded length u64
//	end epoch u32
//	registered epoch u32
//	certified epoch option<u32>      0x00 | 0x01 ‖ u32
//	permanent registered u32
//	permanent certified u32
//	deletable registered u32
//	deletable certified u32
//	invalid bool
//	object IDs vector<[32]u8>        ULEB128(count) ‖ count × 32 bytes
const (
	recordVersion1 byte = 1

	recordFixedLen = 1 + 1 + 8 + 4 + 4 + 1 + 4*4 + 1 // without the option's u32 and the vector
)

// marshalRecord returns the record's encoding. r must be valid.
func marshalRecord(r *BlobRecord) []byte {
	b := make([]byte, 0, recordFixedLen+4+2+len(r.ObjectIDs)*32)
	b = append(b, recordVersion1, byte(r.EncodingType))
	b = binary.LittleEndian.AppendUint64(b, r.UnencodedLength)
	b = binary.LittleEndian.AppendUint32(b, r.EndEpoch)
	b = binary.LittleEndian.AppendUint32(b, r.RegisteredEpoch)
	if r.Certified {
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint32(b, r.CertifiedEpoch)
	} else {
		b = append(b, 0)
	}
	b = binary.LittleEndian.AppendUint32(b, r.PermanentRegistered)
	b = binary.LittleEndian.AppendUint32(b, r.PermanentCertified)
	b = binary.LittleEndian.AppendUint32(b, r.DeletableRegistered)
	b = binary.LittleEndian.AppendUint32(b, r.DeletableCertified)
	b = append(b, boolByte(r.Invalid))
	b = binary.AppendUvarint(b, uint64(len(r.ObjectIDs))) // ULEB128
	for _, id := range r.ObjectIDs {
		b = append(b, id[:]...)
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// unmarshalRecord decodes a record. It rejects an unknown version, a bool or
// option tag other than 0 and 1, a non-canonical or too large count, a record
// that breaks Validate, and truncated or trailing bytes. The result does not
// alias b.
func unmarshalRecord(b []byte) (BlobRecord, error) {
	d := decoder{b: b}
	var r BlobRecord
	if v := d.u8("version"); d.err == nil && v != recordVersion1 {
		return BlobRecord{}, fmt.Errorf("blob record version %d, want %d", v, recordVersion1)
	}
	r.EncodingType = encoding.EncodingType(d.u8("encoding type"))
	r.UnencodedLength = d.u64("unencoded length")
	r.EndEpoch = d.u32("end epoch")
	r.RegisteredEpoch = d.u32("registered epoch")
	if r.Certified = d.bool("certified epoch tag"); r.Certified {
		r.CertifiedEpoch = d.u32("certified epoch")
	}
	r.PermanentRegistered = d.u32("permanent registered")
	r.PermanentCertified = d.u32("permanent certified")
	r.DeletableRegistered = d.u32("deletable registered")
	r.DeletableCertified = d.u32("deletable certified")
	r.Invalid = d.bool("invalid")
	n := d.uleb("object ID count", MaxObjectIDs)
	if d.err == nil && n > 0 {
		raw := d.bytes(int(n)*32, "object IDs")
		if d.err == nil {
			r.ObjectIDs = make([]ObjectID, n)
			for i := range r.ObjectIDs {
				copy(r.ObjectIDs[i][:], raw[i*32:])
			}
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return BlobRecord{}, fmt.Errorf("blob record: %w", d.err)
	}
	if err := r.Validate(); err != nil {
		return BlobRecord{}, err
	}
	return r, nil
}

// decoder reads the fixed-width and ULEB128 fields of the store's own value
// layouts. The first error sticks; later reads return zero.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) bytes(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = fmt.Errorf("%s: need %d bytes, have %d", what, n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8(what string) byte {
	if v := d.bytes(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) bool(what string) bool {
	switch v := d.u8(what); {
	case d.err != nil:
		return false
	case v > 1:
		d.err = fmt.Errorf("%s: %d is not a bool", what, v)
		return false
	default:
		return v == 1
	}
}

func (d *decoder) u32(what string) uint32 {
	if v := d.bytes(4, what); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if v := d.bytes(8, what); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

// uleb reads a canonical ULEB128 value of at most max.
func (d *decoder) uleb(what string, max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n <= 0:
		d.err = fmt.Errorf("%s: bad ULEB128", what)
		return 0
	case n != len(binary.AppendUvarint(nil, v)):
		d.err = fmt.Errorf("%s: non-canonical ULEB128", what)
		return 0
	case v > max:
		d.err = fmt.Errorf("%s: %d exceeds %d", what, v, max)
		return 0
	}
	d.b = d.b[n:]
	return v
}
