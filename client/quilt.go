package client

import (
	"context"
	"errors"
	"fmt"

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

// ReadQuilt reads the quilt quiltID (ReadBlob) and opens it. A blob that
// is not a quilt gives ErrNotQuilt.
//
// It reads the whole quilt blob: a patch alone could be read from the few
// secondary slivers it occupies (quilt.Columns), which is not done yet.
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

// ReadQuiltPatch reads the patch a quilt patch ID names. A patch ID whose
// columns hold no patch gives an error matching quilt.ErrInvalidPatchID or
// quilt.ErrMalformed.
func (c *Client) ReadQuiltPatch(ctx context.Context, id quilt.QuiltPatchID, opts ReadOptions) (quilt.Blob, error) {
	q, err := c.ReadQuilt(ctx, id.QuiltID, opts)
	if err != nil {
		return quilt.Blob{}, err
	}
	b, err := q.BlobByPatchID(id.Patch)
	if err != nil {
		return quilt.Blob{}, fmt.Errorf("%w (quilt patch %s)", err, id)
	}
	return b, nil
}

// ReadQuiltPatches reads the patches that ids name, in order. Patches of
// the same quilt are read from one read of it.
func (c *Client) ReadQuiltPatches(ctx context.Context, ids []quilt.QuiltPatchID, opts ReadOptions) ([]quilt.Blob, error) {
	quilts := make(map[encoding.BlobID]*quilt.Quilt)
	out := make([]quilt.Blob, 0, len(ids))
	for _, id := range ids {
		q, ok := quilts[id.QuiltID]
		if !ok {
			var err error
			if q, err = c.ReadQuilt(ctx, id.QuiltID, opts); err != nil {
				return nil, err
			}
			quilts[id.QuiltID] = q
		}
		b, err := q.BlobByPatchID(id.Patch)
		if err != nil {
			return nil, fmt.Errorf("%w (quilt patch %s)", err, id)
		}
		out = append(out, b)
	}
	return out, nil
}

// ReadQuiltBlobs reads the patches named identifiers from the quilt
// quiltID, in the order asked; none means every patch, in the quilt's
// order. An identifier the quilt lacks gives quilt.ErrNotFound.
func (c *Client) ReadQuiltBlobs(ctx context.Context, quiltID encoding.BlobID, identifiers []string, opts ReadOptions) ([]quilt.Blob, error) {
	q, err := c.ReadQuilt(ctx, quiltID, opts)
	if err != nil {
		return nil, err
	}
	if len(identifiers) == 0 {
		return q.Blobs()
	}
	out := make([]quilt.Blob, 0, len(identifiers))
	for _, ident := range identifiers {
		b, err := q.Blob(ident)
		if err != nil {
			return nil, fmt.Errorf("%w (quilt %s)", err, quiltID)
		}
		out = append(out, b)
	}
	return out, nil
}

// QuiltIndex reads the index of the quilt quiltID.
func (c *Client) QuiltIndex(ctx context.Context, quiltID encoding.BlobID, opts ReadOptions) (*quilt.Index, error) {
	q, err := c.ReadQuilt(ctx, quiltID, opts)
	if err != nil {
		return nil, err
	}
	return q.Index, nil
}
