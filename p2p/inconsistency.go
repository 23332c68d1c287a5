package p2p

import (
	"bufio"
	"context"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/walrus-go/walrus/encoding"
)

// Inconsistency proofs (inconsistency/put): a node that finds, while
// recovering, that a blob's slivers are not one codeword sends the proof
// (encoding.InconsistencyProof) to the other committee members; each
// verifies it against the blob's metadata and answers with its signed
// invalid-blob attestation (DESIGN.md §3, intent 2), which the sender
// aggregates into a certificate for the chain. Walrus's nodes do the same
// over HTTP (PUT /v1/blobs/{id}/inconsistent/{axis}).
//
//	request   frame 1: InconsistencyRequest (≤ MaxRequestFrameSize)
//	          frame 2: vector<RecoverySymbol> of exactly Count symbols of SymbolSize bytes
//	                   (≤ InconsistencyFrameLen(Count, SymbolSize) ≤ MaxInconsistencyFrameSize)
//	response  Result<Attestation>: Attestation = vector<u8> message ‖ vector<u8> signature
//
// The symbols' frame is read only after the handler has accepted the header
// (it knows the blob, its symbol size and how many symbols a proof takes,
// and has a verification slot): a peer cannot make a node hold more than
// that blob's proof, and at most MaxInconsistencyProofsInFlight proofs are
// held at once per Server (MaxInconsistencyProofsPerPeer per peer).

// ProtocolInconsistencyPut carries inconsistency proofs. A Server serves it
// when its Handler is an InconsistencyHandler.
const ProtocolInconsistencyPut protocol.ID = "/walrus/inconsistency/put/1.0.0"

// Limits of inconsistency/put.
const (
	// MaxInconsistencyFrameSize caps the symbols frame of a request: a
	// primary proof holds cols symbols of up to 65,534 bytes with their
	// proofs, 44 MB at n = 1,000 for a blob of the maximum size. A node
	// sends a secondary proof (rows symbols, half that) when it can.
	MaxInconsistencyFrameSize = 64 << 20
	// MaxInconsistencyProofsInFlight bounds the proofs a Server reads and
	// verifies at once; more are answered with ErrBusy.
	MaxInconsistencyProofsInFlight = 4
	// MaxInconsistencyProofsPerPeer bounds them per requesting peer.
	MaxInconsistencyProofsPerPeer = 1
)

// InconsistencyRequest is the header of an inconsistency/put request. It is
// also its wire form (BCS, fields in order).
type InconsistencyRequest struct {
	BlobID encoding.BlobID
	// Epoch is the epoch the attestation is asked for: the sender's
	// current epoch, which must be the receiver's.
	Epoch uint32
	// Axis and Index name the sliver the symbols fail to rebuild.
	Axis  uint8
	Index uint16
	// Count and SymbolSize announce the symbols frame: Count symbols of
	// SymbolSize bytes each.
	Count      uint32
	SymbolSize uint32
}

func (r *InconsistencyRequest) validate() error {
	switch {
	case r.Axis > uint8(encoding.Secondary):
		return fmt.Errorf("%w: axis %d", ErrMalformed, r.Axis)
	case r.Index >= encoding.MaxShards:
		return fmt.Errorf("%w: sliver index %d", ErrInvalid, r.Index)
	case r.Count == 0 || r.Count > encoding.MaxShards:
		return fmt.Errorf("%w: %d symbols", ErrInvalid, r.Count)
	case r.SymbolSize == 0 || r.SymbolSize > encoding.MaxSymbolSize || r.SymbolSize%2 != 0:
		return fmt.Errorf("%w: symbol size %d", ErrInvalid, r.SymbolSize)
	case InconsistencyFrameLen(int(r.Count), int(r.SymbolSize)) > MaxInconsistencyFrameSize:
		return fmt.Errorf("%w: %d symbols of %d bytes over MaxInconsistencyFrameSize", ErrTooLarge, r.Count, r.SymbolSize)
	}
	return nil
}

// InconsistencyFrameLen bounds the symbols frame of count symbols of
// symbolSize bytes, with proofs of at most encoding.MaxProofLen nodes.
func InconsistencyFrameLen(count, symbolSize int) int {
	return recoveryResponseLen(count, symbolSize) - 1
}

// Attestation is a node's signed invalid-blob attestation, opaque to this
// package: the signed message (DESIGN.md §3, intent 2) and the node's BLS
// signature over it.
type Attestation struct {
	Message   []byte
	Signature []byte
}

