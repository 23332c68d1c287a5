package proofs

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// Benchmarks of what challenges cost a node per epoch. The blob set of a
// realistic network: 100,000 blobs. A node builds one EpochIndex per epoch,
// derives one challenge per shard of the network (as a challenger) and per
// shard it holds (as a prover), proves its own shards' challenges once, and
// verifies one response per shard of every other node.

const benchBlobs = 100_000

func BenchmarkEpochIndex(b *testing.B) {
	for _, blobs := range []int{10_000, benchBlobs} {
		b.Run(fmt.Sprintf("blobs=%d", blobs), func(b *testing.B) {
			ids := randomIDs(rand.New(rand.NewPCG(1, 2)), blobs)
			b.SetBytes(int64(blobs * 32))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewEpochIndex([32]byte{1}, 1, 1000, slices.Values(ids)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkChallenge(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d/blobs=%d", n, benchBlobs), func(b *testing.B) {
			x := mustIndex(b, [32]byte{1}, 1, n, randomIDs(rand.New(rand.NewPCG(1, 2)), benchBlobs))
			var ch *Challenge
			b.ReportAllocs()
			shard := 0
			for b.Loop() {
				ch = mustChallenge(b, x, [32]byte{2}, shard%n)
				shard++
			}
			b.ReportMetric(float64(ch.BCSSize()), "challenge-bytes")
		})
	}
}

// proveShapes are blob sizes per n: the cost of a sample grows with the
// symbol size (the sliver's expansion is n symbols).
var proveShapes = []struct {
	n    int
	size int
	name string
}{
	{100, 64 << 10, "64KiB"}, {100, 1 << 20, "1MiB"}, {100, 64 << 20, "64MiB"},
	{1000, 64 << 10, "64KiB"}, {1000, 1 << 20, "1MiB"}, {1000, 64 << 20, "64MiB"},
}

// benchNetwork encodes a few blobs of one size and a challenge of
// SampleCount samples of shard 0 over them: samples cycle over the blobs and
// axes, so slivers repeat, which costs the prover as much as distinct ones
// (it expands every sample's sliver afresh).
func benchNetwork(b *testing.B, n, size int) (*encoding.Codec, *memSource, *Challenge) {
	b.Helper()
	codec, err := encoding.New(n)
	if err != nil {
		b.Fatal(err)
	}
	src := newMemSource(n)
	rng := rand.New(rand.NewPCG(uint64(size), 3))
	const blobs = 2
	for range blobs {
		blob := make([]byte, size)
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		enc, err := codec.Encode(blob)
		if err != nil {
			b.Fatal(err)
		}
		src.add(enc, 0)
	}
	ch := &Challenge{Epoch: 1, Shard: 0, N: uint16(n)}
	for j := range SampleCount {
		id := src.ids[j%blobs]
		axis := encoding.Axis(j / blobs % 2)
		ch.Samples = append(ch.Samples, Sample{BlobID: id, Axis: axis, Sliver: uint16(shardSliver(id, 0, n, axis)), Symbol: uint16(rng.IntN(n))})
	}
	return codec, src, ch
}

// BenchmarkProve measures answering one shard's challenge: SampleCount
// sliver expansions with a proof each. Bytes are the response's.
func BenchmarkProve(b *testing.B) {
	for _, sh := range proveShapes {
		b.Run(fmt.Sprintf("n=%d/size=%s", sh.n, sh.name), func(b *testing.B) {
			codec, src, ch := benchNetwork(b, sh.n, sh.size)
			p := NewProver(codec, src, nil)
			ctx := context.Background()
			var resp *Response
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if resp, err = p.Prove(ctx, ch); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(resp.BCSSize()))
			b.ReportMetric(float64(resp.BCSSize()), "response-bytes")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(ch.Samples)), "µs/sample")
		})
	}
}

// BenchmarkVerify measures checking one shard's response: Expect (two
// metadata lookups here; BenchmarkExpectAll measures them at scale) and
// Verify (one leaf hash and ⌈log2 n⌉ inner hashes per sample).
func BenchmarkVerify(b *testing.B) {
	for _, sh := range proveShapes {
		b.Run(fmt.Sprintf("n=%d/size=%s", sh.n, sh.name), func(b *testing.B) {
			codec, src, ch := benchNetwork(b, sh.n, sh.size)
			resp, err := NewProver(codec, src, nil).Prove(context.Background(), ch)
			if err != nil {
				b.Fatal(err)
			}
			raw := resp.MarshalBCS()
			v := mustVerifier(b, sh.n, src, nil)
			ctx := context.Background()
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(ctx, ch, bytes.NewReader(raw)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(ch.Samples)), "µs/sample")
		})
	}
}

// templateSource decodes one n-shard metadata template per call: the cost
// of the store's Metadata, without holding 100,000 blobs' metadata.
type templateSource struct{ bcs []byte }

