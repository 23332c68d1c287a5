package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/walrus-go/walrus/encoding"
)

// Damage and its repair.
//
// A Pebble table whose block fails its checksum cannot be read past that
// block, and it cannot be compacted either: every compaction that picks it
// fails, and Pebble retries it for ever. The store notes every such table it
// hears of (Pebble's DataCorruption events, from reads and compactions alike,
// and VerifyTable) as a Damage: the table's key range. Excise takes the range
// out of the database in one step, with what can still be read of it written
// back, so that the table leaves the LSM and compactions go on; what could not
// be read (the sliver pairs, the metadata) is reported to the caller, which
// rebuilds it from peers.

// maxDamage bounds the damaged tables the store remembers until they are
// excised; past it, new reports are dropped (VerifyTable finds them again).
const maxDamage = 1024

// salvagePage is the number of pair markers Excise reads at a time while it
// salvages a shard's slivers.
const salvagePage = 4096

// Damage is a key range [Start, End) that a corrupt Pebble table covers.
type Damage struct {
	Start, End []byte
	// File is the table's path; Cause the first line of Pebble's error.
	File, Cause string
}

// PairRef names the sliver pair of a blob on a shard.
type PairRef struct {
	Shard  uint16
	BlobID encoding.BlobID
}

// Excised is what Excise did with a damaged range.
type Excised struct {
	Damage Damage
	// Kept is the number of values read back from the range and written
	// again; KeptBytes their bytes.
	Kept      int
	KeptBytes int64
	// Pairs are the sliver pairs that lost a sliver: they are deleted whole,
	// markers included, and must be rebuilt.
	Pairs []PairRef
	// Metadata are the blobs whose metadata was lost: it must be fetched
	// again.
	Metadata []encoding.BlobID
	// Lost names the key ranges of other tables (blob records, the event
	// cursor, ...) that could not be read past a corrupt block and are gone.
	Lost []string
	// LostRecords reports that some of what Lost names is what the node
	// derives from the chain's events (eventTables: blob records, their
	// expiry entries, object records, the event cursor). Those depend on
	// one another (an object record tells a replayed event from a new one),
	// so the caller drops them all (ForgetRecords) and replays the events.
	LostRecords bool
}

// eventTables are the tables the node writes from the chain's events.
var eventTables = []byte{tagBlobRecord, tagExpiry, tagEventCursor, tagObject}

// overlapsEventTables reports whether [a, b) (b nil: to the end) holds keys
// of an event table.
func overlapsEventTables(a, b []byte) bool {
	for _, tag := range eventTables {
		lo := prefix(tag)
		if bytes.Compare(a, prefixEnd(lo)) < 0 && (b == nil || bytes.Compare(lo, b) < 0) {
			return true
		}
	}
	return false
}

// damageSet is the damage heard of and not yet excised. It is safe for
// concurrent use.
type damageSet struct {
	mu        sync.Mutex
	byFile    map[string]Damage
	repairing map[string]bool
	// excised are the tables excised: Pebble never reuses a file number,
	// and reads that began before the excision may still report them.
	excised map[string]bool
	n       atomic.Int64 // damage ever noted
	notify  chan struct{}
	blocks  badBlocks
}

func newDamageSet() *damageSet {
	return &damageSet{byFile: map[string]Damage{}, repairing: map[string]bool{}, excised: map[string]bool{},
		notify: make(chan struct{}, 1)}
}

// add notes d, widening the range of a table already noted.
func (ds *damageSet) add(d Damage) {
	ds.blocks.note(d.File, d.Cause)
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.repairing[d.File] || ds.excised[d.File] {
		return // the repair's own reads of the table, or reads that began before it
	}
	if old, ok := ds.byFile[d.File]; ok {
		if bytes.Compare(d.Start, old.Start) > 0 {
			d.Start = old.Start
		}
		if bytes.Compare(d.End, old.End) < 0 {
			d.End = old.End
		}
		d.Cause = old.Cause
	} else {
		if len(ds.byFile) >= maxDamage {
			return
		}
		ds.n.Add(1)
	}
	ds.byFile[d.File] = d
	select {
	case ds.notify <- struct{}{}:
	default:
	}
}

