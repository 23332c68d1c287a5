package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/walrus-go/walrus/encoding"
)

// Garbage collection of the sliver log (vlog.go).
const (
	// sliverGCDelay is how long after a deletion the background collection
	// starts: deletions come in runs (a shard moved away, an epoch's
	// expiries), collected in one pass.
	sliverGCDelay = 2 * time.Second
	// sliverGCInterval is how often the background collection runs without
	// a deletion's kick: for the garbage that pairs written again (repairs)
	// and excisions leave, which nothing kicks it for.
	sliverGCInterval = 10 * time.Minute
	// maxGCMoveBytes bounds the sliver bytes one collection moves out of
	// sparse segments (but for a first segment that alone holds more); the
	// next collection goes on.
	maxGCMoveBytes = 1 << 30
	// gcChunkBytes bounds the sliver bytes moved per batch, during which
	// pair writes wait.
	gcChunkBytes = 64 << 20
	// maxRefRetries is how often a read follows a sliver that collection
	// moved while the read was under way.
	maxRefRetries = 2
)

// SliverGC is what one collection of the sliver log did.
type SliverGC struct {
	// Segments is the number of sealed segments examined; Removed of those
	// deleted, FreedBytes their size.
	Segments, Removed int
	FreedBytes        uint64
	// Moved slivers, of MovedBytes, went from sparse segments to the active
	// one.
	Moved      int
	MovedBytes uint64
}

// CollectSlivers reclaims the space of deleted slivers in the sliver log: it
// counts each sealed segment's live bytes from the references in the
// database, removes the segments without any, and moves the live slivers of
// segments that are more than half garbage (up to maxGCMoveBytes per call)
// to the active segment, then removes those too. Segments with writes in
// flight are left for the next call. The store runs it in the background
// after deletions; Compact runs it too.
func (s *Store) CollectSlivers(ctx context.Context) (SliverGC, error) {
	if err := s.enter(ctx); err != nil {
		return SliverGC{}, err
	}
	defer s.exit()
	return s.collectSlivers(ctx)
}

type segUse struct {
	seg  *segment
	size int64
	live uint64
}

func (s *Store) collectSlivers(ctx context.Context) (SliverGC, error) {
	s.gc.mu.Lock()
	defer s.gc.mu.Unlock()
	var res SliverGC
	l := s.vlog
	cands := map[uint32]*segUse{}
	l.mu.Lock()
	for id, sg := range l.segs {
		if sg != l.active && sg.inflight == 0 {
			cands[id] = &segUse{seg: sg, size: sg.size}
		}
	}
	l.mu.Unlock()
	if len(cands) == 0 {
		return res, nil
	}
	res.Segments = len(cands)
	// A sealed segment without writes in flight gains no references: the
	// iterator, a view of the database as of now, sees all it will have.
	err := s.eachRef(ctx, func(_, _ []byte, ref sliverRef) bool {
		if u := cands[ref.seg]; u != nil {
			u.live += uint64(ref.n)
		}
		return true
	})
	if err != nil {
		return res, err
	}
	dead, sparse := planCollection(cands, maxGCMoveBytes)
	for _, u := range dead {
		s.removeSegment(u.seg)
		res.Removed++
		res.FreedBytes += uint64(u.size)
	}
	if len(sparse) == 0 {
		return res, nil
	}
	var moves []sliverMove
	err = s.eachRef(ctx, func(key, payload []byte, ref sliverRef) bool {
		if sparse[ref.seg] != nil {
			m := sliverMove{slices.Clone(key), slices.Clone(payload), ref}
			if ref.leaves != nil {
				m.ref.leaves = m.payload[refPayloadLen:] // not payload's, which is the scan's
			}
			moves = append(moves, m)
		}
		return true
	})
	if err != nil {
		return res, err
	}
	keep := map[uint32]bool{} // segments a sliver could not be moved out of
	for len(moves) > 0 {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("store: %w", err)
		}
		n, size := 0, uint64(0)
		for n < len(moves) && (n == 0 || size+uint64(moves[n].ref.n) <= gcChunkBytes) {
			size += uint64(moves[n].ref.n)
			n++
		}
		chunk := moves[:n]
		moves = moves[n:]
		moved, movedBytes, err := s.moveSlivers(chunk, keep)
		res.Moved += moved
		res.MovedBytes += movedBytes
		if err != nil {
			return res, err
		}
	}
	for id, u := range sparse {
		if !keep[id] {
			s.removeSegment(u.seg)
			res.Removed++
			res.FreedBytes += uint64(u.size)
		}
	}
	s.log.Debug("sliver log collected", "segments", res.Segments, "removed", res.Removed, "freed_bytes", res.FreedBytes, "moved", res.Moved)
	return res, nil
}

