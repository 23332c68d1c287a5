package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/quilt"
	"github.com/walrus-go/walrus/p2p"
)

// A quilt patch lies in a few columns of its quilt, and column j is
// secondary sliver j, held by the one shard of sliver pair n−1−j. The
// column reads here fetch only those slivers (and, for a read by
// identifier, the index's columns) from the nodes holding them, verifying
// each against the quilt's metadata: a patch of a large quilt costs a few
// slivers, not the quilt. Each sliver has one holder, so when one of them
// fails the read falls back to reading the whole quilt (ReadQuilt), which
// any rows primary slivers serve.

// maxColumnRounds bounds the fetch rounds of one column read: the index's
// first column, the rest of the index, then the patches.
const maxColumnRounds = 4

// errColumnUnavailable marks a column read that could not get its
// slivers; the caller reads the whole quilt instead.
var errColumnUnavailable = errors.New("client: quilt columns unavailable")

// columnReader reads the columns of one quilt.
type columnReader struct {
	c    *Client
	v    *view
	id   encoding.BlobID
	md   *encoding.Metadata
	size int
	cols *quilt.Columns
	lied *liars
}

// openColumns checks that the quilt is certified on chain and gets its
// verified metadata.
func (c *Client) openColumns(ctx context.Context, id encoding.BlobID) (*columnReader, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	st, err := c.chain.BlobStatus(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("client: reading the status of blob %s: %w", id, err)
	}
	if st.Kind == chain.BlobNonexistent || st.Kind == chain.BlobInvalid || !st.IsCertified && st.Deletable.Certified == 0 {
		return nil, fmt.Errorf("%w: %s: no certified, valid blob object on chain", ErrBlobNotFound, id)
	}
	lied := newLiars()
	md, err := c.metadata(ctx, v, id, lied)
	if err != nil {
		return nil, err
	}
	size, err := p2p.SliverSize(md, encoding.Secondary)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotQuilt, id, err)
	}
	cols, err := quilt.NewColumns(v.state.NShards)
	if err != nil {
		return nil, err
	}
	return &columnReader{c: c, v: v, id: id, md: md, size: size, cols: cols, lied: lied}, nil
}

// run calls read on the columns, fetching the columns it says it misses,
// until it succeeds, fails otherwise, or maxColumnRounds pass.
func (r *columnReader) run(ctx context.Context, read func(*quilt.Columns) error) error {
	for range maxColumnRounds {
		err := read(r.cols)
		var miss *quilt.MissingColumnsError
		if !errors.As(err, &miss) {
			return err
		}
		if err := r.fetch(ctx, miss.Columns); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w: %s: still missing columns after %d rounds", errColumnUnavailable, r.id, maxColumnRounds)
}

// fetch gets secondary slivers columns from their holders, in parallel (at
// most Config.MaxConcurrentNodes nodes at once), and adds the verified
// ones. Any column it cannot get fails it with errColumnUnavailable.
func (r *columnReader) fetch(ctx context.Context, columns []int) error {
	n := r.v.state.NShards
	holder := make(map[uint16]int, n) // shard → member
	for i, m := range r.v.committee.Members {
		for _, s := range m.Shards {
			holder[s] = i
		}
	}
	byMember := make(map[int][]uint16)
	for _, j := range columns {
		shard := uint16(r.id.ShardForPair(encoding.PairIndex(encoding.Secondary, j, n), n))
		i, ok := holder[shard]
		if !ok {
			return fmt.Errorf("%w: no committee member holds shard %d", errColumnUnavailable, shard)
		}
		byMember[i] = append(byMember[i], uint16(j))
	}
	var (
		mu   sync.Mutex
		got  []encoding.Sliver
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, r.c.cfg.MaxConcurrentNodes)
	for i, idx := range byMember {
		slices.Sort(idx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sl, err := r.fromMember(ctx, i, idx)
			mu.Lock()
			defer mu.Unlock()
			got = append(got, sl...)
			if err != nil {
				errs = append(errs, failure(r.v.committee, i, err))
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", errColumnUnavailable, errors.Join(errs...))
	}
	return r.cols.Add(got...)
}

// fromMember gets and verifies secondary slivers idx from member i.
func (r *columnReader) fromMember(ctx context.Context, i int, idx []uint16) ([]encoding.Sliver, error) {
	p := r.v.peers[i]
	if p == "" {
		return nil, errBadPeerID
	}
	if err := r.lied.lie(p); err != nil {
		return nil, err
	}
	res, err := r.c.p2p.GetSlivers(ctx, p, r.id, encoding.Secondary, idx, r.size)
	if err != nil {
		r.c.markFailed(p)
		return nil, err
	}
	out := make([]encoding.Sliver, 0, len(idx))
	for k, sr := range res {
		if sr.Err != nil {
			return nil, sr.Err
		}
		sl := sr.Sliver
		sl.Axis = encoding.Secondary
		if sl.Index != idx[k] {
			err := fmt.Errorf("%w: sliver %d instead of %d", p2p.ErrProtocol, sl.Index, idx[k])
			r.c.caught(r.lied, r.v, i, r.id, err)
			return nil, err
		}
		if err := r.v.codec.VerifySliver(r.md, &sl); err != nil {
			err = fmt.Errorf("%w: secondary sliver %d: %w", errUnverified, sl.Index, err)
			r.c.caught(r.lied, r.v, i, r.id, err)
			return nil, err
		}
		out = append(out, sl)
	}
	r.c.markHealthy(p)
	return out, nil
}

// orWholeQuilt runs the column read, and if its slivers are unavailable,
// whole on the whole quilt (ReadQuilt).
func (c *Client) orWholeQuilt(ctx context.Context, id encoding.BlobID, opts ReadOptions, cols func(*quilt.Columns) error, whole func(*quilt.Quilt) error) error {
	r, err := c.openColumns(ctx, id)
	if err != nil {
		return err
	}
	err = r.run(ctx, cols)
	if !errors.Is(err, errColumnUnavailable) {
		return err
	}
	c.log.Debug("quilt columns unavailable; reading the whole quilt", "quilt_id", id, "err", err)
	q, err := c.ReadQuilt(ctx, id, opts)
	if err != nil {
		return err
	}
	return whole(q)
}
