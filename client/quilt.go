package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/quilt"
)

// QuiltStoreResult is the outcome of StoreQuilt, Walrus's QuiltStoreResult:
// how the quilt's blob was stored, and the quilt patch ID of every file in
// it (in the quilt's order: sorted by identifier).
type QuiltStoreResult struct {
	BlobStoreResult  *StoreResult       `json:"blobStoreResult"`
	StoredQuiltBlobs []StoredQuiltPatch `json:"storedQuiltBlobs"`
}

// StoredQuiltPatch names one file of a stored quilt, as Walrus's
// StoredQuiltPatch: its identifier, its quilt patch ID, and the secondary
// sliver indices [start, end) it occupies.
type StoredQuiltPatch struct {
	Identifier   string             `json:"identifier"`
	QuiltPatchID quilt.QuiltPatchID `json:"quiltPatchId"`
	Range        *[2]uint64         `json:"range,omitempty"`
}

// QuiltPatchItem is one patch of a quilt as Walrus's aggregator lists it
// (GET /v1/quilts/{quilt_id}/patches): snake_case, as Walrus's.
type QuiltPatchItem struct {
	Identifier string             `json:"identifier"`
	PatchID    quilt.QuiltPatchID `json:"patch_id"`
	Tags       map[string]string  `json:"tags"`
}

// ErrNotQuilt is returned by the quilt reads for a blob that is not a
// QuiltV1 quilt (its bytes do not decode as one). It wraps the decoding
// error, which matches quilt.ErrMalformed or quilt.ErrVersion.
var ErrNotQuilt = errors.New("client: blob is not a quilt")

// EncodeQuilt builds the QuiltV1 quilt of blobs for the network's shard
// count, refusing one over the client's maximum blob size (or a smaller
// quilt.WithMaxSize in opts) before it is allocated (quilt.ErrTooLarge).
func (c *Client) EncodeQuilt(ctx context.Context, blobs []quilt.Blob, opts ...quilt.Option) (*quilt.Quilt, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	return quilt.Encode(blobs, v.state.NShards, append([]quilt.Option{quilt.WithMaxSize(v.codec.MaxBlobSize())}, opts...)...)
}

// StoreQuilt encodes blobs into a quilt (EncodeQuilt) and stores the quilt
// as one blob (Store, with opts). The result lists every patch's quilt
// patch ID; a dry run gives them too, for the quilt ID the store would
// have.
func (c *Client) StoreQuilt(ctx context.Context, blobs []quilt.Blob, opts StoreOptions, qopts ...quilt.Option) (*QuiltStoreResult, error) {
	q, err := c.EncodeQuilt(ctx, blobs, qopts...)
	if err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	// A shared blob object has no owner to mark it: share after marking.
	share := opts.Share
	opts.Share = false
	res, err := c.Store(ctx, q.Data, opts)
	if err != nil {
		return nil, err
	}
	if nc := res.NewlyCreated; nc != nil && (opts.Owner.IsZero() || opts.Owner == c.signer.Address()) {
		// As Walrus, mark the blob object a quilt: _walrusBlobType = quilt.
		pair := []chain.AttributePair{{Key: quilt.BlobTypeAttribute, Value: quilt.BlobTypeQuilt}}
		if _, err := c.chain.SetBlobAttribute(ctx, c.signer, nc.BlobObject.ID, pair); err != nil && !errors.Is(err, chain.ErrAttributesUnsupported) {
			c.log.Warn("quilt stored, but marking its blob object a quilt failed", "object_id", nc.BlobObject.ID, "err", err)
		}
		if share {
			if err := c.shareNew(ctx, nc); err != nil {
				return nil, err
			}
		}
	}
	return &QuiltStoreResult{BlobStoreResult: res, StoredQuiltBlobs: StoredPatches(res.BlobID(), q.Index)}, nil
}

// StoredPatches lists the patches of an index as StoredQuiltPatch values of
// the quilt quiltID.
func StoredPatches(quiltID encoding.BlobID, ix *quilt.Index) []StoredQuiltPatch {
	out := make([]StoredQuiltPatch, len(ix.Patches))
	for i, p := range ix.Patches {
		out[i] = StoredQuiltPatch{Identifier: p.Identifier, QuiltPatchID: quilt.QuiltPatchID{QuiltID: quiltID, Patch: p.ID()},
			Range: &[2]uint64{uint64(p.Start), uint64(p.End)}}
	}
	return out
}

