package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs/bcstest"
)

// syncHandler is a ShardSyncHandler over a fixed set of pairs of one shard,
// served to the peer assigned it in one epoch. The rest of Handler is a
// memHandler's.
type syncHandler struct {
	*memHandler
	epoch    uint32
	shard    uint16
	assigned peer.ID
	pairs    []*ShardSyncPair // in blob-ID order, with metadata

	calls atomic.Int64
	// mutate, if set, changes the i-th pair sent (a handler that breaks
	// the contract); ignoreFull keeps sending after send says stop.
	mutate     func(i int, p *ShardSyncPair) *ShardSyncPair
	ignoreFull bool
	failAfter  int           // if > 0, return an error after this many pairs
	stall      chan struct{} // if set, every call waits for it (or its context)
}

func (h *syncHandler) SyncShard(ctx context.Context, req ShardSyncRequest, send func(*ShardSyncPair) (bool, error)) (ShardSyncEnd, error) {
	h.calls.Add(1)
	if h.stall != nil {
		select {
		case <-h.stall:
		case <-ctx.Done():
			return ShardSyncEnd{}, ctx.Err()
		}
	}
	who, ok := RemotePeer(ctx)
	if !ok || who != h.assigned || req.Shard != h.shard || req.Epoch != h.epoch {
		return ShardSyncEnd{}, fmt.Errorf("%w: shard %d in epoch %d is not %s's", ErrNotAssigned, req.Shard, req.Epoch, who)
	}
	end := ShardSyncEnd{Next: req.After}
	sent := 0
	for _, p := range h.pairs {
		if req.After != nil && bytes.Compare(p.BlobID[:], req.After[:]) <= 0 {
			continue
		}
		if h.failAfter > 0 && sent == h.failAfter {
			return end, fmt.Errorf("%w: disk failed", ErrBusy)
		}
		out := *p
		if !req.WithMetadata {
			out.Metadata = nil
		}
		if h.mutate != nil {
			out = *h.mutate(sent, &out)
		}
		more, err := send(&out)
		if err != nil {
			return end, err
		}
		sent++
		id := p.BlobID
		end.Next = &id
		if !more && !h.ignoreFull {
			return end, nil
		}
	}
	return end, nil
}

var _ ShardSyncHandler = (*syncHandler)(nil)

// syncPairs encodes count blobs for n shards and returns the pairs of shard,
// in blob-ID order.
func syncPairs(tb testing.TB, n, count, size int, shard uint16) []*ShardSyncPair {
	tb.Helper()
	var out []*ShardSyncPair
	for i := range count {
		_, eb := testBlob(tb, n, size, uint64(1000+i))
		out = append(out, &ShardSyncPair{BlobID: eb.BlobID, Metadata: eb.Metadata,
			Pair: eb.Pair(eb.BlobID.PairForShard(int(shard), n))})
	}
	slices.SortFunc(out, func(a, b *ShardSyncPair) int { return bytes.Compare(a.BlobID[:], b.BlobID[:]) })
	return out
}

// syncNet is a node serving a syncHandler and a client host that knows it.
type syncNet struct {
	node, chost *Host
	handler     *syncHandler
	client      *Client
}

func newSyncNet(tb testing.TB, pairs []*ShardSyncPair, copts ...ClientOption) *syncNet {
	tb.Helper()
	n := &syncNet{node: newTestHost(tb), chost: newTestHost(tb)}
	n.handler = &syncHandler{memHandler: newMemHandler(), epoch: 5, shard: 3, assigned: n.chost.ID(), pairs: pairs}
	srv := NewServer(n.node, n.handler, WithServerLogger(quiet))
	tb.Cleanup(func() { srv.Close() })
	introduce(tb, n.chost, n.node, "/tcp/")
	n.client = NewClient(n.chost, append([]ClientOption{WithClientLogger(quiet)}, copts...)...)
	return n
}