// InconsistencyHandler serves inconsistency/put. It is optional: a Server
// serves the protocol if and only if its Handler implements it.
type InconsistencyHandler interface {
	// AcceptInconsistency checks a request's header before its symbols are
	// read: the node knows the blob's metadata, Epoch is its current epoch,
	// Count is the symbols a proof for Axis takes and SymbolSize the blob's.
	// An error refuses the request (ErrNotFound, ErrInvalid, ErrBusy, ...).
	AcceptInconsistency(ctx context.Context, req InconsistencyRequest) error
	// AttestInconsistency verifies the proof against the blob's metadata
	// and, if it shows the blob inconsistent, returns the node's signed
	// attestation that the blob ID is invalid in req.Epoch; otherwise
	// ErrInvalid. The Server has checked that the proof's symbols match the
	// header (count, size, axis, target). The proof's data is only valid
	// during the call.
	AttestInconsistency(ctx context.Context, req InconsistencyRequest, proof *encoding.InconsistencyProof) (Attestation, error)
}

// proofSlots bounds the inconsistency proofs a Server holds, in total and
// per peer. Its zero value is ready to use.
type proofSlots struct {
	mu      sync.Mutex
	total   int
	perPeer map[peer.ID]int
}

func (s *proofSlots) take(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perPeer == nil {
		s.perPeer = make(map[peer.ID]int)
	}
	if s.total >= MaxInconsistencyProofsInFlight || s.perPeer[p] >= MaxInconsistencyProofsPerPeer {
		return false
	}
	s.total++
	s.perPeer[p]++
	return true
}

func (s *proofSlots) give(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.perPeer[p]--; s.perPeer[p] <= 0 {
		delete(s.perPeer, p)
	}
}

// inconsistencySymbols is the wire form of the symbols frame.
type inconsistencySymbols struct {
	Symbols bcsVec[bcsRecoverySymbol]
}

// decodeInconsistencySymbols decodes the symbols frame of req: exactly
// req.Count symbols of req.SymbolSize bytes, from the other axis, for the
// target. Symbol data aliases b.
func decodeInconsistencySymbols(req *InconsistencyRequest, b []byte) (*encoding.InconsistencyProof, error) {
	var w inconsistencySymbols
	if err := decodeBCS(b, &w); err != nil {
		return nil, err
	}
	axis := encoding.Axis(req.Axis)
	pr := &encoding.InconsistencyProof{Axis: axis, Index: req.Index, Symbols: make([]encoding.RecoverySymbol, len(w.Symbols))}
	if len(w.Symbols) != int(req.Count) {
		return nil, fmt.Errorf("%w: %d symbols, the header announced %d", ErrInvalid, len(w.Symbols), req.Count)
	}
	for i := range w.Symbols {
		s := encoding.RecoverySymbol(w.Symbols[i])
		if len(s.Data) != int(req.SymbolSize) || s.SourceAxis != axis.Other() || s.TargetIndex != req.Index {
			return nil, fmt.Errorf("%w: symbol %d (%s sliver %d for target %d, %d bytes) does not fit the header",
				ErrInvalid, i, s.SourceAxis, s.SourceIndex, s.TargetIndex, len(s.Data))
		}
		pr.Symbols[i] = s
	}
	return pr, nil
}

func (s *Server) serveInconsistency(ctx context.Context, st *serverStream) error {
	h := s.handler.(InconsistencyHandler)
	var req InconsistencyRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error {
		if err := decodeBCS(b, &req); err != nil {
			return err
		}
		return req.validate()
	}); answered || err != nil {
		return err
	}
	if !s.proofs.take(st.peer) {
		return st.respondErr(fmt.Errorf("%w: inconsistency proofs in progress (at most %d in all, %d per peer)", ErrBusy, MaxInconsistencyProofsInFlight, MaxInconsistencyProofsPerPeer))
	}
	// The slot is given back before the answer leaves: a peer that has its
	// answer may send its next proof at once.
	payload, refused, err := s.attestInconsistency(ctx, st, h, &req)
	s.proofs.give(st.peer)
	switch {
	case refused != nil:
		return st.respondErr(refused)
	case err != nil:
		return err
	}
	return st.respond(payload)
}

