package p2p

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/walrus-go/walrus/encoding"
)

// hostOn starts a host listening on TCP at ip, so that the streams it opens
// come from that address (libp2p dials from its listen address), and makes
// it know to's TCP addresses.
func hostOn(tb testing.TB, ip string, to *Host) *Host {
	tb.Helper()
	key, err := GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	h, err := NewHost(context.Background(), HostConfig{Key: key, ListenAddrs: []string{"/ip4/" + ip + "/tcp/0"}, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	introduce(tb, h, to, "/tcp/")
	return h
}

// idleStreams opens n streams of status/get from h to the node, each
// sending the first byte of a length prefix and nothing more. It returns
// the streams the node did not refuse at once (reset when the test ends).
func idleStreams(t *testing.T, h *Host, n *testNet, count int) []network.Stream {
	t.Helper()
	before := n.server.held()
	var mu sync.Mutex
	var out []network.Stream
	var wg sync.WaitGroup
	for range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := h.Libp2p().NewStream(t.Context(), n.node.ID(), ProtocolStatusGet)
			if err != nil {
				t.Errorf("opening a stream: %v", err)
				return
			}
			if _, err := s.Write([]byte{33}); err != nil {
				s.Reset()
				return
			}
			mu.Lock()
			out = append(out, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, s := range out {
			s.Reset()
		}
	})
	// Wait until the server holds them (the handler runs after protocol
	// negotiation, on its own goroutine).
	deadline := time.Now().Add(10 * time.Second)
	for n.server.held() < before+len(out) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return out
}

// TestIdleStreamsHoldNoSlot: streams that have not sent their request frame
// take no slot, so they cannot lock out requests that have; they are reset
// at the frame timeout, and the handler never sees them.
func TestIdleStreamsHoldNoSlot(t *testing.T) {
	n := newTestNet(t, []ServerOption{WithMaxStreams(2), WithMaxStreamsPerPeer(2), WithServerFrameTimeout(time.Second)}, nil)
	attacker := newTestHost(t)
	introduce(t, attacker, n.node, "/tcp/")
	idle := idleStreams(t, attacker, n, 40)
	if len(idle) != 40 || n.server.held() != 40 || n.server.inFlight() != 0 {
		t.Fatalf("%d idle streams open, the server holds %d with %d slots taken; want 40, 40, 0", len(idle), n.server.held(), n.server.inFlight())
	}
	for i := range 10 {
		if _, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1); err != nil {
			t.Fatalf("honest request %d with 40 idle streams open and 2 slots: %v", i, err)
		}
	}
	start := time.Now()
	for i, s := range idle {
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := s.Read(make([]byte, 1))
		if !errors.Is(err, network.ErrReset) {
			t.Fatalf("idle stream %d: read = %v, want the server's reset", i, err)
		}
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("idle streams cut after %v, the frame timeout is 1s", waited)
	}
	if got := n.handler.calls.Load(); got != 10 {
		t.Errorf("handler called %d times, want 10 (the honest requests)", got)
	}
}

// TestStreamCapsPerConnAndIP: past the per-connection cap a connection's
// new streams are answered ErrBusy, while another connection from the same
// address is served; past the per-IP cap every connection from that address
// is refused, whatever its peer ID, while another address is served.
func TestStreamCapsPerConnAndIP(t *testing.T) {
	t.Run("per connection", func(t *testing.T) {
		n := newTestNet(t, []ServerOption{WithMaxStreamsPerConn(4)}, nil)
		idle := idleStreams(t, n.chost, n, 4)
		if len(idle) != 4 {
			t.Fatalf("%d idle streams", len(idle))
		}
		_, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1)
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("a fifth stream on the connection: err = %v, want ErrBusy", err)
		}
		other := hostOn(t, "127.0.0.1", n.node) // same address, another connection
		if _, err := NewClient(other, WithClientLogger(quiet)).GetStatus(t.Context(), n.node.ID(), blobID1); err != nil {
			t.Fatalf("another connection from the same address: %v", err)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		n := newTestNet(t, []ServerOption{WithMaxStreamsPerIP(6)}, nil)
		var idle []network.Stream
		for range 3 { // three identities on one address
			idle = append(idle, idleStreams(t, hostOn(t, "127.0.0.1", n.node), n, 2)...)
		}
		if len(idle) != 6 {
			t.Fatalf("%d idle streams", len(idle))
		}
		fresh := hostOn(t, "127.0.0.1", n.node)
		_, err := NewClient(fresh, WithClientLogger(quiet)).GetStatus(t.Context(), n.node.ID(), blobID1)
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("a new identity from the same address: err = %v, want ErrBusy", err)
		}
		away := hostOn(t, "127.0.0.2", n.node)
		if _, err := NewClient(away, WithClientLogger(quiet)).GetStatus(t.Context(), n.node.ID(), blobID1); err != nil {
			t.Fatalf("a request from another address: %v", err)
		}
		// Once the idle streams are gone, the address is served again.
		for _, s := range idle {
			s.Reset()
		}
		deadline := time.Now().Add(10 * time.Second)
		for n.server.held() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := NewClient(fresh, WithClientLogger(quiet)).GetStatus(t.Context(), n.node.ID(), blobID1); err != nil {
			t.Fatalf("after the idle streams closed: %v", err)
		}
	})
}

