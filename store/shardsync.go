package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/walrus-go/walrus/encoding"
)

// SyncCursor is how far the sync of a shard got at an epoch change: every
// pair of the shard up to blob After (inclusive, in blob-ID order) that the
// previous holder sent is stored. Its value is
//
//	epoch u32 LE ‖ blob ID (32 bytes)
//
// under the key 01 0a ‖ shard u16 (keys.go).
type SyncCursor struct {
	// Epoch is the epoch the sync is for: a cursor of another epoch's sync
	// does not apply.
	Epoch uint32
	// After is the last blob ID covered.
	After encoding.BlobID
}

// syncCursorLen is the length of a SyncCursor's payload.
const syncCursorLen = 4 + blobIDLen

func (c SyncCursor) marshal() []byte {
	return append(binary.LittleEndian.AppendUint32(make([]byte, 0, syncCursorLen), c.Epoch), c.After[:]...)
}

func decodeSyncCursor(p []byte) (SyncCursor, error) {
	if len(p) != syncCursorLen {
		return SyncCursor{}, fmt.Errorf("shard-sync cursor of %d bytes, want %d", len(p), syncCursorLen)
	}
	c := SyncCursor{Epoch: binary.LittleEndian.Uint32(p)}
	copy(c.After[:], p[4:])
	return c, nil
}

func (s *Store) syncCursor(r pebble.Reader, shard uint16) (SyncCursor, error) {
	key := syncCursorKey(shard)
	p, err := s.get(r, key)
	if err != nil {
		return SyncCursor{}, err
	}
	c, err := decodeSyncCursor(p)
	if err != nil {
		return SyncCursor{}, s.corrupt(key, err)
	}
	return c, nil
}

// SyncCursor returns the shard-sync cursor of shard, or ErrNotFound if none
// was set.
func (tx *Tx) SyncCursor(shard uint16) (SyncCursor, error) {
	if err := tx.check(); err != nil {
		return SyncCursor{}, err
	}
	return tx.s.syncCursor(tx.b, shard)
}

// SetSyncCursor sets the shard-sync cursor of shard.
func (tx *Tx) SetSyncCursor(shard uint16, c SyncCursor) error {
	if err := tx.check(); err != nil {
		return err
	}
	k := syncCursorKey(shard)
	return tx.s.translate("batch", k, setValue(tx.b, k, c.marshal()))
}

// DeleteSyncCursor deletes the shard-sync cursor of shard: its sync is done
// (or moot). Deleting a cursor that is not set is not an error.
func (tx *Tx) DeleteSyncCursor(shard uint16) error {
	if err := tx.check(); err != nil {
		return err
	}
	_ = tx.b.Delete(syncCursorKey(shard), nil)
	return nil
}

// SyncCursor returns the shard-sync cursor of shard, or ErrNotFound if none
// was set.
func (s *Store) SyncCursor(ctx context.Context, shard uint16) (SyncCursor, error) {
	if err := s.enter(ctx); err != nil {
		return SyncCursor{}, err
	}
	defer s.exit()
	return s.syncCursor(s.db, shard)
}

// SyncedPair is a sliver pair a shard sync received, with the blob's
// metadata when the store lacks it.
type SyncedPair struct {
	BlobID encoding.BlobID
	// Metadata, if set, is written with the pair (replacing any stored
	// copy); nil writes none.
	Metadata *encoding.Metadata
	Pair     encoding.SliverPair
	// Leaves are kept with the slivers as ShardPair.Leaves are.
	Leaves [2][]encoding.Hash
}

// PutSyncedPairs stores pairs of shard that a shard sync received, the
// metadata given with them, and the shard's sync cursor, in one batch: after
// a crash the store holds all of it or none, so that a cursor never covers a
// pair that is not stored. pairs may be empty (the cursor moves over blobs
// the previous holder skipped). It returns ErrInvalid, writing nothing, for a
// pair that does not belong on shard (checkPair), a blob given twice, or
// metadata that does not hash to its blob ID; and ErrTooLarge for a batch
// over Options.MaxBatchSize. It does not verify the slivers against the
// metadata; that is the caller's (encoding.Codec.VerifySliver). It does not
// retain pairs.
func (s *Store) PutSyncedPairs(ctx context.Context, shard uint16, pairs []SyncedPair, cursor SyncCursor) error {
	size := 12 + batchOpOverhead + syncCursorKeyLen + checksumLen + syncCursorLen
	seen := make(map[encoding.BlobID]bool, len(pairs))
	mds := make([][]byte, len(pairs))
	for i := range pairs {
		sp := &pairs[i]
		if err := checkPair(sp.BlobID, ShardPair{Shard: shard, Pair: sp.Pair, Leaves: sp.Leaves}); err != nil {
			return fmt.Errorf("%w: blob %s: %v", ErrInvalid, sp.BlobID, err)
		}
		if seen[sp.BlobID] {
			return fmt.Errorf("%w: blob %s given twice", ErrInvalid, sp.BlobID)
		}
		seen[sp.BlobID] = true
		size += s.pairBatchSize(&ShardPair{Shard: shard, Pair: sp.Pair, Leaves: sp.Leaves})
		if sp.Metadata != nil {
			b := sp.Metadata.MarshalBCS()
			if _, err := encoding.UnmarshalMetadata(b); err != nil {
				return fmt.Errorf("%w: metadata for blob %s: %v", ErrInvalid, sp.BlobID, err)
			}
			if got := sp.Metadata.BlobID(); got != sp.BlobID {
				return fmt.Errorf("%w: metadata hashes to blob %s, not %s", ErrInvalid, got, sp.BlobID)
			}
			mds[i] = b
			size += batchOpOverhead + metadataKeyLen + checksumLen + len(b)
		}
	}
	if size > s.opts.MaxBatchSize {
		return fmt.Errorf("%w: %d synced pairs of shard %d need %d bytes, MaxBatchSize is %d", ErrTooLarge, len(pairs), shard, size, s.opts.MaxBatchSize)
	}
	k := syncCursorKey(shard)
	return s.writePairs(ctx, size, k, func(b *pebble.Batch, w *logWriter) error {
		for i := range pairs {
			sp := &pairs[i]
			if err := s.setPair(b, w, shard, sp.BlobID, &sp.Pair, nil, &sp.Leaves); err != nil {
				return err
			}
			if mds[i] != nil {
				mk := metadataKey(sp.BlobID)
				if err := setValue(b, mk, mds[i]); err != nil {
					return s.translate("batch", mk, err)
				}
			}
		}
		return s.translate("batch", k, setValue(b, k, cursor.marshal()))
	})
}
