package proofs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// TestHonestPassesEveryChallenge: a node that holds every sliver passes every
// challenge of every shard over many epochs and seeds, and its response has
// exactly the size the challenger expects.
func TestHonestPassesEveryChallenge(t *testing.T) {
	for _, tc := range []struct {
		name           string
		n, blobs, size int
		epochs         int
	}{
		// 2·260 slivers > SampleCount: challenges are windows of the order.
		{"n=7/blobs=260", 7, 260, 3000, 4},
		// 2·40 slivers < SampleCount: every sliver is challenged.
		{"n=10/blobs=40", 10, 40, 20000, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			codec, src := newNetwork(t, tc.n, tc.blobs, tc.size, 1)
			prover := NewProver(codec, src, nil)
			verifier := mustVerifier(t, tc.n, src, nil)
			rng := rand.New(rand.NewPCG(2, 3))
			ctx := context.Background()
			for epoch := uint32(1); epoch <= uint32(tc.epochs); epoch++ {
				x := mustIndex(t, seedOf(rng), epoch, tc.n, src.ids)
				node := seedOf(rng)
				for shard := range tc.n {
					ch := mustChallenge(t, x, node, shard)
					if want := min(SampleCount, 2*tc.blobs); len(ch.Samples) != want {
						t.Fatalf("epoch %d shard %d: %d samples, want %d", epoch, shard, len(ch.Samples), want)
					}
					resp, err := prover.Prove(ctx, ch)
					if err != nil {
						t.Fatalf("epoch %d shard %d: prove: %v", epoch, shard, err)
					}
					exp, err := verifier.Expect(ctx, ch)
					if err != nil {
						t.Fatal(err)
					}
					b := resp.MarshalBCS()
					if len(b) != exp.Shape().MaxSize() || len(b) != resp.BCSSize() {
						t.Fatalf("response of %d bytes, shape says %d, BCSSize %d", len(b), exp.Shape().MaxSize(), resp.BCSSize())
					}
					if err := exp.Verify(ctx, bytes.NewReader(b)); err != nil {
						t.Fatalf("epoch %d shard %d: honest response fails: %v", epoch, shard, err)
					}
				}
			}
		})
	}
}

// dropping is a source that lost some slivers.
type dropping struct {
	*memSource
	dropped map[sliverKey]bool
}

func (d *dropping) Sliver(ctx context.Context, shard uint16, id encoding.BlobID, axis encoding.Axis) (encoding.Sliver, error) {
	if d.dropped[sliverKey{shard, id, axis}] {
		return encoding.Sliver{}, errNotFound
	}
	return d.memSource.Sliver(ctx, shard, id, axis)
}

// rotting is a source whose copy of some slivers has a flipped byte.
type rotting struct {
	*memSource
	rotten map[sliverKey]bool
}

func (r *rotting) Sliver(ctx context.Context, shard uint16, id encoding.BlobID, axis encoding.Axis) (encoding.Sliver, error) {
	sl, err := r.memSource.Sliver(ctx, shard, id, axis)
	if err == nil && r.rotten[sliverKey{shard, id, axis}] {
		sl.Data[len(sl.Data)/2] ^= 0x40
	}
	return sl, err
}

func TestMissingSliversAreNamed(t *testing.T) {
	codec, src := newNetwork(t, 7, 30, 2000, 4)
	x := mustIndex(t, [32]byte{1}, 3, 7, src.ids)
	ch := mustChallenge(t, x, [32]byte{2}, 5)
	want := []int{3, 17, 40}
	lost := map[sliverKey]bool{}
	for _, j := range want {
		s := ch.Samples[j]
		lost[sliverKey{ch.Shard, s.BlobID, s.Axis}] = true
	}
	ctx := context.Background()
	for name, p := range map[string]*Prover{
		"dropped": NewProver(codec, &dropping{src, lost}, nil),
		"rotten":  NewProver(codec, &rotting{src, lost}, nil),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := p.Prove(ctx, ch)
			var me *MissingError
			if !errors.As(err, &me) || !errors.Is(err, ErrMissing) || resp != nil {
				t.Fatalf("Prove = %v, %v; want a *MissingError", resp, err)
			}
			if len(me.Samples) != len(want) {
				t.Fatalf("missing %v, want samples %v", me.Samples, want)
			}
			for i, s := range me.Samples {
				if s.Index != want[i] || s.BlobID != ch.Samples[want[i]].BlobID || s.Axis != ch.Samples[want[i]].Axis {
					t.Fatalf("missing[%d] = %v, want sample %d", i, s, want[i])
				}
			}
			if name == "rotten" && !errors.Is(err, encoding.ErrInvalidSliver) {
				t.Fatalf("rotten sliver: %v, want encoding.ErrInvalidSliver", err)
			}
			if name == "dropped" && !errors.Is(err, errNotFound) {
				t.Fatalf("dropped sliver: %v does not carry the source's error", err)
			}
		})
	}
}

