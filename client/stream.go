package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// Defaults of the streamed read (Config.ReadWindow, Config.HedgeDelay).
const (
	// DefaultReadWindow bounds the sliver bytes one streamed read holds at
	// once: rows asked for, and rows verified but not yet written. Recovery
	// symbols (a row whose node failed) are bounded by it too.
	DefaultReadWindow = 32 << 20
	// DefaultHedgeDelay is how long a streamed read waits for a node's
	// slivers, at least, before it also rebuilds them from the other nodes'
	// recovery symbols: a silent node costs a read about this delay, not a
	// request timeout. A request is also given the time to move the bytes
	// in flight when it started at hedgeRate, and hedgeFactor times the
	// slowest request of the read that completed, so that a loaded machine
	// or network does not hedge every request (a rebuilt row costs the
	// nodes more than a served one).
	DefaultHedgeDelay = 2 * time.Second
	// hedgeRate is the slowest transfer rate (bytes per second) a request
	// is given before it is hedged.
	hedgeRate = 8 << 20
	// hedgeFactor times the slowest completed request of a read is the
	// least a request of it waits before it is hedged.
	hedgeFactor = 4
	// readBatchBytes is how many sliver bytes of one node a streamed read
	// asks for in one request (at least one sliver): small blobs take one
	// request per node, large ones one request per row, so rows arrive in
	// order and the window is spent on the rows next to be written.
	readBatchBytes = 1 << 20
	// warmBlobSize is the size from which opening a blob builds the
	// codec's Reed-Solomon tables at once, in the background: about 150 ms
	// of one core, once per process, that verifying the rows of a blob this
	// large needs anyway (a smaller one verifies with encoding's table-free
	// encoder). Started with the metadata, it runs while the first rows are
	// fetched instead of after they arrive.
	warmBlobSize = 4 << 20
	// DefaultSymbolReadMinRow is the row size from which a range read asks the
	// node holding a row it covers only in part for the symbols that hold
	// the range, with their Merkle proofs (symbols/get), instead of the
	// whole row, when those symbols are at most half of it: a 1 MB range of
	// a 140 MB blob then moves about 1 MB instead of one or two 4.1 MB rows,
	// and the reader hashes those bytes instead of expanding the rows.
	DefaultSymbolReadMinRow = 1 << 20
)

// ErrRangeNotSatisfiable is returned by Blob.StreamRange for a range that
// does not lie within the blob.
var ErrRangeNotSatisfiable = errors.New("client: byte range not satisfiable")

// Blob is a blob opened for reading: its metadata, verified against its
// ID, and what a read needs to fetch its rows. It is safe for concurrent
// use; each stream fetches its own rows.
type Blob struct {
	c      *Client
	v      *view
	id     encoding.BlobID
	md     *encoding.Metadata
	lied   *liars
	s      int // symbol size
	rowLen int // bytes of one systematic primary sliver: cols·s
	size   int64

	progress func(Progress)
	fetched  atomic.Int64
	// warm is closed once the codec's Reed-Solomon tables are built, for
	// a blob of warmBlobSize bytes or more (nil for a smaller one).
	warm <-chan struct{}
}

