package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrInvalidAddress is returned for a multiaddr or peer ID that does not
// parse, or a multiaddr whose /p2p/ part names another peer.
var ErrInvalidAddress = errors.New("p2p: invalid address")

// DefaultListenAddrs are the listen addresses of a host whose config names
// none: TCP and QUIC on every interface, IPv4 and IPv6, on ports the system
// picks. A node registers fixed ports on chain, so its config names them.
var DefaultListenAddrs = []string{
	"/ip4/0.0.0.0/tcp/0",
	"/ip4/0.0.0.0/udp/0/quic-v1",
	"/ip6/::/tcp/0",
	"/ip6/::/udp/0/quic-v1",
}

// Defaults of HostConfig.
const (
	DefaultConnLowWater    = 512
	DefaultConnHighWater   = 1024
	DefaultConnGracePeriod = time.Minute
)

// Limits are the explicit limits of a host's libp2p resource manager.
// libp2p's defaults (8 connections per peer, 16 MiB per stream, memory
// scaled from the machine) throttle a storage node that moves slivers of
// up to MaxSliverFrameSize to and from a few hundred peers.
//
// The resource manager counts what libp2p reserves: yamux receive windows
// (up to 16 MiB per stream) and the frame buffers this package reserves
// before reading a frame. A stream or peer over a limit is refused (stream
// reset); a frame that cannot be reserved is answered with ErrBusy.
type Limits struct {
	// Memory is the memory all of libp2p may reserve. Default 4 GiB.
	Memory int64
	// PeerMemory is the memory one peer's connections and streams may
	// reserve. Default 1 GiB.
	PeerMemory int64
	// StreamMemory is the memory one stream may reserve; it must hold the
	// largest frame, of MaxShardSyncFrameSize. Default 128 MiB.
	StreamMemory int64
	// Conns is the number of connections, inbound and outbound together.
	// Default 4,096.
	Conns int
	// ConnsPerPeer is the number of connections to one peer. Default 16.
	ConnsPerPeer int
	// Streams is the number of streams. Default 16,384.
	Streams int
	// StreamsPerPeer is the number of streams with one peer. Default 1,024.
	// A Server answers ErrBusy well before this (DefaultMaxStreamsPerPeer).
	StreamsPerPeer int
	// FD is the number of file descriptors libp2p may use for
	// connections. Default 4,096.
	FD int
}

// DefaultLimits are the Limits of a HostConfig that sets none.
var DefaultLimits = Limits{
	Memory:         4 << 30,
	PeerMemory:     1 << 30,
	StreamMemory:   128 << 20,
	Conns:          4096,
	ConnsPerPeer:   16,
	Streams:        16384,
	StreamsPerPeer: 1024,
	FD:             4096,
}

// HostConfig configures NewHost.
type HostConfig struct {
	// Key is the host's Ed25519 network key, its identity (LoadOrCreateKey
	// or GenerateKey). Required.
	Key NetworkKey
	// ListenAddrs are the multiaddrs to listen on, TCP and QUIC
	// ("/ip4/0.0.0.0/tcp/9100", "/ip4/0.0.0.0/udp/9100/quic-v1").
	// Empty means DefaultListenAddrs, unless NoListen is set.
	ListenAddrs []string
	// NoListen makes a host that only dials out (a client).
	NoListen bool
	// ConnLowWater and ConnHighWater drive the connection manager: above
	// the high water mark it closes the least useful unprotected
	// connections older than ConnGracePeriod until the low water mark.
	// Defaults DefaultConnLowWater, DefaultConnHighWater,
	// DefaultConnGracePeriod.
	ConnLowWater    int
	ConnHighWater   int
	ConnGracePeriod time.Duration
	// Limits are the resource manager's limits; zero fields take
	// DefaultLimits' values.
	Limits Limits
	// Metrics, if set, receives libp2p's Prometheus metrics; nil disables
	// them.
	Metrics prometheus.Registerer
	// Logger receives the host's own log lines; nil means slog.Default().
	Logger *slog.Logger
}

