package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"

	"github.com/walrus-go/walrus/encoding"
)

// Bounds of listings. Each listing method returns one page; a caller pages on
// with Page.After.
const (
	// DefaultPageLimit is the number of entries of a page when Page.Limit
	// (or the limit argument) is 0.
	DefaultPageLimit = 1000
	// MaxPageLimit bounds Page.Limit: a page is held in memory whole.
	MaxPageLimit = 100_000
	// DefaultPageBytes is the sliver bytes of a ShardSlivers page when
	// Page.MaxBytes is 0.
	DefaultPageBytes = 64 << 20
	// MaxPageBytes bounds Page.MaxBytes.
	MaxPageBytes = 1 << 30

	// MaxEventCursorSize bounds an event cursor. A cursor names a position
	// in the chain's event stream (a Sui event ID is a digest and a sequence
	// number, about 40 bytes); 1 KiB leaves room for any backend.
	MaxEventCursorSize = 1 << 10

	// deleteShardChunk is the default number of pairs DeleteShard removes
	// per batch: each batch is atomic, so a crash or a cancelled context
	// leaves whole pairs, and one batch stays well under MaxBatchSize
	// (under 1 MiB).
	deleteShardChunk = 10_000

	// ctxCheckInterval is how many entries a scan reads between checks of
	// its context.
	ctxCheckInterval = 64
)

// Store is a storage node's database: metadata, sliver pairs, blob records,
// the event cursor and node state, in one Pebble database.
//
// A Store is safe for concurrent use. Reads run in parallel with each other and
// with writes. Pair writes run in parallel with each other. Update transactions
// (and so the record writers and DeleteBlob) run one at a time. DeleteBlob and
// each batch of DeleteShard wait for the pair writes in flight and hold new
// ones back until they commit, so that they never leave a marker without its
// slivers.
type Store struct {
	db   *pebble.DB
	dir  string
	opts Options
	log  *slog.Logger
	wo   *pebble.WriteOptions

	// closeMu guards closed. Every method holds it for reading while it
	// uses db; Close takes it for writing, so Close waits for the calls in
	// flight, and a call after Close gets ErrClosed rather than Pebble's
	// panic.
	closeMu sync.RWMutex
	closed  bool

	// txMu serializes Update: a transaction reads the blob record it
	// rewrites, to keep the expiry index in step, and the event cursor it
	// advances.
	txMu sync.Mutex

	// pairMu is held for reading by pair writes and for writing by the
	// deletes that scan markers (a DeleteShard batch, Tx.DeleteBlob), so
	// that no pair is committed between their scan and their commit. Lock
	// order: closeMu, txMu, pairMu.
	pairMu sync.RWMutex

	// deleteChunk is the number of pairs DeleteShard removes per batch:
	// deleteShardChunk, smaller in tests.
	deleteChunk int

	// bad remembers keys whose reads hit a corrupt Pebble block.
	bad corruptKeys

	// po are the Pebble options the database was opened with (for the
	// tables Excise writes and VerifyTable reads); damage the corrupt
	// tables heard of and not yet excised (excise.go).
	po     *pebble.Options
	damage *damageSet

	// vlog holds the large slivers (vlog.go); gc runs CollectSlivers in
	// the background after deletions (vlog_gc.go).
	vlog *sliverLog
	gc   *collector
}

// Open opens the store in dir, creating it if dir holds no database. It copies
// opts, fills in defaults and validates them (ErrInvalid), opens Pebble with
// the options of Options.pebbleOptions, and checks the schema version (see
// schema.go): a new database gets SchemaVersion, an existing one must have it
// (ErrSchema otherwise). A corrupt database is ErrCorrupt; a database another process has
// open is ErrIO.
func Open(dir string, opts Options) (*Store, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger.With("subsystem", "store")
	po := opts.pebbleOptions(log)
	damage := newDamageSet()
	logCorruption := po.EventListener.DataCorruption
	po.EventListener.DataCorruption = func(info pebble.DataCorruptionInfo) {
		logCorruption(info)
		damage.onCorruption(info)
	}
	po.FS = &guardFS{FS: po.FS, bad: &damage.blocks}
	po.EnsureDefaults()
	db, err := pebble.Open(dir, po)
	if err != nil {
		if pebble.IsCorruptionError(err) {
			return nil, fmt.Errorf("%w: open %s: %v", ErrCorrupt, dir, err)
		}
		return nil, fmt.Errorf("%w: open %s: %v", ErrIO, dir, err)
	}
	s := &Store{db: db, dir: dir, opts: opts, log: log, wo: pebble.Sync, deleteChunk: deleteShardChunk, po: po, damage: damage}
	if opts.DisableSync {
		s.wo = pebble.NoSync
	}
	if err := s.checkSchema(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if s.vlog, err = openSliverLog(opts.FS, dir, opts.SliverSegmentSize, !opts.DisableSync); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.gc = startCollector(s)
	log.Debug("store opened", "dir", dir, "schema_version", SchemaVersion, "sync", !opts.DisableSync)
	return s, nil
}

// Close closes the store after the calls in flight have returned. Later calls,
// a second Close included, return ErrClosed.
func (s *Store) Close() error {
	s.gc.stop() // before closeMu: a collection in progress holds it
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	defer s.vlog.close()
	if err := s.db.Close(); err != nil {
		return s.translate("close", nil, err)
	}
	s.log.Debug("store closed", "dir", s.dir)
	return nil
}

// enter starts a call: it fails if ctx is done or the store is closed, and
// otherwise holds closeMu for reading until exit.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) exit() { s.closeMu.RUnlock() }

// errRemembered is the cause of ErrCorrupt for a key in s.bad.
var errRemembered = errors.New("an earlier read found its block corrupt")

// read is r.Get, failing fast for a key known to sit in a corrupt block and
// remembering the keys that do.
func (s *Store) read(r pebble.Reader, key []byte) ([]byte, io.Closer, error) {
	if s.bad.has(key) {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, describeKey(key), errRemembered)
	}
	v, closer, err := r.Get(key)
	if err != nil {
		if pebble.IsCorruptionError(err) || errors.Is(err, errKnownBad) {
			s.bad.add(key)
		}
		return nil, nil, s.translate("get", key, err)
	}
	return v, closer, nil
}

