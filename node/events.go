package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/store"
)

// eventBatch is how many events one poll asks for.
const eventBatch = 256

// follower applies the chain's events to the node's store, in order, from
// the cursor kept in the store, and drives what they start: flushing the
// intake buffer on registration, recovery on certification, and the epoch
// change (new committee, shard states, garbage collection, shard sync, the
// sync-done report, dropping shards the node lost).
type follower struct {
	chain    Chain
	store    *store.Store
	views    *views
	intake   *intake
	recov    *recoverer
	gc       *collector
	sync     *shardSyncer
	chal     *challenger
	account  chain.Signer
	nodeID   chain.NodeID
	pollWait time.Duration
	metrics  *metrics
	log      *slog.Logger
	// start runs fn in a goroutine the node waits for at shutdown.
	start func(fn func())
	// replayReq asks for a replay (requestReplay); replayUntil is the cursor
	// the running one rebuilds the records up to, zero when none runs.
	replayReq   chan struct{}
	replayUntil chain.Cursor
	// replays counts the replays done; replayingNow is set while one runs
	// (Status reads both from other goroutines).
	replays      atomic.Uint64
	replayingNow atomic.Bool
}

// requestReplay asks the follower to rebuild the records it writes from the
// chain's events: an excision lost some of them (store.Excised.LostRecords).
// Between two batches, the follower drops them all (store.ForgetRecords) and
// reads the events again from the start. Up to where it was, it applies only
// the blob events: the epoch changes it replays are done, and their effects
// (views, shard states, garbage collection, syncs) stand. It is safe for
// concurrent use; requests while one waits are one.
func (f *follower) requestReplay() {
	select {
	case f.replayReq <- struct{}{}:
	default:
	}
}

// replay starts the rebuild of requestReplay from cursor, where the follower
// is; it returns the cursor to read on from.
func (f *follower) replay(ctx context.Context, cursor chain.Cursor) (chain.Cursor, error) {
	if err := f.store.ForgetRecords(ctx); err != nil {
		return cursor, err
	}
	f.log.Warn("records derived from the chain's events were lost; replaying the events from the start", "until", cursor)
	f.metrics.replays.Inc()
	if cursor.IsZero() {
		// No event applied yet: reading from the start is the whole rebuild.
		f.replays.Add(1)
		return cursor, nil
	}
	f.replayUntil = cursor
	f.replayingNow.Store(true)
	return chain.Cursor{}, nil
}

// replaying reports whether ev is before the end of the running replay, where
// the follower re-applies only the records.
func (f *follower) replaying(ev chain.Event) bool {
	return !f.replayUntil.IsZero() && !f.replayUntil.Less(ev.Cursor)
}

// replayed ends the running replay once the follower is back at its cursor.
// The records of blobs that expired meanwhile came back with the replay (it
// skips the epoch changes that collected them): they go now.
func (f *follower) replayed(ctx context.Context, cursor chain.Cursor) {
	if f.replayUntil.IsZero() || cursor.Less(f.replayUntil) {
		return
	}
	f.log.Info("records rebuilt from the chain's events", "until", f.replayUntil)
	f.replayUntil = chain.Cursor{}
	f.gc.expired(ctx)
	f.replays.Add(1)
	f.replayingNow.Store(false)
}

