package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// sliverKey names a sliver of a blob.
type sliverKey struct {
	axis  encoding.Axis
	index uint16
}

// pendingBlob is what the node holds in memory for one blob: its metadata
// and verified slivers while its registration has not been seen, and halves
// of pairs whose other half has not arrived.
type pendingBlob struct {
	md      *encoding.Metadata
	slivers map[sliverKey]encoding.Sliver
	bytes   int64
	created time.Time
}

// pending is the bounded in-memory buffer of intake. It is safe for
// concurrent use.
type pending struct {
	mu    sync.Mutex
	blobs map[encoding.BlobID]*pendingBlob
	bytes int64
	max   int64
	ttl   time.Duration
	now   func() time.Time // for tests
}

func newPending(max int64, ttl time.Duration) *pending {
	return &pending{blobs: make(map[encoding.BlobID]*pendingBlob), max: max, ttl: ttl, now: time.Now}
}

// errBufferFull is returned when the buffer cannot take more.
var errBufferFull = fmt.Errorf("%w: intake buffer for unregistered blobs is full", p2p.ErrBusy)

func (p *pending) entry(id encoding.BlobID) *pendingBlob {
	b := p.blobs[id]
	if b == nil {
		b = &pendingBlob{slivers: make(map[sliverKey]encoding.Sliver), created: p.now()}
		p.blobs[id] = b
	}
	return b
}

// putMetadata buffers a blob's metadata.
func (p *pending) putMetadata(id encoding.BlobID, md *encoding.Metadata) error {
	size := int64(len(md.Hashes)) * 64
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.entry(id)
	if b.md != nil {
		return nil
	}
	if p.bytes+size > p.max {
		p.dropIfEmpty(id)
		return errBufferFull
	}
	b.md = md
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

// putSlivers buffers slivers (all or none).
func (p *pending) putSlivers(id encoding.BlobID, ss []encoding.Sliver) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The net growth: slivers that replace buffered ones free those.
	var size int64
	old := p.blobs[id]
	for _, s := range ss {
		size += int64(len(s.Data))
		if old != nil {
			if o, ok := old.slivers[sliverKey{s.Axis, s.Index}]; ok {
				size -= int64(len(o.Data))
			}
		}
	}
	if p.bytes+size > p.max {
		return errBufferFull
	}
	b := p.entry(id)
	for _, s := range ss {
		k := sliverKey{s.Axis, s.Index}
		if old, ok := b.slivers[k]; ok {
			b.bytes -= int64(len(old.Data))
			p.bytes -= int64(len(old.Data))
		}
		b.slivers[k] = s
		b.bytes += int64(len(s.Data))
		p.bytes += int64(len(s.Data))
	}
	return nil
}

// take removes and returns everything buffered for a blob.
func (p *pending) take(id encoding.BlobID) *pendingBlob {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.blobs[id]
	if b != nil {
		delete(p.blobs, id)
		p.bytes -= b.bytes
	}
	return b
}

// has reports whether anything is buffered for a blob.
func (p *pending) has(id encoding.BlobID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blobs[id] != nil
}

func (p *pending) dropIfEmpty(id encoding.BlobID) {
	if b := p.blobs[id]; b != nil && b.bytes == 0 {
		delete(p.blobs, id)
	}
}

// size is the buffered byte count.
func (p *pending) size() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}

