package clienttest

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

// Behavior is how a test node misbehaves.
type Behavior uint8

const (
	// Honest stores and serves what it should.
	Honest Behavior = iota
	// Down has no protocol handlers: every request to it fails with
	// p2p.ErrUnavailable.
	Down
	// LieSlivers serves primary and secondary slivers with flipped bytes
	// (the right shape, the wrong hash).
	LieSlivers
	// BadSignature signs confirmations with a key that is not its own.
	BadSignature
	// WrongMessage signs a confirmation of another blob.
	WrongMessage
	// Refuse answers every request with p2p.ErrBusy.
	Refuse
	// Forget keeps nothing: it answers p2p.ErrNotFound for metadata and
	// slivers, and never confirms.
	Forget
)

var behaviorNames = [...]string{"honest", "down", "lie-slivers", "bad-signature", "wrong-message", "refuse", "forget"}

func (b Behavior) String() string {
	if int(b) < len(behaviorNames) {
		return behaviorNames[b]
	}
	return fmt.Sprintf("Behavior(%d)", uint8(b))
}

type sliverKey struct {
	blob  encoding.BlobID
	axis  encoding.Axis
	index uint16
}

// Node is a storage node for tests: a real p2p Server on loopback over an
// in-memory Handler that verifies metadata and slivers before it keeps
// them, confirms only blobs registered on the test Chain for which it holds
// every sliver of its shards, and can be made to misbehave (SetBehavior).
// It is safe for concurrent use.
type Node struct {
	Name   string
	ID     chain.NodeID
	Host   *p2p.Host
	Key    *chain.BLSPrivateKey
	Shards []uint16

	chain  *Chain
	codec  *encoding.Codec
	server *p2p.Server

	mu       sync.Mutex
	behavior Behavior
	delay    time.Duration
	metadata map[encoding.BlobID]*encoding.Metadata
	slivers  map[sliverKey]encoding.Sliver

	// Counters of requests served, for tests.
	PutSliverRequests atomic.Int64
	SliversServed     atomic.Int64
	MetadataRequests  atomic.Int64
	Confirmations     atomic.Int64
}

// SetBehavior changes how the node behaves from now on.
func (n *Node) SetBehavior(b Behavior) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if (b == Down) != (n.behavior == Down) {
		if b == Down {
			n.server.Close()
		} else {
			n.server = p2p.NewServer(n.Host, n, p2p.WithServerLogger(quiet))
		}
	}
	n.behavior = b
}

// SetDelay makes the node wait d before answering a confirmation request.
func (n *Node) SetDelay(d time.Duration) {
	n.mu.Lock()
	n.delay = d
	n.mu.Unlock()
}

func (n *Node) state() (Behavior, time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.behavior, n.delay
}

// HasBlob reports whether the node holds the metadata and every sliver of
// its shards of blob id.
func (n *Node) HasBlob(id encoding.BlobID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.complete(id)
}

// complete is HasBlob with n.mu held.
func (n *Node) complete(id encoding.BlobID) bool {
	md := n.metadata[id]
	if md == nil {
		return false
	}
	nn := md.N()
	for _, s := range n.Shards {
		pair := id.PairForShard(int(s), nn)
		if _, ok := n.slivers[sliverKey{id, encoding.Primary, uint16(pair)}]; !ok {
			return false
		}
		if _, ok := n.slivers[sliverKey{id, encoding.Secondary, uint16(nn - 1 - pair)}]; !ok {
			return false
		}
	}
	return true
}

// Forget drops everything the node stores of a blob.
func (n *Node) Forget(id encoding.BlobID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.metadata, id)
	for k := range n.slivers {
		if k.blob == id {
			delete(n.slivers, k)
		}
	}
}

func (n *Node) refuse() error {
	switch b, _ := n.state(); b {
	case Refuse:
		return fmt.Errorf("%w: %s refuses everything", p2p.ErrBusy, n.Name)
	}
	return nil
}