// planCollection sorts the segments of cands, their live bytes counted, into
// those without any (dead, in id order) and those more than half garbage
// whose live slivers one collection moves: in id order, as many as fit in
// moveLimit bytes together, and the first of them whatever its size, so that
// a segment with more live bytes than the limit is not left out for good.
func planCollection(cands map[uint32]*segUse, moveLimit uint64) (dead []*segUse, sparse map[uint32]*segUse) {
	sparse = map[uint32]*segUse{}
	var budget uint64
	for _, id := range slices.Sorted(maps.Keys(cands)) {
		u := cands[id]
		data := uint64(u.size) - uint64(len(segmentHeader))
		switch {
		case u.live == 0:
			dead = append(dead, u)
		case 2*u.live < data && (len(sparse) == 0 || budget+u.live <= moveLimit):
			sparse[id] = u
			budget += u.live
		}
	}
	return dead, sparse
}

// sliverMove is a logged sliver a collection moves: its key, and the
// reference payload (and ref) the scan found under it.
type sliverMove struct {
	key, payload []byte
	ref          sliverRef
}

// moveSlivers copies the slivers of moves whose references still stand in the
// database to the active segment and commits their new references in one
// batch, with pair writes held back. A sliver that cannot be read (corrupt)
// stays where it is, and its segment is marked in keep; so are the segments
// of all of moves when the batch fails.
func (s *Store) moveSlivers(moves []sliverMove, keep map[uint32]bool) (int, uint64, error) {
	s.pairMu.Lock()
	defer s.pairMu.Unlock()
	w := &logWriter{l: s.vlog}
	defer w.done()
	b := s.db.NewBatch()
	defer b.Close()
	moved, movedBytes := 0, uint64(0)
	err := func() error {
		for _, m := range moves {
			cur, err := s.get(s.db, m.key)
			if errors.Is(err, ErrNotFound) || (err == nil && !bytes.Equal(cur, m.payload)) {
				continue // deleted or rewritten since the scan
			}
			if err != nil {
				keep[m.ref.seg] = true // the reference unreadable: left as it is
				continue
			}
			data, err := s.vlog.read(m.ref)
			if err != nil {
				// Rot: the reference stays, so that a read reports it and
				// the node repairs the pair, which writes it anew.
				keep[m.ref.seg] = true
				continue
			}
			// read checked data against the reference's CRC: it is the sum.
			nref, err := w.write(&encoding.Sliver{Data: data, SymbolSize: m.ref.symbolSize, Index: m.ref.index}, &m.ref.crc, m.ref.leaves)
			if err != nil {
				return err
			}
			setRef(b, m.key, &nref)
			moved++
			movedBytes += uint64(m.ref.n)
		}
		if err := w.sync(); err != nil {
			return err
		}
		if b.Empty() {
			return nil
		}
		return s.commit(b, prefix(tagSliver))
	}()
	if err != nil {
		for _, m := range moves {
			keep[m.ref.seg] = true
		}
		return 0, 0, err
	}
	return moved, movedBytes, nil
}

// eachRef calls fn with each sliver reference in the database (key and
// payload valid during the call only), until fn returns false. Values whose
// envelope fails are skipped: their slivers are unreadable anyway, and the
// node rewrites them.
func (s *Store) eachRef(ctx context.Context, fn func(key, payload []byte, ref sliverRef) bool) error {
	lo := prefix(tagSliver)
	return s.scanRaw(ctx, s.db, lo, prefixEnd(lo), func(key, v []byte) (bool, error) {
		p, err := openValue(key, v)
		if err != nil || !isRef(p) {
			return true, nil
		}
		ref, err := parseRef(p)
		if err != nil {
			return true, nil
		}
		return fn(key, p, ref), nil
	})
}

