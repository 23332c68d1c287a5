package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

// ClientOption configures a Client.
type ClientOption func(*clientConfig)

type clientConfig struct {
	log             *slog.Logger
	requestTimeout  time.Duration
	transferTimeout time.Duration
}

// WithClientLogger sets the Client's logger (default slog.Default()); it
// logs per-request lines at Debug only.
func WithClientLogger(l *slog.Logger) ClientOption {
	return func(c *clientConfig) {
		if l != nil {
			c.log = l
		}
	}
}

// WithRequestTimeout bounds a whole metadata, confirmation, recovery or status
// exchange, from opening the stream to the last byte of the response (the
// context's deadline applies too, whichever is first). If d <= 0, it is
// ignored. Default DefaultRequestTimeout.
func WithRequestTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) {
		if d > 0 {
			c.requestTimeout = d
		}
	}
}

// WithTransferTimeout is WithRequestTimeout for sliver/put, sliver/get and
// shard-sync/get.
// Default DefaultTransferTimeout.
func WithTransferTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) {
		if d > 0 {
			c.transferTimeout = d
		}
	}
}

// Client is the requesting side of the protocols of this package, used by
// the client's write and read paths and by nodes asking each other. It is
// safe for concurrent use; every call opens its own stream.
//
// Every method takes the peer to ask (whose addresses were added to the
// Host) and returns a *RequestError on failure, whose Err matches the
// sentinels of this package: the peer's answer (ErrNotFound, ...), or
// ErrUnavailable, ErrTimeout, ErrBusy or ErrProtocol; or the context's
// error when the caller's context ended the request. Cancelling the context
// resets the stream.
type Client struct {
	host *Host
	cfg  clientConfig
}

// NewClient returns a Client that opens its streams from h.
func NewClient(h *Host, opts ...ClientOption) *Client {
	cfg := clientConfig{
		log:             slog.Default(),
		requestTimeout:  DefaultRequestTimeout,
		transferTimeout: DefaultTransferTimeout,
	}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.log = cfg.log.With("subsystem", "p2p.client")
	return &Client{host: h, cfg: cfg}
}

// exchange runs one request on a new stream to p: write sends the request
// (on its own goroutine, so that a peer that answers early — an error
// before the request's end — is heard), read reads the response. The
// stream is closed after a complete exchange and reset otherwise. Errors
// are classified (see classify) and wrapped in a *RequestError.
func (c *Client) exchange(ctx context.Context, p peer.ID, proto protocol.ID,
	write func(w *bufio.Writer) error, read func(f *frameReader) error) (err error) {
	start := time.Now()
	timeout := c.cfg.requestTimeout
	if transferProtocol(proto) {
		timeout = c.cfg.transferTimeout
	}
	deadline := start.Add(timeout)
	ctxBound := false // the context's deadline is the stream's
	if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
		deadline, ctxBound = d, true
	}
	defer func() {
		if err != nil {
			err = &RequestError{Peer: p, Protocol: proto, Err: classify(ctx, ctxBound, err)}
		}
		c.cfg.log.Debug("p2p request", "protocol", proto, "peer", p, "duration", time.Since(start), "error", err)
	}()

	sctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	// libp2p backs off from a peer whose dial failed, for 5 s growing to 5
	// minutes: a storage node that restarted would stay unreachable that
	// long. Requests dial anyway, bounded by their own deadline; which
	// nodes to prefer is the caller's choice (the client tracks failures).
	s, err := c.host.h.NewStream(network.WithForceDirectDial(sctx, "walrus request"), p, proto)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return err // the caller's context: classify reports it
		case sctx.Err() != nil:
			return fmt.Errorf("%w: opening stream: %v", ErrTimeout, err)
		case errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}):
			return fmt.Errorf("%w: %w: %s: %v", ErrUnavailable, ErrNotSupported, proto, err)
		default:
			// Whatever libp2p says (a dial's own timeouts included), the
			// peer could not be reached within our deadline.
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if err := s.Scope().SetService(ServiceName); err != nil {
		_ = s.ResetWithError(network.StreamResourceLimitExceeded)
		return err
	}
	_ = s.SetDeadline(deadline)

	written := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(s, 64<<10)
		err := write(w)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = s.CloseWrite()
		}
		written <- err
	}()

	frames := newFrameReader(s, s.Scope())
	defer frames.release()
	if err := read(frames); err != nil {
		// An error response (which may come before the request is written
		// out: a peer refuses early, without reading it all) or a failure:
		// either way, stop writing.
		_ = s.Reset()
		<-written
		return err
	}
	// A peer answers success only after reading the whole request, so the
	// writer is done or about to be.
	if werr := <-written; werr != nil {
		_ = s.Reset()
		return nil // the answer is complete; the write side's error is moot
	}
	_ = s.Close()
	return nil
}