// pullAll pulls the whole shard limit pairs at a time, as a syncing node
// does, and returns the pairs and the number of responses.
func pullAll(ctx context.Context, c *Client, p peer.ID, req ShardSyncRequest) ([]*ShardSyncPair, int, error) {
	var got []*ShardSyncPair
	for responses := 1; ; responses++ {
		end, err := c.SyncShard(ctx, p, req, func(sp *ShardSyncPair) error {
			got = append(got, sp)
			return nil
		})
		if err != nil {
			return got, responses, err
		}
		if !end.More {
			return got, responses, nil
		}
		req.After = end.Next
	}
}

func samePair(a, b *ShardSyncPair) bool {
	return a.BlobID == b.BlobID && sameSliver(a.Pair.Primary, b.Pair.Primary) && sameSliver(a.Pair.Secondary, b.Pair.Secondary) &&
		a.Pair.Primary.Axis == encoding.Primary && b.Pair.Secondary.Axis == encoding.Secondary
}

// TestShardSyncRoundTrip pulls a shard a few pairs at a time, with and
// without metadata, and gets every pair in blob-ID order, once.
func TestShardSyncRoundTrip(t *testing.T) {
	pairs := syncPairs(t, 10, 7, 3000, 3)
	n := newSyncNet(t, pairs)
	for _, tt := range []struct {
		limit     uint32
		metadata  bool
		responses int
	}{
		{3, false, 3}, // 3 + 3 + 1
		{7, true, 2},  // a full response says More: the next one is empty
		{1, true, 8},
		{MaxShardSyncLimit, false, 1},
	} {
		t.Run(fmt.Sprintf("limit=%d,metadata=%v", tt.limit, tt.metadata), func(t *testing.T) {
			got, responses, err := pullAll(t.Context(), n.client, n.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, Limit: tt.limit, WithMetadata: tt.metadata})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(pairs) || responses != tt.responses {
				t.Fatalf("%d pairs in %d responses, want %d in %d", len(got), responses, len(pairs), tt.responses)
			}
			for i := range got {
				if !samePair(got[i], pairs[i]) {
					t.Fatalf("pair %d differs", i)
				}
				if (got[i].Metadata != nil) != tt.metadata {
					t.Fatalf("pair %d: metadata %v, asked %v", i, got[i].Metadata != nil, tt.metadata)
				}
				if tt.metadata && !bytes.Equal(got[i].Metadata.MarshalBCS(), pairs[i].Metadata.MarshalBCS()) {
					t.Fatalf("pair %d: metadata differs", i)
				}
			}
		})
	}
	t.Run("resume from a cursor", func(t *testing.T) {
		after := pairs[3].BlobID
		got, _, err := pullAll(t.Context(), n.client, n.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, After: &after, Limit: 2})
		if err != nil || len(got) != 3 || !samePair(got[0], pairs[4]) {
			t.Fatalf("%d pairs from after pair 3, %v", len(got), err)
		}
	})
	t.Run("past the end", func(t *testing.T) {
		after := pairs[len(pairs)-1].BlobID
		end, err := n.client.SyncShard(t.Context(), n.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, After: &after, Limit: 2},
			func(*ShardSyncPair) error { t.Fatal("a pair past the end"); return nil })
		if err != nil || end.More || end.Next == nil || *end.Next != after {
			t.Fatalf("end %+v, %v", end, err)
		}
	})
}

// TestShardSyncAuthorization: only the assigned peer, for its shard and
// epoch, gets pairs; the handler sees who asks.
func TestShardSyncAuthorization(t *testing.T) {
	n := newSyncNet(t, syncPairs(t, 10, 2, 1000, 3))
	stranger := newTestHost(t)
	introduce(t, stranger, n.node, "/tcp/")
	for _, tt := range []struct {
		name string
		c    *Client
		req  ShardSyncRequest
	}{
		{"another peer", NewClient(stranger, WithClientLogger(quiet)), ShardSyncRequest{Epoch: 5, Shard: 3, Limit: 10}},
		{"another shard", n.client, ShardSyncRequest{Epoch: 5, Shard: 4, Limit: 10}},
		{"another epoch", n.client, ShardSyncRequest{Epoch: 6, Shard: 3, Limit: 10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.SyncShard(t.Context(), n.node.ID(), tt.req, func(*ShardSyncPair) error {
				t.Fatal("a pair for an unassigned requester")
				return nil
			})
			var re *RequestError
			if !errors.Is(err, ErrNotAssigned) || !errors.As(err, &re) || re.Protocol != ProtocolShardSyncGet {
				t.Fatalf("err = %v, want ErrNotAssigned", err)
			}
		})
	}
}