// Open checks blob id's status on chain (unless opts.SkipChainCheck) and
// fetches its metadata from the first node whose answer verifies against
// the blob ID; the two run at once, and the chain's answer decides when it
// refuses the blob. It fetches no sliver: Size and Metadata need none, so an
// HTTP HEAD costs a metadata request. A blob of warmBlobSize bytes or more
// starts building the codec's Reed-Solomon tables in the background
// (encoding.Codec.Warm, once per process), while its first rows are on the
// way. Errors are those of Read. opts.Strict does not apply to a Blob's
// streams (see StreamRange).
func (c *Client) Open(ctx context.Context, id encoding.BlobID, opts ReadOptions) (*Blob, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	var chainErr chan error
	if !opts.SkipChainCheck {
		chainErr = make(chan error, 1)
		go func() { chainErr <- c.checkReadable(ctx, id) }()
	}
	lied := newLiars()
	md, err := c.metadata(ctx, v, id, lied)
	if chainErr != nil {
		if cerr := <-chainErr; cerr != nil {
			return nil, cerr
		}
	}
	if err != nil {
		return nil, err
	}
	params := v.codec.Params()
	s, err := params.SymbolSize(md.UnencodedLength)
	if err != nil {
		return nil, fmt.Errorf("client: blob %s: %w", id, err)
	}
	if md.UnencodedLength > v.codec.MaxBlobSize() {
		return nil, fmt.Errorf("%w: blob %s is %d bytes, this client reads at most %d", ErrBlobTooLarge, id, md.UnencodedLength, v.codec.MaxBlobSize())
	}
	b := &Blob{c: c, v: v, id: id, md: md, lied: lied, s: s, rowLen: params.Cols * s,
		size: int64(md.UnencodedLength), progress: opts.Progress}
	if md.UnencodedLength >= warmBlobSize {
		b.warm = v.warm()
	}
	return b, nil
}

// warm starts building v's codec tables, once, and returns a channel
// closed when they are built.
func (v *view) warm() <-chan struct{} {
	v.warmOnce.Do(func() {
		done := make(chan struct{})
		v.warmed = done
		go func() {
			v.codec.Warm()
			close(done)
		}()
	})
	return v.warmed
}

// ID returns the blob's ID.
func (b *Blob) ID() encoding.BlobID { return b.id }

// Size returns the blob's length in bytes, from its verified metadata.
func (b *Blob) Size() int64 { return b.size }

// Metadata returns the blob's verified metadata. The caller must not
// modify it.
func (b *Blob) Metadata() *encoding.Metadata { return b.md }

// RowSize returns the bytes of blob that one systematic primary sliver
// (one row of the blob) holds: the granularity of a range read.
func (b *Blob) RowSize() int { return b.rowLen }

// FetchedBytes returns the sliver and recovery-symbol bytes that this
// Blob's streams have received from nodes so far.
func (b *Blob) FetchedBytes() int64 { return b.fetched.Load() }

// Stream writes the whole blob to w; see StreamRange.
func (b *Blob) Stream(ctx context.Context, w io.Writer) (int64, error) {
	return b.StreamRange(ctx, w, 0, b.size)
}

// StreamRange writes bytes [start, start+length) of the blob to w, in
// order, as the rows that hold them arrive and verify. Row r of the blob is
// systematic primary sliver r, so it asks only for the rows that cover the
// range, from the nodes holding them (one request per row for large blobs,
// one per node for small ones), with at most Config.ReadWindow bytes asked
// for or waiting to be written (two rows at first, doubling with each row
// written, so that the first row arrives early). A row of
// Config.SymbolReadMinRow bytes or more that the range covers at most half of is read as the
// symbols that hold the range, each verified by its Merkle proof against the
// row's hash (see the package doc on consistency). Each row is verified
// against its hash in the metadata before a byte of it is written; a node that fails or lies
// (logged with its peer ID, not asked again during this Blob's reads) or
// stays silent for Config.HedgeDelay has its rows rebuilt from the other
// nodes' recovery symbols, which are verified against their slivers'
// hashes, and the rebuilt row against its own. The bytes written are thus
// those of encoding.CheckDefault: every reader gets the bytes the
// systematic slivers commit to. (CheckStrict re-encodes the whole blob and
// cannot stream; Client.Read with ReadOptions.Strict does that.)
//
// On an error some of the range may have been written: every byte written
// is verified, but the range is incomplete. A range outside the blob is
// ErrRangeNotSatisfiable, and nothing is fetched.
func (b *Blob) StreamRange(ctx context.Context, w io.Writer, start, length int64) (int64, error) {
	if start < 0 || length < 0 || start > b.size || length > b.size-start {
		return 0, fmt.Errorf("%w: bytes [%d, %d+%d) of a blob of %d bytes", ErrRangeNotSatisfiable, start, start, length, b.size)
	}
	if length == 0 {
		return 0, nil
	}
	r0 := int(start / int64(b.rowLen))
	r1 := int((start + length - 1) / int64(b.rowLen))
	st := &streamer{b: b, r0: r0, rows: make([]rowSlot, r1-r0+1)}
	return st.run(ctx, w, start, length)
}

