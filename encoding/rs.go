package encoding

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// The row code RS(cols → n) is Walrus's high-rate code, which is exactly
// klauspost's Leopard GF(2^16) code with (cols data, f parity) shards: data
// shard j is column j, parity shard j is column cols+j.
//
// The column code RS(rows → n) is Walrus's low-rate code. With K =
// nextPow2(rows) it equals repeated doubling with the high-rate code: known =
// rows data symbols ++ K−rows zeros; while len(known) < K+2f, encode (M, M)
// with M = len(known) and append the M recovery symbols. Column position r <
// rows is known[r]; position r ≥ rows is known[K + r − rows].
//
// In Leopard's (M, M) code, recovery shard i sits at evaluation point i and
// data shard i at point M+i. Following the doublings through, known[q] is the
// value at point q⊕K of one polynomial of degree < K, for every q. So any K
// known values (the K−rows zeros count) determine a column: decoding uses
// klauspost's (K, K) code on points [0, 2K) when at least K values lie there,
// and Lagrange interpolation for the shortfall otherwise.

// ErrTooFewSymbols is returned when fewer symbols or slivers are given than
// decoding needs.
var ErrTooFewSymbols = errors.New("encoding: too few symbols to decode")

// leopard is Leopard's GF(2^16) (k data, m parity) code. klauspost's
// implementation is built on first use (its first construction in a process
// builds the shared tables; see leopard.go); encoding can also run on the
// pure-Go encoder.
type leopard struct {
	k, m int
	once sync.Once
	enc  reedsolomon.Encoder
	err  error
}

func newLeopard(k, m int) *leopard { return &leopard{k: k, m: m} }

// klauspost returns klauspost's encoder for the code.
func (l *leopard) klauspost() (reedsolomon.Encoder, error) {
	l.once.Do(func() {
		klauspostLeanInit()
		l.enc, l.err = reedsolomon.New(l.k, l.m, reedsolomon.WithLeopardGF16(true))
		if l.err != nil {
			l.err = fmt.Errorf("encoding: Leopard code (%d, %d): %w", l.k, l.m, l.err)
			return
		}
		klauspostReady.Store(true)
	})
	return l.enc, l.err
}

// encode fills shards[k:k+m] from shards[:k]: with the pure-Go encoder if
// small is not nil (its scratch), else with klauspost's.
func (l *leopard) encode(shards [][]byte, small *leoScratch) error {
	if small != nil {
		leoEncode(l.k, l.m, shards, small)
		return nil
	}
	enc, err := l.klauspost()
	if err != nil {
		return err
	}
	return enc.Encode(shards)
}

// rowCode is RS(cols → n).
type rowCode struct {
	enc  *leopard
	cols int
	n    int
	// tail is how many of the last data shards encode multiplies into the
	// parity directly, head the code of the others (see encode), and
	// heads pools head's shard lists; tail is 0 where the data fills whole
	// transforms or a transform of the tail costs less.
	tail  int
	head  *leopard
	heads sync.Pool
	// coef[j][t] is the weight of tail shard t in parity shard j.
	coefOnce sync.Once
	coef     [][]uint16
	coefErr  error
}

func newRowCode(p Params) (*rowCode, error) {
	c := &rowCode{enc: newLeopard(p.Cols, p.F), cols: p.Cols, n: p.N, tail: rowTail(p.Cols, p.F)}
	if c.tail > 0 {
		c.head = newLeopard(p.Cols-c.tail, p.F)
		c.heads.New = func() any { s := make([][]byte, p.Cols-c.tail+p.F); return &s }
	}
	return c, nil
}

// rowTail is how many data shards of a Leopard (k, p) code encode should
// multiply into the parity directly. Leopard transforms the data in blocks
// of m = nextPow2(p): a last block of t < m shards costs a whole block's
// IFFT (m·log2(m)/2 butterflies of two shards), after clearing its m − t
// empty shards, and m more shard XORs into the sum. Its share of the
// parity is also p·t multiply-adds of one shard into another, which is
// cheaper when t is small: n = 100 (k = 67, p = 33, m = 64) has t = 3, 99
// multiply-adds against about 250 shard passes.
func rowTail(k, p int) int {
	m := leoCeilPow2(p)
	t := k % m
	if k < m || t == 0 {
		return 0
	}
	if t*p > m*(bits.Len(uint(m))-1)/2+m {
		return 0
	}
	return t
}

