// Package network composes a whole network of real parts in one process:
// the embedded chain (chain/local), storage nodes (package node) with their
// own libp2p hosts on loopback and Pebble folders, a funded wallet, and
// clients (package client). It is the composition root of `walrus devnet`
// (package network/devnet) and the test network every test above the node
// runs on (package network/nettest), in the spirit of storj's testplanet.
//
// Nothing in it is a stand-in: the chain is the real state machine (in
// memory or on disk, on the real clock or on a ManualClock a test moves),
// nodes are real node.Nodes, clients real client.Clients. Faults come from
// wrapping real parts (package network/faults): each node's protocol
// handler can be wrapped in a faults.Handler and its file system in a
// faults.Disk.
//
// # Layout of Dir
//
//	chain/            the chain's Pebble database (unless ChainInMemory)
//	wallet.key        the funded wallet's account key
//	node-<i>/         node i: node.yaml, its keys, db/ (its store)
//
// Start with Resume reopens a Dir written before, with all its data.
package network

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/node"
)

// Defaults of Config.
const (
	DefaultNodes         = 4
	DefaultShards        = 10
	DefaultEpochDuration = time.Hour
	// DefaultNodeStake is each genesis node's stake.
	DefaultNodeStake = 1000 * chain.FrostPerWAL
	// DefaultWalletFunds is what the wallet holds at genesis.
	DefaultWalletFunds = 1_000_000 * chain.FrostPerWAL
	// NodeStartTimeout bounds how long a node may take to serve.
	NodeStartTimeout = 30 * time.Second
	// DefaultWaitTimeout bounds the Wait helpers when ctx has no deadline.
	DefaultWaitTimeout = 60 * time.Second
)

// Errors of the network.
var (
	// ErrConfig is returned by Start for a config that does not fit.
	ErrConfig = errors.New("network: invalid config")
	// ErrNoClock is returned by the helpers that move time on a network
	// that runs on the real clock.
	ErrNoClock = errors.New("network: the network runs on the real clock")
	// ErrStopped is returned for a node that is not running.
	ErrStopped = errors.New("network: node not running")
)

// Config configures a network. Zero fields take the defaults above.
type Config struct {
	// Dir holds every part's files (see the package doc). Required.
	Dir string
	// Nodes and Shards are the number of storage nodes and n.
	Nodes, Shards int
	// EpochDuration is the chain's epoch length.
	EpochDuration time.Duration
	// Stakes are the genesis stakes of the nodes in FROST (missing entries:
	// DefaultNodeStake).
	Stakes []uint64
	// WalletFunds is the wallet's genesis balance in FROST.
	WalletFunds uint64
	// Genesis, if set, edits the genesis before the chain is created
	// (prices, faucet, more accounts).
	Genesis func(*local.Genesis)
	// Clock, if set, is the chain's clock: time moves only when the test
	// moves it (AdvanceEpoch). Nil runs on the real clock.
	Clock *ManualClock
	// ChainInMemory keeps the chain in memory (tests); otherwise it lives
	// in Dir/chain.
	ChainInMemory bool
	// NoSync skips the chain's fsync after each block (tests). Nodes always
	// sync their stores: they sign for what they stored.
	NoSync bool
	// Faults wraps every node's protocol handler in a faults.Handler
	// (Node.Faults) and its file system in a faults.Disk (Node.Disk).
	Faults bool
	// NodeConfig, if set, edits node i's config when it is created.
	NodeConfig func(i int, c *node.Config)
	// NodeChain, if set, gives node i the chain backend it follows and
	// transacts on at each start (for example chain/sui over a test server
	// on this network's chain), instead of the embedded chain in process.
	// The network closes what it returns when the node stops.
	NodeChain func(nw *Network, i int) (node.Chain, io.Closer, error)
	// Resume reopens the network written in Dir before: the chain, the
	// wallet and Nodes node folders. The shape fields are then ignored.
	Resume bool
	// Logger receives every part's logs (default: discard).
	Logger *slog.Logger
}

