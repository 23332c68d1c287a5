package encoding

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestMetadataBCSGolden pins the metadata layout byte for byte.
func TestMetadataBCSGolden(t *testing.T) {
	md := &Metadata{EncodingType: RS2, UnencodedLength: 0x0102030405060708}
	for i := range 4 {
		var p, s Hash
		for k := range p {
			p[k] = byte(0x10*i + 1)
			s[k] = byte(0x10*i + 2)
		}
		md.Hashes = append(md.Hashes, SliverPairHashes{p, s})
	}
	got := hex.EncodeToString(md.MarshalBCS())
	want := "00" + "01" + "0807060504030201" + "04"
	for i := range 4 {
		want += "01" + strings.Repeat(hex.EncodeToString([]byte{byte(0x10*i + 1)}), 32)
		want += "01" + strings.Repeat(hex.EncodeToString([]byte{byte(0x10*i + 2)}), 32)
	}
	if got != want {
		t.Fatalf("metadata BCS\n got %s\nwant %s", got, want)
	}
	back, err := UnmarshalMetadata(md.MarshalBCS())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.MarshalBCS(), md.MarshalBCS()) || back.UnencodedLength != md.UnencodedLength {
		t.Fatal("metadata round trip differs")
	}
}

func TestUnmarshalMetadataErrors(t *testing.T) {
	_, enc, _ := encodeRandom(t, 4, 100, 1)
	good := enc.Metadata.MarshalBCS()
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"version 1", append([]byte{1}, good[1:]...)},
		{"encoding type 2", append([]byte{0, 2}, good[2:]...)},
		{"3 pairs", append(append([]byte{}, good[:10]...), append([]byte{3}, good[11:11+3*66]...)...)},
		{"empty node", func() []byte { b := bytes.Clone(good); b[11] = 0; return b }()},
		{"non-canonical count", append(append(append([]byte{}, good[:10]...), 0x84, 0x00), good[11:]...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if md, err := UnmarshalMetadata(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, %v; want ErrMalformed", md, err)
			}
		})
	}
}

