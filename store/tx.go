package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/walrus-go/walrus/encoding"
)

// errTxDone is the cause of ErrInvalid for a Tx used after its Update returned.
var errTxDone = errors.New("transaction used after Update returned")

// Tx is a read-write transaction over blob records, the event cursor and node
// state, for Update. Its reads see its own writes; its writes are committed
// together when Update's function returns nil, and dropped otherwise. A Tx is
// not safe for concurrent use, and is invalid after Update returns.
type Tx struct {
	s    *Store
	ctx  context.Context
	b    *pebble.Batch // indexed: reads see the batch's own writes
	done bool
	// pairLocked says the Tx holds s.pairMu for writing (DeleteBlob).
	pairLocked bool
}

// Update runs fn in a transaction and commits its writes in one batch, synced
// unless Options.DisableSync, if fn returns nil; if fn returns an error, nothing
// is written and Update returns that error. Transactions run one at a time.
// fn must not call the Store's own methods (it would deadlock against Close);
// it uses tx's.
//
// A node applies each chain event in one Update: the records it changes and the
// new event cursor commit together, so that after a crash the event is either
// applied with its cursor or not at all.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	s.txMu.Lock()
	defer s.txMu.Unlock()
	tx := &Tx{s: s, ctx: ctx, b: s.db.NewIndexedBatch()}
	defer func() {
		tx.done = true
		if tx.pairLocked {
			s.pairMu.Unlock()
			s.gc.kick() // a DeleteBlob: its slivers' bytes may be garbage now
		}
		_ = tx.b.Close()
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if tx.b.Empty() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: update not committed: %w", err)
	}
	return s.commit(tx.b, nil)
}

func (tx *Tx) check() error {
	if tx.done {
		return fmt.Errorf("%w: %w", ErrInvalid, errTxDone)
	}
	return nil
}

// BlobRecord returns the record of blob id, or ErrNotFound.
func (tx *Tx) BlobRecord(id encoding.BlobID) (BlobRecord, error) {
	if err := tx.check(); err != nil {
		return BlobRecord{}, err
	}
	return tx.s.blobRecord(tx.b, id)
}

// PutBlobRecord stores the record of blob id, replacing any earlier one, and
// moves its expiry index entry to rec.EndEpoch. It returns ErrInvalid, adding
// nothing, for a record that fails Validate.
func (tx *Tx) PutBlobRecord(id encoding.BlobID, rec BlobRecord) error {
	if err := tx.check(); err != nil {
		return err
	}
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("blob %s: %w", id, err)
	}
	old, err := tx.s.blobRecord(tx.b, id)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	case old.EndEpoch != rec.EndEpoch:
		_ = tx.b.Delete(expiryKey(old.EndEpoch, id), nil)
	}
	if err := setValue(tx.b, blobRecordKey(id), marshalRecord(&rec)); err != nil {
		return tx.s.translate("batch", blobRecordKey(id), err)
	}
	ek := expiryKey(rec.EndEpoch, id)
	return tx.s.translate("batch", ek, setValue(tx.b, ek, nil))
}

// DeleteBlobRecord deletes the record of blob id and its expiry index entry.
// Deleting a record that does not exist is not an error. Metadata and slivers
// stay; DeleteBlob removes everything.
func (tx *Tx) DeleteBlobRecord(id encoding.BlobID) error {
	if err := tx.check(); err != nil {
		return err
	}
	old, err := tx.s.blobRecord(tx.b, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	_ = tx.b.Delete(blobRecordKey(id), nil)
	_ = tx.b.Delete(expiryKey(old.EndEpoch, id), nil)
	return nil
}

// DeleteBlob deletes everything the store holds of blob id: the sliver pairs
// of every shard with their markers, the metadata, the record and its expiry
// index entry, and its object records. A record that does not decode (ErrCorrupt) is deleted too, but
// its end epoch, and so its expiry entry, is unknown: the caller that found
// the blob in ExpiredAt removes that entry with DeleteExpiry. Other errors
// abort. From this call until Update returns, pair writes wait.
func (tx *Tx) DeleteBlob(id encoding.BlobID) error {
	if err := tx.check(); err != nil {
		return err
	}
	if !tx.pairLocked {
		tx.s.pairMu.Lock()
		tx.pairLocked = true
	}
	shards, err := tx.s.storedShards(tx.ctx, tx.b, id)
	if err != nil {
		return err
	}
	for _, shard := range shards {
		deletePair(tx.b, shard, id)
	}
	old, err := tx.s.blobRecord(tx.b, id)
	switch {
	case err == nil:
		_ = tx.b.Delete(expiryKey(old.EndEpoch, id), nil)
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrCorrupt):
	default:
		return err
	}
	_ = tx.b.Delete(blobRecordKey(id), nil)
	_ = tx.b.Delete(metadataKey(id), nil)
	objects := objectPrefix(id)
	_ = tx.b.DeleteRange(objects, prefixEnd(objects), nil)
	return nil
}

