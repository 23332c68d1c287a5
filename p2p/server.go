package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

// ErrServerClosed is returned by Server.Close when called twice.
var ErrServerClosed = errors.New("p2p: server closed")

// ServerOption configures a Server.
type ServerOption func(*serverConfig)

type serverConfig struct {
	log               *slog.Logger
	requestTimeout    time.Duration
	transferTimeout   time.Duration
	frameTimeout      time.Duration
	maxStreams        int
	maxStreamsPerPeer int
	maxStreamsPerConn int
	maxStreamsPerIP   int
}

// WithServerLogger sets the Server's logger (default slog.Default()).
// Per-stream lines are Debug; handler failures sent as ErrInternal and
// recovered panics are Warn and Error.
func WithServerLogger(l *slog.Logger) ServerOption {
	return func(c *serverConfig) {
		if l != nil {
			c.log = l
		}
	}
}

// WithServerRequestTimeout sets the deadline of a metadata, confirmation,
// recovery or status stream, from its opening to its last byte. If d <= 0,
// it is ignored. Default DefaultRequestTimeout.
func WithServerRequestTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) {
		if d > 0 {
			c.requestTimeout = d
		}
	}
}

// WithServerTransferTimeout sets the deadline of a sliver/put, sliver/get or
// shard-sync/get stream. If d <= 0, it is ignored. Default DefaultTransferTimeout.
func WithServerTransferTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) {
		if d > 0 {
			c.transferTimeout = d
		}
	}
}

// WithServerFrameTimeout sets how long a new stream may take to deliver its
// request frame, during which it holds no server slot; past it the stream is
// reset. The request or transfer timeout still bounds the whole exchange. If
// d <= 0, it is ignored. Default DefaultFrameTimeout.
func WithServerFrameTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) {
		if d > 0 {
			c.frameTimeout = d
		}
	}
}

// WithMaxStreamsPerConn sets how many streams of one connection the Server
// holds at once (waiting for their request frame or being served); it
// answers more with ErrBusy. If n <= 0, it is ignored. Default
// DefaultMaxStreamsPerConn.
func WithMaxStreamsPerConn(n int) ServerOption {
	return func(c *serverConfig) {
		if n > 0 {
			c.maxStreamsPerConn = n
		}
	}
}

// WithMaxStreamsPerIP is WithMaxStreamsPerConn for all the connections from
// one IP address (one /64 for IPv6). Default DefaultMaxStreamsPerIP.
func WithMaxStreamsPerIP(n int) ServerOption {
	return func(c *serverConfig) {
		if n > 0 {
			c.maxStreamsPerIP = n
		}
	}
}

// WithMaxStreamsPerPeer sets how many requests of one peer the Server serves
// at once; it answers more with ErrBusy. If n <= 0, it is ignored. Default
// DefaultMaxStreamsPerPeer.
func WithMaxStreamsPerPeer(n int) ServerOption {
	return func(c *serverConfig) {
		if n > 0 {
			c.maxStreamsPerPeer = n
		}
	}
}

// WithMaxStreams sets how many requests the Server serves at once in total;
// it answers more with ErrBusy. If n <= 0, it is ignored. Default
// DefaultMaxStreams.
func WithMaxStreams(n int) ServerOption {
	return func(c *serverConfig) {
		if n > 0 {
			c.maxStreams = n
		}
	}
}

// Server serves the protocols of this package on a Host, calling a Handler.
// It is safe for concurrent use.
//
// Each request gets its own stream, which the Server handles in go-libp2p's
// way: it joins the stream to ServiceName's resource scope and refuses it
// with ErrBusy past the per-connection and per-IP caps; it gives the stream
// the frame timeout to deliver its request frame, reserving the frame's
// memory in the stream's scope before reading it; only then does the
// request take a slot (refused with ErrBusy past the total and per-peer
// limits) and run under the request or transfer timeout. It answers bad
// input with a typed error, closes the stream after a complete exchange and
// resets it when it cannot answer (I/O error, deadline, a panic).
//
// A stream that sends nothing, or a byte at a time, thus holds no slot: it
// waits at most the frame timeout, and one connection or address holds at
// most its cap of such streams, whatever peer identities it uses.
type Server struct {
	host    *Host
	handler Handler
	cfg     serverConfig
	ctx     context.Context // ends when the Server closes
	cancel  context.CancelFunc

	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup // streams held, in any phase
	total   int            // slots taken
	perPeer map[peer.ID]int
	perConn map[string]int // streams held, by connection
	perIP   map[string]int // streams held, by remote address
	proofs  proofSlots     // inconsistency proofs held (inconsistency.go)
}

