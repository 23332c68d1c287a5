package proofs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// randomIDs returns count random blob IDs.
func randomIDs(rng *rand.Rand, count int) []encoding.BlobID {
	ids := make([]encoding.BlobID, count)
	for i := range ids {
		ids[i] = encoding.BlobID(seedOf(rng))
	}
	return ids
}

func TestChallengeDerivation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := randomIDs(rng, 1000)
	seed, node := seedOf(rng), seedOf(rng)
	const n = 100
	x := mustIndex(t, seed, 7, n, ids)
	ch := mustChallenge(t, x, node, 42)
	if len(ch.Samples) != SampleCount || ch.Epoch != 7 || ch.Node != node || ch.Shard != 42 || ch.N != n {
		t.Fatalf("challenge header %d/%x/%d/%d with %d samples", ch.Epoch, ch.Node[:4], ch.Shard, ch.N, len(ch.Samples))
	}
	seen := map[[33]byte]bool{}
	symbols := map[uint16]bool{}
	axes := [2]int{}
	for j, s := range ch.Samples {
		if !x.Contains(s.BlobID) {
			t.Fatalf("sample %d: blob %s not in the set", j, s.BlobID)
		}
		if want := shardSliver(s.BlobID, 42, n, s.Axis); int(s.Sliver) != want {
			t.Fatalf("sample %d: sliver %d, shard 42 holds %d", j, s.Sliver, want)
		}
		if s.Symbol >= n {
			t.Fatalf("sample %d: symbol %d", j, s.Symbol)
		}
		var k [33]byte
		copy(k[:], s.BlobID[:])
		k[32] = byte(s.Axis)
		if seen[k] {
			t.Fatalf("sample %d: sliver sampled twice", j)
		}
		seen[k] = true
		symbols[s.Symbol] = true
		axes[s.Axis]++
	}
	// Symbol positions cover the whole expansion, parity symbols included,
	// and both axes are sampled.
	if len(symbols) < 90 || axes[0] < 180 || axes[1] < 180 {
		t.Fatalf("%d distinct symbols, axes %v", len(symbols), axes)
	}

	// The same inputs in any order, with duplicates, give the same bytes.
	shuffled := append(slices.Clone(ids), ids[:100]...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, err := Derive(seed, 7, n, node, 42, slices.Values(shuffled))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.MarshalBCS(), ch.MarshalBCS()) {
		t.Fatal("derivation depends on the order or duplicates of the blob set")
	}
	// Every input changes the samples.
	for name, other := range map[string]*Challenge{
		"shard": mustChallenge(t, x, node, 43),
		"node":  mustChallenge(t, x, [32]byte{1}, 42),
		"epoch": mustChallenge(t, mustIndex(t, seed, 8, n, ids), node, 42),
		"seed":  mustChallenge(t, mustIndex(t, [32]byte{5}, 7, n, ids), node, 42),
	} {
		if overlap := sharedSlivers(ch, other); overlap > SampleCount/2 {
			t.Errorf("another %s shares %d of %d slivers", name, overlap, SampleCount)
		}
		if other.Digest() == ch.Digest() {
			t.Errorf("another %s has the same digest", name)
		}
	}
}

func sharedSlivers(a, b *Challenge) int {
	in := map[[33]byte]bool{}
	for _, s := range a.Samples {
		var k [33]byte
		copy(k[:], s.BlobID[:])
		k[32] = byte(s.Axis)
		in[k] = true
	}
	shared := 0
	for _, s := range b.Samples {
		var k [33]byte
		copy(k[:], s.BlobID[:])
		k[32] = byte(s.Axis)
		if in[k] {
			shared++
		}
	}
	return shared
}

