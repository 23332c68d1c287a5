package proofs

import (
	"bytes"
	"context"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
)

// MetadataSource is what a challenger needs: the metadata of the blobs it
// challenges. Every node keeps the metadata of every certified blob, verified
// against its blob ID when stored. *store.Store satisfies it.
type MetadataSource interface {
	// Metadata returns the metadata of blob id. The caller does not modify
	// it.
	Metadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error)
}

// SliverSource is what a prover needs: the metadata of the blobs its shards
// hold and their slivers. *store.Store satisfies it.
type SliverSource interface {
	MetadataSource
	// Sliver returns the sliver of the given axis of blob id that shard
	// holds. The caller may keep it.
	Sliver(ctx context.Context, shard uint16, id encoding.BlobID, axis encoding.Axis) (encoding.Sliver, error)
}

// ReleasedFunc reports whether a blob of the epoch's blob set no longer needs
// to be stored: it was deleted (no live certified object is left) or marked
// invalid after the set was fixed at the epoch's start. A nil ReleasedFunc
// reports false for every blob.
type ReleasedFunc func(ctx context.Context, id encoding.BlobID) (bool, error)

func (f ReleasedFunc) released(ctx context.Context, id encoding.BlobID) (bool, error) {
	if f == nil {
		return false, nil
	}
	return f(ctx, id)
}

// Prover answers the challenges of the shards a node holds. It is safe for
// concurrent use when its source is.
type Prover struct {
	codec    *encoding.Codec
	src      SliverSource
	released ReleasedFunc
}

// NewProver returns a prover that reads slivers from src. released says
// which blobs were released since the epoch started (nil: none); a sample of
// such a blob whose sliver is gone is answered with a release claim.
func NewProver(codec *encoding.Codec, src SliverSource, released ReleasedFunc) *Prover {
	return &Prover{codec: codec, src: src, released: released}
}

// Prove answers challenge ch: for each sample, the symbol at position
// Symbol of the expansion of the sampled sliver, with its Merkle proof
// against the sliver's hash in the metadata. Proving a symbol re-expands the
// stored sliver (one Reed-Solomon encode of one row or column, n leaf hashes
// and a tree), since the proof's nodes are hashes of symbols the node does
// not store.
//
// If some samples cannot be proven (sliver or metadata missing, a sliver
// that does not match its hash) and their blobs are not released, Prove
// returns a *MissingError naming every one of them and no response: the node
// can recover those slivers and call Prove again. Errors of ctx and of the
// ReleasedFunc are returned as they are.
//
// Prove challenges the node derives itself (EpochIndex.Challenge), once per
// epoch and shard, and serve the cached response: a node that proved the
// challenges peers send would expand slivers of their choosing.
func (p *Prover) Prove(ctx context.Context, ch *Challenge) (*Response, error) {
	if n := p.codec.Params().N; int(ch.N) != n {
		return nil, fmt.Errorf("%w: challenge for n = %d, codec for n = %d", ErrInvalidArgument, ch.N, n)
	}
	resp := &Response{Challenge: ch.Digest(), Answers: make([]Answer, len(ch.Samples))}
	var missing []SampleError
	for j := range ch.Samples {
		s := &ch.Samples[j]
		sym, err := p.prove(ctx, ch.Shard, s)
		if err == nil {
			resp.Answers[j] = Answer{Symbol: sym}
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		released, rerr := p.released.released(ctx, s.BlobID)
		if rerr != nil {
			return nil, rerr
		}
		if released {
			resp.Answers[j] = Answer{Released: true}
			continue
		}
		missing = append(missing, SampleError{Index: j, BlobID: s.BlobID, Axis: s.Axis, Err: err})
	}
	if len(missing) > 0 {
		return nil, &MissingError{Shard: ch.Shard, Samples: missing}
	}
	return resp, nil
}

// prove returns the recovery symbol that answers sample s of shard.
func (p *Prover) prove(ctx context.Context, shard uint16, s *Sample) (encoding.RecoverySymbol, error) {
	md, err := p.src.Metadata(ctx, s.BlobID)
	if err != nil {
		return encoding.RecoverySymbol{}, err
	}
	sl, err := p.src.Sliver(ctx, shard, s.BlobID, s.Axis)
	if err != nil {
		return encoding.RecoverySymbol{}, err
	}
	if sl.Axis != s.Axis || sl.Index != s.Sliver {
		return encoding.RecoverySymbol{}, fmt.Errorf("%w: shard %d holds %s sliver %d, the sample is %s sliver %d",
			encoding.ErrInvalidSliver, shard, sl.Axis, sl.Index, s.Axis, s.Sliver)
	}
	syms, err := p.codec.RecoverySymbols(md, &sl, []int{int(s.Symbol)})
	if err != nil {
		return encoding.RecoverySymbol{}, err
	}
	sym := syms[0]
	// The symbol aliases the whole expansion; keep only its bytes.
	sym.Data = bytes.Clone(sym.Data)
	return sym, nil
}
