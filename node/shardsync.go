package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// Shard sync at epoch changes (DESIGN.md §5, step 7).
//
// A node that gains a shard at an epoch change pulls it from the shard's
// holder in the previous epoch's committee over shard-sync/get: the pairs of
// the certified blobs, in blob-ID order, a response of ShardSyncBatch pairs
// at a time, each pair verified against its blob's metadata before it is
// stored. The pairs are written with a cursor (the last blob ID covered) in
// one batch, so a node restarted mid-sync resumes after what it stored.
// When the previous holder is down or slow (ShardSyncAttempts failed
// requests in a row) or lies (a pair that fails verification, metadata that
// does not hash to its blob), the node leaves it, and recovers what is left
// from all nodes' recovery symbols; it does the same for whatever the holder
// did not send (a truncated response, a blob certified meanwhile). Then the
// shard is active, and once every new shard is, the node reports sync done.
// While a shard syncs, the background recovery leaves it alone.
//
// A node that loses a shard keeps its data and serves it over shard sync to
// the shard's new holder (and only to it) until the new holder reports sync
// done or the next epoch change starts, whichever comes first — the change
// may be done, by a quorum of other nodes, before the new holder has pulled
// the shard (Walrus, likewise, keeps a shard it lost for one epoch). Its
// slivers are served to clients and for recovery only until the change is
// done (view.serves).

// Bounds of the pulling side.
const (
	// syncFlushBytes and syncFlushPairs bound the verified pairs the puller
	// holds before it writes them, with the cursor, in one batch.
	syncFlushBytes = 8 << 20
	syncFlushPairs = 64
	// syncRetryBackoff is the wait after a failed request to the previous
	// holder, doubled for each failure in a row.
	syncRetryBackoff = 200 * time.Millisecond
)

// errNoSource means a shard has no previous holder to pull from: it was
// nobody's, or the node's own (a sync carried over from an epoch it did
// not finish).
var errNoSource = errors.New("node: no previous holder to pull the shard from")

// errLie wraps what a previous holder sent that fails verification.
var errLie = errors.New("node: the previous holder sent a pair that fails verification")

// SyncShard implements p2p.ShardSyncHandler: the node serves the pairs it
// stores of a shard — one it holds, or one it lost and still keeps — to the
// node the committee of req.Epoch (the node's current epoch, or the next
// one) assigns the shard to: only certified, live blobs, in blob-ID order.
func (h *handler) SyncShard(ctx context.Context, req p2p.ShardSyncRequest, send func(*p2p.ShardSyncPair) (bool, error)) (p2p.ShardSyncEnd, error) {
	who, ok := p2p.RemotePeer(ctx)
	if !ok {
		return p2p.ShardSyncEnd{}, fmt.Errorf("%w: unknown requester", p2p.ErrNotAssigned)
	}
	v := h.views.load()
	if int(req.Shard) >= v.n() {
		return p2p.ShardSyncEnd{}, fmt.Errorf("%w: shard %d, n = %d", p2p.ErrInvalid, req.Shard, v.n())
	}
	if err := h.assigned(ctx, v, req, who); err != nil {
		return p2p.ShardSyncEnd{}, err
	}
	switch st, err := h.store.ShardStatus(ctx, req.Shard); {
	case errors.Is(err, store.ErrNotFound):
		// No status: a shard held since genesis, or one the node lost at
		// a change it has not applied yet. Nothing else is stored.
		if !v.holds(req.Shard) && !v.leaving[req.Shard] {
			return p2p.ShardSyncEnd{}, fmt.Errorf("%w: the node stores no data of shard %d", p2p.ErrNotFound, req.Shard)
		}
	case err != nil:
		return p2p.ShardSyncEnd{}, err
	case st == store.ShardSyncing:
		return p2p.ShardSyncEnd{}, fmt.Errorf("%w: the node is still syncing shard %d", p2p.ErrNotFound, req.Shard)
	}
	end := p2p.ShardSyncEnd{Next: req.After}
	page := store.Page{After: req.After, Limit: int(req.Limit)}
	for {
		ids, err := h.store.ShardBlobs(ctx, req.Shard, page)
		if err != nil {
			return end, err
		}
		for _, id := range ids {
			end.Next = &id
			p, ok, err := h.syncPair(ctx, v, req, id)
			if err != nil {
				return end, err
			}
			if !ok {
				continue
			}
			more, err := send(p)
			if err != nil {
				return end, err
			}
			h.metrics.syncServedPairs.Inc()
			h.metrics.syncServedBytes.Add(float64(len(p.Pair.Primary.Data) + len(p.Pair.Secondary.Data)))
			if !more {
				end.More = true
				return end, nil
			}
		}
		if len(ids) < page.Limit {
			return end, nil
		}
		page.After = end.Next
	}
}