// get reads the value under key from r, checks its envelope and returns its
// payload, which the caller owns.
func (s *Store) get(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := s.read(r, key)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, len(v))
	copy(buf, v)
	if err := closer.Close(); err != nil {
		return nil, s.translate("get", key, err)
	}
	p, err := openValue(key, buf)
	if err != nil {
		return nil, s.corrupt(key, err)
	}
	return p, nil
}

// has reports whether key exists in r, checking its envelope.
func (s *Store) has(r pebble.Reader, key []byte) (bool, error) {
	v, closer, err := s.read(r, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, verr := openValue(key, v)
	if err := closer.Close(); err != nil {
		return false, s.translate("get", key, err)
	}
	if verr != nil {
		return false, s.corrupt(key, verr)
	}
	return true, nil
}

// scan calls fn for each key in [lower, upper) of r with its checked payload,
// in key order, until fn returns false or an error. key and payload are only
// valid during the call. ctx is checked every ctxCheckInterval entries. A
// value whose envelope fails ends the scan with ErrCorrupt.
func (s *Store) scan(ctx context.Context, r pebble.Reader, lower, upper []byte, fn func(key, payload []byte) (bool, error)) error {
	return s.scanRaw(ctx, r, lower, upper, func(key, v []byte) (bool, error) {
		p, err := openValue(key, v)
		if err != nil {
			return false, s.corrupt(key, err)
		}
		return fn(key, p)
	})
}

// scanRaw is scan with each value as stored, its envelope unchecked.
func (s *Store) scanRaw(ctx context.Context, r pebble.Reader, lower, upper []byte, fn func(key, v []byte) (bool, error)) (err error) {
	if bytes.Compare(lower, upper) >= 0 {
		return nil // an empty range (a page cursor past the end)
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return s.translate("scan", lower, err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = s.translate("scan", lower, cerr)
		}
	}()
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		if n++; n%ctxCheckInterval == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		key := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return s.translate("scan", key, err)
		}
		more, err := fn(key, v)
		if err != nil || !more {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return s.translate("scan", lower, err)
	}
	return nil
}

// setValue adds key → envelope(payload) to b.
func setValue(b *pebble.Batch, key, payload []byte) error {
	return b.Set(key, sealValue(key, payload), nil)
}

// commit commits b with the store's write options.
func (s *Store) commit(b *pebble.Batch, what []byte) error {
	// Pebble takes a large batch's buffer over at commit (a flushable of its
	// own, see Options.mayBeLargeBatch) and leaves b empty: read its keys first.
	var written *batchKeys
	if s.opts.mayBeLargeBatch(b.Len(), b.Count()) {
		written = readBatchKeys(b)
	}
	if err := s.db.Apply(b, s.wo); err != nil {
		return s.translate("commit", what, err)
	}
	if s.bad.n.Load() == 0 {
		return nil
	}
	if written == nil {
		written = readBatchKeys(b)
	}
	s.bad.forget(written.has)
	return nil
}

// batchKeys are the keys a batch writes or deletes: its point keys and its
// range deletions. Its slices point into the batch's buffer.
type batchKeys struct {
	points map[string]bool
	spans  [][2][]byte
}

// readBatchKeys returns the keys b writes or deletes.
func readBatchKeys(b *pebble.Batch) *batchKeys {
	w := &batchKeys{points: map[string]bool{}}
	r := b.Reader()
	for {
		kind, k, v, ok, err := r.Next()
		if !ok || err != nil {
			break
		}
		if kind == pebble.InternalKeyKindRangeDelete {
			w.spans = append(w.spans, [2][]byte{k, v})
		} else {
			w.points[string(k)] = true
		}
	}
	return w
}

