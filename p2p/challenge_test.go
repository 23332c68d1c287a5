package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/proofs"
)

// challengeNode is a node that answers storage challenges with real proofs
// (package proofs) over the slivers of real encoded blobs.
type challengeNode struct {
	*memHandler
	n     int
	epoch uint32
	index *proofs.EpochIndex
	node  [32]byte
	held  map[uint16]bool
	codec *encoding.Codec
	blobs map[encoding.BlobID]*encoding.EncodedBlob
	mds   map[encoding.BlobID]*encoding.Metadata
	lie   func(shard uint16, resp []byte) []byte // if set, changes the answer
}

func (c *challengeNode) Metadata(_ context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	md, ok := c.mds[id]
	if !ok {
		return nil, fmt.Errorf("%w: metadata of %s", ErrNotFound, id)
	}
	return md, nil
}

func (c *challengeNode) Sliver(_ context.Context, shard uint16, id encoding.BlobID, axis encoding.Axis) (encoding.Sliver, error) {
	eb := c.blobs[id]
	pair := id.PairForShard(int(shard), c.n)
	if axis == encoding.Primary {
		return eb.Pair(pair).Primary, nil
	}
	return eb.Pair(pair).Secondary, nil
}

func (c *challengeNode) ChallengeResponse(ctx context.Context, epoch uint32, shard uint16) ([]byte, error) {
	if epoch != c.epoch || !c.held[shard] {
		return nil, fmt.Errorf("%w: shard %d in epoch %d", ErrNotAssigned, shard, epoch)
	}
	ch, err := c.index.Challenge(c.node, shard)
	if err != nil {
		return nil, err
	}
	resp, err := proofs.NewProver(c.codec, c, nil).Prove(ctx, ch)
	if err != nil {
		return nil, err
	}
	b := resp.MarshalBCS()
	if c.lie != nil {
		b = c.lie(shard, b)
	}
	return b, nil
}

func newChallengeNode(tb testing.TB, n, blobs int, held ...uint16) *challengeNode {
	tb.Helper()
	c := &challengeNode{memHandler: newMemHandler(), n: n, epoch: 7, node: [32]byte{9}, held: map[uint16]bool{},
		blobs: map[encoding.BlobID]*encoding.EncodedBlob{}, mds: map[encoding.BlobID]*encoding.Metadata{}}
	for _, s := range held {
		c.held[s] = true
	}
	var ids []encoding.BlobID
	for i := range blobs {
		codec, eb := testBlob(tb, n, 1000+100*i, uint64(i))
		c.codec = codec
		id := eb.Metadata.BlobID()
		c.blobs[id], c.mds[id] = eb, eb.Metadata
		ids = append(ids, id)
	}
	x, err := proofs.NewEpochIndex([32]byte{1, 2, 3}, c.epoch, n, slices.Values(ids))
	if err != nil {
		tb.Fatal(err)
	}
	c.index = x
	return c
}

// challengeNet serves a challengeNode and returns the client side.
func challengeNet(tb testing.TB, c *challengeNode) *testNet {
	tb.Helper()
	n := &testNet{node: newTestHost(tb), chost: newTestHost(tb), handler: c.memHandler}
	n.server = NewServer(n.node, c, WithServerLogger(quiet))
	tb.Cleanup(func() { n.server.Close() })
	introduce(tb, n.chost, n.node, "/tcp/")
	n.client = NewClient(n.chost, WithClientLogger(quiet))
	return n
}

// expectations are the challenger's side: what it expects of each shard.
func expectations(tb testing.TB, c *challengeNode, shards []uint16) ([]*proofs.Expectation, []int) {
	tb.Helper()
	v, err := proofs.NewVerifier(c.n, c, nil)
	if err != nil {
		tb.Fatal(err)
	}
	chs := make([]*proofs.Challenge, len(shards))
	for i, s := range shards {
		if chs[i], err = c.index.Challenge(c.node, s); err != nil {
			tb.Fatal(err)
		}
	}
	exps, err := v.ExpectAll(context.Background(), chs)
	if err != nil {
		tb.Fatal(err)
	}
	sizes := make([]int, len(exps))
	for i, e := range exps {
		sizes[i] = e.Shape().MaxSize()
	}
	return exps, sizes
}

// verdicts asks for the answers of shards and judges each: "pass", the
// failure's sentinel name, or the peer's error code.
func verdicts(tb testing.TB, net *testNet, c *challengeNode, shards []uint16) ([]string, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exps, sizes := expectations(tb, c, shards)
	out := make([]string, len(shards))
	err := net.client.GetChallengeResponses(ctx, net.node.ID(), ChallengeRequest{Epoch: c.epoch, Shards: shards}, sizes,
		func(i int, resp []byte, rerr *RemoteError) error {
			switch {
			case rerr != nil:
				out[i] = rerr.Code.String()
			default:
				err := exps[i].Verify(ctx, bytes.NewReader(resp))
				switch {
				case err == nil:
					out[i] = "pass"
				case errors.Is(err, proofs.ErrChallengeMismatch):
					out[i] = "mismatch"
				case errors.Is(err, proofs.ErrMalformed):
					out[i] = "malformed"
				case errors.Is(err, encoding.ErrInvalidProof):
					out[i] = "invalid proof"
				default:
					out[i] = err.Error()
				}
			}
			return nil
		})
	return out, err
}