// rowSlot is one row of a streamed range.
type rowSlot struct {
	data       []byte // verified, until written
	off        int64  // of data in the row: a symbol read's first symbol
	done       bool
	reserved   int64 // bytes counted in the window: a row, or a symbol read's symbols
	fetching   bool  // asked of its node, no answer yet
	recovering bool  // queued for or in a recovery
}

// fetchTask is one GetSlivers request of a streamed read: member's
// primary slivers of rows (blob rows, ascending).
type fetchTask struct {
	member int
	rows   []int
	// first and count, if count > 0, make the task a symbol read: symbols
	// [first, first+count) of its one row (symbols/get).
	first, count int
	started      time.Time
	allow        time.Duration // before it is hedged, given what was in flight
	hedged       bool
	running      bool // asked, not answered
}

// cost is the bytes t asks for: its rows of rowLen bytes, or its symbols
// of s bytes.
func (t *fetchTask) cost(rowLen, s int64) int64 {
	if t.count > 0 {
		return int64(t.count) * s
	}
	return int64(len(t.rows)) * rowLen
}

// streamEvent is what a fetch or a recovery goroutine reports.
type streamEvent struct {
	task *fetchTask // nil for a recovery
	// arrived reports that task's answer arrived (err is the request's),
	// before its rows are verified (a second event follows with them).
	arrived bool
	rows    []int
	data    [][]byte // data[k] is row rows[k], verified; nil if it failed
	off     int64    // of data[k] in its row (a symbol read's)
	// errs[k] is why row rows[k] failed (fetches); err fails a recovery.
	errs []error
	err  error
}

type streamer struct {
	b    *Blob
	r0   int
	rows []rowSlot

	held     int64 // bytes reserved by rows
	arrived  int   // rows whose fetch answered
	failed   map[int]error
	slow     map[int]bool // members with a hedged request
	recQueue []int
}

func (st *streamer) slot(r int) *rowSlot { return &st.rows[r-st.r0] }

// tasks groups the rows by the member holding them, in row order, at
// most readBatchBytes (and MaxSliversPerRequest) per request, ordered by
// first row.
func (st *streamer) tasks(start, length int64) []*fetchTask {
	b := st.b
	n := b.v.codec.Params().N
	owner := b.v.committee.ShardOwners()
	per := readBatchBytes / b.rowLen
	per = max(1, min(per, p2p.MaxSliversPerRequest))
	open := make(map[int]*fetchTask)
	var out []*fetchTask
	for k := range st.rows {
		r := st.r0 + k
		m := owner[b.id.ShardForPair(r, n)]
		if first, count, ok := st.symbolRead(r, start, length); ok {
			out = append(out, &fetchTask{member: m, rows: []int{r}, first: first, count: count})
			continue
		}
		t := open[m]
		if t == nil || len(t.rows) >= per {
			t = &fetchTask{member: m}
			open[m] = t
			out = append(out, t)
		}
		t.rows = append(t.rows, r)
	}
	return out
}

