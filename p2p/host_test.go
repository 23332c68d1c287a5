package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

func TestHostConfigValidate(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	secp, _, _ := crypto.GenerateSecp256k1Key(rand.Reader)
	tests := []struct {
		name  string
		edit  func(*HostConfig)
		field string // named in the error; "" means valid
	}{
		{"defaults", func(c *HostConfig) {}, ""},
		{"no key", func(c *HostConfig) { c.Key = NetworkKey{} }, "Key is required"},
		{"secp256k1 key", func(c *HostConfig) { c.Key = NetworkKey{secp} }, "Key:"},
		{"bad listen address", func(c *HostConfig) { c.ListenAddrs = []string{"/ip4/1.2.3.4/tcpx/1"} }, "ListenAddrs"},
		{"listen and NoListen", func(c *HostConfig) { c.NoListen = true }, "NoListen"},
		{"low water over high", func(c *HostConfig) { c.ConnLowWater, c.ConnHighWater = 10, 5 }, "ConnLowWater"},
		{"stream memory under a sliver frame", func(c *HostConfig) { c.Limits.StreamMemory = MaxSliverFrameSize - 1 }, "Limits.StreamMemory"},
		{"stream memory under a shard-sync frame", func(c *HostConfig) { c.Limits.StreamMemory = MaxShardSyncFrameSize - 1 }, "Limits.StreamMemory"},
		{"peer memory under stream memory", func(c *HostConfig) { c.Limits.PeerMemory = 100 << 20 }, "Limits.PeerMemory"},
		{"memory under peer memory", func(c *HostConfig) { c.Limits.Memory = 512 << 20 }, "Limits.Memory"},
		{"negative conns", func(c *HostConfig) { c.Limits.Conns = -1 }, "Limits.Conns"},
		{"per-peer over total", func(c *HostConfig) { c.Limits.ConnsPerPeer = 5000 }, "per-peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := HostConfig{Key: key}
			c.EnsureDefaults()
			tt.edit(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %q", err, tt.field)
			}
		})
	}
	if _, err := NewHost(context.Background(), HostConfig{}); err == nil || !strings.Contains(err.Error(), "Key is required") {
		t.Fatalf("NewHost without a key: %v", err)
	}
}

func TestHostConfigDefaults(t *testing.T) {
	c := HostConfig{}
	c.EnsureDefaults()
	if c.Limits != DefaultLimits {
		t.Errorf("limits %+v, want %+v", c.Limits, DefaultLimits)
	}
	if strings.Join(c.ListenAddrs, " ") != strings.Join(DefaultListenAddrs, " ") {
		t.Errorf("listen addrs %v", c.ListenAddrs)
	}
	if c.ConnLowWater != DefaultConnLowWater || c.ConnHighWater != DefaultConnHighWater || c.ConnGracePeriod != DefaultConnGracePeriod {
		t.Errorf("conn manager %d/%d/%v", c.ConnLowWater, c.ConnHighWater, c.ConnGracePeriod)
	}
	c = HostConfig{NoListen: true}
	c.EnsureDefaults()
	if len(c.ListenAddrs) != 0 {
		t.Errorf("NoListen got listen addrs %v", c.ListenAddrs)
	}
}

