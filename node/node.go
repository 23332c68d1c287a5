package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// ErrNotMember is returned by Run when the node is not registered on chain.
var ErrNotMember = errors.New("node: not registered on chain")

// Deps are what a node is given rather than builds.
type Deps struct {
	// Chain is the chain the node follows and transacts on (required).
	Chain chain.Chain
	// Logger receives the node's logs (default slog.Default()).
	Logger *slog.Logger
}

// Node is a storage node: it keeps the slivers of the shards it holds in its
// store, serves them over libp2p, follows the chain's events, recovers
// missing slivers and garbage-collects expired blobs.
//
// New is inert; Run starts everything and blocks until its context ends or a
// part fails; it then shuts down in reverse order. A Node runs once. Its
// methods are safe for concurrent use.
type Node struct {
	cfg   Config
	log   *slog.Logger
	chain chain.Chain
	keys  *NodeKeys

	store   *store.Store
	host    *p2p.Host
	server  *p2p.Server
	client  *p2p.Client
	codec   *encoding.Codec
	nodeID  chain.NodeID
	pending *pending
	recov   *recoverer
	metrics *metrics

	// view is the committee state the node acts on; it changes at epoch
	// changes.
	view atomic.Pointer[view]
	// stored is closed and replaced whenever pairs are written, to wake
	// confirmation requests waiting for them.
	storedMu sync.Mutex
	stored   chan struct{}

	adminAddr string

	ready   chan struct{}
	running atomic.Bool
	wg      sync.WaitGroup
}

// view is an epoch's committee seen from this node. It is immutable.
type view struct {
	epoch     uint32
	phase     chain.EpochPhase
	committee *chain.Committee
	// index is the node's index in the committee, −1 if not a member.
	index  int
	shards []uint16
	held   map[uint16]bool
}

func (v *view) n() int { return v.committee.NShards }

// holds reports whether the node holds shard s this epoch.
func (v *view) holds(s uint16) bool { return v.held[s] }

// New returns a node for the given config and dependencies. It checks the
// config but does nothing else.
func New(cfg Config, deps Deps) (*Node, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Chain == nil {
		return nil, fmt.Errorf("%w: no chain", ErrConfig)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Node{
		cfg:     cfg,
		log:     log.With("subsystem", "node"),
		chain:   deps.Chain,
		ready:   make(chan struct{}),
		stored:  make(chan struct{}),
		metrics: newMetrics(),
	}, nil
}

// Ready is closed once the node serves requests.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// ID is the node's ID on chain, once Ready.
func (n *Node) ID() chain.NodeID { return n.nodeID }

// PeerID is the node's libp2p peer ID, once Ready.
func (n *Node) PeerID() string { return n.keys.PeerID }

// Addrs are the node's listen multiaddrs, with its peer ID, once Ready.
func (n *Node) Addrs() []string { return n.host.Addrs() }

// Run starts the node and blocks until ctx ends or a part fails. The
// shutdown, in order: stop accepting requests and wait for those in flight
// (a sliver write either completes or is rejected), stop following the chain
// and recovering, stop the admin server, close the libp2p host, close the
// store. It returns nil after a shutdown caused by ctx.
func (n *Node) Run(ctx context.Context) (err error) {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("node: Run called twice")
	}
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			if cerr := closers[i](); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()

	// Inert constructors are done; from here on things start.
	if n.keys, err = LoadOrCreateKeys(&n.cfg); err != nil {
		return err
	}
	if n.store, err = store.Open(filepath.Join(n.cfg.DataDir, "db"), store.Options{Logger: n.log, CacheSize: n.cfg.CacheSize}); err != nil {
		return err
	}
	closers = append(closers, n.store.Close)

	if err := n.resolveIdentity(ctx); err != nil {
		return err
	}
	if n.host, err = p2p.NewHost(ctx, p2p.HostConfig{Key: n.keys.Network, ListenAddrs: n.cfg.ListenAddrs, Logger: n.log}); err != nil {
		return err
	}
	closers = append(closers, n.host.Close)
	n.client = p2p.NewClient(n.host, p2p.WithClientLogger(n.log))
	if err := n.refreshView(ctx, 0); err != nil {
		return err
	}
	n.pending = newPending(n.cfg.MaxBufferedBytes, n.cfg.BufferTTL)
	n.recov = newRecoverer(n)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			n.log.Error("node part failed", "err", err)
			cancel(err)
		}
	}
	n.server = p2p.NewServer(n.host, n, p2p.WithServerLogger(n.log))
	closers = append(closers, func() error { n.wg.Wait(); return nil })
	closers = append(closers, n.server.Close)

	n.start(func() { fail(n.followEvents(ctx)) })
	n.start(func() { n.pending.sweep(ctx) })
	n.start(func() { n.recov.run(ctx) })
	if n.cfg.AdminAddr != "off" {
		stop, err := n.serveAdmin(ctx)
		if err != nil {
			return err
		}
		closers = append(closers, stop)
	}
	n.start(func() { n.recov.scan(ctx) })
	n.log.Info("storage node ready", "node_id", n.nodeID, "peer", n.keys.PeerID, "addrs", n.host.Addrs(), "shards", len(n.view.Load().shards))
	close(n.ready)

	<-ctx.Done()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	n.log.Info("storage node shutting down")
	return nil
}

