package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// sliverKey names a sliver of a blob.
type sliverKey struct {
	axis  encoding.Axis
	index uint16
}

// held is a verified sliver the intake holds in memory, with the peer whose
// reservation in the intake's budget pays for it (size: len(Data) bytes and
// its leaves'). Whoever holds a held either hands it on (to the pending
// buffer, which then owns the reservation) or releases its reservation when
// it lets go of it.
type held struct {
	encoding.Sliver
	owner peer.ID
	// sum is store.SliverSum of Data, taken right after the sliver's
	// verification, while its bytes are in the caches.
	sum uint32
	// leaves are the leaf hashes of the sliver's expansion, which its
	// verification computes anyway, kept (store.ShardPair.Leaves) where the
	// sliver is large enough (keepLeaves) so that a range read's
	// symbols are served without expanding it again.
	leaves []encoding.Hash
}

// leafKeepFactor bounds the leaf hashes the node keeps with a sliver to a
// fraction of it: they are kept when the sliver is at least leafKeepFactor
// times their size (n hashes of 32 bytes), so they add at most 1/64 to the
// bytes stored and held in memory. Smaller slivers are expanded whole to
// serve symbols, which costs little at their size.
const leafKeepFactor = 64

// keepLeaves reports whether the leaves of a sliver of size bytes are kept
// (leafKeepFactor), n the shard count.
func keepLeaves(size, n int) bool { return size >= leafKeepFactor*n*len(encoding.Hash{}) }

// verifyKeepingLeaves verifies sl against md and returns the leaf hashes of
// its expansion where keepLeaves keeps them (nil otherwise): intake and
// shard sync verify every sliver they store this way.
func verifyKeepingLeaves(codec *encoding.Codec, md *encoding.Metadata, sl *encoding.Sliver) ([]encoding.Hash, error) {
	if keepLeaves(len(sl.Data), codec.Params().N) {
		return codec.VerifySliverLeaves(md, sl)
	}
	return nil, codec.VerifySliver(md, sl)
}

func (h *held) size() int64 { return heldSize(len(h.Data), len(h.leaves)) }

// heldSize is what a held sliver of n bytes with leaves leaf hashes costs
// the intake's budget: its bytes and its leaves'.
func heldSize(n, leaves int) int64 { return int64(n + leaves*len(encoding.Hash{})) }

// pendingBlob is what the node holds in memory for one blob: its metadata
// and verified slivers while its registration has not been seen, and halves
// of pairs whose other half has not arrived.
type pendingBlob struct {
	md      *encoding.Metadata
	mdOwner peer.ID
	mdSize  int64
	slivers map[sliverKey]held
	bytes   int64
	created time.Time
}

// helds returns the blob's slivers.
func (b *pendingBlob) helds() []held {
	out := make([]held, 0, len(b.slivers))
	for _, h := range b.slivers {
		out = append(out, h)
	}
	return out
}

// pending is the in-memory buffer of intake, bounded by the intake's budget
// (which also pays for the slivers of requests in progress). It is safe for
// concurrent use.
type pending struct {
	mu    sync.Mutex
	blobs map[encoding.BlobID]*pendingBlob
	bytes int64
	mem   *budget
	ttl   time.Duration
	now   func() time.Time // for tests
}

func newPending(mem *budget, ttl time.Duration) *pending {
	return &pending{blobs: make(map[encoding.BlobID]*pendingBlob), mem: mem, ttl: ttl, now: time.Now}
}

// metadataSize is what buffered metadata is charged: its sliver hashes.
func metadataSize(md *encoding.Metadata) int64 { return int64(len(md.Hashes))*64 + 64 }

func (p *pending) entry(id encoding.BlobID) *pendingBlob {
	b := p.blobs[id]
	if b == nil {
		b = &pendingBlob{slivers: make(map[sliverKey]held), created: p.now()}
		p.blobs[id] = b
	}
	return b
}

// putMetadata buffers a blob's metadata, reserving its size for owner; it
// returns ErrIntakeFull (and p2p.ErrBusy) when that does not fit.
func (p *pending) putMetadata(id encoding.BlobID, md *encoding.Metadata, owner peer.ID) error {
	size := metadataSize(md)
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.blobs[id]; b != nil && b.md != nil {
		return nil
	}
	if err := p.mem.reserve(owner, size); err != nil {
		return err
	}
	b := p.entry(id)
	b.md, b.mdOwner, b.mdSize = md, owner, size
	b.bytes += size
	p.bytes += size
	return nil
}

