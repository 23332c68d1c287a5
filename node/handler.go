package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// handler is the node's side of every p2p protocol: puts go to the intake,
// reads come from the store, confirmations are signed with the protocol key
// once the store holds what the node should. It implements p2p.Handler and
// is safe for concurrent use.
type handler struct {
	store   *store.Store
	codec   *encoding.Codec
	views   *views
	intake  *intake
	stored  *signal
	signer  *chain.BLSPrivateKey
	metrics *metrics
	log     *slog.Logger
	// confirmationWait bounds how long a confirmation request waits for
	// slivers still being stored.
	confirmationWait time.Duration
	// challenges serves the node's storage-challenge responses (nil: none).
	challenges *challenger
}

var _ p2p.Handler = (*handler)(nil)

// notServable returns an error when a blob must not be served: marked
// invalid, or expired or deleted for this node.
func (h *handler) notServable(ctx context.Context, id encoding.BlobID) error {
	rec, found, err := blobRecord(ctx, h.store, id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: blob %s", p2p.ErrNotFound, id)
	}
	if rec.Invalid {
		return fmt.Errorf("%w: blob %s is marked invalid", p2p.ErrNotFound, id)
	}
	if !live(rec, h.views.load().epoch) {
		return fmt.Errorf("%w: blob %s expired at epoch %d or was deleted", p2p.ErrNotRegistered, id, rec.EndEpoch)
	}
	return nil
}

// PutMetadata implements p2p.MetadataHandler.
func (h *handler) PutMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error {
	return h.intake.putMetadata(ctx, id, md)
}

// PutSlivers implements p2p.SliverHandler.
func (h *handler) PutSlivers(ctx context.Context, id encoding.BlobID, count int) (p2p.SliverSink, error) {
	return h.intake.openSink(ctx, id, count)
}

// GetMetadata implements p2p.MetadataHandler.
func (h *handler) GetMetadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	if err := h.notServable(ctx, id); err != nil {
		return nil, err
	}
	md, err := h.store.Metadata(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, id)
	}
	return md, err
}

// GetSliver implements p2p.SliverHandler.
func (h *handler) GetSliver(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16) (encoding.Sliver, error) {
	v := h.views.load()
	if int(index) >= v.n() {
		return encoding.Sliver{}, fmt.Errorf("%w: sliver index %d, n = %d", p2p.ErrInvalid, index, v.n())
	}
	if err := h.notServable(ctx, id); err != nil {
		return encoding.Sliver{}, err
	}
	shard := shardOf(id, axis, int(index), v.n())
	if !v.serves(shard) {
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d of blob %s is on shard %d", p2p.ErrNotAssigned, axis, index, id, shard)
	}
	sl, err := h.store.Sliver(ctx, shard, id, axis)
	if errors.Is(err, store.ErrNotFound) {
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver %d of blob %s", p2p.ErrNotFound, axis, index, id)
	}
	if err != nil {
		return encoding.Sliver{}, err
	}
	h.metrics.sliversServed.Inc()
	return sl, nil
}

// GetSymbols implements p2p.SymbolHandler: the symbols at positions of the
// expansion of the stored sliver (axis, index), with their proofs. Where
// the store keeps the sliver's leaf hashes and the positions are source
// symbols, only those symbols are read and hashed (symbolsFromLeaves);
// otherwise the sliver is read, expanded and hashed as a whole (its proofs
// need every leaf), which also reports a damaged sliver.
func (h *handler) GetSymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16, positions []uint16) ([]encoding.RecoverySymbol, error) {
	v := h.views.load()
	n := v.n()
	if int(index) >= n {
		return nil, fmt.Errorf("%w: sliver index %d, n = %d", p2p.ErrInvalid, index, n)
	}
	targets := make([]int, len(positions))
	for i, x := range positions {
		if int(x) >= n {
			return nil, fmt.Errorf("%w: symbol position %d, n = %d", p2p.ErrInvalid, x, n)
		}
		targets[i] = int(x)
	}
	if err := h.notServable(ctx, id); err != nil {
		return nil, err
	}
	shard := shardOf(id, axis, int(index), n)
	if !v.serves(shard) {
		return nil, fmt.Errorf("%w: %s sliver %d of blob %s is on shard %d", p2p.ErrNotAssigned, axis, index, id, shard)
	}
	md, err := h.store.Metadata(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if out, ok := h.symbolsFromLeaves(ctx, md, shard, id, axis, index, targets); ok {
		h.metrics.symbolsServed.Add(float64(len(out)))
		h.metrics.symbolsFromLeaves.Add(float64(len(out)))
		return out, nil
	}
	sl, err := h.store.Sliver(ctx, shard, id, axis)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s sliver %d of blob %s", p2p.ErrNotFound, axis, index, id)
	}
	if err != nil {
		return nil, err
	}
	out, err := h.codec.RecoverySymbols(md, &sl, targets)
	if err != nil {
		h.log.Error("stored sliver does not match its metadata", "blob_id", id, "shard", shard, "axis", axis, "err", err)
		return nil, fmt.Errorf("%w: %s sliver %d of blob %s is damaged", p2p.ErrNotFound, axis, index, id)
	}
	h.metrics.symbolsServed.Add(float64(len(out)))
	return out, nil
}