func (st *streamer) run(ctx context.Context, w io.Writer, start, length int64) (int64, error) {
	b := st.b
	c := b.c
	window := c.cfg.ReadWindow
	rowLen := int64(b.rowLen)
	tasks := st.tasks(start, length)
	st.failed = make(map[int]error)
	st.slow = make(map[int]bool)
	st.failed[-1] = errors.New("client: no committee member holds the shard")
	for i, p := range b.v.peers {
		if p == "" {
			st.failed[i] = errBadPeerID
		} else if err := b.lied.lie(p); err != nil {
			st.failed[i] = err
		}
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // cancel first: a silent node's request ends now
	events := make(chan streamEvent, 2*len(tasks)+1)
	send := func(ev streamEvent) {
		select {
		case events <- ev:
		case <-sctx.Done():
		}
	}

	// reserve counts bytes of row r in the window: the whole row unless
	// it is read as symbols (those, until it goes to a recovery).
	reserve := func(r int, bytes int64) {
		if s := st.slot(r); s.reserved < bytes {
			st.held += bytes - s.reserved
			s.reserved = bytes
		}
	}
	toRecovery := func(r int) {
		s := st.slot(r)
		if s.done || s.recovering {
			return
		}
		reserve(r, rowLen)
		s.recovering = true
		st.recQueue = append(st.recQueue, r)
	}
	size, err := p2p.SliverSize(b.md, encoding.Primary)
	if err != nil {
		return 0, fmt.Errorf("client: blob %s: %w", b.id, err)
	}
	startFetch := func(t *fetchTask) {
		if t.count > 0 {
			st.startSymbolRead(sctx, t, &wg, send, reserve)
			return
		}
		for _, r := range t.rows {
			reserve(r, rowLen)
			st.slot(r).fetching = true
		}
		t.started, t.running = time.Now(), true
		t.allow = c.cfg.HedgeDelay + time.Duration(st.held*int64(time.Second)/hedgeRate) // held includes t's rows
		idx := make([]uint16, len(t.rows))
		for k, r := range t.rows {
			idx[k] = uint16(r)
		}
		p := b.v.peers[t.member]
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := c.p2p.GetSlivers(sctx, p, b.id, encoding.Primary, idx, size)
			send(streamEvent{task: t, arrived: true, err: err})
			if ev, ok := st.verified(sctx, t, out, err); ok {
				send(ev)
			}
		}()
	}
	recovering := false
	maxTargets := st.maxRecoveryTargets()
	startRecovery := func() {
		slices.Sort(st.recQueue)
		k := min(len(st.recQueue), maxTargets)
		rows := slices.Clone(st.recQueue[:k])
		st.recQueue = st.recQueue[k:]
		var members []int
		for i := range b.v.committee.Members {
			if _, bad := st.failed[i]; !bad {
				members = append(members, i)
			}
		}
		recovering = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(st.recover(sctx, rows, members))
		}()
	}

	var written int64
	var slowest time.Duration // of the requests that completed
	cursor, next, inflight := st.r0, 0, 0
	end := st.r0 + len(st.rows)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	report(b.progress, "read", 0, int64(len(st.rows)))
	for cursor < end {
		// Write out the verified rows at the cursor.
		for cursor < end && st.slot(cursor).done {
			s := st.slot(cursor)
			lo, hi := int64(cursor)*rowLen, int64(cursor+1)*rowLen
			lo, hi = max(lo, start), min(hi, start+length)
			row := s.data
			data := row[lo-int64(cursor)*rowLen-s.off : hi-int64(cursor)*rowLen-s.off]
			s.data = nil
			st.held -= s.reserved
			n, err := w.Write(data)
			written += int64(n)
			if err != nil {
				return written, err
			}
			// Write keeps no reference (io.Writer), and nothing else
			// holds the row: its buffer serves the next rows' frames (a
			// row GetSlivers did not read is ignored).
			p2p.RecycleSliver(row)
			cursor++
			report(b.progress, "read", int64(cursor-st.r0), int64(len(st.rows)))
		}
		if cursor == end {
			break
		}
		// Ask for the next rows while the window allows (always for the
		// task holding the cursor's row).
		for next < len(tasks) {
			t := tasks[next]
			cost := t.cost(rowLen, int64(b.s))
			// Slow start: two rows' worth at first, doubling with each
			// row that arrives, so the first rows get the links and
			// cores to themselves and the first byte leaves early, and
			// rows are fetched while earlier ones are verified (or wait
			// for the codec's tables, the first large read of a
			// process). (Not below 2·readBatchBytes: a small blob is
			// asked of all its nodes at once.)
			grown := max(cursor-st.r0, st.arrived)
			limit := min(window, max(2*readBatchBytes, rowLen<<min(grown+1, 30)))
			if st.held+cost > limit && t.rows[0] > cursor {
				break
			}
			next++
			if _, bad := st.failed[t.member]; bad || st.slow[t.member] {
				for _, r := range t.rows {
					toRecovery(r)
				}
				continue
			}
			startFetch(t)
			inflight++
		}
		if !recovering && len(st.recQueue) > 0 {
			startRecovery()
		}
		if inflight == 0 && !recovering {
			// Cannot happen: every row not done is fetched or recovered.
			return written, fmt.Errorf("client: blob %s: streamed read stalled at row %d", b.id, cursor)
		}
		// Hedge the oldest unhedged request when it is overdue.
		var due time.Time
		var overdue *fetchTask
		for _, t := range tasks[:next] {
			if !t.running || t.hedged {
				continue
			}
			d := t.started.Add(max(t.allow, hedgeFactor*slowest))
			if overdue == nil || d.Before(due) {
				due, overdue = d, t
			}
		}
		if overdue != nil {
			timer.Reset(time.Until(due))
		} else {
			timer.Reset(time.Hour)
		}
		var ev streamEvent
		select {
		case ev = <-events:
		case <-timer.C:
			if overdue == nil {
				continue
			}
			overdue.hedged = true
			if !st.slow[overdue.member] {
				c.log.Warn("storage node is slow; rebuilding its rows from the others", "blob_id", b.id,
					"peer", b.v.peers[overdue.member], "node", b.v.committee.Members[overdue.member].Name, "after", time.Since(overdue.started).Round(time.Millisecond))
			}
			st.slow[overdue.member] = true
			for _, r := range overdue.rows {
				toRecovery(r)
			}
			continue
		case <-ctx.Done():
			return written, ctx.Err()
		}
		if ev.arrived {
			// Answered: no longer hedged, and timed without the wait
			// for the codec's tables.
			t := ev.task
			t.running = false
			if ev.err == nil {
				slowest = max(slowest, time.Since(t.started))
			}
			st.arrived += len(t.rows)
			continue
		}
		if ev.task == nil {
			recovering = false
			if ev.err != nil {
				// The read fails unless every row of the recovery is in,
				// or still asked of its (slow) node.
				lost := false
				for _, r := range ev.rows {
					s := st.slot(r)
					s.recovering = false
					lost = lost || (!s.done && !s.fetching)
				}
				if !lost {
					continue
				}
				// More than f shards' nodes failed: rebuilding a row needs
				// n − f symbols of it, decoding the blob only rows primary
				// slivers. Decode the whole blob (the one read that holds
				// it) and serve the rest of the range from it.
				if !errors.Is(ev.err, ErrNotEnoughSlivers) {
					return written, ev.err
				}
				c.log.Info("too few nodes to rebuild rows; decoding the whole blob", "blob_id", b.id, "err", ev.err)
				blob, err := st.decodeAll(ctx)
				if err != nil {
					return written, err
				}
				for r := cursor; r < end; r++ {
					if s := st.slot(r); !s.done {
						s.done, s.data = true, blob[int64(r)*rowLen:min(int64(r+1)*rowLen, int64(len(blob)))]
						s.recovering = false
						reserve(r, rowLen)
					}
				}
				st.recQueue = st.recQueue[:0]
				continue
			}
			for k, r := range ev.rows {
				if s := st.slot(r); !s.done {
					s.done, s.data = true, ev.data[k]
				}
			}
			continue
		}
		t := ev.task
		inflight--
		var bad error
		for k, r := range ev.rows {
			st.slot(r).fetching = false
			if ev.data[k] != nil {
				if s := st.slot(r); !s.done {
					s.done, s.data, s.off = true, ev.data[k], ev.off
				}
				continue
			}
			if bad == nil || isLie(ev.errs[k]) {
				bad = ev.errs[k]
			}
			toRecovery(r)
		}
		if bad == nil {
			bad = ev.err
		}
		p := b.v.peers[t.member]
		switch {
		case bad == nil:
			c.markHealthy(p)
			delete(st.slow, t.member) // slow, not silent: ask it again
		case isLie(bad):
			c.caught(b.lied, b.v, t.member, b.id, bad)
			st.failed[t.member] = bad
		default:
			if !errors.Is(bad, context.Canceled) {
				c.markFailed(p)
			}
			st.failed[t.member] = bad
		}
	}
	return written, nil
}