// NewServer registers the handlers of every protocol of this package (but
// shard-sync/get unless handler is a ShardSyncHandler, and challenge/get
// unless it is a ChallengeHandler) on
// h and serves them until Close.
func NewServer(h *Host, handler Handler, opts ...ServerOption) *Server {
	cfg := serverConfig{
		log:               slog.Default(),
		requestTimeout:    DefaultRequestTimeout,
		transferTimeout:   DefaultTransferTimeout,
		frameTimeout:      DefaultFrameTimeout,
		maxStreams:        DefaultMaxStreams,
		maxStreamsPerPeer: DefaultMaxStreamsPerPeer,
		maxStreamsPerConn: DefaultMaxStreamsPerConn,
		maxStreamsPerIP:   DefaultMaxStreamsPerIP,
	}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.log = cfg.log.With("subsystem", "p2p.server")
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{host: h, handler: handler, cfg: cfg, ctx: ctx, cancel: cancel,
		perPeer: map[peer.ID]int{}, perConn: map[string]int{}, perIP: map[string]int{}}
	for proto, serve := range s.protocols() {
		h.h.SetStreamHandler(proto, s.handle(proto, serve))
	}
	return s
}

// serveFunc serves one stream's exchange. It returns nil after a complete
// exchange (an error response is one), and an error when the stream must be
// reset.
type serveFunc func(ctx context.Context, st *serverStream) error

func (s *Server) protocols() map[protocol.ID]serveFunc {
	m := map[protocol.ID]serveFunc{
		ProtocolMetadataPut:     s.serveMetadataPut,
		ProtocolMetadataGet:     s.serveMetadataGet,
		ProtocolSliverPut:       s.serveSliverPut,
		ProtocolSliverGet:       s.serveSliverGet,
		ProtocolConfirmationGet: s.serveConfirmation,
		ProtocolRecoveryGet:     s.serveRecovery,
		ProtocolStatusGet:       s.serveStatus,
	}
	if _, ok := s.handler.(ShardSyncHandler); ok {
		m[ProtocolShardSyncGet] = s.serveShardSync
	}
	if _, ok := s.handler.(ChallengeHandler); ok {
		m[ProtocolChallengeGet] = s.serveChallenge
	}
	if _, ok := s.handler.(InconsistencyHandler); ok {
		m[ProtocolInconsistencyPut] = s.serveInconsistency
	}
	if _, ok := s.handler.(SymbolHandler); ok {
		m[ProtocolSymbolsGet] = s.serveSymbols
	}
	return m
}

// Close stops serving: it removes the stream handlers, ends the context of
// the handler calls in progress (their streams are then reset), and waits
// for them to return. It returns ErrServerClosed if called again. It does
// not close the Host.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closed = true
	s.mu.Unlock()
	for proto := range s.protocols() {
		s.host.h.RemoveStreamHandler(proto)
	}
	s.cancel()
	s.wg.Wait()
	return nil
}

// source is where a stream comes from: its connection and remote address.
type source struct {
	conn, ip string
}

// sourceOf returns the source of a stream's connection. The address is the
// remote IP (its /64 for IPv6); a connection without one (a relayed or
// in-memory transport) is its own address.
func sourceOf(c network.Conn) source {
	src := source{conn: c.ID()}
	if src.ip = addressKey(c.RemoteMultiaddr()); src.ip == "" {
		src.ip = "conn:" + src.conn
	}
	return src
}

// addressKey is the address a per-IP cap counts a multiaddr under: its IPv4
// address, or the /64 of its IPv6 address; "" when it has no IP.
func addressKey(m ma.Multiaddr) string {
	ip, err := manet.ToIP(m)
	switch {
	case err != nil:
		return ""
	case ip.To4() != nil:
		return ip.To4().String()
	default:
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
}

// hold counts a new stream against its source's caps; it reports false when
// the Server is closed (closed true) or the source is at a cap (which one in
// why).
func (s *Server) hold(src source) (ok, closed bool, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return false, true, ""
	case s.perConn[src.conn] >= s.cfg.maxStreamsPerConn:
		return false, false, fmt.Sprintf("%d streams open on this connection", s.perConn[src.conn])
	case s.perIP[src.ip] >= s.cfg.maxStreamsPerIP:
		return false, false, fmt.Sprintf("%d streams open from this address", s.perIP[src.ip])
	}
	s.perConn[src.conn]++
	s.perIP[src.ip]++
	s.wg.Add(1)
	return true, false, ""
}