func TestChallengeRoundTrip(t *testing.T) {
	c := newChallengeNode(t, 10, 3, 0, 2, 5)
	// Shard 4 is not held; shard 5's answer has one symbol byte flipped;
	// shard 2 answers for shard 0 (another challenge).
	c.lie = func(shard uint16, b []byte) []byte {
		switch shard {
		case 5:
			b = bytes.Clone(b)
			// The first answer's symbol data starts after the digest, the
			// count, the tag, axis, two indices and the data's length.
			b[32+1+1+5+1] ^= 1
		case 2:
			ch, _ := c.index.Challenge(c.node, 0)
			resp, _ := proofs.NewProver(c.codec, c, nil).Prove(context.Background(), ch)
			b = resp.MarshalBCS()
		}
		return b
	}
	net := challengeNet(t, c)
	got, err := verdicts(t, net, c, []uint16{0, 4, 5, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pass", CodeNotAssigned.String(), "invalid proof", "mismatch"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("shard %d: verdict %q, want %q", []uint16{0, 4, 5, 2}[i], got[i], want[i])
		}
	}
}

func TestChallengeFrameCap(t *testing.T) {
	// A prover that sends more than the challenge's response can weigh is
	// refused from the length prefix.
	c := newChallengeNode(t, 10, 2, 1)
	c.lie = func(_ uint16, b []byte) []byte { return append(bytes.Clone(b), make([]byte, 64<<10)...) }
	net := challengeNet(t, c)
	_, err := verdicts(t, net, c, []uint16{1})
	if !errors.Is(err, ErrProtocol) || !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized answer: %v, want ErrProtocol and ErrFrameTooLarge", err)
	}
}

func TestChallengeBadRequests(t *testing.T) {
	c := newChallengeNode(t, 10, 1, 1)
	net := challengeNet(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name  string
		req   ChallengeRequest
		sizes []int
		want  error
	}{
		{"no shards", ChallengeRequest{Epoch: 7}, nil, ErrInvalid},
		{"twice", ChallengeRequest{Epoch: 7, Shards: []uint16{1, 1}}, []int{100, 100}, ErrInvalid},
		{"sizes", ChallengeRequest{Epoch: 7, Shards: []uint16{1}}, nil, ErrInvalid},
		{"huge size", ChallengeRequest{Epoch: 7, Shards: []uint16{1}}, []int{MaxChallengeFrameSize}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := net.client.GetChallengeResponses(ctx, net.node.ID(), tc.req, tc.sizes, func(int, []byte, *RemoteError) error {
				t.Fatal("answer to a bad request")
				return nil
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	// The server checks too: a raw request naming a shard twice.
	raw, err := rawExchange(ctx, net.chost, net.node.ID(), ProtocolChallengeGet,
		frameOf(encodeChallengeRequest(&ChallengeRequest{Epoch: 7, Shards: []uint16{1, 1}})), true)
	if err != nil {
		t.Fatal(err)
	}
	if code := remoteCode(t, oneResponse(t, raw)); code != CodeInvalid {
		t.Fatalf("duplicate shards answered with code %v, want %v", code, CodeInvalid)
	}
}

func TestChallengeNotServed(t *testing.T) {
	// A handler that is no ChallengeHandler does not serve the protocol.
	net := newTestNet(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := net.client.GetChallengeResponses(ctx, net.node.ID(), ChallengeRequest{Epoch: 1, Shards: []uint16{0}}, []int{100},
		func(int, []byte, *RemoteError) error { return nil })
	if err == nil {
		t.Fatal("challenge/get served by a handler that does not implement it")
	}
}

func FuzzChallengeRequest(f *testing.F) {
	f.Add(encodeChallengeRequest(&ChallengeRequest{Epoch: 3, Shards: []uint16{0, 5, 9}}))
	f.Add(encodeChallengeRequest(&ChallengeRequest{Epoch: 1}))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := decodeChallengeRequest(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(req.Shards) > len(in) {
			t.Fatalf("%d shards from %d bytes", len(req.Shards), len(in))
		}
		if !bytes.Equal(encodeChallengeRequest(&req), in) {
			t.Fatal("round trip differs")
		}
		if err := req.validate(); err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("validate: untyped error %v", err)
		}
	})
}

func FuzzChallengeFrame(f *testing.F) {
	f.Add(append([]byte{challengeTagOK}, make([]byte, 40)...))
	f.Add(encodeErr(wireError{Code: uint8(CodeBusy), Message: "not ready"}))
	f.Add([]byte{challengeTagErr, 0, 0})
	f.Add([]byte{7})
	f.Fuzz(func(t *testing.T, in []byte) {
		resp, rerr, err := decodeChallengeFrame(in)
		switch {
		case err != nil:
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
		case rerr != nil:
			if got := encodeErr(wireError{Code: uint8(rerr.Code), Message: bcsString(rerr.Message)}); !bytes.Equal(got, in) {
				t.Fatal("error frame does not round-trip")
			}
		default:
			if !bytes.Equal(append([]byte{challengeTagOK}, resp...), in) {
				t.Fatal("response frame does not round-trip")
			}
		}
	})
}