// encode fills shards[cols:n] from shards[0:cols]. All shards are packed and
// of equal length. small as for leopard.encode.
//
// Without a tail it is the Leopard (cols, f) code. With one, the parity is
// the (cols − tail, f) code's of the other data shards plus coef times the
// tail shards: Leopard's encode is linear in the data, and its blocks of
// data shards are transformed one after the other and summed, so the (cols
// − tail, f) code is the (cols, f) code with a zero tail.
// TestRowTailMatchesLeopard checks the two agree.
func (c *rowCode) encode(shards [][]byte, small *leoScratch) error {
	if small != nil || c.tail == 0 {
		return c.enc.encode(shards, small)
	}
	coef, err := c.tailCoefs()
	if err != nil {
		return err
	}
	hk := c.cols - c.tail
	enc, err := c.head.klauspost()
	if err != nil {
		return err
	}
	hp := c.heads.Get().(*[][]byte)
	h := *hp
	copy(h, shards[:hk])
	copy(h[hk:], shards[c.cols:c.n])
	err = enc.Encode(h)
	clear(h)
	c.heads.Put(hp)
	if err != nil {
		return err
	}
	mulAddTail(coef, shards[hk:c.cols], shards[c.cols:c.n])
	return nil
}

// tailCoefs returns coef, computed on first use: the parity of each unit
// vector at a tail position, one element per shard.
func (c *rowCode) tailCoefs() ([][]uint16, error) {
	c.coefOnce.Do(func() {
		enc, err := c.enc.klauspost()
		if err != nil {
			c.coefErr = err
			return
		}
		f := c.n - c.cols
		coef := make([][]uint16, f)
		for j := range coef {
			coef[j] = make([]uint16, c.tail)
		}
		sh := make([][]byte, c.n)
		for t := range c.tail {
			for i := range sh {
				sh[i] = make([]byte, 64)
			}
			sh[c.cols-c.tail+t][0] = 1 // element 0 = 1: its low byte
			if err := enc.Encode(sh); err != nil {
				c.coefErr = fmt.Errorf("encoding: the row code's tail weights: %w", err)
				return
			}
			for j := range f {
				v := sh[c.cols+j]
				coef[j][t] = uint16(v[0]) | uint16(v[32])<<8
			}
		}
		c.coef = coef
	})
	return c.coef, c.coefErr
}

// tailChunk is the byte range mulAddTail runs over at once, so that the
// parity shards' part of it stays in the core's cache across the tail
// shards (n = 100: 33 shards of 16 KiB).
const tailChunk = 16 << 10

// mulAddTail adds coef[j][t]·tail[t] to parity[j] for every t and j, eight
// parity shards per pass over a tail shard (klauspost's GF16MulSliceXor8).
func mulAddTail(coef [][]uint16, tail, parity [][]byte) {
	var ll reedsolomon.LowLevel
	size := len(parity[0])
	var scalars [8]uint16
	var outs [8][]byte
	for off := 0; off < size; off += tailChunk {
		end := min(off+tailChunk, size)
		for t, in := range tail {
			in = in[off:end]
			j := 0
			for ; j+8 <= len(parity); j += 8 {
				for k := range 8 {
					scalars[k] = coef[j+k][t]
					outs[k] = parity[j+k][off:end]
				}
				ll.GF16MulSliceXor8(&scalars, in, &outs)
			}
			for ; j < len(parity); j++ {
				ll.GF16MulSliceXor(coef[j][t], in, parity[j][off:end])
			}
		}
	}
}

// cost is leoCost of one encode over shards of size bytes.
func (c *rowCode) cost(size int) int64 { return leoCost(c.cols, c.n-c.cols, size) }

