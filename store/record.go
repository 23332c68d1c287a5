package store

import (
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

// MaxObjectIDs bounds BlobRecord.ObjectIDs, the object list of records
// written before object records (Tx.PutObjectRecord) existed: 1,024 IDs make
// a 32 KiB record. Nothing adds to the list any more; registrations are
// object records, which have no cap (each costs its registrant a paid
// registration on chain, so a squatter cannot fill one up).
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
	// ObjectIDs is legacy: the live registrations of a record written
	// before object records existed (at most MaxObjectIDs). A node honors
	// and removes them, and never adds to them; each registration has an
	// ObjectRecord of its own instead.
	ObjectIDs []ObjectID
}

// ObjectRecord is the node's view of one registration of a blob: the chain
// object (a Blob object) that a BlobRegistered event created.
type ObjectRecord struct {
	// Deletable says whether the object's owner may delete it.
	Deletable bool
	// Certified says whether the object has been certified.
	Certified bool
	// EndEpoch is the first epoch in which the object no longer stores
	// the blob.
	EndEpoch uint32
}

// Object record encoding.
//
// This layout is part of the on-disk format (BCS, like the blob record),
// pinned by TestObjectRecordGolden and testdata/database-v1.txt:
//
//	version u8 (= 1)
//	deletable bool
//	certified bool
//	end epoch u32
const (
	objectRecordVersion1 byte = 1
	objectRecordLen           = 1 + 1 + 1 + 4
)

func marshalObjectRecord(r *ObjectRecord) []byte {
	b := make([]byte, 0, objectRecordLen)
	b = bcs.AppendU8(b, objectRecordVersion1)
	b = bcs.AppendBool(b, r.Deletable)
	b = bcs.AppendBool(b, r.Certified)
	return bcs.AppendU32(b, r.EndEpoch)
}

// unmarshalObjectRecord decodes an object record. It rejects an unknown
// version, a bool other than 0 and 1, and truncated or trailing bytes.
func unmarshalObjectRecord(b []byte) (ObjectRecord, error) {
	d := bcs.NewReader(b)
	if v := d.U8("version"); d.Err() == nil && v != objectRecordVersion1 {
		return ObjectRecord{}, fmt.Errorf("object record version %d, want %d", v, objectRecordVersion1)
	}
	r := ObjectRecord{Deletable: d.Bool("deletable"), Certified: d.Bool("certified"), EndEpoch: d.U32("end epoch")}
	if err := d.Done(); err != nil {
		return ObjectRecord{}, fmt.Errorf("object record: %w", err)
	}
	return r, nil
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
// schema. It is written and read with package encoding/bcs, and pinned by
// TestRecordGolden and testdata/database-v1.txt (golden_test.go):
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
//	object IDs vector<[32]u8>        ULEB128(count) ‖ count × 32 bytes (legacy: empty in new records)
const (
	recordVersion1 byte = 1

	recordFixedLen = 1 + 1 + 8 + 4 + 4 + 1 + 4*4 + 1 // without the option's u32 and the vector
)

// marshalRecord returns the record's encoding. r must be valid.
func marshalRecord(r *BlobRecord) []byte {
	b := make([]byte, 0, recordFixedLen+4+bcs.MaxULEB128Len+len(r.ObjectIDs)*len(ObjectID{}))
	b = bcs.AppendU8(b, recordVersion1)
	b = bcs.AppendU8(b, byte(r.EncodingType))
	b = bcs.AppendU64(b, r.UnencodedLength)
	b = bcs.AppendU32(b, r.EndEpoch)
	b = bcs.AppendU32(b, r.RegisteredEpoch)
	b = bcs.AppendBool(b, r.Certified) // option tag
	if r.Certified {
		b = bcs.AppendU32(b, r.CertifiedEpoch)
	}
	b = bcs.AppendU32(b, r.PermanentRegistered)
	b = bcs.AppendU32(b, r.PermanentCertified)
	b = bcs.AppendU32(b, r.DeletableRegistered)
	b = bcs.AppendU32(b, r.DeletableCertified)
	b = bcs.AppendBool(b, r.Invalid)
	b = bcs.AppendLength(b, len(r.ObjectIDs))
	for _, id := range r.ObjectIDs {
		b = append(b, id[:]...)
	}
	return b
}

// unmarshalRecord decodes a record. It rejects an unknown version, a bool or
// option tag other than 0 and 1, a non-canonical or too large count, a record
// that breaks Validate, and truncated or trailing bytes. The result does not
// alias b.
func unmarshalRecord(b []byte) (BlobRecord, error) {
	d := bcs.NewReader(b)
	var r BlobRecord
	if v := d.U8("version"); d.Err() == nil && v != recordVersion1 {
		return BlobRecord{}, fmt.Errorf("blob record version %d, want %d", v, recordVersion1)
	}
	r.EncodingType = encoding.EncodingType(d.U8("encoding type"))
	r.UnencodedLength = d.U64("unencoded length")
	r.EndEpoch = d.U32("end epoch")
	r.RegisteredEpoch = d.U32("registered epoch")
	if r.Certified = d.Bool("certified epoch tag"); r.Certified {
		r.CertifiedEpoch = d.U32("certified epoch")
	}
	r.PermanentRegistered = d.U32("permanent registered")
	r.PermanentCertified = d.U32("permanent certified")
	r.DeletableRegistered = d.U32("deletable registered")
	r.DeletableCertified = d.U32("deletable certified")
	r.Invalid = d.Bool("invalid")
	n := d.Length("object ID count", MaxObjectIDs)
	if raw := d.Fixed("object IDs", n*len(ObjectID{})); len(raw) > 0 {
		r.ObjectIDs = make([]ObjectID, n)
		for i := range r.ObjectIDs {
			copy(r.ObjectIDs[i][:], raw[i*len(ObjectID{}):])
		}
	}
	if err := d.Done(); err != nil {
		return BlobRecord{}, fmt.Errorf("blob record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return BlobRecord{}, err
	}
	return r, nil
}
