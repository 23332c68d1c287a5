package encoding

import (
	"math/bits"
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

// defaultScratchBytes bounds the shards of one work unit. Units are kept
// small so that the FFT passes over a unit's shards run in cache: on the
// machine this was tuned on, 16 MiB units made a 64 MiB encode at n = 1000
// take 12% more CPU than 2 MiB ones (BenchmarkEncode's cpu-ms).
const defaultScratchBytes = 2 << 20

// decodeScratchBytes bounds the shards of one decoding unit (byteStripe).
const decodeScratchBytes = 16 << 20

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
	c := &Codec{p: p, row: row, col: col, workers: runtime.GOMAXPROCS(0), maxBlob: p.MaxBlobSize(), scratchBytes: defaultScratchBytes}
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
	md := m.metadata(len(blob))
	return &EncodedBlob{Metadata: md, BlobID: md.BlobID(), Primary: m.primary, Secondary: m.secondary}, nil
}

// ComputeMetadata returns the metadata and blob ID Encode would, without
// keeping any sliver: what computing a blob ID needs, in less time and
// memory (expandRoots). It does not retain blob.
func (c *Codec) ComputeMetadata(blob []byte) (*Metadata, BlobID, error) {
	s, err := c.checkSize(uint64(len(blob)))
	if err != nil {
		return nil, BlobID{}, err
	}
	m, err := c.expandRoots(blob, s)
	if err != nil {
		return nil, BlobID{}, err
	}
	md := m.metadata(len(blob))
	return md, md.BlobID(), nil
}

// expandRoots computes the row and column roots of blob's expansion (symbol
// size s) with whichever of expandMetadata and expand holds less memory:
// expandMetadata holds the source rows' parity (rows·f symbols) and the n²
// leaf hashes, expand both kinds of slivers (n·(rows+cols) symbols). At
// n = 1000 that is expandMetadata from 36-byte symbols (blobs over 7.2 MiB)
// on; below, its fixed 32 MB of leaf hashes outweigh the slivers, and its
// CPU time is no lower (1 KiB: 13% higher, 1 MiB: the same; perf).
func (c *Codec) expandRoots(blob []byte, s int) (*expansion, error) {
	p := c.p
	if p.Rows*p.F*s+p.N*p.N*len(Hash{}) < p.N*(p.Rows+p.Cols)*s {
		return c.expandMetadata(blob, s)
	}
	return c.expand(blob, s)
}

func (x *expansion) metadata(blobLen int) *Metadata {
	n := len(x.rowRoots)
	md := &Metadata{EncodingType: RS2, UnencodedLength: uint64(blobLen), Hashes: make([]SliverPairHashes, n)}
	for i := range md.Hashes {
		md.Hashes[i] = SliverPairHashes{Primary: x.rowRoots[i], Secondary: x.colRoots[n-1-i]}
	}
	return md
}

// expansion is the expanded matrix, kept as what the slivers and hashes need.
type expansion struct {
	primary, secondary []Sliver
	rowRoots, colRoots []Hash
	// srcLeaves[i·cols + j] is the leaf hash of source symbol (i, j), if
	// they were hashed ahead of the codes (see expand); else nil.
	srcLeaves []Hash
}

