package p2p

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/walrus-go/walrus/encoding"
)

// quiet is the logger of tests: log lines are not what they check.
var quiet = slog.New(slog.DiscardHandler)

// loopback are the listen addresses of test hosts.
var loopback = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}

// newTestHost starts a host on 127.0.0.1 (TCP and QUIC), closed with the
// test.
func newTestHost(tb testing.TB) *Host {
	tb.Helper()
	key, err := GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	h, err := NewHost(context.Background(), HostConfig{Key: key, ListenAddrs: loopback, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// introduce records to's addresses in from, keeping those that contain
// filter (all when empty).
func introduce(tb testing.TB, from, to *Host, filter string) {
	tb.Helper()
	var addrs []string
	for _, a := range to.Addrs() {
		if bytes.Contains([]byte(a), []byte(filter)) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		tb.Fatalf("host %s has no %q address in %v", to.ID(), filter, to.Addrs())
	}
	if err := from.AddPeer(to.ID(), addrs); err != nil {
		tb.Fatal(err)
	}
}

// testNet is a node (a Server over memHandler) and a client host that knows
// it.
type testNet struct {
	node    *Host
	handler *memHandler
	server  *Server
	client  *Client
	chost   *Host
}

func newTestNet(tb testing.TB, sopts []ServerOption, copts []ClientOption) *testNet {
	tb.Helper()
	n := &testNet{node: newTestHost(tb), chost: newTestHost(tb), handler: newMemHandler()}
	n.server = NewServer(n.node, n.handler, append([]ServerOption{WithServerLogger(quiet)}, sopts...)...)
	tb.Cleanup(func() { n.server.Close() })
	introduce(tb, n.chost, n.node, "/tcp/")
	n.client = NewClient(n.chost, append([]ClientOption{WithClientLogger(quiet)}, copts...)...)
	return n
}

// testBlob encodes size random bytes for n shards.
func testBlob(tb testing.TB, n, size int, seed uint64) (*encoding.Codec, *encoding.EncodedBlob) {
	tb.Helper()
	c, err := encoding.New(n)
	if err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	eb, err := c.Encode(data)
	if err != nil {
		tb.Fatal(err)
	}
	return c, eb
}

// storeTestBlob stores a blob of size random bytes (seed) for n shards on
// tn's node, its metadata and every sliver, and returns it and its codec.
func storeTestBlob(t *testing.T, tn *testNet, n, size int, seed uint64) (*encoding.Codec, *encoding.EncodedBlob) {
	t.Helper()
	codec, eb := testBlob(t, n, size, seed)
	tn.handler.set(func(m *memHandler) { m.codec = codec })
	tn.handler.register(eb.BlobID)
	ctx, p, c := t.Context(), tn.node.ID(), tn.client
	if err := c.PutMetadata(ctx, p, eb.BlobID, eb.Metadata); err != nil {
		t.Fatal(err)
	}
	if rejected, err := c.PutSlivers(ctx, p, eb.BlobID, allSlivers(eb)); err != nil || len(rejected) != 0 {
		t.Fatalf("PutSlivers: rejected %v, err %v", rejected, err)
	}
	return codec, eb
}

type sliverKey struct {
	blob  encoding.BlobID
	axis  encoding.Axis
	index uint16
}

// memHandler is an in-memory Handler: a node without a disk or a chain. Blobs
// must be registered before their slivers are accepted; a sliver must fit
// the blob's metadata (shape) and belong to an assigned shard.
type memHandler struct {
	mu            sync.Mutex
	registered    map[encoding.BlobID]bool
	metadata      map[encoding.BlobID]*encoding.Metadata
	slivers       map[sliverKey]encoding.Sliver
	confirmations map[encoding.BlobID]Confirmation
	notAssigned   map[sliverKey]bool
	codec         *encoding.Codec // for recovery symbols; nil: none

	// hooks for tests; set them with set, read them with hooks
	h hooks

	calls        atomic.Int64 // handler method calls
	sliversTaken atomic.Int64 // PutSliver calls
	aborts       atomic.Int64
	commits      atomic.Int64
	getSlivers   atomic.Int64
}

func newMemHandler() *memHandler {
	return &memHandler{
		registered:    map[encoding.BlobID]bool{},
		metadata:      map[encoding.BlobID]*encoding.Metadata{},
		slivers:       map[sliverKey]encoding.Sliver{},
		confirmations: map[encoding.BlobID]Confirmation{},
		notAssigned:   map[sliverKey]bool{},
	}
}

// hooks change a memHandler's behaviour for a test.
type hooks struct {
	block      chan struct{} // if set, every call waits for it (or ctx)
	entered    chan string   // if set, every call announces itself first
	panicIn    string        // method name that panics
	failWith   error         // if set, every call returns it
	sliverHook func(i int)   // called before each GetSliver, with its count
}

// set changes the handler under its lock (handler goroutines read hooks
// concurrently, and the race detector sees no order through a socket).
func (m *memHandler) set(f func(m *memHandler)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *memHandler) hooks() hooks {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h
}

func (m *memHandler) register(id encoding.BlobID) {
	m.mu.Lock()
	m.registered[id] = true
	m.mu.Unlock()
}

// enter is the common prologue of every method: count, announce, block,
// panic, fail.
func (m *memHandler) enter(ctx context.Context, name string) error {
	m.calls.Add(1)
	h := m.hooks()
	if h.entered != nil {
		select {
		case h.entered <- name:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if h.block != nil {
		select {
		case <-h.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if h.panicIn == name {
		panic("memHandler: " + name)
	}
	return h.failWith
}

func (m *memHandler) PutMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error {
	if err := m.enter(ctx, "PutMetadata"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.registered[id] {
		return fmt.Errorf("%w: blob %s", ErrNotRegistered, id)
	}
	m.metadata[id] = md
	return nil
}

func (m *memHandler) GetMetadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	if err := m.enter(ctx, "GetMetadata"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.metadata[id]
	if !ok {
		return nil, fmt.Errorf("%w: metadata of blob %s", ErrNotFound, id)
	}
	return md, nil
}

func (m *memHandler) PutSlivers(ctx context.Context, id encoding.BlobID, count int) (SliverSink, error) {
	if err := m.enter(ctx, "PutSlivers"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.registered[id] {
		return nil, fmt.Errorf("%w: blob %s", ErrNotRegistered, id)
	}
	md := m.metadata[id]
	if md == nil {
		return nil, fmt.Errorf("%w: no metadata for blob %s yet", ErrNotFound, id)
	}
	p, err := encoding.NewParams(md.N())
	if err != nil {
		return nil, err
	}
	return &memSink{m: m, id: id, md: md, params: p}, nil
}

type memSink struct {
	m      *memHandler
	id     encoding.BlobID
	md     *encoding.Metadata
	params encoding.Params
	got    []encoding.Sliver
}

func (s *memSink) PutSliver(ctx context.Context, sl encoding.Sliver) error {
	s.m.sliversTaken.Add(1)
	if s.m.hooks().panicIn == "PutSliver" {
		panic("memSink: PutSliver")
	}
	k := sliverKey{s.id, sl.Axis, sl.Index}
	s.m.mu.Lock()
	na := s.m.notAssigned[k]
	s.m.mu.Unlock()
	if na {
		return fmt.Errorf("%w: %s sliver %d", ErrNotAssigned, sl.Axis, sl.Index)
	}
	if err := sl.CheckShape(s.params, s.md); err != nil {
		return err // encoding.ErrInvalidSliver: sent as ErrInvalid
	}
	sl.Data = slices.Clone(sl.Data) // Data is only valid during the call
	s.got = append(s.got, sl)
	return nil
}

func (s *memSink) Commit(ctx context.Context) error {
	s.m.commits.Add(1)
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	for _, sl := range s.got {
		s.m.slivers[sliverKey{s.id, sl.Axis, sl.Index}] = sl
	}
	return nil
}

func (s *memSink) Abort() { s.m.aborts.Add(1) }

func (m *memHandler) GetSliver(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16) (encoding.Sliver, error) {
	n := m.getSlivers.Add(1)
	if hook := m.hooks().sliverHook; hook != nil {
		hook(int(n))
	}
	if err := m.enter(ctx, "GetSliver"); err != nil {
		return encoding.Sliver{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := sliverKey{id, axis, index}
	if m.notAssigned[k] {
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d", ErrNotAssigned, axis, index)
	}
	sl, ok := m.slivers[k]
	if !ok {
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d of blob %s", ErrNotFound, axis, index, id)
	}
	return sl, nil
}

func (m *memHandler) GetConfirmation(ctx context.Context, req ConfirmationRequest) (Confirmation, error) {
	if err := m.enter(ctx, "GetConfirmation"); err != nil {
		return Confirmation{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.confirmations[req.BlobID]
	if !ok {
		return Confirmation{}, fmt.Errorf("%w: not every sliver of blob %s is stored", ErrNotFound, req.BlobID)
	}
	// The message names the epoch and object asked for, so the test sees
	// the request arrive intact.
	msg := slices.Clone(c.Message)
	msg = append(msg, byte(req.Epoch), byte(req.Epoch>>8), byte(req.Epoch>>16), byte(req.Epoch>>24))
	if req.ObjectID != nil {
		msg = append(msg, req.ObjectID[:]...)
	}
	return Confirmation{Message: msg, Signature: c.Signature}, nil
}

func (m *memHandler) GetRecoverySymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, indices []uint16) ([]encoding.RecoverySymbol, error) {
	if err := m.enter(ctx, "GetRecoverySymbols"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	md := m.metadata[id]
	if md == nil || m.codec == nil {
		return nil, fmt.Errorf("%w: blob %s", ErrNotFound, id)
	}
	targets := make([]int, len(indices))
	for i, t := range indices {
		targets[i] = int(t)
	}
	var out []encoding.RecoverySymbol
	for k, sl := range m.slivers {
		if k.blob != id || k.axis != axis.Other() {
			continue
		}
		syms, err := m.codec.RecoverySymbols(md, &sl, targets)
		if err != nil {
			return nil, err
		}
		out = append(out, syms...)
	}
	slices.SortFunc(out, func(a, b encoding.RecoverySymbol) int {
		return int(a.SourceIndex)<<16 + int(a.TargetIndex) - (int(b.SourceIndex)<<16 + int(b.TargetIndex))
	})
	return out, nil
}

func (m *memHandler) GetSymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16, positions []uint16) ([]encoding.RecoverySymbol, error) {
	if err := m.enter(ctx, "GetSymbols"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	md := m.metadata[id]
	sl, ok := m.slivers[sliverKey{id, axis, index}]
	if md == nil || m.codec == nil || !ok {
		return nil, fmt.Errorf("%w: %s sliver %d of blob %s", ErrNotFound, axis, index, id)
	}
	targets := make([]int, len(positions))
	for i, t := range positions {
		targets[i] = int(t)
	}
	return m.codec.RecoverySymbols(md, &sl, targets)
}

func (m *memHandler) GetStatus(ctx context.Context, id encoding.BlobID) (BlobStatus, error) {
	if err := m.enter(ctx, "GetStatus"); err != nil {
		return BlobStatus{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := BlobStatus{Epoch: 7, Shards: 4}
	if m.registered[id] {
		st.State, st.EndEpoch = BlobRegistered, 12
	}
	_, st.HasMetadata = m.metadata[id]
	for k := range m.slivers {
		if k.blob == id {
			st.StoredSlivers++
		}
	}
	return st, nil
}

// rawExchange opens a stream of proto from h to p, writes payload, closes
// its write side (if closeWrite), and returns all the peer sent back.
func rawExchange(ctx context.Context, h *Host, p peer.ID, proto protocol.ID, payload []byte, closeWrite bool) ([]byte, error) {
	s, err := h.Libp2p().NewStream(ctx, p, proto)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		s.SetDeadline(d)
	}
	if _, err := s.Write(payload); err != nil {
		return nil, err
	}
	if closeWrite {
		if err := s.CloseWrite(); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(s)
}

// frameOf returns payload as one frame.
func frameOf(payload []byte) []byte {
	return append(appendFrameLen(nil, len(payload)), payload...)
}

// oneResponse decodes the single frame of a raw response.
func oneResponse(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	f := newFrameReader(bytes.NewReader(raw), nil)
	b, err := f.next(MaxRecoveryFrameSize, false)
	if err != nil {
		tb.Fatalf("response %x: %v", raw, err)
	}
	if _, err := f.next(MaxRecoveryFrameSize, false); err == nil {
		tb.Fatalf("response %x: more than one frame", raw)
	}
	return b
}

// remoteCode returns the code of an error response, failing the test for any
// other payload.
func remoteCode(tb testing.TB, payload []byte) ErrorCode {
	tb.Helper()
	_, rerr, err := decodeResult[unit](payload)
	if err != nil || rerr == nil {
		tb.Fatalf("payload %x is not an error response (err %v)", payload, err)
	}
	return rerr.Code
}