// onCorruption is Pebble's DataCorruption event.
func (ds *damageSet) onCorruption(info pebble.DataCorruptionInfo) {
	if len(info.Bounds.Start) == 0 && len(info.Bounds.End.Key) == 0 {
		// A blob file (Pebble reports no bounds for them): the values in
		// it are read, not compacted, so it wedges nothing; the reader
		// gets ErrCorrupt and rebuilds its pair. Later reads of the block
		// fail at once.
		ds.blocks.note(info.Path, pebbleMessage(info.Details))
		return
	}
	ds.add(Damage{Start: bytes.Clone(info.Bounds.Start), End: keySuccessor(info.Bounds.End.Key),
		File: info.Path, Cause: pebbleMessage(info.Details)})
}

// keySuccessor is the smallest key after k: an exclusive end that includes k.
func keySuccessor(k []byte) []byte { return append(bytes.Clone(k), 0) }

// Damaged returns the damaged tables not yet excised, in key order.
func (s *Store) Damaged() []Damage {
	s.damage.mu.Lock()
	defer s.damage.mu.Unlock()
	out := make([]Damage, 0, len(s.damage.byFile))
	for _, d := range s.damage.byFile {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Damage) int { return bytes.Compare(a.Start, b.Start) })
	return out
}

// DamageNoted returns a channel that receives after new damage is noted, and
// the number of damaged tables noted since Open.
func (s *Store) DamageNoted() (<-chan struct{}, int64) { return s.damage.notify, s.damage.n.Load() }

// Excise takes the key range of a damaged table out of the database. It reads
// what it can of the range first (slivers and metadata one by one, as the pair
// markers and blob records list them; every other table in order, up to a
// corrupt block), checking every value's envelope, and writes it into a new
// table that Pebble ingests in the same step as it excises the range: a crash
// leaves the range either as it was or repaired. A pair that lost a sliver is
// deleted whole; Excised lists it, and the metadata and other ranges lost, for
// the caller to rebuild. Writers wait while it runs.
func (s *Store) Excise(ctx context.Context, d Damage) (res Excised, err error) {
	res.Damage = d
	if bytes.Compare(d.Start, d.End) >= 0 {
		return res, fmt.Errorf("%w: empty damage range %x..%x", ErrInvalid, d.Start, d.End)
	}
	if err := s.enter(ctx); err != nil {
		return res, err
	}
	defer s.exit()
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.pairMu.Lock()
	defer s.pairMu.Unlock()
	defer s.gc.kick() // the pairs dropped may leave logged slivers behind
	s.damage.mu.Lock()
	s.damage.repairing[d.File] = true
	s.damage.mu.Unlock()
	defer func() {
		s.damage.mu.Lock()
		delete(s.damage.repairing, d.File)
		if err == nil {
			delete(s.damage.byFile, d.File)
			if len(s.damage.excised) >= maxDamage {
				clear(s.damage.excised)
			}
			s.damage.excised[d.File] = true
		}
		s.damage.mu.Unlock()
	}()

	fs := s.opts.FS
	path := fs.PathJoin(s.dir, fmt.Sprintf("salvage-%x.sst", d.Start[:min(len(d.Start), 8)]))
	_ = fs.Remove(path) // left by a crash
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return res, s.translate("create salvage table", nil, err)
	}
	defer func() { _ = fs.Remove(path) }()
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), s.po.MakeWriterOptions(0, s.db.TableFormat()))
	began := time.Now()
	sv := &salvager{s: s, w: w, lo: d.Start, hi: d.End, res: &res, dropped: map[PairRef]bool{}, lostMarkers: map[byte][][2][]byte{}}
	err = sv.run(ctx)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = s.translate("write salvage table", nil, cerr)
	}
	if err != nil {
		return res, err
	}
	salvaged := time.Now()
	span := pebble.KeyRange{Start: d.Start, End: d.End}
	if res.Kept > 0 {
		_, err = s.db.IngestAndExcise(ctx, []string{path}, nil, nil, span)
	} else {
		err = s.db.Excise(ctx, span)
	}
	if err != nil {
		return res, s.translate("excise", d.Start, err)
	}
	// The dropped pairs' keys outside the range: their markers, and the
	// other sliver (which would be harmless, but is dead weight).
	b := s.db.NewBatch()
	defer b.Close()
	for _, p := range res.Pairs {
		for _, k := range [][]byte{sliverKey(p.Shard, encoding.Primary, p.BlobID), sliverKey(p.Shard, encoding.Secondary, p.BlobID),
			shardPairKey(p.Shard, p.BlobID), blobShardKey(p.BlobID, p.Shard)} {
			_ = b.Delete(k, nil)
		}
	}
	if err := s.commit(b, d.Start); err != nil {
		return res, err
	}
	s.bad.forget(func(k []byte) bool { return bytes.Compare(k, d.Start) >= 0 && bytes.Compare(k, d.End) < 0 })
	for tag, spans := range sv.lostMarkers {
		if err := sv.rebuildMarkers(ctx, tag, spans); err != nil {
			return res, err
		}
	}
	s.log.Warn("damaged table excised", "file", d.File, "from", describeKey(d.Start), "to", describeKey(d.End),
		"kept", res.Kept, "kept_bytes", res.KeptBytes, "pairs_dropped", len(res.Pairs), "metadata_dropped", len(res.Metadata),
		"lost", res.Lost, "salvage_took", salvaged.Sub(began).Round(time.Millisecond), "took", time.Since(began).Round(time.Millisecond))
	return res, nil
}