func TestSourceOf(t *testing.T) {
	n := newTestNet(t, nil, nil)
	if _, err := n.client.GetStatus(t.Context(), n.node.ID(), blobID1); err != nil {
		t.Fatal(err)
	}
	conns := n.node.Libp2p().Network().ConnsToPeer(n.chost.ID())
	if len(conns) == 0 {
		t.Fatal("no connection")
	}
	src := sourceOf(conns[0])
	if src.ip != "127.0.0.1" || src.conn == "" {
		t.Fatalf("source %+v, want 127.0.0.1 and a connection ID", src)
	}
}

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"/ip4/10.1.2.3/tcp/9100", "10.1.2.3"},
		{"/ip4/10.1.2.3/udp/9100/quic-v1", "10.1.2.3"},
		{"/ip6/2001:db8:1:2:aaaa::1/tcp/9100", "2001:db8:1:2::/64"},
		{"/ip6/2001:db8:1:2:ffff:ffff:ffff:ffff/tcp/1", "2001:db8:1:2::/64"}, // same /64: one address
		{"/ip6/::ffff:10.1.2.3/tcp/1", "10.1.2.3"},
		{"/dns4/example.com/tcp/1", ""},
	} {
		m, err := ma.NewMultiaddr(tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := addressKey(m); got != tc.want {
			t.Errorf("addressKey(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestClientRefusesOversizeAnswers: a lying peer announces a frame far
// larger than what the caller asked for can weigh (a sliver of the
// expected size, metadata for the network's shards, symbols of the blob's
// symbol size). The client refuses it from its length prefix, before it
// allocates anything, and says the peer broke the protocol.
func TestClientRefusesOversizeAnswers(t *testing.T) {
	tests := []struct {
		name   string
		proto  protocol.ID
		prefix int // the frame length the liar announces
		call   func(c *Client, p peer.ID) error
	}{
		{"sliver of 60 MiB for one of 1,000 bytes", ProtocolSliverGet, 60 << 20, func(c *Client, p peer.ID) error {
			_, err := c.GetSlivers(t.Context(), p, blobID1, encoding.Primary, []uint16{1}, 1000)
			return err
		}},
		{"metadata of 4 MiB for 10 shards", ProtocolMetadataGet, MaxMetadataFrameSize, func(c *Client, p peer.ID) error {
			_, err := c.GetMetadata(t.Context(), p, blobID1, 10)
			return err
		}},
		{"recovery symbols of 60 MiB for 10 of 100 bytes", ProtocolRecoveryGet, 60 << 20, func(c *Client, p peer.ID) error {
			_, err := c.GetRecoverySymbols(t.Context(), p, blobID1, encoding.Primary, []uint16{1}, 100, 10)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNet(t, nil, []ClientOption{WithRequestTimeout(5 * time.Second), WithTransferTimeout(5 * time.Second)})
			lyingPeer(t, n, tt.proto, func(s network.Stream) {
				s.Write(appendFrameLen(nil, tt.prefix))
				s.Write(make([]byte, 4096))
				time.Sleep(6 * time.Second) // and never the rest
			})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := tt.call(n.client, n.node.ID())
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrProtocol) || !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("err = %v, want ErrProtocol and ErrFrameTooLarge", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("refused after %v: the client waited for the frame", took)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(tt.prefix)/4 {
				t.Errorf("the client allocated %d bytes for a frame it should refuse (announced %d)", alloc, tt.prefix)
			}
		})
	}
	t.Run("symbol of another size", func(t *testing.T) {
		n := newTestNet(t, nil, nil)
		lyingPeer(t, n, ProtocolRecoveryGet, func(s network.Stream) {
			sym := bcsRecoverySymbol{SourceAxis: encoding.Secondary, SourceIndex: 1, TargetIndex: 1, Data: make([]byte, 64)}
			writeFrame(s, encodeOK(&recoveryResponse{Symbols: bcsVec[bcsRecoverySymbol]{sym}}))
		})
		_, err := n.client.GetRecoverySymbols(t.Context(), n.node.ID(), blobID1, encoding.Primary, []uint16{1}, 100, 10)
		if !errors.Is(err, ErrProtocol) {
			t.Fatalf("err = %v, want ErrProtocol", err)
		}
	})
	t.Run("more symbols than sources", func(t *testing.T) {
		n := newTestNet(t, nil, nil)
		lyingPeer(t, n, ProtocolRecoveryGet, func(s network.Stream) {
			var syms bcsVec[bcsRecoverySymbol]
			for i := range 3 {
				syms = append(syms, bcsRecoverySymbol{SourceAxis: encoding.Secondary, SourceIndex: uint16(i), TargetIndex: 1, Data: make([]byte, 2)})
			}
			writeFrame(s, encodeOK(&recoveryResponse{Symbols: syms}))
		})
		_, err := n.client.GetRecoverySymbols(t.Context(), n.node.ID(), blobID1, encoding.Primary, []uint16{1}, 2, 2)
		if !errors.Is(err, ErrProtocol) {
			t.Fatalf("err = %v, want ErrProtocol", err)
		}
	})
}

func TestSliverSize(t *testing.T) {
	_, eb := testBlob(t, 10, 10000, 3)
	for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
		want := len(eb.Primary[0].Data)
		if axis == encoding.Secondary {
			want = len(eb.Secondary[0].Data)
		}
		if got, err := SliverSize(eb.Metadata, axis); err != nil || got != want {
			t.Errorf("SliverSize(%s) = %d, %v; want %d", axis, got, err, want)
		}
	}
}
