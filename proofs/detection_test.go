package proofs

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/encoding"
)

// The detection simulation: before it knows the epoch's seed, a cheater
// drops exactly ⌈q·M⌉ of a shard's M = 2N slivers (whole pairs: ⌈q·N⌉
// blobs), chosen in one of several ways; the shard is caught when its
// challenge samples at least one dropped sliver. A trial is one (seed, shard)
// challenge. Each way of choosing ranks the slivers, and the cheater drops
// the lowest ranks, so one trial answers for every q: caught(q) ⟺ the
// lowest rank among the samples is below the dropped count.

// dropFractions are the fractions of the table.
var dropFractions = []float64{0.001, 0.01, 0.05, 0.20}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// affine is the permutation i ↦ a·i + b mod m of [0, m), with its inverse.
type affine struct{ a, ainv, b, m int }

func newAffine(m int, key uint64) affine {
	a := int(splitmix(key)%uint64(m)) | 1
	for gcd(a, m) != 1 {
		a = (a + 2) % m
	}
	return affine{a: a, ainv: modInverse(a, m), b: int(splitmix(key^0xabcdef) % uint64(m)), m: m}
}

// rank is the position at which the permutation puts i.
func (f affine) rank(i int) int { return ((i - f.b + f.m) % f.m) * f.ainv % f.m }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func modInverse(a, m int) int {
	if m == 1 {
		return 0
	}
	t, nt, r, nr := 0, 1, m, a
	for nr != 0 {
		q := r / nr
		t, nt = nt, t-q*nt
		r, nr = nr, r-q*nr
	}
	return (t%m + m) % m
}

// arrangement is how a cheater picks what to drop: rank orders shard's
// slivers (blob at position pos of the sorted blob IDs, axis), pairs says
// whether it drops whole pairs (ranks are then of blobs).
type arrangement struct {
	name  string
	pairs bool
	rank  func(w *world, shard, pos int, axis encoding.Axis) int
}

// world is the blob set of a simulation.
type world struct {
	sorted  []encoding.BlobID
	pos     map[encoding.BlobID]int
	gapRank []int // by position: rank of the blob by the ID-space gap before it
}

var arrangements = []arrangement{
	{"random slivers", false, func(w *world, shard, pos int, axis encoding.Axis) int {
		return newAffine(2*len(w.sorted), uint64(shard)).rank(2*pos + int(axis))
	}},
	{"ID range", false, func(w *world, shard, pos int, axis encoding.Axis) int {
		m := 2 * len(w.sorted)
		return (2*pos + int(axis) - int(splitmix(uint64(shard))%uint64(m)) + m) % m
	}},
	{"whole pairs", true, func(w *world, shard, pos int, _ encoding.Axis) int {
		return newAffine(len(w.sorted), uint64(shard)+1<<32).rank(pos)
	}},
	// The attack on sampling "the next blob ID after a random point":
	// drop the blobs that follow the smallest gaps in blob-ID space.
	{"smallest ID gaps", true, func(w *world, _, pos int, _ encoding.Axis) int { return w.gapRank[pos] }},
}

func newWorld(ids []encoding.BlobID) *world {
	w := &world{sorted: slices.Clone(ids), pos: map[encoding.BlobID]int{}}
	slices.SortFunc(w.sorted, func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
	w.sorted = slices.Compact(w.sorted)
	n := len(w.sorted)
	gaps := make([]uint64, n)
	order := make([]int, n)
	for i, id := range w.sorted {
		w.pos[id] = i
		gaps[i] = binary.BigEndian.Uint64(id[:8]) - binary.BigEndian.Uint64(w.sorted[(i+n-1)%n][:8])
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(gaps[a], gaps[b]) })
	w.gapRank = make([]int, n)
	for r, i := range order {
		w.gapRank[i] = r
	}
	return w
}

// dropped is how many units (slivers, or blobs for pairs) a cheater drops
// for fraction q of a world of blobs.
func dropped(blobs int, pairs bool, q float64) int {
	if pairs {
		return int(math.Ceil(q * float64(blobs)))
	}
	return int(math.Ceil(q * float64(2*blobs)))
}

// detectionResult counts the trials caught, per arrangement and q.
type detectionResult struct {
	blobs, trials int
	caught        [][]int // [arrangement][q]
	naiveCaught   []int   // the naive scheme under the gap attack, [q]
	naive         bool
}