// symbolRead reports whether row r of a range [start, start+length) is read
// as symbols [first, first+count) of its primary sliver: the range covers
// at most half of a row of Config.SymbolReadMinRow bytes or more.
func (st *streamer) symbolRead(r int, start, length int64) (first, count int, ok bool) {
	b := st.b
	rowLen := int64(b.rowLen)
	if m := b.c.cfg.SymbolReadMinRow; m < 0 || rowLen < int64(m) {
		return 0, 0, false
	}
	lo, hi := max(int64(r)*rowLen, start), min(int64(r+1)*rowLen, start+length)
	first = int((lo - int64(r)*rowLen) / int64(b.s))
	last := int((hi - 1 - int64(r)*rowLen) / int64(b.s))
	count = last - first + 1
	if int64(count*b.s)*2 > rowLen {
		return 0, 0, false
	}
	return first, count, true
}

// startSymbolRead starts symbol read t: its row's symbols from the node
// holding it, each verified against the row's hash in the metadata by its
// Merkle proof, so every byte written is one the row's hash commits to
// (leaf j of the row's tree). A node that does not serve symbols/get is
// asked for the whole row instead.
func (st *streamer) startSymbolRead(ctx context.Context, t *fetchTask, wg *sync.WaitGroup, send func(streamEvent), reserve func(int, int64)) {
	b := st.b
	c := b.c
	r := t.rows[0]
	reserve(r, t.cost(int64(b.rowLen), int64(b.s)))
	st.slot(r).fetching = true
	t.started, t.running = time.Now(), true
	t.allow = c.cfg.HedgeDelay + time.Duration(st.held*int64(time.Second)/hedgeRate)
	positions := make([]uint16, t.count)
	for k := range positions {
		positions[k] = uint16(t.first + k)
	}
	p := b.v.peers[t.member]
	wg.Add(1)
	go func() {
		defer wg.Done()
		ev := streamEvent{task: t, rows: t.rows, data: make([][]byte, 1), errs: make([]error, 1), off: int64(t.first * b.s)}
		syms, err := c.p2p.GetSymbols(ctx, p, b.id, encoding.Primary, uint16(r), positions, b.s)
		if errors.Is(err, p2p.ErrNotSupported) {
			st.wholeRow(ctx, t, p, send)
			return
		}
		send(streamEvent{task: t, arrived: true, err: err})
		ev.err = err
		if err == nil {
			for k := range syms {
				b.fetched.Add(int64(len(syms[k].Data)))
			}
			if k, verr := b.v.codec.VerifyRecoverySymbols(b.md, syms); verr != nil {
				ev.errs[0] = fmt.Errorf("%w: primary sliver %d: %s: %w", errUnverified, r, symbolName(syms, k), verr)
			} else {
				data := make([]byte, t.count*b.s)
				for k := range syms {
					copy(data[k*b.s:], syms[k].Data)
				}
				ev.data[0] = data
			}
		}
		send(ev)
	}()
}