// has reports whether key is among w: a committed batch's new version of key
// shadows the corrupt block an earlier read found it in (s.bad).
func (w *batchKeys) has(key []byte) bool {
	if w.points[string(key)] {
		return true
	}
	for _, sp := range w.spans {
		if bytes.Compare(key, sp[0]) >= 0 && bytes.Compare(key, sp[1]) < 0 {
			return true
		}
	}
	return false
}

// PutMetadata stores the metadata of blob id, replacing any earlier copy. It
// returns ErrInvalid, writing nothing, when md does not hash to id or does not
// survive its own BCS round trip (a pair count outside the codec's range, an
// unknown encoding type). It does not check md against the network's shard
// count; that is the caller's (encoding.Metadata.Verify).
func (s *Store) PutMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error {
	if md == nil {
		return fmt.Errorf("%w: nil metadata for blob %s", ErrInvalid, id)
	}
	bcs := md.MarshalBCS()
	if _, err := encoding.UnmarshalMetadata(bcs); err != nil {
		return fmt.Errorf("%w: metadata for blob %s: %v", ErrInvalid, id, err)
	}
	if got := md.BlobID(); got != id {
		return fmt.Errorf("%w: metadata hashes to blob %s, not %s", ErrInvalid, got, id)
	}
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	// Like a pair write, it waits while Excise rewrites a key range.
	s.pairMu.RLock()
	defer s.pairMu.RUnlock()
	key := metadataKey(id)
	if err := s.db.Set(key, sealValue(key, bcs), s.wo); err != nil {
		return s.translate("set", key, err)
	}
	s.bad.forget(func(k []byte) bool { return bytes.Equal(k, key) })
	return nil
}

// Metadata returns the metadata of blob id, or ErrNotFound.
func (s *Store) Metadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	key := metadataKey(id)
	p, err := s.get(s.db, key)
	if err != nil {
		return nil, err
	}
	md, err := encoding.UnmarshalMetadata(p)
	if err != nil {
		return nil, s.corrupt(key, err)
	}
	return md, nil
}

// HasMetadata reports whether the metadata of blob id is stored.
func (s *Store) HasMetadata(ctx context.Context, id encoding.BlobID) (bool, error) {
	if err := s.enter(ctx); err != nil {
		return false, err
	}
	defer s.exit()
	return s.has(s.db, metadataKey(id))
}

// ShardPair is a sliver pair with the shard that stores it.
type ShardPair struct {
	Shard uint16
	Pair  encoding.SliverPair
	// Sums, if not nil, are SliverSum of Pair.Primary.Data and of
	// Pair.Secondary.Data, which a caller computes while the bytes are in
	// its caches (a node, right after it verified them): the sliver log
	// keeps them instead of reading every sliver again from memory, about 5
	// GB/s against 25 here (hash/crc32, 2 MiB against 256 MiB). The store
	// trusts them: a wrong one makes its sliver read back as corrupt.
	Sums *[2]uint32
	// Leaves, where not nil, are the leaf hashes of the expansion of
	// Pair.Primary and of Pair.Secondary (n each, as
	// encoding.Codec.VerifySliverLeaves returns them), which the store
	// keeps with a logged sliver for SliverSymbols; those of an inline
	// sliver are not kept (reading it whole is cheap). The store does not
	// check them against the sliver: SliverSymbols' caller does, against
	// the metadata, on every read.
	Leaves [2][]encoding.Hash
}

// checkPair checks that sp is a sliver pair of blob id that belongs on sp.Shard:
// the axes, that the indices make a pair (primary i, secondary n−1−i) of a
// valid shard count n, that pair i of id maps to the shard, and that both
// slivers have the symbol count of n with one even, non-zero symbol size.
// Slivers that pass decode again on read.
func checkPair(id encoding.BlobID, sp ShardPair) error {
	p, q := &sp.Pair.Primary, &sp.Pair.Secondary
	if p.Axis != encoding.Primary || q.Axis != encoding.Secondary {
		return fmt.Errorf("shard %d: pair has a %s and a %s sliver, want primary and secondary", sp.Shard, p.Axis, q.Axis)
	}
	n := int(p.Index) + int(q.Index) + 1
	params, err := encoding.NewParams(n)
	if err != nil {
		return fmt.Errorf("shard %d: slivers %d and %d are no pair: %v", sp.Shard, p.Index, q.Index, err)
	}
	if int(sp.Shard) >= n || id.ShardForPair(int(p.Index), n) != int(sp.Shard) {
		return fmt.Errorf("shard %d: pair %d of blob %s belongs on shard %d (n = %d)", sp.Shard, p.Index, id, id.ShardForPair(int(p.Index), n), n)
	}
	sz := int(p.SymbolSize)
	if sz == 0 || sz%2 != 0 || q.SymbolSize != p.SymbolSize {
		return fmt.Errorf("shard %d: symbol sizes %d and %d, want one even, non-zero size", sp.Shard, p.SymbolSize, q.SymbolSize)
	}
	if len(p.Data) != params.Cols*sz || len(q.Data) != params.Rows*sz {
		return fmt.Errorf("shard %d: slivers of %d and %d bytes, want %d and %d (n = %d, symbol size %d)",
			sp.Shard, len(p.Data), len(q.Data), params.Cols*sz, params.Rows*sz, n, sz)
	}
	for i, l := range sp.Leaves {
		if l != nil && len(l) != n {
			return fmt.Errorf("shard %d: %d leaf hashes of the %s sliver, want none or %d", sp.Shard, len(l), encoding.Axis(i), n)
		}
	}
	return nil
}