// Network is a running network. Its methods are safe for concurrent use,
// except that a node must not be stopped and started from two goroutines at
// once.
type Network struct {
	cfg Config
	log *slog.Logger

	// Chain is the embedded chain, in process.
	Chain *local.Chain
	// Nodes are the storage nodes, by index; AddNode appends.
	Nodes []*Node
	// Wallet is the funded account; WalletPath its key file.
	Wallet     *chain.AccountKey
	WalletPath string
	// Clock is Config.Clock (nil on the real clock).
	Clock *ManualClock
	// Resumed is set when Start reopened an existing Dir.
	Resumed bool

	ctx    context.Context // ends at Close: the nodes' parent context
	cancel context.CancelFunc
	wg     sync.WaitGroup // servers started by ServeChain

	mu      sync.Mutex
	errOnce sync.Once
	err     error
	failed  chan struct{}
	closed  bool
}

// Node is one storage node of a Network: its folder, config and keys, which
// outlive its runs, and the node.Node of its current run.
type Node struct {
	Index int
	// Dir is the node's folder; Config its config (also in Dir/node.yaml).
	Dir    string
	Config node.Config
	Keys   *node.NodeKeys
	// Faults wraps the node's protocol handler and Disk its file system
	// when Config.Faults is set (nil otherwise). Both outlive restarts.
	Faults *faults.Handler
	Disk   *faults.Disk

	mu     sync.Mutex
	id     chain.NodeID
	run    *node.Node
	cancel context.CancelFunc
	done   chan error
}

// Name is the node's configured name.
func (n *Node) Name() string { return n.Config.Name }

// PeerID is the node's libp2p peer ID.
func (n *Node) PeerID() string { return n.Keys.PeerID }

// ID is the node's ID on chain, known once it has started.
func (n *Node) ID() chain.NodeID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// Running returns the node's current run, or nil when it is stopped.
func (n *Node) Running() *node.Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.run
}

// Start creates the network in cfg.Dir (or reopens it with Resume) and
// starts the chain and every node. It returns once every node serves. ctx
// bounds the start; the network runs until Close.
func Start(ctx context.Context, cfg Config) (_ *Network, err error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: no Dir", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	nw := &Network{cfg: cfg, log: cfg.Logger.With("subsystem", "network"), Clock: cfg.Clock,
		ctx: runCtx, cancel: cancel, failed: make(chan struct{}),
		WalletPath: filepath.Join(cfg.Dir, "wallet.key")}
	defer func() {
		if err != nil {
			nw.Close()
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	var genesis *local.Genesis
	if cfg.Resume {
		if err := nw.reopen(); err != nil {
			return nil, err
		}
		nw.Resumed = true
	} else if genesis, err = nw.create(); err != nil {
		return nil, err
	}
	lc := local.Config{Genesis: genesis, Logger: cfg.Logger.With("subsystem", "chain"), NoSync: cfg.NoSync}
	if !cfg.ChainInMemory {
		lc.Dir = filepath.Join(cfg.Dir, "chain")
	}
	if cfg.Clock != nil {
		lc.Now = cfg.Clock.Now
	}
	if nw.Chain, err = local.Open(ctx, lc); err != nil {
		return nil, err
	}
	for i := range nw.Nodes {
		if err := nw.StartNode(ctx, i); err != nil {
			return nil, err
		}
	}
	return nw, nil
}

// create writes a new network's wallet and node folders and returns its
// genesis.
func (nw *Network) create() (*local.Genesis, error) {
	cfg := nw.cfg
	nodes, shards := orDefault(cfg.Nodes, DefaultNodes), orDefault(cfg.Shards, DefaultShards)
	if nodes < 1 || shards < nodes {
		return nil, fmt.Errorf("%w: %d nodes and %d shards: every node needs a shard", ErrConfig, nodes, shards)
	}
	if _, err := encoding.NewParams(shards); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	wallet, err := chain.GenerateAccountKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := chain.SaveAccountKey(nw.WalletPath, wallet); err != nil {
		return nil, err
	}
	nw.Wallet = wallet
	g := &local.Genesis{
		NShards: shards, EpochDuration: local.Duration(orDefault(cfg.EpochDuration, DefaultEpochDuration)),
		Accounts: []local.GenesisAccount{{Address: wallet.Address(), Balance: orDefault(cfg.WalletFunds, DefaultWalletFunds)}},
	}
	if cfg.Clock != nil {
		g.Time = cfg.Clock.Now()
	}
	for i := range nodes {
		n, err := nw.newNode(i)
		if err != nil {
			return nil, err
		}
		stake := uint64(DefaultNodeStake)
		if i < len(cfg.Stakes) && cfg.Stakes[i] > 0 {
			stake = cfg.Stakes[i]
		}
		gn, err := local.NewGenesisNode(n.Keys.Account.Address(), n.Keys.Protocol, n.Keys.Network, n.Config.Name, n.Keys.PeerID, n.Config.ListenAddrs, stake)
		if err != nil {
			return nil, err
		}
		g.Nodes = append(g.Nodes, gn)
	}
	// A faucet that cannot buy f + 1 shards against the nodes' stake.
	g.Faucet = local.SafeFaucet(g)
	if cfg.Genesis != nil {
		cfg.Genesis(g)
	}
	return g, nil
}

// newNode creates node i's folder, config and keys, and appends it.
func (nw *Network) newNode(i int) (*Node, error) {
	dir := filepath.Join(nw.cfg.Dir, fmt.Sprintf("node-%d", i))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	c := node.Config{
		Name:        fmt.Sprintf("node-%d", i),
		DataDir:     ".",
		ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)},
		AdminAddr:   "127.0.0.1:0",
	}
	if nw.cfg.NodeConfig != nil {
		nw.cfg.NodeConfig(i, &c)
	}
	path := filepath.Join(dir, "node.yaml")
	if err := node.WriteConfig(path, &c); err != nil {
		return nil, err
	}
	return nw.loadNode(i, dir)
}

