package encoding

import (
	"fmt"
	"slices"
	"sync"
)

// ConsistencyCheck selects how a decoded blob is checked against its
// metadata before it is returned.
type ConsistencyCheck uint8

const (
	// CheckDefault re-encodes the systematic primary slivers of the decoded
	// blob and compares their hashes with the metadata. Every reader that
	// passes it returns the same bytes: those the systematic slivers commit
	// to.
	CheckDefault ConsistencyCheck = iota
	// CheckStrict re-encodes the whole blob and compares every sliver hash
	// (and so the blob ID): the encoding is consistent as a whole.
	CheckStrict
	// CheckNone checks nothing beyond the slivers' own verification: for
	// readers who trust the writer (Walrus's --skip-consistency-check).
	CheckNone
)

// Decode rebuilds a blob from slivers of one axis: at least rows primary
// slivers or at least cols secondary slivers, each already verified against
// md (VerifySliver); the default check relies on that. Duplicates are
// ignored. The result is checked as check says; an inconsistent encoding
// returns ErrInconsistentBlob and no data. Decoding from the systematic
// primary slivers is a copy.
func (c *Codec) Decode(md *Metadata, slivers []Sliver, check ConsistencyCheck) ([]byte, error) {
	p := c.p
	if len(md.Hashes) != p.N {
		return nil, fmt.Errorf("%w: metadata for %d shards, codec for %d", ErrMetadataMismatch, len(md.Hashes), p.N)
	}
	s, err := c.checkSize(md.UnencodedLength)
	if err != nil {
		return nil, err
	}
	if len(slivers) == 0 {
		return nil, fmt.Errorf("%w: no slivers", ErrTooFewSymbols)
	}
	axis := slivers[0].Axis
	byIndex := make([]*Sliver, p.N)
	for i := range slivers {
		sl := &slivers[i]
		if sl.Axis != axis {
			return nil, fmt.Errorf("%w: decode needs slivers of one axis, got %s and %s", ErrInvalidSliver, axis, sl.Axis)
		}
		if err := sl.CheckShape(p, md); err != nil {
			return nil, err
		}
		byIndex[sl.Index] = sl
	}
	var data []byte
	if axis == Primary {
		data, err = c.decodePrimary(byIndex, s)
	} else {
		data, err = c.decodeSecondary(byIndex, s)
	}
	if err != nil {
		return nil, err
	}
	// The default check re-hashes the systematic primary slivers; those that
	// were given are verified already (Decode's contract) and are skipped.
	given := make([]bool, p.Rows)
	if axis == Primary {
		for r := range p.Rows {
			given[r] = byIndex[r] != nil
		}
	}
	if err := c.checkConsistency(md, data, s, check, given); err != nil {
		return nil, err
	}
	return data[:md.UnencodedLength], nil
}