// batchOpOverhead bounds the bytes a batch adds to each operation: a kind
// byte and two varint lengths.
const batchOpOverhead = 1 + 2*5

// pairBatchSize bounds the batch bytes of one pair with its markers: a
// logged sliver takes its reference's bytes, an inline one its own.
func (s *Store) pairBatchSize(sp *ShardPair) int {
	return 2*(batchOpOverhead+sliverKeyLen+checksumLen) + s.sliverBatchSize(&sp.Pair.Primary, sp.Leaves[0]) + s.sliverBatchSize(&sp.Pair.Secondary, sp.Leaves[1]) +
		2*(batchOpOverhead+shardPairKeyLen+checksumLen)
}

// logged reports whether sl goes to the sliver log.
func (s *Store) logged(sl *encoding.Sliver) bool {
	return !s.opts.KeepValuesInTables && len(sl.Data) >= s.opts.MinLoggedSliver
}

func (s *Store) sliverBatchSize(sl *encoding.Sliver, leaves []encoding.Hash) int {
	if s.logged(sl) {
		return refPayloadLen + leafLen*len(leaves)
	}
	return sl.BCSSize()
}

// PutPair stores one sliver pair of blob id on shard: see PutPairs.
func (s *Store) PutPair(ctx context.Context, shard uint16, id encoding.BlobID, pair encoding.SliverPair) error {
	return s.PutPairs(ctx, id, []ShardPair{{Shard: shard, Pair: pair}})
}

// PutPairs stores sliver pairs of blob id, one per shard, with their markers,
// in one batch: after a crash the store holds all of them or none. A pair
// already stored is overwritten. It returns ErrInvalid, writing nothing, for a
// pair that fails checkPair or a shard given twice, and ErrTooLarge for pairs
// that need more than Options.MaxBatchSize bytes. It returns once the batch is
// synced to disk (unless Options.DisableSync). It does not verify the slivers
// against the blob's metadata; that is the caller's (encoding.Sliver.Verify).
// It does not retain pairs.
func (s *Store) PutPairs(ctx context.Context, id encoding.BlobID, pairs []ShardPair) error {
	if len(pairs) == 0 {
		return fmt.Errorf("%w: no sliver pairs for blob %s", ErrInvalid, id)
	}
	size := 12 // batch header
	seen := make(map[uint16]bool, len(pairs))
	for i := range pairs {
		sp := &pairs[i]
		if err := checkPair(id, *sp); err != nil {
			return fmt.Errorf("%w: blob %s: %v", ErrInvalid, id, err)
		}
		if seen[sp.Shard] {
			return fmt.Errorf("%w: blob %s: shard %d given twice", ErrInvalid, id, sp.Shard)
		}
		seen[sp.Shard] = true
		size += s.pairBatchSize(sp)
	}
	if size > s.opts.MaxBatchSize {
		return fmt.Errorf("%w: %d pairs of blob %s need %d bytes, MaxBatchSize is %d", ErrTooLarge, len(pairs), id, size, s.opts.MaxBatchSize)
	}
	return s.writePairs(ctx, size, sliverKey(pairs[0].Shard, encoding.Primary, id), func(b *pebble.Batch, w *logWriter) error {
		for i := range pairs {
			if err := s.setPair(b, w, pairs[i].Shard, id, &pairs[i].Pair, pairs[i].Sums, &pairs[i].Leaves); err != nil {
				return err
			}
		}
		return nil
	})
}

// writePairs commits, in one batch of about size bytes, what fill adds: pair
// writes, which wait while a shard is being deleted (pairMu). fill writes the
// large slivers to w, which is synced before the batch of their references
// commits. what names the batch in errors.
func (s *Store) writePairs(ctx context.Context, size int, what []byte, fill func(b *pebble.Batch, w *logWriter) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	s.pairMu.RLock()
	defer s.pairMu.RUnlock()
	w := &logWriter{l: s.vlog}
	defer w.done()
	b, buf := newPairBatch(s.db, size)
	err := fill(b, w)
	if err == nil {
		err = w.sync()
	}
	if err == nil {
		err = s.commit(b, what)
	}
	kept := b.Len() <= batchrepr.HeaderLen // Pebble keeps a large batch, and empties b
	repr := b.Repr()
	_ = b.Close() // only fails for a batch of db's pool whose commit is in flight
	if buf != nil && err == nil && !kept {
		// The memtable and the WAL have copied the batch: its buffer is
		// free again (DB.Apply). This holds while the store configures no
		// WAL failover (pebbleOptions), under which Pebble's WAL writer may
		// still read a batch after Apply returns.
		*buf = repr
		pairBufs.Put(buf)
	}
	return err
}