func (n *Node) start(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// resolveIdentity finds the node's chain ID: the configured one, or the
// registered node with the node's protocol key. It also learns n and builds
// the codec.
func (n *Node) resolveIdentity(ctx context.Context) error {
	st, err := n.chain.SystemState(ctx)
	if err != nil {
		return fmt.Errorf("node: reading system state: %w", err)
	}
	if n.codec, err = encoding.New(st.NShards); err != nil {
		return err
	}
	if n.cfg.NodeID != "" {
		id, _ := chain.ParseObjectID(n.cfg.NodeID)
		info, err := n.chain.Node(ctx, id)
		if err != nil {
			return fmt.Errorf("%w: node_id %s: %v", ErrNotMember, id, err)
		}
		if info.PublicKey != n.keys.Protocol.PublicKey() {
			return fmt.Errorf("%w: node %s is registered with another protocol key", ErrConfig, id)
		}
		n.nodeID = id
		return nil
	}
	nodes, err := n.chain.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("node: listing nodes: %w", err)
	}
	pk := n.keys.Protocol.PublicKey()
	for _, info := range nodes {
		if info.PublicKey == pk {
			n.nodeID = info.ID
			return nil
		}
	}
	return fmt.Errorf("%w: no node has protocol key %x…; register it first", ErrNotMember, pk[:8])
}

// refreshView loads the committee of epoch (0: current) and makes it the
// node's view, telling the host where its members are.
func (n *Node) refreshView(ctx context.Context, epoch uint32) error {
	st, err := n.chain.SystemState(ctx)
	if err != nil {
		return fmt.Errorf("node: reading system state: %w", err)
	}
	c, err := n.chain.Committee(ctx, epoch)
	if err != nil {
		return fmt.Errorf("node: reading committee: %w", err)
	}
	v := &view{epoch: c.Epoch, phase: st.Phase, committee: c, index: -1, held: make(map[uint16]bool)}
	if i, ok := c.Index(n.nodeID); ok {
		v.index = i
		v.shards = slices.Clone(c.Members[i].Shards)
		slices.Sort(v.shards)
		for _, s := range v.shards {
			v.held[s] = true
		}
	}
	for _, m := range c.Members {
		if m.NodeID == n.nodeID {
			continue
		}
		pid, err := p2p.ParsePeerID(m.PeerID)
		if err != nil {
			n.log.Warn("committee member has a bad peer ID", "node_id", m.NodeID, "err", err)
			continue
		}
		if err := n.host.SetPeerAddrs(pid, m.Addresses); err != nil {
			n.log.Warn("committee member has bad addresses", "node_id", m.NodeID, "err", err)
		}
	}
	n.view.Store(v)
	n.metrics.epoch.Set(float64(v.epoch))
	n.metrics.shards.Set(float64(len(v.shards)))
	return n.store.SetCurrentEpoch(ctx, v.epoch)
}

// notifyStored wakes waiters for stored pairs.
func (n *Node) notifyStored() {
	n.storedMu.Lock()
	close(n.stored)
	n.stored = make(chan struct{})
	n.storedMu.Unlock()
}

func (n *Node) storedSignal() <-chan struct{} {
	n.storedMu.Lock()
	defer n.storedMu.Unlock()
	return n.stored
}

// live reports whether a blob record allows storing and serving the blob in
// epoch.
func live(rec store.BlobRecord, epoch uint32) bool {
	return !rec.Invalid && rec.EndEpoch > epoch && rec.PermanentRegistered+rec.DeletableRegistered > 0
}

// shardOf is the shard that stores sliver (axis, index) of blob id.
func shardOf(id encoding.BlobID, axis encoding.Axis, index, n int) uint16 {
	return uint16(id.ShardForPair(encoding.PairIndex(axis, index, n), n))
}

// sleepCtx sleeps for d, or returns ctx's error if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