// metadata returns buffered metadata, if any.
func (p *pending) metadata(id encoding.BlobID) *encoding.Metadata {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.blobs[id]; b != nil {
		return b.md
	}
	return nil
}

// putSlivers buffers slivers, taking over their reservations. A sliver the
// buffer holds already is the same bytes (both verified against the same
// hash): the new copy is dropped and its reservation released.
func (p *pending) putSlivers(id encoding.BlobID, hs []held) {
	if len(hs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.entry(id)
	for _, h := range hs {
		k := sliverKey{h.Axis, h.Index}
		if _, dup := b.slivers[k]; dup {
			p.mem.release(h.owner, h.size())
			continue
		}
		b.slivers[k] = h
		b.bytes += h.size()
		p.bytes += h.size()
	}
}

// take removes and returns everything buffered for a blob. The metadata's
// reservation is released; the slivers' pass to the caller.
func (p *pending) take(id encoding.BlobID) *pendingBlob {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.blobs[id]
	if b != nil {
		delete(p.blobs, id)
		p.bytes -= b.bytes
		p.mem.release(b.mdOwner, b.mdSize)
	}
	return b
}

// has reports whether anything is buffered for a blob.
func (p *pending) has(id encoding.BlobID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blobs[id] != nil
}

// size is the buffered byte count (a part of what the budget counts).
func (p *pending) size() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}

// expire drops entries older than the TTL, releasing what they held, and
// returns how many.
func (p *pending) expire() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	cut := p.now().Add(-p.ttl)
	dropped := 0
	for id, b := range p.blobs {
		if b.created.Before(cut) {
			delete(p.blobs, id)
			p.bytes -= b.bytes
			p.mem.release(b.mdOwner, b.mdSize)
			for _, h := range b.slivers {
				p.mem.release(h.owner, h.size())
			}
			dropped++
		}
	}
	return dropped
}

// sweep expires entries until ctx ends.
func (p *pending) sweep(ctx context.Context) {
	t := time.NewTicker(max(p.ttl/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.expire()
		}
	}
}

// blobRecord returns the node's record of a blob, with found = false when
// it has none.
func blobRecord(ctx context.Context, st *store.Store, id encoding.BlobID) (store.BlobRecord, bool, error) {
	rec, err := st.BlobRecord(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, false, nil
	}
	return rec, err == nil, err
}

// stageFlushBytes is how much a sliver/put request of a registered blob
// stages before it writes its complete pairs to the store, ahead of its
// end. The write runs while the request's next slivers arrive and are
// verified, one write at a time: an honest request, which sends each pair's
// two slivers one after the other, then holds at most twice this and one
// pair in memory (staged, and being written), however many slivers it
// carries.
const stageFlushBytes = 4 << 20

// intake takes metadata and slivers from clients: it verifies them, writes
// complete pairs of registered blobs to the store, and holds the rest in the
// pending buffer until their registration or other halves arrive. Every
// byte it holds in memory is reserved in mem first, against the peer that
// sent it. It is safe for concurrent use.
type intake struct {
	store   *store.Store
	codec   *encoding.Codec
	views   *views
	mem     *budget
	pending *pending
	stored  *signal // notified after pairs are written
	metrics *metrics
	log     *slog.Logger
}

// peerOf is the peer a request comes from ("" outside a p2p request).
func peerOf(ctx context.Context) peer.ID {
	p, _ := p2p.RemotePeer(ctx)
	return p
}

// release lets go of slivers, releasing their reservations.
func (in *intake) release(hs []held) {
	for i := range hs {
		in.mem.release(hs[i].owner, hs[i].size())
	}
}