// letGo undoes hold.
func (s *Server) letGo(src source) {
	s.mu.Lock()
	if s.perConn[src.conn]--; s.perConn[src.conn] <= 0 {
		delete(s.perConn, src.conn)
	}
	if s.perIP[src.ip]--; s.perIP[src.ip] <= 0 {
		delete(s.perIP, src.ip)
	}
	s.mu.Unlock()
	s.wg.Done()
}

// held is the number of streams held, in any phase.
func (s *Server) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.perConn {
		n += c
	}
	return n
}

// acquire takes a slot for a request of p whose frame has arrived; it
// reports false at a limit.
func (s *Server) acquire(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.cfg.maxStreams || s.perPeer[p] >= s.cfg.maxStreamsPerPeer {
		return false
	}
	s.total++
	s.perPeer[p]++
	return true
}

// inFlight is the number of streams being served.
func (s *Server) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func (s *Server) release(p peer.ID) {
	s.mu.Lock()
	s.total--
	if s.perPeer[p]--; s.perPeer[p] == 0 {
		delete(s.perPeer, p)
	}
	s.mu.Unlock()
}

// serverStream is one stream being served.
type serverStream struct {
	s      network.Stream
	frames *frameReader
	w      *bufio.Writer
	log    *slog.Logger

	srv      *Server
	peer     peer.ID
	deadline time.Time // of the whole exchange, set once a slot is taken
	slot     bool      // a slot is taken (release it at the end)
}

// admit takes a server slot for the request whose frame has arrived, and
// moves the stream's deadline from the frame timeout to the exchange's. A
// stream is admitted at most once.
func (st *serverStream) admit() error {
	if st.slot {
		return nil
	}
	if !st.srv.acquire(st.peer) {
		return fmt.Errorf("%w: too many requests in progress", ErrBusy)
	}
	st.slot = true
	_ = st.s.SetDeadline(st.deadline)
	return nil
}

// respond writes a whole response frame and flushes it.
func (st *serverStream) respond(payload []byte) error {
	if err := writeFrame(st.w, payload); err != nil {
		return err
	}
	return st.w.Flush()
}

// respondErr answers with an error response.
func (st *serverStream) respondErr(err error) error {
	st.log.Debug("p2p request refused", "error", err)
	return st.respond(encodeErr(wireErrorFor(err, MaxErrorMessageLen)))
}

// readRequest reads the request frame, within the frame timeout, and then
// takes the request's server slot. A frame the peer got wrong (too large,
// truncated, not decodable) is answered here with ErrTooLarge or
// ErrInvalid, a request past the slot limits with ErrBusy, and both are
// reported as answered; other errors (I/O, deadline) are returned for a
// reset. Every serve function starts with it: a request is served only
// once it holds a slot.
func (st *serverStream) readRequest(max int, decode func([]byte) error) (answered bool, err error) {
	b, err := st.frames.next(max, false)
	if err == nil {
		err = decode(b)
	}
	if err == nil {
		err = st.admit()
	}
	if err == nil {
		return false, nil
	}
	if refusable(err) {
		return true, st.respondErr(err)
	}
	return false, err
}

// refusable reports whether a frame error is the peer's fault and can be
// answered (rather than an I/O failure, which resets the stream).
func refusable(err error) bool {
	return errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrTruncated) ||
		errors.Is(err, ErrMalformed) || errors.Is(err, ErrBusy) ||
		errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge)
}

