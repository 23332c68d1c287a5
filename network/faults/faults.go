// Package faults makes real parts misbehave, for tests: a decorator around a
// storage node's protocol handler (p2p.Handler) that can go silent, be slow,
// refuse, forget, or lie in each way a Byzantine node can; and a file system
// around a node's real one that fails reads or writes on demand.
//
// Nothing here re-implements a part: a Handler forwards every request to the
// real node's handler and changes only what the chosen behavior changes, so
// the node behind it keeps its real rules (registration checks, verification,
// bounds). A test network (package network) wraps every node in a Handler;
// production nodes never use this package.
package faults

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// Behavior is how a wrapped node misbehaves.
type Behavior uint8

// The behaviors. Each lie keeps the shape of a valid answer (so that the
// requester must verify to notice) and changes its content.
const (
	// Honest forwards every request unchanged.
	Honest Behavior = iota
	// Silent takes every request and never answers: each call blocks until
	// its stream's deadline (or the server closing).
	Silent
	// Refuse answers every request with p2p.ErrBusy.
	Refuse
	// LieSlivers serves primary and secondary slivers with flipped bytes
	// (the right length, the wrong hash), over sliver/get and shard sync.
	LieSlivers
	// LieSymbols serves recovery symbols with flipped data bytes and their
	// original proofs.
	LieSymbols
	// LieProofs serves recovery symbols with the right data and corrupted
	// Merkle proofs.
	LieProofs
	// LieMetadata serves metadata with one sliver hash changed, so that it
	// no longer hashes to its blob ID, over metadata/get and shard sync.
	LieMetadata
	// ForgeSignature signs confirmations with a key that is not the node's.
	ForgeSignature
	// WrongMessage signs, with the node's own key, a confirmation of
	// another blob ID.
	WrongMessage
	// LieStatus reports every blob as certified with every sliver stored
	// and no metadata missing, whatever the node holds.
	LieStatus
	// Forget answers as if the node stored nothing: metadata and slivers are
	// not found, puts are dropped after verification, and no confirmation
	// is signed.
	Forget
	// TruncateSync ends every shard-sync response after its first pair,
	// claiming the shard has no more: a truncated stream that the requester
	// cannot tell from a whole one by its frames.
	TruncateSync
)

var behaviorNames = [...]string{"honest", "silent", "refuse", "lie-slivers", "lie-symbols", "lie-proofs",
	"lie-metadata", "forge-signature", "wrong-message", "lie-status", "forget", "truncate-sync"}

// String returns the behavior's name.
func (b Behavior) String() string {
	if int(b) < len(behaviorNames) {
		return behaviorNames[b]
	}
	return fmt.Sprintf("Behavior(%d)", uint8(b))
}

// Behaviors lists every behavior but Honest, for table tests.
func Behaviors() []Behavior {
	out := make([]Behavior, 0, len(behaviorNames)-1)
	for b := Silent; int(b) < len(behaviorNames); b++ {
		out = append(out, b)
	}
	return out
}

// Op is a set of protocol operations, for delays.
type Op uint8

// The operations.
const (
	OpMetadata Op = 1 << iota
	OpSlivers
	OpConfirmation
	OpRecovery
	OpStatus
	OpShardSync
	OpAll = OpMetadata | OpSlivers | OpConfirmation | OpRecovery | OpStatus | OpShardSync
)

// Handler wraps a real node's p2p.Handler. Its zero behavior is Honest. It
// is safe for concurrent use; behaviors and delays change between requests
// at any time.
type Handler struct {
	mu       sync.Mutex
	inner    p2p.Handler
	behavior Behavior
	delay    time.Duration
	delayOps Op
	only     map[encoding.BlobID]bool // nil: the behavior applies to every blob
	forgery  *chain.BLSPrivateKey
	own      *chain.BLSPrivateKey
	// noSymbols hides GetSymbols from the node's Server (ServeSymbols).
	noSymbols bool

	// Counters of requests that reached the handler, by kind.
	MetadataPuts, MetadataGets, SliverPuts, SliversServed, Confirmations, RecoveryRequests, StatusRequests atomic.Int64
	// SymbolRequests counts symbols/get requests.
	SymbolRequests atomic.Int64
	// ShardSyncRequests counts shard-sync requests, ShardSyncPairs the
	// pairs they served.
	ShardSyncRequests, ShardSyncPairs atomic.Int64
	// Attestations counts the invalid-blob attestations the node gave.
	Attestations atomic.Int64
}

// Wrap returns an honest Handler around inner. own is the node's protocol
// key, with which WrongMessage signs its wrong messages (nil: a forged key
// signs them too).
func Wrap(inner p2p.Handler, own *chain.BLSPrivateKey) *Handler {
	return &Handler{inner: inner, own: own}
}

// New returns an honest Handler that wraps nothing yet: Middleware attaches
// it to a node, each time the node starts (node.Deps.Middleware), so that
// one Handler, its behavior and its counters outlive restarts.
func New(own *chain.BLSPrivateKey) *Handler { return &Handler{own: own} }