// assigned checks that the committee of req.Epoch gives req.Shard to the
// requester, and that the epoch is the node's current one or the next
// (whose committee the chain has chosen at the current one's midpoint).
func (h *handler) assigned(ctx context.Context, v *view, req p2p.ShardSyncRequest, who peer.ID) error {
	com := v.committee
	switch {
	case req.Epoch == v.epoch:
	case req.Epoch == v.epoch+1:
		c, err := h.views.nextCommittee(ctx, req.Epoch)
		if errors.Is(err, chain.ErrNoCommittee) {
			return fmt.Errorf("%w: no committee of epoch %d yet", p2p.ErrNotAssigned, req.Epoch)
		}
		if err != nil {
			return err
		}
		com = c
	default:
		return fmt.Errorf("%w: shard sync for epoch %d, the node is in epoch %d", p2p.ErrNotAssigned, req.Epoch, v.epoch)
	}
	i, ok := com.MemberForShard(req.Shard)
	if !ok || com.Members[i].PeerID != who.String() {
		return fmt.Errorf("%w: shard %d is not %s's in epoch %d", p2p.ErrNotAssigned, req.Shard, who, req.Epoch)
	}
	return nil
}

// nextCommittee is a cached lookup of the committee of the epoch after the
// current view's: the committee, or the time the chain had none yet.
type nextCommittee struct {
	epoch  uint32
	com    *chain.Committee
	missed time.Time
}

// nextCommitteeRetry is how long "no committee yet" is believed.
const nextCommitteeRetry = time.Second

// nextCommittee returns the committee of epoch (after the current view's),
// cached: every shard-sync request names it, and a stranger's requests must
// not cost a chain read each.
func (vs *views) nextCommittee(ctx context.Context, epoch uint32) (*chain.Committee, error) {
	if e := vs.next.Load(); e != nil && e.epoch == epoch {
		if e.com != nil {
			return e.com, nil
		}
		if time.Since(e.missed) < nextCommitteeRetry {
			return nil, fmt.Errorf("%w: epoch %d", chain.ErrNoCommittee, epoch)
		}
	}
	c, err := vs.chain.Committee(ctx, epoch)
	switch {
	case errors.Is(err, chain.ErrNoCommittee):
		vs.next.Store(&nextCommittee{epoch: epoch, missed: time.Now()})
		return nil, err
	case err != nil:
		return nil, err
	}
	vs.next.Store(&nextCommittee{epoch: epoch, com: c})
	return c, nil
}