// ObjectRecord returns the record of object obj, a registration of blob id,
// or ErrNotFound.
func (tx *Tx) ObjectRecord(id encoding.BlobID, obj ObjectID) (ObjectRecord, error) {
	if err := tx.check(); err != nil {
		return ObjectRecord{}, err
	}
	return tx.s.objectRecord(tx.b, id, obj)
}

// PutObjectRecord stores the record of object obj, a registration of blob
// id, replacing any earlier one. Object records have no cap: each is a paid
// registration on chain.
func (tx *Tx) PutObjectRecord(id encoding.BlobID, obj ObjectID, rec ObjectRecord) error {
	if err := tx.check(); err != nil {
		return err
	}
	k := objectKey(id, obj)
	return tx.s.translate("batch", k, setValue(tx.b, k, marshalObjectRecord(&rec)))
}

// DeleteObjectRecord deletes the record of object obj of blob id. Deleting
// a record that does not exist is not an error.
func (tx *Tx) DeleteObjectRecord(id encoding.BlobID, obj ObjectID) error {
	if err := tx.check(); err != nil {
		return err
	}
	_ = tx.b.Delete(objectKey(id, obj), nil)
	return nil
}

// DeleteExpiry deletes one expiry index entry, leaving any record. Garbage
// collection uses it for an entry whose record is gone or corrupt.
func (tx *Tx) DeleteExpiry(e Expiry) error {
	if err := tx.check(); err != nil {
		return err
	}
	_ = tx.b.Delete(expiryKey(e.EndEpoch, e.BlobID), nil)
	return nil
}

// EventCursor returns the event cursor, or ErrNotFound if none was set.
func (tx *Tx) EventCursor() ([]byte, error) {
	if err := tx.check(); err != nil {
		return nil, err
	}
	return tx.s.get(tx.b, eventCursorKey())
}

// SetEventCursor sets the event cursor, an opaque position in the chain's
// event stream of at most MaxEventCursorSize bytes (ErrInvalid otherwise).
func (tx *Tx) SetEventCursor(cursor []byte) error {
	if err := tx.check(); err != nil {
		return err
	}
	if len(cursor) > MaxEventCursorSize {
		return fmt.Errorf("%w: event cursor of %d bytes, at most %d (MaxEventCursorSize)", ErrInvalid, len(cursor), MaxEventCursorSize)
	}
	k := eventCursorKey()
	return tx.s.translate("batch", k, setValue(tx.b, k, cursor))
}

// ForgetRecords deletes, in one synced step, everything the node writes from
// the chain's events (eventTables): every blob record, expiry entry and object
// record, and the event cursor. Metadata, slivers and their markers stay. A
// node calls it when an excision lost some of those records (Excised.
// LostRecords): the rest no longer agree with them, and a replay of the events
// from the start writes them all again, exactly.
func (s *Store) ForgetRecords(ctx context.Context) error {
	return s.Update(ctx, func(tx *Tx) error {
		for _, tag := range eventTables {
			p := prefix(tag)
			if err := tx.b.DeleteRange(p, prefixEnd(p), nil); err != nil {
				return tx.s.translate("batch", p, err)
			}
		}
		return nil
	})
}

// CurrentEpoch returns the node's current epoch, or ErrNotFound if none was
// set.
func (tx *Tx) CurrentEpoch() (uint32, error) {
	if err := tx.check(); err != nil {
		return 0, err
	}
	return tx.s.currentEpoch(tx.b)
}

// SetCurrentEpoch sets the node's current epoch.
func (tx *Tx) SetCurrentEpoch(epoch uint32) error {
	if err := tx.check(); err != nil {
		return err
	}
	k := epochKey()
	return tx.s.translate("batch", k, setValue(tx.b, k, binary.LittleEndian.AppendUint32(nil, epoch)))
}

// ShardStatus returns the status of shard, or ErrNotFound if none was set.
func (tx *Tx) ShardStatus(shard uint16) (ShardStatus, error) {
	if err := tx.check(); err != nil {
		return 0, err
	}
	return tx.s.shardStatus(tx.b, shard)
}

// SetShardStatus sets the status of shard; st must be one of the defined
// states (ErrInvalid otherwise).
func (tx *Tx) SetShardStatus(shard uint16, st ShardStatus) error {
	if err := tx.check(); err != nil {
		return err
	}
	if !st.valid() {
		return fmt.Errorf("%w: shard %d: %v", ErrInvalid, shard, st)
	}
	k := shardStatusKey(shard)
	return tx.s.translate("batch", k, setValue(tx.b, k, []byte{byte(st)}))
}

// DeleteShardStatus deletes the status of shard. Deleting a status that is
// not set is not an error.
func (tx *Tx) DeleteShardStatus(shard uint16) error {
	if err := tx.check(); err != nil {
		return err
	}
	_ = tx.b.Delete(shardStatusKey(shard), nil)
	return nil
}

