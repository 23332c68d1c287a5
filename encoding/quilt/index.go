package quilt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// Patch is one blob of a quilt as the index lists it.
type Patch struct {
	Identifier string
	// Tags are the blob's tags; decoders return a non-nil map.
	Tags map[string]string
	// Start and End are the columns [Start, End) the patch occupies: the
	// secondary slivers that hold it.
	Start, End int
}

// ID returns the patch's ID.
func (p Patch) ID() PatchID { return PatchID{Start: uint16(p.Start), End: uint16(p.End)} }

// Index is a quilt's index: its patches in column order.
type Index struct {
	Patches []Patch
	// Columns is the number of columns the index itself takes; the first
	// patch starts there.
	Columns int
}

// Find returns the first patch named identifier, as Walrus's lookup.
func (ix *Index) Find(identifier string) (Patch, bool) {
	for _, p := range ix.Patches {
		if p.Identifier == identifier {
			return p, true
		}
	}
	return Patch{}, false
}

// ByTag returns the patches whose tag key has the value value.
func (ix *Index) ByTag(key, value string) []Patch {
	var out []Patch
	for _, p := range ix.Patches {
		if v, ok := p.Tags[key]; ok && v == value {
			out = append(out, p)
		}
	}
	return out
}

// MarshalBCS returns the BCS QuiltIndexV1 of ix: for each patch its end
// column u16, identifier and tags. It panics on tags that marshalTags
// refuses (Encode checks them first).
func (ix *Index) MarshalBCS() []byte {
	var b []byte
	b = appendULEB128(b, uint64(len(ix.Patches)))
	for _, p := range ix.Patches {
		b = binary.LittleEndian.AppendUint16(b, uint16(p.End))
		b = appendBCSString(b, p.Identifier)
		t, err := marshalTags(p.Tags)
		if err != nil {
			panic(err)
		}
		if t == nil {
			t = []byte{0}
		}
		b = append(b, t...)
	}
	return b
}

// UnmarshalIndex decodes a BCS QuiltIndexV1 whose first patch starts at
// column first, and checks that the patches take consecutive, non-empty
// column ranges within cols columns and have valid identifiers. It refuses
// trailing bytes and non-canonical BCS (ULEB128 lengths, map order), as
// Walrus's BCS does.
func UnmarshalIndex(b []byte, first, cols int) (*Index, error) {
	r := bcsReader{b: b}
	// Each patch takes at least 4 bytes: bound the count before
	// allocating.
	count := r.length("patch count")
	if r.err == nil && count > len(r.b)/4 {
		r.fail("%d patches in %d bytes", count, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	ix := &Index{Patches: make([]Patch, 0, count), Columns: first}
	start := first
	for i := range count {
		end := int(r.u16("end column"))
		id := r.str("identifier")
		tags := r.tags()
		if r.err != nil {
			return nil, fmt.Errorf("%w (patch %d)", r.err, i)
		}
		if err := ValidateIdentifier(id); err != nil {
			return nil, fmt.Errorf("%w: patch %d: %w", ErrMalformed, i, err)
		}
		if end <= start || end > cols {
			return nil, fmt.Errorf("%w: patch %d (%q) takes columns [%d, %d) of %d", ErrMalformed, i, truncate(id), start, end, cols)
		}
		ix.Patches = append(ix.Patches, Patch{Identifier: id, Tags: tags, Start: start, End: end})
		start = end
	}
	if len(r.b) > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the index", ErrMalformed, len(r.b))
	}
	return ix, nil
}

// BlobHeader is the 6-byte header of a patch in a quilt.
type BlobHeader struct {
	// Length counts the bytes after the header: identifier, tags, data.
	Length uint32
	// Mask holds flags; bit 0 says tags follow the identifier.
	Mask uint8
}

// HasTags reports whether the tags flag is set.
func (h BlobHeader) HasTags() bool { return h.Mask&tagsFlag != 0 }

// MarshalBinary returns the header's 6 bytes.
func (h BlobHeader) MarshalBinary() ([]byte, error) {
	b := make([]byte, BlobHeaderSize)
	b[0] = Version
	binary.LittleEndian.PutUint32(b[1:], h.Length)
	b[5] = h.Mask
	return b, nil
}

// ParseBlobHeader decodes a blob header: exactly BlobHeaderSize bytes
// starting with Version. Mask bits other than the tags flag are kept, as
// Walrus keeps them.
func ParseBlobHeader(b []byte) (BlobHeader, error) {
	if len(b) != BlobHeaderSize {
		return BlobHeader{}, fmt.Errorf("%w: blob header of %d bytes, want %d", ErrMalformed, len(b), BlobHeaderSize)
	}
	if b[0] != Version {
		return BlobHeader{}, fmt.Errorf("%w: blob header version %d, want %d", ErrVersion, b[0], Version)
	}
	return BlobHeader{Length: binary.LittleEndian.Uint32(b[1:]), Mask: b[5]}, nil
}

// marshalTags returns the BCS map<string,string> of tags, its entries
// sorted by their keys' BCS bytes, or nil for no tags.
func marshalTags(tags map[string]string) ([]byte, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	type entry struct {
		key []byte // BCS form
		k   string
	}
	es := make([]entry, 0, len(tags))
	for k, v := range tags {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: tag %q is not UTF-8", ErrInvalidTags, truncate(k))
		}
		es = append(es, entry{appendBCSString(nil, k), k})
	}
	slices.SortFunc(es, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	b := appendULEB128(nil, uint64(len(tags)))
	for _, e := range es {
		b = append(b, e.key...)
		b = appendBCSString(b, tags[e.k])
		if len(b) > MaxTagsSize {
			return nil, fmt.Errorf("%w: their BCS form is over %d bytes", ErrInvalidTags, MaxTagsSize)
		}
	}
	return b, nil
}

// unmarshalTags decodes a whole BCS map<string,string>.
func unmarshalTags(b []byte) (map[string]string, error) {
	r := bcsReader{b: b}
	t := r.tags()
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the tags", len(r.b))
	}
	return t, r.err
}

