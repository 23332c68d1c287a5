package encoding

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidInconsistencyProof is returned by VerifyInconsistencyProof for a
// proof that does not show the blob is inconsistent: the wrong number of
// symbols, a symbol that fails its Merkle proof or targets another sliver,
// or symbols that decode to a sliver consistent with the metadata.
var ErrInvalidInconsistencyProof = errors.New("encoding: invalid inconsistency proof")

// InconsistencyProof shows that a blob was encoded inconsistently (Walrus's
// InconsistencyProof, crates/walrus-core/src/inconsistency.rs): exactly as
// many recovery symbols for one target sliver as rebuilding it takes (cols
// for a primary sliver, rows for a secondary one), each with its Merkle
// proof against the hash of the sliver it comes from, that decode to a
// sliver whose hash is not the target's in the metadata. The metadata is
// implicit: every storage node keeps it.
//
// Anyone with the metadata verifies it (VerifyInconsistencyProof): check
// each symbol's proof, decode the target sliver, re-expand it, and check its
// Merkle root differs from the metadata's. An honest encoding admits no such
// proof, since every set of verified symbols then decodes to the committed
// sliver.
//
// An InconsistencyProof is a plain value; it is not safe for concurrent
// mutation.
type InconsistencyProof struct {
	// Axis and Index name the target sliver.
	Axis  Axis
	Index uint16
	// Symbols are from distinct slivers of the other axis, each at position
	// Index of its source's expansion.
	Symbols []RecoverySymbol
}

// ProofSymbols is how many recovery symbols an inconsistency proof for a
// sliver of axis carries: cols for a primary sliver, rows for a secondary
// one.
func (p Params) ProofSymbols(axis Axis) int {
	if axis == Secondary {
		return p.Rows
	}
	return p.Cols
}

// SliverRoot returns the hash of a sliver as the metadata records it: the
// Merkle root over its expansion's n symbols. A writer computes the
// metadata from these; a test that models a dishonest writer commits to a
// sliver it altered with it.
func (c *Codec) SliverRoot(sl *Sliver) (Hash, error) {
	s := int(sl.SymbolSize)
	if sl.Axis > Secondary || s == 0 || s%2 != 0 || len(sl.Data) != c.p.ProofSymbols(sl.Axis)*s {
		return Hash{}, fmt.Errorf("%w: %s sliver of %d bytes, symbol size %d", ErrInvalidSliver, sl.Axis, len(sl.Data), s)
	}
	ws := getScratch()
	defer putScratch(ws)
	return c.sliverRoot(ws, sl)
}

// VerifyInconsistencyProof checks that pr proves the blob md describes is
// inconsistently encoded. It returns nil if and only if it does; otherwise
// an error matching ErrInvalidInconsistencyProof that says why.
func (c *Codec) VerifyInconsistencyProof(md *Metadata, pr *InconsistencyProof) error {
	p := c.p
	if _, err := c.checkSize(md.UnencodedLength); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidInconsistencyProof, err)
	}
	if len(md.Hashes) != p.N {
		return fmt.Errorf("%w: metadata for %d shards, codec for %d", ErrInvalidInconsistencyProof, len(md.Hashes), p.N)
	}
	if pr.Axis > Secondary || int(pr.Index) >= p.N {
		return fmt.Errorf("%w: target %s sliver %d out of range", ErrInvalidInconsistencyProof, pr.Axis, pr.Index)
	}
	if want := p.ProofSymbols(pr.Axis); len(pr.Symbols) != want {
		return fmt.Errorf("%w: %d recovery symbols, want %d", ErrInvalidInconsistencyProof, len(pr.Symbols), want)
	}
	seen := make([]bool, p.N)
	for i := range pr.Symbols {
		sym := &pr.Symbols[i]
		if sym.SourceAxis != pr.Axis.Other() || sym.TargetIndex != pr.Index {
			return fmt.Errorf("%w: symbol %d is from %s sliver %d for target %d, not for %s sliver %d",
				ErrInvalidInconsistencyProof, i, sym.SourceAxis, sym.SourceIndex, sym.TargetIndex, pr.Axis, pr.Index)
		}
		if err := c.VerifyRecoverySymbol(md, sym); err != nil {
			return fmt.Errorf("%w: symbol %d: %w", ErrInvalidInconsistencyProof, i, err)
		}
		if seen[sym.SourceIndex] {
			return fmt.Errorf("%w: two symbols from %s sliver %d", ErrInvalidInconsistencyProof, sym.SourceAxis, sym.SourceIndex)
		}
		seen[sym.SourceIndex] = true
	}
	_, err := c.RecoverSliver(md, pr.Axis, int(pr.Index), pr.Symbols)
	switch {
	case err == nil:
		return fmt.Errorf("%w: the symbols decode to %s sliver %d as the metadata commits to it", ErrInvalidInconsistencyProof, pr.Axis, pr.Index)
	case errors.Is(err, ErrInconsistentBlob):
		return nil
	default:
		return fmt.Errorf("%w: %w", ErrInvalidInconsistencyProof, err)
	}
}

