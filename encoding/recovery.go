package encoding

import (
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/encoding/bcs"
	"github.com/walrus-go/walrus/encoding/internal/blake2bx"
)

// ErrInconsistentBlob is returned when slivers that each verify against the
// metadata do not form one codeword: the writer encoded the blob
// inconsistently. The data is never returned in that case.
var ErrInconsistentBlob = errors.New("encoding: blob is inconsistently encoded")

// RecoverySymbol is one symbol of the expanded matrix, taken from a sliver
// its holder has, with a Merkle proof against that sliver's hash in the
// metadata. To rebuild primary sliver i, a node collects symbol i of the
// expansion of cols different secondary slivers; to rebuild secondary sliver
// j, symbol j of the expansion of rows different primary slivers.
//
// Its BCS form (this project's, not Walrus's):
//
//	source axis u8 ‖ source index u16 LE ‖ target index u16 LE ‖
//	ULEB128(len(Data)) ‖ Data ‖ ULEB128(len(Proof)) ‖ 32 bytes per node
type RecoverySymbol struct {
	// SourceAxis and SourceIndex name the sliver the symbol comes from.
	SourceAxis  Axis
	SourceIndex uint16
	// TargetIndex is the symbol's position in the source sliver's
	// expansion: the index of the sliver of the other axis it helps rebuild.
	TargetIndex uint16
	Data        []byte
	Proof       MerkleProof
}

// MaxProofLen bounds a decoded proof: a tree of MaxShards leaves is 16 deep.
const MaxProofLen = 16

// AppendBCS appends the symbol's BCS form to b.
func (r *RecoverySymbol) AppendBCS(b []byte) []byte {
	b = bcs.AppendU8(b, byte(r.SourceAxis))
	b = bcs.AppendU16(b, r.SourceIndex)
	b = bcs.AppendU16(b, r.TargetIndex)
	b = bcs.AppendBytes(b, r.Data)
	b = bcs.AppendLength(b, len(r.Proof))
	for i := range r.Proof {
		b = append(b, r.Proof[i][:]...)
	}
	return b
}

// MarshalBCS returns the symbol's BCS form.
func (r *RecoverySymbol) MarshalBCS() []byte { return r.AppendBCS(nil) }

// UnmarshalRecoverySymbol decodes a recovery symbol. Data aliases b.
func UnmarshalRecoverySymbol(b []byte) (RecoverySymbol, error) {
	r := bcs.NewReader(b)
	sym, err := ReadRecoverySymbol(r)
	if err != nil {
		return RecoverySymbol{}, err
	}
	if err := r.Done(); err != nil {
		return RecoverySymbol{}, malformed(err)
	}
	return sym, nil
}

// ReadRecoverySymbol decodes a recovery symbol in place, from a Reader of a
// larger value (a message that carries symbols), as UnmarshalRecoverySymbol
// does. Data aliases the Reader's input. Its errors match ErrMalformed, and
// are recorded in r.
func ReadRecoverySymbol(r *bcs.Reader) (RecoverySymbol, error) {
	var sym RecoverySymbol
	axis := r.U8("source axis")
	if r.Err() == nil && axis > uint8(Secondary) {
		r.Fail("source axis", "axis %d", axis)
	}
	sym.SourceAxis = Axis(axis)
	sym.SourceIndex = r.U16("source index")
	sym.TargetIndex = r.U16("target index")
	sym.Data = r.Bytes("symbol", MaxSymbolSize)
	if r.Err() == nil && (len(sym.Data) == 0 || len(sym.Data)%2 != 0) {
		r.Fail("symbol", "symbol of %d bytes", len(sym.Data))
	}
	np := r.Length("proof length", MaxProofLen)
	if r.Need("proof", np*len(Hash{})) && np > 0 {
		sym.Proof = make(MerkleProof, np)
		for i := range sym.Proof {
			copy(sym.Proof[i][:], r.Fixed("proof node", len(Hash{})))
		}
	}
	if err := r.Err(); err != nil {
		return RecoverySymbol{}, malformed(err)
	}
	return sym, nil
}

