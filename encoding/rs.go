package encoding

import (
	"errors"
	"fmt"

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

func newLeopard(k, m int) (reedsolomon.Encoder, error) {
	return reedsolomon.New(k, m, reedsolomon.WithLeopardGF16(true))
}

// rowCode is RS(cols → n).
type rowCode struct {
	enc  reedsolomon.Encoder
	cols int
	n    int
}

func newRowCode(p Params) (*rowCode, error) {
	enc, err := newLeopard(p.Cols, p.F)
	if err != nil {
		return nil, fmt.Errorf("encoding: row code (%d, %d): %w", p.Cols, p.F, err)
	}
	return &rowCode{enc: enc, cols: p.Cols, n: p.N}, nil
}

// encode fills shards[cols:n] from shards[0:cols]. All shards are packed and
// of equal length.
func (c *rowCode) encode(shards [][]byte) error { return c.enc.Encode(shards) }

// reconstruct fills the nil entries among shards[0:cols] (and all missing
// ones if all is set) from any cols present shards.
func (c *rowCode) reconstruct(shards [][]byte, all bool) error {
	present := 0
	for _, s := range shards {
		if s != nil {
			present++
		}
	}
	if present < c.cols {
		return fmt.Errorf("%w: %d of the %d needed", ErrTooFewSymbols, present, c.cols)
	}
	if all {
		return c.enc.Reconstruct(shards)
	}
	return c.enc.ReconstructData(shards)
}

// colCode is RS(rows → n).
type colCode struct {
	rows, n, k int
	// levels[l] is the (M, M) code with M = k·2^l.
	levels []reedsolomon.Encoder
	// span is the number of known values the last doubling produces.
	span int
}

func newColCode(p Params) (*colCode, error) {
	c := &colCode{rows: p.Rows, n: p.N, k: p.colK()}
	need := c.k + 2*p.F
	for m := c.k; m < need; m *= 2 {
		enc, err := newLeopard(m, m)
		if err != nil {
			return nil, fmt.Errorf("encoding: column code level (%d, %d): %w", m, m, err)
		}
		c.levels = append(c.levels, enc)
		c.span = 2 * m
	}
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
// shards). parity has n−rows shards. zero is a zeroed shard and scratch
// holds at least span−k−(n−rows) shards, all of data's length.
func (c *colCode) encode(data, parity [][]byte, zero []byte, scratch [][]byte) error {
	known := make([][]byte, c.span)
	copy(known, data)
	for q := c.rows; q < c.k; q++ {
		known[q] = zero
	}
	copy(known[c.k:], parity)
	copy(known[c.k+len(parity):], scratch)
	for l, enc := range c.levels {
		m := c.k << l
		if err := enc.Encode(known[:2*m]); err != nil {
			return err
		}
	}
	return nil
}

// scratchShards is how many scratch shards encode needs.
func (c *colCode) scratchShards() int { return c.span - c.k - (c.n - c.rows) }

// decodeData fills the nil entries among shards[0:rows] from any rows
// present shards of the n column positions. zero is a zeroed shard of the
// shards' length. Present shards are not modified.
func (c *colCode) decodeData(shards [][]byte, zero []byte) error {
	present := 0
	for _, s := range shards {
		if s != nil {
			present++
		}
	}
	if present < c.rows {
		return fmt.Errorf("%w: %d of the %d needed", ErrTooFewSymbols, present, c.rows)
	}
	missing := 0
	for r := range c.rows {
		if shards[r] == nil {
			missing++
		}
	}
	if missing == 0 {
		return nil
	}
	size := 0
	for _, s := range shards {
		if s != nil {
			size = len(s)
			break
		}
	}

	// The (K, K) block holds known[0:2K]: data, zeros and the first K parity
	// positions. Count what it has.
	k := c.k
	block := make([][]byte, 2*k)
	have := k - c.rows // the zeros
	for r, s := range shards {
		if q := c.knownIndex(r); q < 2*k && s != nil {
			block[q] = s
			have++
		}
	}
	for q := c.rows; q < k; q++ {
		block[q] = zero
	}

	// Interpolate the shortfall: missing data positions first, as they are
	// what we want.
	if short := k - have; short > 0 {
		var targets []int
		for r := 0; r < c.n && len(targets) < short; r++ {
			if q := c.knownIndex(r); q < 2*k && shards[r] == nil {
				targets = append(targets, r)
			}
		}
		outs, err := c.interpolate(shards, targets, size)
		if err != nil {
			return err
		}
		for i, r := range targets {
			shards[r] = outs[i]
			block[c.knownIndex(r)] = outs[i]
		}
		if len(targets) >= missing {
			return nil
		}
	}
	if err := c.levels[0].ReconstructData(block); err != nil {
		return err
	}
	for r := range c.rows {
		shards[r] = block[r]
	}
	return nil
}

// interpolate evaluates the column polynomial at the points of positions
// targets, from the present shards (any rows of them) and the implied zeros.
func (c *colCode) interpolate(shards [][]byte, targets []int, size int) ([][]byte, error) {
	gfInit()
	// Points: the zeros (values known to be zero) and the first present
	// shards, K in all.
	k := c.k
	xs := make([]uint16, 0, k)
	var vals [][]byte
	for q := c.rows; q < k; q++ {
		xs = append(xs, uint16(q^k))
	}
	nz := len(xs)
	for r, s := range shards {
		if s != nil && len(xs) < k {
			xs = append(xs, c.point(r))
			vals = append(vals, s)
		}
	}
	if len(xs) < k {
		return nil, fmt.Errorf("%w: %d points of the %d needed", ErrTooFewSymbols, len(xs), k)
	}
	// Barycentric weights w_i = 1 / Π_{j≠i} (x_i − x_j).
	w := make([]uint16, k)
	for i := range xs {
		prod := uint16(1)
		for j := range xs {
			if j != i {
				prod = gfMul(prod, xs[i]^xs[j])
			}
		}
		w[i] = gfInv(prod)
	}
	outs := make([][]byte, len(targets))
	var tab gfMulTable
	for ti, r := range targets {
		t := c.point(r)
		// ℓ(t) = Π_j (t − x_j); coefficient_i = ℓ(t)·w_i / (t − x_i).
		ell := uint16(1)
		for _, x := range xs {
			ell = gfMul(ell, t^x)
		}
		out := make([]byte, size)
		for i := nz; i < k; i++ {
			coef := gfMul(gfMul(ell, w[i]), gfInv(t^xs[i]))
			if coef == 0 {
				continue
			}
			newMulTable(coef, &tab)
			tab.mulAdd(out, vals[i-nz])
		}
		outs[ti] = out
	}
	return outs, nil
}