// registration checks that a blob may be stored now: registered,
// unexpired and valid (ok), or not yet seen (ok = false, nil error).
func (in *intake) registration(ctx context.Context, id encoding.BlobID) (bool, error) {
	rec, found, err := blobRecord(ctx, in.store, id)
	if err != nil {
		return false, err
	}
	if !found {
		return false, nil
	}
	v := in.views.load()
	switch {
	case rec.Invalid:
		return false, fmt.Errorf("%w: blob %s is marked invalid", p2p.ErrNotRegistered, id)
	case !live(rec, v.epoch):
		return false, fmt.Errorf("%w: blob %s expired at epoch %d (now %d) or was deleted", p2p.ErrNotRegistered, id, rec.EndEpoch, v.epoch)
	}
	return true, nil
}

// putMetadata takes a blob's metadata (p2p.MetadataHandler.PutMetadata).
func (in *intake) putMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error {
	if err := md.Verify(id, in.codec.Params().N); err != nil {
		return fmt.Errorf("%w: %v", p2p.ErrInvalid, err)
	}
	if _, err := in.codec.Params().SymbolSize(md.UnencodedLength); err != nil {
		return fmt.Errorf("%w: %v", p2p.ErrTooLarge, err)
	}
	registered, err := in.registration(ctx, id)
	if err != nil {
		return err
	}
	if !registered {
		return in.pending.putMetadata(id, md, peerOf(ctx))
	}
	if ok, err := in.store.HasMetadata(ctx, id); err != nil || ok {
		return err
	}
	return in.store.PutMetadata(ctx, id, md)
}

// metadataOf returns a blob's metadata from the store or the buffer
// (ErrNotFound if neither has it).
func (in *intake) metadataOf(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	md, err := in.store.Metadata(ctx, id)
	if err == nil {
		return md, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if md := in.pending.metadata(id); md != nil {
		return md, nil
	}
	return nil, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, id)
}

// openSink opens the intake of one sliver/put request
// (p2p.SliverHandler.PutSlivers). A peer that has used its share of the
// budget is refused before it sends a sliver.
func (in *intake) openSink(ctx context.Context, id encoding.BlobID, count int) (p2p.SliverSink, error) {
	md, err := in.metadataOf(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%w: send the metadata before the slivers", err)
	}
	if _, err := in.registration(ctx, id); err != nil {
		return nil, err
	}
	owner := peerOf(ctx)
	if in.mem.full(owner) {
		return nil, fmt.Errorf("%w: %w: the node holds all it may for this peer or in total", p2p.ErrBusy, ErrIntakeFull)
	}
	return &sink{in: in, id: id, md: md, view: in.views.load(), owner: owner, seen: make(map[sliverKey]bool, count)}, nil
}

// sink takes the slivers of one sliver/put request: each is checked and
// verified as it arrives, and held only once its bytes are reserved; Commit
// stores the complete pairs in one batch (a large request of a registered
// blob writes its complete pairs as it goes, every stageFlushBytes, each
// write overlapping the arrival of the slivers after it; Commit waits for
// them all).
type sink struct {
	in     *intake
	id     encoding.BlobID
	md     *encoding.Metadata
	view   *view
	owner  peer.ID
	seen   map[sliverKey]bool
	staged []held
	bytes  int64 // reserved for staged

	// writing is closed when the write started by the last flush has
	// ended (nil: none started since the last wait); its slivers stay
	// reserved until then. writeErr is the first error of such a write,
	// set before writing is closed.
	writing  chan struct{}
	writeErr error
}

// wait waits for the write in flight, if any, and reports whether there
// was one (its slivers' reservations are released by now).
func (s *sink) wait() bool {
	if s.writing == nil {
		return false
	}
	<-s.writing
	s.writing = nil
	return true
}