// RecoverySymbols returns, for each target position, the symbol at that
// position of held's expansion with its Merkle proof. held must be verified
// against md; if its expansion does not hash to md's record, the result is
// ErrInvalidSliver and no symbols, so a node never serves unprovable data.
func (c *Codec) RecoverySymbols(md *Metadata, held *Sliver, targets []int) ([]RecoverySymbol, error) {
	if err := held.CheckShape(c.p, md); err != nil {
		return nil, err
	}
	ws := getScratch()
	defer putScratch(ws)
	leaves, parity, err := c.sliverLeaves(ws, held)
	if err != nil {
		return nil, err
	}
	tree := NewMerkleTree(append([]Hash(nil), leaves...))
	if tree.Root() != md.SliverHash(held.Axis, int(held.Index)) {
		return nil, fmt.Errorf("%w: %s sliver %d does not match its hash", ErrInvalidSliver, held.Axis, held.Index)
	}
	s := int(held.SymbolSize)
	src := held.NumSymbols()
	// The symbols are copied out of held and the scratch expansion.
	data := make([]byte, len(targets)*s)
	out := make([]RecoverySymbol, 0, len(targets))
	for i, t := range targets {
		proof, err := tree.Proof(t)
		if err != nil {
			return nil, fmt.Errorf("%w: target %d out of range", ErrInvalidSliver, t)
		}
		d := data[i*s : (i+1)*s : (i+1)*s]
		if t < src {
			copy(d, held.Symbol(t))
		} else {
			copy(d, parity[(t-src)*s:(t-src+1)*s])
		}
		out = append(out, RecoverySymbol{
			SourceAxis:  held.Axis,
			SourceIndex: held.Index,
			TargetIndex: uint16(t),
			Data:        d,
			Proof:       proof,
		})
	}
	return out, nil
}

// SymbolsFromLeaves returns the recovery symbols at targets of the
// expansion of sliver (axis, index), given that sliver's leaf hashes (as
// VerifySliverLeaves returned them, kept by its holder) and data[i], the
// symbol at targets[i], each a source symbol (targets[i] < the sliver's
// symbol count). The leaves must form md's hash of the sliver and each symbol
// must hash to its leaf, or the result is ErrInvalidSliver and no symbols: as
// with RecoverySymbols, a holder never serves unprovable data, and it reads
// and hashes only the symbols asked for. The symbols' Data alias data.
func (c *Codec) SymbolsFromLeaves(md *Metadata, axis Axis, index int, leaves []Hash, targets []int, data [][]byte) ([]RecoverySymbol, error) {
	p := c.p
	s, err := c.checkSize(md.UnencodedLength)
	if err != nil {
		return nil, err
	}
	src := p.Cols
	if axis == Secondary {
		src = p.Rows
	}
	switch {
	case len(md.Hashes) != p.N:
		return nil, fmt.Errorf("%w: metadata for %d shards, codec for %d", ErrMetadataMismatch, len(md.Hashes), p.N)
	case axis > Secondary || index < 0 || index >= p.N:
		return nil, fmt.Errorf("%w: %s sliver %d of n = %d", ErrInvalidSliver, axis, index, p.N)
	case len(leaves) != p.N:
		return nil, fmt.Errorf("%w: %d leaf hashes, want %d", ErrInvalidSliver, len(leaves), p.N)
	case len(data) != len(targets):
		return nil, fmt.Errorf("%w: %d symbols for %d targets", ErrInvalidSliver, len(data), len(targets))
	}
	tree := NewMerkleTree(append([]Hash(nil), leaves...))
	if tree.Root() != md.SliverHash(axis, index) {
		return nil, fmt.Errorf("%w: the leaf hashes of %s sliver %d do not match its hash", ErrInvalidSliver, axis, index)
	}
	ws := getScratch()
	defer putScratch(ws)
	got := ws.hashes(len(targets))
	lh := ws.leafHasher(s)
	for i, t := range targets {
		if t < 0 || t >= src || len(data[i]) != s {
			lh.flush()
			return nil, fmt.Errorf("%w: symbol %d (%d bytes) is not a source symbol of %d bytes", ErrInvalidSliver, t, len(data[i]), s)
		}
		lh.add(&got[i], data[i])
	}
	lh.flush()
	out := make([]RecoverySymbol, len(targets))
	for i, t := range targets {
		if got[i] != leaves[t] {
			return nil, fmt.Errorf("%w: symbol %d of %s sliver %d does not match its leaf hash", ErrInvalidSliver, t, axis, index)
		}
		proof, err := tree.Proof(t)
		if err != nil {
			return nil, fmt.Errorf("%w: target %d out of range", ErrInvalidSliver, t)
		}
		out[i] = RecoverySymbol{SourceAxis: axis, SourceIndex: uint16(index), TargetIndex: uint16(t), Data: data[i], Proof: proof}
	}
	return out, nil
}

