package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// recoveryQueueLen bounds the blobs waiting for recovery; past it, check
// drops work that the next scan finds again.
const recoveryQueueLen = 4096

// recoverer rebuilds the slivers a node lacks for certified blobs from
// recovery symbols of its peers, in the background, with bounded concurrency
// and retries.
type recoverer struct {
	store   *store.Store
	codec   *encoding.Codec
	views   *views
	peers   *p2p.Client
	stored  *signal // notified after pairs are written
	metrics *metrics
	log     *slog.Logger
	// workers bounds the blobs recovered at once; attempts and backoff
	// set the retries per blob.
	workers  int
	attempts int
	backoff  time.Duration

	// syncing, if set, reports the shards a shard sync is filling: recovery
	// leaves them to it until they are active.
	syncing func(shard uint16) bool

	// invalid, if set, takes the inconsistency proofs recovery finds.
	invalid *invalidator

	queue chan encoding.BlobID
	mu    sync.Mutex
	// queued holds the blobs queued or being recovered.
	queued map[encoding.BlobID]bool
}

func (r *recoverer) init() {
	r.queue = make(chan encoding.BlobID, recoveryQueueLen)
	r.queued = make(map[encoding.BlobID]bool)
}

// inProgress is the number of blobs queued or being recovered.
func (r *recoverer) inProgress() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queued)
}

// run starts the workers and waits for them until ctx ends.
func (r *recoverer) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-r.queue:
					r.recoverWithRetries(ctx, id)
					r.mu.Lock()
					delete(r.queued, id)
					r.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
}

// check queues a blob if it is certified, live, and the node lacks pairs of
// it.
func (r *recoverer) check(ctx context.Context, id encoding.BlobID) {
	need, err := r.needs(ctx, id)
	if err != nil {
		r.log.Warn("checking blob for recovery failed", "blob_id", id, "err", err)
		return
	}
	if len(need) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queued[id] {
		return
	}
	select {
	case r.queue <- id:
		r.queued[id] = true
		r.metrics.recoveryQueued.Inc()
	default:
		r.log.Warn("recovery queue full; the next scan retries", "blob_id", id)
	}
}

// needs returns the shards the node holds that lack a pair of a certified,
// live blob.
func (r *recoverer) needs(ctx context.Context, id encoding.BlobID) ([]uint16, error) {
	rec, found, err := blobRecord(ctx, r.store, id)
	if err != nil || !found {
		return nil, err
	}
	v := r.views.load()
	if !rec.Certified || !live(rec, v.epoch) {
		return nil, nil
	}
	missing, err := missingShards(ctx, r.store, id, v)
	if err != nil || r.syncing == nil {
		return missing, err
	}
	return slices.DeleteFunc(missing, r.syncing), nil
}

// scan queues every certified blob the node lacks pairs of.
func (r *recoverer) scan(ctx context.Context) {
	r.forEachRecord(ctx, func(id encoding.BlobID) { r.check(ctx, id) })
}

// forEachRecord calls fn for every blob the node has a record of.
func (r *recoverer) forEachRecord(ctx context.Context, fn func(encoding.BlobID)) {
	var after *store.Expiry
	for ctx.Err() == nil {
		page, err := r.store.ExpiredAt(ctx, math.MaxUint32, after, 0)
		if err != nil {
			r.log.Warn("listing blob records failed", "err", err)
			return
		}
		for _, e := range page {
			fn(e.BlobID)
		}
		if len(page) < store.DefaultPageLimit {
			return
		}
		after = &page[len(page)-1]
	}
}

// liars are the peers caught serving what does not verify (metadata that
// does not hash to the blob ID, recovery symbols whose proofs fail, answers
// that break the protocol) during one blob's recovery: each is logged with
// its peer ID once and not asked again for the rest of that recovery. It is
// safe for concurrent use.
type liars struct {
	mu  sync.Mutex
	set map[peer.ID]bool
}

func newLiars() *liars { return &liars{set: make(map[peer.ID]bool)} }

// add records p; it reports whether p is new.
func (l *liars) add(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set[p] {
		return false
	}
	l.set[p] = true
	return true
}

func (l *liars) has(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.set[p]
}

// caught records a peer that lied, logging it (once) with its peer ID.
func (r *recoverer) caught(l *liars, id encoding.BlobID, p peer.ID, what string, err error) {
	if l.add(p) {
		r.metrics.liarsCaught.Inc()
		r.log.Warn("peer lied during recovery; not asking it again for this blob", "blob_id", id, "peer", p, "lie", what, "err", err)
	}
}