// attestInconsistency reads and judges the proof of req under its slot. It
// returns the answer, or an error to send (refused), or one that ends the
// stream (err).
func (s *Server) attestInconsistency(ctx context.Context, st *serverStream, h InconsistencyHandler, req *InconsistencyRequest) (payload []byte, refused, err error) {
	if _, err := call(st.log, func() (unit, error) { return unit{}, h.AcceptInconsistency(ctx, *req) }); err != nil {
		return nil, handlerErr(st.log, err), nil
	}
	b, err := st.frames.next(InconsistencyFrameLen(int(req.Count), int(req.SymbolSize)), false)
	if err != nil {
		if refusable(err) {
			return nil, err, nil
		}
		return nil, nil, err
	}
	pr, err := decodeInconsistencySymbols(req, b)
	if err != nil {
		return nil, err, nil
	}
	a, err := call(st.log, func() (Attestation, error) { return h.AttestInconsistency(ctx, *req, pr) })
	if err != nil {
		return nil, handlerErr(st.log, err), nil
	}
	payload = encodeOK(&confirmationWire{Message: a.Message, Signature: a.Signature})
	if len(payload) > MaxRequestFrameSize {
		return nil, handlerErr(st.log, fmt.Errorf("attestation of %d bytes over MaxRequestFrameSize", len(payload))), nil
	}
	return payload, nil, nil
}

// InconsistencyPut is an inconsistency/put request, encoded once so that it
// is sent to many peers without a copy each (a proof may weigh tens of
// megabytes). It is immutable and safe for concurrent use.
type InconsistencyPut struct {
	req        InconsistencyRequest
	head, body []byte
}

// NewInconsistencyPut encodes a proof that blob id is inconsistent, asking
// for attestations of epoch. It returns ErrInvalid for a proof without
// symbols or whose symbols differ in size or target, and ErrTooLarge for
// one over MaxInconsistencyFrameSize.
func NewInconsistencyPut(id encoding.BlobID, epoch uint32, pr *encoding.InconsistencyProof) (*InconsistencyPut, error) {
	if len(pr.Symbols) == 0 {
		return nil, fmt.Errorf("%w: a proof without symbols", ErrInvalid)
	}
	req := InconsistencyRequest{BlobID: id, Epoch: epoch, Axis: uint8(pr.Axis), Index: pr.Index,
		Count: uint32(len(pr.Symbols)), SymbolSize: uint32(len(pr.Symbols[0].Data))}
	if err := req.validate(); err != nil {
		return nil, err
	}
	w := inconsistencySymbols{Symbols: make(bcsVec[bcsRecoverySymbol], len(pr.Symbols))}
	for i := range pr.Symbols {
		s := &pr.Symbols[i]
		if len(s.Data) != int(req.SymbolSize) || s.SourceAxis != pr.Axis.Other() || s.TargetIndex != pr.Index {
			return nil, fmt.Errorf("%w: symbol %d does not fit the proof", ErrInvalid, i)
		}
		w.Symbols[i] = bcsRecoverySymbol(*s)
	}
	return &InconsistencyPut{req: req, head: encodeBCS(&req), body: encodeBCS(&w)}, nil
}

// PutInconsistencyProof sends p an inconsistency proof for blob id and asks
// for its attestation that the blob ID is invalid in epoch
// (NewInconsistencyPut, then PutInconsistency).
func (c *Client) PutInconsistencyProof(ctx context.Context, p peer.ID, id encoding.BlobID, epoch uint32,
	pr *encoding.InconsistencyProof) (Attestation, error) {
	put, err := NewInconsistencyPut(id, epoch, pr)
	if err != nil {
		return Attestation{}, &RequestError{Peer: p, Protocol: ProtocolInconsistencyPut, Err: err}
	}
	return c.PutInconsistency(ctx, p, put)
}

// PutInconsistency sends p an encoded inconsistency proof and returns its
// attestation. The attestation's bytes are not checked here (BLS lives in
// package chain): the caller verifies them against p's key.
func (c *Client) PutInconsistency(ctx context.Context, p peer.ID, put *InconsistencyPut) (Attestation, error) {
	var out Attestation
	err := c.exchange(ctx, p, ProtocolInconsistencyPut, func(bw *bufio.Writer) error {
		if err := writeFrame(bw, put.head); err != nil {
			return err
		}
		return writeFrame(bw, put.body)
	}, func(f *frameReader) error {
		v, err := readResult[confirmationWire](f, MaxRequestFrameSize)
		if err != nil {
			return err
		}
		out = Attestation{Message: v.Message, Signature: v.Signature}
		return nil
	})
	return out, err
}