// run applies events until ctx ends. Each event's effect on the store and
// the cursor advance commit together, so a restart resumes exactly after
// the last applied event.
func (f *follower) run(ctx context.Context) error {
	// A disk that fails reads for a while (store.ErrIO) is not lost state:
	// the follower waits for it, as for the chain, instead of failing the
	// node (TestScrubDiskReadErrors fails reads right after a restart).
	raw, err := f.store.EventCursor(ctx)
	for errors.Is(err, store.ErrIO) {
		f.log.Warn("reading the stored event cursor failed; retrying", "err", err)
		if sleepCtx(ctx, DefaultChainRetryBackoff) != nil {
			return nil
		}
		raw, err = f.store.EventCursor(ctx)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cursor, err := chain.ParseCursor(string(raw))
	if err != nil {
		return fmt.Errorf("node: stored event cursor: %w", err)
	}
	f.gc.expired(ctx)
	f.gc.dropRemovedShards(ctx)
	if v := f.views.load(); f.chal.loadOrGenesis(v.epoch) && v.phase != chain.PhaseSyncing {
		// A restart after the epoch's change was done: the challenges go on.
		f.chal.open(ctx, v)
	}
	if v := f.views.load(); v.index >= 0 {
		// A restart in the middle of an epoch change: resume the shard sync
		// from its cursors, or report sync done again (a duplicate is a
		// no-op).
		if syncing, err := f.sync.load(ctx, v); err != nil || len(syncing) > 0 || v.phase == chain.PhaseSyncing {
			f.start(func() { f.syncShards(ctx, v) })
		}
	}
	for ctx.Err() == nil {
		select {
		case <-f.replayReq:
			if cursor, err = f.replay(ctx, cursor); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("node: replaying the chain's events: %w", err)
			}
		default:
		}
		evs, err := f.chain.Events(ctx, cursor, eventBatch, f.pollWait)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			f.log.Warn("reading chain events failed; retrying", "err", err)
			f.metrics.chainErrors.Inc()
			if sleepCtx(ctx, DefaultChainRetryBackoff) != nil {
				return nil
			}
			continue
		}
		for _, ev := range evs {
			if err := f.apply(ctx, ev); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("node: applying event %s (%s): %w", ev.Cursor, ev.Kind, err)
			}
			cursor = ev.Cursor
			f.metrics.eventSeq.Set(float64(cursor.Seq))
			f.replayed(ctx, cursor)
		}
	}
	return nil
}

// apply applies one event.
func (f *follower) apply(ctx context.Context, ev chain.Event) error {
	cur := []byte(ev.Cursor.String())
	switch ev.Kind {
	case chain.EventBlobRegistered, chain.EventBlobCertified, chain.EventBlobDeleted,
		chain.EventBlobExtended, chain.EventInvalidBlobID:
		if err := f.store.Update(ctx, func(tx *store.Tx) error {
			if err := applyBlobEvent(tx, ev); err != nil {
				return err
			}
			return tx.SetEventCursor(cur)
		}); err != nil {
			return err
		}
		switch ev.Kind {
		case chain.EventBlobRegistered:
			f.intake.flush(ctx, ev.BlobID)
		case chain.EventBlobCertified:
			f.recov.check(ctx, ev.BlobID)
		}
		return nil
	}
	if f.replaying(ev) {
		// Done before: the replay only moves the cursor over it.
		return f.store.SetEventCursor(ctx, cur)
	}
	switch ev.Kind {
	case chain.EventEpochChangeStart:
		return f.epochChange(ctx, ev, cur)
	case chain.EventEpochChangeDone:
		if err := f.store.SetEventCursor(ctx, cur); err != nil {
			return err
		}
		f.views.setPhase(ev.Epoch, chain.PhaseActive)
		if v := f.views.load(); v.epoch == ev.Epoch {
			f.gc.dropRemovedShards(ctx)
			f.chal.open(ctx, v)
		}
		return nil
	case chain.EventEpochSyncDone:
		if err := f.store.SetEventCursor(ctx, cur); err != nil {
			return err
		}
		// The new holder of a shard this node lost has it now.
		f.gc.handoff.reported(ev.Epoch, ev.NodeID)
		if f.views.load().epoch == ev.Epoch {
			f.gc.dropRemovedShards(ctx)
		}
		return nil
	default:
		return f.store.SetEventCursor(ctx, cur)
	}
}