// symbolsFromLeaves serves GetSymbols from the sliver's kept leaf hashes,
// reading only the symbols at targets, and reports whether it could: it
// cannot when the targets are not increasing source positions, the store
// keeps no leaves for the sliver, or anything fails (a symbol that does not
// match its leaf, a read error), and GetSymbols then reads the sliver whole,
// which reports what is wrong.
func (h *handler) symbolsFromLeaves(ctx context.Context, md *encoding.Metadata, shard uint16, id encoding.BlobID, axis encoding.Axis, index uint16, targets []int) ([]encoding.RecoverySymbol, bool) {
	for i := 1; i < len(targets); i++ {
		if targets[i] <= targets[i-1] {
			return nil, false
		}
	}
	part, ok, err := h.store.SliverSymbols(ctx, shard, id, axis, targets)
	if err != nil || !ok || part.Index != index {
		return nil, false
	}
	out, err := h.codec.SymbolsFromLeaves(md, axis, int(index), part.Leaves, targets, part.Symbols)
	if err != nil {
		return nil, false
	}
	return out, true
}

// missingShards returns the shards the node holds in v that lack a pair of
// the blob.
func missingShards(ctx context.Context, st *store.Store, id encoding.BlobID, v *view) ([]uint16, error) {
	have, err := st.StoredShards(ctx, id)
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
// confirmationWait for slivers still being stored.
func (h *handler) GetConfirmation(ctx context.Context, req p2p.ConfirmationRequest) (p2p.Confirmation, error) {
	v := h.views.load()
	if req.Epoch != v.epoch {
		return p2p.Confirmation{}, fmt.Errorf("%w: confirmation for epoch %d, the node is in epoch %d", p2p.ErrInvalid, req.Epoch, v.epoch)
	}
	if v.index < 0 {
		return p2p.Confirmation{}, fmt.Errorf("%w: the node is not in the committee of epoch %d", p2p.ErrNotAssigned, v.epoch)
	}
	ctx, cancel := context.WithTimeout(ctx, h.confirmationWait)
	defer cancel()
	for {
		wake := h.stored.wait()
		err := h.confirmable(ctx, req, v)
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
	sig := h.signer.Sign(msg)
	h.metrics.confirmations.Inc()
	return p2p.Confirmation{Message: msg, Signature: sig[:]}, nil
}

// retryable wraps a condition that may clear while a confirmation waits.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }

// confirmable checks that the node can confirm req now.
func (h *handler) confirmable(ctx context.Context, req p2p.ConfirmationRequest, v *view) error {
	rec, found, err := blobRecord(ctx, h.store, req.BlobID)
	if err != nil {
		return err
	}
	if !found {
		return &retryable{fmt.Errorf("%w: the node has not seen the registration of blob %s", p2p.ErrNotRegistered, req.BlobID)}
	}
	if rec.Invalid || !live(rec, v.epoch) {
		return fmt.Errorf("%w: blob %s is invalid, expired or deleted", p2p.ErrNotRegistered, req.BlobID)
	}
	if req.ObjectID != nil {
		if err := h.registers(ctx, req.BlobID, store.ObjectID(*req.ObjectID), rec, v.epoch); err != nil {
			return err
		}
	}
	missing, err := missingShards(ctx, h.store, req.BlobID, v)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &retryable{fmt.Errorf("%w: the node lacks the slivers of %d of its %d shards for blob %s", p2p.ErrNotFound, len(missing), len(v.shards), req.BlobID)}
	}
	return nil
}

// registers checks that object obj is a live deletable registration of
// blob id, as the chain's events told the node: one point read of its
// object record, whatever number of registrations the blob ID has (so no
// squatter can crowd an honest object out). A record from before object
// records existed lists its objects instead.
func (h *handler) registers(ctx context.Context, id encoding.BlobID, obj store.ObjectID, rec store.BlobRecord, epoch uint32) error {
	orec, err := h.store.ObjectRecord(ctx, id, obj)
	switch {
	case errors.Is(err, store.ErrNotFound) && slices.Contains(rec.ObjectIDs, obj):
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &retryable{fmt.Errorf("%w: object %x is not a registration of blob %s", p2p.ErrNotRegistered, obj[:], id)}
	case err != nil:
		return err
	case !orec.Deletable:
		return fmt.Errorf("%w: object %x is a permanent registration of blob %s, not a deletable one", p2p.ErrInvalid, obj[:], id)
	case orec.EndEpoch <= epoch:
		return fmt.Errorf("%w: object %x of blob %s expired at epoch %d", p2p.ErrNotRegistered, obj[:], id, orec.EndEpoch)
	}
	return nil
}

// GetRecoverySymbols implements p2p.RecoveryHandler.
func (h *handler) GetRecoverySymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, indices []uint16) ([]encoding.RecoverySymbol, error) {
	if err := h.notServable(ctx, id); err != nil {
		return nil, err
	}
	out, err := recoverySymbols(ctx, h.store, h.codec, h.log, id, axis, indices, h.views.load())
	if err != nil {
		return nil, err
	}
	h.metrics.symbolsServed.Add(float64(len(out)))
	return out, nil
}

