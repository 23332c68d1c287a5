package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// Errors returned by the store. Each is wrapped with details (which key, which
// argument); test with errors.Is.
var (
	// ErrNotFound is returned by the getters (Metadata, Sliver, BlobRecord,
	// EventCursor, CurrentEpoch, ShardStatus, SyncCursor) when the value was
	// never written or has been deleted.
	ErrNotFound = errors.New("store: not found")

	// ErrCorrupt is returned when stored data fails a check on read: a value
	// whose checksum does not match its key and payload, a payload that does
	// not decode, or a Pebble file whose block checksum fails. The corrupt
	// value is never returned. The error names the key.
	ErrCorrupt = errors.New("store: corrupt data")

	// ErrInvalid is returned for arguments the store refuses before writing
	// anything: invalid Options, a sliver pair that does not fit its shard,
	// a blob record that breaks its invariants, metadata that does not hash
	// to its blob ID, a page limit or cursor over its bound.
	ErrInvalid = errors.New("store: invalid argument")

	// ErrTooLarge is returned by PutPairs when the pairs do not fit in one
	// batch of Options.MaxBatchSize bytes; nothing is written, and the caller
	// may split them over several calls.
	ErrTooLarge = errors.New("store: batch too large")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("store: closed")

	// ErrSchema is returned by Open for a directory that holds a database of
	// another SchemaVersion, or a Pebble database that this package did not
	// create.
	ErrSchema = errors.New("store: unsupported schema")

	// ErrIO is returned when Pebble or the file system fails for a reason
	// other than corruption (a full disk, a lock held by another process).
	ErrIO = errors.New("store: i/o error")
)

// translate maps an error of Pebble to one of this package's sentinels, naming
// the operation and the key. Pebble's errors are formatted, never wrapped, so
// that none leaks to callers.
func (s *Store) translate(op string, key []byte, err error) error {
	if key != nil {
		op += " " + describeKey(key)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("%w: %s", ErrNotFound, describeKey(key))
	case pebble.IsCorruptionError(err), errors.Is(err, errKnownBad):
		return s.corrupt(key, fmt.Errorf("%s: %s", op, pebbleMessage(err)))
	case errors.Is(err, pebble.ErrClosed):
		return fmt.Errorf("%w: %s", ErrClosed, op)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The caller's own context: returned as such, so errors.Is works.
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %s", ErrIO, op, pebbleMessage(err))
}

// pebbleMessage is the first line of a Pebble error's message: the rest, when
// there is any, is detail meant for CockroachDB's error reporting.
func pebbleMessage(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// corrupt returns ErrCorrupt for key, wrapped with cause, and logs it: a
// corruption is worth an operator's attention even when the caller recovers
// (by fetching the sliver from a peer, say).
func (s *Store) corrupt(key []byte, cause error) error {
	what := "store"
	if key != nil {
		what = describeKey(key)
	}
	s.log.Error("corrupt data", "key", what, "err", cause.Error())
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, what, cause)
}

// maxCorruptKeys bounds the keys corruptKeys remembers.
const maxCorruptKeys = 1024

// corruptKeys remembers the keys whose point reads failed with a Pebble
// corruption error, so that reading one again fails at once. On every read of
// a block whose checksum fails, Pebble looks for a single flipped bit by
// recomputing the checksum for each bit of the block's first 40 KiB: about
// 320,000 checksums over the whole block, which for a sliver of some MiB is
// seconds to minutes of CPU. A node asked again and again for a corrupt sliver
// must not pay that each time. Writing or deleting the key forgets it (the new
// version shadows the corrupt block). It is safe for concurrent use.
type corruptKeys struct {
	n    atomic.Int32 // len(keys), read without mu on the fast path
	mu   sync.Mutex
	keys map[string]struct{}
}

func (c *corruptKeys) has(key []byte) bool {
	if c.n.Load() == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.keys[string(key)]
	return ok
}

func (c *corruptKeys) add(key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make(map[string]struct{})
	}
	if len(c.keys) < maxCorruptKeys {
		c.keys[string(key)] = struct{}{}
	}
	c.n.Store(int32(len(c.keys)))
}

// forget drops every remembered key for which drop returns true.
func (c *corruptKeys) forget(drop func(key []byte) bool) {
	if c.n.Load() == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.keys {
		if drop([]byte(k)) {
			delete(c.keys, k)
		}
	}
	c.n.Store(int32(len(c.keys)))
}