// reconstruct fills the nil entries among shards[0:cols] (and all missing
// ones if all is set) from any cols present shards.
func (c *rowCode) reconstruct(shards [][]byte, all bool) error {
	present := 0
	for _, s := range shards {
		if len(s) > 0 {
			present++
		}
	}
	if present < c.cols {
		return fmt.Errorf("%w: %d of the %d needed", ErrTooFewSymbols, present, c.cols)
	}
	enc, err := c.enc.klauspost()
	if err != nil {
		return err
	}
	if all {
		return enc.Reconstruct(shards)
	}
	return enc.ReconstructData(shards)
}

// colCode is RS(rows → n).
type colCode struct {
	rows, n, k int
	// first is the (K, K) code of the first doubling, known[K, 2K) from
	// known[:K]; its reconstruction decodes columns (see colPlan).
	first *leopard
	// top is how many known values lie past 2K: 2f − K, or 0.
	top int
	// span is the number of shards encode touches: the n positions and its
	// scratch shards.
	span int
	// heads pools encode's shard lists.
	heads sync.Pool
	// directTop is set where encode computes the top values as topCoef
	// times the data (see directTop).
	directTop bool
	topOnce   sync.Once
	topCoef   [][]uint16
}

func newColCode(p Params) (*colCode, error) {
	k := p.colK()
	c := &colCode{rows: p.Rows, n: p.N, k: k, first: newLeopard(k, k)}
	if e := p.N - p.Rows - k; e > 0 {
		c.top = e
	}
	c.directTop = directTop(c.rows, k, c.top)
	c.span = c.n + c.scratchShards()
	c.heads.New = func() any { s := make([][]byte, p.Rows+2*k); return &s }
	return c, nil
}

// knownIndex maps column position r to its index in the doubling sequence.
func (c *colCode) knownIndex(r int) int {
	if r < c.rows {
		return r
	}
	return c.k + r - c.rows
}

// point is the evaluation point of column position r.
func (c *colCode) point(r int) uint16 { return uint16(c.knownIndex(r) ^ c.k) }

// encode computes the column positions rows..n−1 (parity) from data (rows
// shards). parity has n−rows shards and scratch holds at least
// scratchShards shards, all of data's length. small selects the pure-Go
// transforms (as for leopard.encode; the scratch itself is not needed).
//
// The column is the polynomial P of degree < K with known[q] = P(q⊕K)
// (see the top of this file). The first doubling, Leopard's (K, K) code, is
// an IFFT of the data at the points [K, 2K) (the zeros past rows included)
// and an FFT at [0, 2f) of its K coefficients: known[K, K+min(K, 2f)). When
// the column reaches past 2K (2f > K), its last 2f−K values are known[2K+t]
// = P(3K+t): the same coefficients evaluated at the points [3K, 3K+2f−K),
// one FFT of K points truncated to 2f−K outputs. (The second doubling would
// encode all 2K known values with a (2K, K+1) code for those few values,
// more than twice the work of the first; TestColCodeMatchesDoubling checks
// the two agree.)
//
// Where the top values are few (n = 100: 2, from 34 data values), encode
// computes them directly, topCoef times the data, rather than copying the K
// coefficients for their FFT (directTop).
func (c *colCode) encode(data, parity [][]byte, scratch [][]byte, small *leoScratch) error {
	var kern leoKernel = pureKernel{}
	var topCoef [][]uint16
	if small == nil {
		var err error
		if kern, err = klauspostKernels(c.first); err != nil {
			return err
		}
		if c.directTop {
			topCoef = c.topCoefs(kern)
		}
	}
	c.run(data, parity, scratch, kern, topCoef)
	return nil
}