// readResult reads a response frame of at most max bytes holding a result.
// A peer's error response is returned as a *RemoteError.
func readResult[T any](f *frameReader, max int) (*T, error) {
	b, err := f.next(max, false)
	if err != nil {
		return nil, err
	}
	v, rerr, err := decodeResult[T](b)
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	return v, nil
}

// readSymbols reads a recovery/get or symbols/get answer of at most max
// bytes: its symbols (Data aliasing the frame), or the peer's error. The Ok
// variant is parsed directly, strictly (canonical lengths, nothing left
// over, each symbol as encoding.ReadRecoverySymbol checks it), rather than
// by go-bcs, whose check of canonicity encodes the value again: 1.2 ms of a
// client's CPU per 1 MB range read. FuzzDecodeSymbols holds it to decodeResult.
func readSymbols(f *frameReader, max int) ([]encoding.RecoverySymbol, error) {
	b, err := f.next(max, false)
	if err != nil {
		return nil, err
	}
	return decodeSymbols(b)
}

// minSymbolBCS is the shortest BCS form of a recovery symbol: axis, two
// indices, a symbol of 2 bytes and an empty proof.
const minSymbolBCS = 1 + 2 + 2 + 1 + 2 + 1

// decodeSymbols is readSymbols' decoding of one frame.
func decodeSymbols(b []byte) ([]encoding.RecoverySymbol, error) {
	if len(b) == 0 || b[0] != 0 {
		_, rerr, err := decodeResult[recoveryResponse](b) // the error variant, or garbage
		if err != nil {
			return nil, err
		}
		if rerr != nil {
			return nil, rerr
		}
		return nil, fmt.Errorf("%w: an Ok result that did not parse", ErrMalformed)
	}
	r := bcs.NewReader(b[1:])
	n := r.Length("symbols", bcs.MaxSequenceLength)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	syms := make([]encoding.RecoverySymbol, 0, min(n, len(b)/minSymbolBCS))
	for range n {
		s, err := encoding.ReadRecoverySymbol(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		syms = append(syms, s)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return syms, nil
}

// writeRequest returns a write func that sends one request frame.
func writeRequest(payload []byte) func(*bufio.Writer) error {
	return func(w *bufio.Writer) error { return writeFrame(w, payload) }
}

// PutMetadata sends the metadata of blob id to p. The peer checks that md
// hashes to id (ErrInvalid otherwise).
func (c *Client) PutMetadata(ctx context.Context, p peer.ID, id encoding.BlobID, md *encoding.Metadata) error {
	if md == nil {
		return &RequestError{Peer: p, Protocol: ProtocolMetadataPut, Err: fmt.Errorf("%w: nil metadata", ErrInvalid)}
	}
	req := encodeBCS(&metadataPutRequest{BlobID: id, Metadata: bcsMetadata{md}})
	if len(req) > MaxMetadataFrameSize {
		return &RequestError{Peer: p, Protocol: ProtocolMetadataPut,
			Err: fmt.Errorf("%w: metadata request of %d bytes, max %d", ErrTooLarge, len(req), MaxMetadataFrameSize)}
	}
	return c.exchange(ctx, p, ProtocolMetadataPut, writeRequest(req), func(f *frameReader) error {
		_, err := readResult[unit](f, MaxRequestFrameSize)
		return err
	})
}

// GetMetadata asks p for the metadata of blob id in a network of shards
// shards. An answer longer than metadata for that many shards is refused
// before it is allocated (ErrProtocol and ErrFrameTooLarge). It checks that
// the answer hashes to id (ErrProtocol otherwise); checking it against the
// shard count (encoding.Metadata.Verify) is the caller's.
func (c *Client) GetMetadata(ctx context.Context, p peer.ID, id encoding.BlobID, shards int) (*encoding.Metadata, error) {
	if shards < encoding.MinShards || shards > encoding.MaxShards {
		return nil, &RequestError{Peer: p, Protocol: ProtocolMetadataGet, Err: fmt.Errorf("%w: %d shards", ErrInvalid, shards)}
	}
	var md *encoding.Metadata
	err := c.exchange(ctx, p, ProtocolMetadataGet, writeRequest(encodeBCS(&blobRequest{BlobID: id})), func(f *frameReader) error {
		v, err := readResult[bcsMetadata](f, max(metadataResponseLen(shards), maxErrorFrameLen))
		if err != nil {
			return err
		}
		if got := v.BlobID(); got != id {
			return fmt.Errorf("%w: asked for the metadata of %s, got %s's", ErrProtocol, id, got)
		}
		md = v.Metadata
		return nil
	})
	return md, err
}

// sentBytesKey is the context key of WithSentBytes.
type sentBytesKey struct{}

// sentChunk is how many sliver bytes are written between two reports to a
// WithSentBytes function.
const sentChunk = 64 << 10

// WithSentBytes returns a context under which PutSlivers reports to fn the
// sliver bytes it writes to the stream, as it writes them, in pieces of at
// most 64 KiB (for progress bars: a request's bytes move with the
// transfer, not at its end). fn may be called from several requests'
// goroutines at once; a retried request reports its bytes again.
func WithSentBytes(ctx context.Context, fn func(n int)) context.Context {
	return context.WithValue(ctx, sentBytesKey{}, fn)
}

func sentBytesFunc(ctx context.Context) func(int) {
	fn, _ := ctx.Value(sentBytesKey{}).(func(int))
	return fn
}

// writeReporting writes b to w, reporting each piece to sent (if set).
func writeReporting(w *bufio.Writer, b []byte, sent func(int)) error {
	if sent == nil {
		_, err := w.Write(b)
		return err
	}
	for len(b) > 0 {
		n := min(len(b), sentChunk)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		sent(n)
		b = b[n:]
	}
	return nil
}

// PutSlivers sends slivers of blob id to p in one request: all the slivers
// of one blob that p's shards hold, each with its axis set. It returns the
// slivers p refused (each a *SliverError whose Err matches the peer's code,
// for example ErrNotAssigned or ErrInvalid) with err nil, or an error for
// the request as a whole, when no sliver can be assumed stored.
//
// The slivers are written straight from their Data, which must not change
// during the call.
func (c *Client) PutSlivers(ctx context.Context, p peer.ID, id encoding.BlobID, slivers []encoding.Sliver) ([]SliverError, error) {
	if err := checkPutSlivers(slivers); err != nil {
		return nil, &RequestError{Peer: p, Protocol: ProtocolSliverPut, Err: err}
	}
	hdr := encodeBCS(&sliverPutHeader{BlobID: id, Count: uint32(len(slivers))})
	sent := sentBytesFunc(ctx)
	write := func(w *bufio.Writer) error {
		if err := writeFrame(w, hdr); err != nil {
			return err
		}
		for i := range slivers {
			head, _ := sliverPutFrameHead(&slivers[i])
			if _, err := w.Write(head); err != nil {
				return err
			}
			if err := writeReporting(w, slivers[i].Data, sent); err != nil {
				return err
			}
			if _, err := w.Write(sliverTail(&slivers[i])); err != nil {
				return err
			}
		}
		return nil
	}
	var rejected []SliverError
	err := c.exchange(ctx, p, ProtocolSliverPut, write, func(f *frameReader) error {
		v, err := readResult[sliverPutResponse](f, MaxRequestFrameSize)
		if err != nil {
			return err
		}
		if err := v.validate(); err != nil {
			return err
		}
		if len(v.Rejected) > len(slivers) {
			return fmt.Errorf("%w: %d slivers rejected of %d sent", ErrProtocol, len(v.Rejected), len(slivers))
		}
		for _, r := range v.Rejected {
			rejected = append(rejected, SliverError{Axis: encoding.Axis(r.Axis), Index: r.Index, Err: r.Error.remote()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rejected, nil
}

func checkPutSlivers(slivers []encoding.Sliver) error {
	switch {
	case len(slivers) == 0:
		return fmt.Errorf("%w: no slivers to put", ErrInvalid)
	case len(slivers) > MaxSliversPerRequest:
		return fmt.Errorf("%w: %d slivers in one request, max %d", ErrTooLarge, len(slivers), MaxSliversPerRequest)
	}
	for i := range slivers {
		s := &slivers[i]
		if s.Axis > encoding.Secondary {
			return fmt.Errorf("%w: sliver %d has axis %d", ErrInvalid, i, s.Axis)
		}
		if 1+s.BCSSize() > MaxSliverFrameSize {
			return fmt.Errorf("%w: %s sliver %d is %d bytes, max frame %d", ErrTooLarge, s.Axis, s.Index, s.BCSSize(), MaxSliverFrameSize)
		}
	}
	return nil
}

// SliverResult is one sliver of a GetSlivers answer.
type SliverResult struct {
	// Sliver is the sliver; valid if and only if Err is nil. Its hash is
	// not verified here: check it against the metadata before use.
	Sliver encoding.Sliver
	// Err is a *SliverError: the peer's error for this sliver (matching
	// ErrNotFound, ErrNotAssigned, ...), or the request's error for a
	// sliver that did not arrive.
	Err error
}

// GetSlivers asks p for the slivers (axis, i) of blob id, for each i in
// indices (distinct, at most MaxSliversPerRequest). size is the length of
// each sliver's data, known from the blob's metadata (SliverSize): a frame
// longer than a sliver of that size (or an error) is refused before it is
// allocated, as ErrProtocol and ErrFrameTooLarge, so a lying peer cannot
// make the caller hold more than the slivers it asked for. Results are in
// the order of indices, one each; a sliver p cannot serve has its own error
// and does not fail the others. If the exchange fails part-way, the slivers
// that arrived are returned with the error, and the others carry it. A
// caller done with a sliver's Data may hand it back with RecycleSliver.
func (c *Client) GetSlivers(ctx context.Context, p peer.ID, id encoding.BlobID, axis encoding.Axis, indices []uint16, size int) ([]SliverResult, error) {
	if err := checkIndices(indices, MaxSliversPerRequest); err != nil {
		return nil, &RequestError{Peer: p, Protocol: ProtocolSliverGet, Err: err}
	}
	if axis > encoding.Secondary {
		return nil, &RequestError{Peer: p, Protocol: ProtocolSliverGet, Err: fmt.Errorf("%w: axis %d", ErrInvalid, axis)}
	}
	frameCap := max(sliverFrameLen(size), maxErrorFrameLen)
	if size <= 0 || frameCap > MaxSliverFrameSize {
		return nil, &RequestError{Peer: p, Protocol: ProtocolSliverGet,
			Err: fmt.Errorf("%w: slivers of %d bytes (a frame of at most %d)", ErrInvalid, size, MaxSliverFrameSize)}
	}
	req := encodeBCS(&sliverGetRequest{BlobID: id, Axis: uint8(axis), Indices: slices.Clone(indices)})
	results := make([]SliverResult, len(indices))
	got := 0
	err := c.exchange(ctx, p, ProtocolSliverGet, writeRequest(req), func(f *frameReader) error {
		for ; got < len(indices); got++ {
			b, buf, err := f.nextPooled(frameCap)
			if err != nil {
				return err
			}
			sl, rerr, err := decodeSliverGetFrame(axis, b)
			idx := indices[got]
			switch {
			case err != nil:
			case rerr != nil:
				results[got].Err = &SliverError{Axis: axis, Index: idx, Err: rerr}
			case sl.Index != idx:
				err = fmt.Errorf("%w: asked for %s sliver %d, got %d", ErrProtocol, axis, idx, sl.Index)
			default:
				lendFrame(buf, sl.Data)
				results[got].Sliver = sl
				continue
			}
			putFrameBuffer(buf)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := got; i < len(results); i++ {
			results[i] = SliverResult{Err: &SliverError{Axis: axis, Index: indices[i], Err: err}}
		}
		return results, err
	}
	return results, nil
}

// GetConfirmation asks p for its signed confirmation of req.BlobID for
// req.Epoch. The bytes are not checked here (BLS lives in package chain).
func (c *Client) GetConfirmation(ctx context.Context, p peer.ID, req ConfirmationRequest) (Confirmation, error) {
	var out Confirmation
	err := c.exchange(ctx, p, ProtocolConfirmationGet, writeRequest(encodeBCS(&req)), func(f *frameReader) error {
		v, err := readResult[confirmationWire](f, MaxRequestFrameSize)
		if err != nil {
			return err
		}
		out = Confirmation{Message: v.Message, Signature: v.Signature}
		return nil
	})
	return out, err
}

// GetRecoverySymbols asks p for the recovery symbols of target slivers (axis,
// i), i in indices (distinct, at most MaxRecoveryTargets), of blob id: one
// per sliver of the other axis p holds, per target. symbolSize is the
// blob's symbol size and sources the most slivers of the other axis p may
// hold (its shard count, or n): an answer longer than sources symbols of
// that size per target, with their proofs, is refused before it is
// allocated (ErrProtocol and ErrFrameTooLarge). It checks that each symbol
// has that size, comes from the other axis and targets one of indices
// (ErrProtocol otherwise); verifying their proofs against the metadata is
// the caller's.
func (c *Client) GetRecoverySymbols(ctx context.Context, p peer.ID, id encoding.BlobID, axis encoding.Axis, indices []uint16,
	symbolSize, sources int) ([]encoding.RecoverySymbol, error) {
	if err := checkIndices(indices, MaxRecoveryTargets); err != nil {
		return nil, &RequestError{Peer: p, Protocol: ProtocolRecoveryGet, Err: err}
	}
	if axis > encoding.Secondary {
		return nil, &RequestError{Peer: p, Protocol: ProtocolRecoveryGet, Err: fmt.Errorf("%w: axis %d", ErrInvalid, axis)}
	}
	if symbolSize <= 0 || symbolSize > encoding.MaxSymbolSize || sources <= 0 || sources > encoding.MaxShards {
		return nil, &RequestError{Peer: p, Protocol: ProtocolRecoveryGet,
			Err: fmt.Errorf("%w: symbols of %d bytes from %d sources", ErrInvalid, symbolSize, sources)}
	}
	most := sources * len(indices)
	req := encodeBCS(&recoveryRequest{BlobID: id, Axis: uint8(axis), Indices: slices.Clone(indices)})
	var out []encoding.RecoverySymbol
	err := c.exchange(ctx, p, ProtocolRecoveryGet, writeRequest(req), func(f *frameReader) error {
		syms, err := readSymbols(f, min(MaxRecoveryFrameSize, max(recoveryResponseLen(most, symbolSize), maxErrorFrameLen)))
		if err != nil {
			return err
		}
		if len(syms) > most {
			return fmt.Errorf("%w: %d recovery symbols for %d targets from at most %d slivers", ErrProtocol, len(syms), len(indices), sources)
		}
		out = syms
		for i := range out {
			if len(out[i].Data) != symbolSize {
				return fmt.Errorf("%w: recovery symbol of %d bytes, the blob's are %d", ErrProtocol, len(out[i].Data), symbolSize)
			}
		}
		if err := checkSymbols(out, axis, indices); err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetStatus asks p what it knows of blob id.
func (c *Client) GetStatus(ctx context.Context, p peer.ID, id encoding.BlobID) (BlobStatus, error) {
	var out BlobStatus
	err := c.exchange(ctx, p, ProtocolStatusGet, writeRequest(encodeBCS(&blobRequest{BlobID: id})), func(f *frameReader) error {
		v, err := readResult[BlobStatus](f, MaxRequestFrameSize)
		if err != nil {
			return err
		}
		if err := v.validate(); err != nil {
			return err
		}
		out = *v
		return nil
	})
	return out, err
}

// Response sizes the Client expects, from what it knows of the blob: a
// frame over them is refused before it is allocated.

// maxErrorFrameLen is the longest error response: the result tag, the code
// and a message of MaxErrorMessageLen bytes.
var maxErrorFrameLen = 1 + 1 + bcs.LengthLen(MaxErrorMessageLen) + MaxErrorMessageLen

// sliverFrameLen is the length of a sliver/get frame holding a sliver of
// size bytes of data.
func sliverFrameLen(size int) int {
	return 1 + bcs.LengthLen(size) + size + 4
}

// metadataResponseLen is the length of a metadata/get response for a
// network of shards shards.
func metadataResponseLen(shards int) int {
	return 1 + 1 + 1 + 8 + bcs.LengthLen(shards) + shards*2*(1+len(encoding.Hash{}))
}

// recoveryResponseLen bounds a recovery/get response of count symbols of
// symbolSize bytes, with proofs of at most encoding.MaxProofLen nodes.
func recoveryResponseLen(count, symbolSize int) int {
	sym := 1 + 2 + 2 + bcs.LengthLen(symbolSize) + symbolSize + bcs.LengthLen(encoding.MaxProofLen) + encoding.MaxProofLen*len(encoding.Hash{})
	return 1 + bcs.MaxULEB128Len + count*sym
}

// SliverSize returns the length of the data of a sliver of axis for the
// blob md describes: its symbol size times cols (primary) or rows
// (secondary), in a network of len(md.Hashes) shards. It is what GetSlivers
// expects.
func SliverSize(md *encoding.Metadata, axis encoding.Axis) (int, error) {
	params, err := encoding.NewParams(len(md.Hashes))
	if err != nil {
		return 0, err
	}
	s, err := params.SymbolSize(md.UnencodedLength)
	if err != nil {
		return 0, err
	}
	if axis == encoding.Secondary {
		return s * params.Rows, nil
	}
	return s * params.Cols, nil
}