// Middleware makes h wrap a node's handler; pass it as node.Deps.Middleware.
func (h *Handler) Middleware(inner p2p.Handler) p2p.Handler {
	h.mu.Lock()
	h.inner = inner
	hide := h.noSymbols
	h.mu.Unlock()
	if hide {
		return withoutSymbols{h, h, h, h}
	}
	return h
}

// next is the wrapped handler.
func (h *Handler) next() p2p.Handler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inner
}

// Set makes the handler behave as b from now on, for every blob or, when
// blobs are given, for those only (honest for the others).
func (h *Handler) Set(b Behavior, blobs ...encoding.BlobID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.behavior = b
	h.only = nil
	if len(blobs) > 0 {
		h.only = make(map[encoding.BlobID]bool, len(blobs))
		for _, id := range blobs {
			h.only[id] = true
		}
	}
}

// Behavior returns the current behavior.
func (h *Handler) Behavior() Behavior {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.behavior
}

// SetDelay makes the operations ops wait d before they are served (0
// removes the delay).
func (h *Handler) SetDelay(ops Op, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delay, h.delayOps = d, ops
}

// state returns the behavior for blob id and the delay of op.
func (h *Handler) state(id encoding.BlobID, op Op) (Behavior, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.behavior
	if h.only != nil && !h.only[id] {
		b = Honest
	}
	var d time.Duration
	if h.delayOps&op != 0 {
		d = h.delay
	}
	return b, d
}

// enter applies the behaviors that act before a request is forwarded:
// delays, silence and refusal.
func (h *Handler) enter(ctx context.Context, id encoding.BlobID, op Op) (Behavior, error) {
	b, d := h.state(id, op)
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return b, ctx.Err()
		}
	}
	switch b {
	case Silent:
		<-ctx.Done()
		return b, ctx.Err()
	case Refuse:
		return b, fmt.Errorf("%w: the node refuses every request", p2p.ErrBusy)
	}
	return b, nil
}

// PutMetadata implements p2p.MetadataHandler.
func (h *Handler) PutMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error {
	h.MetadataPuts.Add(1)
	b, err := h.enter(ctx, id, OpMetadata)
	if err != nil {
		return err
	}
	if b == Forget {
		return nil
	}
	return h.next().PutMetadata(ctx, id, md)
}

// GetMetadata implements p2p.MetadataHandler.
func (h *Handler) GetMetadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	h.MetadataGets.Add(1)
	b, err := h.enter(ctx, id, OpMetadata)
	if err != nil {
		return nil, err
	}
	if b == Forget {
		return nil, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, id)
	}
	md, err := h.next().GetMetadata(ctx, id)
	if err != nil || b != LieMetadata {
		return md, err
	}
	lie := *md
	lie.Hashes = slices.Clone(md.Hashes)
	if len(lie.Hashes) > 0 {
		lie.Hashes[0].Primary[0] ^= 0xa5
	}
	return &lie, nil
}

// PutSlivers implements p2p.SliverHandler.
func (h *Handler) PutSlivers(ctx context.Context, id encoding.BlobID, count int) (p2p.SliverSink, error) {
	h.SliverPuts.Add(1)
	b, err := h.enter(ctx, id, OpSlivers)
	if err != nil {
		return nil, err
	}
	sink, err := h.next().PutSlivers(ctx, id, count)
	if err != nil || b != Forget {
		return sink, err
	}
	return dropSink{sink}, nil
}

// dropSink verifies slivers through the real sink and then stores nothing.
type dropSink struct{ inner p2p.SliverSink }

func (d dropSink) PutSliver(ctx context.Context, s encoding.Sliver) error { return nil }
func (d dropSink) Commit(ctx context.Context) error                       { d.inner.Abort(); return nil }
func (d dropSink) Abort()                                                 {}

// GetSliver implements p2p.SliverHandler.
func (h *Handler) GetSliver(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16) (encoding.Sliver, error) {
	b, err := h.enter(ctx, id, OpSlivers)
	if err != nil {
		return encoding.Sliver{}, err
	}
	if b == Forget {
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d of blob %s", p2p.ErrNotFound, axis, index, id)
	}
	sl, err := h.next().GetSliver(ctx, id, axis, index)
	if err != nil {
		return sl, err
	}
	h.SliversServed.Add(1)
	if b == LieSlivers {
		sl.Data = slices.Clone(sl.Data)
		for i := range sl.Data {
			sl.Data[i] ^= 0x5a
		}
	}
	return sl, nil
}

