package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

func fullRecord() BlobRecord {
	return BlobRecord{
		EncodingType:        encoding.RS2,
		UnencodedLength:     0x0102030405060708,
		EndEpoch:            0x11,
		RegisteredEpoch:     0x0a,
		Certified:           true,
		CertifiedEpoch:      0x0b,
		PermanentRegistered: 2,
		PermanentCertified:  1,
		DeletableRegistered: 4,
		DeletableCertified:  3,
		Invalid:             true,
		ObjectIDs:           []ObjectID{ObjectID(blobID(0xaa)), ObjectID(blobID(0xbb))},
	}
}

// TestRecordGolden pins the encoding of a blob record, version 1: part of the
// on-disk format.
func TestRecordGolden(t *testing.T) {
	tests := []struct {
		name string
		rec  BlobRecord
		want string
	}{
		{"zero", BlobRecord{}, "01" + "00" + "0000000000000000" + "00000000" + "00000000" + "00" +
			"00000000" + "00000000" + "00000000" + "00000000" + "00" + "00"},
		{"full", fullRecord(), "01" + "01" + "0807060504030201" + "11000000" + "0a000000" + "01" + "0b000000" +
			"02000000" + "01000000" + "04000000" + "03000000" + "01" + "02" +
			strings.Repeat("aa", 32) + strings.Repeat("bb", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := marshalRecord(&tt.rec)
			if got := hex.EncodeToString(b); got != tt.want {
				t.Fatalf("marshalRecord = %s\nwant            %s", got, tt.want)
			}
			got, err := unmarshalRecord(b)
			if err != nil {
				t.Fatalf("unmarshalRecord: %v", err)
			}
			if tt.rec.ObjectIDs == nil {
				tt.rec.ObjectIDs = nil // decoding an empty vector gives nil
			}
			if !reflect.DeepEqual(got, tt.rec) {
				t.Errorf("round trip = %+v, want %+v", got, tt.rec)
			}
		})
	}
}

func TestRecordRoundTripMaxObjectIDs(t *testing.T) {
	rec := BlobRecord{EndEpoch: 3, ObjectIDs: make([]ObjectID, MaxObjectIDs)}
	for i := range rec.ObjectIDs {
		binary.BigEndian.PutUint32(rec.ObjectIDs[i][:], uint32(i))
	}
	b := marshalRecord(&rec)
	got, err := unmarshalRecord(b)
	if err != nil {
		t.Fatalf("unmarshalRecord: %v", err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Errorf("round trip of %d object IDs differs", MaxObjectIDs)
	}
}

func TestRecordValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*BlobRecord)
		want string // "" = valid
	}{
		{"full", func(*BlobRecord) {}, ""},
		{"uncertified", func(r *BlobRecord) {
			r.Certified, r.CertifiedEpoch, r.PermanentCertified, r.DeletableCertified = false, 0, 0, 0
		}, ""},
		{"certified epoch without certified", func(r *BlobRecord) { r.Certified = false }, "CertifiedEpoch (11) must be 0"},
		{"permanent certified > registered", func(r *BlobRecord) { r.PermanentCertified = 3 }, "PermanentCertified (3) must be <= PermanentRegistered (2)"},
		{"deletable certified > registered", func(r *BlobRecord) { r.DeletableCertified = 5 }, "DeletableCertified (5) must be <= DeletableRegistered (4)"},
		{"too many object IDs", func(r *BlobRecord) { r.ObjectIDs = make([]ObjectID, MaxObjectIDs+1) }, "ObjectIDs has 1025 entries, at most 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fullRecord()
			tt.mod(&r)
			err := r.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestRecordDeletable(t *testing.T) {
	tests := []struct {
		perm, del uint32
		want      bool
	}{{0, 0, false}, {0, 1, true}, {1, 1, false}, {1, 0, false}}
	for _, tt := range tests {
		r := BlobRecord{PermanentRegistered: tt.perm, DeletableRegistered: tt.del}
		if got := r.Deletable(); got != tt.want {
			t.Errorf("Deletable(permanent %d, deletable %d) = %v, want %v", tt.perm, tt.del, got, tt.want)
		}
	}
}

func TestUnmarshalRecordRejects(t *testing.T) {
	full := marshalRecord(ptr(fullRecord()))
	zero := marshalRecord(&BlobRecord{})
	set := func(b []byte, i int, v byte) []byte { b = bytes.Clone(b); b[i] = v; return b }
	const certTag = 1 + 1 + 8 + 4 + 4 // offset of the certified option tag
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "version: need 1 bytes"},
		{"version 0", set(full, 0, 0), "blob record version 0"},
		{"version 2", set(full, 0, 2), "blob record version 2"},
		{"truncated fixed part", full[:20], "need"},
		{"truncated object IDs", full[:len(full)-1], "object IDs: need 64 bytes, have 63"},
		{"trailing byte", append(bytes.Clone(full), 0), "1 trailing bytes"},
		{"option tag 2", set(zero, certTag, 2), "certified epoch tag: 2 is not a bool"},
		{"invalid bool 2", set(zero, len(zero)-2, 2), "invalid: 2 is not a bool"},
		{"count over max", append(bytes.Clone(zero[:len(zero)-1]), 0x81, 0x08), "object ID count: 1025 exceeds 1024"},
		{"non-canonical count", append(bytes.Clone(zero[:len(zero)-1]), 0x80, 0x00), "non-canonical ULEB128"},
		{"unterminated count", append(bytes.Clone(zero[:len(zero)-1]), 0x80), "bad ULEB128"},
		{"breaks invariant", marshalRecord(&BlobRecord{PermanentCertified: 1}), "PermanentCertified (1) must be <="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := unmarshalRecord(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("unmarshalRecord(%x) = %+v, %v; want error containing %q", tt.b, r, err, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestObjectRecordGolden pins the encoding of an object record, version 1:
// part of the on-disk format.
func TestObjectRecordGolden(t *testing.T) {
	for _, tt := range []struct {
		rec  ObjectRecord
		want string
	}{
		{ObjectRecord{}, "01" + "00" + "00" + "00000000"},
		{ObjectRecord{Deletable: true, Certified: true, EndEpoch: 0x01020304}, "01" + "01" + "01" + "04030201"},
	} {
		b := marshalObjectRecord(&tt.rec)
		if got := hex.EncodeToString(b); got != tt.want {
			t.Errorf("marshalObjectRecord(%+v) = %s, want %s", tt.rec, got, tt.want)
		}
		if got, err := unmarshalObjectRecord(b); err != nil || got != tt.rec {
			t.Errorf("round trip = %+v, %v", got, err)
		}
	}
	full := marshalObjectRecord(&ObjectRecord{Deletable: true, EndEpoch: 7})
	set := func(i int, v byte) []byte { b := bytes.Clone(full); b[i] = v; return b }
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "version: need 1 bytes"},
		{"version 2", set(0, 2), "object record version 2"},
		{"deletable 2", set(1, 2), "deletable: 2 is not a bool"},
		{"certified 3", set(2, 3), "certified: 3 is not a bool"},
		{"truncated", full[:5], "end epoch: need 4 bytes"},
		{"trailing byte", append(bytes.Clone(full), 0), "1 trailing bytes"},
	} {
		if r, err := unmarshalObjectRecord(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: unmarshalObjectRecord(%x) = %+v, %v; want error containing %q", tt.name, tt.b, r, err, tt.want)
		}
	}
}

// FuzzUnmarshalObjectRecord: an object record that decodes re-encodes to
// the same bytes.
func FuzzUnmarshalObjectRecord(f *testing.F) {
	f.Add(marshalObjectRecord(&ObjectRecord{Deletable: true, Certified: true, EndEpoch: 9}))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := unmarshalObjectRecord(b)
		if err != nil {
			return
		}
		if got := marshalObjectRecord(&r); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, got)
		}
	})
}

