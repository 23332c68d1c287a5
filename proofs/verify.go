package proofs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/walrus-go/walrus/encoding"
)

// Verifier checks the responses to the challenges a node sends. It is safe
// for concurrent use when its source is.
type Verifier struct {
	params   encoding.Params
	src      MetadataSource
	released ReleasedFunc
}

// NewVerifier returns a verifier for a network of n shards that checks
// symbols against the metadata in src. released says which blobs were
// released since the epoch started (nil: none); a prover's release claim is
// accepted for those only.
func NewVerifier(n int, src MetadataSource, released ReleasedFunc) (*Verifier, error) {
	p, err := encoding.NewParams(n)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return &Verifier{params: p, src: src, released: released}, nil
}

// Expectation is what a challenger knows of the response to one challenge
// before it arrives: the challenge's digest, the hash each sampled symbol
// must prove against, and the response's shape. It holds 40 bytes per
// sample, not the metadata.
type Expectation struct {
	v      *Verifier
	ch     *Challenge
	digest encoding.Hash
	roots  []encoding.Hash
	shape  Shape
}

// Expect looks up the metadata of every sample of ch. An error here is the
// challenger's (a blob of its own set without metadata) and says nothing
// about the prover.
func (v *Verifier) Expect(ctx context.Context, ch *Challenge) (*Expectation, error) {
	es, err := v.ExpectAll(ctx, []*Challenge{ch})
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// ExpectAll is Expect for many challenges, such as those of every shard of
// an epoch: it reads the metadata of each distinct sampled blob once, in
// blob-ID order, and keeps only what verification needs. Metadata is n·66
// bytes (66 KB at n = 1000), so reading it dominates a challenger's cost;
// the challenges of all n shards sample each of N blobs about
// SampleCount·n/N times (4.6 for n = 1000 and 100,000 blobs).
func (v *Verifier) ExpectAll(ctx context.Context, chs []*Challenge) ([]*Expectation, error) {
	n := v.params.N
	type ref struct{ ch, sample int }
	refs := map[encoding.BlobID][]ref{}
	es := make([]*Expectation, len(chs))
	for i, ch := range chs {
		if int(ch.N) != n {
			return nil, fmt.Errorf("%w: challenge for n = %d, verifier for n = %d", ErrInvalidArgument, ch.N, n)
		}
		es[i] = &Expectation{
			v: v, ch: ch, digest: ch.Digest(),
			roots: make([]encoding.Hash, len(ch.Samples)),
			shape: Shape{SymbolSizes: make([]int, len(ch.Samples)), ProofLen: ProofLen(n)},
		}
		for j := range ch.Samples {
			s := &ch.Samples[j]
			if s.Axis > encoding.Secondary || int(s.Sliver) >= n || int(s.Symbol) >= n {
				return nil, fmt.Errorf("%w: sample %d: %s sliver %d, symbol %d, n = %d", ErrInvalidArgument, j, s.Axis, s.Sliver, s.Symbol, n)
			}
			refs[s.BlobID] = append(refs[s.BlobID], ref{i, j})
		}
	}
	ids := slices.SortedFunc(maps.Keys(refs), func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		md, err := v.src.Metadata(ctx, id)
		if err != nil {
			// A blob released since the set was fixed may be gone with its
			// metadata: any answer of the right form passes for it.
			if rel, rerr := v.released.released(ctx, id); rerr == nil && rel {
				for _, r := range refs[id] {
					es[r.ch].shape.SymbolSizes[r.sample] = AnySymbolSize
				}
				continue
			}
			return nil, fmt.Errorf("proofs: metadata of sampled blob %s: %w", id, err)
		}
		if md.N() != n {
			return nil, fmt.Errorf("%w: metadata of blob %s has %d sliver pairs, n = %d", ErrInvalidArgument, id, md.N(), n)
		}
		size, err := v.params.SymbolSize(md.UnencodedLength)
		if err != nil {
			return nil, fmt.Errorf("proofs: metadata of sampled blob %s: %w", id, err)
		}
		for _, r := range refs[id] {
			e, s := es[r.ch], &chs[r.ch].Samples[r.sample]
			e.shape.SymbolSizes[r.sample] = size
			e.roots[r.sample] = md.SliverHash(s.Axis, int(s.Sliver))
		}
	}
	return es, nil
}

// Shape is the layout of the expected response; Shape().MaxSize() caps the
// bytes to read.
func (e *Expectation) Shape() Shape { return e.shape }

// Verify reads the response from r, reading exactly its bytes and holding
// one answer at a time, and judges it. It returns nil if and only if the
// response answers the challenge and every answer is a symbol whose proof
// verifies against the sampled sliver's hash, or a release claim for a blob
// the challenger's ReleasedFunc reports released.
//
// A response that fails gets a *FailedError (matching ErrFailed): malformed
// bytes (also ErrMalformed; a response that stops early is malformed), an
// answer to another challenge (also ErrChallengeMismatch), or samples that
// failed, each with its reason. Any other error — from reading r, the
// ReleasedFunc or ctx — is the challenger's or the connection's and is
// returned as it is.
func (e *Expectation) Verify(ctx context.Context, r io.Reader) error {
	ch := e.ch
	fail := func(cause error, samples []SampleError) error {
		return &FailedError{Epoch: ch.Epoch, Node: ch.Node, Shard: ch.Shard, Cause: cause, Samples: samples}
	}
	rr, err := NewResponseReader(r, e.shape)
	if err != nil {
		if isMalformed(err) {
			return fail(err, nil)
		}
		return err
	}
	if rr.Challenge != e.digest {
		return fail(fmt.Errorf("%w: it names challenge %x…, this one is %x…", ErrChallengeMismatch, rr.Challenge[:4], e.digest[:4]), nil)
	}
	n := e.v.params.N
	var failed []SampleError
	for j := range ch.Samples {
		if err := ctx.Err(); err != nil {
			return err
		}
		a, err := rr.Next()
		if err != nil {
			if isMalformed(err) {
				return fail(err, nil)
			}
			return err
		}
		s := &ch.Samples[j]
		bad, err := e.check(ctx, s, a, j, n)
		if err != nil {
			return err
		}
		if bad != nil {
			failed = append(failed, SampleError{Index: j, BlobID: s.BlobID, Axis: s.Axis, Err: bad})
		}
	}
	if len(failed) > 0 {
		return fail(nil, failed)
	}
	return nil
}

// check judges answer a to sample j: bad is why the answer fails, err an
// error of the ReleasedFunc.
func (e *Expectation) check(ctx context.Context, s *Sample, a *Answer, j, n int) (bad, err error) {
	if e.shape.SymbolSizes[j] == AnySymbolSize {
		return nil, nil // released, and the challenger no longer knows the blob
	}
	if a.Released {
		ok, err := e.v.released.released(ctx, s.BlobID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return ErrReleaseRejected, nil
		}
		return nil, nil
	}
	sym := &a.Symbol
	if sym.SourceAxis != s.Axis || sym.SourceIndex != s.Sliver || sym.TargetIndex != s.Symbol {
		return fmt.Errorf("%w: symbol %d of %s sliver %d, the sample is symbol %d of %s sliver %d",
			ErrChallengeMismatch, sym.TargetIndex, sym.SourceAxis, sym.SourceIndex, s.Symbol, s.Axis, s.Sliver), nil
	}
	return sym.Proof.Verify(e.roots[j], encoding.LeafHash(sym.Data), int(s.Symbol), n), nil
}

// Verify is Expect followed by Expectation.Verify, for a caller that does
// not need the shape first.
func (v *Verifier) Verify(ctx context.Context, ch *Challenge, r io.Reader) error {
	e, err := v.Expect(ctx, ch)
	if err != nil {
		return err
	}
	return e.Verify(ctx, r)
}
