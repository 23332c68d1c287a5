package proofs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// errNotFound is what memSource returns for a sliver or metadata it lacks.
var errNotFound = fmt.Errorf("test store: not found")

type sliverKey struct {
	shard uint16
	id    encoding.BlobID
	axis  encoding.Axis
}

// memSource holds real encoded blobs: every shard's sliver pair and the
// metadata, as a node that holds every shard would. Tests wrap it to drop or
// damage what it returns.
type memSource struct {
	n       int
	md      map[encoding.BlobID]*encoding.Metadata
	slivers map[sliverKey]encoding.Sliver
	ids     []encoding.BlobID
}

func newMemSource(n int) *memSource {
	return &memSource{n: n, md: map[encoding.BlobID]*encoding.Metadata{}, slivers: map[sliverKey]encoding.Sliver{}}
}

func (m *memSource) Metadata(_ context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	md, ok := m.md[id]
	if !ok {
		return nil, fmt.Errorf("%w: metadata of %s", errNotFound, id)
	}
	return md, nil
}

func (m *memSource) Sliver(_ context.Context, shard uint16, id encoding.BlobID, axis encoding.Axis) (encoding.Sliver, error) {
	sl, ok := m.slivers[sliverKey{shard, id, axis}]
	if !ok {
		return encoding.Sliver{}, fmt.Errorf("%w: %s sliver of %s on shard %d", errNotFound, axis, id, shard)
	}
	sl.Data = slices.Clone(sl.Data)
	return sl, nil
}

// add stores an encoded blob on the given shards (all when none are given).
func (m *memSource) add(enc *encoding.EncodedBlob, shards ...int) {
	if len(shards) == 0 {
		for s := range m.n {
			shards = append(shards, s)
		}
	}
	if _, ok := m.md[enc.BlobID]; !ok {
		m.ids = append(m.ids, enc.BlobID)
	}
	m.md[enc.BlobID] = enc.Metadata
	for _, s := range shards {
		pair := enc.BlobID.PairForShard(s, m.n)
		m.slivers[sliverKey{uint16(s), enc.BlobID, encoding.Primary}] = enc.Primary[pair]
		m.slivers[sliverKey{uint16(s), enc.BlobID, encoding.Secondary}] = enc.Secondary[m.n-1-pair]
	}
}

// newNetwork encodes count random blobs of up to maxSize bytes for n shards.
func newNetwork(t testing.TB, n, count, maxSize int, seed uint64) (*encoding.Codec, *memSource) {
	t.Helper()
	c, err := encoding.New(n, encoding.WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	m := newMemSource(n)
	rng := rand.New(rand.NewPCG(seed, 7))
	for len(m.ids) < count {
		blob := make([]byte, rng.IntN(maxSize+1))
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		enc, err := c.Encode(blob)
		if err != nil {
			t.Fatal(err)
		}
		m.add(enc)
	}
	return c, m
}

// seedOf is a deterministic 32-byte value for tests.
func seedOf(rng *rand.Rand) (s [32]byte) {
	for i := range s {
		s[i] = byte(rng.Uint32())
	}
	return s
}

func mustIndex(t testing.TB, seed [32]byte, epoch uint32, n int, ids []encoding.BlobID) *EpochIndex {
	t.Helper()
	x, err := NewEpochIndex(seed, epoch, n, slices.Values(ids))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func mustChallenge(t testing.TB, x *EpochIndex, node [32]byte, shard int) *Challenge {
	t.Helper()
	ch, err := x.Challenge(node, uint16(shard))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func mustVerifier(t testing.TB, n int, src MetadataSource, released ReleasedFunc) *Verifier {
	t.Helper()
	v, err := NewVerifier(n, src, released)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// releasedSet is a ReleasedFunc over a fixed set.
func releasedSet(ids ...encoding.BlobID) ReleasedFunc {
	return func(_ context.Context, id encoding.BlobID) (bool, error) {
		return slices.Contains(ids, id), nil
	}
}