// EnsureDefaults fills in the zero fields of c with their defaults.
func (c *HostConfig) EnsureDefaults() {
	if len(c.ListenAddrs) == 0 && !c.NoListen {
		c.ListenAddrs = append([]string(nil), DefaultListenAddrs...)
	}
	if c.ConnLowWater == 0 {
		c.ConnLowWater = DefaultConnLowWater
	}
	if c.ConnHighWater == 0 {
		c.ConnHighWater = DefaultConnHighWater
	}
	if c.ConnGracePeriod == 0 {
		c.ConnGracePeriod = DefaultConnGracePeriod
	}
	l, d := &c.Limits, DefaultLimits
	setDefault(&l.Memory, d.Memory)
	setDefault(&l.PeerMemory, d.PeerMemory)
	setDefault(&l.StreamMemory, d.StreamMemory)
	setDefault(&l.Conns, d.Conns)
	setDefault(&l.ConnsPerPeer, d.ConnsPerPeer)
	setDefault(&l.Streams, d.Streams)
	setDefault(&l.StreamsPerPeer, d.StreamsPerPeer)
	setDefault(&l.FD, d.FD)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func setDefault[T int | int64](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// Validate reports every problem of c, naming the field.
func (c *HostConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case c.Key.priv == nil:
		bad("Key is required (LoadOrCreateKey or GenerateKey)")
	case c.Key.priv.Type() != crypto.Ed25519:
		bad("Key: %w: a %s key, not Ed25519", ErrInvalidKey, c.Key.priv.Type())
	}
	if c.NoListen && len(c.ListenAddrs) > 0 {
		bad("ListenAddrs (%d) must be empty with NoListen", len(c.ListenAddrs))
	}
	for _, a := range c.ListenAddrs {
		if _, err := ma.NewMultiaddr(a); err != nil {
			bad("ListenAddrs: %q: %w: %v", a, ErrInvalidAddress, err)
		}
	}
	if c.ConnLowWater < 0 || c.ConnHighWater < c.ConnLowWater {
		bad("ConnLowWater (%d) must be >= 0 and <= ConnHighWater (%d)", c.ConnLowWater, c.ConnHighWater)
	}
	if c.ConnGracePeriod < 0 {
		bad("ConnGracePeriod (%v) must be >= 0", c.ConnGracePeriod)
	}
	l := c.Limits
	if l.StreamMemory < MaxShardSyncFrameSize {
		bad("Limits.StreamMemory (%d) must be >= MaxShardSyncFrameSize (%d), the largest frame", l.StreamMemory, MaxShardSyncFrameSize)
	}
	if l.PeerMemory < l.StreamMemory {
		bad("Limits.PeerMemory (%d) must be >= Limits.StreamMemory (%d)", l.PeerMemory, l.StreamMemory)
	}
	if l.Memory < l.PeerMemory {
		bad("Limits.Memory (%d) must be >= Limits.PeerMemory (%d)", l.Memory, l.PeerMemory)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Conns", l.Conns}, {"ConnsPerPeer", l.ConnsPerPeer}, {"Streams", l.Streams}, {"StreamsPerPeer", l.StreamsPerPeer}, {"FD", l.FD}} {
		if f.v < 1 {
			bad("Limits.%s (%d) must be >= 1", f.name, f.v)
		}
	}
	if l.ConnsPerPeer > l.Conns || l.StreamsPerPeer > l.Streams {
		bad("Limits: per-peer limits (%d conns, %d streams) must not exceed the totals (%d, %d)",
			l.ConnsPerPeer, l.StreamsPerPeer, l.Conns, l.Streams)
	}
	if len(errs) > 0 {
		return fmt.Errorf("p2p: invalid host config: %w", errors.Join(errs...))
	}
	return nil
}

// resourceLimits builds the resource manager's configuration: libp2p's
// defaults (with its per-service limits for identify, ping, ...) scaled to
// l.Memory, then l's explicit values for the system, every peer, every
// stream, and this package's service and protocols (which are bounded by
// the peer and system limits alone).
func (l Limits) resourceLimits() rcmgr.ConcreteLimitConfig {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	defaults := scaling.Scale(l.Memory, l.FD)

	lv := func(n int) rcmgr.LimitVal { return rcmgr.LimitVal(n) }
	lv64 := func(n int64) rcmgr.LimitVal64 { return rcmgr.LimitVal64(n) }
	unlimited := rcmgr.ResourceLimits{
		Streams: rcmgr.Unlimited, StreamsInbound: rcmgr.Unlimited, StreamsOutbound: rcmgr.Unlimited,
		Conns: rcmgr.Unlimited, ConnsInbound: rcmgr.Unlimited, ConnsOutbound: rcmgr.Unlimited,
		FD: rcmgr.Unlimited, Memory: rcmgr.Unlimited64,
	}
	ours := map[protocol.ID]rcmgr.ResourceLimits{}
	for _, p := range protocols {
		ours[p] = unlimited
	}
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns: lv(l.Conns), ConnsInbound: lv(l.Conns), ConnsOutbound: lv(l.Conns),
			Streams: lv(l.Streams), StreamsInbound: lv(l.Streams), StreamsOutbound: lv(l.Streams),
			FD: lv(l.FD), Memory: lv64(l.Memory),
		},
		PeerDefault: rcmgr.ResourceLimits{
			Conns: lv(l.ConnsPerPeer), ConnsInbound: lv(l.ConnsPerPeer), ConnsOutbound: lv(l.ConnsPerPeer),
			Streams: lv(l.StreamsPerPeer), StreamsInbound: lv(l.StreamsPerPeer), StreamsOutbound: lv(l.StreamsPerPeer),
			FD: lv(l.ConnsPerPeer), Memory: lv64(l.PeerMemory),
		},
		Stream: rcmgr.ResourceLimits{
			Streams: 1, StreamsInbound: 1, StreamsOutbound: 1, Memory: lv64(l.StreamMemory),
		},
		Service:      map[string]rcmgr.ResourceLimits{ServiceName: unlimited},
		ServicePeer:  map[string]rcmgr.ResourceLimits{ServiceName: unlimited},
		Protocol:     ours,
		ProtocolPeer: ours,
	}
	return partial.Build(defaults)
}