// TestChallengeLocality: two views of the blob set that differ by one blob
// sample the same slivers but for at most two (the window shifts past the
// missing blob's slivers), so a lagging view costs little to diagnose.
func TestChallengeLocality(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := randomIDs(rng, 2000)
	seed, node := seedOf(rng), seedOf(rng)
	x := mustIndex(t, seed, 1, 10, ids)
	changed := 0
	for i := range 50 {
		drop := ids[i*37]
		rest := slices.DeleteFunc(slices.Clone(ids), func(id encoding.BlobID) bool { return id == drop })
		y := mustIndex(t, seed, 1, 10, rest)
		a, b := mustChallenge(t, x, node, 3), mustChallenge(t, y, node, 3)
		if d := SampleCount - sharedSlivers(a, b); d > 2 {
			t.Fatalf("dropping one blob changes %d slivers", d)
		} else if d > 0 {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("no dropped blob was ever in the window: the test cannot fail")
	}
}

func TestChallengeArguments(t *testing.T) {
	if _, err := NewEpochIndex([32]byte{}, 1, 3, slices.Values([]encoding.BlobID{})); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("n = 3: %v", err)
	}
	x := mustIndex(t, [32]byte{}, 1, 4, nil)
	if _, err := x.Challenge([32]byte{}, 4); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("shard 4 of 4: %v", err)
	}
	ch := mustChallenge(t, x, [32]byte{}, 3)
	if len(ch.Samples) != 0 {
		t.Fatalf("empty blob set: %d samples", len(ch.Samples))
	}
	if got, err := UnmarshalChallenge(ch.MarshalBCS()); err != nil || len(got.Samples) != 0 {
		t.Fatalf("empty challenge round trip: %v", err)
	}
}

func TestUnmarshalChallengeRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := mustIndex(t, seedOf(rng), 2, 7, randomIDs(rng, 300))
	good := mustChallenge(t, x, seedOf(rng), 6).MarshalBCS()
	if c, err := UnmarshalChallenge(good); err != nil || !bytes.Equal(c.MarshalBCS(), good) {
		t.Fatalf("round trip: %v", err)
	}
	const hdr = 4 + 32 + 2 + 2 // then ULEB128(459) = 2 bytes
	sample := func(j int) int { return hdr + 2 + j*sampleBCSSize }
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated header", good[:hdr-1]},
		{"truncated sample", good[:len(good)-1]},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"n = 3", edit(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[38:], 3); return b })},
		{"n = 65535", edit(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[38:], 65535); return b })},
		{"shard = n", edit(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[36:], 7); return b })},
		{"too many samples", edit(func(b []byte) []byte { b[hdr] = 0xcc; b[hdr+1] = 0x03; return b })}, // 460
		{"non-canonical count", edit(func(b []byte) []byte {
			return append(append(b[:hdr:hdr], 0xcb|0x80, 0x83, 0x00), good[hdr+2:]...)
		})},
		{"axis 2", edit(func(b []byte) []byte { b[sample(4)+32] = 2; return b })},
		{"symbol = n", edit(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[sample(4)+35:], 7); return b })},
		{"sliver of another shard", edit(func(b []byte) []byte {
			p := b[sample(4)+33:]
			binary.LittleEndian.PutUint16(p, (binary.LittleEndian.Uint16(p)+1)%7)
			return b
		})},
		{"sliver twice", edit(func(b []byte) []byte {
			copy(b[sample(9):sample(10)], b[sample(2):sample(3)])
			return b
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := UnmarshalChallenge(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestUnmarshalResponseRejects(t *testing.T) {
	_, _, resp, _ := honestResponse(t)
	shape := Shape{SymbolSizes: symbolSizes(resp), ProofLen: ProofLen(7)}
	good := resp.MarshalBCS()
	if r, err := UnmarshalResponse(good, shape); err != nil || !bytes.Equal(r.MarshalBCS(), good) {
		t.Fatalf("round trip: %v", err)
	}
	answer0 := 32 + ulebLen(uint64(len(resp.Answers))) // after the digest and the count
	s0 := shape.SymbolSizes[0]
	if s0 >= 128 {
		t.Fatalf("symbol size %d: the test's one-byte ULEB128 edit assumes < 128", s0)
	}
	// A symbol of S+32 bytes with a proof one node shorter has the same
	// size as the right answer: the decoder must still reject it.
	resplit := slices.Clone(resp.Answers[0].Symbol.Data)
	resplit = append(resplit, make([]byte, 32)...)
	odd := *resp
	odd.Answers = slices.Clone(resp.Answers)
	odd.Answers[0].Symbol.Data = resplit
	odd.Answers[0].Symbol.Proof = odd.Answers[0].Symbol.Proof[1:]
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"one answer fewer", func() []byte {
			r := *resp
			r.Answers = r.Answers[1:]
			return r.MarshalBCS()
		}()},
		{"tag 2", func() []byte { b := slices.Clone(good); b[answer0] = 2; return b }()},
		{"symbol one byte short", func() []byte {
			b := slices.Clone(good)
			b[answer0+6] = byte(s0 - 1) // ULEB128 of the symbol length
			return b
		}()},
		{"symbol and proof resplit", odd.MarshalBCS()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := UnmarshalResponse(tc.b, shape); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