func (s *templateSource) Metadata(context.Context, encoding.BlobID) (*encoding.Metadata, error) {
	return encoding.UnmarshalMetadata(s.bcs)
}

// BenchmarkExpectAll measures a challenger's metadata cost per epoch: the
// expectations of the challenges of all n shards over 100,000 blobs, with
// metadata decoded from BCS per read as the store does: one read per
// distinct sampled blob (with 100,000 blobs and n challenges of 459 samples,
// 37% of the blobs at n = 100, 99% at n = 1000).
func BenchmarkExpectAll(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d/blobs=%d/shards=%d", n, benchBlobs, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			md := &encoding.Metadata{EncodingType: encoding.RS2, UnencodedLength: 1 << 20, Hashes: make([]encoding.SliverPairHashes, n)}
			for i := range md.Hashes {
				md.Hashes[i].Primary, md.Hashes[i].Secondary = seedOf(rng), seedOf(rng)
			}
			x := mustIndex(b, seedOf(rng), 1, n, randomIDs(rng, benchBlobs))
			chs := make([]*Challenge, n)
			for s := range chs {
				chs[s] = mustChallenge(b, x, [32]byte{byte(s)}, s)
			}
			v := mustVerifier(b, n, &templateSource{md.MarshalBCS()}, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.ExpectAll(context.Background(), chs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNodeEpoch measures what storage challenges cost one node in one
// epoch of a realistic network: n = 1000 shards over 100 members (10
// shards each; Walrus mainnet's shape), or n = 100 over 20 members (5
// each), 100,000 blobs of 1 MiB. The node
// builds the epoch's index, derives and proves its 10 shards' challenges
// once (and serves the responses to 99 challengers), and as a challenger
// derives, expects (metadata reads) and verifies the 990 shards of the
// others. One iteration is one node's epoch; the metrics are per epoch.
// Proving and verifying run over a challenge of real slivers (two blobs'
// worth, sampled over and over), metadata reads over a decoded template:
// the costs per sample are those of 100,000 distinct blobs (see
// BenchmarkProve, BenchmarkVerify, BenchmarkExpectAll).
func BenchmarkNodeEpoch(b *testing.B) {
	for _, sh := range []struct{ n, members int }{{1000, 100}, {100, 20}} {
		b.Run(fmt.Sprintf("n=%d/members=%d/blobs=%d/size=1MiB", sh.n, sh.members, benchBlobs), func(b *testing.B) {
			benchmarkNodeEpoch(b, sh.n, sh.members, 1<<20)
		})
	}
}

func benchmarkNodeEpoch(b *testing.B, n, members, size int) {
	own := n / members
	codec, src, real := benchNetwork(b, n, size)
	rng := rand.New(rand.NewPCG(7, 8))
	ids := randomIDs(rng, benchBlobs)
	md := src.md[src.ids[0]]
	tmpl := &templateSource{md.MarshalBCS()}
	prover := NewProver(codec, src, nil)
	realV := mustVerifier(b, n, src, nil)
	ctx := context.Background()
	var sent, received int
	var cpuIndex, cpuProve, cpuChallenge int64
	b.ReportAllocs()
	for b.Loop() {
		t0 := cpuTime()
		x := mustIndex(b, seedOf(rng), 1, n, ids)
		t1 := cpuTime()
		// Prover: its own shards, once per epoch.
		var resp *Response
		for s := range own {
			mustChallenge(b, x, [32]byte{1}, s)
			var err error
			if resp, err = prover.Prove(ctx, real); err != nil {
				b.Fatal(err)
			}
		}
		raw := resp.MarshalBCS()
		sent = (members - 1) * own * len(raw)
		t2 := cpuTime()
		// Challenger: every other member's shards.
		chs := make([]*Challenge, 0, n-own)
		for s := own; s < n; s++ {
			chs = append(chs, mustChallenge(b, x, [32]byte{byte(s / own)}, s))
		}
		if _, err := mustVerifier(b, n, tmpl, nil).ExpectAll(ctx, chs); err != nil {
			b.Fatal(err)
		}
		e, err := realV.Expect(ctx, real)
		if err != nil {
			b.Fatal(err)
		}
		for range chs {
			if err := e.Verify(ctx, bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
		received = len(chs) * len(raw)
		t3 := cpuTime()
		cpuIndex += t1 - t0
		cpuProve += t2 - t1
		cpuChallenge += t3 - t2
	}
	per := func(ns int64) float64 { return float64(ns) / 1e9 / float64(b.N) }
	b.ReportMetric(per(cpuIndex), "cpu-s-index/epoch")
	b.ReportMetric(per(cpuProve), "cpu-s-prove/epoch")
	b.ReportMetric(per(cpuChallenge), "cpu-s-challenge/epoch")
	b.ReportMetric(float64(sent), "bytes-sent/epoch")
	b.ReportMetric(float64(received), "bytes-received/epoch")
}