// loadNode loads node i's config and keys from its folder and appends it.
func (nw *Network) loadNode(i int, dir string) (*Node, error) {
	c, err := node.LoadConfig(filepath.Join(dir, "node.yaml"))
	if err != nil {
		return nil, err
	}
	keys, err := node.LoadOrCreateKeys(c)
	if err != nil {
		return nil, err
	}
	n := &Node{Index: i, Dir: dir, Config: *c, Keys: keys}
	if nw.cfg.Faults {
		n.Faults = faults.New(keys.Protocol)
		n.Disk = faults.NewDisk(nil)
	}
	nw.mu.Lock()
	nw.Nodes = append(nw.Nodes, n)
	nw.mu.Unlock()
	return n, nil
}

// reopen loads the wallet and the node folders of an existing network.
func (nw *Network) reopen() error {
	w, err := chain.LoadAccountKey(nw.WalletPath)
	if err != nil {
		return fmt.Errorf("network: resuming %s: %w", nw.cfg.Dir, err)
	}
	nw.Wallet = w
	for i := 0; ; i++ {
		dir := filepath.Join(nw.cfg.Dir, fmt.Sprintf("node-%d", i))
		if _, err := os.Stat(filepath.Join(dir, "node.yaml")); errors.Is(err, os.ErrNotExist) {
			if i == 0 {
				return fmt.Errorf("%w: %s holds no node folders to resume", ErrConfig, nw.cfg.Dir)
			}
			return nil
		}
		if _, err := nw.loadNode(i, dir); err != nil {
			return err
		}
	}
}

// node returns node i.
func (nw *Network) node(i int) (*Node, error) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if i < 0 || i >= len(nw.Nodes) {
		return nil, fmt.Errorf("network: no node %d", i)
	}
	return nw.Nodes[i], nil
}