// NewInconsistencyProof builds a proof that the blob md describes is
// inconsistent from recovery symbols for target sliver (axis, index) that
// together fail to rebuild it (RecoverSliver's ErrInconsistentBlob). It
// keeps the symbols that verify, one per source sliver, and picks a set of
// exactly ProofSymbols(axis) of them that decodes to a sliver other than the
// committed one. Such a set exists whenever the verified symbols do not all
// lie on the committed sliver's expansion; if they do, or there are too
// few, the error matches ErrInvalidInconsistencyProof (or ErrTooFewSymbols).
// The proof's symbols alias the given ones.
func (c *Codec) NewInconsistencyProof(md *Metadata, axis Axis, index int, symbols []RecoverySymbol) (*InconsistencyProof, error) {
	p := c.p
	if axis > Secondary || index < 0 || index >= p.N {
		return nil, fmt.Errorf("%w: %s sliver %d out of range", ErrInvalidSliver, axis, index)
	}
	byPos := make([]*RecoverySymbol, p.N)
	for i := range symbols {
		sym := &symbols[i]
		if sym.SourceAxis != axis.Other() || int(sym.TargetIndex) != index || int(sym.SourceIndex) >= p.N || byPos[sym.SourceIndex] != nil {
			continue
		}
		if c.VerifyRecoverySymbol(md, sym) == nil {
			byPos[sym.SourceIndex] = sym
		}
	}
	var valid []RecoverySymbol
	for _, s := range byPos {
		if s != nil {
			valid = append(valid, *s)
		}
	}
	need := p.ProofSymbols(axis)
	if len(valid) < need {
		return nil, fmt.Errorf("%w: %d verified symbols for %s sliver %d, a proof needs %d", ErrTooFewSymbols, len(valid), axis, index, need)
	}
	pr := &InconsistencyProof{Axis: axis, Index: uint16(index), Symbols: slices.Clone(valid[:need])}
	sl, err := c.RecoverSliver(md, axis, index, pr.Symbols)
	if errors.Is(err, ErrInconsistentBlob) {
		return pr, nil
	}
	if err != nil {
		return nil, err
	}
	// The first set decodes to the committed sliver: some other verified
	// symbol lies off its expansion (or the blob is consistent as far as
	// these symbols tell). Swapping it in for one of the set gives a set
	// that decodes to another codeword, whose data differs.
	ws := getScratch()
	defer putScratch(ws)
	parity, err := c.expandSliver(ws, sl)
	if err != nil {
		return nil, err
	}
	s := int(sl.SymbolSize)
	for _, sym := range valid[need:] {
		k := int(sym.SourceIndex)
		var want []byte
		if k < need {
			want = sl.Symbol(k)
		} else {
			want = parity[(k-need)*s : (k-need+1)*s]
		}
		if bytes.Equal(want, sym.Data) {
			continue
		}
		pr.Symbols[need-1] = sym
		if err := c.VerifyInconsistencyProof(md, pr); err != nil {
			return nil, err
		}
		return pr, nil
	}
	return nil, fmt.Errorf("%w: every verified symbol lies on %s sliver %d as committed", ErrInvalidInconsistencyProof, axis, index)
}
