package quilt

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/walrus-go/walrus/encoding"
)

// PatchID names a patch within its quilt: the columns [Start, End) it
// occupies (Walrus's QuiltPatchInternalIdV1).
type PatchID struct {
	Start, End uint16
}

// Bytes returns the ID's binary form: Version ‖ Start u16 LE ‖ End u16 LE.
func (id PatchID) Bytes() [PatchIDSize]byte {
	var b [PatchIDSize]byte
	b[0] = Version
	binary.LittleEndian.PutUint16(b[1:], id.Start)
	binary.LittleEndian.PutUint16(b[3:], id.End)
	return b
}

// Columns returns the secondary sliver indices [start, end) the patch
// occupies. Fetching those slivers is enough to read it; secondary sliver j
// is in sliver pair n−1−j (see SecondarySliverPair).
func (id PatchID) Columns() (start, end int) { return int(id.Start), int(id.End) }

// PrimaryRange returns the byte range [from, to) the patch occupies in
// every primary sliver (row) of a quilt with symbols of symbolSize bytes.
func (id PatchID) PrimaryRange(symbolSize int) (from, to int) {
	return int(id.Start) * symbolSize, int(id.End) * symbolSize
}

// SecondarySliverPair returns the sliver pair holding secondary sliver j of
// a blob on n shards: n−1−j.
func SecondarySliverPair(j, n int) int { return n - 1 - j }

// ParsePatchID decodes a patch ID's binary form. It checks the length and
// version only; readers check the columns against the quilt.
func ParsePatchID(b []byte) (PatchID, error) {
	if len(b) != PatchIDSize {
		return PatchID{}, fmt.Errorf("%w: patch ID of %d bytes, want %d", ErrInvalidPatchID, len(b), PatchIDSize)
	}
	if b[0] != Version {
		return PatchID{}, fmt.Errorf("%w: patch ID version %d, want %d", ErrVersion, b[0], Version)
	}
	return PatchID{Start: binary.LittleEndian.Uint16(b[1:]), End: binary.LittleEndian.Uint16(b[3:])}, nil
}

// QuiltPatchID names a patch across Walrus: its quilt's blob ID and its
// patch ID. Its text form, Walrus's, is the URL-safe base64 (no padding) of
// the quilt ID's 32 bytes followed by the patch ID's.
type QuiltPatchID struct {
	QuiltID encoding.BlobID
	Patch   PatchID
}

// QuiltPatchIDLen is the length of a quilt patch ID's text form.
const QuiltPatchIDLen = 50

var b64 = base64.RawURLEncoding.Strict()

// Bytes returns the ID's binary form.
func (id QuiltPatchID) Bytes() [QuiltPatchIDSize]byte {
	var b [QuiltPatchIDSize]byte
	copy(b[:], id.QuiltID[:])
	p := id.Patch.Bytes()
	copy(b[32:], p[:])
	return b
}

func (id QuiltPatchID) String() string {
	b := id.Bytes()
	return b64.EncodeToString(b[:])
}

// MarshalText returns the ID's text form.
func (id QuiltPatchID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses the ID's text form.
func (id *QuiltPatchID) UnmarshalText(b []byte) error {
	v, err := ParseQuiltPatchID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseQuiltPatchID parses a quilt patch ID's text form: canonical URL-safe
// base64 without padding of QuiltPatchIDSize bytes whose patch part has
// version Version.
func ParseQuiltPatchID(s string) (QuiltPatchID, error) {
	if len(s) > 2*QuiltPatchIDLen {
		return QuiltPatchID{}, fmt.Errorf("%w: %d characters", ErrInvalidPatchID, len(s))
	}
	// Go's base64 decoder skips line breaks; Walrus's refuses them.
	if strings.ContainsAny(s, "\r\n") {
		return QuiltPatchID{}, fmt.Errorf("%w: %q holds a line break", ErrInvalidPatchID, truncate(s))
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return QuiltPatchID{}, fmt.Errorf("%w: %q is not URL-safe base64 without padding", ErrInvalidPatchID, truncate(s))
	}
	if len(b) < 33 {
		return QuiltPatchID{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidPatchID, len(b), QuiltPatchIDSize)
	}
	if b[32] != Version {
		return QuiltPatchID{}, fmt.Errorf("%w: patch ID version %d, want %d", ErrVersion, b[32], Version)
	}
	p, err := ParsePatchID(b[32:])
	if err != nil {
		return QuiltPatchID{}, err
	}
	var id QuiltPatchID
	copy(id.QuiltID[:], b[:32])
	id.Patch = p
	return id, nil
}