// syncPair reads the pair of blob id on req.Shard for a shard-sync response:
// ok is false for a blob not to send (not certified, expired, deleted, or
// gone from the store meanwhile).
func (h *handler) syncPair(ctx context.Context, v *view, req p2p.ShardSyncRequest, id encoding.BlobID) (*p2p.ShardSyncPair, bool, error) {
	rec, found, err := blobRecord(ctx, h.store, id)
	if err != nil || !found || !rec.Certified || !live(rec, v.epoch) {
		return nil, false, err
	}
	p := &p2p.ShardSyncPair{BlobID: id}
	for _, sl := range []*encoding.Sliver{&p.Pair.Primary, &p.Pair.Secondary} {
		axis := encoding.Primary
		if sl == &p.Pair.Secondary {
			axis = encoding.Secondary
		}
		s, err := h.store.Sliver(ctx, req.Shard, id, axis)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		*sl = s
	}
	if req.WithMetadata {
		md, err := h.store.Metadata(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		p.Metadata = md
	}
	return p, true, nil
}

// handoff decides how long the node keeps the data of a shard it lost: for
// the new holder to pull, until the new holder reports sync done for the
// epoch or the next epoch change. It is safe for concurrent use.
type handoff struct {
	chain Chain
	self  chain.NodeID
	log   *slog.Logger

	mu     sync.Mutex
	epoch  uint32                // the epoch of synced
	synced map[chain.NodeID]bool // members that reported sync done in epoch
	// before caches, per epoch e, the shards the node held in epoch e − 1.
	beforeEpoch uint32
	before      map[uint16]bool
}

// reported records that node reported sync done for epoch.
func (h *handoff) reported(epoch uint32, node chain.NodeID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if epoch != h.epoch || h.synced == nil {
		h.epoch, h.synced = epoch, map[chain.NodeID]bool{}
	}
	h.synced[node] = true
}

func (h *handoff) hasReported(epoch uint32, node chain.NodeID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.epoch == epoch && h.synced[node]
}

// keep reports whether the data of shard s, which the node does not hold in
// v, stays for its new holder: s was the node's in the epoch before v's, and
// its holder in v has not reported sync done.
func (h *handoff) keep(ctx context.Context, v *view, s uint16) bool {
	if !v.leaving[s] && !h.heldBefore(ctx, v.epoch, s) {
		return false
	}
	i, ok := v.committee.MemberForShard(s)
	return ok && !h.hasReported(v.epoch, v.committee.Members[i].NodeID)
}

// heldBefore reports whether the node held shard s in epoch − 1 (v.leaving
// says so for an epoch change the node saw; this asks the chain, for a node
// that restarted). When the chain cannot say, it answers true: data is
// kept rather than lost.
func (h *handoff) heldBefore(ctx context.Context, epoch uint32, s uint16) bool {
	if epoch == 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.before == nil || h.beforeEpoch != epoch {
		com, err := h.chain.Committee(ctx, epoch-1)
		if err != nil {
			h.log.Warn("reading the previous committee failed; keeping lost shards", "epoch", epoch-1, "err", err)
			return true
		}
		h.beforeEpoch, h.before = epoch, map[uint16]bool{}
		if i, ok := com.Index(h.self); ok {
			for _, sh := range com.Members[i].Shards {
				h.before[sh] = true
			}
		}
	}
	return h.before[s]
}

// shardSyncer fills the shards newly assigned to the node (see the top of
// this file). It is safe for concurrent use.
type shardSyncer struct {
	store    *store.Store
	codec    *encoding.Codec
	chain    Chain
	views    *views
	peers    *p2p.Client
	recov    *recoverer
	metrics  *metrics
	log      *slog.Logger
	self     chain.NodeID
	batch    int
	timeout  time.Duration
	attempts int
	workers  int

	mu      sync.Mutex
	syncing map[uint16]bool // shards in status syncing: recovery leaves them alone
	cancel  context.CancelFunc
	done    chan struct{} // closed when the run in progress ends
}

// isSyncing reports whether shard s is being synced.
func (s *shardSyncer) isSyncing(shard uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncing[shard]
}

// claim marks shards as syncing (before their status is written), and
// releases the others.
func (s *shardSyncer) claim(shards []uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncing = make(map[uint16]bool, len(shards))
	for _, sh := range shards {
		s.syncing[sh] = true
	}
}

// claimed returns the shards being synced, in order.
func (s *shardSyncer) claimed() []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]uint16, 0, len(s.syncing))
	for sh := range s.syncing {
		out = append(out, sh)
	}
	slices.Sort(out)
	return out
}

func (s *shardSyncer) release(shard uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.syncing, shard)
}

// load claims the shards whose stored status is syncing and that the node
// holds in v (at startup, before recovery scans).
func (s *shardSyncer) load(ctx context.Context, v *view) ([]uint16, error) {
	sts, err := s.store.ShardStatuses(ctx)
	if err != nil {
		return nil, err
	}
	var out []uint16
	for _, sh := range v.shards {
		if sts[sh] == store.ShardSyncing {
			out = append(out, sh)
		}
	}
	s.claim(out)
	return out, nil
}

// stop cancels the run in progress, if any, without waiting for it.
func (s *shardSyncer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
}

// errSuperseded means a later epoch change took a shard's sync over.
var errSuperseded = errors.New("node: the shard's sync was superseded by an epoch change")