// TestShardSyncBadRequests: limits out of range are refused before the
// handler is called, by the client and by the server.
func TestShardSyncBadRequests(t *testing.T) {
	n := newSyncNet(t, nil)
	for _, tt := range []struct {
		limit uint32
		want  error
		code  ErrorCode
	}{{0, ErrInvalid, CodeInvalid}, {MaxShardSyncLimit + 1, ErrTooLarge, CodeTooLarge}} {
		req := ShardSyncRequest{Epoch: 5, Shard: 3, Limit: tt.limit}
		if _, err := n.client.SyncShard(t.Context(), n.node.ID(), req, nil); !errors.Is(err, tt.want) {
			t.Errorf("limit %d: client err = %v, want %v", tt.limit, err, tt.want)
		}
		raw, err := rawExchange(t.Context(), n.chost, n.node.ID(), ProtocolShardSyncGet, frameOf(encodeBCS(&req)), true)
		if err != nil {
			t.Fatal(err)
		}
		if got := remoteCode(t, oneResponse(t, raw)); got != tt.code {
			t.Errorf("limit %d: server code %v, want %v", tt.limit, got, tt.code)
		}
	}
	for name, frame := range map[string][]byte{
		"malformed request": frameOf([]byte{5, 0, 0, 0, 3, 0, 2}),
		"oversized request": append(appendFrameLen(nil, MaxRequestFrameSize+1), 0),
		"no request":        nil,
	} {
		raw, err := rawExchange(t.Context(), n.chost, n.node.ID(), ProtocolShardSyncGet, frame, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := remoteCode(t, oneResponse(t, raw)); got != CodeInvalid && got != CodeTooLarge {
			t.Errorf("%s: code %v", name, got)
		}
	}
	if got := n.handler.calls.Load(); got != 0 {
		t.Errorf("the handler was called %d times", got)
	}
}

// TestShardSyncHandlerContract: a handler that breaks the contract (order,
// shard, metadata, sending past full) gets its requester an ErrInternal
// after the pairs before it; a handler's own error is sent as is.
func TestShardSyncHandlerContract(t *testing.T) {
	pairs := syncPairs(t, 10, 4, 1000, 3)
	other := syncPairs(t, 10, 1, 1000, 4)[0]
	for _, tt := range []struct {
		name   string
		setup  func(h *syncHandler)
		want   error
		before int // pairs the requester gets first
	}{
		{"out of order", func(h *syncHandler) {
			h.mutate = func(i int, p *ShardSyncPair) *ShardSyncPair {
				if i == 1 {
					q := *pairs[0]
					q.Metadata = nil
					return &q
				}
				return p
			}
		}, ErrInternal, 1},
		{"another shard's pair", func(h *syncHandler) {
			h.mutate = func(i int, p *ShardSyncPair) *ShardSyncPair {
				if i == 1 {
					return &ShardSyncPair{BlobID: other.BlobID, Pair: other.Pair}
				}
				return p
			}
		}, ErrInternal, 1},
		{"metadata not asked for", func(h *syncHandler) {
			h.mutate = func(i int, p *ShardSyncPair) *ShardSyncPair {
				q := *p
				q.Metadata = pairs[i].Metadata
				return &q
			}
		}, ErrInternal, 0},
		{"sends past full", func(h *syncHandler) { h.ignoreFull = true }, ErrInternal, 2},
		{"handler error", func(h *syncHandler) { h.failAfter = 1 }, ErrBusy, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newSyncNet(t, pairs)
			tt.setup(n.handler)
			var got []*ShardSyncPair
			_, err := n.client.SyncShard(t.Context(), n.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, Limit: 2}, func(p *ShardSyncPair) error {
				got = append(got, p)
				return nil
			})
			if !errors.Is(err, tt.want) || len(got) != tt.before {
				t.Fatalf("err = %v after %d pairs, want %v after %d", err, len(got), tt.want, tt.before)
			}
		})
	}
}

