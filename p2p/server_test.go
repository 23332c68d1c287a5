package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/walrus-go/walrus/encoding"
)

// allSlivers returns every sliver of eb, primary then secondary.
func allSlivers(eb *encoding.EncodedBlob) []encoding.Sliver {
	return append(slices.Clone(eb.Primary), eb.Secondary...)
}

func indicesOf(slivers []encoding.Sliver) []uint16 {
	out := make([]uint16, len(slivers))
	for i, s := range slivers {
		out[i] = s.Index
	}
	return out
}

func sameSliver(a, b encoding.Sliver) bool {
	return a.Axis == b.Axis && a.Index == b.Index && a.SymbolSize == b.SymbolSize && bytes.Equal(a.Data, b.Data)
}

// TestRoundTrip runs every protocol over TCP and over QUIC and checks that
// what arrives is byte-identical to what was sent.
func TestRoundTrip(t *testing.T) {
	for _, transport := range []string{"/tcp/", "/quic-v1"} {
		t.Run(strings.Trim(transport, "/"), func(t *testing.T) {
			n := newTestNet(t, nil, nil)
			n.chost.Libp2p().Peerstore().ClearAddrs(n.node.ID())
			introduce(t, n.chost, n.node, transport)
			codec, eb := testBlob(t, 10, 10000, 7)
			n.handler.set(func(m *memHandler) { m.codec = codec })
			n.handler.register(eb.BlobID)
			ctx, p, c := t.Context(), n.node.ID(), n.client

			if err := c.PutMetadata(ctx, p, eb.BlobID, eb.Metadata); err != nil {
				t.Fatal(err)
			}
			md, err := c.GetMetadata(ctx, p, eb.BlobID, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(md.MarshalBCS(), eb.Metadata.MarshalBCS()) {
				t.Fatal("metadata differs")
			}

			rejected, err := c.PutSlivers(ctx, p, eb.BlobID, allSlivers(eb))
			if err != nil || len(rejected) != 0 {
				t.Fatalf("PutSlivers: rejected %v, err %v", rejected, err)
			}
			for _, want := range [][]encoding.Sliver{eb.Primary, eb.Secondary} {
				axis := want[0].Axis
				res, err := c.GetSlivers(ctx, p, eb.BlobID, axis, indicesOf(want), len(want[0].Data))
				if err != nil {
					t.Fatal(err)
				}
				if len(res) != len(want) {
					t.Fatalf("%d results for %d slivers", len(res), len(want))
				}
				for i, r := range res {
					if r.Err != nil || !sameSliver(r.Sliver, want[i]) {
						t.Fatalf("%s sliver %d: err %v, equal %v", axis, i, r.Err, sameSliver(r.Sliver, want[i]))
					}
				}
			}
			// Out of order and a subset: answered in the order asked.
			res, err := c.GetSlivers(ctx, p, eb.BlobID, encoding.Primary, []uint16{7, 2, 9}, len(eb.Primary[0].Data))
			if err != nil {
				t.Fatal(err)
			}
			for i, idx := range []uint16{7, 2, 9} {
				if !sameSliver(res[i].Sliver, eb.Primary[idx]) {
					t.Fatalf("result %d is not primary sliver %d", i, idx)
				}
			}

			n.handler.set(func(m *memHandler) {
				m.confirmations[eb.BlobID] = Confirmation{Message: []byte("signed:"), Signature: bytes.Repeat([]byte{0xbb}, 96)}
			})
			conf, err := c.GetConfirmation(ctx, p, ConfirmationRequest{BlobID: eb.BlobID, Epoch: 0x01020304})
			if err != nil {
				t.Fatal(err)
			}
			if string(conf.Message) != "signed:\x04\x03\x02\x01" || !bytes.Equal(conf.Signature, bytes.Repeat([]byte{0xbb}, 96)) {
				t.Fatalf("confirmation %x / %x", conf.Message, conf.Signature)
			}
			obj := [32]byte{0xab, 0xcd}
			conf, err = c.GetConfirmation(ctx, p, ConfirmationRequest{BlobID: eb.BlobID, Epoch: 1, ObjectID: &obj})
			if err != nil || !bytes.HasSuffix(conf.Message, obj[:]) {
				t.Fatalf("deletable confirmation %x, %v", conf.Message, err)
			}

			targets := []uint16{0, 3}
			syms, err := c.GetRecoverySymbols(ctx, p, eb.BlobID, encoding.Primary, targets, int(eb.Primary[0].SymbolSize), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(syms) != len(eb.Secondary)*len(targets) {
				t.Fatalf("%d recovery symbols, want %d", len(syms), len(eb.Secondary)*len(targets))
			}
			for _, s := range syms {
				if err := codec.VerifyRecoverySymbol(eb.Metadata, &s); err != nil {
					t.Fatalf("symbol of secondary sliver %d for target %d: %v", s.SourceIndex, s.TargetIndex, err)
				}
			}
			// The symbols rebuild the targets.
			for _, target := range targets {
				var for0 []encoding.RecoverySymbol
				for _, s := range syms {
					if s.TargetIndex == target {
						for0 = append(for0, s)
					}
				}
				got, err := codec.RecoverSliver(eb.Metadata, encoding.Primary, int(target), for0)
				if err != nil || !sameSliver(*got, eb.Primary[target]) {
					t.Fatalf("rebuilding primary sliver %d: %v", target, err)
				}
			}

			st, err := c.GetStatus(ctx, p, eb.BlobID)
			if err != nil {
				t.Fatal(err)
			}
			want := BlobStatus{Epoch: 7, State: BlobRegistered, EndEpoch: 12, HasMetadata: true, Shards: 4, StoredSlivers: 20}
			if st != want {
				t.Fatalf("status %+v, want %+v", st, want)
			}
			st, err = c.GetStatus(ctx, p, blobID1)
			if err != nil || st != (BlobStatus{Epoch: 7, Shards: 4}) {
				t.Fatalf("status of an unknown blob %+v, %v", st, err)
			}
		})
	}
}

// TestErrorResponses checks that each error a handler returns reaches the
// caller as its sentinel, with the request's peer and protocol.
func TestErrorResponses(t *testing.T) {
	n := newTestNet(t, nil, nil)
	_, eb := testBlob(t, 10, 5000, 8)
	_, other := testBlob(t, 10, 5000, 9)
	ctx, p, c, h := t.Context(), n.node.ID(), n.client, n.handler

	tests := []struct {
		name     string
		setup    func()
		call     func() error
		want     error
		proto    protocol.ID
		handlers int64 // handler calls expected
	}{
		{"metadata of an unknown blob", nil,
			func() error { _, err := c.GetMetadata(ctx, p, eb.BlobID, 10); return err },
			ErrNotFound, ProtocolMetadataGet, 1},
		{"metadata of an unregistered blob", nil,
			func() error { return c.PutMetadata(ctx, p, eb.BlobID, eb.Metadata) },
			ErrNotRegistered, ProtocolMetadataPut, 1},
		{"metadata of another blob", nil,
			func() error { return c.PutMetadata(ctx, p, eb.BlobID, other.Metadata) },
			ErrInvalid, ProtocolMetadataPut, 0},
		{"slivers of an unregistered blob", nil,
			func() error { _, err := c.PutSlivers(ctx, p, other.BlobID, other.Primary); return err },
			ErrNotRegistered, ProtocolSliverPut, 1},
		{"confirmation not ready", nil,
			func() error { _, err := c.GetConfirmation(ctx, p, ConfirmationRequest{BlobID: eb.BlobID}); return err },
			ErrNotFound, ProtocolConfirmationGet, 1},
		{"recovery of an unknown blob", nil,
			func() error { _, err := c.GetRecoverySymbols(ctx, p, other.BlobID, 0, []uint16{1}, 2, 10); return err },
			ErrNotFound, ProtocolRecoveryGet, 1},
		{"busy", func() { h.h.failWith = fmt.Errorf("%w: compaction", ErrBusy) },
			func() error { _, err := c.GetStatus(ctx, p, eb.BlobID); return err },
			ErrBusy, ProtocolStatusGet, 1},
		{"too large", func() { h.h.failWith = fmt.Errorf("%w: blob over the node's cap", ErrTooLarge) },
			func() error { _, err := c.GetStatus(ctx, p, eb.BlobID); return err },
			ErrTooLarge, ProtocolStatusGet, 1},
		{"not assigned", func() { h.h.failWith = ErrNotAssigned },
			func() error { _, err := c.GetRecoverySymbols(ctx, p, eb.BlobID, 0, []uint16{1}, 2, 10); return err },
			ErrNotAssigned, ProtocolRecoveryGet, 1},
		{"encoding's verification error", func() { h.h.failWith = fmt.Errorf("checking: %w", encoding.ErrInvalidSliver) },
			func() error { _, err := c.GetStatus(ctx, p, eb.BlobID); return err },
			ErrInvalid, ProtocolStatusGet, 1},
		{"internal", func() { h.h.failWith = errors.New("disk on fire") },
			func() error { _, err := c.GetStatus(ctx, p, eb.BlobID); return err },
			ErrInternal, ProtocolStatusGet, 1},
		{"duplicate indices, refused locally", nil,
			func() error { _, err := c.GetSlivers(ctx, p, eb.BlobID, 0, []uint16{1, 1}, 100); return err },
			ErrInvalid, ProtocolSliverGet, 0},
		{"no slivers, refused locally", nil,
			func() error { _, err := c.PutSlivers(ctx, p, eb.BlobID, nil); return err },
			ErrInvalid, ProtocolSliverPut, 0},
		{"too many targets, refused locally", nil,
			func() error {
				_, err := c.GetRecoverySymbols(ctx, p, eb.BlobID, 0, make([]uint16, MaxRecoveryTargets+1), 2, 10)
				return err
			},
			ErrTooLarge, ProtocolRecoveryGet, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.set(func(m *memHandler) {
				m.h = hooks{}
				if tt.setup != nil {
					tt.setup()
				}
			})
			defer h.set(func(m *memHandler) { m.h = hooks{} })
			before := h.calls.Load()
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var re *RequestError
			if !errors.As(err, &re) || re.Peer != p || re.Protocol != tt.proto {
				t.Fatalf("err %v is not a RequestError for %s %s", err, p, tt.proto)
			}
			if got := h.calls.Load() - before; got != tt.handlers {
				t.Errorf("%d handler calls, want %d", got, tt.handlers)
			}
			if strings.Contains(err.Error(), "disk on fire") {
				t.Errorf("an internal error's text reached the caller: %v", err)
			}
		})
	}
}

// TestPerSliverErrors checks that one bad sliver does not fail the others, in
// both directions.
func TestPerSliverErrors(t *testing.T) {
	n := newTestNet(t, nil, nil)
	_, eb := testBlob(t, 10, 5000, 10)
	ctx, p, c, h := t.Context(), n.node.ID(), n.client, n.handler
	h.register(eb.BlobID)
	if err := c.PutMetadata(ctx, p, eb.BlobID, eb.Metadata); err != nil {
		t.Fatal(err)
	}
	h.set(func(m *memHandler) { m.notAssigned[sliverKey{eb.BlobID, encoding.Primary, 2}] = true })
	slivers := slices.Clone(eb.Primary)
	bad := slivers[5]
	bad.Data = bad.Data[:len(bad.Data)-int(bad.SymbolSize)] // one symbol short
	slivers[5] = bad

	rejected, err := c.PutSlivers(ctx, p, eb.BlobID, slivers)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 2 {
		t.Fatalf("rejected %v, want slivers 2 and 5", rejected)
	}
	if r := rejected[0]; r.Axis != encoding.Primary || r.Index != 2 || !errors.Is(&r, ErrNotAssigned) {
		t.Errorf("first rejection %v, want primary 2 not assigned", &r)
	}
	if r := rejected[1]; r.Index != 5 || !errors.Is(&r, ErrInvalid) {
		t.Errorf("second rejection %v, want primary 5 invalid", &r)
	}
	if got := h.commits.Load(); got != 1 {
		t.Errorf("%d commits", got)
	}

	res, err := c.GetSlivers(ctx, p, eb.BlobID, encoding.Primary, []uint16{0, 2, 5, 9}, len(eb.Primary[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, ErrNotAssigned, ErrNotFound, nil} {
		idx := []uint16{0, 2, 5, 9}[i]
		if want == nil {
			if res[i].Err != nil || !sameSliver(res[i].Sliver, eb.Primary[idx]) {
				t.Errorf("sliver %d: %v", idx, res[i].Err)
			}
			continue
		}
		var se *SliverError
		if !errors.Is(res[i].Err, want) || !errors.As(res[i].Err, &se) || se.Index != idx || se.Axis != encoding.Primary {
			t.Errorf("sliver %d: err %v, want %v", idx, res[i].Err, want)
		}
	}
}

// rawCase is a request written straight onto a stream, bypassing the Client.
type rawCase struct {
	name  string
	proto protocol.ID
	bytes []byte
	want  ErrorCode
}

// runRaw sends each case and checks the error response and that the handler
// saw nothing.
func runRaw(t *testing.T, n *testNet, cases []rawCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := n.handler.calls.Load() + n.handler.sliversTaken.Load()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			raw, err := rawExchange(ctx, n.chost, n.node.ID(), tt.proto, tt.bytes, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := remoteCode(t, oneResponse(t, raw)); got != tt.want {
				t.Fatalf("code %v, want %v", got, tt.want)
			}
			if got := n.handler.calls.Load() + n.handler.sliversTaken.Load() - before; got != 0 {
				t.Errorf("the handler was called %d times", got)
			}
		})
	}
}

func TestBadRequestFrames(t *testing.T) {
	n := newTestNet(t, nil, nil)
	over := func(limit int) []byte { return append(appendFrameLen(nil, limit+1), make([]byte, 100)...) }
	blobReq := frameOf(encodeBCS(&blobRequest{BlobID: blobID1}))
	var cases []rawCase
	for _, p := range []struct {
		proto protocol.ID
		limit int
	}{
		{ProtocolMetadataPut, MaxMetadataFrameSize},
		{ProtocolMetadataGet, MaxRequestFrameSize},
		{ProtocolSliverPut, MaxRequestFrameSize},
		{ProtocolSliverGet, MaxRequestFrameSize},
		{ProtocolConfirmationGet, MaxRequestFrameSize},
		{ProtocolRecoveryGet, MaxRequestFrameSize},
		{ProtocolStatusGet, MaxRequestFrameSize},
	} {
		name := strings.TrimPrefix(string(p.proto), "/walrus/")
		cases = append(cases,
			rawCase{name + " over the cap", p.proto, over(p.limit), CodeTooLarge},
			rawCase{name + " huge prefix", p.proto, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, CodeTooLarge},
			rawCase{name + " empty stream", p.proto, nil, CodeInvalid},
			rawCase{name + " truncated frame", p.proto, blobReq[:10], CodeInvalid},
			rawCase{name + " truncated prefix", p.proto, []byte{0x80}, CodeInvalid},
			rawCase{name + " non-minimal prefix", p.proto, []byte{0x80, 0x00}, CodeInvalid},
			rawCase{name + " not BCS", p.proto, frameOf([]byte("garbage")), CodeInvalid},
		)
	}
	cases = append(cases,
		rawCase{"sliver/get axis 2", ProtocolSliverGet, frameOf(unhex(t, blobID1Hex+"02 01 0100")), CodeInvalid},
		rawCase{"sliver/get no indices", ProtocolSliverGet, frameOf(unhex(t, blobID1Hex+"00 00")), CodeInvalid},
		rawCase{"sliver/get duplicate indices", ProtocolSliverGet, frameOf(unhex(t, blobID1Hex+"00 02 0100 0100")), CodeInvalid},
		rawCase{"recovery too many targets", ProtocolRecoveryGet,
			frameOf(encodeBCS(&recoveryRequest{BlobID: blobID1, Indices: make(bcsVec[uint16], MaxRecoveryTargets+1)})), CodeTooLarge},
		rawCase{"sliver/put no slivers", ProtocolSliverPut, frameOf(encodeBCS(&sliverPutHeader{BlobID: blobID1})), CodeInvalid},
		rawCase{"sliver/put too many slivers", ProtocolSliverPut,
			frameOf(encodeBCS(&sliverPutHeader{BlobID: blobID1, Count: MaxSliversPerRequest + 1})), CodeTooLarge},
		rawCase{"status non-canonical trailing", ProtocolStatusGet, frameOf(append(unhex(t, blobID1Hex), 0)), CodeInvalid},
	)
	runRaw(t, n, cases)
}

// TestBadSliverFrames sends a good header for a registered blob, then bad
// sliver frames: each request is refused, the sink aborted, nothing stored.
func TestBadSliverFrames(t *testing.T) {
	n := newTestNet(t, nil, nil)
	_, eb := testBlob(t, 10, 5000, 11)
	h := n.handler
	h.register(eb.BlobID)
	if err := n.client.PutMetadata(t.Context(), n.node.ID(), eb.BlobID, eb.Metadata); err != nil {
		t.Fatal(err)
	}
	header := func(count uint32) []byte {
		return frameOf(encodeBCS(&sliverPutHeader{BlobID: eb.BlobID, Count: count}))
	}
	good := frameOf(encodeSliverPutFrame(&eb.Primary[0]))
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name   string
		stream []byte
		want   ErrorCode
		taken  int64 // slivers handed to the sink before the bad frame
	}{
		{"sliver frame over the cap", cat(header(1), appendFrameLen(nil, MaxSliverFrameSize+1), make([]byte, 64)), CodeTooLarge, 0},
		{"second frame over the cap", cat(header(2), good, appendFrameLen(nil, MaxSliverFrameSize+1)), CodeTooLarge, 1},
		{"truncated sliver frame", cat(header(1), good[:len(good)/2]), CodeInvalid, 0},
		{"fewer slivers than announced", cat(header(3), good, good), CodeInvalid, 2},
		{"axis 2", cat(header(1), frameOf(append([]byte{2}, eb.Primary[0].MarshalBCS()...))), CodeInvalid, 0},
		{"sliver not BCS", cat(header(1), frameOf([]byte{0, 9, 9})), CodeInvalid, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			taken, aborts, commits := h.sliversTaken.Load(), h.aborts.Load(), h.commits.Load()
			raw, err := rawExchange(t.Context(), n.chost, n.node.ID(), ProtocolSliverPut, tt.stream, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := remoteCode(t, oneResponse(t, raw)); got != tt.want {
				t.Fatalf("code %v, want %v", got, tt.want)
			}
			if got := h.sliversTaken.Load() - taken; got != tt.taken {
				t.Errorf("%d slivers reached the sink, want %d", got, tt.taken)
			}
			if h.aborts.Load()-aborts != 1 || h.commits.Load() != commits {
				t.Errorf("want the sink aborted, not committed")
			}
			h.mu.Lock()
			stored := len(h.slivers)
			h.mu.Unlock()
			if stored != 0 {
				t.Errorf("%d slivers stored", stored)
			}
		})
	}
}

