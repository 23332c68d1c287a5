package p2p

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

// Storage challenges (challenge/get, DESIGN.md §7): a committee member asks
// another for its answers to the epoch's storage challenges of the shards
// it holds, all in one request. Both sides derive the challenges from the
// chain (package proofs), so the request names only the epoch and the
// shards; the prover answers each shard with the response it computed once
// for the epoch, and the challenger verifies it against its own metadata.
//
//	request   epoch u32 ‖ vector<u16> shards        (distinct, 1 to MaxChallengeShards)
//	response  one frame per shard, in the request's order:
//	          0x00 ‖ response     (proofs.Response's BCS form, to the end of the frame)
//	        | 0x01 ‖ Error        (the same bytes as every error response)
//
// A response's size is fixed by its challenge and the challenger's metadata
// (proofs.Shape.MaxSize), so the challenger caps each frame at it before
// reading: a lying prover cannot make it hold more than an honest answer.

// Limits of challenge/get.
const (
	// MaxChallengeFrameSize caps one frame of a challenge/get response: the
	// response of one shard, SampleCount symbols of at most
	// encoding.MaxSymbolSize bytes with proofs of encoding.MaxProofLen
	// nodes (30.3 MB), and its tag. A Server refuses to send a larger one.
	MaxChallengeFrameSize = 32 << 20

	// MaxChallengeShards caps the shards of one challenge/get request: every
	// shard of the largest network.
	MaxChallengeShards = encoding.MaxShards
)

// Tags of a challenge/get response frame (a BCS Result).
const (
	challengeTagOK  = 0
	challengeTagErr = 1
)

// ChallengeRequest asks a node for its answers to the storage challenges of
// its shards in an epoch (challenge/get).
type ChallengeRequest struct {
	// Epoch is the epoch of the challenges: the current one.
	Epoch uint32
	// Shards are the shards to answer for (distinct): the shards the node
	// holds in Epoch's committee.
	Shards []uint16
}

// challengeRequest is ChallengeRequest's wire form.
type challengeRequest struct {
	Epoch  uint32
	Shards bcsVec[uint16]
}

func (r *ChallengeRequest) validate() error {
	return checkIndices(r.Shards, MaxChallengeShards)
}

// ChallengeHandler serves challenge/get. It is optional: a Server serves the
// protocol if and only if its Handler implements it.
type ChallengeHandler interface {
	// ChallengeResponse returns the node's answer to its storage challenge
	// of shard in epoch: the BCS form of a proofs.Response. The node
	// derives and proves its own challenges (once per epoch and shard, see
	// package proofs) and serves the same bytes to every challenger
	// (RemotePeer tells who asks). The Server calls it once per requested
	// shard, in order, and writes each answer out before it asks for the
	// next; an error is reported for that shard only (ErrBusy for an answer
	// not ready yet, ErrNotAssigned for a shard the node does not hold in
	// epoch). The Server does not modify or retain the bytes.
	ChallengeResponse(ctx context.Context, epoch uint32, shard uint16) ([]byte, error)
}

// decodeChallengeFrame decodes a frame of a challenge/get response: the
// response's bytes (aliasing b) or the peer's error.
func decodeChallengeFrame(b []byte) ([]byte, *RemoteError, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: empty challenge frame", ErrMalformed)
	}
	switch b[0] {
	case challengeTagOK:
		return b[1:], nil, nil
	case challengeTagErr:
		var e wireError
		if err := decodeBCS(b[1:], &e); err != nil {
			return nil, nil, err
		}
		if err := e.validate(); err != nil {
			return nil, nil, err
		}
		return nil, e.remote(), nil
	}
	return nil, nil, fmt.Errorf("%w: challenge frame tag %d", ErrMalformed, b[0])
}

// decodeChallengeRequest decodes and checks a challenge/get request.
func decodeChallengeRequest(b []byte) (ChallengeRequest, error) {
	var w challengeRequest
	if err := decodeBCS(b, &w); err != nil {
		return ChallengeRequest{}, err
	}
	return ChallengeRequest{Epoch: w.Epoch, Shards: []uint16(w.Shards)}, nil
}

