package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// Defaults of Config.
const (
	// DefaultMaxConcurrentNodes is how many storage nodes one store or read
	// talks to at once.
	DefaultMaxConcurrentNodes = 64
	// DefaultGracePeriod is how long a store keeps collecting confirmations
	// after it has a quorum, so that slow nodes get their slivers and sign.
	DefaultGracePeriod = 200 * time.Millisecond
	// DefaultGraceFactor is the share of the time a store took to reach a
	// quorum that it adds to the grace period, as Walrus's
	// sliver_write_extra_time (a base plus a factor of the time to quorum):
	// a large blob's last node, a little behind the others, then gets all
	// its slivers instead of being cut off in the middle and recovering
	// them from its peers, at far greater cost, afterwards.
	DefaultGraceFactor = 0.5
	// MaxGraceFactor bounds Config.GraceFactor: a store ends at most this
	// many times its time to quorum after the quorum (plus GracePeriod).
	MaxGraceFactor = 4
	// DefaultViewTTL is how long the client trusts its cached system state
	// and committee before reading them again. An epoch that ends earlier,
	// or a node that answers with another epoch, refreshes them at once.
	DefaultViewTTL = 10 * time.Second
	// DefaultMetadataFanout is how many nodes a read asks for metadata at
	// once; the first answer that verifies wins.
	DefaultMetadataFanout = 3
)

// Config configures a Client. The zero values of the optional fields take
// the defaults above.
type Config struct {
	// Chain is how the client reads the system state, committees and blob
	// objects, and sends transactions. Required; the client does not close
	// it.
	Chain Chain
	// Signer is the wallet that pays for stores and owns blob objects.
	// Optional: without it the client reads only (an aggregator).
	Signer chain.Signer
	// Host is the libp2p host to reach storage nodes from. Nil: New creates
	// one with a random key that listens nowhere, and Close closes it.
	Host *p2p.Host
	// Logger receives the client's log lines; nil means slog.Default().
	Logger *slog.Logger

	// MaxConcurrentNodes bounds the nodes one store or read talks to at
	// once. Default DefaultMaxConcurrentNodes.
	MaxConcurrentNodes int
	// GracePeriod is how long a store waits for more confirmations once it
	// has a quorum. Default DefaultGracePeriod; negative means none.
	GracePeriod time.Duration
	// GraceFactor is the share of the time to quorum added to GracePeriod.
	// Default DefaultGraceFactor; negative means none.
	GraceFactor float64
	// MetadataFanout is how many nodes a read asks for metadata at once.
	// Default DefaultMetadataFanout.
	MetadataFanout int
	// ViewTTL is how long the system state and committee are cached.
	// Default DefaultViewTTL.
	ViewTTL time.Duration
	// RequestTimeout and TransferTimeout bound one request to a node
	// (metadata, confirmation, status) and one sliver transfer. Defaults
	// p2p.DefaultRequestTimeout and p2p.DefaultTransferTimeout.
	RequestTimeout  time.Duration
	TransferTimeout time.Duration
	// ReadWindow bounds the sliver bytes one streamed read holds at once
	// (Blob.StreamRange). Default DefaultReadWindow.
	ReadWindow int64
	// HedgeDelay is how long a streamed read waits for a node's slivers
	// (plus their transfer time at 16 MiB/s) before it also rebuilds them
	// from the other nodes. Default DefaultHedgeDelay.
	HedgeDelay time.Duration
	// SymbolReadMinRow is the row size from which a range read fetches,
	// of a row it covers at most half of, only the symbols that hold the
	// range, with their Merkle proofs (Blob.StreamRange). Default
	// DefaultSymbolReadMinRow; negative: always whole rows.
	SymbolReadMinRow int
	// MaxBlobSize caps the blobs Store accepts below the codec's maximum
	// for the network's shard count. 0 means the codec's maximum.
	MaxBlobSize uint64
}

// EnsureDefaults fills in the zero fields of c with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxConcurrentNodes == 0 {
		c.MaxConcurrentNodes = DefaultMaxConcurrentNodes
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.GracePeriod < 0 {
		c.GracePeriod = 0
	}
	if c.GraceFactor == 0 {
		c.GraceFactor = DefaultGraceFactor
	}
	if c.GraceFactor < 0 {
		c.GraceFactor = 0
	}
	if c.MetadataFanout == 0 {
		c.MetadataFanout = DefaultMetadataFanout
	}
	if c.ViewTTL == 0 {
		c.ViewTTL = DefaultViewTTL
	}
	if c.ReadWindow == 0 {
		c.ReadWindow = DefaultReadWindow
	}
	if c.HedgeDelay == 0 {
		c.HedgeDelay = DefaultHedgeDelay
	}
	if c.SymbolReadMinRow == 0 {
		c.SymbolReadMinRow = DefaultSymbolReadMinRow
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = p2p.DefaultRequestTimeout
	}
	if c.TransferTimeout == 0 {
		c.TransferTimeout = p2p.DefaultTransferTimeout
	}
}

