package faults

import (
	"context"
	"fmt"
	"slices"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// GetSymbols implements p2p.SymbolHandler, forwarding to the node's handler
// (ErrNotFound if it does not serve symbols). It counts as a sliver
// operation for delays. Forget answers that the node has no such sliver;
// LieSlivers and LieSymbols flip the symbols' data bytes (their proofs
// unchanged), LieProofs corrupts their proofs.
func (h *Handler) GetSymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16, positions []uint16) ([]encoding.RecoverySymbol, error) {
	h.SymbolRequests.Add(1)
	b, err := h.enter(ctx, id, OpSlivers)
	if err != nil {
		return nil, err
	}
	inner, ok := h.next().(p2p.SymbolHandler)
	if !ok || b == Forget {
		return nil, fmt.Errorf("%w: %s sliver %d of blob %s", p2p.ErrNotFound, axis, index, id)
	}
	syms, err := inner.GetSymbols(ctx, id, axis, index, positions)
	if err != nil || (b != LieSlivers && b != LieSymbols && b != LieProofs) {
		return syms, err
	}
	out := make([]encoding.RecoverySymbol, len(syms))
	for i, s := range syms {
		if b == LieProofs {
			s.Proof = slices.Clone(s.Proof)
			if len(s.Proof) > 0 {
				s.Proof[0][0] ^= 0xff
			} else {
				s.Proof = append(s.Proof, encoding.Hash{0xff})
			}
		} else {
			s.Data = slices.Clone(s.Data)
			for k := range s.Data {
				s.Data[k] ^= 0x3c
			}
		}
		out[i] = s
	}
	return out, nil
}

// ServeSymbols sets whether the node serves symbols/get, from its next
// start on (Middleware decides it): a node that does not is one of a
// version before symbol reads, whose readers must fall back to whole
// slivers. Nodes serve it by default.
func (h *Handler) ServeSymbols(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.noSymbols = !on
}

// withoutSymbols is a Handler without its GetSymbols: the Server then does
// not serve symbols/get.
type withoutSymbols struct {
	p2p.Handler
	p2p.ChallengeHandler
	p2p.ShardSyncHandler
	p2p.InconsistencyHandler
}

var _ p2p.SymbolHandler = (*Handler)(nil)
