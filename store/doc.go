// Package store is a storage node's local database: the metadata of blobs,
// the sliver pairs of the shards the node holds, the node's view of each
// blob's state on chain, the chain event cursor and small node-state values,
// all in one Pebble database.
//
// # Usage
//
// Open a store, write a blob's metadata and the sliver pairs of the shards the
// node holds, read them back:
//
//	s, err := store.Open(dir, store.Options{Logger: logger})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	if err := s.PutMetadata(ctx, enc.BlobID, enc.Metadata); err != nil {
//		return err
//	}
//	err = s.PutPairs(ctx, enc.BlobID, []store.ShardPair{
//		{Shard: 7, Pair: enc.Pair(enc.BlobID.PairForShard(7, n))},
//	})
//	sliver, err := s.Sliver(ctx, 7, enc.BlobID, encoding.Primary)
//
// Chain events update blob records, the event cursor and node state together in
// one transaction, so that an event is applied exactly once across restarts:
//
//	err := s.Update(ctx, func(tx *store.Tx) error {
//		rec, err := tx.BlobRecord(id)
//		if errors.Is(err, store.ErrNotFound) {
//			rec = store.BlobRecord{RegisteredEpoch: epoch}
//		} else if err != nil {
//			return err
//		}
//		rec.EndEpoch = ev.EndEpoch
//		if err := tx.PutBlobRecord(id, rec); err != nil {
//			return err
//		}
//		return tx.SetEventCursor(ev.Cursor)
//	})
//
// # Durability and atomicity
//
// Every write is one Pebble batch, committed with a WAL sync unless
// Options.DisableSync is set: when a write method returns nil its data
// survives a process crash (and, on a disk that honours fsync, a power loss).
// A sliver pair is written with its bookkeeping in one batch, so after a crash
// the store holds the whole pair (both slivers and both markers) or none of it.
// Large slivers (Options.MinLoggedSliver) are written once, to the sliver
// log's segment files, and synced (fdatasync) before the batch that refers to
// them commits: Pebble would have written them twice, to its WAL and again to
// a blob file when the memtable flushes, and copied them into the memtable
// besides. CollectSlivers reclaims the space of deleted slivers, in the
// background after deletions (vlog.go, vlog_gc.go).
// Concurrent synced writers share WAL syncs: Pebble's commit pipeline groups
// the batches that arrive while a sync is in flight into the next one, so the
// store adds no group-commit layer of its own. BenchmarkPutPairs measures it:
// 16 writers of small synced pairs reach several times the throughput of one
// (writers=16 against writers=1).
//
// # Integrity
//
// Every value carries a CRC-32C over its key and payload, verified on every
// read, and a logged sliver's reference a CRC-32C over its data, verified on
// every read too; Pebble's own block checksums cover the files underneath. Either kind of
// mismatch is reported as ErrCorrupt, naming the key, and the value is never
// returned.
//
// A Pebble table with a corrupt block is noted as damage (Damaged), whether a
// read, a compaction or VerifyTable (which checks every block of a table
// from disk) finds it; reads of a block known to be corrupt fail at once.
// Excise takes the table's key range out of the database in one step with
// what still reads of it, so that compactions go on, and reports the sliver
// pairs and metadata lost for the caller to rebuild (excise.go).
//
// # On-disk format
//
// keys.go specifies the keys, value.go the value envelope and the small
// values, record.go the blob record and the object record (one per
// registration of a blob, keyed by blob ID and object ID), and schema.go the
// file that holds the schema version. All are part of the on-disk format: a
// change to any needs a new SchemaVersion (a new table, like the object
// records, that an older database simply lacks, does not). The sliver and
// metadata payloads are encoding's BCS forms.
//
// # Errors
//
// Errors returned by this package wrap one of its sentinels (ErrNotFound,
// ErrCorrupt, ErrInvalid, ErrTooLarge, ErrClosed, ErrSchema, ErrIO), tested
// with errors.Is. No Pebble error is returned as such.
package store
