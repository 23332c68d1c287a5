package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// ReadOptions say how to read a blob.
type ReadOptions struct {
	// Strict re-encodes the whole decoded blob and checks every sliver hash
	// (encoding.CheckStrict); such a read holds the whole blob and is not
	// streamed. The default check (encoding.CheckDefault) verifies each
	// systematic primary sliver, a row of the blob, against its hash before
	// it is written; every reader that passes it gets the same bytes.
	Strict bool
	// SkipConsistencyCheck is Walrus's skip_consistency_check. A streamed
	// read verifies each primary sliver against the metadata as it arrives,
	// which costs nothing more than the read, so it has no effect there.
	SkipConsistencyCheck bool
	// SkipChainCheck does not ask the chain whether the blob exists before
	// asking nodes (one round trip less; a blob unknown to the nodes is
	// still ErrBlobNotFound).
	SkipChainCheck bool
	// Progress, if set, is called as verified slivers arrive ("read").
	Progress func(Progress)
}

// Read reads blob id and writes it to w. It checks the blob's status on
// chain, gets the metadata from the first node whose answer verifies
// against the blob ID, and streams the blob (Blob.Stream): its rows, the
// systematic primary slivers, are asked of the nodes holding them a window
// at a time, each verified against the metadata before it is written, in
// order, so the first bytes leave after one row and the memory held is the
// window (Config.ReadWindow), not the blob. A node that fails, lies or is
// silent for Config.HedgeDelay has its rows rebuilt from the others'
// recovery symbols. This is the guarantee of encoding.CheckDefault.
//
// With opts.Strict it reads the whole blob first (ReadBlob) and writes it
// only once it re-encodes to every sliver hash (encoding.CheckStrict).
//
// It works with up to f shards' nodes down or lying. It returns
// ErrBlobNotFound when the chain has no live object of the blob or no node
// knows it, a *NotEnoughSliversError (ErrNotEnoughSlivers) when too many
// nodes failed, and ErrInconsistentBlob when the writer encoded the blob
// inconsistently. On an error after the first row, part of the blob may
// have been written (every byte of it verified); the count says how much.
func (c *Client) Read(ctx context.Context, id encoding.BlobID, w io.Writer, opts ReadOptions) (int64, error) {
	if opts.Strict {
		blob, err := c.ReadBlob(ctx, id, opts)
		if err != nil {
			return 0, err
		}
		n, err := w.Write(blob)
		return int64(n), err
	}
	b, err := c.Open(ctx, id, opts)
	if err != nil {
		return 0, err
	}
	return b.Stream(ctx, w)
}