// Readers shared by Store and Tx.

func (s *Store) blobRecord(r pebble.Reader, id encoding.BlobID) (BlobRecord, error) {
	key := blobRecordKey(id)
	p, err := s.get(r, key)
	if err != nil {
		return BlobRecord{}, err
	}
	rec, err := unmarshalRecord(p)
	if err != nil {
		return BlobRecord{}, s.corrupt(key, err)
	}
	return rec, nil
}

func (s *Store) objectRecord(r pebble.Reader, id encoding.BlobID, obj ObjectID) (ObjectRecord, error) {
	key := objectKey(id, obj)
	p, err := s.get(r, key)
	if err != nil {
		return ObjectRecord{}, err
	}
	rec, err := unmarshalObjectRecord(p)
	if err != nil {
		return ObjectRecord{}, s.corrupt(key, err)
	}
	return rec, nil
}

func (s *Store) currentEpoch(r pebble.Reader) (uint32, error) {
	key := epochKey()
	p, err := s.get(r, key)
	if err != nil {
		return 0, err
	}
	e, err := decodeEpoch(p)
	if err != nil {
		return 0, s.corrupt(key, err)
	}
	return e, nil
}

func (s *Store) shardStatus(r pebble.Reader, shard uint16) (ShardStatus, error) {
	key := shardStatusKey(shard)
	p, err := s.get(r, key)
	if err != nil {
		return 0, err
	}
	st, err := decodeShardStatus(p)
	if err != nil {
		return 0, s.corrupt(key, err)
	}
	return st, nil
}

// Single-operation shorthands for the Tx methods, each one transaction.

// BlobRecord returns the record of blob id, or ErrNotFound.
func (s *Store) BlobRecord(ctx context.Context, id encoding.BlobID) (BlobRecord, error) {
	if err := s.enter(ctx); err != nil {
		return BlobRecord{}, err
	}
	defer s.exit()
	return s.blobRecord(s.db, id)
}

// ObjectRecord returns the record of object obj, a registration of blob id,
// or ErrNotFound: one point read, however many registrations the blob has.
func (s *Store) ObjectRecord(ctx context.Context, id encoding.BlobID, obj ObjectID) (ObjectRecord, error) {
	if err := s.enter(ctx); err != nil {
		return ObjectRecord{}, err
	}
	defer s.exit()
	return s.objectRecord(s.db, id, obj)
}

// PutBlobRecord is Tx.PutBlobRecord in a transaction of its own.
func (s *Store) PutBlobRecord(ctx context.Context, id encoding.BlobID, rec BlobRecord) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.PutBlobRecord(id, rec) })
}

// DeleteBlobRecord is Tx.DeleteBlobRecord in a transaction of its own.
func (s *Store) DeleteBlobRecord(ctx context.Context, id encoding.BlobID) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.DeleteBlobRecord(id) })
}

// DeleteBlob is Tx.DeleteBlob in a transaction of its own.
func (s *Store) DeleteBlob(ctx context.Context, id encoding.BlobID) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.DeleteBlob(id) })
}

// EventCursor returns the event cursor, or ErrNotFound if none was set.
func (s *Store) EventCursor(ctx context.Context) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	return s.get(s.db, eventCursorKey())
}

// SetEventCursor is Tx.SetEventCursor in a transaction of its own.
func (s *Store) SetEventCursor(ctx context.Context, cursor []byte) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.SetEventCursor(cursor) })
}

// CurrentEpoch returns the node's current epoch, or ErrNotFound if none was
// set.
func (s *Store) CurrentEpoch(ctx context.Context) (uint32, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	return s.currentEpoch(s.db)
}

// SetCurrentEpoch is Tx.SetCurrentEpoch in a transaction of its own.
func (s *Store) SetCurrentEpoch(ctx context.Context, epoch uint32) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.SetCurrentEpoch(epoch) })
}

// ShardStatus returns the status of shard, or ErrNotFound if none was set.
func (s *Store) ShardStatus(ctx context.Context, shard uint16) (ShardStatus, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.exit()
	return s.shardStatus(s.db, shard)
}

// SetShardStatus is Tx.SetShardStatus in a transaction of its own.
func (s *Store) SetShardStatus(ctx context.Context, shard uint16, st ShardStatus) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.SetShardStatus(shard, st) })
}

// ShardStatuses returns the status of every shard that has one.
func (s *Store) ShardStatuses(ctx context.Context) (map[uint16]ShardStatus, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	out := make(map[uint16]ShardStatus)
	p := prefix(tagShardStatus)
	err := s.scan(ctx, s.db, p, prefixEnd(p), func(key, payload []byte) (bool, error) {
		ki, err := parseKey(key)
		if err != nil {
			return false, s.corrupt(key, err)
		}
		st, err := decodeShardStatus(payload)
		if err != nil {
			return false, s.corrupt(key, err)
		}
		out[ki.shard] = st
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