// simulate runs seeds × shards trials over a random set of blobs; naive adds
// the naive scheme's column.
func simulate(blobs, seeds, shards int, naive bool) *detectionResult {
	const n = 1000
	rng := rand.New(rand.NewPCG(uint64(blobs), 99))
	w := newWorld(randomIDs(rng, blobs))
	res := &detectionResult{blobs: len(w.sorted), trials: seeds * shards, caught: make([][]int, len(arrangements)), naiveCaught: make([]int, len(dropFractions)), naive: naive}
	for a := range arrangements {
		res.caught[a] = make([]int, len(dropFractions))
	}
	count := func(counts []int, low int, pairs bool) {
		for q, f := range dropFractions {
			if low < dropped(res.blobs, pairs, f) {
				counts[q]++
			}
		}
	}
	for range seeds {
		seed := seedOf(rng)
		x, err := NewEpochIndex(seed, 1, n, slices.Values(w.sorted))
		if err != nil {
			panic(err)
		}
		for shard := range shards {
			ch, err := x.Challenge([32]byte{7}, uint16(shard%n))
			if err != nil {
				panic(err)
			}
			for a, arr := range arrangements {
				low := math.MaxInt
				for _, s := range ch.Samples {
					low = min(low, arr.rank(w, shard, w.pos[s.BlobID], s.Axis))
				}
				count(res.caught[a], low, arr.pairs)
			}
			if !naive {
				continue
			}
			// The naive scheme: SampleCount pseudo-random points in blob-ID
			// space, each taking the next blob ID at or after it.
			low := math.MaxInt
			for j := range SampleCount {
				h := blake2b.Sum256(binary.LittleEndian.AppendUint32(append(seed[:], byte(shard), byte(shard>>8)), uint32(j)))
				i, _ := slices.BinarySearchFunc(w.sorted, encoding.BlobID(h), func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
				low = min(low, w.gapRank[i%len(w.sorted)])
			}
			count(res.naiveCaught, low, true)
		}
	}
	return res
}

// hypergeomDetect is the exact probability that a uniform sample of
// min(SampleCount, slivers) distinct slivers hits one of dropped.
func hypergeomDetect(slivers, dropped int) float64 {
	m := min(SampleCount, slivers)
	logMiss := 0.0
	for i := range m {
		if slivers-dropped-i <= 0 {
			return 1
		}
		logMiss += math.Log(float64(slivers-dropped-i) / float64(slivers-i))
	}
	return 1 - math.Exp(logMiss)
}

// exact is the law for arrangement a (pairs drop two slivers per blob).
func (r *detectionResult) exact(a arrangement, q float64) float64 {
	d := dropped(r.blobs, a.pairs, q)
	if a.pairs {
		d *= 2
	}
	return hypergeomDetect(2*r.blobs, d)
}

func (r *detectionResult) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "detection per shard per epoch: %d blobs (%d slivers per shard), %d samples, %d trials (seed × shard)\n",
		r.blobs, 2*r.blobs, min(SampleCount, 2*r.blobs), r.trials)
	fmt.Fprintf(&b, "%-8s %-9s %-8s", "dropped", "1-0.99^k", "exact")
	for _, a := range arrangements {
		fmt.Fprintf(&b, " %-16s", a.name)
	}
	if r.naive {
		b.WriteString(" naive: next ID after a point, ID-gap attack")
	}
	b.WriteString("\n")
	for q, f := range dropFractions {
		fmt.Fprintf(&b, "%-8s %-9.4f %-8.4f", fmt.Sprintf("%.1f%%", 100*f), 1-math.Pow(1-f, SampleCount), r.exact(arrangements[0], f))
		for a := range arrangements {
			fmt.Fprintf(&b, " %-16.4f", r.rate(r.caught[a][q]))
		}
		if r.naive {
			fmt.Fprintf(&b, " %.4f", r.rate(r.naiveCaught[q]))
		}
		b.WriteString("\n")
	}
	b.WriteString("(exact: hypergeometric with ⌈q·2N⌉ slivers dropped; pair arrangements drop 2·⌈q·N⌉)\n")
	return b.String()
}

func (r *detectionResult) rate(caught int) float64 { return float64(caught) / float64(r.trials) }

// TestDetectionProbability: for every way of choosing what to drop —
// including the one that defeats sampling by blob-ID successor — the
// measured detection rate is the exact hypergeometric one, within the
// trials' noise.
func TestDetectionProbability(t *testing.T) {
	for _, blobs := range []int{300, 3000} {
		res := simulate(blobs, 4, 250, false)
		t.Log("\n" + res.table())
		for q, f := range dropFractions {
			for a, arr := range arrangements {
				want := res.exact(arr, f)
				tol := 4*math.Sqrt(want*(1-want)/float64(res.trials)) + 0.002
				if got := res.rate(res.caught[a][q]); math.Abs(got-want) > tol {
					t.Errorf("%d blobs, %s, %.1f%% dropped: caught %.4f, want %.4f ± %.4f", blobs, arr.name, 100*f, got, want, tol)
				}
			}
		}
	}
}

// TestSampleCount: SampleCount is the least sample with which a shard
// missing 1% of its slivers (rounded up) is caught with probability ≥ 0.99,
// for every shard size, exactly (sampling without replacement).
func TestSampleCount(t *testing.T) {
	if p := math.Pow(0.99, SampleCount); p > 0.01 {
		t.Fatalf("0.99^%d = %.5f > 0.01", SampleCount, p)
	}
	if p := math.Pow(0.99, SampleCount-1); p <= 0.01 {
		t.Fatalf("0.99^%d = %.5f: a smaller sample suffices", SampleCount-1, p)
	}
	for slivers := 2; slivers <= 4_000_000; slivers = slivers*5/4 + 1 {
		d := (slivers + 99) / 100
		if p := hypergeomDetect(slivers, d); p < 0.99 {
			t.Fatalf("%d slivers, %d dropped: caught with probability %.5f", slivers, d, p)
		}
	}
}

// BenchmarkDetection prints the detection table, for a small shard and a
// realistic one. Run it with make bench BENCH=Detection (one iteration is
// the whole simulation).
func BenchmarkDetection(b *testing.B) {
	for _, blobs := range []int{300, 100_000} {
		b.Run(fmt.Sprintf("blobs=%d", blobs), func(b *testing.B) {
			var res *detectionResult
			for b.Loop() {
				res = simulate(blobs, 10, 1000, true)
			}
			b.Log("\n" + res.table())
		})
	}
}