// PutSliver implements p2p.SliverSink.
func (s *sink) PutSliver(ctx context.Context, sl encoding.Sliver) error {
	n := s.view.n()
	if int(sl.Index) >= n {
		return fmt.Errorf("%w: sliver index %d, n = %d", p2p.ErrInvalid, sl.Index, n)
	}
	if shard := shardOf(s.id, sl.Axis, int(sl.Index), n); !s.view.holds(shard) {
		return fmt.Errorf("%w: %s sliver %d of blob %s belongs to shard %d", p2p.ErrNotAssigned, sl.Axis, sl.Index, s.id, shard)
	}
	k := sliverKey{sl.Axis, sl.Index}
	if s.seen[k] {
		return fmt.Errorf("%w: %s sliver %d sent twice in one request", p2p.ErrInvalid, sl.Axis, sl.Index)
	}
	s.seen[k] = true
	leaves, err := verifyKeepingLeaves(s.in.codec, s.md, &sl)
	if err != nil {
		s.in.metrics.rejected.Inc()
		return fmt.Errorf("%w: %v", p2p.ErrInvalid, err)
	}
	sum := store.SliverSum(sl.Data)
	size := heldSize(len(sl.Data), len(leaves))
	if s.bytes+size > stageFlushBytes {
		s.flush(ctx)
	}
	err = s.in.mem.reserve(s.owner, size)
	if err != nil {
		// What this request holds may be what fills the budget: write what
		// can be written, wait for it, and try again.
		freed := s.wait()
		if s.flush(ctx) {
			s.wait()
			freed = true
		}
		if freed {
			err = s.in.mem.reserve(s.owner, size)
		}
	}
	if err != nil {
		return err
	}
	// sl.Data is the sink's (p2p.SliverSink): it is kept, not copied, and
	// now reserved in the budget.
	s.staged = append(s.staged, held{Sliver: sl, owner: s.owner, sum: sum, leaves: leaves})
	s.bytes += size
	return nil
}

// flush starts writing the complete pairs staged so far, if the blob is
// registered, once the write before has ended, and reports whether it
// started one (which frees their memory when it ends: wait). Halves stay
// staged: their other half may come next.
func (s *sink) flush(ctx context.Context) bool {
	s.wait()
	if registered, err := s.in.registration(ctx, s.id); err != nil || !registered {
		return false
	}
	pairs, complete, rest := s.in.pairUp(s.id, s.staged)
	if len(pairs) == 0 {
		return false
	}
	s.staged, s.bytes = rest, 0
	for i := range rest {
		s.bytes += rest[i].size()
	}
	// The write is the request's: Commit and Abort wait for it, so it ends
	// before the request does, whether or not the request's context ends
	// first (the slivers are verified; keeping them loses nothing).
	wctx := context.WithoutCancel(ctx)
	done := make(chan struct{})
	s.writing = done
	go func() {
		defer close(done)
		err := s.in.writePairs(wctx, s.id, s.md, pairs)
		s.in.release(complete)
		// Written or not, nothing refers to these slivers any more (the
		// store copies what it keeps): their frame buffers serve the next
		// frames.
		for i := range complete {
			p2p.RecycleSliver(complete[i].Data)
		}
		if err != nil {
			s.in.log.Warn("storing sliver pairs failed", "blob_id", s.id, "err", err)
			if s.writeErr == nil {
				s.writeErr = err
			}
		}
	}()
	return true
}

// Commit implements p2p.SliverSink. It returns once every pair it wrote is
// synced; an earlier write's error fails the request.
func (s *sink) Commit(ctx context.Context) error {
	s.wait()
	staged := s.staged
	s.staged, s.bytes = nil, 0
	err := s.in.take(ctx, s.id, s.md, staged, s.owner)
	if s.writeErr != nil {
		return s.writeErr
	}
	return err
}

// Abort implements p2p.SliverSink: the slivers that arrived are verified,
// so they are kept as a commit would.
func (s *sink) Abort() {
	s.wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	staged := s.staged
	s.staged, s.bytes = nil, 0
	if err := s.in.take(ctx, s.id, s.md, staged, s.owner); err != nil {
		s.in.log.Debug("keeping slivers of an aborted request failed", "blob_id", s.id, "err", err)
	}
}

// take stores verified slivers of a blob, whose reservations it takes
// over: complete pairs go to the store in one batch if the blob is
// registered; anything else waits in the buffer (with the blob's metadata,
// charged to owner).
func (in *intake) take(ctx context.Context, id encoding.BlobID, md *encoding.Metadata, hs []held, owner peer.ID) error {
	if len(hs) == 0 {
		return nil
	}
	registered, err := in.registration(ctx, id)
	if err != nil {
		in.release(hs)
		return err
	}
	if !registered {
		if err := in.pending.putMetadata(id, md, owner); err != nil {
			in.release(hs)
			return err
		}
		in.pending.putSlivers(id, hs)
		return nil
	}
	// Complete pairs from these slivers and halves buffered before.
	if b := in.pending.take(id); b != nil {
		hs = append(hs, b.helds()...)
	}
	return in.storeSlivers(ctx, id, md, hs)
}