// Host is a libp2p host with this project's configuration. It is safe for
// concurrent use.
type Host struct {
	h   host.Host
	log *slog.Logger
}

// NewHost starts a libp2p host: the key's identity, TCP and QUIC transports
// listening on cfg.ListenAddrs, TLS 1.3 (preferred) and Noise security on
// TCP, yamux, the connection manager and resource manager configured from cfg, no
// relay, no NAT port mapping. ctx bounds the start only; Close stops the
// host. cfg is copied, its defaults filled in, then validated.
func NewHost(ctx context.Context, cfg HostConfig) (*Host, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg.ListenAddrs = append([]string(nil), cfg.ListenAddrs...)
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(cfg.ConnLowWater, cfg.ConnHighWater, connmgr.WithGracePeriod(cfg.ConnGracePeriod))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(cfg.Limits.resourceLimits()))
	if err != nil {
		cm.Close()
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key.priv),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		// The dialer proposes these in this order (multistream-select);
		// the listener takes the first it speaks. TLS 1.3 first: its
		// AES-GCM (AES-NI) moves slivers several times faster than
		// Noise's ChaCha20-Poly1305 (BenchmarkGetSlivers, TCP: 200 →
		// 800 MB/s on 2 cores). Noise stays for peers that offer only it.
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.DisableRelay(),
		libp2p.UserAgent("walrus-go"),
	}
	if cfg.NoListen {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		opts = append(opts, libp2p.ListenAddrStrings(cfg.ListenAddrs...))
	}
	if cfg.Metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Metrics))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		// libp2p.New closes the managers on some failures but not all (a
		// listener that fails to bind); closing them again is harmless.
		rm.Close()
		cm.Close()
		return nil, fmt.Errorf("p2p: starting host: %w", err)
	}
	if err := ctx.Err(); err != nil {
		h.Close()
		return nil, err
	}
	log := cfg.Logger.With("subsystem", "p2p")
	log.Info("p2p host started", "peer", h.ID(), "addrs", multiaddrStrings(h.Addrs()))
	return &Host{h: h, log: log}, nil
}