// TestShardSyncProtocolViolations: a peer whose response breaks the protocol
// is ErrProtocol (wrapping the framing error where there is one), and the
// pairs before the violation stay taken.
func TestShardSyncProtocolViolations(t *testing.T) {
	full := syncPairs(t, 10, 3, 1000, 3)
	var pairs []*ShardSyncPair // without metadata, as asked for by default
	for _, p := range full {
		q := *p
		q.Metadata = nil
		pairs = append(pairs, &q)
	}
	other := syncPairs(t, 10, 1, 1000, 4)[0]
	other.Metadata = nil
	write := func(s network.Stream, ps []*ShardSyncPair, end any) {
		w := bufio.NewWriter(s)
		writeShardSyncStream(t, w, ps, end)
	}
	withMD := func(p *ShardSyncPair, md *encoding.Metadata) *ShardSyncPair { q := *p; q.Metadata = md; return &q }
	back := pairs[0].BlobID
	tests := []struct {
		name     string
		serve    func(s network.Stream)
		metadata bool
		before   int
		also     error
	}{
		{"out of order", func(s network.Stream) { write(s, []*ShardSyncPair{pairs[1], pairs[0]}, ShardSyncEnd{}) }, false, 1, nil},
		{"repeated pair", func(s network.Stream) { write(s, []*ShardSyncPair{pairs[0], pairs[0]}, ShardSyncEnd{}) }, false, 1, nil},
		{"another shard", func(s network.Stream) { write(s, []*ShardSyncPair{other}, ShardSyncEnd{}) }, false, 0, nil},
		{"more than the limit", func(s network.Stream) { write(s, pairs, ShardSyncEnd{Next: &pairs[2].BlobID}) }, false, 2, nil},
		{"metadata missing", func(s network.Stream) { write(s, pairs[:1], ShardSyncEnd{Next: &pairs[0].BlobID}) }, true, 0, nil},
		{"metadata of another blob", func(s network.Stream) {
			write(s, []*ShardSyncPair{withMD(pairs[0], full[1].Metadata)}, ShardSyncEnd{Next: &pairs[0].BlobID})
		}, true, 0, nil},
		{"cursor moves back", func(s network.Stream) { write(s, pairs[1:2], ShardSyncEnd{Next: &back}) }, false, 1, nil},
		{"no cursor after pairs", func(s network.Stream) { write(s, pairs[:1], ShardSyncEnd{}) }, false, 1, nil},
		{"stream ends without an end", func(s network.Stream) { write(s, pairs[:1], nil) }, false, 1, ErrTruncated},
		{"stream cut inside a pair", func(s network.Stream) {
			var b bytes.Buffer
			writeShardSyncPair(&b, pairs[0], nil)
			s.Write(b.Bytes()[:b.Len()-7])
		}, false, 0, ErrTruncated},
		{"oversized frame", func(s network.Stream) { s.Write(appendFrameLen(nil, MaxShardSyncFrameSize+1)) }, false, 0, ErrFrameTooLarge},
		{"garbage frame", func(s network.Stream) { writeFrame(s, []byte{7, 1, 2}) }, false, 0, ErrMalformed},
		{"bad symbol size", func(s network.Stream) {
			bad := *pairs[0]
			bad.Pair.Secondary.SymbolSize = 3
			write(s, []*ShardSyncPair{&bad}, ShardSyncEnd{})
		}, false, 0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNet(t, nil, nil)
			lyingPeer(t, n, ProtocolShardSyncGet, tt.serve)
			var got int
			_, err := n.client.SyncShard(t.Context(), n.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, Limit: 2, WithMetadata: tt.metadata},
				func(*ShardSyncPair) error { got++; return nil })
			if !errors.Is(err, ErrProtocol) || got != tt.before {
				t.Fatalf("err = %v after %d pairs, want ErrProtocol after %d", err, got, tt.before)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Fatalf("err = %v, want %v too", err, tt.also)
			}
		})
	}
}