func (r *recoverer) recoverWithRetries(ctx context.Context, id encoding.BlobID) {
	backoff := r.backoff
	lied := newLiars()
	for attempt := 1; attempt <= r.attempts; attempt++ {
		err := r.recoverBlob(ctx, id, lied)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, encoding.ErrInconsistentBlob) {
			// No retry rebuilds it: the invalidator has the proof.
			r.log.Warn("blob is inconsistently encoded; not recovering it", "blob_id", id, "err", err)
			r.metrics.recoveryFailed.Inc()
			return
		}
		r.log.Warn("recovering blob failed", "blob_id", id, "attempt", attempt, "err", err)
		if sleepCtx(ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
	r.metrics.recoveryFailed.Inc()
}

// recoverBlob rebuilds every pair the node lacks of a blob, asking no peer
// in lied (and adding those it catches).
func (r *recoverer) recoverBlob(ctx context.Context, id encoding.BlobID, lied *liars) error {
	missing, err := r.needs(ctx, id)
	if err != nil || len(missing) == 0 {
		return err
	}
	return r.recoverPairs(ctx, id, missing, lied)
}

// recoverPairs rebuilds the pairs of a blob on the given shards, asking no
// peer in lied (nil: a fresh set) and adding those it catches.
func (r *recoverer) recoverPairs(ctx context.Context, id encoding.BlobID, missing []uint16, lied *liars) error {
	if lied == nil {
		lied = newLiars()
	}
	md, err := r.metadata(ctx, id, lied)
	if err != nil {
		return err
	}
	nn := r.codec.Params().N
	for start := 0; start < len(missing); start += p2p.MaxRecoveryTargets {
		batch := missing[start:min(start+p2p.MaxRecoveryTargets, len(missing))]
		prim := make([]uint16, len(batch))
		sec := make([]uint16, len(batch))
		for i, s := range batch {
			pair := id.PairForShard(int(s), nn)
			prim[i] = uint16(pair)
			sec[i] = uint16(nn - 1 - pair)
		}
		primSyms := r.gather(ctx, id, md, encoding.Primary, prim, lied)
		secSyms := r.gather(ctx, id, md, encoding.Secondary, sec, lied)
		var pairs []store.ShardPair
		var firstErr error
		for i, s := range batch {
			p, pl, perr := r.codec.RecoverSliverLeaves(md, encoding.Primary, int(prim[i]), primSyms[prim[i]])
			q, ql, qerr := r.codec.RecoverSliverLeaves(md, encoding.Secondary, int(sec[i]), secSyms[sec[i]])
			// A secondary proof carries rows symbols, fewer than a primary
			// one's cols: prefer it.
			switch {
			case errors.Is(qerr, encoding.ErrInconsistentBlob):
				r.inconsistent(id, md, encoding.Secondary, sec[i], secSyms[sec[i]])
			case errors.Is(perr, encoding.ErrInconsistentBlob):
				r.inconsistent(id, md, encoding.Primary, prim[i], primSyms[prim[i]])
			}
			if err := cmpErr(perr, qerr); err != nil {
				firstErr = cmpErr(firstErr, fmt.Errorf("shard %d: %w", s, err))
				continue
			}
			// Leaves kept as intake keeps them, for range reads.
			sp := store.ShardPair{Shard: s, Pair: encoding.SliverPair{Primary: *p, Secondary: *q}}
			if keepLeaves(len(p.Data), nn) {
				sp.Leaves[0] = pl
			}
			if keepLeaves(len(q.Data), nn) {
				sp.Leaves[1] = ql
			}
			pairs = append(pairs, sp)
		}
		if len(pairs) > 0 {
			if err := r.store.PutPairs(ctx, id, pairs); err != nil {
				return err
			}
			r.metrics.pairsRecovered.Add(float64(len(pairs)))
			r.stored.notify()
			r.log.Debug("recovered sliver pairs", "blob_id", id, "pairs", len(pairs))
		}
		if firstErr != nil {
			return firstErr
		}
	}
	return nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// recoveryHedge is how long gather waits on the peers it asked, when they
// should have given enough symbols, before it asks one more: a slow or
// silent peer delays a recovery by this much, not by its request timeout.
const recoveryHedge = 2 * time.Second

// gather collects recovery symbols for the target slivers (axis, indices)
// from the node's own slivers and from other committee members not in
// lied, by target index. A peer's symbols are verified as they arrive: if
// one fails, the peer is caught lying and none of its symbols is used.
//
// It asks only as many peers as rebuilding takes (DESIGN.md §2: cols
// symbols for a primary sliver, rows for a secondary one, from distinct
// slivers of the other axis), in random order, counting each peer for the
// shards it holds; when a peer fails, gives fewer symbols, or is slower
// than recoveryHedge, it asks more, until the targets have enough or every
// peer was asked. So a pair is rebuilt from about its own size in symbols
// (and their proofs), not n − 1 symbols per sliver.
func (r *recoverer) gather(ctx context.Context, id encoding.BlobID, md *encoding.Metadata, axis encoding.Axis, indices []uint16,
	lied *liars) map[uint16][]encoding.RecoverySymbol {
	out := make(map[uint16][]encoding.RecoverySymbol)
	v := r.views.load()
	nn := v.n()
	need := r.codec.Params().ProofSymbols(axis)
	seen := make(map[uint16][]bool, len(indices))
	have := make(map[uint16]int, len(indices))
	for _, t := range indices {
		seen[t] = make([]bool, nn)
	}
	add := func(syms []encoding.RecoverySymbol) {
		for _, s := range syms {
			out[s.TargetIndex] = append(out[s.TargetIndex], s)
			if sn := seen[s.TargetIndex]; sn != nil && int(s.SourceIndex) < nn && !sn[s.SourceIndex] {
				sn[s.SourceIndex] = true
				have[s.TargetIndex]++
			}
		}
	}
	// deficit is the most symbols a target still lacks.
	deficit := func() int {
		d := 0
		for _, t := range indices {
			d = max(d, need-have[t])
		}
		return d
	}
	if own, err := recoverySymbols(ctx, r.store, r.codec, r.log, id, axis, indices, v); err == nil {
		add(own)
	}
	symbolSize, err := r.codec.Params().SymbolSize(md.UnencodedLength)
	if err != nil {
		return out
	}
	type candidate struct {
		pid    peer.ID
		shards int
	}
	var cands []candidate
	for i, m := range v.committee.Members {
		if i == v.index {
			continue
		}
		pid, err := p2p.ParsePeerID(m.PeerID)
		if err != nil || lied.has(pid) {
			continue
		}
		cands = append(cands, candidate{pid, len(m.Shards)})
	}
	rand.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })

	rctx, cancel := context.WithCancel(ctx)
	type answer struct {
		shards int
		syms   []encoding.RecoverySymbol
	}
	answers := make(chan answer, len(cands))
	var wg sync.WaitGroup
	defer func() {
		cancel() // the requests still out are not needed
		wg.Wait()
	}()
	inflight, expected, next := 0, 0, 0
	launch := func() {
		c := cands[next]
		next++
		inflight++
		expected += c.shards
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- answer{c.shards, r.askSymbols(rctx, lied, id, md, c.pid, axis, indices, symbolSize, nn)}
		}()
	}
	hedge := time.NewTimer(recoveryHedge)
	defer hedge.Stop()
	for deficit() > 0 {
		for next < len(cands) && expected < deficit() {
			launch()
		}
		if inflight == 0 {
			break // every peer was asked
		}
		select {
		case a := <-answers:
			inflight--
			expected -= a.shards
			add(a.syms)
		case <-hedge.C:
			if next < len(cands) {
				launch()
			}
			hedge.Reset(recoveryHedge)
		case <-ctx.Done():
			return out
		}
	}
	return out
}

