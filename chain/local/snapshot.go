package local

import (
	"fmt"
	"time"

	"github.com/walrus-go/walrus/chain"
)

// Snapshots. Every SnapshotInterval blocks, and at Close, the chain writes
// its whole state (the canonical serialization of stateroot.go, sealed) to
// the key "s", replacing the last one. Open starts from it and replays only
// the blocks after it, so a restart costs time in proportion to what
// happened since the snapshot, plus decoding the state. A snapshot is used
// only if it decodes to exactly its own bytes, is of this chain, is not
// ahead of the head, and its last block hash is the hash of the stored
// block at its height: the blocks after it then replay on top of it with
// their usual hash-chain checks. Any other snapshot is ignored (logged) and
// the log replayed from the genesis; VerifyReplay replays from the genesis
// always and fails if the snapshot differs from the replayed state.

// DefaultSnapshotInterval is how many blocks may pass between snapshots.
const DefaultSnapshotInterval = 10_000

// ExpiredRetention is how many epochs blob objects and storage resources
// stay readable after their end epoch: at the start of epoch e, those that
// ended at e − ExpiredRetention or before are pruned from the state.
const ExpiredRetention = 2

// snapshot writes the state (under c.mu); sync says whether to fsync. A
// failure is logged: the log still holds everything.
func (c *Chain) snapshot(sync bool) {
	start := time.Now()
	b := c.st.encodeState()
	if err := c.db.writeSnapshot(seal(b), sync); err != nil {
		c.log.Warn("writing a state snapshot", "height", c.st.height, "err", err)
		return
	}
	c.snapHeight = c.st.height
	c.log.Debug("state snapshot", "height", c.st.height, "bytes", len(b), "took", time.Since(start))
}

// loadSnapshot returns the stored snapshot's state if it is usable for a
// log of head blocks, nil if there is none.
func (c *Chain) loadSnapshot(p params, head uint64) (*state, error) {
	rec, err := c.db.get(keySnapshot)
	if err != nil || rec == nil {
		return nil, err
	}
	payload, err := unseal(rec)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	st, err := decodeState(p, payload)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if st.height > head {
		return nil, fmt.Errorf("%w: snapshot of block %d, the log ends at %d", chain.ErrCorrupt, st.height, head)
	}
	want := p.chainID
	if st.height > 0 {
		b, err := c.db.block(st.height)
		if err != nil {
			return nil, err
		}
		want = b.Header.Hash()
	}
	if st.lastHash != want {
		return nil, fmt.Errorf("%w: snapshot of block %d has hash %s, the log %s", chain.ErrCorrupt, st.height, st.lastHash, want)
	}
	return st, nil
}

// pruneExpired removes the blob objects and unattached storage resources
// that ended ExpiredRetention epochs or more before epoch t.
func (s *state) pruneExpired(t uint32) {
	gone := func(end uint32) bool { return uint64(end)+ExpiredRetention <= uint64(t) }
	for id, b := range s.blobs {
		if !gone(b.obj.Storage.EndEpoch) || s.wrapped(b) {
			continue
		}
		delete(s.blobs, id)
		if set := s.byBlobID[b.obj.BlobID]; set != nil {
			delete(set, id)
			if len(set) == 0 {
				delete(s.byBlobID, b.obj.BlobID)
			}
		}
		s.disown(b.obj.Owner, func(o *owned) { delete(o.blobs, id) })
	}
	for a, o := range s.owners {
		for id := range o.storage {
			if gone(s.storage[id].EndEpoch) {
				delete(s.storage, id)
				s.disown(a, func(o *owned) { delete(o.storage, id) })
			}
		}
	}
}

// disown applies f to a's index and drops the index once it is empty.
func (s *state) disown(a chain.Address, f func(*owned)) {
	o := s.owners[a]
	if o == nil {
		return
	}
	f(o)
	if len(o.blobs) == 0 && len(o.storage) == 0 && len(o.staked) == 0 {
		delete(s.owners, a)
	}
}