// PatchItems lists the patches of an index as Walrus's aggregator does.
func PatchItems(quiltID encoding.BlobID, ix *quilt.Index) []QuiltPatchItem {
	out := make([]QuiltPatchItem, len(ix.Patches))
	for i, p := range ix.Patches {
		tags := p.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		out[i] = QuiltPatchItem{Identifier: p.Identifier, PatchID: quilt.QuiltPatchID{QuiltID: quiltID, Patch: p.ID()}, Tags: tags}
	}
	return out
}

// ReadQuilt reads the whole quilt quiltID (ReadBlob) and opens it. A blob
// that is not a quilt gives ErrNotQuilt. The other reads fetch only the
// columns they need (quiltcolumns.go).
func (c *Client) ReadQuilt(ctx context.Context, quiltID encoding.BlobID, opts ReadOptions) (*quilt.Quilt, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	data, err := c.ReadBlob(ctx, quiltID, opts)
	if err != nil {
		return nil, err
	}
	q, err := quilt.Open(data, v.state.NShards)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotQuilt, quiltID, err)
	}
	return q, nil
}

// patchSource is what the patch reads need of a quilt: the whole one or
// some of its columns.
type patchSource interface {
	BlobByPatchID(quilt.PatchID) (quilt.Blob, error)
}

var (
	_ patchSource = (*quilt.Quilt)(nil)
	_ patchSource = (*quilt.Columns)(nil)
)

// quiltBlob reads patch p of an index from src; its header must carry p's
// identifier.
func quiltBlob(src patchSource, p quilt.Patch) (quilt.Blob, error) {
	b, err := src.BlobByPatchID(p.ID())
	if err == nil && b.Identifier != p.Identifier {
		err = fmt.Errorf("%w: the index names %q at column %d, its header another", quilt.ErrMalformed, p.Identifier, p.Start)
	}
	return b, err
}

// readAll reads every patch of ids from src, gathering the columns all of
// them miss into one *quilt.MissingColumnsError, so that one fetch round
// serves them all.
func readAll(n int, read func(i int) error) error {
	var missing []int
	for i := range n {
		err := read(i)
		var miss *quilt.MissingColumnsError
		if errors.As(err, &miss) {
			missing = append(missing, miss.Columns...)
			continue
		}
		if err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return &quilt.MissingColumnsError{Columns: slices.Compact(missing)}
	}
	return nil
}

// ReadQuiltPatch reads the patch a quilt patch ID names, from the columns
// it occupies alone when their holders answer. A patch ID whose columns
// hold no patch gives an error matching quilt.ErrInvalidPatchID or
// quilt.ErrMalformed.
func (c *Client) ReadQuiltPatch(ctx context.Context, id quilt.QuiltPatchID, opts ReadOptions) (quilt.Blob, error) {
	bs, err := c.ReadQuiltPatches(ctx, []quilt.QuiltPatchID{id}, opts)
	if err != nil {
		return quilt.Blob{}, err
	}
	return bs[0], nil
}

