package encoding

import (
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/encoding/bcs"
)

// Axis says whether a sliver is a row (primary) or a column (secondary) of the
// expanded matrix.
type Axis uint8

// The two sliver axes. Their values are part of the wire format of this
// project's protocols.
const (
	Primary   Axis = 0
	Secondary Axis = 1
)

func (a Axis) String() string {
	switch a {
	case Primary:
		return "primary"
	case Secondary:
		return "secondary"
	}
	return fmt.Sprintf("axis(%d)", uint8(a))
}

// Other returns the other axis.
func (a Axis) Other() Axis { return a ^ 1 }

// Errors of sliver decoding and verification.
var (
	// ErrInvalidSliver is returned for a sliver whose shape does not fit the
	// metadata (size, symbol size, index) or whose hash does not match.
	ErrInvalidSliver = errors.New("encoding: invalid sliver")
)

// Sliver is one row (primary) or column (secondary) of a blob's expanded
// matrix, cut to its source symbols: a primary sliver holds cols symbols, a
// secondary sliver rows symbols. Data is the symbols concatenated.
//
// Its BCS form is Walrus's SliverData:
//
//	ULEB128(len(Data)) ‖ Data ‖ symbol size u16 LE ‖ index u16 LE
//
// The axis is not part of it; it is known from context.
type Sliver struct {
	Axis       Axis
	Index      uint16
	SymbolSize uint16
	Data       []byte
}

// Symbol returns symbol k of the sliver. It aliases s.Data.
func (s *Sliver) Symbol(k int) []byte {
	sz := int(s.SymbolSize)
	return s.Data[k*sz : (k+1)*sz : (k+1)*sz]
}

// NumSymbols is the number of symbols the sliver holds.
func (s *Sliver) NumSymbols() int {
	if s.SymbolSize == 0 {
		return 0
	}
	return len(s.Data) / int(s.SymbolSize)
}

// BCSSize is the length of the sliver's BCS form.
func (s *Sliver) BCSSize() int { return bcs.LengthLen(len(s.Data)) + len(s.Data) + 4 }

// MarshalBCS returns the sliver's BCS form.
func (s *Sliver) MarshalBCS() []byte { return s.AppendBCS(make([]byte, 0, s.BCSSize())) }

// AppendBCS appends the sliver's BCS form to b.
func (s *Sliver) AppendBCS(b []byte) []byte {
	b = bcs.AppendBytes(b, s.Data)
	b = bcs.AppendU16(b, s.SymbolSize)
	return bcs.AppendU16(b, s.Index)
}

// UnmarshalSliver decodes a sliver of the given axis from its BCS form. The
// result's Data aliases b. It checks the layout only (a non-zero even symbol
// size that divides the data); CheckShape and Verify check it against
// parameters and metadata.
func UnmarshalSliver(axis Axis, b []byte) (Sliver, error) {
	r := bcs.NewReader(b)
	s := Sliver{Axis: axis, Data: r.Bytes("sliver data", bcs.MaxSequenceLength)}
	s.SymbolSize = r.U16("symbol size")
	s.Index = r.U16("sliver index")
	if err := r.Done(); err != nil {
		return Sliver{}, malformed(err)
	}
	if s.SymbolSize == 0 || s.SymbolSize%2 != 0 || len(s.Data)%int(s.SymbolSize) != 0 {
		return Sliver{}, fmt.Errorf("%w: %d bytes of data with symbol size %d", ErrMalformed, len(s.Data), s.SymbolSize)
	}
	return s, nil
}

// CheckShape checks that the sliver has the index range, symbol size and
// symbol count that metadata md implies for parameters p.
func (s *Sliver) CheckShape(p Params, md *Metadata) error {
	sz, err := p.SymbolSize(md.UnencodedLength)
	if err != nil {
		return err
	}
	want := p.Cols
	if s.Axis == Secondary {
		want = p.Rows
	}
	switch {
	case int(s.Index) >= p.N:
		return fmt.Errorf("%w: %s sliver index %d, n = %d", ErrInvalidSliver, s.Axis, s.Index, p.N)
	case int(s.SymbolSize) != sz:
		return fmt.Errorf("%w: %s sliver %d: symbol size %d, want %d", ErrInvalidSliver, s.Axis, s.Index, s.SymbolSize, sz)
	case len(s.Data) != want*sz:
		return fmt.Errorf("%w: %s sliver %d: %d bytes, want %d", ErrInvalidSliver, s.Axis, s.Index, len(s.Data), want*sz)
	}
	return nil
}

// SliverPair is what one shard stores for a blob: primary sliver i and
// secondary sliver n−1−i.
type SliverPair struct {
	Primary, Secondary Sliver
}

// PairIndex is the pair index of sliver (axis, index) in a network of n
// shards.
func PairIndex(axis Axis, index, n int) int {
	if axis == Primary {
		return index
	}
	return n - 1 - index
}
