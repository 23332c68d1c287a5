package encoding

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Codec encodes and decodes blobs for one shard count. It is safe for
// concurrent use.
type Codec struct {
	p       Params
	row     *rowCode
	col     *colCode
	workers int
	maxBlob uint64
	// scratchBytes bounds the shard memory of one worker's work unit.
	scratchBytes int
	// rs picks the encoder (tests); see smallRS.
	rs rsMode
}

// Option configures a Codec.
type Option func(*Codec)

// WithConcurrency sets how many goroutines one encode or decode may use. If
// n <= 0, it is ignored. The default is GOMAXPROCS.
func WithConcurrency(n int) Option {
	return func(c *Codec) {
		if n > 0 {
			c.workers = n
		}
	}
}

// WithMaxBlobSize caps the blob size below the code's own maximum. If max is
// 0 or above the code's maximum, it is ignored.
func WithMaxBlobSize(max uint64) Option {
	return func(c *Codec) {
		if max > 0 && max < c.maxBlob {
			c.maxBlob = max
		}
	}
}

// New returns a codec for n shards.
func New(n int, opts ...Option) (*Codec, error) {
	p, err := NewParams(n)
	if err != nil {
		return nil, err
	}
	row, err := newRowCode(p)
	if err != nil {
		return nil, err
	}
	col, err := newColCode(p)
	if err != nil {
		return nil, err
	}
	c := &Codec{p: p, row: row, col: col, workers: runtime.GOMAXPROCS(0), maxBlob: p.MaxBlobSize(), scratchBytes: 16 << 20}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Params returns the codec's parameters.
func (c *Codec) Params() Params { return c.p }

// MaxBlobSize is the largest blob this codec encodes.
func (c *Codec) MaxBlobSize() uint64 { return c.maxBlob }

// EncodedBlob is the result of encoding: the slivers of every pair, indexed by
// sliver index, and the metadata and blob ID.
type EncodedBlob struct {
	Metadata  *Metadata
	BlobID    BlobID
	Primary   []Sliver
	Secondary []Sliver
}

// Pair returns sliver pair i: primary sliver i and secondary sliver n−1−i.
func (e *EncodedBlob) Pair(i int) SliverPair {
	return SliverPair{Primary: e.Primary[i], Secondary: e.Secondary[len(e.Secondary)-1-i]}
}

// checkSize returns the symbol size for a blob of blobLen bytes, or
// ErrBlobTooLarge.
func (c *Codec) checkSize(blobLen uint64) (int, error) {
	if blobLen > c.maxBlob {
		return 0, &TooLargeError{Size: blobLen, Max: c.maxBlob, N: c.p.N}
	}
	return c.p.SymbolSize(blobLen)
}

// Encode encodes blob into n sliver pairs and computes its metadata and blob
// ID. It does not retain blob.
func (c *Codec) Encode(blob []byte) (*EncodedBlob, error) {
	s, err := c.checkSize(uint64(len(blob)))
	if err != nil {
		return nil, err
	}
	m, err := c.expand(blob, s)
	if err != nil {
		return nil, err
	}
	md := &Metadata{EncodingType: RS2, UnencodedLength: uint64(len(blob)), Hashes: make([]SliverPairHashes, c.p.N)}
	for i := range md.Hashes {
		md.Hashes[i] = SliverPairHashes{Primary: m.rowRoots[i], Secondary: m.colRoots[c.p.N-1-i]}
	}
	return &EncodedBlob{Metadata: md, BlobID: md.BlobID(), Primary: m.primary, Secondary: m.secondary}, nil
}

// expansion is the expanded matrix, kept as what the slivers and hashes need.
type expansion struct {
	primary, secondary []Sliver
	rowRoots, colRoots []Hash
}

// expand builds all slivers and the Merkle roots of every row and column of
// the expanded matrix. Each symbol is hashed once: its leaf hash serves both
// its row's tree and its column's tree.
func (c *Codec) expand(blob []byte, s int) (*expansion, error) {
	p := c.p
	n := p.N
	x := &expansion{
		primary:   makeSlivers(Primary, n, p.Cols, s),
		secondary: makeSlivers(Secondary, n, p.Rows, s),
		rowRoots:  make([]Hash, n),
		colRoots:  make([]Hash, n),
	}
	// Source rows: the blob, zero-padded.
	rowLen := p.Cols * s
	for r := range p.Rows {
		if off := r * rowLen; off < len(blob) {
			copy(x.primary[r].Data, blob[off:min(off+rowLen, len(blob))])
		}
	}
	e := int64(s / 2)
	small := c.smallRS(e * (c.col.cost(2)*int64(p.Cols) + c.row.cost(2)*int64(n)))
	if err := c.expandColumns(x.primary, p.Cols, s, small); err != nil {
		return nil, err
	}
	leaves := make([]Hash, n*n)
	if err := c.expandRows(x, s, leaves, small); err != nil {
		return nil, err
	}
	err := c.parallel(n, func(ws *workerScratch, j int) error {
		col := ws.hashes(n)
		for i := range n {
			col[i] = leaves[i*n+j]
		}
		x.colRoots[j] = ws.nodes.root(col, ws.leafHasher(s).zt)
		return nil
	})
	return x, err
}

func makeSlivers(axis Axis, count, symbols, s int) []Sliver {
	buf := make([]byte, count*symbols*s)
	out := make([]Sliver, count)
	for i := range out {
		out[i] = Sliver{Axis: axis, Index: uint16(i), SymbolSize: uint16(s), Data: buf[i*symbols*s : (i+1)*symbols*s : (i+1)*symbols*s]}
	}
	return out
}

// stripe returns how many symbols of size s go into one work unit of a code
// whose calls take `shards` shards, out of total.
func (c *Codec) stripe(shards, s, total int) int {
	w := c.scratchBytes / (shards * s)
	// Give every worker a few units when the matrix is small.
	if per := (total + 4*c.workers - 1) / (4 * c.workers); w > per {
		w = per
	}
	return max(w, 1)
}

// expandColumns applies the column code to source columns [0, width) of
// rows, filling rows[rows..n) at those columns; small selects the pure-Go
// encoder.
func (c *Codec) expandColumns(rows []Sliver, width, s int, small bool) error {
	p := c.p
	w := c.stripe(c.col.span, s, width)
	units := (width + w - 1) / w
	return c.parallel(units, func(ws *workerScratch, u int) error {
		a, b := u*w, min((u+1)*w, width)
		l := newLayout(s, b-a)
		sh := ws.shards(c.col.span+1, l.size())
		zero := sh[c.col.span]
		clear(zero)
		for r := range p.Rows {
			l.putAll(sh[r], rows[r].Data[a*s:b*s])
		}
		data, parity := sh[:p.Rows], sh[p.Rows:p.N]
		if err := c.col.encode(data, parity, zero, sh[p.N:c.col.span], ws.rs(small)); err != nil {
			return err
		}
		for r := p.Rows; r < p.N; r++ {
			l.getAll(sh[r], rows[r].Data[a*s:b*s])
		}
		return nil
	})
}

// expandRows applies the row code to every row, hashes every symbol, fills
// the secondary slivers and the row roots; small selects the pure-Go encoder.
func (c *Codec) expandRows(x *expansion, s int, leaves []Hash, small bool) error {
	p := c.p
	nn := p.N
	g := c.stripe(nn, s, nn)
	units := (nn + g - 1) / g
	return c.parallel(units, func(ws *workerScratch, u int) error {
		i0, i1 := u*g, min((u+1)*g, nn)
		l := newLayout(s, i1-i0)
		sh := ws.shards(nn, l.size())
		for j := range p.Cols {
			for i := i0; i < i1; i++ {
				l.put(sh[j], i-i0, x.primary[i].Symbol(j))
			}
		}
		if err := c.row.encode(sh, ws.rs(small)); err != nil {
			return err
		}
		// Parity symbols of rows past the secondary slivers are only hashed;
		// each needs its own memory until the leaf hashes are flushed.
		spare := ws.bytes((nn - p.Cols) * s)
		lh := ws.leafHasher(s)
		for i := i0; i < i1; i++ {
			row := leaves[i*nn : (i+1)*nn]
			for j := range p.Cols {
				v := x.primary[i].Symbol(j)
				lh.add(&row[j], v)
				if i < p.Rows {
					copy(x.secondary[j].Symbol(i), v)
				}
			}
			for j := p.Cols; j < nn; j++ {
				v := spare[(j-p.Cols)*s : (j-p.Cols+1)*s]
				if i < p.Rows {
					v = x.secondary[j].Symbol(i)
				}
				l.get(sh[j], i-i0, v)
				lh.add(&row[j], v)
			}
			lh.flush()
			x.rowRoots[i] = ws.nodes.root(row, lh.zt)
		}
		return nil
	})
}

// workerScratch is one worker's reusable memory.
type workerScratch struct {
	buf    []byte
	sh     [][]byte
	b      []byte
	h      []Hash
	hasher leafHasher
	nodes  nodeHasher
	leo    leoScratch
}

// rs returns the argument for the codes' encode: the worker's pure-Go
// encoder scratch if small, else nil (klauspost).
func (w *workerScratch) rs(small bool) *leoScratch {
	if small {
		return &w.leo
	}
	return nil
}

// shards returns count shards of size bytes each, reusing the worker's
// memory. Their content is unspecified.
func (w *workerScratch) shards(count, size int) [][]byte {
	if cap(w.buf) < count*size {
		w.buf = make([]byte, count*size)
	}
	if cap(w.sh) < count {
		w.sh = make([][]byte, count)
	}
	sh := w.sh[:count]
	for i := range sh {
		sh[i] = w.buf[i*size : (i+1)*size : (i+1)*size]
	}
	return sh
}

func (w *workerScratch) bytes(n int) []byte {
	if cap(w.b) < n {
		w.b = make([]byte, n)
	}
	return w.b[:n]
}

func (w *workerScratch) hashes(n int) []Hash {
	if cap(w.h) < n {
		w.h = make([]Hash, n)
	}
	return w.h[:n]
}

func (w *workerScratch) leafHasher(s int) *leafHasher {
	w.hasher.reset(s)
	return &w.hasher
}

// parallel runs fn for units 0..count−1 on up to c.workers goroutines, each
// with its own scratch. It returns the first error.
func (c *Codec) parallel(count int, fn func(ws *workerScratch, unit int) error) error {
	workers := min(c.workers, count)
	if workers <= 1 {
		var ws workerScratch
		for u := range count {
			if err := fn(&ws, u); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ws workerScratch
			for {
				u := int(next.Add(1) - 1)
				if u >= count {
					return
				}
				if err := fn(&ws, u); err != nil {
					errOnce.Do(func() { first = err })
					next.Store(int64(count))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