func TestSliverBCS(t *testing.T) {
	s := Sliver{Axis: Secondary, Index: 0x0102, SymbolSize: 4, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	if got, want := hex.EncodeToString(s.MarshalBCS()), "08"+"0102030405060708"+"0400"+"0201"; got != want {
		t.Fatalf("sliver BCS %s, want %s", got, want)
	}
	back, err := UnmarshalSliver(Secondary, s.MarshalBCS())
	if err != nil || back.Index != s.Index || back.SymbolSize != 4 || !bytes.Equal(back.Data, s.Data) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for name, b := range map[string][]byte{
		"empty":            nil,
		"truncated":        s.MarshalBCS()[:5],
		"odd symbol size":  {2, 1, 2, 3, 0, 0, 0},
		"zero symbol size": {2, 1, 2, 0, 0, 0, 0},
		"size not divided": {3, 1, 2, 3, 2, 0, 0, 0},
		"trailing":         append(s.MarshalBCS(), 9),
	} {
		if _, err := UnmarshalSliver(Primary, b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestRecoverySymbolBCS(t *testing.T) {
	r := RecoverySymbol{SourceAxis: Secondary, SourceIndex: 3, TargetIndex: 0x0201, Data: []byte{0xaa, 0xbb}, Proof: MerkleProof{{1}, {2}}}
	b := r.MarshalBCS()
	want := "01" + "0300" + "0102" + "02aabb" + "02" + "01" + strings.Repeat("00", 31) + "02" + strings.Repeat("00", 31)
	if hex.EncodeToString(b) != want {
		t.Fatalf("recovery symbol BCS %x, want %s", b, want)
	}
	back, err := UnmarshalRecoverySymbol(b)
	if err != nil || !bytes.Equal(back.MarshalBCS(), b) {
		t.Fatalf("round trip: %v", err)
	}
	for name, bad := range map[string][]byte{
		"axis 2":     append([]byte{2}, b[1:]...),
		"truncated":  b[:len(b)-1],
		"odd symbol": {0, 0, 0, 0, 0, 1, 0xaa, 0},
		"long proof": append([]byte{0, 0, 0, 0, 0, 2, 0xaa, 0xbb, 17}, make([]byte, 17*32)...),
	} {
		if _, err := UnmarshalRecoverySymbol(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestMerkleProofs(t *testing.T) {
	for n := 1; n <= 33; n++ {
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i] = LeafHash([]byte{byte(i), byte(n)})
		}
		tree := NewMerkleTree(append([]Hash(nil), leaves...))
		root := tree.Root()
		if got := MerkleRoot(append([]Hash(nil), leaves...)); got != root {
			t.Fatalf("n=%d: MerkleRoot differs from the tree's root", n)
		}
		for i := range n {
			proof, err := tree.Proof(i)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.Verify(root, leaves[i], i, n); err != nil {
				t.Fatalf("n=%d leaf %d: %v", n, i, err)
			}
			if n > 1 {
				if err := proof.Verify(root, leaves[i], (i+1)%n, n); err == nil {
					t.Fatalf("n=%d leaf %d verifies at another index", n, i)
				}
			}
			other := leaves[i]
			other[0] ^= 1
			if err := proof.Verify(root, other, i, n); !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("n=%d leaf %d: a changed leaf verifies", n, i)
			}
		}
	}
	if MerkleRoot(nil) != (Hash{}) {
		t.Fatal("root of no leaves is not 32 zero bytes")
	}
	// A single leaf is its own root.
	l := LeafHash([]byte("x"))
	if MerkleRoot([]Hash{l}) != l {
		t.Fatal("root of one leaf")
	}
	// Odd levels pad with 32 zero bytes, not hashed.
	a, b, c := LeafHash([]byte("a")), LeafHash([]byte("b")), LeafHash([]byte("c"))
	ab, c0 := innerHash(&a, &b), innerHash(&c, &emptyNode)
	if MerkleRoot([]Hash{a, b, c}) != innerHash(&ab, &c0) {
		t.Fatal("odd level padding")
	}
}

func TestBlobIDText(t *testing.T) {
	id := ComputeBlobID(RS2, 5, Hash{1})
	s := id.String()
	if len(s) != BlobIDLen || strings.ContainsAny(s, "+/=") {
		t.Fatalf("blob ID text %q", s)
	}
	back, err := ParseBlobID(s)
	if err != nil || back != id {
		t.Fatalf("parse: %v", err)
	}
	for _, bad := range []string{"", s[:42], s + "A", "!" + s[1:], strings.Repeat("/", 43), s[:42] + "B"} {
		if _, err := ParseBlobID(bad); !errors.Is(err, ErrInvalidBlobID) {
			t.Errorf("ParseBlobID(%q) err = %v, want ErrInvalidBlobID", bad, err)
		}
	}
}

func TestShardMapping(t *testing.T) {
	var id BlobID
	id[31] = 7 // big-endian integer 7
	if got := id.ShardForPair(0, 5); got != 2 {
		t.Fatalf("pair 0 of n=5 with offset 7 mod 5 = 2: got shard %d", got)
	}
	id = ComputeBlobID(RS2, 1, Hash{9})
	for _, n := range []int{4, 10, 1000} {
		seen := make(map[int]bool)
		for pair := range n {
			s := id.ShardForPair(pair, n)
			if seen[s] || id.PairForShard(s, n) != pair {
				t.Fatalf("n=%d: mapping is not a bijection at pair %d", n, pair)
			}
			seen[s] = true
		}
	}
}

func TestParams(t *testing.T) {
	cases := []struct{ n, f, rows, cols int }{
		{4, 1, 2, 3}, {7, 2, 3, 5}, {10, 3, 4, 7}, {100, 33, 34, 67}, {1000, 333, 334, 667},
	}
	for _, tc := range cases {
		p, err := NewParams(tc.n)
		if err != nil || p.F != tc.f || p.Rows != tc.rows || p.Cols != tc.cols {
			t.Errorf("NewParams(%d) = %+v, %v", tc.n, p, err)
		}
	}
	for _, n := range []int{-1, 0, 3, MaxShards + 1, 65535} {
		if _, err := NewParams(n); !errors.Is(err, ErrInvalidShardCount) {
			t.Errorf("NewParams(%d) err = %v", n, err)
		}
	}
	// Walrus's encoded length for 1 byte at n = 1000: symbols of 2 bytes.
	p, _ := NewParams(1000)
	if got, _ := p.EncodedLength(1); got != 1000*((334+667)*2+1000*64+32) {
		t.Errorf("encoded length %d", got)
	}
	// MaxShards is the largest n whose column code fits GF(2^16).
	for _, n := range []int{MaxShards, MaxShards + 1} {
		p := Params{N: n, F: (n - 1) / 3, Rows: n - 2*((n-1)/3), Cols: n - (n-1)/3}
		fits := p.colK()+2*p.F <= 1<<16
		if fits != (n == MaxShards) {
			t.Errorf("n=%d: column code fits = %v", n, fits)
		}
	}
	if _, err := New(MaxShards); err != nil {
		t.Errorf("New(MaxShards): %v", err)
	}
}

// TestForestUnits checks the identity expandRows builds column trees on: the
// bottom hs levels of a tree's aligned parts of 2^hs leaves (the last one
// short), then the top levels over those parts' nodes, give the tree's root;
// and that zero subtrees taken from the cache change nothing.
func TestForestUnits(t *testing.T) {
	zt := newZeroTree(2)
	for _, n := range []int{1, 2, 3, 5, 8, 9, 31, 33, 64, 100, 127, 300} {
		leaves := make([]Hash, n)
		for i := range leaves {
			if i < n/2 || i%7 == 3 { // zero subtrees of every height
				leaves[i] = zt[0]
			} else {
				leaves[i] = LeafHash([]byte{byte(i), byte(n)})
			}
		}
		want := MerkleRoot(leaves)
		depth := merkleDepth(n)
		for hs := 0; hs <= depth; hs++ {
			g := 1 << hs
			var nh nodeHasher
			var tops []Hash
			for i0 := 0; i0 < n; i0 += g {
				part := leaves[i0:min(i0+g, n)]
				var top [1]Hash
				nh.forest(part, len(part), hs, zt, 0, top[:])
				tops = append(tops, top[0])
			}
			var got [1]Hash
			nh.forest(tops, len(tops), depth-hs, zt, hs, got[:])
			if got[0] != want {
				t.Fatalf("n=%d, parts of 2^%d: root differs from MerkleRoot", n, hs)
			}
		}
	}
}