// removeSegment takes sg out of the log and deletes its file; reads in
// progress finish on their open file.
func (s *Store) removeSegment(sg *segment) {
	l := s.vlog
	l.mu.Lock()
	if l.segs[sg.id] != sg {
		l.mu.Unlock()
		return
	}
	delete(l.segs, sg.id)
	if sg.f != nil {
		l.open-- // closed by the last release
	}
	l.mu.Unlock()
	if err := l.fs.Remove(l.fs.PathJoin(l.dir, segmentName(sg.id))); err != nil {
		s.log.Warn("sliver log: remove segment", "segment", sg.id, "err", err.Error())
	}
	sg.release()
}

// openSliver decodes the sliver payload p read under key: an inline sliver
// (copied when alias says p is the database's memory) or a logged one, read
// from the log and checked (followRef).
func (s *Store) openSliver(axis encoding.Axis, key, p []byte, alias bool) (encoding.Sliver, error) {
	var sl encoding.Sliver
	inline, fresh, err := s.followRef(key, p, func(ref sliverRef) error {
		data, err := s.vlog.read(ref)
		sl = encoding.Sliver{Axis: axis, Data: data, SymbolSize: ref.symbolSize, Index: ref.index}
		return err
	})
	if err != nil || inline == nil {
		return sl, err
	}
	if alias && !fresh {
		inline = slices.Clone(inline)
	}
	if sl, err = encoding.UnmarshalSliver(axis, inline); err != nil {
		return encoding.Sliver{}, s.corrupt(key, err)
	}
	return sl, nil
}

// followRef calls read with the reference in the payload p read under key.
// A reference whose segment a collection removed meanwhile is looked up
// again (the sliver moved, or was deleted: ErrNotFound), up to
// maxRefRetries times. If the payload holds an inline sliver, read is not
// called and followRef returns it, fresh if it is not p but a payload looked
// up anew. read's ErrIO and ErrInvalid are returned as such; its other errors
// mean the sliver is corrupt.
func (s *Store) followRef(key, p []byte, read func(sliverRef) error) (inline []byte, fresh bool, err error) {
	for attempt := 0; ; attempt++ {
		if !isRef(p) {
			return p, attempt > 0, nil
		}
		ref, err := parseRef(p)
		if err != nil {
			return nil, false, s.corrupt(key, err)
		}
		err = read(ref)
		switch {
		case err == nil:
			return nil, false, nil
		case errors.Is(err, ErrInvalid):
			return nil, false, err
		case errors.Is(err, ErrIO):
			return nil, false, fmt.Errorf("%s: %w", describeKey(key), err)
		case !errors.Is(err, errSegmentGone) || attempt == maxRefRetries:
			return nil, false, s.corrupt(key, err)
		}
		cur, gerr := s.get(s.db, key)
		if gerr != nil {
			return nil, false, gerr // ErrNotFound: deleted meanwhile
		}
		if bytes.Equal(cur, p) {
			return nil, false, s.corrupt(key, err) // the segment is lost
		}
		p = cur
	}
}

// collector runs CollectSlivers in the background: sliverGCDelay after a
// deletion (or an excision) kicks it, once after Open for what a crash left,
// and every sliverGCInterval.
type collector struct {
	mu    sync.Mutex // one collection at a time
	kickc chan struct{}
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
}

func startCollector(s *Store) *collector {
	c := &collector{kickc: make(chan struct{}, 1), stopc: make(chan struct{}), done: make(chan struct{})}
	c.kick()
	go c.loop(s)
	return c
}

func (c *collector) kick() {
	select {
	case c.kickc <- struct{}{}:
	default:
	}
}

func (c *collector) stop() {
	c.once.Do(func() { close(c.stopc) })
	<-c.done
}

func (c *collector) loop(s *Store) {
	defer close(c.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-c.stopc
		cancel()
	}()
	t := time.NewTimer(0)
	<-t.C
	tick := time.NewTicker(sliverGCInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stopc:
			return
		case <-c.kickc:
		case <-tick.C:
		}
		t.Reset(sliverGCDelay)
		select {
		case <-c.stopc:
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := s.CollectSlivers(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			s.log.Warn("sliver log collection failed", "err", err.Error())
		}
	}
}