// TestShardSyncCallerStops: fn's error ends the exchange and comes back as
// is; a node without a ShardSyncHandler does not serve the protocol.
func TestShardSyncCallerStops(t *testing.T) {
	n := newSyncNet(t, syncPairs(t, 10, 4, 1000, 3))
	stop := errors.New("caller stops")
	calls := 0
	_, err := n.client.SyncShard(t.Context(), n.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, Limit: 4}, func(*ShardSyncPair) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("err = %v after %d calls, want the caller's error after 1", err, calls)
	}
	plain := newTestNet(t, nil, nil)
	if _, err := plain.client.SyncShard(t.Context(), plain.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, Limit: 4}, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a server without a ShardSyncHandler: err = %v, want ErrUnavailable", err)
	}
}

// TestShardSyncDeadline: a handler that stalls is cut by the client's
// transfer timeout.
func TestShardSyncDeadline(t *testing.T) {
	n := newSyncNet(t, syncPairs(t, 10, 1, 1000, 3), WithTransferTimeout(300*time.Millisecond))
	n.handler.stall = make(chan struct{}) // never closed: the Server's Close ends the call
	done := make(chan error, 1)
	go func() {
		_, err := n.client.SyncShard(t.Context(), n.node.ID(), ShardSyncRequest{Epoch: 5, Shard: 3, Limit: 4}, func(*ShardSyncPair) error { return nil })
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stalled shard sync outlived the client's timeout")
	}
}

// TestShardSyncFramesAreBCS pins the hand-written frames to go-bcs's encoding
// of the same structures.
func TestShardSyncFramesAreBCS(t *testing.T) {
	type sliverData struct {
		Data       []byte
		SymbolSize uint16
		Index      uint16
	}
	type pairWire struct {
		Tag       uint8
		BlobID    [32]byte
		Metadata  *bcsMetadata `bcs:"optional"`
		Primary   sliverData
		Secondary sliverData
	}
	p := syncPairs(t, 10, 1, 5000, 3)[0]
	for _, md := range []*encoding.Metadata{nil, p.Metadata} {
		q := *p
		q.Metadata = md
		w := pairWire{BlobID: q.BlobID,
			Primary:   sliverData{q.Pair.Primary.Data, q.Pair.Primary.SymbolSize, q.Pair.Primary.Index},
			Secondary: sliverData{q.Pair.Secondary.Data, q.Pair.Secondary.SymbolSize, q.Pair.Secondary.Index}}
		if md != nil {
			w.Metadata = &bcsMetadata{md}
		}
		want := encodeBCS(&w)
		if got := encodeShardSyncPairFrame(&q); !bytes.Equal(got, want) {
			t.Errorf("metadata %v: pair frame differs from go-bcs", md != nil)
		}
		var streamed bytes.Buffer
		var mdb []byte
		if md != nil {
			mdb = md.MarshalBCS()
		}
		if n, err := writeShardSyncPair(&streamed, &q, mdb); err != nil || n != len(want) || !bytes.Equal(streamed.Bytes(), frameOf(want)) {
			t.Errorf("metadata %v: streamed pair frame differs from go-bcs (%v)", md != nil, err)
		}
	}
	type endWire struct {
		Tag  uint8
		Next *[32]byte `bcs:"optional"`
		More bool
	}
	next := [32]byte{9}
	for _, e := range []ShardSyncEnd{{}, {Next: (*encoding.BlobID)(&next), More: true}} {
		w := endWire{Tag: 2, More: e.More}
		if e.Next != nil {
			w.Next = (*[32]byte)(e.Next)
		}
		if got := encodeShardSyncEndFrame(e); !bytes.Equal(got, encodeBCS(&w)) {
			t.Errorf("end frame %+v differs from go-bcs", e)
		}
	}
}