// symbolName names syms[k] in an error of VerifyRecoverySymbols (k < 0:
// no one symbol).
func symbolName(syms []encoding.RecoverySymbol, k int) string {
	if k < 0 || k >= len(syms) {
		return "symbols"
	}
	return fmt.Sprintf("symbol (%s %d, target %d)", syms[k].SourceAxis, syms[k].SourceIndex, syms[k].TargetIndex)
}

// wholeRow reads t's one row as a whole primary sliver from p, for a symbol
// read that p does not serve.
func (st *streamer) wholeRow(ctx context.Context, t *fetchTask, p peer.ID, send func(streamEvent)) {
	b := st.b
	out, err := b.c.p2p.GetSlivers(ctx, p, b.id, encoding.Primary, []uint16{uint16(t.rows[0])}, b.rowLen)
	send(streamEvent{task: t, arrived: true, err: err})
	if ev, ok := st.verified(ctx, t, out, err); ok {
		send(ev)
	}
}

// verified verifies the slivers of t's rows that a GetSlivers answered (err
// its error) and returns the event that reports them; false if ctx ended
// first. It verifies with the codec's tables: while they are built (once
// per process), encoding's table-free encoder would take the cores from
// them and from the fetches.
func (st *streamer) verified(ctx context.Context, t *fetchTask, out []p2p.SliverResult, err error) (streamEvent, bool) {
	b := st.b
	if b.warm != nil {
		select {
		case <-b.warm:
		case <-ctx.Done():
			return streamEvent{}, false
		}
	}
	ev := streamEvent{task: t, rows: t.rows, data: make([][]byte, len(t.rows)), errs: make([]error, len(t.rows)), err: err}
	for k, sr := range out {
		if k >= len(t.rows) {
			break
		}
		if sr.Err != nil {
			ev.errs[k] = sr.Err
			continue
		}
		sl := sr.Sliver
		sl.Axis = encoding.Primary
		b.fetched.Add(int64(len(sl.Data)))
		if err := b.c.verifySliver(ctx, b.v, b.md, &sl); err != nil {
			ev.errs[k] = fmt.Errorf("%w: primary sliver %d: %w", errUnverified, sl.Index, err)
			continue
		}
		ev.data[k] = sl.Data
	}
	return ev, true
}