// run syncs the shards of v whose status is syncing, superseding a run in
// progress (of an earlier epoch), and reports whether it finished: every
// shard is active. It returns false when ctx ends or a later run takes over.
func (s *shardSyncer) run(ctx context.Context, v *view) bool {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	prev := s.done
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.cancel, s.done = cancel, done
	s.mu.Unlock()
	defer close(done)
	defer cancel()
	if prev != nil {
		<-prev
	}
	shards, err := s.load(ctx, v)
	if err != nil {
		s.log.Warn("reading shard statuses failed; shard sync not started", "err", err)
		return false
	}
	if len(shards) == 0 {
		return ctx.Err() == nil
	}
	start := time.Now()
	s.log.Info("shard sync started", "epoch", v.epoch, "shards", shards)
	work := make(chan uint16)
	var wg sync.WaitGroup
	for range min(s.workers, len(shards)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sh := range work {
				s.syncShard(ctx, v, sh)
			}
		}()
	}
	for _, sh := range shards {
		select {
		case work <- sh:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil || s.views.load().epoch != v.epoch {
		return false
	}
	// Blobs certified while a shard synced, after its final pass: the
	// background recovery sees the shard now that it is active.
	s.recov.scan(ctx)
	s.log.Info("shard sync done", "epoch", v.epoch, "shards", shards, "duration", time.Since(start))
	return true
}

// syncShard fills one shard: it pulls what it can from the previous
// holder, recovers the rest, then marks the shard active.
func (s *shardSyncer) syncShard(ctx context.Context, v *view, shard uint16) {
	pulled, err := s.pull(ctx, v, shard)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		s.metrics.syncFallbacks.Inc()
		s.log.Warn("shard sync falls back to recovery", "shard", shard, "epoch", v.epoch, "pulled", pulled, "err", err)
	}
	recovered := s.recoverRest(ctx, v, shard)
	if ctx.Err() != nil {
		return
	}
	if err := s.store.Update(ctx, func(tx *store.Tx) error {
		// Only if no epoch change came in between (the change writes the
		// epoch and the statuses in one transaction).
		if e, err := tx.CurrentEpoch(); err != nil || e != v.epoch {
			return cmpErr(err, errSuperseded)
		}
		if st, err := tx.ShardStatus(shard); err != nil || st != store.ShardSyncing {
			return cmpErr(err, errSuperseded)
		}
		if err := tx.SetShardStatus(shard, store.ShardActive); err != nil {
			return err
		}
		return tx.DeleteSyncCursor(shard)
	}); err != nil {
		s.log.Warn("marking a synced shard active failed", "shard", shard, "err", err)
		return
	}
	s.release(shard)
	s.log.Info("shard synced", "shard", shard, "epoch", v.epoch, "pulled", pulled, "recovered", recovered)
}

// source returns the previous holder of shard (in the committee of
// v.epoch − 1), and whether the node was in that committee.
func (s *shardSyncer) source(ctx context.Context, v *view, shard uint16) (peer.ID, bool, error) {
	if v.epoch == 0 {
		return "", false, errNoSource
	}
	com, err := s.chain.Committee(ctx, v.epoch-1)
	if err != nil {
		return "", false, fmt.Errorf("node: reading the committee of epoch %d: %w", v.epoch-1, err)
	}
	_, member := com.Index(s.self)
	i, ok := com.MemberForShard(shard)
	if !ok || com.Members[i].NodeID == s.self {
		return "", member, errNoSource
	}
	m := com.Members[i]
	pid, err := p2p.ParsePeerID(m.PeerID)
	if err != nil {
		return "", member, fmt.Errorf("node: previous holder %s of shard %d: %w", m.NodeID, shard, err)
	}
	if err := s.views.host.SetPeerAddrs(pid, m.Addresses); err != nil {
		s.log.Warn("previous holder has bad addresses", "node_id", m.NodeID, "err", err)
	}
	return pid, member, nil
}