// minPooledBatch and maxPooledBatch bound the batches of pair writes whose
// buffers are reused (pairBufs): the node writes a request's pairs every few
// MiB (node.stageFlushBytes). Smaller batches come from Pebble's own pool,
// which keeps buffers of up to 1 MiB; larger ones get a buffer of their own.
const (
	minPooledBatch = 1 << 20
	maxPooledBatch = 16 << 20
)

// pairBufs holds buffers of committed pair batches (*[]byte) for the next
// ones: a fresh buffer of some MiB per batch costs a page fault per 4 KiB as
// its sliver bytes are copied in.
var pairBufs sync.Pool

// newPairBatch returns an empty batch of room for size bytes, and the pooled
// buffer it uses (nil if none).
func newPairBatch(db *pebble.DB, size int) (*pebble.Batch, *[]byte) {
	if size < minPooledBatch || size > maxPooledBatch {
		return db.NewBatchWithSize(size), nil
	}
	buf, _ := pairBufs.Get().(*[]byte)
	if buf == nil || cap(*buf) < size {
		b := make([]byte, batchrepr.HeaderLen, size)
		buf = &b
	}
	repr := (*buf)[:batchrepr.HeaderLen]
	clear(repr)
	// A batch of its own, not one of db's pool: Pebble would keep a small
	// buffer in its pool for other batches.
	b := new(pebble.Batch)
	if err := b.SetRepr(repr); err != nil {
		panic("store: empty batch repr: " + err.Error()) // an empty header is valid
	}
	return b, buf
}

// setPair adds a pair of blob id on shard, with its two markers, to b; its
// large slivers go to w, their references with leaves (if not nil).
func (s *Store) setPair(b *pebble.Batch, w *logWriter, shard uint16, id encoding.BlobID, p *encoding.SliverPair, sums *[2]uint32, leaves *[2][]encoding.Hash) error {
	for i, sl := range []*encoding.Sliver{&p.Primary, &p.Secondary} {
		key := sliverKey(shard, sl.Axis, id)
		if !s.logged(sl) {
			setSliver(b, key, sl)
			continue
		}
		var sum *uint32
		if sums != nil {
			sum = &sums[i]
		}
		var lb []byte
		if leaves != nil && len(leaves[i]) > 0 {
			lb = make([]byte, 0, len(leaves[i])*leafLen)
			for _, h := range leaves[i] {
				lb = append(lb, h[:]...)
			}
		}
		ref, err := w.write(sl, sum, lb)
		if err != nil {
			return err
		}
		setRef(b, key, &ref)
	}
	for _, k := range [][]byte{shardPairKey(shard, id), blobShardKey(id, shard)} {
		if err := setValue(b, k, nil); err != nil {
			return s.translate("batch", k, err)
		}
	}
	return nil
}

// setSliver adds a sliver to b, encoding it straight into the batch's buffer.
func setSliver(b *pebble.Batch, key []byte, sl *encoding.Sliver) {
	op := b.SetDeferred(len(key), checksumLen+sl.BCSSize())
	copy(op.Key, key)
	payload := sl.AppendBCS(op.Value[checksumLen:checksumLen:len(op.Value)])
	if len(payload) != len(op.Value)-checksumLen || &payload[0] != &op.Value[checksumLen] {
		panic("store: sliver BCSSize does not match AppendBCS")
	}
	putChecksum(op.Value, key, payload)
	_ = op.Finish() // only fails for batches of an indexed kind, which this is not
}

// setRef adds a logged sliver's reference to b, encoding it straight into the
// batch's buffer.
func setRef(b *pebble.Batch, key []byte, ref *sliverRef) {
	op := b.SetDeferred(len(key), checksumLen+ref.payloadLen())
	copy(op.Key, key)
	payload := ref.appendPayload(op.Value[checksumLen:checksumLen:len(op.Value)])
	if len(payload) != ref.payloadLen() || &payload[0] != &op.Value[checksumLen] {
		panic("store: reference payload is not payloadLen bytes")
	}
	putChecksum(op.Value, key, payload)
	_ = op.Finish() // only fails for batches of an indexed kind, which this is not
}

// HasPair reports whether the sliver pair of blob id on shard is stored.
func (s *Store) HasPair(ctx context.Context, shard uint16, id encoding.BlobID) (bool, error) {
	if err := s.enter(ctx); err != nil {
		return false, err
	}
	defer s.exit()
	return s.has(s.db, shardPairKey(shard, id))
}

