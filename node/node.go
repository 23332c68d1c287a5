package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// ErrNotMember is returned by Run when the node is not registered on chain.
var ErrNotMember = errors.New("node: not registered on chain")

// Deps are what a node is given rather than builds.
type Deps struct {
	// Chain is the chain the node follows and transacts on (required). The
	// node does not close it.
	Chain Chain
	// Logger receives the node's logs (default slog.Default()).
	Logger *slog.Logger
	// Middleware, if set, wraps the node's protocol handler before it is
	// served: a test network uses it to make a real node slow, silent or
	// lying (package network/faults). Production nodes leave it nil.
	Middleware func(p2p.Handler) p2p.Handler
	// FS is the file system of the node's store (default the OS's). Tests
	// wrap the real one to inject disk errors.
	FS vfs.FS
}

// Node is a storage node: it keeps the slivers of the shards it holds in its
// store, serves them over libp2p, follows the chain's events, recovers
// missing slivers and garbage-collects expired blobs.
//
// It is made of parts, each with explicit dependencies, wired in Run: the
// intake (pending buffer and sinks), the protocol handler, recovery, the
// chain-event follower (epoch changes and shard sync), the collector (GC)
// and the admin HTTP server.
//
// New is inert; Run starts everything and blocks until its context ends or a
// part fails; it then shuts down in reverse order. A Node runs once. Its
// methods are safe for concurrent use.
type Node struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	// Set once Ready.
	keys      *NodeKeys
	nodeID    chain.NodeID
	store     *store.Store
	host      *p2p.Host
	views     *views
	intake    *intake
	sync      *shardSyncer
	chal      *challenger
	scrub     *scrubber
	follow    *follower
	metrics   *metrics
	adminAddr string
	started   time.Time
	// statusCache holds Status's costly parts (admin.go).
	statusCache statusCache

	ready   chan struct{}
	running atomic.Bool
	wg      sync.WaitGroup
}

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
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Node{
		cfg:     cfg,
		deps:    deps,
		log:     deps.Logger.With("subsystem", "node"),
		ready:   make(chan struct{}),
		metrics: newMetrics(),
	}, nil
}

// Ready is closed once the node serves requests.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// ID is the node's ID on chain, once Ready.
func (n *Node) ID() chain.NodeID { return n.nodeID }

// PeerID is the node's libp2p peer ID, once Ready.
func (n *Node) PeerID() string { return n.keys.PeerID }

// Addrs are the node's listen multiaddrs, once Ready.
func (n *Node) Addrs() []string { return n.host.Addrs() }

// AdminAddr is the admin server's address, once Ready ("" when off).
func (n *Node) AdminAddr() string { return n.adminAddr }

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
	cfg, log, m := &n.cfg, n.log, n.metrics

	// Inert constructors are done; from here on things start.
	if n.keys, err = LoadOrCreateKeys(cfg); err != nil {
		return err
	}
	n.store, err = store.Open(filepath.Join(cfg.DataDir, "db"), store.Options{Logger: log, CacheSize: cfg.CacheSize, FS: n.deps.FS})
	if err != nil {
		return err
	}
	closers = append(closers, n.store.Close)
	atStart, err := n.repairAtStart(ctx)
	if err != nil {
		return err
	}
	codec, err := n.resolveIdentity(ctx)
	if err != nil {
		return err
	}
	// The codec's tables now, so that the node's memory does not jump at its
	// first large verification (under an attack, say).
	codec.Warm()
	if n.host, err = p2p.NewHost(ctx, p2p.HostConfig{Key: n.keys.Network, ListenAddrs: cfg.ListenAddrs, Logger: log}); err != nil {
		return err
	}
	closers = append(closers, n.host.Close)
	n.views = &views{chain: n.deps.Chain, self: n.nodeID, host: n.host, log: log}
	v, err := n.views.refresh(ctx, 0, nil)
	if err != nil {
		return err
	}
	m.setView(v)
	if err := n.store.SetCurrentEpoch(ctx, v.epoch); err != nil {
		return err
	}

	// The parts.
	stored := newSignal()
	mem := newBudget(cfg.MaxBufferedBytes, cfg.MaxBufferedBytesPerPeer, func(b int64) { m.buffered.Set(float64(b)) })
	n.intake = &intake{store: n.store, codec: codec, views: n.views, stored: stored, metrics: m, log: log,
		mem: mem, pending: newPending(mem, cfg.BufferTTL)}
	recov := &recoverer{store: n.store, codec: codec, views: n.views, stored: stored, metrics: m, log: log,
		peers:   p2p.NewClient(n.host, p2p.WithClientLogger(log)),
		workers: cfg.RecoveryWorkers, attempts: cfg.RecoveryAttempts, backoff: cfg.RecoveryBackoff}
	recov.init()
	recov.invalid = (&invalidator{views: n.views, peers: recov.peers, chain: n.deps.Chain,
		account: n.keys.Account, key: n.keys.Protocol, log: log}).init(m.reg)
	syncer := &shardSyncer{store: n.store, codec: codec, chain: n.deps.Chain, views: n.views, peers: recov.peers, recov: recov,
		metrics: m, log: log, self: n.nodeID, batch: cfg.ShardSyncBatch, timeout: cfg.ShardSyncTimeout,
		attempts: cfg.ShardSyncAttempts, workers: cfg.ShardSyncWorkers}
	recov.syncing = syncer.isSyncing
	n.sync = syncer
	if _, err := syncer.load(ctx, v); err != nil {
		return err
	}
	gc := &collector{store: n.store, views: n.views, metrics: m, log: log,
		handoff: &handoff{chain: n.deps.Chain, self: n.nodeID, log: log}}
	n.chal = &challenger{store: n.store, codec: codec, chain: n.deps.Chain, views: n.views, peers: recov.peers, recov: recov,
		syncing: syncer.isSyncing, signer: n.keys.Protocol, account: n.keys.Account, self: n.nodeID, dir: cfg.DataDir,
		metrics: newChallengeMetrics(m.reg), log: log.With("part", "challenges"), window: cfg.ChallengeWindow,
		backoff: cfg.ChallengeBackoff, workers: cfg.ChallengeWorkers, start: n.start}
	follow := &follower{chain: n.deps.Chain, store: n.store, views: n.views, intake: n.intake, recov: recov, gc: gc, sync: syncer,
		chal: n.chal, account: n.keys.Account, nodeID: n.nodeID, pollWait: cfg.EventPollWait, metrics: m, log: log, start: n.start,
		replayReq: make(chan struct{}, 1)}
	n.follow = follow
	var h p2p.Handler = &handler{store: n.store, codec: codec, views: n.views, intake: n.intake, stored: stored,
		signer: n.keys.Protocol, metrics: m, log: log, confirmationWait: cfg.ConfirmationWait, challenges: n.chal}
	if n.deps.Middleware != nil {
		h = n.deps.Middleware(h)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			log.Error("node part failed", "err", err)
			cancel(err)
		}
	}
	server := p2p.NewServer(n.host, h, p2p.WithServerLogger(log))
	closers = append(closers, func() error { n.wg.Wait(); return nil })
	closers = append(closers, server.Close)

	n.start(func() { fail(follow.run(ctx)) })
	n.start(func() { n.intake.pending.sweep(ctx) })
	n.start(func() { recov.run(ctx) })
	recov.invalid.start(ctx)
	n.start(recov.invalid.wait)
	n.started = time.Now()
	// Status reads the scrubber, so it exists before the admin server answers.
	n.scrub = n.newScrubber(codec, recov, atStart)
	n.scrub.replay = follow.requestReplay
	if cfg.AdminAddr != "off" {
		adm := &admin{addr: cfg.AdminAddr, status: n.Status, metrics: m, log: log}
		addr, stop, err := adm.start()
		if err != nil {
			return err
		}
		n.adminAddr = addr
		closers = append(closers, stop)
	}
	n.start(func() { recov.scan(ctx) })
	n.start(func() { n.scrub.run(ctx) })
	log.Info("storage node ready", "node_id", n.nodeID, "peer", n.keys.PeerID, "addrs", n.host.Addrs(), "shards", len(v.shards))
	close(n.ready)

	<-ctx.Done()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	log.Info("storage node shutting down")
	return nil
}