// expand builds the primary and secondary slivers and the Merkle roots of
// every row and column of the expanded matrix. Each symbol is hashed once:
// its leaf hash serves both its row's tree and its column's tree (see
// expandRows). ComputeMetadata, which needs no slivers, uses expandMetadata.
func (c *Codec) expand(blob []byte, s int) (*expansion, error) {
	p := c.p
	n := p.N
	pbuf, primary := makeSlivers(Primary, n, p.Cols, s)
	sbuf, sec := makeSlivers(Secondary, n, p.Rows, s)
	x := &expansion{
		primary:   primary,
		secondary: sec,
		rowRoots:  make([]Hash, n),
		colRoots:  make([]Hash, n),
	}
	small := c.smallRS(c.expandCost(s))
	// The first klauspost code of a process builds its tables (leopard.go):
	// build them on the side while the workers do what needs no code.
	warming := !small && !klauspostReady.Load()
	if warming {
		go c.warmRS()
		x.srcLeaves = make([]Hash, p.Rows*p.Cols)
	}
	// Source rows: the blob, zero-padded. While the tables are built, also
	// hash the source symbols and touch the pages the codes will write, so
	// that the page faults of fresh memory are taken now.
	rowLen := p.Cols * s
	parity := pbuf[p.Rows*rowLen:]
	err := c.parallel(p.Rows, func(ws *workerScratch, r int) error {
		if off := r * rowLen; off < len(blob) {
			copy(x.primary[r].Data, blob[off:min(off+rowLen, len(blob))])
		}
		if warming {
			lh := ws.leafHasher(s)
			for j := range p.Cols {
				lh.add(&x.srcLeaves[r*p.Cols+j], x.primary[r].Symbol(j))
			}
			lh.flush()
			touchPart(parity, r, p.Rows)
			touchPart(sbuf, r, p.Rows)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.expandColumns(x.primary, p.Cols, s, small); err != nil {
		return nil, err
	}
	if err := c.expandRows(x, s, small); err != nil {
		return nil, err
	}
	return x, nil
}

// expandCost is the work (leoCost) of expand's codes for symbol size s.
func (c *Codec) expandCost(s int) int64 {
	p := c.p
	return int64(s/2) * (c.col.cost(2)*int64(p.Cols) + c.row.cost(2)*int64(p.N))
}

// WarmFor starts building the Reed-Solomon tables (see Warm) on a goroutine
// of its own if encoding a blob of size bytes would build them, and returns
// at once. A caller that learns the size before it has the bytes (reading a
// file) overlaps the build, about 150 ms of one core, with the read instead
// of the encode.
func (c *Codec) WarmFor(size uint64) {
	s, err := c.checkSize(size)
	if err != nil || c.rs != rsAuto || klauspostReady.Load() || c.expandCost(s) <= smallLeft.Load() {
		return
	}
	go c.warmRS()
}

// Warm builds the Reed-Solomon tables of the codec's codes now (about 150 ms
// of one core and tens of MB, once per process) rather than on the first
// large encode, verification or recovery. A long-running process (a storage
// node) calls it at start so that its memory is steady from then on; a
// short one (walrus blob-id) leaves the tables unbuilt when small work does
// not need them.
func (c *Codec) Warm() { c.warmRS() }

// warmRS builds klauspost's encoders for both codes; errors surface again
// where the codes are used.
func (c *Codec) warmRS() {
	_, _ = c.row.enc.klauspost()
	_, _ = klauspostKernels(c.col.first)
}

// touchPart writes a zero to every page of part i of count of fresh (zero)
// memory b.
func touchPart(b []byte, i, count int) {
	const page = 4096
	lo, hi := len(b)*i/count, len(b)*(i+1)/count
	for o := lo &^ (page - 1); o < hi; o += page {
		if o >= lo {
			b[o] = 0
		}
	}
}

// MakeBuffer returns a new zeroed buffer of n bytes, for a blob or its
// slivers: past a few MiB, backed by transparent huge pages where the kernel
// gives them on request (see adviseHuge), which spares most of the page
// faults of filling fresh memory.
func MakeBuffer(n int) []byte {
	b := make([]byte, n)
	adviseHuge(b)
	return b
}

// makeSlivers returns count slivers of the given number of symbols, cut from
// one buffer, and the buffer.
func makeSlivers(axis Axis, count, symbols, s int) ([]byte, []Sliver) {
	buf := MakeBuffer(count * symbols * s)
	out := make([]Sliver, count)
	for i := range out {
		out[i] = Sliver{Axis: axis, Index: uint16(i), SymbolSize: uint16(s), Data: buf[i*symbols*s : (i+1)*symbols*s : (i+1)*symbols*s]}
	}
	return buf, out
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
	if w == 1 {
		// One column per unit (large symbols): the code runs on the rows'
		// own memory.
		run := c.colRun(small)
		return c.parallel(width, func(ws *workerScratch, j int) error {
			zeroUnit := true
			for r := range p.Rows {
				if !allZero(rows[r].Symbol(j)) {
					zeroUnit = false
					break
				}
			}
			if zeroUnit {
				return nil
			}
			syms := lists(&ws.syms, p.N)
			for r := range syms {
				syms[r] = rows[r].Symbol(j)
			}
			err := ws.encodeSplit(syms, p.Rows, s, run)
			clear(syms)
			return err
		})
	}
	units := (width + w - 1) / w
	return c.parallel(units, func(ws *workerScratch, u int) error {
		a, b := u*w, min((u+1)*w, width)
		zeroUnit := true
		for r := range p.Rows {
			if !allZero(rows[r].Data[a*s : b*s]) {
				zeroUnit = false
				break
			}
		}
		if zeroUnit { // the code of zeros is zeros, which rows[rows..n) hold
			return nil
		}
		l := newLayout(s, b-a)
		sh := ws.shards(c.col.span, l.size())
		for r := range p.Rows {
			l.putAll(sh[r], rows[r].Data[a*s:b*s])
		}
		data, parity := sh[:p.Rows], sh[p.Rows:p.N]
		if err := c.col.encode(data, parity, sh[p.N:c.col.span], ws.rs(small)); err != nil {
			return err
		}
		for r := p.Rows; r < p.N; r++ {
			l.getAll(sh[r], rows[r].Data[a*s:b*s])
		}
		return nil
	})
}

// expandRows applies the row code to every row, hashes every symbol, fills
// the secondary slivers and the row and column roots; small selects the
// pure-Go encoder.
//
// Rows are processed in units of g = 2^hs rows. A unit hashes its g·n
// symbols once, builds its rows' trees, and the bottom hs levels of every
// column's tree over its rows: those are the column trees' own nodes, as the
// unit starts at a multiple of 2^hs (see nodeHasher.forest). The columns' top
// levels are built from the units' nodes at the end. So no n × n matrix of
// leaf hashes is ever held, and each tree level of a unit is hashed in one
// stream of full batches.
func (c *Codec) expandRows(x *expansion, s int, small bool) error {
	p := c.p
	nn := p.N
	depth := merkleDepth(nn)
	g, hs := c.rowUnit(s)
	units := (nn + g - 1) / g
	// tops[u·nn + j] is unit u's node at height hs of column j's tree.
	tops := make([]Hash, units*nn)
	err := c.parallel(units, func(ws *workerScratch, u int) error {
		i0, i1 := u*g, min((u+1)*g, nn)
		lh := ws.leafHasher(s)
		leaves, cols := ws.hashPair((i1 - i0) * nn)
		zeroUnit := true
		for i := i0; i < i1 && zeroUnit; i++ {
			zeroUnit = allZero(x.primary[i].Data)
		}
		if zeroUnit {
			// Every symbol is zero, and the secondary slivers' fresh memory
			// already holds them.
			for k := range leaves {
				leaves[k] = lh.zt[0]
			}
		} else if err := c.expandRowUnit(x, s, small, ws, i0, i1, leaves); err != nil {
			return err
		}
		ws.nodes.forest(leaves, nn, depth, lh.zt, 0, x.rowRoots[i0:i1])
		rows := i1 - i0
		for j := range nn {
			for i := range rows {
				cols[j*rows+i] = leaves[i*nn+j]
			}
		}
		ws.nodes.forest(cols, rows, min(hs, depth), lh.zt, 0, tops[u*nn:(u+1)*nn])
		return nil
	})
	if err != nil {
		return err
	}
	if units == 1 {
		copy(x.colRoots, tops)
		return nil
	}
	// The columns' top levels, over the units' nodes at height hs, in a few
	// groups of columns.
	const groupCols = 128
	return c.parallel((nn+groupCols-1)/groupCols, func(ws *workerScratch, gi int) error {
		j0, j1 := gi*groupCols, min((gi+1)*groupCols, nn)
		byCol := ws.hashes(units * (j1 - j0))
		for u := range units {
			for j := j0; j < j1; j++ {
				byCol[(j-j0)*units+u] = tops[u*nn+j]
			}
		}
		ws.nodes.forest(byCol, units, depth-hs, ws.leafHasher(s).zt, hs, x.colRoots[j0:j1])
		return nil
	})
}

// expandRowUnit applies the row code to rows [i0, i1), fills their part of
// the secondary slivers and queues and flushes their leaf hashes into
// leaves (row-major).
func (c *Codec) expandRowUnit(x *expansion, s int, small bool, ws *workerScratch, i0, i1 int, leaves []Hash) error {
	p := c.p
	nn := p.N
	if i1-i0 == 1 {
		return c.expandOneRow(x, s, small, ws, i0, leaves)
	}
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
	lh := ws.leafHasher(s)
	spareRows := max(i1-max(i0, p.Rows), 0)
	spare := ws.bytes(spareRows * (nn - p.Cols) * s)
	for i := i0; i < i1; i++ {
		row := leaves[(i-i0)*nn : (i-i0+1)*nn]
		if i < p.Rows && x.srcLeaves != nil {
			copy(row, x.srcLeaves[i*p.Cols:(i+1)*p.Cols])
		} else {
			for j := range p.Cols {
				lh.add(&row[j], x.primary[i].Symbol(j))
			}
		}
		if i < p.Rows {
			for j := range p.Cols {
				copy(x.secondary[j].Symbol(i), x.primary[i].Symbol(j))
			}
		}
		for j := p.Cols; j < nn; j++ {
			var v []byte
			if i < p.Rows {
				v = x.secondary[j].Symbol(i)
			} else {
				v, spare = spare[:s:s], spare[s:]
			}
			l.get(sh[j], i-i0, v)
			lh.add(&row[j], v)
		}
	}
	lh.flush()
	return nil
}

// expandOneRow is expandRowUnit for the one row i (large symbols): the row
// code runs on the row's and the secondary slivers' own memory
// (encodeSplit).
func (c *Codec) expandOneRow(x *expansion, s int, small bool, ws *workerScratch, i int, leaves []Hash) error {
	p := c.p
	nn := p.N
	syms := lists(&ws.syms, nn)
	defer clear(syms)
	for j := range p.Cols {
		syms[j] = x.primary[i].Symbol(j)
	}
	// Parity symbols of rows past the secondary slivers are only hashed.
	var spare []byte
	if i >= p.Rows {
		spare = ws.bytes((nn - p.Cols) * s)
	}
	for j := p.Cols; j < nn; j++ {
		if i < p.Rows {
			syms[j] = x.secondary[j].Symbol(i)
		} else {
			syms[j], spare = spare[:s:s], spare[s:]
		}
	}
	if err := ws.encodeSplit(syms, p.Cols, s, c.rowRun(small)); err != nil {
		return err
	}
	lh := ws.leafHasher(s)
	if i < p.Rows && x.srcLeaves != nil {
		copy(leaves, x.srcLeaves[i*p.Cols:(i+1)*p.Cols])
	} else {
		for j := range p.Cols {
			lh.add(&leaves[j], syms[j])
		}
	}
	if i < p.Rows {
		for j := range p.Cols {
			copy(x.secondary[j].Symbol(i), syms[j])
		}
	}
	for j := p.Cols; j < nn; j++ {
		lh.add(&leaves[j], syms[j])
	}
	lh.flush()
	return nil
}

// rowUnit returns the rows per unit of expandRows, g = 2^hs, or g ≥ n (one
// unit) with hs the tree depth.
func (c *Codec) rowUnit(s int) (g, hs int) {
	n := c.p.N
	w := c.stripe(n, s, n)
	if w >= n {
		return n, merkleDepth(n)
	}
	hs = bits.Len(uint(w)) - 1
	return 1 << hs, hs
}

// workerScratch is one worker's reusable memory.
type workerScratch struct {
	buf []byte
	sh  [][]byte
	b   []byte
	h   []Hash
	// syms, hdr, xbuf and xsh are encodeSplit's: the symbols of one
	// position, the shards over their full chunks, and the codes' extra
	// shards (column code: its zero and scratch shards).
	syms   [][]byte
	hdr    [][]byte
	xbuf   []byte
	xsh    [][]byte
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

// lists returns a list of count slice headers held in *l, reused.
func lists(l *[][]byte, count int) [][]byte {
	if cap(*l) < count {
		*l = make([][]byte, count)
	}
	return (*l)[:count]
}

// extraShards returns count shards of size bytes each, distinct from those
// of shards. Their content is unspecified.
func (w *workerScratch) extraShards(count, size int) [][]byte {
	if cap(w.xbuf) < count*size {
		w.xbuf = make([]byte, count*size)
	}
	sh := lists(&w.xsh, count)
	for i := range sh {
		sh[i] = w.xbuf[i*size : (i+1)*size : (i+1)*size]
	}
	return sh
}

// symbolRun runs one code over shards sh (data, then parity) of size bytes
// each: see encodeSplit.
type symbolRun func(ws *workerScratch, sh [][]byte, size int) error

// rowRun is the row code as a symbolRun.
func (c *Codec) rowRun(small bool) symbolRun {
	return func(ws *workerScratch, sh [][]byte, _ int) error { return c.row.encode(sh, ws.rs(small)) }
}

// colRun is the column code as a symbolRun.
func (c *Codec) colRun(small bool) symbolRun {
	return func(ws *workerScratch, sh [][]byte, size int) error {
		p := c.p
		x := ws.extraShards(c.col.scratchShards(), size)
		return c.col.encode(sh[:p.Rows], sh[p.Rows:p.N], x, ws.rs(small))
	}
}

// encodeSplit runs a code over one symbol position: syms[:src] are its
// source symbols, syms[src:] receive the parity symbols; all are s bytes
// and distinct. Both codes act on each element position on its own, so the
// symbols' full 64-byte chunks, already in the codes' chunk layout, are
// coded in place, shards aliasing the symbols (no copy in or out); only the
// tail elements of a symbol whose size is not a multiple of 64 are packed
// (pack.go) into shards of one chunk and coded in a second, small run.
// Results are those of the packed layout of one symbol, byte for byte.
func (ws *workerScratch) encodeSplit(syms [][]byte, src, s int, run symbolRun) error {
	full := s / 64 * 64
	if full > 0 {
		hdr := lists(&ws.hdr, len(syms))
		for k, v := range syms {
			hdr[k] = v[:full:full]
		}
		err := run(ws, hdr, full)
		clear(hdr) // hold no symbol past the call
		if err != nil {
			return err
		}
	}
	if s == full {
		return nil
	}
	l := newLayout(s-full, 1)
	sh := ws.shards(len(syms), l.size())
	for k := range src {
		l.put(sh[k], 0, syms[k][full:])
	}
	if err := run(ws, sh, l.size()); err != nil {
		return err
	}
	for k := src; k < len(syms); k++ {
		l.get(sh[k], 0, syms[k][full:])
	}
	return nil
}

func (w *workerScratch) bytes(n int) []byte {
	if cap(w.b) < n {
		w.b = make([]byte, n)
	}
	return w.b[:n]
}

// hashPair returns two distinct scratch slices of n hashes each.
func (w *workerScratch) hashPair(n int) ([]Hash, []Hash) {
	if cap(w.h) < 2*n {
		w.h = make([]Hash, 2*n)
	}
	return w.h[:n:n], w.h[n : 2*n : 2*n]
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
