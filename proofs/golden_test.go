package proofs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/encoding"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenFile is testdata/vectors.json: challenges derived from given inputs,
// with intermediate values of the derivation, and one response.
type goldenFile struct {
	Comment string `json:"comment"`
	// BlobSets are named blob sets (hex blob IDs); blob i of a set of
	// count c is Blake2b-256(name ‖ u32 LE i), listed for convenience.
	BlobSets   map[string][]string `json:"blob_sets"`
	Challenges []goldenChallenge   `json:"challenges"`
	Response   goldenResponse      `json:"response"`
}

type goldenChallenge struct {
	Name    string `json:"name"`
	Seed    string `json:"seed"`
	Epoch   uint32 `json:"epoch"`
	N       int    `json:"n"`
	Node    string `json:"node"`
	Shard   uint16 `json:"shard"`
	BlobSet string `json:"blob_set"`
	// FirstOrder is the start of the epoch's sampling order: blob hex,
	// axis, key (decimal u64).
	FirstOrder []string `json:"first_order"`
	// StartPoint is the shard's start point (decimal u64).
	StartPoint string `json:"start_point"`
	// FirstSymbols are the symbol positions of the first samples.
	FirstSymbols []uint16 `json:"first_symbols"`
	Challenge    string   `json:"challenge_bcs"`
	Digest       string   `json:"digest"`
}

// goldenResponse is the honest response to the challenge of a network of n
// shards storing blobs made by encoding's oracle rule (x = seed;
// x = x·1103515245 + 12345 mod 2^32; byte = x >> 24), one per size.
type goldenResponse struct {
	N         int    `json:"n"`
	Sizes     []int  `json:"blob_sizes"`
	BlobSeed  uint32 `json:"blob_seed"`
	Seed      string `json:"seed"`
	Epoch     uint32 `json:"epoch"`
	Node      string `json:"node"`
	Shard     uint16 `json:"shard"`
	Challenge string `json:"challenge_bcs"`
	Response  string `json:"response_bcs"`
}

const goldenPath = "testdata/vectors.json"

func goldenBlobSet(name string, count int) []encoding.BlobID {
	ids := make([]encoding.BlobID, count)
	for i := range ids {
		ids[i] = blake2b.Sum256(binary.LittleEndian.AppendUint32([]byte(name), uint32(i)))
	}
	return ids
}

func oracleBlob(size int, seed uint32) []byte {
	b := make([]byte, size)
	x := seed
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 24)
	}
	return b
}

// fill returns 32 copies of the byte written in hex.
func fill(b string) [32]byte {
	v, _ := hex.DecodeString(b)
	return [32]byte(bytes.Repeat(v, 32))
}

func hex32(s string) (v [32]byte) {
	b, _ := hex.DecodeString(s)
	copy(v[:], b)
	return v
}