func (s *Server) handle(proto protocol.ID, serve serveFunc) network.StreamHandler {
	timeout := s.cfg.requestTimeout
	if transferProtocol(proto) {
		timeout = s.cfg.transferTimeout
	}
	return func(ns network.Stream) {
		start := time.Now()
		p := ns.Conn().RemotePeer()
		log := s.cfg.log.With("protocol", proto, "peer", p)
		defer func() {
			// Our own code must never take the node down either.
			if r := recover(); r != nil {
				log.Error("p2p stream handler panicked", "panic", r, "stack", string(debug.Stack()))
				_ = ns.Reset()
			}
		}()
		if err := ns.Scope().SetService(ServiceName); err != nil {
			log.Debug("p2p stream refused by resource manager", "error", err)
			_ = ns.ResetWithError(network.StreamResourceLimitExceeded)
			return
		}
		deadline := start.Add(timeout)
		_ = ns.SetDeadline(start.Add(min(s.cfg.frameTimeout, timeout)))
		st := &serverStream{s: ns, frames: newFrameReader(ns, ns.Scope()), w: bufio.NewWriterSize(ns, 64<<10), log: log,
			srv: s, peer: p, deadline: deadline}
		defer st.frames.release()

		src := sourceOf(ns.Conn())
		ok, closed, why := s.hold(src)
		if closed {
			_ = ns.Reset()
			return
		}
		if !ok {
			if err := st.respondErr(fmt.Errorf("%w: %s", ErrBusy, why)); err != nil {
				_ = ns.Reset()
				return
			}
			_ = ns.Close()
			return
		}
		defer s.letGo(src)
		defer func() {
			if st.slot {
				s.release(p)
			}
		}()

		ctx, cancel := context.WithDeadline(withRemotePeer(s.ctx, p), deadline)
		defer cancel()
		stop := context.AfterFunc(ctx, func() { _ = ns.Reset() })
		defer stop()

		err := serve(ctx, st)
		if err != nil {
			if ctx.Err() != nil && s.ctx.Err() != nil {
				err = fmt.Errorf("server closing: %w", err)
			}
			log.Debug("p2p stream reset", "error", err, "duration", time.Since(start))
			_ = ns.Reset()
			return
		}
		log.Debug("p2p stream served", "duration", time.Since(start))
		_ = ns.Close()
	}
}

// call runs a handler method, turning a panic into an ErrInternal error.
func call[T any](log *slog.Logger, f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("p2p handler panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: handler panicked", ErrInternal)
		}
	}()
	return f()
}

// handlerErr logs a handler error that will be sent without its text.
func handlerErr(log *slog.Logger, err error) error {
	if _, typed := codeOf(err); !typed {
		log.Warn("p2p handler failed", "error", err)
	}
	return err
}

func (s *Server) serveMetadataPut(ctx context.Context, st *serverStream) error {
	var req metadataPutRequest
	if answered, err := st.readRequest(MaxMetadataFrameSize, func(b []byte) error { return decodeBCS(b, &req) }); answered || err != nil {
		return err
	}
	if got := req.Metadata.BlobID(); got != req.BlobID {
		return st.respondErr(fmt.Errorf("%w: metadata is for blob %s, not %s", ErrInvalid, got, req.BlobID))
	}
	_, err := call(st.log, func() (unit, error) {
		return unit{}, s.handler.PutMetadata(ctx, req.BlobID, req.Metadata.Metadata)
	})
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	return st.respond(encodeOK(&unit{}))
}

func (s *Server) serveMetadataGet(ctx context.Context, st *serverStream) error {
	var req blobRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error { return decodeBCS(b, &req) }); answered || err != nil {
		return err
	}
	md, err := call(st.log, func() (*encoding.Metadata, error) { return s.handler.GetMetadata(ctx, req.BlobID) })
	if err == nil && md == nil {
		err = fmt.Errorf("handler returned no metadata and no error")
	}
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	payload := encodeOK(&bcsMetadata{md})
	if len(payload) > MaxMetadataFrameSize {
		return st.respondErr(handlerErr(st.log, fmt.Errorf("metadata of %d bytes over MaxMetadataFrameSize", len(payload))))
	}
	return st.respond(payload)
}

