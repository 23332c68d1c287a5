package local

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Limits and defaults of the in-process chain.
const (
	// DefaultMaxPendingTxs bounds the transactions waiting for a block;
	// past it, submitting fails with chain.ErrBusy.
	DefaultMaxPendingTxs = 10_000
	// DefaultMaxTxsPerBlock bounds a block.
	DefaultMaxTxsPerBlock = 2_000
	// MaxEventsPerPage bounds what one Events call returns.
	MaxEventsPerPage = 1_000
	// MaxEventWait bounds how long one Events call waits.
	MaxEventWait = 30 * time.Second
	// producerIdle is how long the block producer sleeps at most between
	// checks of the clock, so that a clock that jumps is noticed.
	producerIdle = time.Second
)

// DefaultAddr is where `walrus chain serve` listens by default; clients
// default to http://DefaultAddr.
const DefaultAddr = "127.0.0.1:9180"

// ErrNoChain is returned by Open when Config.Dir holds no chain and no
// genesis was given to create one.
var ErrNoChain = errors.New("local: no chain in directory")

// Config configures an in-process chain. The zero value of every field but
// Genesis (needed to create a chain) is a usable default.
type Config struct {
	// Dir is the Pebble directory; empty keeps the chain in memory.
	Dir string
	// Genesis creates the chain when Dir holds none. When Dir holds a
	// chain, a non-nil Genesis must match it (Time and Seed may be left
	// zero).
	Genesis *Genesis
	// Logger receives the chain's logs (default: discard).
	Logger *slog.Logger
	// Now is the clock blocks are stamped with (default time.Now). Tests
	// use a manual clock and call Tick after moving it.
	Now func() time.Time
	// NoSync skips fsync after each block (tests, benchmarks): a crash may
	// lose the last blocks, never corrupt the log.
	NoSync bool
	// MaxPendingTxs and MaxTxsPerBlock default to DefaultMaxPendingTxs and
	// DefaultMaxTxsPerBlock.
	MaxPendingTxs  int
	MaxTxsPerBlock int
	// VerifyReplay makes Open replay the whole log from the genesis,
	// re-checking the transactions' signatures, and compare the state at
	// the snapshot's height with the snapshot. The log and the snapshot are
	// checksummed and hash-chained, so by default they are trusted and
	// Open replays only the blocks after the snapshot.
	VerifyReplay bool
	// SnapshotInterval is how many blocks may pass between two snapshots
	// of the state (default DefaultSnapshotInterval; negative: only at
	// Close). A restart replays the blocks after the last snapshot.
	SnapshotInterval int
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxPendingTxs <= 0 {
		c.MaxPendingTxs = DefaultMaxPendingTxs
	}
	if c.MaxTxsPerBlock <= 0 {
		c.MaxTxsPerBlock = DefaultMaxTxsPerBlock
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = DefaultSnapshotInterval
	}
}

// Chain is the embedded local chain, in-process: a deterministic state
// machine over the rules of DESIGN.md §4, whose blocks a producer goroutine
// makes from submitted transactions and the clock, persisted in Pebble and
// replayed by Open. It implements chain.Chain and is safe for concurrent use.
type Chain struct {
	transactor
	cfg Config
	log *slog.Logger
	db  *db

	// mu guards st; the producer holds it to build and persist a block,
	// readers share it.
	mu sync.RWMutex
	st *state
	// committed is the last event persisted; newBlock is closed (and
	// replaced) after each block. Both under mu.
	committed uint64
	newBlock  chan struct{}

	// qmu guards queue, the transactions waiting for a block.
	qmu   sync.Mutex
	queue []*pendingTx

	wake      chan struct{}      // nudges the producer
	ticks     chan chan struct{} // Tick requests
	stop      chan struct{}      // closed by Close
	done      chan struct{}      // closed when the producer exits
	closeOnce sync.Once
	closeErr  error
	// failed holds the error that stopped the producer, if any (under mu);
	// stopped is set with it (under qmu) so that submit refuses at once.
	failed  error
	stopped bool

	// snapHeight is the height of the last snapshot (under mu); replayed
	// counts the blocks Open replayed. noCloseSnapshot, for tests, makes
	// Close leave the state unsaved, as a crash does.
	snapHeight      uint64
	replayed        int
	noCloseSnapshot bool
}

// pendingTx is a verified transaction waiting for a block.
type pendingTx struct {
	st     *SignedTx
	digest chain.Digest
	done   chan outcome // buffered; receives exactly once
}

type outcome struct {
	res txResult
	err error
}

var _ chain.Chain = (*Chain)(nil)