// decodePrimary decodes the source matrix (row-major, rows·cols·s bytes)
// from primary slivers indexed by sliver index (nil = missing).
func (c *Codec) decodePrimary(byIndex []*Sliver, s int) ([]byte, error) {
	p := c.p
	rowLen := p.Cols * s
	out := make([]byte, p.Rows*rowLen)
	present := make([]bool, p.N)
	missing := 0
	for i, sl := range byIndex {
		present[i] = sl != nil
		if i < p.Rows && sl == nil {
			missing++
		}
	}
	if missing == 0 {
		for r := range p.Rows {
			copy(out[r*rowLen:], byIndex[r].Data)
		}
		return out, nil
	}
	pl, err := c.col.plan(present)
	if err != nil {
		return nil, err
	}
	l := newLayout(s, p.Cols)
	width := l.size()
	shards := make([][]byte, p.N)
	used := append(slices.Clone(pl.src), pl.targets...)
	if pl.rs {
		used = used[:0]
		for i := range p.N {
			if present[i] {
				used = append(used, i)
			}
		}
	}
	// Pack what the plan reads.
	packed := make([]byte, len(used)*width)
	if err := c.parallel(len(used), func(_ *workerScratch, u int) error {
		r := used[u]
		if present[r] {
			shards[r] = packed[u*width : (u+1)*width]
			l.putAll(shards[r], byIndex[r].Data)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := c.applyColPlan(pl, shards, width); err != nil {
		return nil, err
	}
	return out, c.parallel(p.Rows, func(_ *workerScratch, r int) error {
		if present[r] {
			copy(out[r*rowLen:], byIndex[r].Data)
		} else {
			l.getAll(shards[r], out[r*rowLen:(r+1)*rowLen])
		}
		return nil
	})
}

// applyColPlan fills shards[r] for every missing data position r < rows.
// shards are packed, width bytes each.
func (c *Codec) applyColPlan(pl *colPlan, shards [][]byte, width int) error {
	p := c.p
	if err := c.parallel(len(pl.targets), func(_ *workerScratch, ti int) error {
		out := make([]byte, width)
		pl.interpolate(ti, shards, out)
		shards[pl.targets[ti]] = out
		return nil
	}); err != nil {
		return err
	}
	if !pl.rs {
		return nil
	}
	outs := make([][]byte, p.Rows)
	for r := range p.Rows {
		if shards[r] == nil {
			outs[r] = make([]byte, width)
		}
	}
	zero := make([]byte, width)
	stripe := c.byteStripe(width, 2*c.col.k)
	units := (width + stripe - 1) / stripe
	if err := c.parallel(units, func(_ *workerScratch, u int) error {
		a, b := u*stripe, min((u+1)*stripe, width)
		sub := make([][]byte, len(shards))
		for r, sh := range shards {
			if sh != nil {
				sub[r] = sh[a:b]
			}
		}
		o := make([][]byte, p.Rows)
		for r := range o {
			if outs[r] != nil {
				o[r] = outs[r][a:a:b]
			}
		}
		return pl.reconstruct(sub, o, zero[a:b])
	}); err != nil {
		return err
	}
	for r := range p.Rows {
		if outs[r] != nil {
			shards[r] = outs[r]
		}
	}
	return nil
}

// byteStripe returns a chunk-aligned byte range length for splitting packed
// shards of the given width over the workers, for calls on `shards` shards.
//
// Decoding's units stay large: the interpolation builds a multiplication
// table per coefficient and unit, which a unit must be long enough to pay
// for.
func (c *Codec) byteStripe(width, shards int) int {
	stripe := decodeScratchBytes / shards
	if per := (width + 2*c.workers - 1) / (2 * c.workers); stripe > per {
		stripe = per
	}
	stripe = (stripe + 63) &^ 63
	return max(stripe, 64)
}

// decodeSecondary decodes the source matrix from secondary slivers indexed
// by sliver index (nil = missing).
func (c *Codec) decodeSecondary(byIndex []*Sliver, s int) ([]byte, error) {
	p := c.p
	count := 0
	for _, sl := range byIndex {
		if sl != nil {
			count++
		}
	}
	if count < p.Cols {
		return nil, fmt.Errorf("%w: %d secondary slivers of the %d needed", ErrTooFewSymbols, count, p.Cols)
	}
	colLen := p.Rows * s
	l := newLayout(s, p.Rows)
	width := l.size()
	shards := make([][]byte, p.N)
	missing := false
	for j := range p.Cols {
		if byIndex[j] == nil {
			missing = true
		}
	}
	if missing {
		packed := make([]byte, p.N*width)
		if err := c.parallel(p.N, func(_ *workerScratch, j int) error {
			if byIndex[j] != nil {
				shards[j] = packed[j*width : (j+1)*width]
				l.putAll(shards[j], byIndex[j].Data)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		outs := make([][]byte, p.Cols)
		for j := range p.Cols {
			if shards[j] == nil {
				outs[j] = make([]byte, width)
			}
		}
		stripe := c.byteStripe(width, p.N)
		units := (width + stripe - 1) / stripe
		if err := c.parallel(units, func(_ *workerScratch, u int) error {
			a, b := u*stripe, min((u+1)*stripe, width)
			sub := make([][]byte, p.N)
			for j, sh := range shards {
				switch {
				case sh != nil:
					sub[j] = sh[a:b]
				case j < p.Cols:
					sub[j] = outs[j][a:a:b]
				}
			}
			return c.row.reconstruct(sub, false)
		}); err != nil {
			return nil, err
		}
		for j := range p.Cols {
			if outs[j] != nil {
				shards[j] = outs[j]
			}
		}
	}
	out := make([]byte, p.Rows*p.Cols*s)
	rowLen := p.Cols * s
	return out, c.parallel(p.Cols, func(ws *workerScratch, j int) error {
		col := byIndex[j]
		var raw []byte
		if col != nil {
			raw = col.Data
		} else {
			raw = ws.bytes(colLen)
			l.getAll(shards[j], raw)
		}
		for i := range p.Rows {
			copy(out[i*rowLen+j*s:i*rowLen+(j+1)*s], raw[i*s:(i+1)*s])
		}
		return nil
	})
}

// checkConsistency checks decoded source matrix data against md. given[r]
// marks systematic primary slivers that were inputs, already verified.
func (c *Codec) checkConsistency(md *Metadata, data []byte, s int, check ConsistencyCheck, given []bool) error {
	p := c.p
	switch check {
	case CheckNone:
		return nil
	case CheckStrict:
		x, err := c.expandRoots(data[:md.UnencodedLength], s)
		if err != nil {
			return err
		}
		for i := range p.N {
			if x.rowRoots[i] != md.Hashes[i].Primary || x.colRoots[p.N-1-i] != md.Hashes[i].Secondary {
				return fmt.Errorf("%w: sliver pair %d re-encodes to other hashes", ErrInconsistentBlob, i)
			}
		}
		return nil
	case CheckDefault:
		rowLen := p.Cols * s
		return c.parallel(p.Rows, func(ws *workerScratch, r int) error {
			if given[r] {
				return nil
			}
			sl := Sliver{Axis: Primary, Index: uint16(r), SymbolSize: uint16(s), Data: data[r*rowLen : (r+1)*rowLen]}
			root, err := c.sliverRoot(ws, &sl)
			if err != nil {
				return err
			}
			if root != md.Hashes[r].Primary {
				return fmt.Errorf("%w: decoded primary sliver %d does not match its hash", ErrInconsistentBlob, r)
			}
			return nil
		})
	}
	return fmt.Errorf("encoding: unknown consistency check %d", check)
}

// VerifySliver checks a sliver's shape and hash against md.
func (c *Codec) VerifySliver(md *Metadata, sl *Sliver) error {
	if err := sl.CheckShape(c.p, md); err != nil {
		return err
	}
	ws := getScratch()
	defer putScratch(ws)
	root, err := c.sliverRoot(ws, sl)
	if err != nil {
		return err
	}
	if want := md.SliverHash(sl.Axis, int(sl.Index)); root != want {
		return fmt.Errorf("%w: %s sliver %d does not match its hash", ErrInvalidSliver, sl.Axis, sl.Index)
	}
	return nil
}

// VerifySliverLeaves checks a sliver as VerifySliver does and returns the
// leaf hashes of its expansion (n of them, in a new slice): what a holder
// keeps to serve some of the sliver's symbols with their proofs without
// expanding it again (SymbolsFromLeaves).
func (c *Codec) VerifySliverLeaves(md *Metadata, sl *Sliver) ([]Hash, error) {
	if err := sl.CheckShape(c.p, md); err != nil {
		return nil, err
	}
	ws := getScratch()
	defer putScratch(ws)
	leaves, root, err := c.sliverLeavesRoot(ws, sl)
	if err != nil {
		return nil, err
	}
	if root != md.SliverHash(sl.Axis, int(sl.Index)) {
		return nil, fmt.Errorf("%w: %s sliver %d does not match its hash", ErrInvalidSliver, sl.Axis, sl.Index)
	}
	return append([]Hash(nil), leaves...), nil
}

// scratchPool holds workerScratch for the one-sliver operations (a node
// verifies every sliver it is sent), so that each does not allocate its
// shards anew.
var scratchPool = sync.Pool{New: func() any { return new(workerScratch) }}

func getScratch() *workerScratch { return scratchPool.Get().(*workerScratch) }

// putScratch returns ws to the pool unless it grew very large.
func putScratch(ws *workerScratch) {
	if cap(ws.buf) <= 64<<20 {
		scratchPool.Put(ws)
	}
}

// expandSliver returns the n−k parity symbols of a sliver's full row
// (primary, k = cols) or column (secondary, k = rows), concatenated, in ws's
// memory; the sliver itself holds the first k.
func (c *Codec) expandSliver(ws *workerScratch, sl *Sliver) ([]byte, error) {
	p := c.p
	s := int(sl.SymbolSize)
	src := p.Cols
	if sl.Axis == Secondary {
		src = p.Rows
	}
	parity := ws.bytes((p.N - src) * s)
	syms := lists(&ws.syms, p.N)
	defer clear(syms)
	for k := range src {
		syms[k] = sl.Symbol(k)
	}
	for k := src; k < p.N; k++ {
		syms[k] = parity[(k-src)*s : (k-src+1)*s : (k-src+1)*s]
	}
	e := int64(s / 2)
	run := c.rowRun(c.smallRS(e * c.row.cost(2)))
	if sl.Axis == Secondary {
		run = c.colRun(c.smallRS(e * c.col.cost(2)))
	}
	if err := ws.encodeSplit(syms, src, s, run); err != nil {
		return nil, err
	}
	return parity, nil
}

// sliverLeaves returns the leaf hashes of a sliver's expansion, in ws's
// memory, and the expansion's parity symbols (see expandSliver).
func (c *Codec) sliverLeaves(ws *workerScratch, sl *Sliver) ([]Hash, []byte, error) {
	parity, err := c.expandSliver(ws, sl)
	if err != nil {
		return nil, nil, err
	}
	s := int(sl.SymbolSize)
	src := len(sl.Data) / s
	leaves := ws.hashes(c.p.N)
	lh := ws.leafHasher(s)
	for k := range leaves {
		if k < src {
			lh.add(&leaves[k], sl.Symbol(k))
		} else {
			lh.add(&leaves[k], parity[(k-src)*s:(k-src+1)*s])
		}
	}
	lh.flush()
	return leaves, parity, nil
}

// sliverRoot returns the Merkle root over a sliver's expansion: its hash.
func (c *Codec) sliverRoot(ws *workerScratch, sl *Sliver) (Hash, error) {
	_, root, err := c.sliverLeavesRoot(ws, sl)
	return root, err
}

// sliverLeavesRoot returns the leaf hashes of a sliver's expansion (in ws's
// scratch, valid until its next use) and their Merkle root.
func (c *Codec) sliverLeavesRoot(ws *workerScratch, sl *Sliver) ([]Hash, Hash, error) {
	leaves, _, err := c.sliverLeaves(ws, sl)
	if err != nil {
		return nil, Hash{}, err
	}
	return leaves, ws.nodes.root(leaves, ws.hasher.zt), nil
}