// ReadQuiltPatches reads the patches that ids name, in order; those of
// one quilt are read together.
func (c *Client) ReadQuiltPatches(ctx context.Context, ids []quilt.QuiltPatchID, opts ReadOptions) ([]quilt.Blob, error) {
	out := make([]quilt.Blob, len(ids))
	byQuilt := make(map[encoding.BlobID][]int)
	var order []encoding.BlobID
	for i, id := range ids {
		if _, ok := byQuilt[id.QuiltID]; !ok {
			order = append(order, id.QuiltID)
		}
		byQuilt[id.QuiltID] = append(byQuilt[id.QuiltID], i)
	}
	for _, qid := range order {
		idx := byQuilt[qid]
		read := func(src patchSource) error {
			return readAll(len(idx), func(k int) (err error) {
				id := ids[idx[k]]
				if out[idx[k]], err = src.BlobByPatchID(id.Patch); err != nil && !errors.As(err, new(*quilt.MissingColumnsError)) {
					err = fmt.Errorf("%w (quilt patch %s)", err, id)
				}
				return err
			})
		}
		err := c.orWholeQuilt(ctx, qid, opts, func(cols *quilt.Columns) error { return read(cols) }, func(q *quilt.Quilt) error { return read(q) })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadQuiltBlobs reads the patches named identifiers from the quilt
// quiltID, in the order asked, from the index's columns and theirs; none
// means every patch, in the quilt's order, from the whole quilt. An
// identifier the quilt lacks gives quilt.ErrNotFound.
func (c *Client) ReadQuiltBlobs(ctx context.Context, quiltID encoding.BlobID, identifiers []string, opts ReadOptions) ([]quilt.Blob, error) {
	if len(identifiers) == 0 {
		q, err := c.ReadQuilt(ctx, quiltID, opts)
		if err != nil {
			return nil, err
		}
		return q.Blobs()
	}
	out := make([]quilt.Blob, len(identifiers))
	if _, err := c.byIdentifiers(ctx, quiltID, identifiers, out, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadQuiltBlob reads the patch named identifier from the quilt quiltID
// and returns it with its patch ID.
func (c *Client) ReadQuiltBlob(ctx context.Context, quiltID encoding.BlobID, identifier string, opts ReadOptions) (quilt.Blob, quilt.PatchID, error) {
	out := make([]quilt.Blob, 1)
	ids, err := c.byIdentifiers(ctx, quiltID, []string{identifier}, out, opts)
	if err != nil {
		return quilt.Blob{}, quilt.PatchID{}, err
	}
	return out[0], ids[0], nil
}

// byIdentifiers reads the patches named identifiers into out, from the
// index's columns and theirs (else the whole quilt), and returns their
// patch IDs.
func (c *Client) byIdentifiers(ctx context.Context, quiltID encoding.BlobID, identifiers []string, out []quilt.Blob, opts ReadOptions) ([]quilt.PatchID, error) {
	ids := make([]quilt.PatchID, len(identifiers))
	read := func(ix *quilt.Index, src patchSource) error {
		return readAll(len(identifiers), func(k int) (err error) {
			p, ok := ix.Find(identifiers[k])
			if !ok {
				return fmt.Errorf("%w: %q (quilt %s)", quilt.ErrNotFound, identifiers[k], quiltID)
			}
			ids[k] = p.ID()
			out[k], err = quiltBlob(src, p)
			return err
		})
	}
	err := c.orWholeQuilt(ctx, quiltID, opts, func(cols *quilt.Columns) error {
		ix, err := cols.Index()
		if err != nil {
			return notQuilt(quiltID, err)
		}
		return read(ix, cols)
	}, func(q *quilt.Quilt) error { return read(q.Index, q) })
	return ids, err
}

// QuiltIndex reads the index of the quilt quiltID from its index's
// columns.
func (c *Client) QuiltIndex(ctx context.Context, quiltID encoding.BlobID, opts ReadOptions) (*quilt.Index, error) {
	var ix *quilt.Index
	err := c.orWholeQuilt(ctx, quiltID, opts, func(cols *quilt.Columns) (err error) {
		ix, err = cols.Index()
		return notQuilt(quiltID, err)
	}, func(q *quilt.Quilt) error { ix = q.Index; return nil })
	return ix, err
}

// QuiltMetadata returns the verified metadata of the quilt quiltID's blob
// and its index (read from the index's columns, else the whole quilt), as
// Walrus's list-patches-in-quilt shows them.
func (c *Client) QuiltMetadata(ctx context.Context, quiltID encoding.BlobID, opts ReadOptions) (*encoding.Metadata, *quilt.Index, error) {
	r, err := c.openColumns(ctx, quiltID)
	if err != nil {
		return nil, nil, err
	}
	var ix *quilt.Index
	err = r.run(ctx, func(cols *quilt.Columns) (err error) {
		ix, err = cols.Index()
		return notQuilt(quiltID, err)
	})
	if errors.Is(err, errColumnUnavailable) {
		var q *quilt.Quilt
		if q, err = c.ReadQuilt(ctx, quiltID, opts); err == nil {
			ix = q.Index
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return r.md, ix, nil
}

// notQuilt wraps an index that does not decode in ErrNotQuilt; it passes
// missing columns and nil through.
func notQuilt(id encoding.BlobID, err error) error {
	if errors.Is(err, quilt.ErrMalformed) || errors.Is(err, quilt.ErrVersion) {
		return fmt.Errorf("%w: %s: %w", ErrNotQuilt, id, err)
	}
	return err
}