// Validate reports every problem of c, naming the field.
func (c *Config) Validate() error {
	var errs []error
	if c.Chain == nil {
		errs = append(errs, fmt.Errorf("%w: Chain is required", ErrInvalidOptions))
	}
	if c.MaxConcurrentNodes < 1 {
		errs = append(errs, fmt.Errorf("%w: MaxConcurrentNodes (%d) must be >= 1", ErrInvalidOptions, c.MaxConcurrentNodes))
	}
	if c.MetadataFanout < 1 {
		errs = append(errs, fmt.Errorf("%w: MetadataFanout (%d) must be >= 1", ErrInvalidOptions, c.MetadataFanout))
	}
	if c.ViewTTL < 0 {
		errs = append(errs, fmt.Errorf("%w: ViewTTL (%v) must not be negative", ErrInvalidOptions, c.ViewTTL))
	}
	if c.ReadWindow < 0 || c.HedgeDelay < 0 {
		errs = append(errs, fmt.Errorf("%w: ReadWindow and HedgeDelay must not be negative", ErrInvalidOptions))
	}
	if !(c.GraceFactor >= 0 && c.GraceFactor <= MaxGraceFactor) {
		errs = append(errs, fmt.Errorf("%w: GraceFactor (%v) must be in [0, %v]", ErrInvalidOptions, c.GraceFactor, float64(MaxGraceFactor)))
	}
	if c.RequestTimeout < 0 || c.TransferTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: RequestTimeout and TransferTimeout must not be negative", ErrInvalidOptions))
	}
	return errors.Join(errs...)
}

// Client stores blobs on, and reads them from, the storage nodes of a
// network, and manages blob objects through the chain. It is safe for
// concurrent use; every method may be called from many goroutines.
type Client struct {
	cfg     Config
	chain   Chain
	signer  chain.Signer
	host    *p2p.Host
	ownHost bool
	p2p     *p2p.Client
	log     *slog.Logger
	// verifying holds a token per sliver verification of a streamed
	// read in progress (verifySliver): GOMAXPROCS of them.
	verifying chan struct{}

	mu   sync.Mutex // guards view and health
	view *view
	// health records when each node last failed a request, so that reads
	// prefer nodes that answered.
	health map[peer.ID]time.Time

	now func() time.Time // for tests
}

// view is what the client knows of the network at one time: the system
// state, the committee of its epoch and a codec for its shard count.
type view struct {
	state     chain.SystemState
	committee *chain.Committee
	codec     *encoding.Codec
	peers     []peer.ID // peers[i] is member i's peer ID ("" if it does not parse)
	fetched   time.Time

	warmOnce sync.Once
	warmed   <-chan struct{} // closed when codec's tables are built (view.warm)
}

// New returns a Client. ctx bounds the start only (creating the host and
// reading the committee). cfg is copied, its defaults filled in, then
// validated.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, chain: cfg.Chain, signer: cfg.Signer, host: cfg.Host, log: cfg.Logger,
		verifying: make(chan struct{}, runtime.GOMAXPROCS(0)),
		health:    make(map[peer.ID]time.Time), now: time.Now}
	if c.host == nil {
		key, err := p2p.GenerateKey()
		if err != nil {
			return nil, err
		}
		h, err := p2p.NewHost(ctx, p2p.HostConfig{Key: key, NoListen: true, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("client: starting the libp2p host: %w", err)
		}
		c.host, c.ownHost = h, true
	}
	c.p2p = p2p.NewClient(c.host, p2p.WithClientLogger(cfg.Logger),
		p2p.WithRequestTimeout(cfg.RequestTimeout), p2p.WithTransferTimeout(cfg.TransferTimeout))
	if _, err := c.currentView(ctx, true); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close releases the client: the libp2p host if New created it. It does
// not close the Chain or a Host given in Config.
func (c *Client) Close() error {
	if c.ownHost {
		return c.host.Close()
	}
	return nil
}

// Address returns the wallet's address, or the zero address without a
// wallet.
func (c *Client) Address() chain.Address {
	if c.signer == nil {
		return chain.Address{}
	}
	return c.signer.Address()
}

// SystemState returns the current system state (cached up to ViewTTL).
func (c *Client) SystemState(ctx context.Context) (chain.SystemState, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return chain.SystemState{}, err
	}
	return v.state, nil
}