// start runs fn in a goroutine that Run waits for before it closes the
// store.
func (n *Node) start(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// resolveIdentity finds the node's chain ID: the configured one, or the
// registered node with the node's protocol key. It also learns n and
// returns the codec.
func (n *Node) resolveIdentity(ctx context.Context) (*encoding.Codec, error) {
	c := n.deps.Chain
	st, err := c.SystemState(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: reading system state: %w", err)
	}
	codec, err := encoding.New(st.NShards)
	if err != nil {
		return nil, err
	}
	if n.cfg.NodeID != "" {
		id, _ := chain.ParseObjectID(n.cfg.NodeID)
		info, err := c.Node(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("%w: node_id %s: %v", ErrNotMember, id, err)
		}
		if info.PublicKey != n.keys.Protocol.PublicKey() {
			return nil, fmt.Errorf("%w: node %s is registered with another protocol key", ErrConfig, id)
		}
		n.nodeID = id
		return codec, nil
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: listing nodes: %w", err)
	}
	pk := n.keys.Protocol.PublicKey()
	for _, info := range nodes {
		if info.PublicKey == pk {
			n.nodeID = info.ID
			return codec, nil
		}
	}
	return nil, fmt.Errorf("%w: no node has protocol key %x…; register it first", ErrNotMember, pk[:8])
}

// Status reports the node's state, once Ready.
func (n *Node) Status(ctx context.Context) Status {
	v := n.views.load()
	st := Status{
		NodeID: n.nodeID.String(), Name: n.cfg.Name, PeerID: n.keys.PeerID, Addresses: n.host.Addrs(),
		Epoch: v.epoch, Phase: v.phase.String(), Member: v.index >= 0, Shards: v.shards,
		BufferedB: n.intake.mem.used(), NShards: v.n(), StartedAt: n.started.UTC().Format(time.RFC3339),
		SyncingShards: n.sync.claimed(), Scrub: n.scrub.status(),
	}
	st.EventReplays, st.Replaying = n.follow.replays.Load(), n.follow.replayingNow.Load()
	st.Challenges, st.LastChallenges = n.chal.status()
	st.DiskUsageB, _ = n.store.DiskUsage()
	if c, err := n.store.EventCursor(ctx); err == nil {
		st.EventCursor = string(c)
	}
	n.operatorStatus(ctx, &st)
	return st
}

// MissingShards returns the shards the node holds this epoch that lack the
// blob's sliver pair, once Ready: empty when it stores all it should. An
// operator (or a test) uses it to see whether a blob is fully held.
func (n *Node) MissingShards(ctx context.Context, id encoding.BlobID) ([]uint16, error) {
	return missingShards(ctx, n.store, id, n.views.load())
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
