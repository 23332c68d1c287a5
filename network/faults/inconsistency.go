package faults

import (
	"context"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// AcceptInconsistency implements p2p.InconsistencyHandler, forwarding to the
// node's handler. Attestations are signed answers, so OpConfirmation's
// delays and the behaviors that act on entry (Silent, Refuse) apply to them.
func (h *Handler) AcceptInconsistency(ctx context.Context, req p2p.InconsistencyRequest) error {
	if _, err := h.enter(ctx, req.BlobID, OpConfirmation); err != nil {
		return err
	}
	inner, ok := h.next().(p2p.InconsistencyHandler)
	if !ok {
		return fmt.Errorf("%w: the node verifies no inconsistency proofs", p2p.ErrNotFound)
	}
	return inner.AcceptInconsistency(ctx, req)
}

// AttestInconsistency implements p2p.InconsistencyHandler, forwarding to the
// node's handler. ForgeSignature signs the attestation with a key that is
// not the node's; WrongMessage attests another blob ID.
func (h *Handler) AttestInconsistency(ctx context.Context, req p2p.InconsistencyRequest, pr *encoding.InconsistencyProof) (p2p.Attestation, error) {
	b, _ := h.state(req.BlobID, OpConfirmation)
	inner, ok := h.next().(p2p.InconsistencyHandler)
	if !ok {
		return p2p.Attestation{}, fmt.Errorf("%w: the node verifies no inconsistency proofs", p2p.ErrNotFound)
	}
	a, err := inner.AttestInconsistency(ctx, req, pr)
	if err != nil {
		return a, err
	}
	h.Attestations.Add(1)
	switch b {
	case ForgeSignature:
		sig := h.forger().Sign(a.Message)
		a.Signature = sig[:]
	case WrongMessage:
		if len(a.Message) > 0 {
			a.Message = append([]byte(nil), a.Message...)
			a.Message[len(a.Message)-1] ^= 1
		}
	}
	return a, nil
}

var _ p2p.InconsistencyHandler = (*Handler)(nil)
