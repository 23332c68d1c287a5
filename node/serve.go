package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// notServable returns an error when a blob must not be served: marked
// invalid, or expired or deleted for this node.
func (n *Node) notServable(ctx context.Context, id encoding.BlobID) error {
	rec, found, err := n.blobRecord(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: blob %s", p2p.ErrNotFound, id)
	}
	if rec.Invalid {
		return fmt.Errorf("%w: blob %s is marked invalid", p2p.ErrNotFound, id)
	}
	if !live(rec, n.view.Load().epoch) {
		return fmt.Errorf("%w: blob %s expired at epoch %d or was deleted", p2p.ErrNotRegistered, id, rec.EndEpoch)
	}
	return nil
}

// GetMetadata implements p2p.MetadataHandler.
func (n *Node) GetMetadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	if err := n.notServable(ctx, id); err != nil {
		return nil, err
	}
	md, err := n.store.Metadata(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, id)
	}
	return md, err
}

// GetSliver implements p2p.SliverHandler.
func (n *Node) GetSliver(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16) (encoding.Sliver, error) {
	v := n.view.Load()
	if int(index) >= v.n() {
		return encoding.Sliver{}, fmt.Errorf("%w: sliver index %d, n = %d", p2p.ErrInvalid, index, v.n())
	}
	if err := n.notServable(ctx, id); err != nil {
		return encoding.Sliver{}, err
	}
	shard := shardOf(id, axis, int(index), v.n())
	sl, err := n.store.Sliver(ctx, shard, id, axis)
	if errors.Is(err, store.ErrNotFound) {
		if !v.holds(shard) {
			return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d of blob %s is on shard %d", p2p.ErrNotAssigned, axis, index, id, shard)
		}
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d of blob %s", p2p.ErrNotFound, axis, index, id)
	}
	if err != nil {
		return encoding.Sliver{}, err
	}
	n.metrics.sliversServed.Inc()
	return sl, nil
}

// missingShards returns the shards the node holds this epoch that lack a
// pair of the blob.
func (n *Node) missingShards(ctx context.Context, id encoding.BlobID, v *view) ([]uint16, error) {
	have, err := n.store.StoredShards(ctx, id)
	if err != nil {
		return nil, err
	}
	var missing []uint16
	for _, s := range v.shards {
		if _, ok := slices.BinarySearch(have, s); !ok {
			missing = append(missing, s)
		}
	}
	return missing, nil
}

// GetConfirmation implements p2p.ConfirmationHandler: the node signs that it
// stores every sliver of every shard it holds for the blob, waiting up to
// Config.ConfirmationWait for slivers still being stored.
func (n *Node) GetConfirmation(ctx context.Context, req p2p.ConfirmationRequest) (p2p.Confirmation, error) {
	v := n.view.Load()
	if req.Epoch != v.epoch {
		return p2p.Confirmation{}, fmt.Errorf("%w: confirmation for epoch %d, the node is in epoch %d", p2p.ErrInvalid, req.Epoch, v.epoch)
	}
	if v.index < 0 {
		return p2p.Confirmation{}, fmt.Errorf("%w: the node is not in the committee of epoch %d", p2p.ErrNotAssigned, v.epoch)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ConfirmationWait)
	defer cancel()
	for {
		wake := n.storedSignal()
		err := n.confirmable(ctx, req, v)
		if err == nil {
			break
		}
		var retry *retryable
		if !errors.As(err, &retry) {
			return p2p.Confirmation{}, err
		}
		select {
		case <-ctx.Done():
			return p2p.Confirmation{}, retry.err
		case <-wake:
		}
	}
	cert := chain.BlobCertification{Epoch: v.epoch, BlobID: req.BlobID}
	if req.ObjectID != nil {
		cert.Deletable = true
		cert.ObjectID = chain.ObjectID(*req.ObjectID)
	}
	msg := cert.Message()
	sig := n.keys.Protocol.Sign(msg)
	n.metrics.confirmations.Inc()
	return p2p.Confirmation{Message: msg, Signature: sig[:]}, nil
}