// applyBlobEvent updates a blob record, and the record of the registration
// (the chain object) the event is about, for a blob event. Each
// registration has an object record of its own (store.ObjectRecord), so a
// replayed event is recognised exactly and a blob ID may have any number of
// registrations: a squatter's cannot crowd out an honest one. Records
// written before object records existed list their objects in the blob
// record (legacy ObjectIDs); those are honoured and removed, never added to.
func applyBlobEvent(tx *store.Tx, ev chain.Event) error {
	rec, err := tx.BlobRecord(ev.BlobID)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	obj := store.ObjectID(ev.ObjectID)
	orec, err := tx.ObjectRecord(ev.BlobID, obj)
	hasObj := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	legacy := slices.Index(rec.ObjectIDs, obj)
	switch ev.Kind {
	case chain.EventBlobRegistered:
		if !found {
			rec = store.BlobRecord{EncodingType: ev.EncodingType, UnencodedLength: ev.Size, RegisteredEpoch: ev.Epoch}
		}
		if hasObj || legacy >= 0 {
			return nil // already applied
		}
		if ev.Deletable {
			rec.DeletableRegistered++
		} else {
			rec.PermanentRegistered++
		}
		if err := tx.PutObjectRecord(ev.BlobID, obj, store.ObjectRecord{Deletable: ev.Deletable, EndEpoch: ev.EndEpoch}); err != nil {
			return err
		}
		rec.EndEpoch = max(rec.EndEpoch, ev.EndEpoch)
	case chain.EventBlobCertified:
		if !found {
			return nil // registered before the node's history began; nothing to do
		}
		if !rec.Certified {
			rec.Certified, rec.CertifiedEpoch = true, ev.Epoch
		}
		switch {
		case hasObj && orec.Certified:
			// Already applied: the counts stay.
		case hasObj:
			orec.Certified, orec.EndEpoch = true, max(orec.EndEpoch, ev.EndEpoch)
			if err := tx.PutObjectRecord(ev.BlobID, obj, orec); err != nil {
				return err
			}
			fallthrough
		default:
			if ev.Deletable {
				rec.DeletableCertified = min(rec.DeletableCertified+1, rec.DeletableRegistered)
			} else {
				rec.PermanentCertified = min(rec.PermanentCertified+1, rec.PermanentRegistered)
			}
		}
		rec.EndEpoch = max(rec.EndEpoch, ev.EndEpoch)
	case chain.EventBlobExtended:
		if !found {
			return nil
		}
		if hasObj && ev.EndEpoch > orec.EndEpoch {
			orec.EndEpoch = ev.EndEpoch
			if err := tx.PutObjectRecord(ev.BlobID, obj, orec); err != nil {
				return err
			}
		}
		rec.EndEpoch = max(rec.EndEpoch, ev.EndEpoch)
	case chain.EventBlobDeleted:
		if !found {
			return nil
		}
		switch {
		case hasObj:
			if err := tx.DeleteObjectRecord(ev.BlobID, obj); err != nil {
				return err
			}
		case legacy >= 0:
			rec.ObjectIDs = slices.Delete(rec.ObjectIDs, legacy, legacy+1)
		default:
			return nil // already applied, or an object the node never saw registered
		}
		if rec.DeletableRegistered > 0 {
			rec.DeletableRegistered--
		}
		if ev.WasCertified && rec.DeletableCertified > 0 {
			rec.DeletableCertified--
		}
		if rec.PermanentRegistered+rec.DeletableRegistered == 0 {
			// The last registration is gone: so is the blob.
			return tx.DeleteBlob(ev.BlobID)
		}
	case chain.EventInvalidBlobID:
		if err := tx.DeleteBlob(ev.BlobID); err != nil {
			return err
		}
		if !found {
			rec = store.BlobRecord{EncodingType: encoding.RS2, RegisteredEpoch: ev.Epoch}
		}
		// Keep the record, marked, until it expires: status requests answer
		// "invalid" and nothing is stored or served again.
		rec.Invalid = true
		rec.EndEpoch = max(rec.EndEpoch, ev.Epoch+1)
	}
	return tx.PutBlobRecord(ev.BlobID, rec)
}

// epochChange moves the node to a new epoch: the new committee, shard
// states, garbage collection, then syncing newly assigned shards and
// reporting sync done.
func (f *follower) epochChange(ctx context.Context, ev chain.Event, cur []byte) error {
	old := f.views.load()
	v, err := f.views.refresh(ctx, ev.Epoch, old)
	if err != nil {
		return err
	}
	f.metrics.setView(v)
	// The challenges of the new epoch sample the blobs of the records as
	// they are now, at this event, as on every node.
	if err := f.chal.fix(ctx, v.epoch); err != nil {
		return err
	}
	// A sync of the previous epoch still running is moot now.
	f.sync.stop()
	var added, syncing []uint16
	if err := f.store.Update(ctx, func(tx *store.Tx) error {
		for _, s := range v.shards {
			st, err := tx.ShardStatus(s)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			// A new shard syncs; so does one whose sync the last epoch did
			// not finish.
			if !old.holds(s) || st == store.ShardSyncing {
				if !old.holds(s) {
					added = append(added, s)
				}
				syncing = append(syncing, s)
				if err := tx.SetShardStatus(s, store.ShardSyncing); err != nil {
					return err
				}
			} else if err := tx.SetShardStatus(s, store.ShardActive); err != nil {
				return err
			}
		}
		for _, s := range old.shards {
			if !v.holds(s) {
				if err := tx.SetShardStatus(s, store.ShardRemoved); err != nil {
					return err
				}
			}
		}
		if err := tx.SetCurrentEpoch(v.epoch); err != nil {
			return err
		}
		return tx.SetEventCursor(cur)
	}); err != nil {
		return err
	}
	f.sync.claim(syncing)
	f.log.Info("epoch change", "epoch", v.epoch, "shards", len(v.shards), "new_shards", len(added), "leaving_shards", len(v.leaving))
	f.gc.expired(ctx)
	// Shards lost an epoch ago go now; those lost at this change stay for
	// their new holders (handoff).
	f.gc.dropRemovedShards(ctx)
	if v.index < 0 {
		return nil
	}
	f.start(func() { f.syncShards(ctx, v) })
	return nil
}