// StartNode starts node i (again). It returns once the node serves; a node
// already running is left alone.
func (nw *Network) StartNode(ctx context.Context, i int) error {
	n, err := nw.node(i)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.run != nil {
		return nil
	}
	deps := node.Deps{Chain: nw.Chain, Logger: nw.cfg.Logger.With("node", i)}
	var closer io.Closer
	if nw.cfg.NodeChain != nil {
		if deps.Chain, closer, err = nw.cfg.NodeChain(nw, i); err != nil {
			return fmt.Errorf("network: node %d's chain: %w", i, err)
		}
	}
	if n.Faults != nil {
		deps.Middleware = n.Faults.Middleware
		deps.FS = n.Disk.FS()
	}
	run, err := node.New(n.Config, deps)
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return err
	}
	rctx, cancel := context.WithCancel(nw.ctx)
	done := make(chan error, 1)
	go func() {
		err := run.Run(rctx)
		if closer != nil {
			closer.Close()
		}
		done <- err
		if err != nil && rctx.Err() == nil {
			nw.fail(fmt.Errorf("node %d: %w", i, err))
		}
	}()
	select {
	case <-run.Ready():
	case err := <-done:
		cancel()
		return fmt.Errorf("network: node %d did not start: %w", i, err)
	case <-time.After(NodeStartTimeout):
		cancel()
		<-done
		return fmt.Errorf("network: node %d did not start in %s", i, NodeStartTimeout)
	case <-ctx.Done():
		cancel()
		<-done
		return ctx.Err()
	}
	n.run, n.cancel, n.done, n.id = run, cancel, done, run.ID()
	return nil
}

// StopNode stops node i and waits for its shutdown; its folder stays. It
// returns what the node's Run returned.
func (nw *Network) StopNode(i int) error {
	n, err := nw.node(i)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.run == nil {
		return nil
	}
	n.cancel()
	err = <-n.done
	n.run, n.cancel, n.done = nil, nil, nil
	return err
}

// RestartNode stops node i and starts it again.
func (nw *Network) RestartNode(ctx context.Context, i int) error {
	if err := nw.StopNode(i); err != nil {
		return err
	}
	return nw.StartNode(ctx, i)
}

// WipeNode stops node i, deletes its store (keeping its keys and config, as
// an operator whose disk died would) and starts it again.
func (nw *Network) WipeNode(ctx context.Context, i int) error {
	if err := nw.StopNode(i); err != nil {
		return err
	}
	n, _ := nw.node(i)
	if err := os.RemoveAll(filepath.Join(n.Config.DataDir, "db")); err != nil {
		return err
	}
	return nw.StartNode(ctx, i)
}

// AddNode creates a new node, funds its operator from the wallet with
// stake FROST, registers it on chain, stakes the amount with it and starts
// it. It joins a committee once its stake is active.
func (nw *Network) AddNode(ctx context.Context, stake uint64) (*Node, error) {
	nw.mu.Lock()
	i := len(nw.Nodes)
	nw.mu.Unlock()
	n, err := nw.newNode(i)
	if err != nil {
		return nil, err
	}
	st, err := nw.Chain.SystemState(ctx)
	if err != nil {
		return nil, err
	}
	op := n.Keys.Account
	if stake > 0 {
		if _, err := nw.Chain.TransferWAL(ctx, nw.Wallet, op.Address(), stake); err != nil {
			return nil, fmt.Errorf("network: funding node %d's operator: %w", i, err)
		}
	}
	info, err := nw.Chain.RegisterNode(ctx, op, n.Keys.RegisterArgs(n.Config.Name, n.Config.ListenAddrs, st.Epoch, 1000))
	if err != nil {
		return nil, fmt.Errorf("network: registering node %d: %w", i, err)
	}
	if stake > 0 {
		if _, err := nw.Chain.Stake(ctx, op, info.ID, stake); err != nil {
			return nil, fmt.Errorf("network: staking with node %d: %w", i, err)
		}
	}
	if err := nw.StartNode(ctx, i); err != nil {
		return nil, err
	}
	return n, nil
}

// Committee returns the committee of the current epoch.
func (nw *Network) Committee(ctx context.Context) (*chain.Committee, error) {
	return nw.Chain.Committee(ctx, 0)
}

// NodeByID returns the node with a chain ID (nil if none).
func (nw *Network) NodeByID(id chain.NodeID) *Node {
	nw.mu.Lock()
	nodes := slices.Clone(nw.Nodes)
	nw.mu.Unlock()
	for _, n := range nodes {
		if n.ID() == id {
			return n
		}
	}
	return nil
}