// DropMetadata deletes the metadata of blob id (a copy that failed its check),
// so that it can be fetched again. Dropping absent metadata is not an error.
func (s *Store) DropMetadata(ctx context.Context, id encoding.BlobID) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	key := metadataKey(id)
	if err := s.db.Delete(key, s.wo); err != nil {
		return s.translate("delete", key, err)
	}
	s.bad.forget(func(k []byte) bool { return bytes.Equal(k, key) })
	return nil
}

// salvager copies what can be read of [lo, hi) into w, in key order.
type salvager struct {
	s       *Store
	w       *sstable.Writer
	lo, hi  []byte
	res     *Excised
	dropped map[PairRef]bool
	// lostMarkers are the ranges of pair markers that could not be read,
	// by table: rebuilt from the other table after the excision.
	lostMarkers map[byte][][2][]byte
}

// clip returns [a, b) ∩ [lo, hi).
func (sv *salvager) clip(a, b []byte) ([]byte, []byte, bool) {
	if bytes.Compare(a, sv.lo) < 0 {
		a = sv.lo
	}
	if b == nil || bytes.Compare(b, sv.hi) > 0 {
		b = sv.hi
	}
	return a, b, bytes.Compare(a, b) < 0
}

func (sv *salvager) run(ctx context.Context) error {
	// The ranges in key order: anything before the first table, each table,
	// anything after the last.
	bounds := [][]byte{{}}
	for tag := tagMetadata; tag <= tagSyncCursor; tag++ {
		bounds = append(bounds, prefix(tag))
	}
	bounds = append(bounds, prefix(tagSyncCursor+1), nil)
	for i := 0; i+1 < len(bounds); i++ {
		a, b, ok := sv.clip(bounds[i], bounds[i+1])
		if !ok {
			continue
		}
		var err error
		switch {
		case len(bounds[i]) == 2 && bounds[i][1] == tagSliver:
			err = sv.slivers(ctx, a, b)
		case len(bounds[i]) == 2 && bounds[i][1] == tagMetadata:
			err = sv.metadata(ctx, a, b)
		default:
			var resume []byte
			resume, err = sv.iterate(ctx, a, b)
			if tag := bounds[i]; resume != nil && len(tag) == 2 && (tag[1] == tagShardPair || tag[1] == tagBlobShard) {
				// Derived data: rebuilt from the other marker table below.
				sv.lostMarkers[tag[1]] = append(sv.lostMarkers[tag[1]], [2][]byte{resume, b})
				sv.res.Lost = sv.res.Lost[:len(sv.res.Lost)-1]
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keep adds a checked value to the salvage table.
func (sv *salvager) keep(key, value []byte) error {
	if err := sv.w.Set(key, value); err != nil {
		return sv.s.translate("write salvage table", key, err)
	}
	sv.res.Kept++
	sv.res.KeptBytes += int64(len(key) + len(value))
	return nil
}

// iterate copies [a, b) in order, skipping the markers of dropped pairs and
// values whose envelope fails. On a corrupt block it stops, notes the rest of
// the range as lost, and returns the key to resume at (nil when it read the
// whole range).
func (sv *salvager) iterate(ctx context.Context, a, b []byte) (resume []byte, err error) {
	it, err := sv.s.db.NewIter(&pebble.IterOptions{LowerBound: a, UpperBound: b})
	if err != nil {
		return a, sv.lost(a, b, err)
	}
	defer func() { _ = it.Close() }()
	var last []byte
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		if n++; n%ctxCheckInterval == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("store: excise: %w", ctx.Err())
		}
		key := it.Key()
		v, verr := it.ValueAndErr()
		if verr != nil {
			k := bytes.Clone(key)
			return k, sv.lost(k, b, verr)
		}
		last = append(last[:0], key...)
		if _, err := openValue(key, v); err != nil {
			continue // the rebuild of its pair or blob rewrites it
		}
		if ki, err := parseKey(key); err == nil && (ki.tag == tagShardPair || ki.tag == tagBlobShard) &&
			sv.dropped[PairRef{ki.shard, ki.blobID}] {
			continue
		}
		if err := sv.keep(key, v); err != nil {
			return nil, err
		}
	}
	if err := it.Error(); err != nil {
		from := a
		if last != nil {
			from = keySuccessor(last)
		}
		return from, sv.lost(from, b, err)
	}
	return nil, nil
}

// lost notes [a, b) as lost to err, unless err is not a corruption.
func (sv *salvager) lost(a, b []byte, err error) error {
	if !pebble.IsCorruptionError(err) && !errors.Is(err, errKnownBad) {
		return sv.s.translate("excise read", a, err)
	}
	sv.res.Lost = append(sv.res.Lost, describeKey(a)+" to "+describeKey(b)+": "+pebbleMessage(err))
	sv.res.LostRecords = sv.res.LostRecords || overlapsEventTables(a, b)
	return nil
}

// get reads a key for the salvage: its checked value, or ok = false when it is
// absent (found = false), corrupt or fails its envelope.
func (sv *salvager) get(key []byte) (v []byte, found, ok bool, err error) {
	raw, closer, err := sv.s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, false, nil
	}
	if pebble.IsCorruptionError(err) || errors.Is(err, errKnownBad) {
		return nil, true, false, nil
	}
	if err != nil {
		return nil, false, false, sv.s.translate("excise read", key, err)
	}
	defer closer.Close()
	if _, err := openValue(key, raw); err != nil {
		return nil, true, false, nil
	}
	return bytes.Clone(raw), true, true, nil
}

// metadata copies the metadata in [a, b): in order up to a corrupt block, the
// rest one by one as the blob records list them.
func (sv *salvager) metadata(ctx context.Context, a, b []byte) error {
	resume, err := sv.iterate(ctx, a, b)
	if err != nil || resume == nil {
		return err
	}
	sv.res.Lost = sv.res.Lost[:len(sv.res.Lost)-1] // read below, blob by blob
	lower := append(prefix(tagBlobRecord), resume[2:]...)
	err = sv.s.scan(ctx, sv.s.db, lower, prefixEnd(prefix(tagBlobRecord)), func(key, _ []byte) (bool, error) {
		id := encoding.BlobID(key[2:])
		mk := metadataKey(id)
		if bytes.Compare(mk, resume) < 0 {
			return true, nil
		}
		if bytes.Compare(mk, b) >= 0 {
			return false, nil
		}
		v, found, ok, err := sv.get(mk)
		switch {
		case err != nil:
			return false, err
		case ok:
			return true, sv.keep(mk, v)
		case found:
			sv.res.Metadata = append(sv.res.Metadata, id)
		}
		return true, nil
	})
	if errors.Is(err, ErrCorrupt) {
		sv.res.Lost = append(sv.res.Lost, describeKey(resume)+" past a corrupt blob record")
		return nil
	}
	return err
}

// slivers copies the slivers in [a, b) one by one, as the pair markers list
// them, and drops the pairs that lose one. Slivers without a marker are
// orphans and go.
func (sv *salvager) slivers(ctx context.Context, a, b []byte) error {
	first, last := uint16(0), uint16(0xffff)
	if len(a) >= 4 && a[1] == tagSliver {
		first = uint16(a[2])<<8 | uint16(a[3])
	}
	if len(b) >= 4 && b[1] == tagSliver {
		last = uint16(b[2])<<8 | uint16(b[3])
	}
	for shard := int(first); shard <= int(last); shard++ {
		// Skip to the next shard that has pairs.
		next, ok, err := sv.nextShard(ctx, uint16(shard))
		if err != nil || !ok || int(next) > int(last) {
			return err
		}
		shard = int(next)
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			p := sliverAxisPrefix(uint16(shard), axis)
			if _, _, ok := sv.clip(p, prefixEnd(p)); !ok {
				continue
			}
			if err := sv.shardAxis(ctx, uint16(shard), axis); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextShard returns the first shard from shard on that has a pair marker.
// Corrupt markers end the search.
func (sv *salvager) nextShard(ctx context.Context, shard uint16) (next uint16, ok bool, err error) {
	err = sv.s.scan(ctx, sv.s.db, shardPairPrefix(shard), prefixEnd(prefix(tagShardPair)), func(key, _ []byte) (bool, error) {
		if ki, err := parseKey(key); err == nil {
			next, ok = ki.shard, true
		}
		return false, nil
	})
	if errors.Is(err, ErrCorrupt) {
		sv.res.Lost = append(sv.res.Lost, describeKey(sliverShardPrefix(shard))+" on: pair markers unreadable: "+err.Error())
		return 0, false, nil
	}
	return next, ok, err
}

func (sv *salvager) shardAxis(ctx context.Context, shard uint16, axis encoding.Axis) error {
	page := Page{Limit: salvagePage}
	for {
		var ids []encoding.BlobID
		markers := shardPairPrefix(shard)
		err := sv.s.scan(ctx, sv.s.db, page.lowerBound(markers), prefixEnd(markers), func(key, _ []byte) (bool, error) {
			ids = append(ids, encoding.BlobID(key[4:]))
			return len(ids) < page.Limit, nil
		})
		if errors.Is(err, ErrCorrupt) {
			// The markers themselves are damaged: the pairs past this
			// point keep their slivers if they are outside the range; those
			// inside go, and the node's scan finds them missing.
			sv.res.Lost = append(sv.res.Lost, describeKey(sliverAxisPrefix(shard, axis))+" past a corrupt pair marker")
			err = nil
		}
		if err != nil {
			return err
		}
		for _, id := range ids {
			key := sliverKey(shard, axis, id)
			if bytes.Compare(key, sv.lo) < 0 || bytes.Compare(key, sv.hi) >= 0 {
				continue
			}
			ref := PairRef{shard, id}
			if sv.dropped[ref] {
				continue
			}
			v, _, ok, err := sv.get(key)
			if err != nil {
				return err
			}
			if !ok {
				sv.dropped[ref] = true
				sv.res.Pairs = append(sv.res.Pairs, ref)
				continue
			}
			if err := sv.keep(key, v); err != nil {
				return err
			}
		}
		if len(ids) < page.Limit {
			return nil
		}
		after := ids[len(ids)-1]
		page.After = &after
	}
}

// rebuildMarkers writes again the pair markers of table tag in spans, which
// the excision lost, from the other marker table: a pair whose two slivers
// are stored gets its marker back.
func (sv *salvager) rebuildMarkers(ctx context.Context, tag byte, spans [][2][]byte) error {
	other := tagBlobShard
	if tag == tagBlobShard {
		other = tagShardPair
	}
	in := func(k []byte) bool {
		for _, sp := range spans {
			if bytes.Compare(k, sp[0]) >= 0 && bytes.Compare(k, sp[1]) < 0 {
				return true
			}
		}
		return false
	}
	var refs []PairRef
	err := sv.s.scan(ctx, sv.s.db, prefix(other), prefixEnd(prefix(other)), func(key, _ []byte) (bool, error) {
		ki, err := parseKey(key)
		if err != nil {
			return true, nil
		}
		k := shardPairKey(ki.shard, ki.blobID)
		if tag == tagBlobShard {
			k = blobShardKey(ki.blobID, ki.shard)
		}
		if in(k) && !sv.dropped[PairRef{ki.shard, ki.blobID}] {
			refs = append(refs, PairRef{ki.shard, ki.blobID})
		}
		return true, nil
	})
	if err != nil {
		sv.res.Lost = append(sv.res.Lost, fmt.Sprintf("%s: rebuilding from %s: %v", tableNames[tag], tableNames[other], err))
		return nil
	}
	b := sv.s.db.NewBatch()
	defer b.Close()
	rebuilt := 0
	for _, p := range refs {
		whole := true
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			if _, _, ok, err := sv.get(sliverKey(p.Shard, axis, p.BlobID)); err != nil {
				return err
			} else if !ok {
				whole = false
			}
		}
		if !whole {
			// Half a pair: its other marker goes too, and the caller
			// rebuilds it.
			_ = b.Delete(shardPairKey(p.Shard, p.BlobID), nil)
			_ = b.Delete(blobShardKey(p.BlobID, p.Shard), nil)
			sv.res.Pairs = append(sv.res.Pairs, p)
			continue
		}
		k := shardPairKey(p.Shard, p.BlobID)
		if tag == tagBlobShard {
			k = blobShardKey(p.BlobID, p.Shard)
		}
		if err := setValue(b, k, nil); err != nil {
			return sv.s.translate("batch", k, err)
		}
		rebuilt++
	}
	sv.s.log.Warn("pair markers rebuilt after an excision", "table", tableNames[tag], "from", tableNames[other], "markers", rebuilt)
	return sv.s.commit(b, prefix(tag))
}

// Known corrupt blocks.
//
// Pebble answers every read of a block whose checksum fails by looking for a
// single flipped bit: a checksum of the whole block for each bit of its first
// 40 KiB, seconds of CPU for a block of a large sliver (minutes under the
// race detector). The salvage of a damaged table reads many keys, several of
// which may sit in one corrupt block; so once a block is known corrupt (from
// the offset and length in Pebble's error), the store's file system fails
// reads of it at once with errKnownBad, which the store reports as ErrCorrupt.

// errKnownBad is the read error of a block known to be corrupt.
var errKnownBad = errors.New("block known to be corrupt")

// blockRe finds a block's offset and length in Pebble's corruption errors
// ("block 889424/57276: crc32c checksum mismatch").
var blockRe = regexp.MustCompile(`block (\d+)/(\d+)`)

// knownBadPause is how long a read of a known corrupt block takes to fail.
const knownBadPause = 50 * time.Millisecond

// blockTrailerLen is the compression type and checksum after each block.
const blockTrailerLen = 5

// badBlocks are the known corrupt blocks by file name. It is safe for
// concurrent use.
type badBlocks struct {
	mu     sync.Mutex
	blocks map[string][][2]int64 // [offset, end)
	n      atomic.Int32
}

// note records the block named in err's message as corrupt in file path.
func (bb *badBlocks) note(path, msg string) {
	m := blockRe.FindStringSubmatch(msg)
	if m == nil {
		return
	}
	off, err1 := strconv.ParseInt(m[1], 10, 64)
	length, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	bb.mu.Lock()
	defer bb.mu.Unlock()
	if bb.blocks == nil {
		bb.blocks = map[string][][2]int64{}
	}
	name := filepath.Base(path)
	if len(bb.blocks) >= maxDamage && bb.blocks[name] == nil {
		return
	}
	r := [2]int64{off, off + length + blockTrailerLen}
	if !slices.Contains(bb.blocks[name], r) {
		bb.blocks[name] = append(bb.blocks[name], r)
		bb.n.Add(1)
	}
}

// bad reports whether [off, end) of file name overlaps a known corrupt block.
func (bb *badBlocks) bad(name string, off, end int64) bool {
	if bb.n.Load() == 0 {
		return false
	}
	bb.mu.Lock()
	defer bb.mu.Unlock()
	for _, r := range bb.blocks[name] {
		if off < r[1] && r[0] < end {
			return true
		}
	}
	return false
}

// guardFS is the store's file system: reads of known corrupt blocks fail at
// once.
type guardFS struct {
	vfs.FS
	bad *badBlocks
}

func (g *guardFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := g.FS.Open(name, opts...)
	if err != nil || !strings.HasSuffix(name, ".sst") && !strings.HasSuffix(name, ".blob") {
		return f, err
	}
	return &guardFile{File: f, name: filepath.Base(name), bad: g.bad}, nil
}

type guardFile struct {
	vfs.File
	name string
	bad  *badBlocks
}

func (f *guardFile) ReadAt(p []byte, off int64) (int, error) {
	if f.bad.bad(f.name, off, off+int64(len(p))) {
		// Pebble retries a failed compaction of an L0 table at once, for
		// ever (it only backs off from tables of other levels): the pause
		// keeps that from spinning until the table is excised.
		time.Sleep(knownBadPause)
		return 0, fmt.Errorf("%w: %s at %d", errKnownBad, f.name, off)
	}
	return f.File.ReadAt(p, off)
}
