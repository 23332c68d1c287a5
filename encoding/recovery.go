package encoding

import (
	"encoding/binary"
	"errors"
	"fmt"
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
	b = append(b, byte(r.SourceAxis))
	b = binary.LittleEndian.AppendUint16(b, r.SourceIndex)
	b = binary.LittleEndian.AppendUint16(b, r.TargetIndex)
	b = appendULEB128(b, uint64(len(r.Data)))
	b = append(b, r.Data...)
	b = appendULEB128(b, uint64(len(r.Proof)))
	for i := range r.Proof {
		b = append(b, r.Proof[i][:]...)
	}
	return b
}

// MarshalBCS returns the symbol's BCS form.
func (r *RecoverySymbol) MarshalBCS() []byte { return r.AppendBCS(nil) }

// UnmarshalRecoverySymbol decodes a recovery symbol. Data aliases b.
func UnmarshalRecoverySymbol(b []byte) (RecoverySymbol, error) {
	rd := bcsReader{b: b}
	var r RecoverySymbol
	r, err := readRecoverySymbol(&rd)
	if err != nil {
		return RecoverySymbol{}, err
	}
	if err := rd.done("recovery symbol"); err != nil {
		return RecoverySymbol{}, err
	}
	return r, nil
}

func readRecoverySymbol(rd *bcsReader) (RecoverySymbol, error) {
	var r RecoverySymbol
	axis := rd.u8("source axis")
	if rd.err == nil && axis > uint8(Secondary) {
		return r, fmt.Errorf("%w: axis %d", ErrMalformed, axis)
	}
	r.SourceAxis = Axis(axis)
	r.SourceIndex = rd.u16("source index")
	r.TargetIndex = rd.u16("target index")
	r.Data = rd.bytes(int(rd.uleb("symbol length")), "symbol")
	np := rd.uleb("proof length")
	if rd.err == nil && np > MaxProofLen {
		return r, fmt.Errorf("%w: proof of %d nodes", ErrMalformed, np)
	}
	for range np {
		var h Hash
		copy(h[:], rd.bytes(32, "proof node"))
		r.Proof = append(r.Proof, h)
	}
	if rd.err == nil && (len(r.Data) == 0 || len(r.Data)%2 != 0 || len(r.Data) > MaxSymbolSize) {
		return r, fmt.Errorf("%w: symbol of %d bytes", ErrMalformed, len(r.Data))
	}
	return r, rd.err
}
