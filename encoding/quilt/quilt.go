package quilt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/walrus-go/walrus/encoding"
)

// Constants of the format. They are part of it and must not change.
const (
	// Version is the version byte of QuiltV1: first byte of the quilt, of
	// every blob header and of every patch ID.
	Version = 0x01
	// IndexPrefixSize is the version byte and the u32 index size before the
	// BCS index.
	IndexPrefixSize = 5
	// BlobHeaderSize is the size of a patch's blob header: version u8,
	// length u32 LE, mask u8.
	BlobHeaderSize = 6
	// MaxIndexColumns is the most columns the index may take.
	MaxIndexColumns = 10
	// MaxIdentifierLen is the longest identifier, in bytes: its BCS form
	// (ULEB128 length ‖ bytes) must stay below 65,535, as Walrus's.
	MaxIdentifierLen = 65531
	// MaxTagsSize is the largest BCS form of a patch's tags: its length is
	// a u16 in the blob header.
	MaxTagsSize = math.MaxUint16
	// MaxPatchSize is the largest patch after its header (identifier, tags
	// and data): the header's length is a u32.
	MaxPatchSize = math.MaxUint32
	// PatchIDSize is the size of a V1 patch ID: version ‖ start u16 LE ‖
	// end u16 LE.
	PatchIDSize = 5
	// QuiltPatchIDSize is the size of a quilt patch ID: the quilt's blob ID
	// and a patch ID.
	QuiltPatchIDSize = 32 + PatchIDSize

	// tagsFlag is the mask bit of a blob header saying tags follow the
	// identifier.
	tagsFlag = 1
	// symbolAlignment is RS2's: symbol sizes are even.
	symbolAlignment = 2
)

// BlobTypeAttribute and BlobTypeQuilt are the blob attribute Walrus sets on
// a stored quilt's blob object (_walrusBlobType = quilt).
const (
	BlobTypeAttribute = "_walrusBlobType"
	BlobTypeQuilt     = "quilt"
)

// Errors of the package. Each is wrapped with details; test with errors.Is.
var (
	// ErrNoBlobs is returned by Encode for an empty set of blobs.
	ErrNoBlobs = errors.New("quilt: no blobs")
	// ErrTooManyBlobs is returned by Encode for more blobs than MaxBlobs(n).
	ErrTooManyBlobs = errors.New("quilt: too many blobs")
	// ErrInvalidIdentifier is returned for an identifier that is empty,
	// longer than MaxIdentifierLen, not UTF-8, ends in white space or holds
	// a control character.
	ErrInvalidIdentifier = errors.New("quilt: invalid identifier")
	// ErrDuplicateIdentifier is returned by Encode when two blobs share an
	// identifier.
	ErrDuplicateIdentifier = errors.New("quilt: duplicate identifier")
	// ErrInvalidTags is returned for tags that are not UTF-8 or whose BCS
	// form exceeds MaxTagsSize.
	ErrInvalidTags = errors.New("quilt: invalid tags")
	// ErrTooLarge is returned when the quilt would need a symbol larger
	// than encoding.MaxSymbolSize, be larger than the size allowed
	// (WithMaxSize), or hold a patch over MaxPatchSize.
	ErrTooLarge = errors.New("quilt: too large")
	// ErrVersion is returned for a quilt, blob header or patch ID whose
	// version byte is not Version.
	ErrVersion = errors.New("quilt: unsupported quilt version")
	// ErrMalformed is returned for quilt bytes that do not decode: sizes
	// out of range, bad BCS, patches outside the quilt's columns.
	ErrMalformed = errors.New("quilt: malformed quilt")
	// ErrNotFound is returned when no patch has the identifier asked for.
	ErrNotFound = errors.New("quilt: patch not found")
	// ErrInvalidPatchID is returned for a patch ID or quilt patch ID that
	// does not parse, or names columns outside the quilt.
	ErrInvalidPatchID = errors.New("quilt: invalid quilt patch ID")
	// ErrInvalidColumns is returned by Columns for slivers that cannot be
	// columns of one quilt: primary, beyond the source columns, or of
	// different sizes.
	ErrInvalidColumns = errors.New("quilt: invalid columns")
	// ErrMissingColumns is returned (as a *MissingColumnsError) when a read
	// needs columns a Columns does not hold.
	ErrMissingColumns = errors.New("quilt: missing columns")
)

// MissingColumnsError lists the columns (secondary sliver indices) a read
// needs and a Columns lacks. It matches ErrMissingColumns.
type MissingColumnsError struct {
	Columns []int
}

func (e *MissingColumnsError) Error() string {
	return fmt.Sprintf("quilt: missing columns %v", e.Columns)
}

// Is makes errors.Is(err, ErrMissingColumns) true.
func (e *MissingColumnsError) Is(target error) bool { return target == ErrMissingColumns }