// TestServerDeadline checks that a requester that stalls mid-frame is cut off
// at the server's deadline, and the handler never called.
func TestServerDeadline(t *testing.T) {
	tests := []struct {
		name  string
		opt   ServerOption
		proto protocol.ID
		sent  []byte
	}{
		{"request timeout", WithServerRequestTimeout(300 * time.Millisecond), ProtocolStatusGet,
			frameOf(encodeBCS(&blobRequest{BlobID: blobID1}))[:5]},
		{"transfer timeout", WithServerTransferTimeout(300 * time.Millisecond), ProtocolSliverGet,
			frameOf(encodeBCS(&sliverGetRequest{BlobID: blobID1, Indices: bcsVec[uint16]{1}}))[:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNet(t, []ServerOption{tt.opt}, nil)
			s, err := n.chost.Libp2p().NewStream(t.Context(), n.node.ID(), tt.proto)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.SetDeadline(time.Now().Add(20 * time.Second)) // the test's own bound
			if _, err := s.Write(tt.sent); err != nil {
				t.Fatal(err)
			}
			_, err = s.Read(make([]byte, 1))
			if err == nil || isTimeout(err) {
				t.Fatalf("read = %v, want the server's reset", err)
			}
			if !errors.Is(err, network.ErrReset) {
				t.Errorf("read = %v, want a stream reset", err)
			}
			if got := n.handler.calls.Load() + n.handler.getSlivers.Load(); got != 0 {
				t.Errorf("handler called %d times", got)
			}
		})
	}
}

