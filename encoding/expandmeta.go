package encoding

// The metadata-only expansion (ComputeMetadata).
//
// The two codes commute: expanding the source rows with the row code and
// then every column with the column code gives the same n × n matrix as
// expand's columns-then-rows. Rows first suits metadata: the row code runs on
// the rows source rows only, and each column unit then holds whole columns,
// hashed as they come out of the column code. Only the source rows' parity
// symbols (rows × f) and the n × n leaf hashes are held, not the n − rows
// parity rows (two thirds of the expanded primary slivers), and no symbol is
// copied into fresh memory twice.

// metaSource gives the symbols of the source rows: the blob in place, its
// last partial row zero-padded, zeros past it, and the row code's parity.
type metaSource struct {
	p      Params
	s      int
	blob   []byte
	whole  int    // source rows the blob fills whole
	last   []byte // row whole zero-padded, if the blob ends inside it
	zero   []byte // one zero symbol
	parity []byte // parity[(r·f + j−cols)·s:] is symbol (r, j ≥ cols)
}

// sym returns symbol (r, j) of the row-expanded source rows, r < rows; for
// j ≥ cols only after expandSourceRows wrote it.
func (m *metaSource) sym(r, j int) []byte {
	s, cols := m.s, m.p.Cols
	if j >= cols {
		o := (r*m.p.F + j - cols) * s
		return m.parity[o : o+s : o+s]
	}
	switch {
	case r < m.whole:
		o := (r*cols + j) * s
		return m.blob[o : o+s : o+s]
	case r == m.whole && m.last != nil:
		return m.last[j*s : (j+1)*s : (j+1)*s]
	}
	return m.zero
}

// rowZero reports whether source row r is all zero.
func (m *metaSource) rowZero(r int) bool {
	switch {
	case r < m.whole:
		rowLen := m.p.Cols * m.s
		return allZero(m.blob[r*rowLen : (r+1)*rowLen])
	case r == m.whole && m.last != nil:
		return allZero(m.last)
	}
	return true
}

