package faults

import (
	"bytes"
	"context"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// OpChallenge is challenge/get, for delays. It is not part of OpAll, so
// that a test that slows every data operation of a node does not also make
// it miss its storage challenges; name it to delay those.
const OpChallenge = OpShardSync << 1

// ChallengeResponse implements p2p.ChallengeHandler, forwarding to the
// node's handler (ErrNotFound if it does not serve challenges). Silent,
// Refuse and delays act as for every request; Forget answers that the node
// cannot prove anything (ErrNotFound), as a node that dropped its slivers;
// LieSymbols and LieProofs flip a byte of the last answer's proof, so that
// the response keeps its size and fails verification. The other behaviors
// answer honestly, and so does a behavior set for some blobs only (Set
// with blobs): a response covers many blobs, so it is honest unless the
// behavior applies to all.
func (h *Handler) ChallengeResponse(ctx context.Context, epoch uint32, shard uint16) ([]byte, error) {
	b, err := h.enter(ctx, encoding.BlobID{}, OpChallenge)
	if err != nil {
		return nil, err
	}
	inner, ok := h.next().(p2p.ChallengeHandler)
	if !ok || b == Forget {
		return nil, fmt.Errorf("%w: no answer to the challenge of shard %d in epoch %d", p2p.ErrNotFound, shard, epoch)
	}
	resp, err := inner.ChallengeResponse(ctx, epoch, shard)
	if err != nil || (b != LieSymbols && b != LieProofs) || len(resp) <= 33 {
		return resp, err
	}
	lie := bytes.Clone(resp)
	lie[len(lie)-1] ^= 0x5a
	return lie, nil
}

var _ p2p.ChallengeHandler = (*Handler)(nil)