// ReadBlob is Read returning the blob in memory; nothing is returned unless
// the whole blob verified. Without opts.Strict it streams the rows into one
// buffer of the blob's size; with it, it collects rows verified primary
// slivers (systematic ones first), decodes, and checks the whole encoding
// (encoding.CheckStrict).
func (c *Client) ReadBlob(ctx context.Context, id encoding.BlobID, opts ReadOptions) ([]byte, error) {
	if !opts.Strict {
		b, err := c.Open(ctx, id, opts)
		if err != nil {
			return nil, err
		}
		buf := bytes.NewBuffer(make([]byte, 0, b.Size()))
		if _, err := b.Stream(ctx, buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	b, err := c.Open(ctx, id, opts)
	if err != nil {
		return nil, err
	}
	v := b.v
	slivers, err := c.primarySlivers(ctx, v, id, b.md, opts.Progress, b.lied)
	if err != nil {
		return nil, err
	}
	blob, err := v.codec.Decode(b.md, slivers, encoding.CheckStrict)
	if err != nil {
		return nil, fmt.Errorf("client: decoding blob %s: %w", id, err)
	}
	return blob, nil
}

// checkReadable returns ErrBlobNotFound unless the chain has a live,
// certified object of blob id.
func (c *Client) checkReadable(ctx context.Context, id encoding.BlobID) error {
	st, err := c.chain.BlobStatus(ctx, id)
	if err != nil {
		return fmt.Errorf("client: reading the status of blob %s: %w", id, err)
	}
	switch st.Kind {
	case chain.BlobNonexistent:
		return fmt.Errorf("%w: %s: no live blob object on chain (never stored, expired or deleted)", ErrBlobNotFound, id)
	case chain.BlobInvalid:
		return fmt.Errorf("%w: %s is marked invalid on chain", ErrBlobInvalid, id)
	case chain.BlobPermanent:
		if !st.IsCertified && st.Deletable.Certified == 0 {
			return fmt.Errorf("%w: %s is registered but not certified", ErrBlobNotFound, id)
		}
	case chain.BlobDeletable:
		if st.Deletable.Certified == 0 {
			return fmt.Errorf("%w: %s is registered but not certified", ErrBlobNotFound, id)
		}
	}
	return nil
}

// readOrder returns the committee's member indices, those that failed
// most recently last, the others in random order (to spread load).
func (c *Client) readOrder(v *view) []int {
	order := rand.Perm(len(v.committee.Members))
	failed := make(map[int]int64, len(order))
	for _, i := range order {
		if p := v.peers[i]; p != "" {
			if t := c.lastFailure(p); !t.IsZero() {
				failed[i] = t.UnixNano()
			}
		} else {
			failed[i] = 1 << 62
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return failed[order[a]] < failed[order[b]] })
	return order
}

// liars are the nodes caught serving what does not verify during one
// request (a read, or a store with its retries): each is logged with its
// peer ID once, and not asked again for the rest of the request. It is safe
// for concurrent use.
type liars struct {
	mu  sync.Mutex
	set map[peer.ID]error
}

func newLiars() *liars { return &liars{set: make(map[peer.ID]error)} }

// lie returns what p was caught at, or nil.
func (l *liars) lie(p peer.ID) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.set[p]
}

// caught records that member i of v lied (err says how), logging it once
// with its peer ID, and marks it failed.
func (c *Client) caught(l *liars, v *view, i int, id encoding.BlobID, err error) {
	p := v.peers[i]
	l.mu.Lock()
	_, known := l.set[p]
	if !known {
		l.set[p] = err
	}
	l.mu.Unlock()
	c.markFailed(p)
	if !known {
		m := &v.committee.Members[i]
		c.log.Warn("storage node lied; not asking it again for this request", "blob_id", id, "peer", p,
			"node", m.Name, "node_id", m.NodeID, "err", err)
	}
}

// isLie reports whether a node's answer is a lie: it failed verification,
// or broke the protocol (the wrong sliver, a frame larger than asked for).
func isLie(err error) bool {
	return errors.Is(err, errUnverified) || errors.Is(err, p2p.ErrProtocol)
}

// errUnverified marks an answer that does not verify against the blob ID
// or its metadata.
var errUnverified = errors.New("client: answer does not verify")

// metadata asks nodes for the blob's metadata, Config.MetadataFanout at a
// time, and returns the first answer that verifies for the network. A node
// whose answer does not verify is caught lying.
func (c *Client) metadata(ctx context.Context, v *view, id encoding.BlobID, lied *liars) (*encoding.Metadata, error) {
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type res struct {
		member int
		md     *encoding.Metadata
		err    error
	}
	order := c.readOrder(v)
	results := make(chan res, len(order))
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // cancel first: a silent node's request ends now
	start := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := v.peers[i]
			if p == "" {
				results <- res{i, nil, errBadPeerID}
				return
			}
			md, err := c.p2p.GetMetadata(mctx, p, id, v.state.NShards)
			if err == nil {
				if err = md.Verify(id, v.state.NShards); err != nil {
					err = fmt.Errorf("%w: metadata: %w", errUnverified, err)
				}
			}
			results <- res{i, md, err}
		}()
	}
	next, running := 0, 0
	var failures []NodeFailure
	notFound := 0
	for {
		for running < c.cfg.MetadataFanout && next < len(order) {
			start(order[next])
			next++
			running++
		}
		if running == 0 {
			break
		}
		select {
		case r := <-results:
			running--
			if r.err == nil {
				c.markHealthy(v.peers[r.member])
				return r.md, nil
			}
			if isLie(r.err) {
				c.caught(lied, v, r.member, id, r.err)
			} else if p := v.peers[r.member]; p != "" && !errors.Is(r.err, p2p.ErrNotFound) {
				c.markFailed(p)
			}
			if errors.Is(r.err, p2p.ErrNotFound) || errors.Is(r.err, p2p.ErrNotRegistered) {
				notFound += len(v.committee.Members[r.member].Shards)
			}
			failures = append(failures, failure(v.committee, r.member, r.err))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// Nodes holding more than f shards say they do not know the blob: at
	// least one of them is honest, so it is not stored (or not yet).
	if notFound > v.committee.F() {
		return nil, fmt.Errorf("%w: %s: nodes holding %d shards do not know it", ErrBlobNotFound, id, notFound)
	}
	sortFailures(v.committee, failures)
	return nil, &NotEnoughSliversError{BlobID: id, Stage: "metadata", Failures: failures}
}

// sliverTask is one GetSlivers request: member's primary slivers at
// indices.
type sliverTask struct {
	member  int
	indices []uint16
}

// primarySlivers collects rows distinct verified primary slivers. Tasks go
// out in order (systematic slivers first, then the others; nodes that
// failed recently last), and only as many are in flight as could still be
// needed: a failure or a lie starts the next. A node that failed or lied
// (here or in lied, from the metadata) is not asked again.
func (c *Client) primarySlivers(ctx context.Context, v *view, id encoding.BlobID, md *encoding.Metadata, progress func(Progress),
	lied *liars) ([]encoding.Sliver, error) {
	params := v.codec.Params()
	n, rows := params.N, params.Rows
	size, err := p2p.SliverSize(md, encoding.Primary)
	if err != nil {
		return nil, fmt.Errorf("client: blob %s: %w", id, err)
	}
	var first, second []sliverTask
	for _, i := range c.readOrder(v) {
		var sys, other []uint16
		for _, s := range v.committee.Members[i].Shards {
			pair := id.PairForShard(int(s), n)
			if pair < rows {
				sys = append(sys, uint16(pair))
			} else {
				other = append(other, uint16(pair))
			}
		}
		if len(sys) > 0 {
			slices.Sort(sys)
			first = append(first, sliverTask{i, sys})
		}
		if len(other) > 0 {
			slices.Sort(other)
			second = append(second, sliverTask{i, other})
		}
	}
	tasks := append(first, second...)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type res struct {
		task    sliverTask
		slivers []p2p.SliverResult
		err     error
	}
	results := make(chan res, len(tasks))
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // cancel first: a silent node's request ends now

	have := make(map[uint16]encoding.Sliver, rows)
	failed := make(map[int]error)
	for i, p := range v.peers {
		if err := lied.lie(p); p != "" && err != nil {
			failed[i] = err
		}
	}
	next, inflight, pending := 0, 0, 0
	report(progress, "read", 0, int64(rows))
	for len(have) < rows {
		for inflight < c.cfg.MaxConcurrentNodes && next < len(tasks) && len(have)+pending < rows {
			t := tasks[next]
			next++
			p := v.peers[t.member]
			if p == "" {
				failed[t.member] = errBadPeerID
				continue
			}
			if _, bad := failed[t.member]; bad {
				continue // it failed its first task; do not ask it again
			}
			inflight++
			pending += len(t.indices)
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := c.p2p.GetSlivers(sctx, p, id, encoding.Primary, t.indices, size)
				results <- res{t, out, err}
			}()
		}
		if inflight == 0 {
			break
		}
		var r res
		select {
		case r = <-results:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		inflight--
		pending -= len(r.task.indices)
		p := v.peers[r.task.member]
		var bad error
		got := 0
		for k, sr := range r.slivers {
			if sr.Err != nil {
				if bad == nil {
					bad = sr.Err
				}
				continue
			}
			sl := sr.Sliver
			sl.Axis = encoding.Primary
			if k >= len(r.task.indices) || sl.Index != r.task.indices[k] {
				bad = fmt.Errorf("%w: sliver %d instead of %d", p2p.ErrProtocol, sl.Index, r.task.indices[min(k, len(r.task.indices)-1)])
				continue
			}
			if err := v.codec.VerifySliver(md, &sl); err != nil {
				bad = fmt.Errorf("%w: primary sliver %d: %w", errUnverified, sl.Index, err)
				continue
			}
			if _, dup := have[sl.Index]; !dup {
				have[sl.Index] = sl
				got++
			}
		}
		if bad == nil && r.err != nil {
			bad = r.err
		}
		if bad != nil {
			if isLie(bad) {
				c.caught(lied, v, r.task.member, id, bad)
			} else if !errors.Is(bad, context.Canceled) {
				c.markFailed(p)
			}
			failed[r.task.member] = bad
		} else {
			c.markHealthy(p)
		}
		if got > 0 {
			report(progress, "read", int64(min(len(have), rows)), int64(rows))
		}
	}
	if len(have) < rows {
		failures := make([]NodeFailure, 0, len(failed))
		for i, err := range failed {
			failures = append(failures, failure(v.committee, i, err))
		}
		sortFailures(v.committee, failures)
		return nil, &NotEnoughSliversError{BlobID: id, Stage: "slivers", Have: len(have), Need: rows, Failures: failures}
	}
	cancel()
	out := make([]encoding.Sliver, 0, len(have))
	for _, sl := range have {
		out = append(out, sl)
	}
	return out, nil
}

// sortFailures orders failures by committee index.
func sortFailures(com *chain.Committee, fs []NodeFailure) {
	idx := func(f NodeFailure) int { i, _ := com.Index(f.NodeID); return i }
	slices.SortFunc(fs, func(a, b NodeFailure) int { return idx(a) - idx(b) })
}