// verifySliver verifies sl against md, at most GOMAXPROCS at once in the
// client: verifying is CPU-bound, so more at once only holds more scratch
// memory (a row's n symbols each; a burst of rows that waited for the
// codec's tables took 100 MB for a 64 MiB blob).
func (c *Client) verifySliver(ctx context.Context, v *view, md *encoding.Metadata, sl *encoding.Sliver) error {
	select {
	case c.verifying <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.verifying }()
	return v.codec.VerifySliver(md, sl)
}

// decodeAll reads the whole blob the way a strict read does (rows verified
// primary slivers, any of them), decodes it and checks it with
// encoding.CheckDefault: every decoded systematic row against its hash.
func (st *streamer) decodeAll(ctx context.Context) ([]byte, error) {
	b := st.b
	slivers, err := b.c.primarySlivers(ctx, b.v, b.id, b.md, nil, b.lied)
	if err != nil {
		return nil, err
	}
	for i := range slivers {
		b.fetched.Add(int64(len(slivers[i].Data)))
	}
	blob, err := b.v.codec.Decode(b.md, slivers, encoding.CheckDefault)
	if err != nil {
		return nil, fmt.Errorf("client: decoding blob %s: %w", b.id, err)
	}
	return blob, nil
}

// maxRecoveryTargets bounds the rows one recovery rebuilds so that the
// symbols it receives (about n per row, with proofs) stay within half the
// read window and each node's answer within MaxRecoveryFrameSize.
func (st *streamer) maxRecoveryTargets() int {
	b := st.b
	n := b.v.codec.Params().N
	perRow := int64(n) * int64(b.s+recoveryProofBytes)
	k := min(int64(p2p.MaxRecoveryTargets), max(1, b.c.cfg.ReadWindow/2/perRow), max(1, int64(p2p.MaxRecoveryFrameSize)/perRow))
	return int(k)
}

