package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// BlobStatus is what the chain, and optionally the storage nodes, know of
// a blob ID.
type BlobStatus struct {
	BlobID encoding.BlobID `json:"blobId"`
	// Status is the chain's status, aggregated over the blob's objects
	// (Walrus's BlobStatus).
	Status chain.BlobStatus `json:"status"`
	// Epoch is the current epoch.
	Epoch uint32 `json:"epoch"`
	// Nodes are the committee's answers, in committee order, when asked
	// for (StatusOptions.Nodes).
	Nodes []NodeStatus `json:"nodes,omitempty"`
}

// NodeStatus is one storage node's view of a blob.
type NodeStatus struct {
	Name   string          `json:"name"`
	NodeID chain.NodeID    `json:"nodeId"`
	Shards int             `json:"shards"`
	Status *p2p.BlobStatus `json:"status,omitempty"`
	State  string          `json:"state,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// StatusOptions say what Status asks.
type StatusOptions struct {
	// Nodes also asks every committee member (at most
	// Config.MaxConcurrentNodes at once) what it stores of the blob.
	Nodes bool
}

// Status returns the blob's status on chain and, if asked, on each node.
// A blob the chain does not know has the Nonexistent status; that is not an
// error.
func (c *Client) Status(ctx context.Context, id encoding.BlobID, opts StatusOptions) (*BlobStatus, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	st, err := c.chain.BlobStatus(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("client: reading the status of blob %s: %w", id, err)
	}
	out := &BlobStatus{BlobID: id, Status: st, Epoch: v.state.Epoch}
	if !opts.Nodes {
		return out, nil
	}
	com := v.committee
	out.Nodes = make([]NodeStatus, len(com.Members))
	sem := make(chan struct{}, c.cfg.MaxConcurrentNodes)
	var wg sync.WaitGroup
	for i := range com.Members {
		m := &com.Members[i]
		out.Nodes[i] = NodeStatus{Name: m.Name, NodeID: m.NodeID, Shards: len(m.Shards)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p := v.peers[i]
			if p == "" {
				out.Nodes[i].Error = errBadPeerID.Error()
				return
			}
			ns, err := c.p2p.GetStatus(ctx, p, id)
			if err != nil {
				out.Nodes[i].Error = err.Error()
				return
			}
			out.Nodes[i].Status = &ns
			out.Nodes[i].State = ns.State.String()
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}

// BlobObject returns a blob object by its ID (chain.ErrNotFound if there is
// none, also after deletion).
func (c *Client) BlobObject(ctx context.Context, id chain.ObjectID) (chain.BlobObject, error) {
	return c.chain.BlobObject(ctx, id)
}

// ListBlobs returns the blob objects the wallet owns, ordered by ID.
// Unless all is set, expired ones are left out.
func (c *Client) ListBlobs(ctx context.Context, all bool) ([]chain.BlobObject, error) {
	if c.signer == nil {
		return nil, ErrNoWallet
	}
	objs, err := c.chain.BlobObjects(ctx, c.signer.Address())
	if err != nil {
		return nil, err
	}
	if all {
		return objs, nil
	}
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(objs, func(o chain.BlobObject) bool { return o.EndEpoch() <= v.state.Epoch }), nil
}

// DeleteResult is one deleted blob object.
type DeleteResult struct {
	ObjectID chain.ObjectID        `json:"objectId"`
	BlobID   encoding.BlobID       `json:"blobId"`
	Storage  chain.StorageResource `json:"storage"`
	Receipt  chain.TxReceipt       `json:"-"`
}

// Delete deletes the wallet's deletable blob object obj, returning its
// storage resource to the wallet. It returns chain.ErrNotDeletable for a
// permanent blob, chain.ErrNotOwner for another's.
func (c *Client) Delete(ctx context.Context, obj chain.ObjectID) (*DeleteResult, error) {
	if c.signer == nil {
		return nil, ErrNoWallet
	}
	o, err := c.chain.BlobObject(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("client: blob object %s: %w", obj, err)
	}
	res, err := c.chain.DeleteBlob(ctx, c.signer, obj)
	if err != nil {
		return nil, fmt.Errorf("client: deleting blob object %s: %w", obj, err)
	}
	return &DeleteResult{ObjectID: obj, BlobID: o.BlobID, Storage: res.Storage, Receipt: res.Receipt}, nil
}

// DeleteBlobID deletes every deletable blob object of blob id that the
// wallet owns. It returns ErrNotOwned when there is none. Objects deleted
// before a failure are reported with the error.
func (c *Client) DeleteBlobID(ctx context.Context, id encoding.BlobID) ([]DeleteResult, error) {
	if c.signer == nil {
		return nil, ErrNoWallet
	}
	objs, err := c.chain.BlobObjects(ctx, c.signer.Address())
	if err != nil {
		return nil, err
	}
	var out []DeleteResult
	for _, o := range objs {
		if o.BlobID != id || !o.Deletable {
			continue
		}
		res, err := c.chain.DeleteBlob(ctx, c.signer, o.ID)
		if errors.Is(err, chain.ErrBlobExpired) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("client: deleting blob object %s: %w", o.ID, err)
		}
		out = append(out, DeleteResult{ObjectID: o.ID, BlobID: id, Storage: res.Storage, Receipt: res.Receipt})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: blob %s", ErrNotOwned, id)
	}
	return out, nil
}

// Extend extends the wallet's certified blob object obj by epochs epochs,
// paying for them.
func (c *Client) Extend(ctx context.Context, obj chain.ObjectID, epochs uint32) (*chain.ExtendBlobResult, error) {
	if c.signer == nil {
		return nil, ErrNoWallet
	}
	if epochs == 0 {
		return nil, fmt.Errorf("%w: epochs must be at least 1", ErrInvalidOptions)
	}
	res, err := c.chain.ExtendBlob(ctx, c.signer, obj, epochs)
	if err != nil {
		return nil, fmt.Errorf("client: extending blob object %s: %w", obj, err)
	}
	return &res, nil
}
