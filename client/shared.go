package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/chain"
)

// Shared blobs are Walrus's shared_blob objects (chain/shared.go): a
// permanent blob object wrapped with WAL funds that anyone may add to and
// anyone may spend on extending it.

// SharedBlob returns a shared blob object (chain.ErrNotFound if unknown).
func (c *Client) SharedBlob(ctx context.Context, id chain.ObjectID) (chain.SharedBlob, error) {
	sb, err := c.chain.SharedBlob(ctx, id)
	if err != nil {
		return chain.SharedBlob{}, fmt.Errorf("client: reading shared blob %s: %w", id, err)
	}
	return sb, nil
}

// ShareBlob wraps a permanent blob object the wallet owns into a new shared
// blob, funded with funds FROST from the wallet (Walrus's share command).
func (c *Client) ShareBlob(ctx context.Context, blob chain.ObjectID, funds uint64) (chain.SharedBlob, error) {
	if c.signer == nil {
		return chain.SharedBlob{}, ErrNoWallet
	}
	sb, err := c.chain.ShareBlob(ctx, c.signer, blob, funds)
	if err != nil {
		return chain.SharedBlob{}, fmt.Errorf("client: sharing blob object %s: %w", blob, err)
	}
	return sb, nil
}

// FundSharedBlob adds amount FROST from the wallet to a shared blob's funds.
func (c *Client) FundSharedBlob(ctx context.Context, shared chain.ObjectID, amount uint64) (chain.SharedBlob, error) {
	if c.signer == nil {
		return chain.SharedBlob{}, ErrNoWallet
	}
	if amount == 0 {
		return chain.SharedBlob{}, fmt.Errorf("%w: the amount must be at least 1 FROST", ErrInvalidOptions)
	}
	sb, err := c.chain.FundSharedBlob(ctx, c.signer, shared, amount)
	if err != nil {
		return chain.SharedBlob{}, fmt.Errorf("client: funding shared blob %s: %w", shared, err)
	}
	return sb, nil
}

// ExtendShared extends the blob a shared blob wraps by epochs, paid from
// the shared blob's funds (the wallet signs, and pays nothing).
func (c *Client) ExtendShared(ctx context.Context, shared chain.ObjectID, epochs uint32) (*chain.ExtendSharedBlobResult, error) {
	if c.signer == nil {
		return nil, ErrNoWallet
	}
	if epochs == 0 {
		return nil, fmt.Errorf("%w: epochs must be at least 1", ErrInvalidOptions)
	}
	res, err := c.chain.ExtendSharedBlob(ctx, c.signer, shared, epochs)
	if err != nil {
		return nil, fmt.Errorf("client: extending shared blob %s: %w", shared, err)
	}
	return &res, nil
}

// ResolveBlobObject returns the blob object id names: a blob object, or
// the one a shared blob wraps (as Walrus's aggregator reads by object ID).
// An ID that is neither gives the blob object's chain.ErrNotFound.
func (c *Client) ResolveBlobObject(ctx context.Context, id chain.ObjectID) (chain.BlobObject, error) {
	obj, err := c.chain.BlobObject(ctx, id)
	if !errors.Is(err, chain.ErrNotFound) {
		return obj, err
	}
	sb, serr := c.chain.SharedBlob(ctx, id)
	if serr != nil {
		return chain.BlobObject{}, err
	}
	return sb.Blob, nil
}