func (s *Server) serveSliverPut(ctx context.Context, st *serverStream) error {
	var hdr sliverPutHeader
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error { return decodeBCS(b, &hdr) }); answered || err != nil {
		return err
	}
	switch {
	case hdr.Count == 0:
		return st.respondErr(fmt.Errorf("%w: sliver/put of no slivers", ErrInvalid))
	case hdr.Count > MaxSliversPerRequest:
		return st.respondErr(fmt.Errorf("%w: %d slivers in one request, max %d", ErrTooLarge, hdr.Count, MaxSliversPerRequest))
	}
	count := int(hdr.Count)
	sink, err := call(st.log, func() (SliverSink, error) { return s.handler.PutSlivers(ctx, hdr.BlobID, count) })
	if err == nil && sink == nil {
		err = fmt.Errorf("handler returned no sink and no error")
	}
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = call(st.log, func() (unit, error) { sink.Abort(); return unit{}, nil })
		}
	}()

	var rejected bcsVec[sliverFailure]
	for i := range count {
		// Each sliver gets a buffer of its own, which the sink keeps
		// instead of copying (its data aligned for the store's direct
		// writes); the frame's reservation in the stream's scope
		// is held until the sink has returned (and reserved what it kept).
		b, err := st.frames.nextOwnedAligned(MaxSliverFrameSize, sliverPutDataAt)
		var sl encoding.Sliver
		if err == nil {
			sl, err = decodeSliverPutFrame(b)
		}
		if err != nil {
			if refusable(err) {
				return st.respondErr(fmt.Errorf("sliver frame %d of %d: %w", i+1, count, err))
			}
			return err
		}
		_, err = call(st.log, func() (unit, error) { return unit{}, sink.PutSliver(ctx, sl) })
		st.frames.release()
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			rejected = append(rejected, sliverFailure{
				Axis:  uint8(sl.Axis),
				Index: sl.Index,
				Error: wireErrorFor(handlerErr(st.log, err), MaxErrorMessageLen),
			})
		}
	}
	st.frames.release()
	committed = true
	if _, err := call(st.log, func() (unit, error) { return unit{}, sink.Commit(ctx) }); err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	fitFailures(rejected, MaxRequestFrameSize)
	return st.respond(encodeOK(&sliverPutResponse{Rejected: rejected}))
}

// fitFailures shortens the messages of failures so that their response fits
// in limit bytes: a request of many slivers that all fail keeps every code.
func fitFailures(fs []sliverFailure, limit int) {
	if len(fs) == 0 {
		return
	}
	const fixed = 1 + 2 + 1 + 3 // axis, index, code, message length
	budget := max(0, min(MaxErrorMessageLen, (limit-64)/len(fs)-fixed))
	for i := range fs {
		if len(fs[i].Error.Message) > budget {
			fs[i].Error.Message = bcsString(truncateMessage(string(fs[i].Error.Message), budget))
		}
	}
}

func (s *Server) serveSliverGet(ctx context.Context, st *serverStream) error {
	var req sliverGetRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error {
		if err := decodeBCS(b, &req); err != nil {
			return err
		}
		return req.validate()
	}); answered || err != nil {
		return err
	}
	if err := checkIndices(req.Indices, MaxSliversPerRequest); err != nil {
		return st.respondErr(err)
	}
	axis := encoding.Axis(req.Axis)
	for _, idx := range req.Indices {
		if err := ctx.Err(); err != nil {
			return err
		}
		sl, err := call(st.log, func() (encoding.Sliver, error) { return s.handler.GetSliver(ctx, req.BlobID, axis, idx) })
		if err == nil && (sl.Index != idx || sl.Axis != axis) {
			err = fmt.Errorf("handler returned %s sliver %d for %s sliver %d", sl.Axis, sl.Index, axis, idx)
		}
		if err == nil && 1+sl.BCSSize() > MaxSliverFrameSize {
			err = fmt.Errorf("%w: %s sliver %d is %d bytes, max frame %d", ErrTooLarge, axis, idx, sl.BCSSize(), MaxSliverFrameSize)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			if err := writeFrame(st.w, encodeSliverGetErrFrame(wireErrorFor(handlerErr(st.log, err), MaxErrorMessageLen))); err != nil {
				return err
			}
			continue
		}
		head, _ := sliverGetFrameHead(&sl)
		if _, err := st.w.Write(head); err != nil {
			return err
		}
		if _, err := st.w.Write(sl.Data); err != nil {
			return err
		}
		if _, err := st.w.Write(sliverTail(&sl)); err != nil {
			return err
		}
	}
	return st.w.Flush()
}

// checkIndices checks a request's sliver indices: at least one, at most max,
// no duplicates (which would let one small request ask for the same large
// sliver many times).
func checkIndices(indices []uint16, limit int) error {
	switch {
	case len(indices) == 0:
		return fmt.Errorf("%w: no sliver indices", ErrInvalid)
	case len(indices) > limit:
		return fmt.Errorf("%w: %d sliver indices in one request, max %d", ErrTooLarge, len(indices), limit)
	}
	sorted := slices.Clone(indices)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return fmt.Errorf("%w: sliver index %d asked for twice", ErrInvalid, sorted[i])
		}
	}
	return nil
}

