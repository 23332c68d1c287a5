package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/store"
)

// eventBatch is how many events one poll asks for.
const eventBatch = 256

// followEvents applies the chain's events from the persisted cursor until
// ctx ends. Each event's effect on the store and the cursor advance commit
// together, so a restart resumes exactly after the last applied event.
func (n *Node) followEvents(ctx context.Context) error {
	raw, err := n.store.EventCursor(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cursor, err := chain.ParseCursor(string(raw))
	if err != nil {
		return fmt.Errorf("node: stored event cursor: %w", err)
	}
	n.gc(ctx)
	for ctx.Err() == nil {
		evs, err := n.chain.Events(ctx, cursor, eventBatch, n.cfg.EventPollWait)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			n.log.Warn("reading chain events failed; retrying", "err", err)
			n.metrics.chainErrors.Inc()
			if sleepCtx(ctx, DefaultChainRetryBackoff) != nil {
				return nil
			}
			continue
		}
		for _, ev := range evs {
			if err := n.apply(ctx, ev); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("node: applying event %s (%s): %w", ev.Cursor, ev.Kind, err)
			}
			cursor = ev.Cursor
			n.metrics.eventSeq.Set(float64(cursor.Seq))
		}
	}
	return nil
}

// apply applies one event.
func (n *Node) apply(ctx context.Context, ev chain.Event) error {
	cur := []byte(ev.Cursor.String())
	switch ev.Kind {
	case chain.EventBlobRegistered, chain.EventBlobCertified, chain.EventBlobDeleted,
		chain.EventBlobExtended, chain.EventInvalidBlobID:
		if err := n.store.Update(ctx, func(tx *store.Tx) error {
			if err := applyBlobEvent(tx, ev); err != nil {
				return err
			}
			return tx.SetEventCursor(cur)
		}); err != nil {
			return err
		}
		switch ev.Kind {
		case chain.EventBlobRegistered:
			n.flushPending(ctx, ev.BlobID)
		case chain.EventBlobCertified:
			n.recov.check(ctx, ev.BlobID)
		}
		return nil
	case chain.EventEpochChangeStart:
		return n.epochChange(ctx, ev, cur)
	default:
		return n.store.SetEventCursor(ctx, cur)
	}
}

// applyBlobEvent updates a blob record for a blob event.
func applyBlobEvent(tx *store.Tx, ev chain.Event) error {
	rec, err := tx.BlobRecord(ev.BlobID)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	obj := store.ObjectID(ev.ObjectID)
	switch ev.Kind {
	case chain.EventBlobRegistered:
		if !found {
			rec = store.BlobRecord{EncodingType: ev.EncodingType, UnencodedLength: ev.Size, RegisteredEpoch: ev.Epoch}
		}
		if slices.Contains(rec.ObjectIDs, obj) {
			return nil // already applied
		}
		if ev.Deletable {
			rec.DeletableRegistered++
		} else {
			rec.PermanentRegistered++
		}
		if len(rec.ObjectIDs) < store.MaxObjectIDs {
			rec.ObjectIDs = append(rec.ObjectIDs, obj)
		}
		rec.EndEpoch = max(rec.EndEpoch, ev.EndEpoch)
	case chain.EventBlobCertified:
		if !found {
			return nil // registered before the node's history began; nothing to do
		}
		if !rec.Certified {
			rec.Certified, rec.CertifiedEpoch = true, ev.Epoch
		}
		if ev.Deletable {
			rec.DeletableCertified = min(rec.DeletableCertified+1, rec.DeletableRegistered)
		} else {
			rec.PermanentCertified = min(rec.PermanentCertified+1, rec.PermanentRegistered)
		}
		rec.EndEpoch = max(rec.EndEpoch, ev.EndEpoch)
	case chain.EventBlobExtended:
		if !found {
			return nil
		}
		rec.EndEpoch = max(rec.EndEpoch, ev.EndEpoch)
	case chain.EventBlobDeleted:
		if !found {
			return nil
		}
		if i := slices.Index(rec.ObjectIDs, obj); i >= 0 {
			rec.ObjectIDs = slices.Delete(rec.ObjectIDs, i, i+1)
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
func (n *Node) epochChange(ctx context.Context, ev chain.Event, cur []byte) error {
	old := n.view.Load()
	if err := n.refreshView(ctx, ev.Epoch); err != nil {
		return err
	}
	v := n.view.Load()
	var added []uint16
	if err := n.store.Update(ctx, func(tx *store.Tx) error {
		for _, s := range v.shards {
			if !old.holds(s) {
				added = append(added, s)
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
	n.log.Info("epoch change", "epoch", v.epoch, "shards", len(v.shards), "new_shards", len(added))
	n.gc(ctx)
	if v.index < 0 {
		return nil
	}
	n.start(func() { n.syncShards(ctx, v, added) })
	return nil
}

// syncShards recovers the certified blobs of newly assigned shards, marks
// them active and reports sync done for the epoch.
func (n *Node) syncShards(ctx context.Context, v *view, added []uint16) {
	if len(added) > 0 {
		n.recov.scanInline(ctx)
		for _, s := range added {
			if err := n.store.SetShardStatus(ctx, s, store.ShardActive); err != nil {
				n.log.Warn("marking shard active failed", "shard", s, "err", err)
			}
		}
	}
	n.reportSyncDone(ctx, v.epoch)
}

// reportSyncDone tells the chain the node has synced its shards for epoch.
func (n *Node) reportSyncDone(ctx context.Context, epoch uint32) {
	for attempt := range 5 {
		_, err := n.chain.EpochSyncDone(ctx, n.keys.Account, n.nodeID, epoch)
		if err == nil {
			n.log.Info("reported epoch sync done", "epoch", epoch)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, chain.ErrUnavailable) {
			n.log.Debug("epoch sync done not accepted", "epoch", epoch, "err", err)
			return
		}
		if sleepCtx(ctx, DefaultChainRetryBackoff<<attempt) != nil {
			return
		}
	}
}

// gc deletes the blobs that have expired by the current epoch.
func (n *Node) gc(ctx context.Context) {
	epoch := n.view.Load().epoch
	var after *store.Expiry
	deleted := 0
	for {
		page, err := n.store.ExpiredAt(ctx, epoch, after, 0)
		if err != nil {
			n.log.Warn("listing expired blobs failed", "err", err)
			return
		}
		for _, e := range page {
			// The expiry entry goes in the same batch: a corrupt record
			// would leave it behind otherwise.
			if err := n.store.Update(ctx, func(tx *store.Tx) error {
				if err := tx.DeleteBlob(e.BlobID); err != nil {
					return err
				}
				return tx.DeleteExpiry(e)
			}); err != nil {
				n.log.Warn("deleting expired blob failed", "blob_id", e.BlobID, "err", err)
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
		n.metrics.gcDeleted.Add(float64(deleted))
		n.log.Info("garbage-collected expired blobs", "epoch", epoch, "blobs", deleted)
	}
}