// Blob is a file to put into, or read from, a quilt.
type Blob struct {
	// Identifier names the blob in its quilt; see ValidateIdentifier.
	Identifier string
	// Tags are key/value strings stored with the blob and in the index.
	// Decoders return a non-nil map.
	Tags map[string]string
	// Data is the blob's content.
	Data []byte
}

// MaxBlobs is the most blobs a quilt for n shards holds: one per source
// column, less the index's first column.
func MaxBlobs(n int) (int, error) {
	p, err := encoding.NewParams(n)
	if err != nil {
		return 0, err
	}
	return p.Cols - 1, nil
}

// ValidateIdentifier reports whether s may name a blob in a quilt, as
// Walrus's validate_quilt_identifier: not empty, at most MaxIdentifierLen
// bytes of UTF-8, no trailing white space, no control character.
func ValidateIdentifier(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", ErrInvalidIdentifier)
	case len(s) > MaxIdentifierLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidIdentifier, len(s), MaxIdentifierLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidIdentifier)
	case strings.TrimRightFunc(s, unicode.IsSpace) != s:
		return fmt.Errorf("%w: %q ends in white space", ErrInvalidIdentifier, truncate(s))
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q holds a control character", ErrInvalidIdentifier, truncate(s))
	}
	return nil
}

// Option configures Encode.
type Option func(*options)

type options struct {
	maxSize uint64
}

// WithMaxSize caps the quilt's size in bytes. The quilt can be far larger
// than its blobs (one large blob beside many small ones makes every column
// as tall as the large one needs), so a service that encodes what clients
// send sets this before anything is allocated. If max is 0 or above the
// code's maximum blob size, it is ignored.
func WithMaxSize(max uint64) Option {
	return func(o *options) {
		if max > 0 && max < o.maxSize {
			o.maxSize = max
		}
	}
}

// Quilt is a QuiltV1 blob and its index.
type Quilt struct {
	// Data is the quilt's bytes, the blob stored on Walrus: Rows × Cols
	// symbols of SymbolSize bytes, row-major.
	Data []byte
	// SymbolSize is the size of the blob's RS2 symbols.
	SymbolSize int
	// Rows and Cols are the source symbols per column and per row for the
	// quilt's shard count (encoding.Params).
	Rows, Cols int
	// Index lists the patches, in column order.
	Index *Index
}

// ColumnSize is the size of one column: one secondary sliver's data.
func (q *Quilt) ColumnSize() int { return q.Rows * q.SymbolSize }

// Column returns a copy of column j (0 ≤ j < Cols), the data of secondary
// sliver j.
func (q *Quilt) Column(j int) []byte {
	out := make([]byte, 0, q.ColumnSize())
	s := q.SymbolSize
	for r := range q.Rows {
		pos := r*q.Cols*s + j*s
		out = append(out, q.Data[pos:pos+s]...)
	}
	return out
}

// Encode builds the QuiltV1 blob of blobs for n shards, as Walrus's
// encoder: blobs sorted by identifier, each in whole columns after the
// index. It does not retain blobs' data or tags.
func Encode(blobs []Blob, n int, opts ...Option) (*Quilt, error) {
	p, err := encoding.NewParams(n)
	if err != nil {
		return nil, err
	}
	o := options{maxSize: p.MaxBlobSize()}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case len(blobs) == 0:
		return nil, ErrNoBlobs
	case len(blobs) > p.Cols-1:
		return nil, fmt.Errorf("%w: %d, at most %d for n = %d", ErrTooManyBlobs, len(blobs), p.Cols-1, n)
	}
	sorted := make([]*Blob, len(blobs))
	for i := range blobs {
		sorted[i] = &blobs[i]
	}
	slices.SortStableFunc(sorted, func(a, b *Blob) int { return strings.Compare(a.Identifier, b.Identifier) })

	ix := &Index{Patches: make([]Patch, len(sorted))}
	prefixes := make([][]byte, len(sorted))
	sizes := make([]uint64, 0, len(sorted)+1)
	sizes = append(sizes, 0) // the index's, below
	for i, b := range sorted {
		if err := ValidateIdentifier(b.Identifier); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Identifier == b.Identifier {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateIdentifier, truncate(b.Identifier))
		}
		tags, err := marshalTags(b.Tags)
		if err != nil {
			return nil, fmt.Errorf("%w (blob %q)", err, truncate(b.Identifier))
		}
		prefix, err := blobPrefix(b, tags)
		if err != nil {
			return nil, err
		}
		prefixes[i] = prefix
		sizes = append(sizes, uint64(len(prefix))+uint64(len(b.Data)))
		ix.Patches[i] = Patch{Identifier: b.Identifier, Tags: copyTags(b.Tags)}
	}
	indexBCS := ix.MarshalBCS()
	sizes[0] = IndexPrefixSize + uint64(len(indexBCS))

	s, err := symbolSize(sizes, p.Cols, p.Rows, MaxIndexColumns)
	if err != nil {
		return nil, err
	}
	total := uint64(p.Rows) * uint64(p.Cols) * uint64(s)
	if total > o.maxSize {
		return nil, fmt.Errorf("%w: the quilt would be %d bytes (symbol size %d), at most %d", ErrTooLarge, total, s, o.maxSize)
	}
	q := &Quilt{Data: make([]byte, total), SymbolSize: s, Rows: p.Rows, Cols: p.Cols, Index: ix}
	colSize := uint64(q.ColumnSize())
	col := int(ceilDiv(sizes[0], colSize))
	ix.Columns = col
	for i, b := range sorted {
		q.write(prefixes[i], col, 0)
		q.write(b.Data, col, len(prefixes[i]))
		end := col + int(ceilDiv(sizes[i+1], colSize))
		ix.Patches[i].Start, ix.Patches[i].End = col, end
		col = end
	}
	// The index's end columns are known only now; its size did not change.
	indexBCS = ix.MarshalBCS()
	head := make([]byte, IndexPrefixSize, IndexPrefixSize+len(indexBCS))
	head[0] = Version
	binary.LittleEndian.PutUint32(head[1:], uint32(len(indexBCS)))
	q.write(append(head, indexBCS...), 0, 0)
	return q, nil
}