// TestClientTimeout checks the caller's side of a peer that does not answer.
func TestClientTimeout(t *testing.T) {
	n := newTestNet(t, nil, []ClientOption{WithRequestTimeout(250 * time.Millisecond)})
	block := make(chan struct{})
	n.handler.set(func(m *memHandler) { m.h.block = block })
	defer close(block)
	_, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
	defer cancel()
	c := NewClient(n.chost, WithClientLogger(quiet)) // default timeout: the context's comes first
	_, err = c.GetMetadata(ctx, n.node.ID(), blobID1, 10)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout and context.DeadlineExceeded", err)
	}

	c = NewClient(n.chost, WithClientLogger(quiet), WithTransferTimeout(250*time.Millisecond))
	if _, err := c.GetSlivers(t.Context(), n.node.ID(), blobID1, encoding.Primary, []uint16{1}, 100); !errors.Is(err, ErrTimeout) {
		t.Fatalf("sliver/get: err = %v, want ErrTimeout", err)
	}
}

// TestCancel checks that cancelling the context aborts a request in flight,
// and that the server stops serving a cancelled sliver/get.
func TestCancel(t *testing.T) {
	t.Run("unary", func(t *testing.T) {
		n := newTestNet(t, nil, nil)
		entered, block := make(chan string), make(chan struct{})
		defer close(block)
		n.handler.set(func(m *memHandler) { m.h = hooks{entered: entered, block: block} })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := n.client.GetStatus(ctx, n.node.ID(), blobID1)
			done <- err
		}()
		<-entered
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("sliver/get", func(t *testing.T) {
		// 40 × 1 MiB, cancelled after the second sliver: more than yamux's
		// largest window (16 MiB), so the server must notice.
		n := newTestNet(t, nil, nil)
		h := n.handler
		data := bytes.Repeat([]byte{0x42}, 1<<20)
		const count = 40
		returned := make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		h.set(func(m *memHandler) {
			for i := range count {
				m.slivers[sliverKey{blobID1, encoding.Primary, uint16(i)}] = encoding.Sliver{Axis: encoding.Primary, Index: uint16(i), SymbolSize: 2, Data: data}
			}
			m.h.sliverHook = func(i int) {
				if i == 3 {
					cancel()
					<-returned
				}
			}
		})
		idx := make([]uint16, count)
		for i := range idx {
			idx[i] = uint16(i)
		}
		res, err := n.client.GetSlivers(ctx, n.node.ID(), blobID1, encoding.Primary, idx, len(data))
		close(returned)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(res) != count || !errors.Is(res[count-1].Err, context.Canceled) {
			t.Fatalf("results of a cancelled request: %d, last %v", len(res), res[count-1].Err)
		}
		// The server's writes fail on the reset stream and it stops asking
		// the handler for more; wait for it to let go of the stream.
		for n.server.inFlight() > 0 {
			select {
			case <-t.Context().Done():
				t.Fatal("the server still serves a cancelled stream")
			case <-time.After(5 * time.Millisecond):
			}
		}
		if got := h.getSlivers.Load(); got >= count {
			t.Errorf("the server read all %d slivers of a cancelled request", got)
		}
	})
}

// TestBusy checks the per-peer concurrency limit, and that a sliver/put
// refused early does not wait for its whole body to be sent.
func TestBusy(t *testing.T) {
	n := newTestNet(t, []ServerOption{WithMaxStreamsPerPeer(1)}, nil)
	h := n.handler
	entered, block := make(chan string), make(chan struct{})
	h.set(func(m *memHandler) { m.h = hooks{entered: entered, block: block} })
	first := make(chan error)
	go func() {
		_, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1)
		first <- err
	}()
	<-entered
	h.set(func(m *memHandler) { m.h.entered = nil })

	if _, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1); !errors.Is(err, ErrBusy) {
		t.Fatalf("second request: err = %v, want ErrBusy", err)
	}
	big := make([]encoding.Sliver, 40)
	data := make([]byte, 1<<20)
	for i := range big {
		big[i] = encoding.Sliver{Axis: encoding.Primary, Index: uint16(i), SymbolSize: 2, Data: data}
	}
	if _, err := n.client.PutSlivers(t.Context(), n.node.ID(), blobID1, big); !errors.Is(err, ErrBusy) {
		t.Fatalf("sliver/put while busy: err = %v, want ErrBusy", err)
	}
	// Another peer is not limited by this one's requests: its request
	// reaches the handler while the first one is still there.
	other := newTestHost(t)
	introduce(t, other, n.node, "/tcp/")
	h.set(func(m *memHandler) { m.h.entered = entered })
	second := make(chan error)
	go func() {
		st, err := NewClient(other, WithClientLogger(quiet)).GetStatus(t.Context(), n.node.ID(), blobID1)
		if err == nil && st.Epoch != 7 {
			err = fmt.Errorf("status %+v", st)
		}
		second <- err
	}()
	<-entered
	close(block)
	if err := <-first; err != nil {
		t.Fatalf("first request: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("another peer's request: %v", err)
	}
}