// writeShardSyncStream writes a whole shard-sync/get response as a Server
// does: a frame per pair, then the end (a ShardSyncEnd, a wireError, or nil
// for none).
func writeShardSyncStream(tb testing.TB, w *bufio.Writer, pairs []*ShardSyncPair, end any) {
	tb.Helper()
	for _, p := range pairs {
		var md []byte
		if p.Metadata != nil {
			md = p.Metadata.MarshalBCS()
		}
		if _, err := writeShardSyncPair(w, p, md); err != nil {
			tb.Log(err) // a peer that stopped reading; the test checks the requester
			return
		}
	}
	switch e := end.(type) {
	case ShardSyncEnd:
		_ = writeFrame(w, encodeShardSyncEndFrame(e))
	case wireError:
		_ = writeFrame(w, encodeShardSyncErrFrame(e))
	}
	_ = w.Flush()
}

// Golden files and fuzz targets of shard-sync/get.

// goldenSyncPair is a pair of the golden metadata's blob (n = 4) on the
// shard pair 1 maps to.
func goldenSyncPair(withMetadata bool) *ShardSyncPair {
	md, id := goldenMetadata()
	p := &ShardSyncPair{BlobID: id, Pair: encoding.SliverPair{
		Primary:   encoding.Sliver{Axis: encoding.Primary, Index: 1, SymbolSize: 2, Data: []byte{0xa0, 0xa1, 0xa2, 0xa3}},
		Secondary: encoding.Sliver{Axis: encoding.Secondary, Index: 2, SymbolSize: 2, Data: []byte{0xb0, 0xb1}},
	}}
	if withMetadata {
		p.Metadata = md
	}
	return p
}

func shardSyncGoldenCases(tb testing.TB) []goldenCase {
	_, id := goldenMetadata()
	shard := uint16(id.ShardForPair(1, 4))
	one := func(title string, payload []byte, dissect func(*bcstest.Dump), decode func([]byte) ([]byte, error)) goldenPart {
		return goldenPart{title, payload, dissect, decode}
	}
	var stream bytes.Buffer
	w := bufio.NewWriter(&stream)
	writeShardSyncStream(tb, w, []*ShardSyncPair{goldenSyncPair(false)}, ShardSyncEnd{Next: &id, More: true})
	return []goldenCase{
		{"shard-sync-get-request", []goldenPart{
			one("shard-sync/get request: epoch u32 ‖ shard u16 ‖ Option<blob_id> after ‖ limit u32 ‖ with_metadata bool, the first",
				encodeBCS(&ShardSyncRequest{Epoch: 7, Shard: shard, Limit: 256}), dissectShardSyncRequest, roundTrip[ShardSyncRequest]),
			one("shard-sync/get request, resuming after a blob, with metadata",
				encodeBCS(&ShardSyncRequest{Epoch: 7, Shard: shard, After: &blobID1, Limit: 256, WithMetadata: true}), dissectShardSyncRequest, roundTrip[ShardSyncRequest]),
		}},
		{"shard-sync-get-frames", []goldenPart{
			one("shard-sync/get pair frame: 0x00 ‖ blob_id ‖ Option<Metadata> ‖ Sliver primary ‖ Sliver secondary, no metadata",
				encodeShardSyncPairFrame(goldenSyncPair(false)), dissectShardSyncFrame, roundTripShardSyncFrame),
			one("shard-sync/get pair frame, with metadata",
				encodeShardSyncPairFrame(goldenSyncPair(true)), dissectShardSyncFrame, roundTripShardSyncFrame),
			one("shard-sync/get end frame: 0x02 ‖ Option<blob_id> next ‖ more bool, more to come",
				encodeShardSyncEndFrame(ShardSyncEnd{Next: &id, More: true}), dissectShardSyncFrame, roundTripShardSyncFrame),
			one("shard-sync/get end frame of an empty shard", encodeShardSyncEndFrame(ShardSyncEnd{}), dissectShardSyncFrame, roundTripShardSyncFrame),
			one("shard-sync/get error frame: 0x01 ‖ Error, the same as every error response",
				encodeShardSyncErrFrame(wireErrorFor(fmt.Errorf("%w: shard 2 in epoch 7", ErrNotAssigned), MaxErrorMessageLen)),
				dissectShardSyncFrame, roundTripShardSyncFrame),
		}},
		{"shard-sync-get-stream", []goldenPart{
			one("shard-sync/get response stream, as a Server writes it: a frame per pair, then the end", stream.Bytes(),
				dissectShardSyncStream, roundTripShardSyncStream),
		}},
	}
}