// recoverySymbols computes, from every stored sliver of the other axis in a
// shard the node serves, the recovery symbols for the target slivers (axis,
// indices) of a blob.
func recoverySymbols(ctx context.Context, st *store.Store, codec *encoding.Codec, log *slog.Logger,
	id encoding.BlobID, axis encoding.Axis, indices []uint16, v *view) ([]encoding.RecoverySymbol, error) {
	md, err := st.Metadata(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	nn := codec.Params().N
	targets := make([]int, len(indices))
	for i, x := range indices {
		if int(x) >= nn {
			return nil, fmt.Errorf("%w: target index %d, n = %d", p2p.ErrInvalid, x, nn)
		}
		targets[i] = int(x)
	}
	shards, err := st.StoredShards(ctx, id)
	if err != nil {
		return nil, err
	}
	src := axis.Other()
	var out []encoding.RecoverySymbol
	for _, shard := range shards {
		if !v.serves(shard) {
			continue
		}
		sl, err := st.Sliver(ctx, shard, id, src)
		if err != nil {
			return nil, err
		}
		syms, err := codec.RecoverySymbols(md, &sl, targets)
		if err != nil {
			log.Error("stored sliver does not match its metadata", "blob_id", id, "shard", shard, "err", err)
			continue
		}
		out = append(out, syms...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the node stores no slivers of blob %s", p2p.ErrNotFound, id)
	}
	return out, nil
}

// GetStatus implements p2p.StatusHandler.
func (h *handler) GetStatus(ctx context.Context, id encoding.BlobID) (p2p.BlobStatus, error) {
	v := h.views.load()
	st := p2p.BlobStatus{Epoch: v.epoch, Shards: uint32(len(v.shards))}
	rec, found, err := blobRecord(ctx, h.store, id)
	if err != nil {
		return st, err
	}
	switch {
	case !found:
		st.State = p2p.BlobUnknown
		st.HasMetadata = h.intake.pending.metadata(id) != nil
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
	if st.HasMetadata, err = h.store.HasMetadata(ctx, id); err != nil {
		return st, err
	}
	shards, err := h.store.StoredShards(ctx, id)
	if err != nil {
		return st, err
	}
	n := 0
	for _, s := range shards {
		if v.holds(s) {
			n++
		}
	}
	st.StoredSlivers = uint32(2 * n)
	return st, nil
}

var _ p2p.SymbolHandler = (*handler)(nil)
