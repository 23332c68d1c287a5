package p2p

import (
	"context"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
)

// Symbol reads (symbols/get, ours): a reader asks the holder of one sliver
// for some symbols of its expansion, each with its Merkle proof against the
// sliver's hash in the metadata, instead of the whole sliver. A range read
// of a large blob asks the node holding a row for the symbols that cover the
// range: a 1 MB range of a 140 MB blob moves about 1 MB, not the 4.1 MB row.
//
//	request   blob ID ‖ axis u8 ‖ index u16 ‖ vector<u16> positions   (distinct, 1 to MaxSymbolsPerRequest)
//	response  Result<vector<RecoverySymbol>, Error>: one symbol per position, in the request's order
//
// The symbols are recovery symbols (encoding.RecoverySymbol) whose source is
// the sliver asked for and whose target index is the position: symbol j of
// primary sliver i is E[i][j], which for j < cols is the blob's own bytes.

// MaxSymbolsPerRequest caps the positions of one symbols/get request: every
// position of a sliver's expansion in the largest network. The response is
// capped at MaxRecoveryFrameSize as well.
const MaxSymbolsPerRequest = encoding.MaxShards

// SymbolHandler serves symbols/get. It is optional: a Server serves the
// protocol if and only if its Handler implements it.
type SymbolHandler interface {
	// GetSymbols returns, for each position (distinct, in order), the
	// symbol at that position of the expansion of sliver (axis, index) of
	// blob id, with its Merkle proof against the sliver's hash. The Server
	// checks that the symbols answer the request, and refuses with
	// ErrTooLarge a response over MaxRecoveryFrameSize.
	GetSymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16, positions []uint16) ([]encoding.RecoverySymbol, error)
}

// symbolsRequest is the request of symbols/get.
type symbolsRequest struct {
	BlobID    encoding.BlobID
	Axis      uint8
	Index     uint16
	Positions bcsVec[uint16]
}

func (r *symbolsRequest) validate() error {
	if r.Axis > uint8(encoding.Secondary) {
		return fmt.Errorf("%w: axis %d", ErrMalformed, r.Axis)
	}
	return nil
}

// checkSliverSymbols checks that syms answer a symbols/get request: one per
// position, in order, each from sliver (axis, index) and of symbolSize bytes
// (unless symbolSize is 0).
func checkSliverSymbols(syms []encoding.RecoverySymbol, axis encoding.Axis, index uint16, positions []uint16, symbolSize int) error {
	if len(syms) != len(positions) {
		return fmt.Errorf("%d symbols for %d positions", len(syms), len(positions))
	}
	for k := range syms {
		s := &syms[k]
		switch {
		case s.SourceAxis != axis || s.SourceIndex != index:
			return fmt.Errorf("symbol %d comes from %s sliver %d, not %s sliver %d", k, s.SourceAxis, s.SourceIndex, axis, index)
		case s.TargetIndex != positions[k]:
			return fmt.Errorf("symbol %d is at position %d, not %d", k, s.TargetIndex, positions[k])
		case symbolSize > 0 && len(s.Data) != symbolSize:
			return fmt.Errorf("symbol %d is %d bytes, the blob's are %d", k, len(s.Data), symbolSize)
		}
	}
	return nil
}

func (s *Server) serveSymbols(ctx context.Context, st *serverStream) error {
	h, ok := s.handler.(SymbolHandler)
	if !ok {
		return st.respondErr(fmt.Errorf("%w: the node does not serve symbols", ErrNotFound))
	}
	var req symbolsRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error {
		if err := decodeBCS(b, &req); err != nil {
			return err
		}
		return req.validate()
	}); answered || err != nil {
		return err
	}
	if err := checkIndices(req.Positions, MaxSymbolsPerRequest); err != nil {
		return st.respondErr(err)
	}
	axis := encoding.Axis(req.Axis)
	syms, err := call(st.log, func() ([]encoding.RecoverySymbol, error) {
		return h.GetSymbols(ctx, req.BlobID, axis, req.Index, slices.Clone(req.Positions))
	})
	if err == nil {
		err = checkSliverSymbols(syms, axis, req.Index, req.Positions, 0)
	}
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	return st.respondSymbols(syms)
}

// GetSymbols asks p for the symbols at positions (distinct, at most
// MaxSymbolsPerRequest) of the expansion of sliver (axis, index) of blob
// id, each with its Merkle proof against that sliver's hash. symbolSize is
// the blob's symbol size: an answer longer than len(positions) symbols of
// that size with their proofs is refused before it is allocated
// (ErrProtocol and ErrFrameTooLarge). It checks that the answer holds one
// symbol per position, in order, from that sliver and of that size
// (ErrProtocol otherwise); verifying the proofs against the metadata is the
// caller's (encoding.Codec.VerifyRecoverySymbol).
func (c *Client) GetSymbols(ctx context.Context, p peer.ID, id encoding.BlobID, axis encoding.Axis, index uint16,
	positions []uint16, symbolSize int) ([]encoding.RecoverySymbol, error) {
	if err := checkIndices(positions, MaxSymbolsPerRequest); err != nil {
		return nil, &RequestError{Peer: p, Protocol: ProtocolSymbolsGet, Err: err}
	}
	if axis > encoding.Secondary || symbolSize <= 0 || symbolSize > encoding.MaxSymbolSize {
		return nil, &RequestError{Peer: p, Protocol: ProtocolSymbolsGet,
			Err: fmt.Errorf("%w: %s symbols of %d bytes", ErrInvalid, axis, symbolSize)}
	}
	req := encodeBCS(&symbolsRequest{BlobID: id, Axis: uint8(axis), Index: index, Positions: slices.Clone(positions)})
	var out []encoding.RecoverySymbol
	err := c.exchange(ctx, p, ProtocolSymbolsGet, writeRequest(req), func(f *frameReader) error {
		syms, err := readSymbols(f, min(MaxRecoveryFrameSize, max(recoveryResponseLen(len(positions), symbolSize), maxErrorFrameLen)))
		if err != nil {
			return err
		}
		out = syms
		if err := checkSliverSymbols(out, axis, index, positions, symbolSize); err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