// VerifyRecoverySymbol checks a symbol's size, indices and Merkle proof
// against md.
func (c *Codec) VerifyRecoverySymbol(md *Metadata, sym *RecoverySymbol) error {
	s, err := c.checkSymbolMeta(md)
	if err != nil {
		return err
	}
	if err := c.checkSymbolShape(sym, s); err != nil {
		return err
	}
	root := md.SliverHash(sym.SourceAxis, int(sym.SourceIndex))
	return sym.Proof.Verify(root, LeafHash(sym.Data), int(sym.TargetIndex), c.p.N)
}

// VerifyRecoverySymbols verifies each of syms as VerifyRecoverySymbol
// does, hashing their leaves several at a time (the batched Blake2b of
// encoding, 8 lanes with AVX-512): the hashing is most of a symbol read's
// verification. It returns the index of the first symbol that fails and
// its error, or -1 and nil; -1 and an error when md does not fit the codec
// (ErrMetadataMismatch, or the blob is too large).
func (c *Codec) VerifyRecoverySymbols(md *Metadata, syms []RecoverySymbol) (int, error) {
	if len(syms) == 0 {
		return -1, nil
	}
	s, err := c.checkSymbolMeta(md)
	if err != nil {
		return -1, err
	}
	for i := range syms {
		if err := c.checkSymbolShape(&syms[i], s); err != nil {
			return i, err
		}
	}
	leaves := make([]Hash, len(syms))
	var b blake2bx.Batch
	b.Reset(leafPrefix, s)
	for i := range syms {
		b.Add((*[blake2bx.Size]byte)(&leaves[i]), syms[i].Data)
	}
	b.Flush()
	for i := range syms {
		sym := &syms[i]
		root := md.SliverHash(sym.SourceAxis, int(sym.SourceIndex))
		if err := sym.Proof.Verify(root, leaves[i], int(sym.TargetIndex), c.p.N); err != nil {
			return i, err
		}
	}
	return -1, nil
}

// checkSymbolMeta checks md against the codec for verifying symbols and
// returns its symbol size.
func (c *Codec) checkSymbolMeta(md *Metadata) (int, error) {
	s, err := c.checkSize(md.UnencodedLength)
	if err != nil {
		return 0, err
	}
	if len(md.Hashes) != c.p.N {
		return 0, fmt.Errorf("%w: metadata for %d shards, codec for %d", ErrMetadataMismatch, len(md.Hashes), c.p.N)
	}
	return s, nil
}

// checkSymbolShape checks sym's indices and its size, s bytes.
func (c *Codec) checkSymbolShape(sym *RecoverySymbol, s int) error {
	n := c.p.N
	switch {
	case sym.SourceAxis > Secondary || int(sym.SourceIndex) >= n || int(sym.TargetIndex) >= n:
		return fmt.Errorf("%w: symbol (%s %d, target %d) out of range", ErrInvalidProof, sym.SourceAxis, sym.SourceIndex, sym.TargetIndex)
	case len(sym.Data) != s:
		return fmt.Errorf("%w: symbol of %d bytes, want %d", ErrInvalidProof, len(sym.Data), s)
	}
	return nil
}

