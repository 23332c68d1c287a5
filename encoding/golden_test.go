package encoding

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// vector is one golden vector made by Walrus's own encoder (testdata/gen.sh).
type vector struct {
	N               int      `json:"n"`
	Size            int      `json:"size"`
	Seed            uint32   `json:"seed"`
	SymbolSize      int      `json:"symbol_size"`
	Rows            int      `json:"rows"`
	Cols            int      `json:"cols"`
	BlobID          string   `json:"blob_id"`
	BlobIDHex       string   `json:"blob_id_hex"`
	PrimaryHashes   []string `json:"primary_hashes"`
	SecondaryHashes []string `json:"secondary_hashes"`
	PrimaryBCS      []string `json:"primary_slivers_bcs"`
	SecondaryBCS    []string `json:"secondary_slivers_bcs"`
	name            string
}

// oracleBlob makes the vector's bytes: x = seed; x = x·1103515245 + 12345 mod
// 2^32; byte = x >> 24.
func oracleBlob(size int, seed uint32) []byte {
	b := make([]byte, size)
	x := seed
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 24)
	}
	return b
}

var (
	vectorsOnce sync.Once
	vectorsAll  []*vector
	vectorsErr  error
)

func loadVectors(t testing.TB) []*vector {
	t.Helper()
	vectorsOnce.Do(func() {
		files, _ := filepath.Glob("testdata/*.json.gz")
		for _, f := range files {
			v, err := readVector(f)
			if err != nil {
				vectorsErr = err
				return
			}
			vectorsAll = append(vectorsAll, v)
		}
	})
	if vectorsErr != nil {
		t.Fatal(vectorsErr)
	}
	if len(vectorsAll) == 0 {
		t.Fatal("no golden vectors in testdata/")
	}
	return vectorsAll
}