// honestResponse returns a challenge of a small network and its honest
// response, with a verifier.
func honestResponse(t *testing.T) (*memSource, *Challenge, *Response, *Verifier) {
	t.Helper()
	codec, src := newNetwork(t, 7, 30, 2000, 5)
	x := mustIndex(t, [32]byte{9}, 4, 7, src.ids)
	ch := mustChallenge(t, x, [32]byte{8}, 2)
	resp, err := NewProver(codec, src, nil).Prove(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	return src, ch, resp, mustVerifier(t, 7, src, nil)
}

// TestLyingResponsesFail: every way of answering without the right symbol
// fails, and the failure names the sample and the reason.
func TestLyingResponsesFail(t *testing.T) {
	src, ch, honest, v := honestResponse(t)
	ctx := context.Background()
	other := func(shard uint16, epoch uint32) *Response {
		x := mustIndex(t, [32]byte{9}, epoch, 7, src.ids)
		c := mustChallenge(t, x, [32]byte{8}, int(shard))
		codec, _ := encoding.New(7)
		r, err := NewProver(codec, src, nil).Prove(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	clone := func() *Response {
		r, err := UnmarshalResponse(honest.MarshalBCS(), Shape{SymbolSizes: symbolSizes(honest), ProofLen: ProofLen(7)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		resp    func() *Response
		sample  int // the failing sample, -1 for a whole-response failure
		wantErr error
	}{
		{"flipped symbol byte", func() *Response {
			r := clone()
			r.Answers[7].Symbol.Data[0] ^= 1
			return r
		}, 7, encoding.ErrInvalidProof},
		{"flipped proof node", func() *Response {
			r := clone()
			r.Answers[12].Symbol.Proof[1][5] ^= 1
			return r
		}, 12, encoding.ErrInvalidProof},
		{"symbol of another position", func() *Response {
			r := clone()
			s := &r.Answers[3].Symbol
			s.TargetIndex = (s.TargetIndex + 1) % 7
			return r
		}, 3, ErrChallengeMismatch},
		{"two answers of one size swapped", func() *Response {
			r := clone()
			k := sameSize(t, r, 0)
			r.Answers[0], r.Answers[k] = r.Answers[k], r.Answers[0]
			return r
		}, 0, ErrChallengeMismatch},
		{"two answers of other sizes swapped", func() *Response {
			r := clone()
			k := otherSize(t, r, 0)
			r.Answers[0], r.Answers[k] = r.Answers[k], r.Answers[0]
			return r
		}, -1, ErrMalformed},
		{"unjustified release", func() *Response {
			r := clone()
			r.Answers[9] = Answer{Released: true}
			return r
		}, 9, ErrReleaseRejected},
		{"another shard's response", func() *Response { return other(3, 4) }, -1, ErrChallengeMismatch},
		{"last epoch's response", func() *Response { return other(2, 3) }, -1, ErrChallengeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Verify(ctx, ch, bytes.NewReader(tc.resp().MarshalBCS()))
			var fe *FailedError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFailed) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify = %v; want a *FailedError matching %v", err, tc.wantErr)
			}
			if fe.Epoch != ch.Epoch || fe.Node != ch.Node || fe.Shard != ch.Shard {
				t.Fatalf("failure names epoch %d node %x shard %d", fe.Epoch, fe.Node, fe.Shard)
			}
			if tc.sample < 0 {
				if len(fe.Samples) != 0 || fe.Cause == nil {
					t.Fatalf("want a whole-response failure, got %+v", fe)
				}
				return
			}
			if len(fe.Samples) == 0 || fe.Samples[0].Index != tc.sample {
				t.Fatalf("failed samples %v, want %d first", fe.Samples, tc.sample)
			}
		})
	}
}

// sameSize and otherSize return an answer after answer j with a symbol of
// the same size as j's, or another size.
func sameSize(t *testing.T, r *Response, j int) int {
	for k := j + 1; k < len(r.Answers); k++ {
		if len(r.Answers[k].Symbol.Data) == len(r.Answers[j].Symbol.Data) {
			return k
		}
	}
	t.Fatal("no two answers of one size")
	return 0
}

func otherSize(t *testing.T, r *Response, j int) int {
	for k := j + 1; k < len(r.Answers); k++ {
		if len(r.Answers[k].Symbol.Data) != len(r.Answers[j].Symbol.Data) {
			return k
		}
	}
	t.Fatal("all answers of one size")
	return 0
}

func symbolSizes(r *Response) []int {
	s := make([]int, len(r.Answers))
	for i := range r.Answers {
		s[i] = len(r.Answers[i].Symbol.Data)
	}
	return s
}

// TestReleasedBlob: a blob deleted after the epoch started may be answered
// with a release claim, which passes only when the challenger sees the
// release too.
func TestReleasedBlob(t *testing.T) {
	codec, src := newNetwork(t, 7, 30, 2000, 6)
	x := mustIndex(t, [32]byte{3}, 2, 7, src.ids)
	ch := mustChallenge(t, x, [32]byte{4}, 1)
	gone := ch.Samples[5].BlobID
	lost := map[sliverKey]bool{}
	for s := range 7 {
		lost[sliverKey{uint16(s), gone, encoding.Primary}] = true
		lost[sliverKey{uint16(s), gone, encoding.Secondary}] = true
	}
	ctx := context.Background()
	resp, err := NewProver(codec, &dropping{src, lost}, releasedSet(gone)).Prove(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	claims := 0
	for j, a := range resp.Answers {
		if a.Released {
			claims++
			if ch.Samples[j].BlobID != gone {
				t.Fatalf("release claimed for live blob of sample %d", j)
			}
		}
	}
	if claims == 0 {
		t.Fatal("no release claim")
	}
	b := resp.MarshalBCS()
	if err := mustVerifier(t, 7, src, releasedSet(gone)).Verify(ctx, ch, bytes.NewReader(b)); err != nil {
		t.Fatalf("challenger that saw the deletion: %v", err)
	}
	err = mustVerifier(t, 7, src, nil).Verify(ctx, ch, bytes.NewReader(b))
	if !errors.Is(err, ErrFailed) || !errors.Is(err, ErrReleaseRejected) {
		t.Fatalf("challenger that sees the blob live: %v, want ErrReleaseRejected", err)
	}
	// A prover that still has the slivers proves them even when released.
	resp, err = NewProver(codec, src, releasedSet(gone)).Prove(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	for j, a := range resp.Answers {
		if a.Released {
			t.Fatalf("sample %d: release claimed though the sliver is there", j)
		}
	}
}

// errReader fails after a prefix of the response.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// TestVerifyStream: the verifier reads exactly the response's bytes; a
// response that stops early fails; a broken connection is not the prover's
// failure.
func TestVerifyStream(t *testing.T) {
	_, ch, resp, v := honestResponse(t)
	ctx := context.Background()
	b := resp.MarshalBCS()
	trailer := []byte("next frame")
	r := bytes.NewReader(append(append([]byte{}, b...), trailer...))
	if err := v.Verify(ctx, ch, r); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(r); !bytes.Equal(rest, trailer) {
		t.Fatalf("verifier left %q, want %q", rest, trailer)
	}
	for _, cut := range []int{0, 10, 32, 33, 34, len(b) / 2, len(b) - 1} {
		err := v.Verify(ctx, ch, bytes.NewReader(b[:cut]))
		if !errors.Is(err, ErrFailed) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("response cut at %d: %v, want ErrFailed and ErrMalformed", cut, err)
		}
	}
	broken := errors.New("stream reset")
	err := v.Verify(ctx, ch, &errReader{bytes.NewReader(b[:len(b)/2]), broken})
	if !errors.Is(err, broken) || errors.Is(err, ErrFailed) {
		t.Fatalf("broken stream: %v, want the stream's error and no verdict", err)
	}
	// The challenger's own missing metadata is its error, not a verdict.
	empty := newMemSource(7)
	err = mustVerifier(t, 7, empty, nil).Verify(ctx, ch, bytes.NewReader(b))
	if !errors.Is(err, errNotFound) || errors.Is(err, ErrFailed) {
		t.Fatalf("challenger without metadata: %v", err)
	}
}

func TestShardCountMismatch(t *testing.T) {
	_, ch, _, _ := honestResponse(t)
	codec, _ := encoding.New(10)
	if _, err := NewProver(codec, nil, nil).Prove(context.Background(), ch); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("prove with n = 10 codec: %v", err)
	}
	v := mustVerifier(t, 10, nil, nil)
	if _, err := v.Expect(context.Background(), ch); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("verify with n = 10: %v", err)
	}
	if _, err := NewVerifier(3, nil, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NewVerifier(3): %v", err)
	}
}

// countingSource counts metadata reads.
type countingSource struct {
	MetadataSource
	reads map[encoding.BlobID]int
}

func (c *countingSource) Metadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	c.reads[id]++
	return c.MetadataSource.Metadata(ctx, id)
}

