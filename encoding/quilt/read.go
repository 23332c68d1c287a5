package quilt

import (
	"encoding/binary"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
)

// source is a quilt's bytes by columns: the whole blob, or some of its
// secondary slivers.
type source interface {
	// columnSize is the size of one column; numColumns the columns of the
	// quilt (its secondary source symbols).
	columnSize() int
	numColumns() int
	// read returns n bytes of the column-major stream that starts at
	// column start, from byte skip on. It fails with ErrMalformed when
	// they run past the last column, and with a *MissingColumnsError when
	// it lacks some of their columns.
	read(start, skip, n int) ([]byte, error)
}

// checkSpan checks that n bytes from byte skip of column start lie within
// cols columns of cs bytes, and returns the column after the last one.
func checkSpan(start, skip, n, cs, cols int) (int, error) {
	if start < 0 || skip < 0 || n < 0 || start >= cols {
		return 0, fmt.Errorf("%w: read of %d bytes at column %d, byte %d", ErrMalformed, n, start, skip)
	}
	if avail := (cols-start)*cs - skip; n > avail {
		return 0, fmt.Errorf("%w: %d bytes from column %d, byte %d, run past the last column (%d bytes left)", ErrMalformed, n, start, skip, max(avail, 0))
	}
	return start + int(ceilDiv(uint64(skip+n), uint64(cs))), nil
}

func (q *Quilt) columnSize() int { return q.ColumnSize() }
func (q *Quilt) numColumns() int { return q.Cols }

func (q *Quilt) read(start, skip, n int) ([]byte, error) {
	s, cs := q.SymbolSize, q.ColumnSize()
	if _, err := checkSpan(start, skip, n, cs, q.Cols); err != nil {
		return nil, err
	}
	rowSize := q.Cols * s
	out := make([]byte, n)
	off := start*cs + skip
	for w := 0; w < n; {
		c, within := off/cs, off%cs
		r, in := within/s, within%s
		pos := r*rowSize + c*s + in
		k := copy(out[w:], q.Data[pos:pos+s-in])
		w += k
		off += k
	}
	return out, nil
}

// Open reads the quilt in data, the whole blob, for n shards: its length
// must be a multiple of rows·cols, and its index must decode. data is
// retained, not copied.
func Open(data []byte, n int) (*Quilt, error) {
	p, err := encoding.NewParams(n)
	if err != nil {
		return nil, err
	}
	cells := p.Rows * p.Cols
	if len(data) == 0 || len(data)%cells != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a positive multiple of %d (rows·cols for n = %d)", ErrMalformed, len(data), cells, n)
	}
	q := &Quilt{Data: data, SymbolSize: len(data) / cells, Rows: p.Rows, Cols: p.Cols}
	ix, err := readIndex(q)
	if err != nil {
		return nil, err
	}
	q.Index = ix
	return q, nil
}

// Blob returns the first patch named identifier.
func (q *Quilt) Blob(identifier string) (Blob, error) {
	p, ok := q.Index.Find(identifier)
	if !ok {
		return Blob{}, fmt.Errorf("%w: %q", ErrNotFound, truncate(identifier))
	}
	return readPatch(q, p)
}

// BlobByPatchID returns the patch that id names.
func (q *Quilt) BlobByPatchID(id PatchID) (Blob, error) { return readBlob(q, id) }

// BlobsByTag returns the patches whose tag key has the value value.
func (q *Quilt) BlobsByTag(key, value string) ([]Blob, error) {
	return readPatches(q, q.Index.ByTag(key, value))
}

// Blobs returns every patch, in column order.
func (q *Quilt) Blobs() ([]Blob, error) { return readPatches(q, q.Index.Patches) }