// Sliver returns the sliver of the given axis of blob id on shard, or
// ErrNotFound. Its Data is a fresh copy the caller owns.
func (s *Store) Sliver(ctx context.Context, shard uint16, id encoding.BlobID, axis encoding.Axis) (encoding.Sliver, error) {
	if axis != encoding.Primary && axis != encoding.Secondary {
		return encoding.Sliver{}, fmt.Errorf("%w: axis %d", ErrInvalid, axis)
	}
	if err := s.enter(ctx); err != nil {
		return encoding.Sliver{}, err
	}
	defer s.exit()
	key := sliverKey(shard, axis, id)
	p, err := s.get(s.db, key)
	if err != nil {
		return encoding.Sliver{}, err
	}
	return s.openSliver(axis, key, p, false)
}

// SliverSymbols is part of a stored sliver, as SliverSymbols reads it.
type SliverSymbols struct {
	SymbolSize uint16
	Index      uint16
	// Symbols holds the symbol at each position asked for, in order.
	Symbols [][]byte
	// Leaves are the leaf hashes the store keeps with the sliver
	// (ShardPair.Leaves), unchecked: the caller checks them against the
	// blob's metadata and each symbol against its leaf
	// (encoding.Codec.SymbolsFromLeaves).
	Leaves []encoding.Hash
}

// SliverSymbols reads the symbols at positions (increasing, each below the
// sliver's symbol count) of the sliver of the given axis of blob id on
// shard, and the leaf hashes kept with it: a read of those symbols alone.
// It returns ErrNotFound if the sliver is not stored, and ok false, reading
// nothing, if the store keeps no leaf hashes for it (an inline sliver, or one
// stored without them): the caller reads it whole (Sliver). Symbols are not
// checked against the sliver's CRC, which covers all of it: the caller checks
// them against the leaves, and a mismatch means the sliver is damaged (a
// Sliver read reports it).
func (s *Store) SliverSymbols(ctx context.Context, shard uint16, id encoding.BlobID, axis encoding.Axis, positions []int) (part SliverSymbols, ok bool, err error) {
	if axis != encoding.Primary && axis != encoding.Secondary {
		return SliverSymbols{}, false, fmt.Errorf("%w: axis %d", ErrInvalid, axis)
	}
	if len(positions) == 0 {
		return SliverSymbols{}, false, fmt.Errorf("%w: no symbol positions", ErrInvalid)
	}
	for i := 1; i < len(positions); i++ {
		if positions[i] <= positions[i-1] {
			return SliverSymbols{}, false, fmt.Errorf("%w: symbol positions %v are not increasing", ErrInvalid, positions)
		}
	}
	if err := s.enter(ctx); err != nil {
		return SliverSymbols{}, false, err
	}
	defer s.exit()
	key := sliverKey(shard, axis, id)
	p, err := s.get(s.db, key)
	if err != nil {
		return SliverSymbols{}, false, err
	}
	_, _, err = s.followRef(key, p, func(ref sliverRef) error {
		if ref.leaves == nil {
			ok = false
			return nil
		}
		syms, err := s.vlog.readSymbols(ref, positions)
		if err != nil {
			return err
		}
		part = SliverSymbols{SymbolSize: ref.symbolSize, Index: ref.index, Symbols: syms, Leaves: make([]encoding.Hash, len(ref.leaves)/leafLen)}
		for i := range part.Leaves {
			copy(part.Leaves[i][:], ref.leaves[i*leafLen:])
		}
		ok = true
		return nil
	})
	if err != nil || !ok {
		return SliverSymbols{}, false, err
	}
	return part, true, nil
}

// DeletePair deletes the sliver pair of blob id on shard with its markers, in
// one batch. Deleting a pair that is not stored is not an error.
func (s *Store) DeletePair(ctx context.Context, shard uint16, id encoding.BlobID) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	s.pairMu.RLock()
	defer s.pairMu.RUnlock()
	b := s.db.NewBatch()
	defer b.Close()
	deletePair(b, shard, id)
	defer s.gc.kick()
	return s.commit(b, shardPairKey(shard, id))
}

// deletePair adds the deletes of a pair and its markers to b.
func deletePair(b *pebble.Batch, shard uint16, id encoding.BlobID) {
	for _, k := range [][]byte{
		sliverKey(shard, encoding.Primary, id), sliverKey(shard, encoding.Secondary, id),
		shardPairKey(shard, id), blobShardKey(id, shard),
	} {
		_ = b.Delete(k, nil) // a batch's Delete cannot fail
	}
}

// StoredShards returns the shards that store a sliver pair of blob id, in
// increasing order.
func (s *Store) StoredShards(ctx context.Context, id encoding.BlobID) ([]uint16, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	return s.storedShards(ctx, s.db, id)
}

func (s *Store) storedShards(ctx context.Context, r pebble.Reader, id encoding.BlobID) ([]uint16, error) {
	var shards []uint16
	p := blobShardPrefix(id)
	err := s.scan(ctx, r, p, prefixEnd(p), func(key, payload []byte) (bool, error) {
		ki, err := parseKey(key)
		if err == nil {
			err = decodeEmpty(payload)
		}
		if err != nil {
			return false, s.corrupt(key, err)
		}
		shards = append(shards, ki.shard)
		return true, nil
	})
	return shards, err
}