// retryable wraps a condition that may clear while a confirmation waits.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }

// confirmable checks that the node can confirm req now.
func (n *Node) confirmable(ctx context.Context, req p2p.ConfirmationRequest, v *view) error {
	rec, found, err := n.blobRecord(ctx, req.BlobID)
	if err != nil {
		return err
	}
	if !found {
		return &retryable{fmt.Errorf("%w: the node has not seen the registration of blob %s", p2p.ErrNotRegistered, req.BlobID)}
	}
	if rec.Invalid || !live(rec, v.epoch) {
		return fmt.Errorf("%w: blob %s is invalid, expired or deleted", p2p.ErrNotRegistered, req.BlobID)
	}
	if req.ObjectID != nil && !slices.Contains(rec.ObjectIDs, store.ObjectID(*req.ObjectID)) {
		return &retryable{fmt.Errorf("%w: object %x is not a registration of blob %s", p2p.ErrNotRegistered, req.ObjectID[:], req.BlobID)}
	}
	missing, err := n.missingShards(ctx, req.BlobID, v)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &retryable{fmt.Errorf("%w: the node lacks the slivers of %d of its %d shards for blob %s", p2p.ErrNotFound, len(missing), len(v.shards), req.BlobID)}
	}
	return nil
}

// GetRecoverySymbols implements p2p.RecoveryHandler.
func (n *Node) GetRecoverySymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, indices []uint16) ([]encoding.RecoverySymbol, error) {
	if err := n.notServable(ctx, id); err != nil {
		return nil, err
	}
	md, err := n.store.Metadata(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	nn := n.codec.Params().N
	targets := make([]int, len(indices))
	for i, x := range indices {
		if int(x) >= nn {
			return nil, fmt.Errorf("%w: target index %d, n = %d", p2p.ErrInvalid, x, nn)
		}
		targets[i] = int(x)
	}
	shards, err := n.store.StoredShards(ctx, id)
	if err != nil {
		return nil, err
	}
	src := axis.Other()
	var out []encoding.RecoverySymbol
	for _, shard := range shards {
		sl, err := n.store.Sliver(ctx, shard, id, src)
		if err != nil {
			return nil, err
		}
		syms, err := n.codec.RecoverySymbols(md, &sl, targets)
		if err != nil {
			n.log.Error("stored sliver does not match its metadata", "blob_id", id, "shard", shard, "err", err)
			continue
		}
		out = append(out, syms...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the node stores no slivers of blob %s", p2p.ErrNotFound, id)
	}
	n.metrics.symbolsServed.Add(float64(len(out)))
	return out, nil
}

// GetStatus implements p2p.StatusHandler.
func (n *Node) GetStatus(ctx context.Context, id encoding.BlobID) (p2p.BlobStatus, error) {
	v := n.view.Load()
	st := p2p.BlobStatus{Epoch: v.epoch, Shards: uint32(len(v.shards))}
	rec, found, err := n.blobRecord(ctx, id)
	if err != nil {
		return st, err
	}
	switch {
	case !found:
		st.State = p2p.BlobUnknown
		if n.pending.has(id) {
			st.HasMetadata = n.pending.metadata(id) != nil
		}
		return st, nil
	case rec.Invalid:
		st.State = p2p.BlobInvalid
	case rec.PermanentRegistered+rec.DeletableRegistered == 0:
		st.State = p2p.BlobDeleted
	case rec.EndEpoch <= v.epoch:
		st.State = p2p.BlobExpired
	case rec.Certified:
		st.State = p2p.BlobCertified
	default:
		st.State = p2p.BlobRegistered
	}
	st.EndEpoch = rec.EndEpoch
	if st.HasMetadata, err = n.store.HasMetadata(ctx, id); err != nil {
		return st, err
	}
	shards, err := n.store.StoredShards(ctx, id)
	if err != nil {
		return st, err
	}
	st.StoredSlivers = uint32(2 * len(shards))
	return st, nil
}