// askSymbols asks peer pid for the recovery symbols of the targets and
// verifies them: it returns nil, and catches pid lying, if one fails.
func (r *recoverer) askSymbols(ctx context.Context, lied *liars, id encoding.BlobID, md *encoding.Metadata, pid peer.ID,
	axis encoding.Axis, indices []uint16, symbolSize, n int) []encoding.RecoverySymbol {
	// A peer may serve the shards it is leaving as well as its own: up to
	// n slivers of the other axis.
	syms, err := r.peers.GetRecoverySymbols(ctx, pid, id, axis, indices, symbolSize, n)
	if errors.Is(err, p2p.ErrProtocol) {
		r.caught(lied, id, pid, "recovery symbols", err)
		return nil
	}
	if err != nil {
		r.log.Debug("peer gave no recovery symbols", "blob_id", id, "peer", pid, "err", err)
		return nil
	}
	for k := range syms {
		if err := r.codec.VerifyRecoverySymbol(md, &syms[k]); err != nil {
			r.caught(lied, id, pid, "recovery symbols", fmt.Errorf("symbol of %s sliver %d for target %d: %w",
				syms[k].SourceAxis, syms[k].SourceIndex, syms[k].TargetIndex, err))
			return nil
		}
	}
	size := 0
	for i := range syms {
		size += len(syms[i].Data) + len(syms[i].Proof)*len(encoding.Hash{})
	}
	r.metrics.recoveryBytes.Add(float64(size))
	return syms
}

// metadata returns a blob's metadata from the store, or fetches it from the
// committee members not in lied, verifies it against the blob ID and stores
// it. A member whose metadata does not verify is caught lying.
func (r *recoverer) metadata(ctx context.Context, id encoding.BlobID, lied *liars) (*encoding.Metadata, error) {
	md, err := r.store.Metadata(ctx, id)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return md, err
	}
	v := r.views.load()
	for i, m := range v.committee.Members {
		if i == v.index {
			continue
		}
		pid, err := p2p.ParsePeerID(m.PeerID)
		if err != nil || lied.has(pid) {
			continue
		}
		md, err := r.peers.GetMetadata(ctx, pid, id, v.n())
		if errors.Is(err, p2p.ErrProtocol) {
			r.caught(lied, id, pid, "metadata", err)
			continue
		}
		if err != nil {
			continue
		}
		if err := md.Verify(id, r.codec.Params().N); err != nil {
			r.caught(lied, id, pid, "metadata", err)
			continue
		}
		if err := r.store.PutMetadata(ctx, id, md); err != nil {
			return nil, err
		}
		return md, nil
	}
	return nil, fmt.Errorf("node: no peer has the metadata of blob %s", id)
}