func dissectShardSyncRequest(d *bcstest.Dump) {
	d.U32("epoch")
	d.U16("shard")
	if d.Option("after") {
		d.Indent(func() { dissectBlobID(d) })
	}
	d.U32("limit")
	d.Bool("with_metadata")
}

func dissectShardSyncFrame(d *bcstest.Dump) {
	switch d.Variant("frame", "Pair", "Err", "End") {
	case shardSyncTagPair:
		d.Indent(func() {
			dissectBlobID(d)
			if d.Option("metadata") {
				d.Indent(func() { dissectMetadata(d) })
			}
			d.Comment("primary sliver")
			d.Indent(func() { dissectSliver(d) })
			d.Comment("secondary sliver")
			d.Indent(func() { dissectSliver(d) })
		})
	case shardSyncTagErr:
		d.Indent(func() { dissectError(d) })
	case shardSyncTagEnd:
		d.Indent(func() {
			if d.Option("next") {
				d.Indent(func() { dissectBlobID(d) })
			}
			d.Bool("more")
		})
	}
}

func dissectShardSyncStream(d *bcstest.Dump) {
	for i := 0; d.Remaining() > 0; i++ {
		n := d.Length("frame length", MaxShardSyncFrameSize)
		d.Sub(fmt.Sprintf("frame %d", i), n, dissectShardSyncFrame)
	}
}

func roundTripShardSyncFrame(b []byte) ([]byte, error) {
	p, e, rerr, err := decodeShardSyncFrame(b)
	switch {
	case err != nil:
		return nil, err
	case p != nil:
		return encodeShardSyncPairFrame(p), nil
	case e != nil:
		return encodeShardSyncEndFrame(*e), nil
	}
	return encodeShardSyncErrFrame(wireError{Code: uint8(rerr.Code), Message: bcsString(rerr.Message)}), nil
}

func roundTripShardSyncStream(b []byte) ([]byte, error) {
	f := newFrameReader(bytes.NewReader(b), nil)
	var out bytes.Buffer
	for {
		fb, err := f.next(MaxShardSyncFrameSize, false)
		if err != nil {
			return out.Bytes(), nil // the end of the stream
		}
		again, err := roundTripShardSyncFrame(fb)
		if err != nil {
			return nil, err
		}
		_ = writeFrame(&out, again)
	}
}

func FuzzShardSyncRequest(f *testing.F) {
	fuzzStruct(f, &ShardSyncRequest{Epoch: 3, Shard: 9, Limit: 256}, &ShardSyncRequest{Epoch: 3, Shard: 9, After: &blobID1, Limit: 1, WithMetadata: true})
}

func FuzzShardSyncFrame(f *testing.F) {
	f.Add(encodeShardSyncPairFrame(goldenSyncPair(false)))
	f.Add(encodeShardSyncPairFrame(goldenSyncPair(true)))
	f.Add(encodeShardSyncEndFrame(ShardSyncEnd{Next: &blobID1, More: true}))
	f.Add(encodeShardSyncEndFrame(ShardSyncEnd{}))
	f.Add(encodeShardSyncErrFrame(wireError{Code: uint8(CodeNotAssigned), Message: "no"}))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, e, rerr, err := decodeShardSyncFrame(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		results := 0
		for _, set := range []bool{p != nil, e != nil, rerr != nil} {
			if set {
				results++
			}
		}
		if results != 1 {
			t.Fatalf("%d results: %v %v %v", results, p, e, rerr)
		}
		if p != nil {
			// The requester's checks must not panic on any decoded pair.
			n := int(p.Pair.Primary.Index) + int(p.Pair.Secondary.Index) + 1
			req := ShardSyncRequest{Shard: uint16(p.BlobID.ShardForPair(int(p.Pair.Primary.Index), n)), WithMetadata: p.Metadata != nil, Limit: 1}
			_ = checkShardSyncPair(&req, nil, p)
		}
		out, err := roundTripShardSyncFrame(in)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip: in %x, out %x (%v)", in, out, err)
		}
	})
}