// GetConfirmation implements p2p.ConfirmationHandler.
func (h *Handler) GetConfirmation(ctx context.Context, req p2p.ConfirmationRequest) (p2p.Confirmation, error) {
	b, err := h.enter(ctx, req.BlobID, OpConfirmation)
	if err != nil {
		return p2p.Confirmation{}, err
	}
	if b == Forget {
		return p2p.Confirmation{}, fmt.Errorf("%w: the node lacks the slivers of blob %s", p2p.ErrNotFound, req.BlobID)
	}
	conf, err := h.next().GetConfirmation(ctx, req)
	if err != nil {
		return conf, err
	}
	h.Confirmations.Add(1)
	switch b {
	case ForgeSignature:
		sig := h.forger().Sign(conf.Message)
		conf.Signature = sig[:]
	case WrongMessage:
		bc, perr := chain.ParseBlobCertification(conf.Message)
		if perr != nil {
			return conf, perr
		}
		bc.BlobID[0] ^= 1
		conf.Message = bc.Message()
		key := h.own
		if key == nil {
			key = h.forger()
		}
		sig := key.Sign(conf.Message)
		conf.Signature = sig[:]
	}
	return conf, nil
}

// forger returns the key ForgeSignature signs with, made once.
func (h *Handler) forger() *chain.BLSPrivateKey {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.forgery == nil {
		k, err := chain.GenerateBLSKey(nil)
		if err != nil {
			panic(err) // crypto/rand failed
		}
		h.forgery = k
	}
	return h.forgery
}

// GetRecoverySymbols implements p2p.RecoveryHandler.
func (h *Handler) GetRecoverySymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, indices []uint16) ([]encoding.RecoverySymbol, error) {
	h.RecoveryRequests.Add(1)
	b, err := h.enter(ctx, id, OpRecovery)
	if err != nil {
		return nil, err
	}
	if b == Forget {
		return nil, fmt.Errorf("%w: the node stores no slivers of blob %s", p2p.ErrNotFound, id)
	}
	syms, err := h.next().GetRecoverySymbols(ctx, id, axis, indices)
	if err != nil || (b != LieSymbols && b != LieProofs) {
		return syms, err
	}
	out := make([]encoding.RecoverySymbol, len(syms))
	for i, s := range syms {
		switch b {
		case LieSymbols:
			s.Data = slices.Clone(s.Data)
			for k := range s.Data {
				s.Data[k] ^= 0x3c
			}
		case LieProofs:
			s.Proof = slices.Clone(s.Proof)
			if len(s.Proof) > 0 {
				s.Proof[0][0] ^= 0xff
			} else {
				s.Proof = append(s.Proof, encoding.Hash{0xff})
			}
		}
		out[i] = s
	}
	return out, nil
}

// GetStatus implements p2p.StatusHandler.
func (h *Handler) GetStatus(ctx context.Context, id encoding.BlobID) (p2p.BlobStatus, error) {
	h.StatusRequests.Add(1)
	b, err := h.enter(ctx, id, OpStatus)
	if err != nil {
		return p2p.BlobStatus{}, err
	}
	st, err := h.next().GetStatus(ctx, id)
	if err != nil {
		return st, err
	}
	switch b {
	case LieStatus:
		st.State = p2p.BlobCertified
		st.HasMetadata = true
		st.StoredSlivers = 2 * st.Shards
		st.EndEpoch = st.Epoch + 1000
	case Forget:
		st.HasMetadata = false
		st.StoredSlivers = 0
	}
	return st, nil
}

// SyncShard implements p2p.ShardSyncHandler, forwarding to the node's
// handler (ErrNotFound if it does not serve shard sync).
func (h *Handler) SyncShard(ctx context.Context, req p2p.ShardSyncRequest, send func(*p2p.ShardSyncPair) (bool, error)) (p2p.ShardSyncEnd, error) {
	h.ShardSyncRequests.Add(1)
	b, err := h.enter(ctx, encoding.BlobID{}, OpShardSync)
	if err != nil {
		return p2p.ShardSyncEnd{}, err
	}
	inner, ok := h.next().(p2p.ShardSyncHandler)
	if !ok || b == Forget {
		return p2p.ShardSyncEnd{}, fmt.Errorf("%w: the node has no pairs of shard %d", p2p.ErrNotFound, req.Shard)
	}
	truncated := false
	wrap := func(p *p2p.ShardSyncPair) (bool, error) {
		switch b {
		case LieSlivers:
			q := *p
			for _, sl := range []*encoding.Sliver{&q.Pair.Primary, &q.Pair.Secondary} {
				sl.Data = slices.Clone(sl.Data)
				for i := range sl.Data {
					sl.Data[i] ^= 0x5a
				}
			}
			p = &q
		case LieMetadata:
			if p.Metadata != nil {
				q := *p
				md := *p.Metadata
				md.Hashes = slices.Clone(md.Hashes)
				md.Hashes[0].Primary[0] ^= 0xa5
				q.Metadata = &md
				p = &q
			}
		}
		more, err := send(p)
		if err == nil {
			h.ShardSyncPairs.Add(1)
		}
		if b == TruncateSync {
			truncated = true
			return false, err
		}
		return more, err
	}
	end, err := inner.SyncShard(ctx, req, wrap)
	if truncated {
		end.More = false
	}
	return end, err
}

var (
	_ p2p.Handler          = (*Handler)(nil)
	_ p2p.ShardSyncHandler = (*Handler)(nil)
)