// NodeForShard returns the node holding shard s in the current committee.
func (nw *Network) NodeForShard(ctx context.Context, s uint16) (*Node, error) {
	com, err := nw.Committee(ctx)
	if err != nil {
		return nil, err
	}
	i, ok := com.MemberForShard(s)
	if !ok {
		return nil, fmt.Errorf("network: no member holds shard %d", s)
	}
	if n := nw.NodeByID(com.Members[i].NodeID); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("network: shard %d is held by node %s, which is not one of ours", s, com.Members[i].NodeID)
}

// Shards returns the shards node i holds in the current committee.
func (nw *Network) Shards(ctx context.Context, i int) ([]uint16, error) {
	n, err := nw.node(i)
	if err != nil {
		return nil, err
	}
	com, err := nw.Committee(ctx)
	if err != nil {
		return nil, err
	}
	if k, ok := com.Index(n.ID()); ok {
		return slices.Clone(com.Members[k].Shards), nil
	}
	return nil, nil
}

// NewClient returns a client of the network paying with the wallet, on a
// libp2p host of its own (closed with the client). mods edit its config.
func (nw *Network) NewClient(ctx context.Context, mods ...func(*client.Config)) (*client.Client, error) {
	cfg := client.Config{Chain: nw.Chain, Signer: nw.Wallet, Logger: nw.cfg.Logger.With("subsystem", "client")}
	for _, m := range mods {
		m(&cfg)
	}
	return client.New(ctx, cfg)
}

// ServeChain serves the chain's HTTP API (walrus chain serve's) on addr
// ("127.0.0.1:0" picks a port) until Close, and returns its URL.
func (nw *Network) ServeChain(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("network: chain address %s: %w", addr, err)
	}
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		if err := local.Serve(nw.ctx, ln, nw.Chain, nw.log); err != nil {
			nw.fail(fmt.Errorf("chain server: %w", err))
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Go runs fn until Close, which waits for it; an error it returns while the
// network runs fails the network. Compositions use it for their servers
// (the devnet's daemon).
func (nw *Network) Go(what string, fn func(ctx context.Context) error) {
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		if err := fn(nw.ctx); err != nil && nw.ctx.Err() == nil {
			nw.fail(fmt.Errorf("%s: %w", what, err))
		}
	}()
}

func (nw *Network) fail(err error) {
	nw.errOnce.Do(func() {
		nw.log.Error("network part failed", "err", err)
		nw.err = err
		close(nw.failed)
	})
}

// Failed is closed when a part fails while the network runs; Err says why.
func (nw *Network) Failed() <-chan struct{} { return nw.failed }

// Err is the failure that closed Failed, or nil.
func (nw *Network) Err() error {
	select {
	case <-nw.failed:
		return nw.err
	default:
		return nil
	}
}

// Close stops the servers started with ServeChain or Go, the nodes and the
// chain, in that order. It returns the nodes' shutdown errors.
func (nw *Network) Close() error {
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return nil
	}
	nw.closed = true
	nodes := slices.Clone(nw.Nodes)
	nw.mu.Unlock()
	nw.cancel()
	nw.wg.Wait()
	var errs []error
	for i := range nodes {
		if err := nw.StopNode(i); err != nil {
			errs = append(errs, fmt.Errorf("node %d: %w", i, err))
		}
	}
	if nw.Chain != nil {
		errs = append(errs, nw.Chain.Close())
	}
	return errors.Join(errs...)
}

// Ports handed out by FreePort lie in [minPort, maxPort): below Linux's
// default ephemeral range (32768–60999), so that the kernel does not give a
// port to an outgoing connection between FreePort and the node's bind.
const (
	minPort = 20000
	maxPort = 32768
)

var (
	portMu sync.Mutex
	// portsGiven are the ports this process handed out; none is given twice.
	portsGiven = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago (and
// its UDP twin too), chosen at random below the ephemeral range and never
// returned twice by one process.
func FreePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range 1000 {
		p := minPort + mathrand.IntN(maxPort-minPort)
		if portsGiven[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[p] = true
		return p, nil
	}
	return 0, errors.New("network: no free port found")
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