// blobPrefix returns b's blob header, identifier and tags sections.
func blobPrefix(b *Blob, tags []byte) ([]byte, error) {
	idLen := bcsStringLen(b.Identifier)
	size := 2 + idLen
	mask := byte(0)
	if tags != nil {
		size += 2 + len(tags)
		mask |= tagsFlag
	}
	content := uint64(size) + uint64(len(b.Data))
	if content > MaxPatchSize {
		return nil, fmt.Errorf("%w: blob %q is %d bytes with its identifier and tags, at most %d", ErrTooLarge, truncate(b.Identifier), content, uint64(MaxPatchSize))
	}
	out := make([]byte, BlobHeaderSize, BlobHeaderSize+size)
	out[0] = Version
	binary.LittleEndian.PutUint32(out[1:], uint32(content))
	out[5] = mask
	out = binary.LittleEndian.AppendUint16(out, uint16(idLen))
	out = appendBCSString(out, b.Identifier)
	if tags != nil {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(tags)))
		out = append(out, tags...)
	}
	return out, nil
}

// write lays b into q's columns from column col, skipping the first skip
// bytes of that column run (down each column, then into the next).
func (q *Quilt) write(b []byte, col, skip int) {
	s, cs := q.SymbolSize, q.ColumnSize()
	rowSize := q.Cols * s
	off := col*cs + skip // offset in the column-major stream
	for len(b) > 0 {
		c, within := off/cs, off%cs
		r, in := within/s, within%s
		k := copy(q.Data[r*rowSize+c*s+in:r*rowSize+(c+1)*s], b)
		b = b[k:]
		off += k
	}
}

// symbolSize is Walrus's compute_symbol_size: the smallest symbol size
// (rounded up to symbolAlignment) with which every size in sizes (the
// index's first) fits into whole columns of cols columns of rows symbols,
// the index in at most indexCols of them.
func symbolSize(sizes []uint64, cols, rows, indexCols int) (int, error) {
	switch {
	case len(sizes) == 0:
		return 0, ErrNoBlobs
	case len(sizes) > cols:
		return 0, fmt.Errorf("%w: %d, at most %d", ErrTooManyBlobs, len(sizes)-1, cols-1)
	}
	var sum, biggest uint64
	for _, s := range sizes {
		sum += s
		biggest = max(biggest, s)
	}
	c, r := uint64(cols), uint64(rows)
	lo := max(ceilDiv(sum, c*r), ceilDiv(sizes[0], r*uint64(indexCols)), ceilDiv(IndexPrefixSize, r))
	hi := ceilDiv(biggest, c/uint64(len(sizes))*r)
	for lo < hi {
		mid := (lo + hi) / 2
		if fits(sizes, c, mid*r) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	s := ceilDiv(lo, symbolAlignment) * symbolAlignment
	if s > encoding.MaxSymbolSize {
		return 0, fmt.Errorf("%w: it needs symbols of %d bytes, at most %d; remove some blobs", ErrTooLarge, s, encoding.MaxSymbolSize)
	}
	return int(s), nil
}

// fits reports whether blobs of sizes fit into cols columns of colSize
// bytes, each in whole columns.
func fits(sizes []uint64, cols, colSize uint64) bool {
	var need uint64
	for _, s := range sizes {
		need += ceilDiv(s, colSize)
	}
	return need <= cols
}

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

func copyTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// truncate shortens s for error messages.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