// TestResourceLimits checks that the resource manager gets the explicit
// limits, above libp2p's defaults where those throttle a node.
func TestResourceLimits(t *testing.T) {
	cfg := DefaultLimits.resourceLimits().ToPartialLimitConfig()
	checks := []struct {
		name      string
		got, want int64
	}{
		{"system memory", int64(cfg.System.Memory), DefaultLimits.Memory},
		{"system conns", int64(cfg.System.Conns), int64(DefaultLimits.Conns)},
		{"system streams", int64(cfg.System.StreamsInbound), int64(DefaultLimits.Streams)},
		{"system fds", int64(cfg.System.FD), int64(DefaultLimits.FD)},
		{"peer conns", int64(cfg.PeerDefault.ConnsInbound), int64(DefaultLimits.ConnsPerPeer)},
		{"peer streams", int64(cfg.PeerDefault.StreamsInbound), int64(DefaultLimits.StreamsPerPeer)},
		{"peer memory", int64(cfg.PeerDefault.Memory), DefaultLimits.PeerMemory},
		{"stream memory", int64(cfg.Stream.Memory), DefaultLimits.StreamMemory},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if cfg.PeerDefault.ConnsInbound <= 8 || cfg.Stream.Memory <= 16<<20 {
		t.Errorf("limits at or under libp2p's defaults (8 conns per peer, 16 MiB per stream)")
	}
	for _, p := range []string{string(ProtocolSliverPut), string(ProtocolSliverGet)} {
		if l := cfg.ProtocolPeer[protocolID(p)]; l.Memory != rcmgr.Unlimited64 {
			t.Errorf("%s per-peer memory limit %v: only the peer and system limits should apply", p, l.Memory)
		}
	}
	if l := cfg.ServicePeer[ServiceName]; l.Memory != rcmgr.Unlimited64 {
		t.Errorf("service per-peer memory limit %v", l.Memory)
	}
}

// TestHostStreamScopeHoldsASliverFrame reserves the largest frame (a
// shard-sync pair's, over a sliver frame) in a real stream's scope, as the
// Server and Client do.
func TestHostStreamScopeHoldsASliverFrame(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	got := make(chan error, 1)
	b.Libp2p().SetStreamHandler(ProtocolStatusGet, func(s network.Stream) {
		defer s.Close()
		if err := s.Scope().SetService(ServiceName); err != nil {
			got <- err
			return
		}
		err := s.Scope().ReserveMemory(MaxShardSyncFrameSize, network.ReservationPriorityAlways)
		if err == nil {
			s.Scope().ReleaseMemory(MaxShardSyncFrameSize)
		}
		got <- err
	})
	introduce(t, a, b, "/tcp/")
	s, err := a.Libp2p().NewStream(t.Context(), b.ID(), ProtocolStatusGet)
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte{0})
	defer s.Close()
	if err := <-got; err != nil {
		t.Fatalf("reserving %d bytes in a stream scope: %v", MaxShardSyncFrameSize, err)
	}
}