// syncShards fills the shards of v that are syncing — pulled from their
// previous holders, the rest recovered (shardsync.go) — marks them active
// and reports sync done for the epoch.
func (f *follower) syncShards(ctx context.Context, v *view) {
	if f.sync.run(ctx, v) {
		f.reportSyncDone(ctx, v.epoch)
	}
}

// reportSyncDone tells the chain the node has synced its shards for epoch.
func (f *follower) reportSyncDone(ctx context.Context, epoch uint32) {
	for attempt := range 5 {
		_, err := f.chain.EpochSyncDone(ctx, f.account, f.nodeID, epoch)
		if err == nil {
			f.log.Info("reported epoch sync done", "epoch", epoch)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, chain.ErrUnavailable) {
			f.log.Debug("epoch sync done not accepted", "epoch", epoch, "err", err)
			return
		}
		if sleepCtx(ctx, DefaultChainRetryBackoff<<attempt) != nil {
			return
		}
	}
}

// collector deletes what the node no longer keeps: blobs expired by the
// current epoch, and the slivers of shards it stopped holding once their
// new holders no longer need them (handoff).
type collector struct {
	store   *store.Store
	views   *views
	handoff *handoff
	metrics *metrics
	log     *slog.Logger
}

// expired deletes the blobs that have expired by the current epoch.
func (c *collector) expired(ctx context.Context) {
	epoch := c.views.load().epoch
	var after *store.Expiry
	deleted := 0
	for {
		page, err := c.store.ExpiredAt(ctx, epoch, after, 0)
		if err != nil {
			c.log.Warn("listing expired blobs failed", "err", err)
			return
		}
		for _, e := range page {
			// The expiry entry goes in the same batch: a corrupt record
			// would leave it behind otherwise.
			if err := c.store.Update(ctx, func(tx *store.Tx) error {
				if err := tx.DeleteBlob(e.BlobID); err != nil {
					return err
				}
				return tx.DeleteExpiry(e)
			}); err != nil {
				c.log.Warn("deleting expired blob failed", "blob_id", e.BlobID, "err", err)
				continue
			}
			deleted++
		}
		if len(page) < store.DefaultPageLimit {
			break
		}
		after = &page[len(page)-1]
	}
	if deleted > 0 {
		c.metrics.gcDeleted.Add(float64(deleted))
		c.log.Info("garbage-collected expired blobs", "epoch", epoch, "blobs", deleted)
	}
}

// dropRemovedShards deletes the slivers of every shard marked removed that
// the node does not hold again and does not keep for its new holder, its
// status and its sync cursor.
func (c *collector) dropRemovedShards(ctx context.Context) {
	sts, err := c.store.ShardStatuses(ctx)
	if err != nil {
		c.log.Warn("reading shard statuses failed", "err", err)
		return
	}
	v := c.views.load()
	var shards []uint16
	for s, st := range sts {
		if st == store.ShardRemoved && !v.holds(s) && !c.handoff.keep(ctx, v, s) {
			shards = append(shards, s)
		}
	}
	slices.Sort(shards)
	for _, s := range shards {
		if err := c.store.DeleteShard(ctx, s); err != nil {
			c.log.Warn("deleting a removed shard failed", "shard", s, "err", err)
			continue
		}
		if err := c.store.Update(ctx, func(tx *store.Tx) error {
			if err := tx.DeleteSyncCursor(s); err != nil {
				return err
			}
			return tx.DeleteShardStatus(s)
		}); err != nil {
			c.log.Warn("deleting a removed shard's status failed", "shard", s, "err", err)
			continue
		}
		c.metrics.shardsDropped.Inc()
		c.log.Info("dropped a shard the node no longer holds", "shard", s, "epoch", v.epoch)
	}
}