// expire drops entries older than the TTL and returns how many.
func (p *pending) expire() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	cut := p.now().Add(-p.ttl)
	dropped := 0
	for id, b := range p.blobs {
		if b.created.Before(cut) {
			delete(p.blobs, id)
			p.bytes -= b.bytes
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

// intake takes metadata and slivers from clients: it verifies them, writes
// complete pairs of registered blobs to the store, and holds the rest in the
// pending buffer until their registration or other halves arrive. It is
// safe for concurrent use.
type intake struct {
	store   *store.Store
	codec   *encoding.Codec
	views   *views
	pending *pending
	stored  *signal // notified after pairs are written
	metrics *metrics
	log     *slog.Logger
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
		err := in.pending.putMetadata(id, md)
		in.metrics.buffered.Set(float64(in.pending.size()))
		return err
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
// (p2p.SliverHandler.PutSlivers).
func (in *intake) openSink(ctx context.Context, id encoding.BlobID, count int) (p2p.SliverSink, error) {
	md, err := in.metadataOf(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%w: send the metadata before the slivers", err)
	}
	registered, err := in.registration(ctx, id)
	if err != nil {
		return nil, err
	}
	if !registered && in.pending.size() >= in.pending.max {
		return nil, errBufferFull
	}
	return &sink{in: in, id: id, md: md, view: in.views.load()}, nil
}

// sink takes the slivers of one sliver/put request: each is checked and
// verified as it arrives; Commit stores the complete pairs in one batch.
type sink struct {
	in     *intake
	id     encoding.BlobID
	md     *encoding.Metadata
	view   *view
	staged []encoding.Sliver
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
	if err := s.in.codec.VerifySliver(s.md, &sl); err != nil {
		s.in.metrics.rejected.Inc()
		return fmt.Errorf("%w: %v", p2p.ErrInvalid, err)
	}
	sl.Data = bytes.Clone(sl.Data)
	s.staged = append(s.staged, sl)
	return nil
}

// Commit implements p2p.SliverSink.
func (s *sink) Commit(ctx context.Context) error { return s.in.take(ctx, s.id, s.md, s.staged) }

// Abort implements p2p.SliverSink: the slivers that arrived are verified,
// so they are kept as a commit would.
func (s *sink) Abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.in.take(ctx, s.id, s.md, s.staged); err != nil {
		s.in.log.Debug("keeping slivers of an aborted request failed", "blob_id", s.id, "err", err)
	}
}

// take stores verified slivers of a blob: complete pairs go to the store
// in one batch if the blob is registered; anything else waits in the buffer.
func (in *intake) take(ctx context.Context, id encoding.BlobID, md *encoding.Metadata, slivers []encoding.Sliver) error {
	if len(slivers) == 0 {
		return nil
	}
	registered, err := in.registration(ctx, id)
	if err != nil {
		return err
	}
	if !registered {
		in.pending.putMetadata(id, md)
		err := in.pending.putSlivers(id, slivers)
		in.metrics.buffered.Set(float64(in.pending.size()))
		return err
	}
	// Complete pairs from these slivers and halves buffered before.
	if b := in.pending.take(id); b != nil {
		for _, sl := range b.slivers {
			slivers = append(slivers, sl)
		}
	}
	return in.storeSlivers(ctx, id, md, slivers)
}

// storeSlivers writes the complete pairs among slivers (with the blob's
// metadata) and buffers the halves.
func (in *intake) storeSlivers(ctx context.Context, id encoding.BlobID, md *encoding.Metadata, slivers []encoding.Sliver) error {
	nn := in.codec.Params().N
	halves := make(map[int]*encoding.SliverPair)
	for _, sl := range slivers {
		pair := encoding.PairIndex(sl.Axis, int(sl.Index), nn)
		p := halves[pair]
		if p == nil {
			p = &encoding.SliverPair{}
			halves[pair] = p
		}
		if sl.Axis == encoding.Primary {
			p.Primary = sl
		} else {
			p.Secondary = sl
		}
	}
	var pairs []store.ShardPair
	var rest []encoding.Sliver
	for pair, p := range halves {
		switch {
		case p.Primary.Data != nil && p.Secondary.Data != nil:
			pairs = append(pairs, store.ShardPair{Shard: uint16(id.ShardForPair(pair, nn)), Pair: *p})
		case p.Primary.Data != nil:
			rest = append(rest, p.Primary)
		default:
			rest = append(rest, p.Secondary)
		}
	}
	if len(rest) > 0 {
		if err := in.pending.putSlivers(id, rest); err != nil {
			return err
		}
	}
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
	b := in.pending.take(id)
	if b == nil {
		return
	}
	in.metrics.buffered.Set(float64(in.pending.size()))
	if b.md != nil {
		if err := in.store.PutMetadata(ctx, id, b.md); err != nil {
			in.log.Warn("storing buffered metadata failed", "blob_id", id, "err", err)
			return
		}
	}
	if len(b.slivers) == 0 || b.md == nil {
		in.stored.notify()
		return
	}
	slivers := make([]encoding.Sliver, 0, len(b.slivers))
	for _, sl := range b.slivers {
		slivers = append(slivers, sl)
	}
	if err := in.storeSlivers(ctx, id, b.md, slivers); err != nil {
		in.log.Warn("storing buffered slivers failed", "blob_id", id, "err", err)
	}
}