// PutMetadata implements p2p.MetadataHandler.
func (n *Node) PutMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error {
	if err := n.refuse(); err != nil {
		return err
	}
	if err := md.Verify(id, n.codec.Params().N); err != nil {
		return fmt.Errorf("%w: %v", p2p.ErrInvalid, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.behavior != Forget {
		n.metadata[id] = md
	}
	return nil
}

// GetMetadata implements p2p.MetadataHandler.
func (n *Node) GetMetadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	n.MetadataRequests.Add(1)
	if err := n.refuse(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	md := n.metadata[id]
	if md == nil {
		return nil, fmt.Errorf("%w: no metadata of %s", p2p.ErrNotFound, id)
	}
	return md, nil
}

// PutSlivers implements p2p.SliverHandler.
func (n *Node) PutSlivers(ctx context.Context, id encoding.BlobID, count int) (p2p.SliverSink, error) {
	n.PutSliverRequests.Add(1)
	if err := n.refuse(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	md := n.metadata[id]
	n.mu.Unlock()
	if md == nil {
		return nil, fmt.Errorf("%w: metadata of %s first", p2p.ErrInvalid, id)
	}
	return &sink{n: n, id: id, md: md}, nil
}

type sink struct {
	n    *Node
	id   encoding.BlobID
	md   *encoding.Metadata
	keep []encoding.Sliver
}

func (s *sink) PutSliver(ctx context.Context, sl encoding.Sliver) error {
	nn := s.md.N()
	pair := encoding.PairIndex(sl.Axis, int(sl.Index), nn)
	if !slices.Contains(s.n.Shards, uint16(s.id.ShardForPair(pair, nn))) {
		return fmt.Errorf("%w: pair %d", p2p.ErrNotAssigned, pair)
	}
	if err := s.n.codec.VerifySliver(s.md, &sl); err != nil {
		return fmt.Errorf("%w: %v", p2p.ErrInvalid, err)
	}
	sl.Data = slices.Clone(sl.Data)
	s.keep = append(s.keep, sl)
	return nil
}

func (s *sink) Commit(ctx context.Context) error {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	if s.n.behavior == Forget {
		return nil
	}
	for _, sl := range s.keep {
		s.n.slivers[sliverKey{s.id, sl.Axis, sl.Index}] = sl
	}
	return nil
}

func (s *sink) Abort() {}

// GetSliver implements p2p.SliverHandler.
func (n *Node) GetSliver(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16) (encoding.Sliver, error) {
	if err := n.refuse(); err != nil {
		return encoding.Sliver{}, err
	}
	n.mu.Lock()
	sl, ok := n.slivers[sliverKey{id, axis, index}]
	b := n.behavior
	n.mu.Unlock()
	if !ok {
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d of %s", p2p.ErrNotFound, axis, index, id)
	}
	n.SliversServed.Add(1)
	if b == LieSlivers {
		sl.Data = slices.Clone(sl.Data)
		for i := range sl.Data {
			sl.Data[i] ^= 0x5a
		}
	}
	return sl, nil
}

// GetConfirmation implements p2p.ConfirmationHandler.
func (n *Node) GetConfirmation(ctx context.Context, req p2p.ConfirmationRequest) (p2p.Confirmation, error) {
	b, delay := n.state()
	if err := n.refuse(); err != nil {
		return p2p.Confirmation{}, err
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return p2p.Confirmation{}, ctx.Err()
		}
	}
	if e := n.chain.Epoch(); req.Epoch != e {
		return p2p.Confirmation{}, fmt.Errorf("%w: confirmation for epoch %d, the node is in epoch %d", p2p.ErrInvalid, req.Epoch, e)
	}
	if !n.chain.registered(req.BlobID, req.ObjectID) {
		return p2p.Confirmation{}, fmt.Errorf("%w: %s", p2p.ErrNotRegistered, req.BlobID)
	}
	if !n.HasBlob(req.BlobID) {
		return p2p.Confirmation{}, fmt.Errorf("%w: missing slivers of %s", p2p.ErrNotFound, req.BlobID)
	}
	bc := chain.BlobCertification{Epoch: req.Epoch, BlobID: req.BlobID}
	if req.ObjectID != nil {
		bc.Deletable, bc.ObjectID = true, chain.ObjectID(*req.ObjectID)
	}
	key := n.Key
	switch b {
	case BadSignature:
		key, _ = chain.GenerateBLSKey(nil)
	case WrongMessage:
		bc.BlobID[0] ^= 1
	}
	msg := bc.Message()
	sig := key.Sign(msg)
	n.Confirmations.Add(1)
	return p2p.Confirmation{Message: msg, Signature: sig[:]}, nil
}

// GetRecoverySymbols implements p2p.RecoveryHandler; test nodes do not
// serve recovery.
func (n *Node) GetRecoverySymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, indices []uint16) ([]encoding.RecoverySymbol, error) {
	return nil, fmt.Errorf("%w: test nodes serve no recovery symbols", p2p.ErrNotFound)
}

// GetStatus implements p2p.StatusHandler.
func (n *Node) GetStatus(ctx context.Context, id encoding.BlobID) (p2p.BlobStatus, error) {
	if err := n.refuse(); err != nil {
		return p2p.BlobStatus{}, err
	}
	st := p2p.BlobStatus{Epoch: n.chain.Epoch(), Shards: uint32(len(n.Shards))}
	n.mu.Lock()
	defer n.mu.Unlock()
	_, st.HasMetadata = n.metadata[id]
	for k := range n.slivers {
		if k.blob == id {
			st.StoredSlivers++
		}
	}
	switch reg, cert := n.chain.registration(id); {
	case cert:
		st.State = p2p.BlobCertified
	case reg:
		st.State = p2p.BlobRegistered
	}
	return st, nil
}