// TestBusyTotal checks the limit on requests in progress from all peers.
func TestBusyTotal(t *testing.T) {
	n := newTestNet(t, []ServerOption{WithMaxStreams(1)}, nil)
	entered, block := make(chan string), make(chan struct{})
	n.handler.set(func(m *memHandler) { m.h = hooks{entered: entered, block: block} })
	first := make(chan error)
	go func() {
		_, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1)
		first <- err
	}()
	<-entered
	other := newTestHost(t)
	introduce(t, other, n.node, "/tcp/")
	if _, err := NewClient(other, WithClientLogger(quiet)).GetStatus(t.Context(), n.node.ID(), blobID1); !errors.Is(err, ErrBusy) {
		t.Fatalf("another peer at the total limit: err = %v, want ErrBusy", err)
	}
	close(block)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := n.handler.calls.Load(); got != 1 {
		t.Errorf("%d handler calls, want 1", got)
	}
}

// TestSizeLimits checks the caps on what a handler returns and what a
// caller sends.
func TestSizeLimits(t *testing.T) {
	n := newTestNet(t, nil, nil)
	ctx, p, c, h := t.Context(), n.node.ID(), n.client, n.handler
	huge := encoding.Sliver{Axis: encoding.Primary, Index: 1, SymbolSize: 2, Data: make([]byte, MaxSliverFrameSize)}
	small := encoding.Sliver{Axis: encoding.Primary, Index: 2, SymbolSize: 2, Data: []byte{1, 2}}

	t.Run("sliver over the frame cap, refused locally", func(t *testing.T) {
		before := h.calls.Load()
		if _, err := c.PutSlivers(ctx, p, blobID1, []encoding.Sliver{small, huge}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if h.calls.Load() != before {
			t.Error("the request went out")
		}
	})
	t.Run("too many slivers, refused locally", func(t *testing.T) {
		idx := make([]uint16, MaxSliversPerRequest+1)
		if _, err := c.GetSlivers(ctx, p, blobID1, encoding.Primary, idx, 2); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("stored sliver over the frame cap", func(t *testing.T) {
		h.set(func(m *memHandler) {
			m.slivers[sliverKey{blobID1, encoding.Primary, 1}] = huge
			m.slivers[sliverKey{blobID1, encoding.Primary, 2}] = small
		})
		res, err := c.GetSlivers(ctx, p, blobID1, encoding.Primary, []uint16{1, 2}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res[0].Err, ErrTooLarge) || res[1].Err != nil || !sameSliver(res[1].Sliver, small) {
			t.Fatalf("results %v / %v", res[0].Err, res[1].Err)
		}
	})
	t.Run("recovery response over the cap", func(t *testing.T) {
		data := make([]byte, encoding.MaxSymbolSize)
		syms := make([]encoding.RecoverySymbol, MaxRecoveryFrameSize/len(data)+1)
		for i := range syms {
			syms[i] = encoding.RecoverySymbol{SourceAxis: encoding.Secondary, SourceIndex: uint16(i), TargetIndex: 0, Data: data}
		}
		node := newTestHost(t)
		srv := NewServer(node, recoveryOnly{newMemHandler(), syms}, WithServerLogger(quiet))
		defer srv.Close()
		introduce(t, n.chost, node, "/tcp/")
		if _, err := c.GetRecoverySymbols(ctx, node.ID(), blobID1, encoding.Primary, []uint16{0}, len(data), encoding.MaxShards); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("error message cap", func(t *testing.T) {
		h.set(func(m *memHandler) { m.h.failWith = fmt.Errorf("%w: %s", ErrNotFound, strings.Repeat("é", 5000)) })
		defer h.set(func(m *memHandler) { m.h = hooks{} })
		_, err := c.GetStatus(ctx, p, blobID1)
		var re *RemoteError
		if !errors.As(err, &re) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
		if len(re.Message) > MaxErrorMessageLen || len(re.Message) < MaxErrorMessageLen-2 || !utf8.ValidString(re.Message) {
			t.Fatalf("message of %d bytes (valid UTF-8: %v), want at most %d", len(re.Message), utf8.ValidString(re.Message), MaxErrorMessageLen)
		}
	})
}

// recoveryOnly is a handler whose GetRecoverySymbols returns fixed symbols.
type recoveryOnly struct {
	*memHandler
	syms []encoding.RecoverySymbol
}

func (r recoveryOnly) GetRecoverySymbols(context.Context, encoding.BlobID, encoding.Axis, []uint16) ([]encoding.RecoverySymbol, error) {
	return r.syms, nil
}

// TestEarlyRefusal checks that a large sliver/put for an unregistered blob is
// refused as soon as the header is read.
func TestEarlyRefusal(t *testing.T) {
	n := newTestNet(t, nil, []ClientOption{WithTransferTimeout(20 * time.Second)})
	big := make([]encoding.Sliver, 64)
	data := make([]byte, 1<<20)
	for i := range big {
		big[i] = encoding.Sliver{Axis: encoding.Secondary, Index: uint16(i), SymbolSize: 2, Data: data}
	}
	_, err := n.client.PutSlivers(t.Context(), n.node.ID(), blobID1, big)
	if !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("err = %v, want ErrNotRegistered", err)
	}
	if got := n.handler.sliversTaken.Load(); got != 0 {
		t.Errorf("%d slivers reached a handler that refused the request", got)
	}
}

func TestHandlerPanics(t *testing.T) {
	n := newTestNet(t, nil, nil)
	_, eb := testBlob(t, 10, 3000, 12)
	h := n.handler
	h.register(eb.BlobID)
	if err := n.client.PutMetadata(t.Context(), n.node.ID(), eb.BlobID, eb.Metadata); err != nil {
		t.Fatal(err)
	}
	h.set(func(m *memHandler) { m.h.panicIn = "GetStatus" })
	if _, err := n.client.GetStatus(t.Context(), n.node.ID(), eb.BlobID); !errors.Is(err, ErrInternal) {
		t.Fatalf("err = %v, want ErrInternal", err)
	}
	h.set(func(m *memHandler) { m.h.panicIn = "PutSliver" })
	rejected, err := n.client.PutSlivers(t.Context(), n.node.ID(), eb.BlobID, eb.Primary[:3])
	if err != nil || len(rejected) != 3 || !errors.Is(&rejected[0], ErrInternal) {
		t.Fatalf("rejected %v, err %v: want three internal errors", rejected, err)
	}
	h.set(func(m *memHandler) { m.h.panicIn = "" })
	if _, err := n.client.GetMetadata(t.Context(), n.node.ID(), eb.BlobID, 10); err != nil {
		t.Fatalf("after the panics: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	n := newTestNet(t, nil, nil)
	tests := []struct {
		name  string
		setup func(stranger *Host)
	}{
		{"no address", func(*Host) {}},
		{"no server", func(stranger *Host) { introduce(t, n.chost, stranger, "/tcp/") }},
		{"host closed", func(stranger *Host) {
			introduce(t, n.chost, stranger, "/tcp/")
			stranger.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stranger := newTestHost(t)
			tt.setup(stranger)
			_, err := n.client.GetStatus(t.Context(), stranger.ID(), blobID1)
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestServerClose(t *testing.T) {
	n := newTestNet(t, nil, nil)
	h := n.handler
	entered := make(chan string)
	// block is never closed: Close must end the call.
	h.set(func(m *memHandler) { m.h = hooks{entered: entered, block: make(chan struct{})} })
	done := make(chan error)
	go func() {
		_, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1)
		done <- err
	}()
	<-entered
	if err := n.server.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("a request in flight survived Close")
	}
	if got := n.server.inFlight(); got != 0 {
		t.Errorf("%d streams in flight after Close", got)
	}
	if _, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after Close: err = %v, want ErrUnavailable", err)
	}
	if err := n.server.Close(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// lyingPeer serves proto with fn on a bare host: a peer that breaks the
// protocol.
func lyingPeer(t *testing.T, n *testNet, proto protocol.ID, fn func(s network.Stream)) {
	t.Helper()
	n.node.Libp2p().SetStreamHandler(proto, func(s network.Stream) {
		defer s.Close()
		newFrameReader(s, nil).next(MaxMetadataFrameSize, false)
		fn(s)
	})
}

func TestProtocolViolations(t *testing.T) {
	_, eb := testBlob(t, 10, 3000, 13)
	_, other := testBlob(t, 10, 3000, 14)
	tests := []struct {
		name  string
		proto protocol.ID
		serve func(s network.Stream)
		call  func(c *Client, p peer.ID) error
		also  error
	}{
		{"oversized response", ProtocolStatusGet,
			func(s network.Stream) { s.Write(appendFrameLen(nil, MaxRequestFrameSize+1)) },
			func(c *Client, p peer.ID) error { _, err := c.GetStatus(t.Context(), p, blobID1); return err },
			ErrFrameTooLarge},
		{"truncated response", ProtocolStatusGet,
			func(s network.Stream) { s.Write([]byte{10, 0, 1}) },
			func(c *Client, p peer.ID) error { _, err := c.GetStatus(t.Context(), p, blobID1); return err },
			ErrTruncated},
		{"no response", ProtocolStatusGet,
			func(s network.Stream) {},
			func(c *Client, p peer.ID) error { _, err := c.GetStatus(t.Context(), p, blobID1); return err },
			ErrTruncated},
		{"garbage response", ProtocolStatusGet,
			func(s network.Stream) { writeFrame(s, []byte{0, 1}) },
			func(c *Client, p peer.ID) error { _, err := c.GetStatus(t.Context(), p, blobID1); return err },
			ErrMalformed},
		{"metadata of another blob", ProtocolMetadataGet,
			func(s network.Stream) { writeFrame(s, encodeOK(&bcsMetadata{other.Metadata})) },
			func(c *Client, p peer.ID) error { _, err := c.GetMetadata(t.Context(), p, eb.BlobID, 10); return err },
			nil},
		{"wrong sliver", ProtocolSliverGet,
			func(s network.Stream) { writeFrame(s, encodeSliverGetFrame(&eb.Primary[4])) },
			func(c *Client, p peer.ID) error {
				_, err := c.GetSlivers(t.Context(), p, eb.BlobID, encoding.Primary, []uint16{3}, len(eb.Primary[3].Data))
				return err
			},
			nil},
		{"symbols of the wrong axis", ProtocolRecoveryGet,
			func(s network.Stream) {
				sym := bcsRecoverySymbol{SourceAxis: encoding.Primary, SourceIndex: 1, TargetIndex: 2, Data: []byte{1, 2}}
				writeFrame(s, encodeOK(&recoveryResponse{Symbols: bcsVec[bcsRecoverySymbol]{sym}}))
			},
			func(c *Client, p peer.ID) error {
				_, err := c.GetRecoverySymbols(t.Context(), p, eb.BlobID, encoding.Primary, []uint16{2}, 2, 10)
				return err
			},
			nil},
		{"more rejections than slivers", ProtocolSliverPut,
			func(s network.Stream) {
				f := sliverFailure{Error: wireError{Code: 1}}
				writeFrame(s, encodeOK(&sliverPutResponse{Rejected: bcsVec[sliverFailure]{f, f}}))
			},
			func(c *Client, p peer.ID) error {
				_, err := c.PutSlivers(t.Context(), p, eb.BlobID, eb.Primary[:1])
				return err
			},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNet(t, nil, nil)
			lyingPeer(t, n, tt.proto, tt.serve)
			err := tt.call(n.client, n.node.ID())
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Fatalf("err = %v, want %v too", err, tt.also)
			}
		})
	}
}

// TestConcurrentClients runs puts and gets of many blobs from two client
// hosts at once against one server.
func TestConcurrentClients(t *testing.T) {
	n := newTestNet(t, nil, nil)
	other := newTestHost(t)
	introduce(t, other, n.node, "/quic-v1")
	clients := []*Client{n.client, NewClient(other, WithClientLogger(quiet))}
	const perClient = 6
	var wg sync.WaitGroup
	errs := make(chan error, 2*perClient)
	for ci, c := range clients {
		for j := range perClient {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- putAndGet(t.Context(), c, n, uint64(100+ci*perClient+j))
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func putAndGet(ctx context.Context, c *Client, n *testNet, seed uint64) error {
	_, eb := testBlob(nopTB{}, 7, 2000+int(seed), seed)
	n.handler.register(eb.BlobID)
	p := n.node.ID()
	if err := c.PutMetadata(ctx, p, eb.BlobID, eb.Metadata); err != nil {
		return err
	}
	if rej, err := c.PutSlivers(ctx, p, eb.BlobID, allSlivers(eb)); err != nil || len(rej) > 0 {
		return fmt.Errorf("put: %v %v", rej, err)
	}
	res, err := c.GetSlivers(ctx, p, eb.BlobID, encoding.Secondary, indicesOf(eb.Secondary), len(eb.Secondary[0].Data))
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Err != nil || !sameSliver(r.Sliver, eb.Secondary[i]) {
			return fmt.Errorf("blob %s sliver %d: %v", eb.BlobID, i, r.Err)
		}
	}
	st, err := c.GetStatus(ctx, p, eb.BlobID)
	if err != nil || st.StoredSlivers != 14 || !st.HasMetadata {
		return fmt.Errorf("status %+v, %v", st, err)
	}
	return nil
}

// nopTB lets testBlob run off the test goroutine; encoding fixed, valid
// input never fails.
type nopTB struct{ testing.TB }

func (nopTB) Helper()               {}
func (nopTB) Fatal(args ...any)     { panic(fmt.Sprint(args...)) }
func (nopTB) Fatalf(string, ...any) { panic("testBlob failed") }