// FuzzUnmarshalRecord: a record that decodes re-encodes to the same bytes (the
// encoding is canonical) and is valid.
func FuzzUnmarshalRecord(f *testing.F) {
	f.Add(marshalRecord(ptr(fullRecord())))
	f.Add(marshalRecord(&BlobRecord{}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := unmarshalRecord(b)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded record is invalid: %v", err)
		}
		if got := marshalRecord(&r); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, got)
		}
	})
}

func TestValueEnvelope(t *testing.T) {
	key := []byte("key")
	v := sealValue(key, []byte("payload"))
	if got := hex.EncodeToString(v[:checksumLen]); got != "97591118" {
		// CRC-32C("keypayload") = 0x18115997, little-endian (computed independently
		// with a bitwise CRC-32C; check value of "123456789" is 0xe3069283).
		t.Errorf("checksum bytes = %s", got)
	}
	p, err := openValue(key, v)
	if err != nil || string(p) != "payload" {
		t.Fatalf("openValue = %q, %v", p, err)
	}
	tests := []struct {
		name string
		key  []byte
		v    []byte
		want string
	}{
		{"flipped payload bit", key, func() []byte { b := bytes.Clone(v); b[6] ^= 0x10; return b }(), "checksum mismatch"},
		{"flipped checksum bit", key, func() []byte { b := bytes.Clone(v); b[0] ^= 1; return b }(), "checksum mismatch"},
		{"other key", []byte("kez"), v, "checksum mismatch"},
		{"short", key, v[:3], "shorter than its 4-byte checksum"},
		{"truncated payload", key, v[:len(v)-1], "checksum mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := openValue(tt.key, tt.v); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("openValue = %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzOpenValue: a value that opens is exactly the envelope of its payload.
func FuzzOpenValue(f *testing.F) {
	f.Add([]byte("key"), sealValue([]byte("key"), []byte("payload")))
	f.Add([]byte{}, []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, key, v []byte) {
		p, err := openValue(key, v)
		if err != nil {
			return
		}
		if got := sealValue(key, p); !bytes.Equal(got, v) {
			t.Fatalf("sealValue(openValue(v)) = %x, want %x", got, v)
		}
	})
}

// FuzzDecodeSmallValues covers the decoders of the small payloads (shard
// status, epoch, markers) and of the schema file: whatever decodes re-encodes
// to the same bytes.
func FuzzDecodeSmallValues(f *testing.F) {
	f.Add([]byte{1})
	f.Add([]byte{1, 2, 3, 4})
	f.Add([]byte{})
	f.Add(formatSchema(1))
	f.Fuzz(func(t *testing.T, p []byte) {
		if st, err := decodeShardStatus(p); err == nil && (!st.valid() || !bytes.Equal([]byte{byte(st)}, p)) {
			t.Fatalf("decodeShardStatus(%x) = %v", p, st)
		}
		if e, err := decodeEpoch(p); err == nil && !bytes.Equal(binary.LittleEndian.AppendUint32(nil, e), p) {
			t.Fatalf("decodeEpoch(%x) = %d", p, e)
		}
		if err := decodeEmpty(p); (err == nil) != (len(p) == 0) {
			t.Fatalf("decodeEmpty(%x) = %v", p, err)
		}
		if v, err := parseSchema(p); err == nil && !bytes.Equal(formatSchema(v), p) {
			t.Fatalf("parseSchema(%q) = %d", p, v)
		}
	})
}