// run is encode on kernel kern, with the top values as topCoef times the
// data if it is not nil, else by their FFT.
func (c *colCode) run(data, parity [][]byte, scratch [][]byte, kern leoKernel, topCoef [][]uint16) {
	k, f2 := c.k, c.n-c.rows
	hp := c.heads.Get().(*[][]byte)
	h := *hp
	defer func() { clear(h); c.heads.Put(hp) }()
	d, w, w2 := h[:c.rows], h[c.rows:c.rows+k], h[c.rows+k:c.rows+2*k]
	size := len(data[0])
	step := min(size, kern.chunk())
	var ll reedsolomon.LowLevel
	for off := 0; off < size; off += step {
		end := min(off+step, size)
		for i := range d {
			d[i] = data[i][off:end]
		}
		// w: the first doubling's outputs, in parity or past the column in
		// scratch; w2: the top values, then scratch.
		for i := range w {
			if i < f2 {
				w[i] = parity[i][off:end]
			} else {
				w[i] = scratch[i-f2][off:end]
			}
		}
		kern.ifft(d, c.rows, w, k, k)
		switch {
		case c.top > 0 && topCoef != nil:
			for t, coef := range topCoef {
				out := parity[k+t][off:end]
				clear(out)
				for i, in := range d {
					ll.GF16MulSliceXor(coef[i], in, out)
				}
			}
		case c.top > 0:
			for i := range w2 {
				if i < c.top {
					w2[i] = parity[k+i][off:end]
				} else {
					w2[i] = scratch[i-c.top][off:end]
				}
				copy(w2[i], w[i])
			}
			kern.fft(w2, c.top, k, 3*k)
		}
		kern.fft(w, min(k, f2), k, 0)
	}
}

// directTop reports whether computing the top values of a column code
// directly, top·rows multiply-adds of a shard into another, costs less
// than their FFT: a copy of the K coefficients, and K/4 + K/16 + … radix-4
// butterflies of four shards each.
func directTop(rows, k, top int) bool { return top > 0 && top*rows <= 2*k }

// topCoefs returns topCoef, computed on first use with kern: the top values
// of each unit vector of data, one element per shard.
func (c *colCode) topCoefs(kern leoKernel) [][]uint16 {
	c.topOnce.Do(func() {
		coef := make([][]uint16, c.top)
		for t := range coef {
			coef[t] = make([]uint16, c.rows)
		}
		shards := func(count int) [][]byte {
			sh := make([][]byte, count)
			for i := range sh {
				sh[i] = make([]byte, 64)
			}
			return sh
		}
		for i := range c.rows {
			data, parity, scratch := shards(c.rows), shards(c.n-c.rows), shards(c.scratchShards())
			data[i][0] = 1 // element 0 = 1: its low byte
			c.run(data, parity, scratch, kern, nil)
			for t := range c.top {
				v := parity[c.k+t]
				coef[t][i] = uint16(v[0]) | uint16(v[32])<<8
			}
		}
		c.topCoef = coef
	})
	return c.topCoef
}

// cost is leoCost of one encode over shards of size bytes: the (K, K) code,
// and the truncated FFT of the top values as a third pass.
func (c *colCode) cost(size int) int64 {
	total := leoCost(c.k, c.k, size)
	if c.top > 0 {
		total += total / 2
	}
	return total
}

// scratchShards is how many scratch shards encode needs: for the top
// values' FFT past the column's, or the first doubling's outputs past it.
func (c *colCode) scratchShards() int {
	if c.top > 0 {
		return c.k - c.top
	}
	return c.k - (c.n - c.rows)
}

// colPlan is how to decode the column code for one set of present
// positions: which missing positions to interpolate and with what weights,
// and whether klauspost's (K, K) reconstruction finishes the job. All columns
// (and all byte ranges of packed shards) with the same erasure pattern share
// one plan. A plan is immutable and safe for concurrent use.
type colPlan struct {
	c *colCode
	// src are the present positions that feed interpolation.
	src []int
	// targets are the positions computed by interpolation, and coefs[t][i]
	// the weight of src[i] in targets[t].
	targets []int
	coefs   [][]uint16
	// rs is set when the (K, K) reconstruction must run after interpolation.
	rs bool
}

