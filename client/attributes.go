package client

import (
	"context"
	"fmt"

	"github.com/walrus-go/walrus/chain"
)

// BlobAttribute returns the attribute of a blob object, nil when it has
// none (chain.ErrNotFound for an unknown object).
func (c *Client) BlobAttribute(ctx context.Context, blob chain.ObjectID) (*chain.BlobAttribute, error) {
	a, err := c.chain.BlobAttribute(ctx, blob)
	if err != nil {
		return nil, fmt.Errorf("client: reading the attribute of blob object %s: %w", blob, err)
	}
	return a, nil
}

// SetBlobAttribute inserts or updates pairs in the attribute of a blob
// object the wallet owns (chain.Chain.SetBlobAttribute).
func (c *Client) SetBlobAttribute(ctx context.Context, blob chain.ObjectID, pairs []chain.AttributePair) error {
	if c.signer == nil {
		return ErrNoWallet
	}
	if _, err := c.chain.SetBlobAttribute(ctx, c.signer, blob, pairs); err != nil {
		return fmt.Errorf("client: setting the attribute of blob object %s: %w", blob, err)
	}
	return nil
}

// RemoveBlobAttributePairs removes keys from the attribute of a blob
// object the wallet owns.
func (c *Client) RemoveBlobAttributePairs(ctx context.Context, blob chain.ObjectID, keys []string) error {
	if c.signer == nil {
		return ErrNoWallet
	}
	if _, err := c.chain.RemoveBlobAttributePairs(ctx, c.signer, blob, keys); err != nil {
		return fmt.Errorf("client: removing attribute keys of blob object %s: %w", blob, err)
	}
	return nil
}

// RemoveBlobAttribute removes the attribute of a blob object the wallet
// owns.
func (c *Client) RemoveBlobAttribute(ctx context.Context, blob chain.ObjectID) error {
	if c.signer == nil {
		return ErrNoWallet
	}
	if _, err := c.chain.RemoveBlobAttribute(ctx, c.signer, blob); err != nil {
		return fmt.Errorf("client: removing the attribute of blob object %s: %w", blob, err)
	}
	return nil
}