// specChallenge derives a challenge the slow way, straight from the package
// documentation's text, to check the implementation against the documented
// format. It returns the challenge and the intermediate values.
func specChallenge(seed [32]byte, epoch uint32, n int, node [32]byte, shard uint16, blobs []encoding.BlobID) (ch *Challenge, order []string, start uint64) {
	bcsString := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	type sliver struct {
		id   encoding.BlobID
		axis encoding.Axis
		key  uint64
	}
	var all []sliver
	ids := slices.Clone(blobs)
	slices.SortFunc(ids, func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	for _, id := range ids {
		h := blake2b.Sum256(cat(bcsString("walrus-go/proofs/v1/order"), seed[:], u32(epoch), id[:]))
		all = append(all,
			sliver{id, encoding.Primary, binary.LittleEndian.Uint64(h[0:8])},
			sliver{id, encoding.Secondary, binary.LittleEndian.Uint64(h[8:16])})
	}
	slices.SortFunc(all, func(a, b sliver) int {
		return cmp.Or(cmp.Compare(a.key, b.key), bytes.Compare(a.id[:], b.id[:]), cmp.Compare(a.axis, b.axis))
	})
	for _, s := range all[:min(4, len(all))] {
		order = append(order, hex.EncodeToString(s.id[:])+" "+s.axis.String()+" "+strconv.FormatUint(s.key, 10))
	}
	h := blake2b.Sum256(cat(bcsString("walrus-go/proofs/v1/start"), seed[:], u32(epoch), node[:], u16(shard)))
	start = binary.LittleEndian.Uint64(h[:8])
	first := len(all)
	for i, s := range all {
		if s.key >= start {
			first = i
			break
		}
	}
	ch = &Challenge{Epoch: epoch, Node: node, Shard: shard, N: uint16(n)}
	for j := 0; j < SampleCount && j < len(all); j++ {
		s := all[(first+j)%len(all)]
		pair := (int(shard) - rotation(s.id, n) + n) % n
		idx := pair
		if s.axis == encoding.Secondary {
			idx = n - 1 - pair
		}
		h := blake2b.Sum256(cat(bcsString("walrus-go/proofs/v1/symbol"), seed[:], u32(epoch), node[:], u16(shard), u32(uint32(j))))
		ch.Samples = append(ch.Samples, Sample{BlobID: s.id, Axis: s.axis, Sliver: uint16(idx), Symbol: uint16(binary.LittleEndian.Uint64(h[:8]) % uint64(n))})
	}
	return ch, order, start
}

// rotation is the blob ID as a big-endian integer mod n (DESIGN.md §2).
func rotation(id encoding.BlobID, n int) int {
	r := 0
	for _, b := range id {
		r = (r*256 + int(b)) % n
	}
	return r
}

var goldenCases = []struct {
	name    string
	seed    string
	epoch   uint32
	n       int
	node    string
	shard   uint16
	blobSet string
}{
	{"n=4, three blobs: every sliver", "01", 1, 4, "02", 3, "three"},
	{"n=7, a window of 240 blobs", "a5", 5, 7, "5a", 6, "many"},
	{"n=1000, last shard, last epoch", "ff", 0xffffffff, 1000, "00", 999, "many"},
	{"n=10, no blobs", "10", 9, 10, "20", 0, "none"},
}

var goldenSets = map[string]int{"three": 3, "many": 240, "none": 0}

func makeGolden(t *testing.T) *goldenFile {
	g := &goldenFile{
		Comment:  "Storage-challenge vectors of package proofs (see its doc.go). Regenerate with go test ./proofs -run Golden -update.",
		BlobSets: map[string][]string{},
	}
	sets := map[string][]encoding.BlobID{}
	for name, count := range goldenSets {
		sets[name] = goldenBlobSet(name, count)
		g.BlobSets[name] = []string{}
		for _, id := range sets[name] {
			g.BlobSets[name] = append(g.BlobSets[name], hex.EncodeToString(id[:]))
		}
	}
	for _, tc := range goldenCases {
		seed, node := fill(tc.seed), fill(tc.node)
		ch, order, start := specChallenge(seed, tc.epoch, tc.n, node, tc.shard, sets[tc.blobSet])
		gc := goldenChallenge{
			Name: tc.name, Seed: hex.EncodeToString(seed[:]), Epoch: tc.epoch, N: tc.n, Node: hex.EncodeToString(node[:]),
			Shard: tc.shard, BlobSet: tc.blobSet, FirstOrder: order, StartPoint: strconv.FormatUint(start, 10),
			Challenge: hex.EncodeToString(ch.MarshalBCS()), FirstSymbols: []uint16{},
		}
		for _, s := range ch.Samples[:min(8, len(ch.Samples))] {
			gc.FirstSymbols = append(gc.FirstSymbols, s.Symbol)
		}
		d := ch.Digest()
		gc.Digest = hex.EncodeToString(d[:])
		g.Challenges = append(g.Challenges, gc)
	}
	g.Response = makeGoldenResponse(t, goldenResponse{N: 4, Sizes: []int{0, 5, 100}, BlobSeed: 7, Seed: hex.EncodeToString(bytes.Repeat([]byte{0x33}, 32)), Epoch: 2, Node: hex.EncodeToString(bytes.Repeat([]byte{0x44}, 32)), Shard: 1})
	return g
}

// goldenSource encodes the blobs of r and stores them on every shard.
func goldenSource(t *testing.T, r goldenResponse) (*encoding.Codec, *memSource) {
	t.Helper()
	codec, err := encoding.New(r.N)
	if err != nil {
		t.Fatal(err)
	}
	src := newMemSource(r.N)
	for _, size := range r.Sizes {
		enc, err := codec.Encode(oracleBlob(size, r.BlobSeed))
		if err != nil {
			t.Fatal(err)
		}
		src.add(enc)
	}
	return codec, src
}

// makeGoldenResponse fills in the challenge and response of r's inputs.
func makeGoldenResponse(t *testing.T, r goldenResponse) goldenResponse {
	t.Helper()
	codec, src := goldenSource(t, r)
	ch, err := Derive(hex32(r.Seed), r.Epoch, r.N, hex32(r.Node), r.Shard, slices.Values(src.ids))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := NewProver(codec, src, nil).Prove(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	r.Challenge = hex.EncodeToString(ch.MarshalBCS())
	r.Response = hex.EncodeToString(resp.MarshalBCS())
	return r
}

// TestGolden: the implementation derives the documented challenges (checked
// both against the spelled-out derivation of specChallenge and against the
// committed vectors) and the committed response. -update writes the vectors
// from specChallenge, not from the implementation, so a change of the
// implementation cannot bless itself.
func TestGolden(t *testing.T) {
	want := makeGolden(t)
	if *update {
		b, err := json.MarshalIndent(want, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(goldenPath), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.FromSlash(goldenPath))
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var got goldenFile
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Challenges) != len(goldenCases) {
		t.Fatalf("%d challenge vectors, want %d", len(got.Challenges), len(goldenCases))
	}
	for i, g := range got.Challenges {
		t.Run(g.Name, func(t *testing.T) {
			var ids []encoding.BlobID
			for _, h := range got.BlobSets[g.BlobSet] {
				ids = append(ids, hex32(h))
			}
			ch, err := Derive(hex32(g.Seed), g.Epoch, g.N, hex32(g.Node), g.Shard, slices.Values(ids))
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(ch.MarshalBCS()); h != g.Challenge {
				t.Fatalf("derived challenge differs from the vector\n got %.120s…\nwant %.120s…", h, g.Challenge)
			}
			if d := ch.Digest(); hex.EncodeToString(d[:]) != g.Digest {
				t.Fatalf("digest %x, want %s", d, g.Digest)
			}
			w := want.Challenges[i]
			if w.Challenge != g.Challenge || w.StartPoint != g.StartPoint || !slices.Equal(w.FirstOrder, g.FirstOrder) {
				t.Fatal("the documented derivation (specChallenge) differs from the vector")
			}
			back, err := UnmarshalChallenge(ch.MarshalBCS())
			if err != nil || !bytes.Equal(back.MarshalBCS(), ch.MarshalBCS()) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	t.Run("response", func(t *testing.T) {
		g := got.Response
		if w := want.Response; w.Response != g.Response || w.Challenge != g.Challenge {
			t.Fatal("the honest response differs from the vector")
		}
		_, src := goldenSource(t, g)
		cb, _ := hex.DecodeString(g.Challenge)
		ch, err := UnmarshalChallenge(cb)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := hex.DecodeString(g.Response)
		if err := mustVerifier(t, g.N, src, nil).Verify(context.Background(), ch, bytes.NewReader(rb)); err != nil {
			t.Fatalf("the golden response does not verify: %v", err)
		}
	})
}