// TestExpectAll: a challenger that checks every shard of an epoch reads each
// sampled blob's metadata once, and every expectation verifies its response.
func TestExpectAll(t *testing.T) {
	codec, src := newNetwork(t, 7, 260, 1000, 8)
	x := mustIndex(t, [32]byte{6}, 3, 7, src.ids)
	var chs []*Challenge
	for shard := range 7 {
		chs = append(chs, mustChallenge(t, x, [32]byte{byte(shard)}, shard))
	}
	cs := &countingSource{src, map[encoding.BlobID]int{}}
	v := mustVerifier(t, 7, cs, nil)
	ctx := context.Background()
	es, err := v.ExpectAll(ctx, chs)
	if err != nil {
		t.Fatal(err)
	}
	sampled := map[encoding.BlobID]bool{}
	for _, ch := range chs {
		for _, s := range ch.Samples {
			sampled[s.BlobID] = true
		}
	}
	if len(cs.reads) != len(sampled) {
		t.Fatalf("read the metadata of %d blobs, %d were sampled", len(cs.reads), len(sampled))
	}
	for id, n := range cs.reads {
		if n != 1 {
			t.Fatalf("metadata of %s read %d times", id, n)
		}
	}
	p := NewProver(codec, src, nil)
	for i, ch := range chs {
		resp, err := p.Prove(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		if err := es[i].Verify(ctx, bytes.NewReader(resp.MarshalBCS())); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		// Expectations are per challenge: shard i's response fails shard
		// i+1's.
		if err := es[(i+1)%7].Verify(ctx, bytes.NewReader(resp.MarshalBCS())); !errors.Is(err, ErrChallengeMismatch) {
			t.Fatalf("shard %d's response against shard %d: %v", i, (i+1)%7, err)
		}
	}
	bad := *chs[0]
	bad.Samples = append([]Sample{}, chs[0].Samples...)
	bad.Samples[0].Sliver = 7
	if _, err := v.Expect(ctx, &bad); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("sample with sliver 7 of 7: %v", err)
	}
}