// Over TCP two hosts secure their connection with TLS 1.3 (AES-GCM where
// the CPU has it; several times Noise's ChaCha20-Poly1305 on a sliver
// transfer, BenchmarkGetSlivers), and a peer that offers only Noise still
// connects, with Noise.
func TestHostSecurityOverTCP(t *testing.T) {
	security := func(a *Host, b peer.ID) protocol.ID {
		t.Helper()
		if err := a.Connect(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		conns := a.Libp2p().Network().ConnsToPeer(b)
		if len(conns) == 0 {
			t.Fatal("no connection")
		}
		return conns[0].ConnState().Security
	}
	a, b := newTestHost(t), newTestHost(t)
	introduce(t, a, b, "/tcp/")
	if got := security(a, b.ID()); got != libp2ptls.ID {
		t.Errorf("host to host: security %q, want %q", got, libp2ptls.ID)
	}

	old, err := libp2p.New(libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(noise.ID, noise.New),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	var addrs []string
	for _, m := range old.Addrs() {
		if _, err := m.ValueForProtocol(ma.P_TCP); err == nil {
			addrs = append(addrs, m.String())
		}
	}
	if err := a.AddPeer(old.ID(), addrs); err != nil {
		t.Fatal(err)
	}
	if got := security(a, old.ID()); got != noise.ID {
		t.Errorf("to a Noise-only peer: security %q, want %q", got, noise.ID)
	}
}

func TestHostListensOnTCPAndQUIC(t *testing.T) {
	h := newTestHost(t)
	var tcp, quic bool
	for _, a := range h.Addrs() {
		tcp = tcp || strings.Contains(a, "/tcp/")
		quic = quic || strings.Contains(a, "/quic-v1")
		if !strings.HasPrefix(a, "/ip4/127.0.0.1/") {
			t.Errorf("test host listens on %s, not loopback", a)
		}
		if strings.Contains(a, "/p2p/") {
			t.Errorf("address %s carries a /p2p/ part", a)
		}
	}
	if !tcp || !quic {
		t.Fatalf("addrs %v: want TCP and QUIC", h.Addrs())
	}
	key, _ := GenerateKey()
	c, err := NewHost(t.Context(), HostConfig{Key: key, NoListen: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Addrs()) != 0 {
		t.Errorf("NoListen host listens on %v", c.Addrs())
	}
	if id, _ := PeerIDFromKey(key); c.ID() != id {
		t.Errorf("host ID %s is not the key's %s", c.ID(), id)
	}
}

func TestNewHostFailsToListen(t *testing.T) {
	key, _ := GenerateKey()
	// 192.0.2.1 (TEST-NET-1) is no interface of this machine.
	_, err := NewHost(t.Context(), HostConfig{Key: key, ListenAddrs: []string{"/ip4/192.0.2.1/tcp/0"}, Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "starting host") {
		t.Fatalf("err = %v, want a failure to start", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewHost(ctx, HostConfig{Key: key, ListenAddrs: loopback}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestAddPeer(t *testing.T) {
	h := newTestHost(t)
	other := newTestHost(t)
	third := newTestHost(t)
	tcp := other.Addrs()[0]
	tests := []struct {
		name  string
		addrs []string
		ok    bool
	}{
		{"plain", []string{tcp}, true},
		{"with /p2p/ of the same peer", []string{tcp + "/p2p/" + other.ID().String()}, true},
		{"with /p2p/ of another peer", []string{tcp + "/p2p/" + third.ID().String()}, false},
		{"garbage", []string{"not-a-multiaddr"}, false},
		{"only /p2p/", []string{"/p2p/" + other.ID().String()}, false},
		{"one good one bad", []string{tcp, "/ip4/1.2.3.4/tcp/x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.Libp2p().Peerstore().ClearAddrs(other.ID())
			err := h.AddPeer(other.ID(), tt.addrs)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok = %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("err = %v, want ErrInvalidAddress", err)
			}
			n := len(h.Libp2p().Peerstore().Addrs(other.ID()))
			if tt.ok && n != 1 || !tt.ok && n != 0 {
				t.Fatalf("%d addresses recorded", n)
			}
		})
	}
	if err := h.SetPeerAddrs(other.ID(), other.Addrs()); err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(t.Context(), other.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePeerID("nonsense"); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("ParsePeerID: %v", err)
	}
	if id, err := ParsePeerID(other.ID().String()); err != nil || id != other.ID() {
		t.Fatalf("ParsePeerID round trip: %v", err)
	}
	if err := h.Connect(t.Context(), third.ID()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Connect to a peer without addresses: %v", err)
	}
}

func protocolID(s string) protocol.ID { return protocol.ID(s) }

// TestServerProtocolsListed: every protocol a Server serves, with handlers
// of each optional kind, is in protocols, which the resource manager's
// limits cover.
func TestServerProtocolsListed(t *testing.T) {
	served := map[protocol.ID]bool{}
	for _, h := range []Handler{newMemHandler(), &challengeNode{memHandler: newMemHandler()},
		&syncHandler{memHandler: newMemHandler()}, &proofHandler{memHandler: newMemHandler()}} {
		s := &Server{handler: h}
		for p := range s.protocols() {
			served[p] = true
		}
	}
	if len(served) != len(protocols) {
		t.Errorf("%d protocols served, %d listed", len(served), len(protocols))
	}
	cfg := DefaultLimits.resourceLimits().ToPartialLimitConfig()
	for p := range served {
		if !slices.Contains(protocols, p) {
			t.Errorf("%s is served but not in protocols", p)
		}
		if l := cfg.ProtocolPeer[p]; l.Memory != rcmgr.Unlimited64 {
			t.Errorf("%s: per-peer memory limit %v, want only the peer and system limits", p, l.Memory)
		}
	}
}