// Page selects one page of a listing in blob ID order.
type Page struct {
	// After, if set, starts the page after this blob ID: the last blob ID
	// of the previous page.
	After *encoding.BlobID
	// Limit caps the number of entries; 0 means DefaultPageLimit. It must be
	// at most MaxPageLimit.
	Limit int
	// MaxBytes caps the sliver bytes of a ShardSlivers page, which holds at
	// least one sliver nonetheless; 0 means DefaultPageBytes. It must be at
	// most MaxPageBytes.
	MaxBytes int
}

// normalize fills in defaults and checks bounds.
func (p Page) normalize() (Page, error) {
	if p.Limit == 0 {
		p.Limit = DefaultPageLimit
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultPageBytes
	}
	if p.Limit < 0 || p.Limit > MaxPageLimit {
		return p, fmt.Errorf("%w: page limit %d, want 1 to %d", ErrInvalid, p.Limit, MaxPageLimit)
	}
	if p.MaxBytes < 0 || p.MaxBytes > MaxPageBytes {
		return p, fmt.Errorf("%w: page bytes %d, want 1 to %d", ErrInvalid, p.MaxBytes, MaxPageBytes)
	}
	return p, nil
}

// lowerBound is the first key of a page over keys prefix ‖ blob ID.
func (p Page) lowerBound(prefix []byte) []byte {
	if p.After == nil {
		return prefix
	}
	// The smallest key after prefix ‖ After.
	return append(append(append([]byte(nil), prefix...), p.After[:]...), 0)
}