// pull pulls shard from its previous holder, from the stored cursor of v's
// epoch, until the holder has no more, and returns the pairs it stored. An
// error says why it stopped early.
func (s *shardSyncer) pull(ctx context.Context, v *view, shard uint16) (int, error) {
	pid, member, err := s.source(ctx, v, shard)
	if err != nil {
		return 0, err
	}
	var after *encoding.BlobID
	if c, err := s.store.SyncCursor(ctx, shard); err == nil && c.Epoch == v.epoch {
		after = &c.After
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	// A node new to the committee lacks the metadata of older blobs: ask
	// for it with the pairs; then follow what the responses show.
	withMD := !member
	pulled, failures := 0, 0
	for {
		if s.views.load().epoch != v.epoch {
			return pulled, fmt.Errorf("node: epoch %d is over", v.epoch)
		}
		b := &syncBatch{s: s, v: v, shard: shard, peer: pid, cursor: after}
		req := p2p.ShardSyncRequest{Epoch: v.epoch, Shard: shard, After: after, Limit: uint32(s.batch), WithMetadata: withMD}
		rctx, cancel := context.WithTimeout(ctx, s.timeout)
		end, err := s.peers.SyncShard(rctx, pid, req, func(p *p2p.ShardSyncPair) error { return b.take(ctx, p) })
		cancel()
		if ferr := b.flush(ctx); ferr != nil {
			return pulled + b.stored, ferr
		}
		pulled += b.stored
		after = b.cursor
		switch {
		case b.lie != nil:
			return pulled, b.lie
		case ctx.Err() != nil:
			return pulled, ctx.Err()
		case err != nil:
			if failures++; failures >= s.attempts {
				return pulled, err
			}
			s.log.Debug("shard-sync request failed; retrying", "shard", shard, "peer", pid, "failures", failures, "err", err)
			if sleepCtx(ctx, syncRetryBackoff<<(failures-1)) != nil {
				return pulled, ctx.Err()
			}
			continue
		}
		failures = 0
		if end.Next != nil && (after == nil || *end.Next != *after) {
			// The holder skipped blobs after the last pair: keep the
			// cursor past them.
			after = end.Next
			if err := s.store.PutSyncedPairs(ctx, shard, nil, store.SyncCursor{Epoch: v.epoch, After: *after}); err != nil {
				return pulled, err
			}
		}
		if !end.More {
			return pulled, nil
		}
		if b.taken > 0 {
			withMD = 2*b.lacked > b.taken
		}
	}
}

// syncBatch takes the pairs of one shard-sync response: it verifies each
// and writes them, with the cursor, a bounded batch at a time.
type syncBatch struct {
	s      *shardSyncer
	v      *view
	shard  uint16
	peer   peer.ID
	cursor *encoding.BlobID // the last blob covered (written or about to be)

	pending []store.SyncedPair
	bytes   int
	dirty   bool // the cursor moved since the last flush
	stored  int
	taken   int   // pairs received
	lacked  int   // of which the node lacked the metadata
	lie     error // the first pair that failed verification
}

// take verifies one pair and queues it for the store. Its error (a lie, or
// the store failing) ends the response.
func (b *syncBatch) take(ctx context.Context, p *p2p.ShardSyncPair) error {
	s := b.s
	b.taken++
	size := len(p.Pair.Primary.Data) + len(p.Pair.Secondary.Data)
	if p.Metadata != nil {
		size += 66 * p.Metadata.N()
	}
	s.metrics.syncBytes.Add(float64(size))
	leaves, err := b.verify(ctx, p)
	if errors.Is(err, errSkip) {
		err = nil
	} else if err == nil {
		b.pending = append(b.pending, store.SyncedPair{BlobID: p.BlobID, Metadata: p.Metadata, Pair: p.Pair, Leaves: leaves})
		b.bytes += size
	}
	if err != nil {
		if errors.Is(err, errLie) {
			b.lie = err
		}
		return err
	}
	id := p.BlobID
	b.cursor, b.dirty = &id, true
	if len(b.pending) >= syncFlushPairs || b.bytes >= syncFlushBytes {
		return b.flush(ctx)
	}
	return nil
}

// errSkip marks a pair the node does not store: it has it already, or does
// not know the blob as live.
var errSkip = errors.New("skip")

// verify checks a pair against the blob's record and metadata; it leaves
// p.Metadata set only when the store lacks it.
func (b *syncBatch) verify(ctx context.Context, p *p2p.ShardSyncPair) (leaves [2][]encoding.Hash, err error) {
	s, id := b.s, p.BlobID
	nn := s.codec.Params().N
	if n := int(p.Pair.Primary.Index) + int(p.Pair.Secondary.Index) + 1; n != nn {
		return leaves, fmt.Errorf("%w: blob %s: a pair for n = %d, the network has %d", errLie, id, n, nn)
	}
	if p.Metadata != nil {
		if err := p.Metadata.Verify(id, nn); err != nil {
			return leaves, fmt.Errorf("%w: blob %s: %v", errLie, id, err)
		}
	}
	if has, err := s.store.HasPair(ctx, b.shard, id); err != nil || has {
		return leaves, cmpErr(err, errSkip)
	}
	rec, found, err := blobRecord(ctx, s.store, id)
	if err != nil {
		return leaves, err
	}
	if !found || !live(rec, b.v.epoch) {
		// Not (yet) known to this node's follower: recovery takes it once
		// its record arrives, if it is certified.
		return leaves, errSkip
	}
	md, have, err := b.metadata(ctx, p)
	if err != nil {
		return leaves, err
	}
	for k, sl := range []*encoding.Sliver{&p.Pair.Primary, &p.Pair.Secondary} {
		if leaves[k], err = verifyKeepingLeaves(s.codec, md, sl); err != nil {
			return leaves, fmt.Errorf("%w: blob %s: %v", errLie, id, err)
		}
	}
	if have {
		p.Metadata = nil
	} else {
		p.Metadata = md
	}
	return leaves, nil
}

// metadata returns the blob's metadata, verified, and whether the store has
// it: from the store, the pair, or else fetched from the holder (or any
// node).
func (b *syncBatch) metadata(ctx context.Context, p *p2p.ShardSyncPair) (*encoding.Metadata, bool, error) {
	s := b.s
	md, err := s.store.Metadata(ctx, p.BlobID)
	if err == nil {
		return md, true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	b.lacked++
	if p.Metadata != nil {
		return p.Metadata, false, nil
	}
	if md, err := s.peers.GetMetadata(ctx, b.peer, p.BlobID, s.codec.Params().N); err == nil {
		if err := md.Verify(p.BlobID, s.codec.Params().N); err != nil {
			return nil, false, fmt.Errorf("%w: metadata of blob %s: %v", errLie, p.BlobID, err)
		}
		return md, false, nil
	}
	md, err = s.recov.metadata(ctx, p.BlobID, newLiars()) // stores it
	if err != nil {
		return nil, false, err
	}
	return md, true, nil
}

// flush writes the queued pairs and the cursor in one batch.
func (b *syncBatch) flush(ctx context.Context) error {
	if !b.dirty {
		return nil
	}
	if err := b.s.store.PutSyncedPairs(ctx, b.shard, b.pending, store.SyncCursor{Epoch: b.v.epoch, After: *b.cursor}); err != nil {
		return err
	}
	b.s.metrics.syncPairs.Add(float64(len(b.pending)))
	b.stored += len(b.pending)
	if len(b.pending) > 0 {
		b.s.recov.stored.notify()
	}
	b.pending, b.bytes, b.dirty = b.pending[:0], 0, false
	return nil
}

// recoverRest recovers, from all nodes, the pairs of shard that the node
// lacks for certified, live blobs, and returns how many it rebuilt.
func (s *shardSyncer) recoverRest(ctx context.Context, v *view, shard uint16) int {
	recovered := 0
	s.recov.forEachRecord(ctx, func(id encoding.BlobID) {
		if s.views.load().epoch != v.epoch {
			return
		}
		rec, found, err := blobRecord(ctx, s.store, id)
		if err != nil || !found || !rec.Certified || !live(rec, v.epoch) {
			return
		}
		if has, err := s.store.HasPair(ctx, shard, id); err != nil || has {
			return
		}
		backoff := s.recov.backoff
		for attempt := 1; attempt <= s.recov.attempts; attempt++ {
			err := s.recov.recoverPairs(ctx, id, []uint16{shard}, nil)
			if err == nil {
				recovered++
				s.metrics.syncRecovered.Inc()
				return
			}
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("recovering a pair of a synced shard failed", "blob_id", id, "shard", shard, "attempt", attempt, "err", err)
			if sleepCtx(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, 30*time.Second)
		}
		s.metrics.recoveryFailed.Inc()
	})
	return recovered
}