func (s *Server) serveConfirmation(ctx context.Context, st *serverStream) error {
	var req ConfirmationRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error { return decodeBCS(b, &req) }); answered || err != nil {
		return err
	}
	c, err := call(st.log, func() (Confirmation, error) { return s.handler.GetConfirmation(ctx, req) })
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	payload := encodeOK(&confirmationWire{Message: c.Message, Signature: c.Signature})
	if len(payload) > MaxRequestFrameSize {
		return st.respondErr(handlerErr(st.log, fmt.Errorf("confirmation of %d bytes over MaxRequestFrameSize", len(payload))))
	}
	return st.respond(payload)
}

func (s *Server) serveRecovery(ctx context.Context, st *serverStream) error {
	var req recoveryRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error {
		if err := decodeBCS(b, &req); err != nil {
			return err
		}
		return req.validate()
	}); answered || err != nil {
		return err
	}
	if err := checkIndices(req.Indices, MaxRecoveryTargets); err != nil {
		return st.respondErr(err)
	}
	axis := encoding.Axis(req.Axis)
	syms, err := call(st.log, func() ([]encoding.RecoverySymbol, error) {
		return s.handler.GetRecoverySymbols(ctx, req.BlobID, axis, slices.Clone(req.Indices))
	})
	if err == nil {
		err = checkSymbols(syms, axis, req.Indices)
	}
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	return st.respondSymbols(syms)
}

// respondSymbols answers with syms (recovery/get's and symbols/get's
// response), or with ErrTooLarge for more than MaxRecoveryFrameSize.
func (st *serverStream) respondSymbols(syms []encoding.RecoverySymbol) error {
	size := symbolsOKSize(syms)
	if size > MaxRecoveryFrameSize {
		return st.respondErr(fmt.Errorf("%w: %d symbols (%d bytes) over MaxRecoveryFrameSize; ask for fewer",
			ErrTooLarge, len(syms), size))
	}
	return st.respond(encodeSymbolsOK(syms, size))
}

// symbolsOKSize is the length of encodeSymbolsOK(syms).
func symbolsOKSize(syms []encoding.RecoverySymbol) int {
	size := 1 + bcs.LengthLen(len(syms))
	for i := range syms {
		s := &syms[i]
		size += 1 + 2 + 2 + bcs.LengthLen(len(s.Data)) + len(s.Data) + bcs.LengthLen(len(s.Proof)) + len(s.Proof)*len(encoding.Hash{})
	}
	return size
}

// encodeSymbolsOK is encodeOK(&recoveryResponse{syms}), built in one buffer
// of its size (symbolsOKSize) with one copy of each symbol: go-bcs's
// reflection copied a 1 MB symbols/get answer four times over growing
// buffers, 1.2 ms of a node's CPU per 1 MB range read.
// TestEncodeSymbolsOK checks the bytes are go-bcs's.
func encodeSymbolsOK(syms []encoding.RecoverySymbol, size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, 0) // Result::Ok
	b = bcs.AppendLength(b, len(syms))
	for i := range syms {
		b = syms[i].AppendBCS(b)
	}
	return b
}

// checkSymbols checks that a handler's recovery symbols answer the request:
// each from a sliver of the other axis, for one of the targets.
func checkSymbols(syms []encoding.RecoverySymbol, target encoding.Axis, indices []uint16) error {
	for i := range syms {
		if syms[i].SourceAxis != target.Other() || !slices.Contains(indices, syms[i].TargetIndex) {
			return fmt.Errorf("recovery symbol of %s sliver %d targets %d, not one of the %s targets %v",
				syms[i].SourceAxis, syms[i].SourceIndex, syms[i].TargetIndex, target, indices)
		}
	}
	return nil
}

func (s *Server) serveStatus(ctx context.Context, st *serverStream) error {
	var req blobRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error { return decodeBCS(b, &req) }); answered || err != nil {
		return err
	}
	bs, err := call(st.log, func() (BlobStatus, error) { return s.handler.GetStatus(ctx, req.BlobID) })
	if err == nil {
		if verr := bs.validate(); verr != nil {
			err = fmt.Errorf("handler returned an invalid status: %v", verr)
		}
	}
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	return st.respond(encodeOK(&bs))
}