// ID returns the host's peer ID.
func (h *Host) ID() peer.ID { return h.h.ID() }

// Addrs returns the addresses the host listens on, with the unspecified
// addresses (0.0.0.0, ::) expanded to the machine's interfaces, as strings
// without the /p2p/ part: the form a committee member registers.
func (h *Host) Addrs() []string { return multiaddrStrings(h.h.Addrs()) }

// Libp2p returns the underlying libp2p host, for what this type does not
// wrap (connection-manager tags, event bus). Closing it closes h.
func (h *Host) Libp2p() host.Host { return h.h }

// AddPeer records the addresses of a peer (a committee member's peer ID and
// multiaddrs), so that a Client can reach it. An address may end in
// /p2p/<id> for the same peer. It returns ErrInvalidAddress, naming the bad
// one, when any does not parse or names another peer; then nothing is
// recorded. Addresses are kept until the host closes or the peer's
// addresses are replaced with SetPeerAddrs.
func (h *Host) AddPeer(id peer.ID, addrs []string) error {
	mas, err := parsePeerAddrs(id, addrs)
	if err != nil {
		return err
	}
	h.h.Peerstore().AddAddrs(id, mas, peerstore.PermanentAddrTTL)
	return nil
}

// SetPeerAddrs replaces the recorded addresses of a peer with addrs, as at an
// epoch change when a member moves. Errors are AddPeer's.
func (h *Host) SetPeerAddrs(id peer.ID, addrs []string) error {
	mas, err := parsePeerAddrs(id, addrs)
	if err != nil {
		return err
	}
	ps := h.h.Peerstore()
	ps.ClearAddrs(id)
	ps.AddAddrs(id, mas, peerstore.PermanentAddrTTL)
	return nil
}

// Connect dials a peer whose addresses were added, if not connected yet.
// Errors match ErrUnavailable (or are ctx's).
func (h *Host) Connect(ctx context.Context, id peer.ID) error {
	if err := h.h.Connect(ctx, peer.AddrInfo{ID: id}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, id, err)
	}
	return nil
}

// Close stops the host: its listeners and connections. Streams in progress
// are reset.
func (h *Host) Close() error {
	err := h.h.Close()
	h.log.Info("p2p host closed", "peer", h.h.ID())
	return err
}

// ParsePeerID parses a peer ID in its text form (as in a committee). It
// returns ErrInvalidAddress when it does not parse.
func ParsePeerID(s string) (peer.ID, error) {
	id, err := peer.Decode(s)
	if err != nil {
		return "", fmt.Errorf("%w: peer ID %q: %v", ErrInvalidAddress, s, err)
	}
	return id, nil
}

func parsePeerAddrs(id peer.ID, addrs []string) ([]ma.Multiaddr, error) {
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("%w: peer ID: %v", ErrInvalidAddress, err)
	}
	out := make([]ma.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		m, err := ma.NewMultiaddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInvalidAddress, s, err)
		}
		transport, pid := peer.SplitAddr(m)
		if pid != "" && pid != id {
			return nil, fmt.Errorf("%w: %q is the address of %s, not %s", ErrInvalidAddress, s, pid, id)
		}
		if transport == nil {
			return nil, fmt.Errorf("%w: %q has no transport part", ErrInvalidAddress, s)
		}
		out = append(out, transport)
	}
	return out, nil
}

func multiaddrStrings(mas []ma.Multiaddr) []string {
	out := make([]string, len(mas))
	for i, m := range mas {
		out[i] = m.String()
	}
	return out
}