// plan makes the decoding plan for the given present positions (len n).
// Positions computed by interpolation are, in order: missing data positions,
// then missing first-block parity positions, as many as the first block lacks
// to hold K known values.
func (c *colCode) plan(present []bool) (*colPlan, error) {
	count := 0
	for _, ok := range present {
		if ok {
			count++
		}
	}
	if count < c.rows {
		return nil, fmt.Errorf("%w: %d of the %d needed", ErrTooFewSymbols, count, c.rows)
	}
	pl := &colPlan{c: c}
	missing := 0
	for r := range c.rows {
		if !present[r] {
			missing++
		}
	}
	if missing == 0 {
		return pl, nil
	}
	k := c.k
	have := k - c.rows // the zeros
	for r, ok := range present {
		if ok && c.knownIndex(r) < 2*k {
			have++
		}
	}
	short := k - have
	if short <= 0 {
		pl.rs = true
		return pl, nil
	}
	for r := 0; r < c.n && len(pl.targets) < short; r++ {
		if !present[r] && c.knownIndex(r) < 2*k {
			pl.targets = append(pl.targets, r)
		}
	}
	pl.rs = len(pl.targets) < missing
	for r, ok := range present {
		if ok && len(pl.src) < c.rows {
			pl.src = append(pl.src, r)
		}
	}
	pl.coefs = c.weights(pl.src, pl.targets)
	return pl, nil
}

// weights returns the Lagrange weights of the values at src positions (the
// K−rows zeros complete the K points) for evaluating at each target.
func (c *colCode) weights(src, targets []int) [][]uint16 {
	gfInit()
	k := c.k
	xs := make([]uint16, 0, k)
	for _, r := range src {
		xs = append(xs, c.point(r))
	}
	for q := c.rows; q < k; q++ {
		xs = append(xs, uint16(q^k))
	}
	// Barycentric weights w_i = 1 / Π_{j≠i} (x_i − x_j), for the src points
	// only: the zeros' terms vanish. Subtraction is XOR in GF(2^16).
	w := make([]uint16, len(src))
	for i := range src {
		prod := uint16(1)
		for j, x := range xs {
			if j != i {
				prod = gfMul(prod, xs[i]^x)
			}
		}
		w[i] = gfInv(prod)
	}
	coefs := make([][]uint16, len(targets))
	for ti, r := range targets {
		t := c.point(r)
		// ℓ(t) = Π_j (t − x_j); weight_i = ℓ(t)·w_i / (t − x_i).
		ell := uint16(1)
		for _, x := range xs {
			ell = gfMul(ell, t^x)
		}
		row := make([]uint16, len(src))
		for i := range src {
			row[i] = gfMul(gfMul(ell, w[i]), gfInv(t^xs[i]))
		}
		coefs[ti] = row
	}
	return coefs
}

// directMulBytes is the shard length up to which interpolate multiplies
// element by element (log/exp lookups) rather than building a 512-entry
// table per coefficient: a table pays off only over a few hundred elements.
const directMulBytes = 1024

// interpolate computes target ti of the plan into out (zeroed, packed, the
// shards' length) from the present shards.
func (pl *colPlan) interpolate(ti int, shards [][]byte, out []byte) {
	var tab gfMulTable
	direct := len(out) <= directMulBytes
	if direct {
		gfInit()
	}
	for i, r := range pl.src {
		if coef := pl.coefs[ti][i]; coef != 0 {
			if direct {
				leoMulAdd(out, shards[r], gfLog[coef])
				continue
			}
			newMulTable(coef, &tab)
			tab.mulAdd(out, shards[r])
		}
	}
}

// reconstruct runs the (K, K) reconstruction on one byte range of the
// shards, after interpolation: shards holds every position (nil = missing),
// and out[r] (len 0, capacity the range's length) receives missing data
// position r < rows.
func (pl *colPlan) reconstruct(shards, out [][]byte, zero []byte) error {
	c := pl.c
	k := c.k
	block := make([][]byte, 2*k)
	for r, s := range shards {
		if q := c.knownIndex(r); q < 2*k && s != nil {
			block[q] = s
		}
	}
	for q := c.rows; q < k; q++ {
		block[q] = zero
	}
	for r := range c.rows {
		if block[r] == nil {
			block[r] = out[r]
		}
	}
	enc, err := c.first.klauspost()
	if err != nil {
		return err
	}
	return enc.ReconstructData(block)
}