// withoutMetadata is a source that has lost the metadata of some blobs, as
// a challenger that applied their deletion.
type withoutMetadata struct {
	*memSource
	gone map[encoding.BlobID]bool
}

func (w withoutMetadata) Metadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	if w.gone[id] {
		return nil, fmt.Errorf("%w: metadata of %s", errNotFound, id)
	}
	return w.memSource.Metadata(ctx, id)
}

// TestReleasedBlobWithoutMetadata: a challenger that dropped a released
// blob's metadata cannot know its symbol size; it accepts a release claim
// or a symbol of any size for it, and still judges the other samples. A
// blob it lacks the metadata of and does not see released is its own
// problem (an error of Expect, no verdict).
func TestReleasedBlobWithoutMetadata(t *testing.T) {
	codec, src := newNetwork(t, 7, 30, 2000, 8)
	x := mustIndex(t, [32]byte{5}, 2, 7, src.ids)
	ch := mustChallenge(t, x, [32]byte{6}, 3)
	gone := ch.Samples[2].BlobID
	ctx := context.Background()
	challenger := withoutMetadata{src, map[encoding.BlobID]bool{gone: true}}
	if _, err := mustVerifier(t, 7, challenger, nil).Expect(ctx, ch); err == nil || errors.Is(err, ErrFailed) {
		t.Fatalf("missing metadata of a live blob: %v, want the challenger's error", err)
	}
	v := mustVerifier(t, 7, challenger, releasedSet(gone))
	lost := map[sliverKey]bool{}
	for s := range 7 {
		lost[sliverKey{uint16(s), gone, encoding.Primary}] = true
		lost[sliverKey{uint16(s), gone, encoding.Secondary}] = true
	}
	claimed, err := NewProver(codec, &dropping{src, lost}, releasedSet(gone)).Prove(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	proven, err := NewProver(codec, src, nil).Prove(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	for name, resp := range map[string]*Response{"release claim": claimed, "proven symbol": proven} {
		e, err := v.Expect(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		b := resp.MarshalBCS()
		if len(b) > e.Shape().MaxSize() {
			t.Fatalf("%s: response of %d bytes over the shape's %d", name, len(b), e.Shape().MaxSize())
		}
		if err := e.Verify(ctx, bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The other samples are still judged.
		bad := bytes.Clone(b)
		bad[len(bad)-1] ^= 1
		if err := e.Verify(ctx, bytes.NewReader(bad)); !errors.Is(err, ErrFailed) {
			t.Fatalf("%s, last proof damaged: %v, want ErrFailed", name, err)
		}
	}
}