// bcsStringLen is the length of s's BCS form.
func bcsStringLen(s string) int { return ulebLen(uint64(len(s))) + len(s) }

func appendBCSString(b []byte, s string) []byte {
	return append(appendULEB128(b, uint64(len(s))), s...)
}

func appendULEB128(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func ulebLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// maxBCSLength is BCS's largest sequence length, 2^31 − 1.
const maxBCSLength = math.MaxInt32

// bcsReader reads BCS values; the first error sticks and empties it.
type bcsReader struct {
	b   []byte
	err error
}

func (r *bcsReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	r.b = nil
}

func (r *bcsReader) u16(what string) uint16 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 2 {
		r.fail("%s: truncated", what)
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

// length reads a canonical ULEB128 sequence length.
func (r *bcsReader) length(what string) int {
	if r.err != nil {
		return 0
	}
	var v uint64
	for i := 0; ; i++ {
		if i >= len(r.b) || i == 5 {
			r.fail("%s: bad ULEB128", what)
			return 0
		}
		c := r.b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				r.fail("%s: non-canonical ULEB128", what)
				return 0
			}
			r.b = r.b[i+1:]
			break
		}
	}
	if v > maxBCSLength {
		r.fail("%s: length %d over %d", what, v, maxBCSLength)
		return 0
	}
	return int(v)
}

// str reads a BCS string: ULEB128 length and UTF-8 bytes.
func (r *bcsReader) str(what string) string {
	n := r.length(what)
	if r.err != nil {
		return ""
	}
	if n > len(r.b) {
		r.fail("%s: %d bytes, %d left", what, n, len(r.b))
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	if !utf8.ValidString(s) {
		r.fail("%s: not UTF-8", what)
		return ""
	}
	return s
}

// tags reads a BCS map<string,string> whose keys' BCS bytes are strictly
// increasing (canonical, no duplicates).
func (r *bcsReader) tags() map[string]string {
	n := r.length("tag count")
	if r.err == nil && n > len(r.b)/2 {
		r.fail("%d tags in %d bytes", n, len(r.b))
	}
	if r.err != nil {
		return nil
	}
	t := make(map[string]string, n)
	var prev []byte
	for range n {
		before := r.b
		k := r.str("tag key")
		kb := before[:len(before)-len(r.b)]
		v := r.str("tag value")
		if r.err != nil {
			return nil
		}
		if prev != nil && bytes.Compare(prev, kb) >= 0 {
			r.fail("tag keys not in canonical order at %q", truncate(k))
			return nil
		}
		prev = kb
		t[k] = v
	}
	return t
}