// ShardBlobs returns a page of the blob IDs whose sliver pair shard stores, in
// increasing order. A page shorter than its limit is the last.
func (s *Store) ShardBlobs(ctx context.Context, shard uint16, page Page) ([]encoding.BlobID, error) {
	page, err := page.normalize()
	if err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	var ids []encoding.BlobID
	p := shardPairPrefix(shard)
	err = s.scan(ctx, s.db, page.lowerBound(p), prefixEnd(p), func(key, payload []byte) (bool, error) {
		ki, err := parseKey(key)
		if err == nil {
			err = decodeEmpty(payload)
		}
		if err != nil {
			return false, s.corrupt(key, err)
		}
		ids = append(ids, ki.blobID)
		return len(ids) < page.Limit, nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// BlobSliver is a sliver with the blob it belongs to.
type BlobSliver struct {
	BlobID encoding.BlobID
	Sliver encoding.Sliver
}

// ShardSlivers returns a page of the slivers of one axis that shard stores, in
// blob ID order, for shard sync. The page ends after Page.Limit slivers, or
// before the sliver that would take it over Page.MaxBytes (a page holds at
// least one sliver). An empty page is the last. The slivers' Data are fresh
// copies the caller owns.
func (s *Store) ShardSlivers(ctx context.Context, shard uint16, axis encoding.Axis, page Page) ([]BlobSliver, error) {
	if axis != encoding.Primary && axis != encoding.Secondary {
		return nil, fmt.Errorf("%w: axis %d", ErrInvalid, axis)
	}
	page, err := page.normalize()
	if err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	var out []BlobSliver
	bytes := 0
	p := sliverAxisPrefix(shard, axis)
	err = s.scan(ctx, s.db, page.lowerBound(p), prefixEnd(p), func(key, payload []byte) (bool, error) {
		size := len(payload)
		if isRef(payload) {
			ref, err := parseRef(payload)
			if err != nil {
				return false, s.corrupt(key, err)
			}
			size = int(ref.n)
		}
		if len(out) > 0 && bytes+size > page.MaxBytes {
			return false, nil
		}
		ki, err := parseKey(key)
		if err != nil {
			return false, s.corrupt(key, err)
		}
		sl, err := s.openSliver(axis, key, payload, true)
		if errors.Is(err, ErrNotFound) {
			// Deleted since the scan began, and its segment collected: the
			// page goes on without it.
			return true, nil
		}
		if err != nil {
			return false, err
		}
		bytes += size
		out = append(out, BlobSliver{BlobID: ki.blobID, Sliver: sl})
		return len(out) < page.Limit, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteShard deletes every sliver pair shard stores, with their markers. It
// deletes in batches of whole pairs, each atomic: when it returns an error
// (a cancelled ctx, say) the store holds a subset of the shard's pairs, each
// whole, and a new call finishes the job. The last batch, which finds no pair
// left, range-deletes the shard's key ranges, sweeping any sliver that lost
// its markers. The shard's status is left as it is. Pair writes wait while a
// batch is prepared and committed, not for the whole call; a pair written for
// the shard meanwhile may survive it, whole.
func (s *Store) DeleteShard(ctx context.Context, shard uint16) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	deleted := 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: delete shard %d after %d pairs: %w", shard, deleted, err)
		}
		n, err := s.deleteShardChunk(ctx, shard)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		deleted += n
	}
	s.gc.kick()
	s.log.Debug("shard deleted", "shard", shard, "pairs", deleted)
	return nil
}

// deleteShardChunk deletes up to s.deleteChunk pairs of shard in one batch and
// returns how many. When there are none it range-deletes the shard's key
// ranges instead, and returns 0.
func (s *Store) deleteShardChunk(ctx context.Context, shard uint16) (int, error) {
	s.pairMu.Lock()
	defer s.pairMu.Unlock()
	markers := shardPairPrefix(shard)
	var ids []encoding.BlobID
	err := s.scan(ctx, s.db, markers, prefixEnd(markers), func(key, _ []byte) (bool, error) {
		ki, err := parseKey(key)
		if err != nil {
			return false, s.corrupt(key, err)
		}
		ids = append(ids, ki.blobID)
		return len(ids) < s.deleteChunk, nil
	})
	if err != nil {
		return 0, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if len(ids) == 0 {
		// No marker is left, and none can appear before this commits:
		// sweep whatever has no marker (nothing, unless a bug left an
		// orphan).
		for _, p := range [][]byte{sliverShardPrefix(shard), markers} {
			_ = b.DeleteRange(p, prefixEnd(p), nil)
		}
		return 0, s.commit(b, markers)
	}
	first, last := ids[0], ids[len(ids)-1]
	for _, id := range ids {
		_ = b.Delete(blobShardKey(id, shard), nil)
	}
	// The chunk's keys are contiguous in each of these ranges, so a range
	// deletion over [first, last] removes them and nothing else of value (a
	// sliver without a marker in between is an orphan).
	for _, rng := range [][2][]byte{
		{sliverKey(shard, encoding.Primary, first), sliverKey(shard, encoding.Primary, last)},
		{sliverKey(shard, encoding.Secondary, first), sliverKey(shard, encoding.Secondary, last)},
		{shardPairKey(shard, first), shardPairKey(shard, last)},
	} {
		_ = b.DeleteRange(rng[0], append(rng[1], 0), nil)
	}
	return len(ids), s.commit(b, markers)
}

// Expiry is an entry of the expiry index: a blob and its record's end epoch.
type Expiry struct {
	EndEpoch uint32
	BlobID   encoding.BlobID
}

// ExpiredAt returns a page of the blobs whose records have expired by epoch:
// EndEpoch ≤ epoch (the end epoch is exclusive), ordered by end epoch, then
// blob ID. It starts after the entry after, if set, and returns at most limit
// entries (0 means DefaultPageLimit, at most MaxPageLimit). A page shorter than
// its limit is the last. It reads the expiry index only: an entry whose record
// is gone or corrupt is listed until Tx.DeleteExpiry removes it.
func (s *Store) ExpiredAt(ctx context.Context, epoch uint32, after *Expiry, limit int) ([]Expiry, error) {
	page, err := Page{Limit: limit}.normalize()
	if err != nil {
		return nil, err
	}
	lower := prefix(tagExpiry)
	if after != nil {
		lower = append(expiryKey(after.EndEpoch, after.BlobID), 0)
	}
	upper := prefixEnd(prefix(tagExpiry))
	if epoch < math.MaxUint32 {
		upper = expiryEpochPrefix(epoch + 1)
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.exit()
	var out []Expiry
	err = s.scan(ctx, s.db, lower, upper, func(key, payload []byte) (bool, error) {
		ki, err := parseKey(key)
		if err == nil {
			err = decodeEmpty(payload)
		}
		if err != nil {
			return false, s.corrupt(key, err)
		}
		out = append(out, Expiry{EndEpoch: ki.endEpoch, BlobID: ki.blobID})
		return len(out) < page.Limit, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Compact compacts the whole store, so that deleted data leaves the disk and
// reads touch fewer files. It blocks until done or ctx is cancelled; it is
// safe to call alongside other methods, which it slows down.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	s.log.Debug("compaction started")
	if err := s.db.Compact(ctx, []byte{0x00}, []byte{0xff}, true /* parallelize */); err != nil {
		return s.translate("compact", nil, err)
	}
	s.vlog.seal() // so that the active segment's garbage goes too
	if _, err := s.collectSlivers(ctx); err != nil {
		return err
	}
	s.log.Debug("compaction done", "disk_bytes", s.db.Metrics().DiskSpaceUsage())
	return nil
}

// DiskUsage returns the bytes the store's files take on disk: the sizes of
// the files in its directory, the sliver log's included. It reads the
// directory rather than Pebble's metrics, which take Pebble's locks (a node
// calls it for every status request).
func (s *Store) DiskUsage() (uint64, error) {
	if err := s.enter(context.Background()); err != nil {
		return 0, err
	}
	defer s.exit()
	var n uint64
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a file Pebble deleted meanwhile
		}
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		n += uint64(fi.Size())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w: disk usage of %s: %v", ErrIO, s.dir, err)
	}
	return n, nil
}