// Committee returns the current committee (cached up to ViewTTL).
func (c *Client) Committee(ctx context.Context) (*chain.Committee, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	return v.committee, nil
}

// currentView returns the cached view, reading it again when forced, stale,
// or past the end of its epoch.
func (c *Client) currentView(ctx context.Context, force bool) (*view, error) {
	c.mu.Lock()
	v := c.view
	c.mu.Unlock()
	now := c.now()
	if v != nil && !force && now.Sub(v.fetched) < c.cfg.ViewTTL &&
		(v.state.EpochDuration <= 0 || now.Before(v.state.EpochStart.Add(v.state.EpochDuration))) {
		return v, nil
	}
	return c.refreshView(ctx)
}

// refreshView reads the system state and the committee of its epoch, and
// records every member's addresses in the host.
func (c *Client) refreshView(ctx context.Context) (*view, error) {
	st, err := c.chain.SystemState(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: reading the system state: %w", err)
	}
	com, err := c.chain.Committee(ctx, st.Epoch)
	if err != nil {
		return nil, fmt.Errorf("client: reading the committee of epoch %d: %w", st.Epoch, err)
	}
	if com.NShards != st.NShards {
		return nil, fmt.Errorf("client: committee of epoch %d has %d shards, the system %d", com.Epoch, com.NShards, st.NShards)
	}
	c.mu.Lock()
	old := c.view
	c.mu.Unlock()
	var codec *encoding.Codec
	if old != nil && old.state.NShards == st.NShards {
		codec = old.codec
	} else {
		var opts []encoding.Option
		if c.cfg.MaxBlobSize > 0 {
			opts = append(opts, encoding.WithMaxBlobSize(c.cfg.MaxBlobSize))
		}
		if codec, err = encoding.New(st.NShards, opts...); err != nil {
			return nil, fmt.Errorf("client: the network's shard count: %w", err)
		}
	}
	v := &view{state: st, committee: com, codec: codec, peers: make([]peer.ID, len(com.Members)), fetched: c.now()}
	for i, m := range com.Members {
		id, err := p2p.ParsePeerID(m.PeerID)
		if err != nil {
			c.log.Warn("committee member has a bad peer ID", "node", m.Name, "node_id", m.NodeID, "err", err)
			continue
		}
		if err := c.host.SetPeerAddrs(id, m.Addresses); err != nil {
			c.log.Warn("committee member has bad addresses", "node", m.Name, "node_id", m.NodeID, "err", err)
			continue
		}
		v.peers[i] = id
	}
	c.mu.Lock()
	c.view = v
	c.mu.Unlock()
	return v, nil
}

// markFailed and markHealthy record a node's last outcome.
func (c *Client) markFailed(p peer.ID) {
	c.mu.Lock()
	c.health[p] = c.now()
	c.mu.Unlock()
}

func (c *Client) markHealthy(p peer.ID) {
	c.mu.Lock()
	delete(c.health, p)
	c.mu.Unlock()
}

// lastFailure returns when a node last failed (zero if it did not).
func (c *Client) lastFailure(p peer.ID) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health[p]
}

// failure describes member i's failure.
func failure(com *chain.Committee, i int, err error) NodeFailure {
	m := &com.Members[i]
	return NodeFailure{Name: m.Name, NodeID: m.NodeID, PeerID: m.PeerID, Shards: len(m.Shards), Err: err}
}

// errBadPeerID is a member whose peer ID or addresses do not parse.
var errBadPeerID = errors.New("client: member has an unusable peer ID or address")

// Signer returns the wallet, or nil.
func (c *Client) Signer() chain.Signer { return c.signer }

// graceAfter is how long a store goes on collecting confirmations once it
// has a quorum that took toQuorum: GracePeriod plus GraceFactor of toQuorum,
// or nothing when GracePeriod is none (a negative Config.GracePeriod).
func (c *Config) graceAfter(toQuorum time.Duration) time.Duration {
	if c.GracePeriod <= 0 {
		return 0
	}
	return c.GracePeriod + time.Duration(c.GraceFactor*float64(toQuorum))
}