// Open opens the chain in cfg.Dir, creating it from cfg.Genesis if there is
// none, replays its log to rebuild the state, and starts the block producer.
// ctx bounds the replay only. Close the chain when done.
func Open(ctx context.Context, cfg Config) (*Chain, error) {
	cfg.EnsureDefaults()
	d, err := openDB(cfg.Dir, cfg.NoSync)
	if err != nil {
		return nil, err
	}
	c := &Chain{
		cfg: cfg, log: cfg.Logger.With("subsystem", "chain"), db: d,
		newBlock: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		ticks:    make(chan chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if err := c.load(ctx); err != nil {
		d.close()
		return nil, err
	}
	c.transactor = transactor{
		submit: c.submit,
		now:    func(context.Context) (time.Time, error) { return c.cfg.Now(), nil },
	}
	go c.produce()
	return c, nil
}

// load creates or replays the chain.
func (c *Chain) load(ctx context.Context) error {
	g, head, err := c.db.loadMeta()
	if err != nil {
		return err
	}
	if g == nil {
		if c.cfg.Genesis == nil {
			return fmt.Errorf("%w %q, and no genesis was given to create one", ErrNoChain, c.cfg.Dir)
		}
		g = c.newGenesis()
		if err := g.Validate(); err != nil {
			return err
		}
		if err := c.db.initMeta(g); err != nil {
			return err
		}
	} else if c.cfg.Genesis != nil {
		want := *c.cfg.Genesis
		want.EnsureDefaults()
		if want.Time.IsZero() {
			want.Time = g.Time
		}
		if want.Seed == (chain.Seed{}) {
			want.Seed = g.Seed
		}
		want.Time = want.Time.UTC()
		if want.Hash() != g.Hash() {
			return fmt.Errorf("%w: %q holds chain %s, not the given genesis %s", chain.ErrInvalidArgument, c.cfg.Dir, g.Hash(), want.Hash())
		}
	}
	st, err := genesisState(g)
	if err != nil {
		return err
	}
	snap, err := c.loadSnapshot(st.p, head)
	if err != nil {
		if c.cfg.VerifyReplay {
			return err
		}
		c.log.Warn("ignoring the state snapshot; replaying the log from the genesis", "err", err)
		snap = nil
	}
	var check *state // the snapshot to compare the replay with
	switch {
	case snap != nil && c.cfg.VerifyReplay:
		check = snap
	case snap != nil:
		st = snap
	}
	c.snapHeight = st.height
	for h := st.height + 1; h <= head; h++ {
		if h%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, err := c.db.block(h)
		if err != nil {
			return err
		}
		if err := replayBlock(st, b, c.cfg.VerifyReplay); err != nil {
			return fmt.Errorf("replaying block %d: %w", h, err)
		}
		c.replayed++
		if check != nil && h == check.height && st.root() != check.root() {
			return fmt.Errorf("%w: the state snapshot of block %d differs from the log replayed", chain.ErrCorrupt, h)
		}
	}
	c.st = st
	c.committed = st.eventSeq
	c.log.Info("chain loaded", "chain_id", st.p.chainID, "height", st.height, "epoch", st.epoch, "events", st.eventSeq,
		"snapshot", c.snapHeight, "replayed", c.replayed)
	return nil
}

// newGenesis copies the configured genesis and fixes what a new chain
// fixes: defaults, its time (now, to the millisecond) and its seed.
func (c *Chain) newGenesis() *Genesis {
	g := *c.cfg.Genesis
	g.Nodes = append([]GenesisNode(nil), g.Nodes...)
	g.Accounts = append([]GenesisAccount(nil), g.Accounts...)
	g.EnsureDefaults()
	if g.Time.IsZero() {
		g.Time = c.cfg.Now()
	}
	g.Time = time.UnixMilli(g.Time.UnixMilli()).UTC()
	if g.Seed == (chain.Seed{}) {
		cryptorand.Read(g.Seed[:])
	}
	return &g
}

// replayBlock re-executes a stored block on st and checks it against its
// header: the previous hash, the transactions and the events.
func replayBlock(st *state, b *Block, verify bool) error {
	h := &b.Header
	if h.Height != st.height+1 || h.Prev != st.lastHash || h.TimeMs < st.timeMs {
		return fmt.Errorf("%w: block %d does not follow block %d (%s)", chain.ErrCorrupt, h.Height, st.height, st.lastHash)
	}
	st.beginBlock(h.Height, h.TimeMs, h.Randomness)
	txs := make([]txEntry, len(b.Txs))
	for i := range b.Txs {
		bt := &b.Txs[i]
		var (
			d   chain.Digest
			err error
		)
		if verify {
			d, _, err = bt.Tx.verify()
		} else {
			var enc []byte
			if enc, err = bt.Tx.Tx.Encode(); err == nil {
				d = digestOf(enc)
			}
		}
		if err != nil {
			return fmt.Errorf("%w: transaction %d: %w", chain.ErrCorrupt, i, err)
		}
		_, inBlock, err := st.applyTx(&bt.Tx, d)
		if !inBlock {
			return fmt.Errorf("%w: transaction %d no longer passes its checks: %w", chain.ErrCorrupt, i, err)
		}
		if code := outcomeCode(err); code != bt.Error {
			return fmt.Errorf("%w: transaction %d was recorded with outcome %q, replays to %q (%v)", chain.ErrCorrupt, i, bt.Error, code, err)
		}
		txs[i] = txEntry{d, bt.Error}
	}
	if txRoot(txs) != h.TxRoot || eventsRoot(st.events) != h.EventsRoot {
		return fmt.Errorf("%w: block %d replays to other transactions or events", chain.ErrCorrupt, h.Height)
	}
	st.lastHash = h.Hash()
	return nil
}

// submit queues a verified transaction and waits for its block.
func (c *Chain) submit(ctx context.Context, st *SignedTx) (txResult, error) {
	d, _, err := st.verify()
	if err != nil {
		return txResult{}, err
	}
	p := &pendingTx{st: st, digest: d, done: make(chan outcome, 1)}
	c.qmu.Lock()
	switch {
	case c.isClosed() || c.stopped:
		c.qmu.Unlock()
		return txResult{}, chain.ErrClosed
	case len(c.queue) >= c.cfg.MaxPendingTxs:
		c.qmu.Unlock()
		return txResult{}, fmt.Errorf("%w: %d transactions pending", chain.ErrBusy, len(c.queue))
	}
	c.queue = append(c.queue, p)
	c.qmu.Unlock()
	c.nudge()
	select {
	case out := <-p.done:
		return out.res, out.err
	case <-ctx.Done():
		return txResult{}, ctx.Err()
	}
}

func (c *Chain) nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Chain) isClosed() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// Tick makes the producer build the blocks that are due now, by the clock
// of Config.Now, and returns when it has. Tests with a manual clock call it
// after moving the clock; with a real clock the producer does this itself.
func (c *Chain) Tick(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case c.ticks <- reply:
	case <-c.done:
		return chain.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-c.done:
		return chain.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// produce is the block producer: it builds a block whenever transactions
// wait or a time-driven transition is due, until Close.
func (c *Chain) produce() {
	defer close(c.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var reply chan struct{}
		select {
		case <-c.stop:
			return
		case <-c.wake:
		case <-timer.C:
		case reply = <-c.ticks:
		}
		for {
			made, err := c.buildBlock()
			if err != nil {
				c.fail(err)
				if reply != nil {
					close(reply)
				}
				return
			}
			if !made {
				break
			}
		}
		if reply != nil {
			close(reply)
		}
		timer.Reset(c.untilDeadline())
	}
}

// untilDeadline is how long the producer may sleep.
func (c *Chain) untilDeadline() time.Duration {
	c.mu.RLock()
	dl, ok := c.st.nextDeadline()
	c.mu.RUnlock()
	if !ok {
		return producerIdle
	}
	return min(max(time.UnixMilli(int64(dl)).Sub(c.cfg.Now())+time.Millisecond, 0), producerIdle)
}

// buildBlock builds, executes and persists one block if transactions wait
// or a transition is due. It reports whether it made one; an error means
// the database failed and the chain must stop.
func (c *Chain) buildBlock() (bool, error) {
	c.qmu.Lock()
	n := min(len(c.queue), c.cfg.MaxTxsPerBlock)
	batch := c.queue[:n:n]
	c.qmu.Unlock()

	c.mu.Lock()
	st := c.st
	nowMs := max(uint64(c.cfg.Now().UnixMilli()), st.timeMs)
	dl, timed := st.nextDeadline()
	if n == 0 && !(timed && nowMs >= dl) {
		c.mu.Unlock()
		return false, nil
	}
	c.qmu.Lock()
	c.queue = c.queue[n:]
	c.qmu.Unlock()

	var rnd [32]byte
	cryptorand.Read(rnd[:])
	b := &Block{Header: BlockHeader{Height: st.height + 1, Prev: st.lastHash, Randomness: rnd}}
	st.beginBlock(b.Header.Height, nowMs, rnd)
	b.Header.TimeMs = st.timeMs
	var txs []txEntry
	outs := make([]outcome, n)
	for i, p := range batch {
		res, inBlock, err := st.applyTx(p.st, p.digest)
		outs[i] = outcome{res, err}
		if inBlock {
			code := outcomeCode(err)
			b.Txs = append(b.Txs, BlockTx{Tx: *p.st, Error: code})
			txs = append(txs, txEntry{p.digest, code})
		}
	}
	evs := st.events
	hash := st.endBlock(b, txs)
	// The state already moved on: from here the block must be persisted
	// or the chain stopped, never left half-applied.
	if err := c.db.writeBlock(b, hash, evs); err != nil {
		c.mu.Unlock()
		for _, p := range batch {
			p.done <- outcome{err: fmt.Errorf("%w: persisting block: %v", chain.ErrUnavailable, err)}
		}
		return false, err
	}
	c.committed = st.eventSeq
	close(c.newBlock)
	c.newBlock = make(chan struct{})
	if c.cfg.SnapshotInterval > 0 && st.height-c.snapHeight >= uint64(c.cfg.SnapshotInterval) {
		c.snapshot(false)
	}
	c.mu.Unlock()

	for i, p := range batch {
		p.done <- outs[i]
	}
	if len(evs) > 0 || len(b.Txs) > 0 {
		c.log.Debug("block", "height", b.Header.Height, "txs", len(b.Txs), "events", len(evs), "epoch", st.epoch)
	}
	return true, nil
}

// fail stops the chain after a database failure.
func (c *Chain) fail(err error) {
	c.log.Error("chain stopped: persisting a block failed", "err", err)
	c.mu.Lock()
	c.failed = err
	c.mu.Unlock()
	c.qmu.Lock()
	q := c.queue
	c.queue = nil
	c.stopped = true
	c.qmu.Unlock()
	for _, p := range q {
		p.done <- outcome{err: chain.ErrClosed}
	}
}

// Close stops the producer, fails the transactions still waiting with
// chain.ErrClosed, and closes the database. Later calls return the first
// call's result.
func (c *Chain) Close() error {
	c.closeOnce.Do(func() {
		c.qmu.Lock()
		close(c.stop)
		c.qmu.Unlock()
		<-c.done
		c.qmu.Lock()
		q := c.queue
		c.queue = nil
		c.qmu.Unlock()
		for _, p := range q {
			p.done <- outcome{err: chain.ErrClosed}
		}
		c.mu.Lock()
		if c.failed == nil && !c.noCloseSnapshot && c.st.height > c.snapHeight {
			c.snapshot(true)
		}
		c.closeErr = c.db.close()
		c.mu.Unlock()
	})
	return c.closeErr
}

// Head describes the chain's last block.
type Head struct {
	Height uint64       `json:"height"`
	Hash   chain.Digest `json:"hash"`
	Time   time.Time    `json:"time"`
	// StateRoot commits to the whole state (see canonical in the source).
	StateRoot chain.Digest `json:"stateRoot"`
	// Cursor is the cursor of the last event.
	Cursor chain.Cursor `json:"cursor"`
	Epoch  uint32       `json:"epoch"`
}

// Head returns the last block and the state root after it.
func (c *Chain) Head(ctx context.Context) (Head, error) {
	var h Head
	err := c.read(func(st *state) error {
		h = Head{
			Height: st.height, Hash: st.lastHash, Time: time.UnixMilli(int64(st.timeMs)).UTC(),
			StateRoot: st.root(), Cursor: chain.Cursor{Seq: st.eventSeq}, Epoch: st.epoch,
		}
		return nil
	})
	return h, err
}

// read runs f on the state under the read lock.
func (c *Chain) read(f func(*state) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.isClosed() {
		return chain.ErrClosed
	}
	if c.failed != nil {
		return fmt.Errorf("%w: %v", chain.ErrClosed, c.failed)
	}
	return f(c.st)
}

// SystemState implements chain.Chain.
func (c *Chain) SystemState(ctx context.Context) (chain.SystemState, error) {
	var out chain.SystemState
	err := c.read(func(st *state) error { out = st.systemState(); return nil })
	return out, err
}

// Committee implements chain.Chain.
func (c *Chain) Committee(ctx context.Context, epoch uint32) (*chain.Committee, error) {
	var out *chain.Committee
	err := c.read(func(st *state) (err error) { out, err = st.committee(epoch); return err })
	return out, err
}

// Node implements chain.Chain.
func (c *Chain) Node(ctx context.Context, id chain.NodeID) (chain.NodeInfo, error) {
	var out chain.NodeInfo
	err := c.read(func(st *state) (err error) { out, err = st.nodeInfo(id); return err })
	return out, err
}

// Nodes implements chain.Chain.
func (c *Chain) Nodes(ctx context.Context) ([]chain.NodeInfo, error) {
	var out []chain.NodeInfo
	err := c.read(func(st *state) error { out = st.nodeList(); return nil })
	return out, err
}

// NodeHistory implements chain.Chain. It keeps NodeHistoryEpochs epochs.
func (c *Chain) NodeHistory(ctx context.Context, id chain.NodeID) ([]chain.NodeEpoch, error) {
	var out []chain.NodeEpoch
	err := c.read(func(st *state) (err error) { out, err = st.nodeHistory(id); return err })
	return out, err
}

// BlobStatus implements chain.Chain.
func (c *Chain) BlobStatus(ctx context.Context, id encoding.BlobID) (chain.BlobStatus, error) {
	var out chain.BlobStatus
	err := c.read(func(st *state) error { out = st.blobStatus(id); return nil })
	return out, err
}

// BlobObject implements chain.Chain.
func (c *Chain) BlobObject(ctx context.Context, id chain.ObjectID) (chain.BlobObject, error) {
	var out chain.BlobObject
	err := c.read(func(st *state) (err error) { out, err = st.blobObject(id); return err })
	return out, err
}

// BlobAttribute implements chain.Chain.
func (c *Chain) BlobAttribute(ctx context.Context, id chain.ObjectID) (*chain.BlobAttribute, error) {
	var out *chain.BlobAttribute
	err := c.read(func(st *state) (err error) { out, err = st.blobAttribute(id); return err })
	return out, err
}

// SharedBlob implements chain.Chain.
func (c *Chain) SharedBlob(ctx context.Context, id chain.ObjectID) (chain.SharedBlob, error) {
	var out chain.SharedBlob
	err := c.read(func(st *state) (err error) { out, _, err = st.sharedBlob(id); return err })
	return out, err
}

// BlobObjects implements chain.Chain.
func (c *Chain) BlobObjects(ctx context.Context, owner chain.Address) ([]chain.BlobObject, error) {
	var out []chain.BlobObject
	err := c.read(func(st *state) error { out = st.blobObjects(owner); return nil })
	return out, err
}

// StorageResources implements chain.Chain.
func (c *Chain) StorageResources(ctx context.Context, owner chain.Address) ([]chain.StorageResource, error) {
	var out []chain.StorageResource
	err := c.read(func(st *state) error { out = st.storageResources(owner); return nil })
	return out, err
}

// Balance implements chain.Chain.
func (c *Chain) Balance(ctx context.Context, addr chain.Address) (uint64, error) {
	var out uint64
	err := c.read(func(st *state) error { out = st.balances[addr]; return nil })
	return out, err
}

// StakedWAL implements chain.Chain.
func (c *Chain) StakedWAL(ctx context.Context, owner chain.Address) ([]chain.StakedWAL, error) {
	var out []chain.StakedWAL
	err := c.read(func(st *state) error { out = st.stakedList(owner); return nil })
	return out, err
}

// EpochSeed implements chain.Chain.
func (c *Chain) EpochSeed(ctx context.Context, epoch uint32) (chain.Seed, error) {
	var out chain.Seed
	err := c.read(func(st *state) (err error) { out, err = st.epochSeed(epoch); return err })
	return out, err
}

// Events implements chain.Chain. limit is clamped to [1, MaxEventsPerPage]
// and wait to MaxEventWait.
func (c *Chain) Events(ctx context.Context, after chain.Cursor, limit int, wait time.Duration) ([]chain.Event, error) {
	if after.Token != "" {
		return nil, fmt.Errorf("%w: the local chain's cursors have no token", chain.ErrInvalidArgument)
	}
	limit = min(max(limit, 1), MaxEventsPerPage)
	wait = min(wait, MaxEventWait)
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		c.mu.RLock()
		if c.isClosed() {
			c.mu.RUnlock()
			return nil, chain.ErrClosed
		}
		committed, next := c.committed, c.newBlock
		if after.Seq < committed {
			// Read under the lock: Close waits for it before closing the
			// database.
			evs, err := c.db.events(after.Seq+1, min(committed, after.Seq+uint64(limit)))
			c.mu.RUnlock()
			if errors.Is(err, chain.ErrCorrupt) {
				c.log.Error("reading events", "err", err)
			}
			return evs, err
		}
		c.mu.RUnlock()
		if timeout == nil {
			return []chain.Event{}, nil
		}
		select {
		case <-next:
		case <-timeout:
			return []chain.Event{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.stop:
			return nil, chain.ErrClosed
		}
	}
}