func readVector(path string) (*vector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	v := &vector{name: strings.TrimSuffix(filepath.Base(path), ".json.gz")}
	return v, json.Unmarshal(raw, v)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenVectors encodes every vector with each Reed-Solomon encoder
// (klauspost's and the pure-Go one) and compares hashes, blob ID and
// slivers with the oracle's; the oracle's slivers must verify.
func TestGoldenVectors(t *testing.T) {
	for _, mode := range []rsMode{rsKlauspost, rsPureGo} {
		for _, v := range loadVectors(t) {
			t.Run(fmt.Sprintf("rs=%d/%s", mode, v.name), func(t *testing.T) {
				testGoldenVector(t, v, mode)
			})
		}
	}
}

func testGoldenVector(t *testing.T, v *vector, mode rsMode) {
	if testing.Short() && v.N*v.N > 100*100 {
		t.Skip("large n in -short mode")
	}
	if mode == rsPureGo && raceTest && v.N*v.N*v.SymbolSize > 1000*1000 {
		t.Skip("large pure-Go encode under the race detector (TestLeopardMatchesKlauspost covers the shape)")
	}
	t.Parallel()
	c, err := New(v.N)
	if err != nil {
		t.Fatal(err)
	}
	c.rs = mode
	p := c.Params()
	if p.Rows != v.Rows || p.Cols != v.Cols {
		t.Fatalf("params rows=%d cols=%d, oracle rows=%d cols=%d", p.Rows, p.Cols, v.Rows, v.Cols)
	}
	if s, _ := p.SymbolSize(uint64(v.Size)); s != v.SymbolSize {
		t.Fatalf("symbol size %d, oracle %d", s, v.SymbolSize)
	}
	enc, err := c.Encode(oracleBlob(v.Size, v.Seed))
	if err != nil {
		t.Fatal(err)
	}
	for i := range v.N {
		if got := hex.EncodeToString(enc.Metadata.Hashes[i].Primary[:]); got != v.PrimaryHashes[i] {
			t.Fatalf("pair %d primary hash %s, oracle %s", i, got, v.PrimaryHashes[i])
		}
		if got := hex.EncodeToString(enc.Metadata.Hashes[i].Secondary[:]); got != v.SecondaryHashes[i] {
			t.Fatalf("pair %d secondary hash %s, oracle %s", i, got, v.SecondaryHashes[i])
		}
	}
	if enc.BlobID.String() != v.BlobID || hex.EncodeToString(enc.BlobID[:]) != v.BlobIDHex {
		t.Fatalf("blob ID %s, oracle %s", enc.BlobID, v.BlobID)
	}
	// Under the race detector the largest vectors are encoded once only.
	large := raceTest && v.N*v.N*v.SymbolSize > 1000*1000
	if !large {
		md, id, err := c.ComputeMetadata(oracleBlob(v.Size, v.Seed))
		if err != nil {
			t.Fatal(err)
		}
		if id != enc.BlobID || !bytes.Equal(md.MarshalBCS(), enc.Metadata.MarshalBCS()) {
			t.Fatalf("ComputeMetadata: blob ID %s, Encode's %s", id, enc.BlobID)
		}
		// ComputeMetadata runs Encode's expansion where it holds less: check
		// the rows-first one on every vector too.
		x, err := c.expandMetadata(oracleBlob(v.Size, v.Seed), v.SymbolSize)
		if err != nil {
			t.Fatal(err)
		}
		if xm := x.metadata(v.Size); !bytes.Equal(xm.MarshalBCS(), enc.Metadata.MarshalBCS()) {
			t.Fatal("expandMetadata's metadata differs from Encode's")
		}
	}
	for i, h := range v.PrimaryBCS {
		pair := enc.Pair(i)
		if got := pair.Primary.MarshalBCS(); !bytes.Equal(got, mustHex(t, h)) {
			t.Fatalf("pair %d primary sliver BCS differs from the oracle's", i)
		}
		if got := pair.Secondary.MarshalBCS(); !bytes.Equal(got, mustHex(t, v.SecondaryBCS[i])) {
			t.Fatalf("pair %d secondary sliver BCS differs from the oracle's", i)
		}
		if raceTest && mode == rsPureGo {
			continue // VerifySliver's pure-Go path is covered without -race
		}
		for _, sl := range []Sliver{pair.Primary, pair.Secondary} {
			if err := c.VerifySliver(enc.Metadata, &sl); err != nil {
				t.Fatalf("pair %d: %v", i, err)
			}
		}
	}
	if err := enc.Metadata.Verify(enc.BlobID, v.N); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenOneByteOver checks that one byte over each vector's maximum fails.
func TestMaxBlobSize(t *testing.T) {
	for _, n := range []int{4, 7, 10, 19, 100, 300, 1000, MaxShards} {
		p, err := NewParams(n)
		if err != nil {
			t.Fatal(err)
		}
		max := p.MaxBlobSize()
		if s, err := p.SymbolSize(max); err != nil || s != MaxSymbolSize {
			t.Errorf("n=%d: SymbolSize(max=%d) = %d, %v; want %d", n, max, s, err, MaxSymbolSize)
		}
		_, err = p.SymbolSize(max + 1)
		var tl *TooLargeError
		if !errors.Is(err, ErrBlobTooLarge) || !errors.As(err, &tl) || tl.Max != max || tl.N != n {
			t.Errorf("n=%d: SymbolSize(max+1) error = %v, want a TooLargeError with max %d", n, err, max)
		}
	}
	// Encoding one byte over the maximum fails before allocating the matrix.
	c, _ := New(4)
	if _, err := c.Encode(make([]byte, c.MaxBlobSize()+1)); !errors.Is(err, ErrBlobTooLarge) {
		t.Fatalf("Encode(max+1) error = %v, want ErrBlobTooLarge", err)
	}
}

// TestGoldenVectorsBothLayouts encodes the vectors once with one symbol per
// work unit, where the codes run on the slivers' own memory (encodeSplit),
// and once with many symbols per unit, packed (pack.go): whichever the
// machine's core count picks, both paths must give the oracle's bytes.
func TestGoldenVectorsBothLayouts(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.N*v.N*v.SymbolSize > 100*100*1024 || len(v.PrimaryBCS) == 0 && v.N > 100 {
			continue
		}
		for _, split := range []bool{true, false} {
			t.Run(fmt.Sprintf("split=%v/%s", split, v.name), func(t *testing.T) {
				t.Parallel()
				c, err := New(v.N)
				if err != nil {
					t.Fatal(err)
				}
				c.rs = rsKlauspost
				if split {
					c.scratchBytes = 1
				} else {
					c.scratchBytes, c.workers = 1<<40, 1
				}
				enc, err := c.Encode(oracleBlob(v.Size, v.Seed))
				if err != nil {
					t.Fatal(err)
				}
				if enc.BlobID.String() != v.BlobID {
					t.Fatalf("blob ID %s, oracle %s", enc.BlobID, v.BlobID)
				}
				for i, h := range v.PrimaryBCS {
					pair := enc.Pair(i)
					if !bytes.Equal(pair.Primary.MarshalBCS(), mustHex(t, h)) || !bytes.Equal(pair.Secondary.MarshalBCS(), mustHex(t, v.SecondaryBCS[i])) {
						t.Fatalf("pair %d differs from the oracle's", i)
					}
				}
			})
		}
	}
}