// recoveryProofBytes is a generous size of one recovery symbol's framing
// and Merkle proof (at most 16 hashes).
const recoveryProofBytes = 16*32 + 64

// recover rebuilds primary slivers rows from the recovery symbols of
// members (each verified against the metadata; a member that sends one that
// does not verify is caught lying and its symbols dropped). It asks all of
// them at once and stops as soon as every row has cols verified symbols, so
// a silent member does not hold it up; each rebuilt row is checked against
// its hash (RecoverSliver).
func (st *streamer) recover(ctx context.Context, rows []int, members []int) streamEvent {
	b := st.b
	c := b.c
	params := b.v.codec.Params()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idx := make([]uint16, len(rows))
	for k, r := range rows {
		idx[k] = uint16(r)
	}
	type answer struct {
		member int
		syms   []encoding.RecoverySymbol
		err    error
	}
	answers := make(chan answer, len(members))
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // cancel first: a silent node's request ends now
	for _, m := range members {
		p := b.v.peers[m]
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A node answers from every secondary sliver it holds: during an
			// epoch change also those of shards it hands over, so the bound
			// is n (as the node's own recovery), not its shards this epoch.
			syms, err := c.p2p.GetRecoverySymbols(rctx, p, b.id, encoding.Primary, idx, b.s, params.N)
			for i := range syms {
				b.fetched.Add(int64(len(syms[i].Data)))
			}
			if err == nil {
				if i, verr := b.v.codec.VerifyRecoverySymbols(b.md, syms); verr != nil {
					err = fmt.Errorf("%w: recovery %s: %w", errUnverified, symbolName(syms, i), verr)
				}
			}
			if err != nil {
				syms = nil
			}
			answers <- answer{m, syms, err}
		}()
	}
	pos := make(map[int]int, len(rows))
	for k, r := range rows {
		pos[r] = k
	}
	got := make([][]encoding.RecoverySymbol, len(rows))
	seen := make([]map[uint16]bool, len(rows))
	for k := range seen {
		seen[k] = make(map[uint16]bool)
	}
	var failures []NodeFailure
	complete := func() bool {
		for k := range rows {
			if len(seen[k]) < params.Cols {
				return false
			}
		}
		return true
	}
	for range members {
		var a answer
		select {
		case a = <-answers:
		case <-ctx.Done():
			return streamEvent{rows: rows, err: ctx.Err()}
		}
		if a.err != nil {
			if isLie(a.err) {
				c.caught(b.lied, b.v, a.member, b.id, a.err)
			} else if !errors.Is(a.err, context.Canceled) {
				c.markFailed(b.v.peers[a.member])
			}
			failures = append(failures, failure(b.v.committee, a.member, a.err))
			continue
		}
		for _, sym := range a.syms {
			k, ok := pos[int(sym.TargetIndex)]
			if !ok || seen[k][sym.SourceIndex] {
				continue
			}
			seen[k][sym.SourceIndex] = true
			got[k] = append(got[k], sym)
		}
		if complete() {
			break
		}
	}
	cancel()
	ev := streamEvent{rows: rows, data: make([][]byte, len(rows))}
	for k, r := range rows {
		if len(seen[k]) < params.Cols {
			sortFailures(b.v.committee, failures)
			return streamEvent{rows: rows, err: &NotEnoughSliversError{BlobID: b.id, Stage: "recovery", Have: len(seen[k]), Need: params.Cols,
				Failures: failures}}
		}
		sl, err := b.v.codec.RecoverSliver(b.md, encoding.Primary, r, got[k])
		if err != nil {
			return streamEvent{rows: rows, err: fmt.Errorf("client: blob %s: rebuilding primary sliver %d: %w", b.id, r, err)}
		}
		ev.data[k] = sl.Data
	}
	return ev
}