// expandMetadata computes the row and column roots of the expanded matrix of
// blob (symbol size s) as described above; the slivers are not kept.
func (c *Codec) expandMetadata(blob []byte, s int) (*expansion, error) {
	p := c.p
	n, rows, cols := p.N, p.Rows, p.Cols
	rowLen := cols * s
	m := &metaSource{p: p, s: s, blob: blob, whole: len(blob) / rowLen, zero: make([]byte, s)}
	if tail := blob[m.whole*rowLen:]; len(tail) > 0 {
		m.last = make([]byte, rowLen)
		copy(m.last, tail)
	}
	m.parity = make([]byte, rows*p.F*s)
	x := &expansion{rowRoots: make([]Hash, n), colRoots: make([]Hash, n)}
	// leaves[r·n + j] is the leaf hash of symbol (r, j).
	leaves := make([]Hash, n*n)
	e := int64(s / 2)
	small := c.smallRS(e * (c.row.cost(2)*int64(rows) + c.col.cost(2)*int64(n)))
	// The first klauspost code of a process builds its tables (leopard.go):
	// build them on the side while the workers hash the source symbols,
	// which needs no code.
	warming := !small && !klauspostReady.Load()
	if warming {
		go c.warmRS()
		if err := c.parallel(rows, func(ws *workerScratch, r int) error {
			lh := ws.leafHasher(s)
			for j := range cols {
				lh.add(&leaves[r*n+j], m.sym(r, j))
			}
			lh.flush()
			touchPart(m.parity, r, rows)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := c.expandSourceRows(m, leaves, !warming, small); err != nil {
		return nil, err
	}
	if err := c.expandMetaColumns(m, leaves, x.colRoots, small); err != nil {
		return nil, err
	}
	// The rows' trees, over the finished leaves.
	depth := merkleDepth(n)
	const groupRows = 64
	err := c.parallel((n+groupRows-1)/groupRows, func(ws *workerScratch, gi int) error {
		i0, i1 := gi*groupRows, min((gi+1)*groupRows, n)
		ws.nodes.forest(leaves[i0*n:i1*n], n, depth, ws.leafHasher(s).zt, 0, x.rowRoots[i0:i1])
		return nil
	})
	return x, err
}

// expandSourceRows applies the row code to the source rows, writing their
// parity symbols into m.parity and their leaf hashes into leaves, those of
// the source symbols too if hashSource is set.
func (c *Codec) expandSourceRows(m *metaSource, leaves []Hash, hashSource, small bool) error {
	p, s := c.p, m.s
	n, cols := p.N, p.Cols
	g := c.stripe(n, s, p.Rows)
	units := (p.Rows + g - 1) / g
	return c.parallel(units, func(ws *workerScratch, u int) error {
		i0, i1 := u*g, min((u+1)*g, p.Rows)
		lh := ws.leafHasher(s)
		zeroUnit := true
		for i := i0; i < i1 && zeroUnit; i++ {
			zeroUnit = m.rowZero(i)
		}
		if zeroUnit { // zero parity, which m.parity's fresh memory holds
			for k := i0 * n; k < i1*n; k++ {
				leaves[k] = lh.zt[0]
			}
			return nil
		}
		l := newLayout(s, i1-i0)
		sh := ws.shards(n, l.size())
		for j := range cols {
			for i := i0; i < i1; i++ {
				l.put(sh[j], i-i0, m.sym(i, j))
			}
		}
		if err := c.row.encode(sh, ws.rs(small)); err != nil {
			return err
		}
		for i := i0; i < i1; i++ {
			if hashSource {
				for j := range cols {
					lh.add(&leaves[i*n+j], m.sym(i, j))
				}
			}
			for j := cols; j < n; j++ {
				v := m.sym(i, j)
				l.get(sh[j], i-i0, v)
				lh.add(&leaves[i*n+j], v)
			}
		}
		lh.flush()
		return nil
	})
}

// expandMetaColumns applies the column code to every column of the
// row-expanded source rows, hashes the parity symbols into leaves and builds
// every column's tree into colRoots.
func (c *Codec) expandMetaColumns(m *metaSource, leaves []Hash, colRoots []Hash, small bool) error {
	p, s := c.p, m.s
	n, rows := p.N, p.Rows
	depth := merkleDepth(n)
	w := c.stripe(c.col.span, s, n)
	units := (n + w - 1) / w
	return c.parallel(units, func(ws *workerScratch, u int) error {
		a, b := u*w, min((u+1)*w, n)
		lh := ws.leafHasher(s)
		zeroUnit := true
		for r := 0; r < rows && zeroUnit; r++ {
			for j := a; j < b && zeroUnit; j++ {
				zeroUnit = allZero(m.sym(r, j))
			}
		}
		if zeroUnit { // the code of zeros is zeros
			for r := rows; r < n; r++ {
				for j := a; j < b; j++ {
					leaves[r*n+j] = lh.zt[0]
				}
			}
		} else {
			l := newLayout(s, b-a)
			sh := ws.shards(c.col.span, l.size())
			for r := range rows {
				for j := a; j < b; j++ {
					l.put(sh[r], j-a, m.sym(r, j))
				}
			}
			if err := c.col.encode(sh[:rows], sh[rows:n], sh[n:c.col.span], ws.rs(small)); err != nil {
				return err
			}
			// Each parity symbol needs its own memory until the flush.
			spare := ws.bytes((n - rows) * (b - a) * s)
			for r := rows; r < n; r++ {
				for j := a; j < b; j++ {
					v := spare[:s:s]
					spare = spare[s:]
					l.get(sh[r], j-a, v)
					lh.add(&leaves[r*n+j], v)
				}
			}
			lh.flush()
		}
		col := ws.hashes((b - a) * n)
		for j := a; j < b; j++ {
			for r := range n {
				col[(j-a)*n+r] = leaves[r*n+j]
			}
		}
		ws.nodes.forest(col, n, depth, lh.zt, 0, colRoots[a:b])
		return nil
	})
}