func readPatches(src source, ps []Patch) ([]Blob, error) {
	out := make([]Blob, 0, len(ps))
	for _, p := range ps {
		b, err := readPatch(src, p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// readPatch reads the patch p of an index, which must carry p's
// identifier.
func readPatch(src source, p Patch) (Blob, error) {
	b, err := readBlob(src, p.ID())
	if err != nil {
		return Blob{}, err
	}
	if b.Identifier != p.Identifier {
		return Blob{}, fmt.Errorf("%w: the index names %q at column %d, its header %q", ErrMalformed, truncate(p.Identifier), p.Start, truncate(b.Identifier))
	}
	return b, nil
}

// readIndex decodes the index from column 0 on.
func readIndex(src source) (*Index, error) {
	cs, cols := src.columnSize(), src.numColumns()
	v, err := src.read(0, 0, 1)
	if err != nil {
		return nil, err
	}
	if v[0] != Version {
		return nil, fmt.Errorf("%w: quilt version %d, want %d", ErrVersion, v[0], Version)
	}
	sb, err := src.read(0, 1, 4)
	if err != nil {
		return nil, err
	}
	size := uint64(binary.LittleEndian.Uint32(sb))
	if limit := uint64(cs)*MaxIndexColumns - IndexPrefixSize; size > limit {
		return nil, fmt.Errorf("%w: index of %d bytes, at most %d (%d columns of %d bytes less the prefix)", ErrMalformed, size, limit, MaxIndexColumns, cs)
	}
	b, err := src.read(0, IndexPrefixSize, int(size))
	if err != nil {
		return nil, err
	}
	first := int(ceilDiv(size+IndexPrefixSize, uint64(cs)))
	return UnmarshalIndex(b, first, cols)
}

// readBlob reads the patch that starts at id.Start and decodes its blob
// header, identifier and tags. The patch must lie within id's columns.
func readBlob(src source, id PatchID) (Blob, error) {
	cs, cols := src.columnSize(), src.numColumns()
	start, end := id.Columns()
	if start >= end || end > cols {
		return Blob{}, fmt.Errorf("%w: columns [%d, %d) of a quilt of %d", ErrInvalidPatchID, start, end, cols)
	}
	hb, err := src.read(start, 0, BlobHeaderSize)
	if err != nil {
		return Blob{}, err
	}
	h, err := ParseBlobHeader(hb)
	if err != nil {
		return Blob{}, fmt.Errorf("%w (column %d)", err, start)
	}
	if room := uint64(end-start) * uint64(cs); BlobHeaderSize+uint64(h.Length) > room {
		return Blob{}, fmt.Errorf("%w: the patch at column %d says %d bytes, its %d columns hold %d", ErrMalformed, start, BlobHeaderSize+uint64(h.Length), end-start, room)
	}
	rest := int(h.Length)
	off := BlobHeaderSize
	// section reads a u16 size and that many bytes.
	section := func(what string) ([]byte, error) {
		if rest < 2 {
			return nil, fmt.Errorf("%w: patch at column %d: %s size past its length", ErrMalformed, start, what)
		}
		sb, err := src.read(start, off, 2)
		if err != nil {
			return nil, err
		}
		size := int(binary.LittleEndian.Uint16(sb))
		if 2+size > rest {
			return nil, fmt.Errorf("%w: patch at column %d: %s of %d bytes past its length", ErrMalformed, start, what, size)
		}
		b, err := src.read(start, off+2, size)
		if err != nil {
			return nil, err
		}
		off += 2 + size
		rest -= 2 + size
		return b, nil
	}
	ib, err := section("identifier")
	if err != nil {
		return Blob{}, err
	}
	r := bcsReader{b: ib}
	ident := r.str("identifier")
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the identifier", len(r.b))
	}
	if r.err != nil {
		return Blob{}, fmt.Errorf("%w (patch at column %d)", r.err, start)
	}
	if err := ValidateIdentifier(ident); err != nil {
		return Blob{}, fmt.Errorf("%w: patch at column %d: %w", ErrMalformed, start, err)
	}
	tags := map[string]string{}
	if h.HasTags() {
		tb, err := section("tags")
		if err != nil {
			return Blob{}, err
		}
		if tags, err = unmarshalTags(tb); err != nil {
			return Blob{}, fmt.Errorf("%w (patch %q)", err, truncate(ident))
		}
	}
	data, err := src.read(start, off, rest)
	if err != nil {
		return Blob{}, err
	}
	return Blob{Identifier: ident, Tags: tags, Data: data}, nil
}

// Columns holds some columns of a quilt, the secondary slivers a reader
// fetched, and reads the index and patches from them alone. A read that
// needs a column it lacks fails with a *MissingColumnsError naming the
// columns to fetch; add them and read again. It is not safe for concurrent
// use.
type Columns struct {
	cols, size int
	have       map[int][]byte
}

// NewColumns returns a Columns for a quilt on n shards holding the given
// secondary slivers (each verified by the caller against the blob's
// metadata). It retains their data.
func NewColumns(n int, slivers ...encoding.Sliver) (*Columns, error) {
	p, err := encoding.NewParams(n)
	if err != nil {
		return nil, err
	}
	c := &Columns{cols: p.Cols, have: make(map[int][]byte)}
	return c, c.Add(slivers...)
}

// Add adds secondary slivers. Each must be one of the quilt's source
// columns, and all must have the same size. A column already held is kept.
func (c *Columns) Add(slivers ...encoding.Sliver) error {
	for _, s := range slivers {
		switch {
		case s.Axis != encoding.Secondary:
			return fmt.Errorf("%w: sliver %d is %v, want secondary", ErrInvalidColumns, s.Index, s.Axis)
		case int(s.Index) >= c.cols:
			return fmt.Errorf("%w: sliver %d is not one of the %d source columns", ErrInvalidColumns, s.Index, c.cols)
		case len(s.Data) == 0:
			return fmt.Errorf("%w: sliver %d is empty", ErrInvalidColumns, s.Index)
		case c.size != 0 && len(s.Data) != c.size:
			return fmt.Errorf("%w: sliver %d has %d bytes, the others %d", ErrInvalidColumns, s.Index, len(s.Data), c.size)
		}
		c.size = len(s.Data)
		if _, ok := c.have[int(s.Index)]; !ok {
			c.have[int(s.Index)] = s.Data
		}
	}
	return nil
}

// Index reads the quilt's index. It needs column 0 first; its first bytes
// give the index's size, and so the other columns it needs.
func (c *Columns) Index() (*Index, error) { return readIndex(c) }

// Blob reads patch p (from an Index).
func (c *Columns) Blob(p Patch) (Blob, error) { return readPatch(c, p) }

// BlobByPatchID reads the patch that id names.
func (c *Columns) BlobByPatchID(id PatchID) (Blob, error) { return readBlob(c, id) }

func (c *Columns) columnSize() int {
	if c.size == 0 {
		return 1
	}
	return c.size
}

func (c *Columns) numColumns() int { return c.cols }

func (c *Columns) read(start, skip, n int) ([]byte, error) {
	if c.size == 0 {
		return nil, &MissingColumnsError{Columns: []int{max(start, 0)}}
	}
	cs := c.size
	end, err := checkSpan(start, skip, n, cs, c.cols)
	if err != nil {
		return nil, err
	}
	var missing []int
	for j := start + skip/cs; j < end; j++ {
		if _, ok := c.have[j]; !ok {
			missing = append(missing, j)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingColumnsError{Columns: missing}
	}
	out := make([]byte, n)
	off := start*cs + skip
	for w := 0; w < n; {
		col, within := off/cs, off%cs
		k := copy(out[w:], c.have[col][within:])
		w += k
		off += k
	}
	return out, nil
}