// pairUp sorts slivers into complete pairs (with the slivers that make
// them, for the caller to release once written) and the rest (halves); the
// second copy of a sliver seen twice it releases.
func (in *intake) pairUp(id encoding.BlobID, hs []held) (pairs []store.ShardPair, complete, rest []held) {
	nn := in.codec.Params().N
	type halves struct {
		primary, secondary *held
	}
	byPair := make(map[int]*halves)
	var order []int
	for i := range hs {
		h := &hs[i]
		pair := encoding.PairIndex(h.Axis, int(h.Index), nn)
		p := byPair[pair]
		if p == nil {
			p = &halves{}
			byPair[pair] = p
			order = append(order, pair)
		}
		slot := &p.primary
		if h.Axis == encoding.Secondary {
			slot = &p.secondary
		}
		if *slot != nil {
			in.mem.release(h.owner, h.size())
			continue
		}
		*slot = h
	}
	for _, pair := range order {
		p := byPair[pair]
		switch {
		case p.primary != nil && p.secondary != nil:
			pairs = append(pairs, store.ShardPair{Shard: uint16(id.ShardForPair(pair, nn)),
				Pair:   encoding.SliverPair{Primary: p.primary.Sliver, Secondary: p.secondary.Sliver},
				Sums:   &[2]uint32{p.primary.sum, p.secondary.sum},
				Leaves: [2][]encoding.Hash{p.primary.leaves, p.secondary.leaves}})
			complete = append(complete, *p.primary, *p.secondary)
		case p.primary != nil:
			rest = append(rest, *p.primary)
		default:
			rest = append(rest, *p.secondary)
		}
	}
	return pairs, complete, rest
}

// storeSlivers writes the complete pairs among slivers (with the blob's
// metadata) and buffers the halves.
func (in *intake) storeSlivers(ctx context.Context, id encoding.BlobID, md *encoding.Metadata, hs []held) error {
	pairs, complete, rest := in.pairUp(id, hs)
	in.pending.putSlivers(id, rest)
	defer in.release(complete)
	return in.writePairs(ctx, id, md, pairs)
}

// writePairs writes sliver pairs of a blob, and its metadata if the store
// lacks it.
func (in *intake) writePairs(ctx context.Context, id encoding.BlobID, md *encoding.Metadata, pairs []store.ShardPair) error {
	if len(pairs) == 0 {
		return nil
	}
	if ok, err := in.store.HasMetadata(ctx, id); err != nil {
		return err
	} else if !ok {
		if err := in.store.PutMetadata(ctx, id, md); err != nil {
			return err
		}
	}
	if err := in.store.PutPairs(ctx, id, pairs); err != nil {
		return err
	}
	var size int
	for _, p := range pairs {
		size += len(p.Pair.Primary.Data) + len(p.Pair.Secondary.Data)
	}
	in.metrics.pairsStored.Add(float64(len(pairs)))
	in.metrics.bytesStored.Add(float64(size))
	in.stored.notify()
	return nil
}

// flush stores what the buffer holds for a blob whose registration the
// node has just seen.
func (in *intake) flush(ctx context.Context, id encoding.BlobID) {
	// The metadata is in the store before it leaves the buffer: a sliver/put
	// arriving meanwhile finds it in one or the other (it was refused "send
	// the metadata before the slivers" in that window).
	if md := in.pending.metadata(id); md != nil {
		ok, err := in.store.HasMetadata(ctx, id)
		if err == nil && !ok {
			err = in.store.PutMetadata(ctx, id, md)
		}
		if err != nil {
			in.log.Warn("storing buffered metadata failed", "blob_id", id, "err", err)
			return // the buffer keeps it until it expires
		}
	}
	b := in.pending.take(id)
	if b == nil {
		return
	}
	hs := b.helds()
	if len(hs) == 0 || b.md == nil {
		in.release(hs)
		in.stored.notify()
		return
	}
	if err := in.storeSlivers(ctx, id, b.md, hs); err != nil {
		in.log.Warn("storing buffered slivers failed", "blob_id", id, "err", err)
	}
}