// RecoverSliver rebuilds sliver (axis, index) from recovery symbols taken
// from slivers of the other axis: cols of them for a primary sliver, rows for
// a secondary one. Symbols that fail verification or do not target the sliver
// are ignored; if too few remain the error is ErrTooFewSymbols and says how
// many were rejected. The rebuilt sliver is checked against md; a mismatch is
// ErrInconsistentBlob.
func (c *Codec) RecoverSliver(md *Metadata, axis Axis, index int, symbols []RecoverySymbol) (*Sliver, error) {
	sl, _, err := c.recoverSliver(md, axis, index, symbols, false)
	return sl, err
}

// RecoverSliverLeaves is RecoverSliver that also returns the leaf hashes of
// the rebuilt sliver's expansion, n of them, as VerifySliverLeaves does:
// its check against md computes them anyway.
func (c *Codec) RecoverSliverLeaves(md *Metadata, axis Axis, index int, symbols []RecoverySymbol) (*Sliver, []Hash, error) {
	return c.recoverSliver(md, axis, index, symbols, true)
}

func (c *Codec) recoverSliver(md *Metadata, axis Axis, index int, symbols []RecoverySymbol, withLeaves bool) (*Sliver, []Hash, error) {
	p := c.p
	if axis > Secondary || index < 0 || index >= p.N {
		return nil, nil, fmt.Errorf("%w: %s sliver %d out of range", ErrInvalidSliver, axis, index)
	}
	s, err := c.checkSize(md.UnencodedLength)
	if err != nil {
		return nil, nil, err
	}
	byPos := make([][]byte, p.N)
	valid, rejected := 0, 0
	var firstErr error
	for i := range symbols {
		sym := &symbols[i]
		if sym.SourceAxis != axis.Other() || int(sym.TargetIndex) != index {
			rejected++
			continue
		}
		if err := c.VerifyRecoverySymbol(md, sym); err != nil {
			rejected++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if byPos[sym.SourceIndex] == nil {
			byPos[sym.SourceIndex] = sym.Data
			valid++
		}
	}
	need := p.Cols
	if axis == Secondary {
		need = p.Rows
	}
	if valid < need {
		return nil, nil, fmt.Errorf("%w: %d valid recovery symbols for %s sliver %d, need %d (%d rejected, first: %v)",
			ErrTooFewSymbols, valid, axis, index, need, rejected, firstErr)
	}
	l := newLayout(s, 1)
	size := l.size()
	shards := make([][]byte, p.N)
	for k, d := range byPos {
		if d != nil {
			shards[k] = make([]byte, size)
			l.put(shards[k], 0, d)
		}
	}
	if axis == Primary {
		for j := range p.Cols {
			if shards[j] == nil {
				shards[j] = make([]byte, 0, size)
			}
		}
		if err := c.row.reconstruct(shards, false); err != nil {
			return nil, nil, err
		}
	} else {
		present := make([]bool, p.N)
		for k := range shards {
			present[k] = shards[k] != nil
		}
		pl, err := c.col.plan(present)
		if err != nil {
			return nil, nil, err
		}
		if err := c.applyColPlan(pl, shards, size); err != nil {
			return nil, nil, err
		}
	}
	sl := &Sliver{Axis: axis, Index: uint16(index), SymbolSize: uint16(s), Data: make([]byte, need*s)}
	for k := range need {
		l.get(shards[k], 0, sl.Data[k*s:(k+1)*s])
	}
	ws := getScratch()
	defer putScratch(ws)
	leaves, root, err := c.sliverLeavesRoot(ws, sl)
	if err != nil {
		return nil, nil, err
	}
	if root != md.SliverHash(axis, index) {
		return nil, nil, fmt.Errorf("%w: %s sliver %d rebuilt from verified symbols does not match its hash", ErrInconsistentBlob, axis, index)
	}
	if !withLeaves {
		return sl, nil, nil
	}
	return sl, append([]Hash(nil), leaves...), nil
}