func encodeChallengeRequest(r *ChallengeRequest) []byte {
	return encodeBCS(&challengeRequest{Epoch: r.Epoch, Shards: bcsVec[uint16](r.Shards)})
}

func (s *Server) serveChallenge(ctx context.Context, st *serverStream) error {
	h, ok := s.handler.(ChallengeHandler)
	if !ok {
		return st.respondErr(fmt.Errorf("%w: the node does not serve storage challenges", ErrNotFound))
	}
	var req ChallengeRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) (err error) {
		req, err = decodeChallengeRequest(b)
		return err
	}); answered || err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return st.respondErr(err)
	}
	st.frames.release()
	for _, shard := range req.Shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := call(st.log, func() ([]byte, error) { return h.ChallengeResponse(ctx, req.Epoch, shard) })
		if err == nil && 1+len(resp) > MaxChallengeFrameSize {
			err = fmt.Errorf("%w: challenge response of shard %d is %d bytes, max frame %d", ErrTooLarge, shard, len(resp), MaxChallengeFrameSize)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			if err := writeFrame(st.w, encodeErr(wireErrorFor(handlerErr(st.log, err), MaxErrorMessageLen))); err != nil {
				return err
			}
			continue
		}
		head := append(appendFrameLen(make([]byte, 0, bcs.MaxULEB128Len+1), 1+len(resp)), challengeTagOK)
		if _, err := st.w.Write(head); err != nil {
			return err
		}
		if _, err := st.w.Write(resp); err != nil {
			return err
		}
	}
	return st.w.Flush()
}

// GetChallengeResponses asks p for its answers to the storage challenges of
// req.Shards in req.Epoch (challenge/get) and calls fn for each shard as its
// answer arrives, in the request's order: with the response's bytes, or
// with the peer's error for that shard (a *RemoteError matching ErrBusy,
// ErrNotAssigned, ...). maxSizes[i] is the most the answer of req.Shards[i]
// may take, known from its challenge (proofs.Shape.MaxSize): a longer frame
// is refused from its length prefix, before it is allocated (ErrProtocol
// and ErrFrameTooLarge).
//
// The bytes given to fn are only valid during the call. If fn returns an
// error, GetChallengeResponses stops and returns it as is. Judging the
// responses is the caller's (proofs.Expectation.Verify).
func (c *Client) GetChallengeResponses(ctx context.Context, p peer.ID, req ChallengeRequest, maxSizes []int,
	fn func(i int, resp []byte, rerr *RemoteError) error) error {
	fail := func(err error) error { return &RequestError{Peer: p, Protocol: ProtocolChallengeGet, Err: err} }
	if err := req.validate(); err != nil {
		return fail(err)
	}
	if len(maxSizes) != len(req.Shards) {
		return fail(fmt.Errorf("%w: %d response sizes for %d shards", ErrInvalid, len(maxSizes), len(req.Shards)))
	}
	caps := make([]int, len(maxSizes))
	for i, m := range maxSizes {
		if m <= 0 || 1+m > MaxChallengeFrameSize {
			return fail(fmt.Errorf("%w: a challenge response of %d bytes (a frame of at most %d)", ErrInvalid, m, MaxChallengeFrameSize))
		}
		caps[i] = max(1+m, maxErrorFrameLen)
	}
	req.Shards = slices.Clone(req.Shards)
	var fnErr error
	err := c.exchange(ctx, p, ProtocolChallengeGet, writeRequest(encodeChallengeRequest(&req)), func(f *frameReader) error {
		for i := range req.Shards {
			b, err := f.next(caps[i], true)
			if err != nil {
				return err
			}
			resp, rerr, err := decodeChallengeFrame(b)
			if err != nil {
				return err
			}
			if err := fn(i, resp, rerr); err != nil {
				fnErr = err
				return err
			}
		}
		// Nothing may follow the last answer.
		if _, err := f.r.ReadByte(); err != io.EOF {
			if err == nil {
				return fmt.Errorf("%w: bytes after the last challenge answer", ErrProtocol)
			}
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}
