// Package quilttest gives tests of other packages the golden quilts of
// package quilt (encoding/quilt/testdata/vectors.json.gz, made by Mysten's
// TypeScript SDK): their files, quilt IDs and patch IDs.
package quilttest

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding/quilt"
)

// Vector is one golden quilt.
type Vector struct {
	Name string `json:"name"`
	// N is the shard count it was made for.
	N int `json:"n"`
	// QuiltID is the quilt's blob ID.
	QuiltID string `json:"quilt_id"`
	Files   []File `json:"files"`
	// Index lists the patches in the quilt's order.
	Index []Patch `json:"index"`
}

// File is one file of a vector, as given to the encoder.
type File struct {
	Identifier json.RawMessage   `json:"identifier"`
	Size       int               `json:"size"`
	Seed       uint32            `json:"seed"`
	Tags       map[string]string `json:"tags"`
}

// Patch is one patch of a vector's quilt.
type Patch struct {
	Identifier string            `json:"identifier"`
	Start      int               `json:"start"`
	End        int               `json:"end"`
	Tags       map[string]string `json:"tags"`
	PatchID    string            `json:"patch_id"`
}

// Load returns the golden quilt named name; it fails tb if there is none.
func Load(tb testing.TB, name string) Vector {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(file), "..", "testdata", "vectors.json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var vs []Vector
	if err := json.NewDecoder(zr).Decode(&vs); err != nil {
		tb.Fatal(err)
	}
	for _, v := range vs {
		if v.Name == name {
			return v
		}
	}
	tb.Fatalf("no golden quilt %q", name)
	return Vector{}
}

// Blobs returns the vector's files, in its order, with the oracle's bytes.
func (v Vector) Blobs(tb testing.TB) []quilt.Blob {
	tb.Helper()
	out := make([]quilt.Blob, len(v.Files))
	for i, f := range v.Files {
		var id string
		if err := json.Unmarshal(f.Identifier, &id); err != nil {
			var rep struct {
				Repeat string `json:"repeat"`
				Count  int    `json:"count"`
			}
			if err := json.Unmarshal(f.Identifier, &rep); err != nil {
				tb.Fatalf("%s: identifier %s: %v", v.Name, f.Identifier, err)
			}
			id = strings.Repeat(rep.Repeat, rep.Count)
		}
		out[i] = quilt.Blob{Identifier: id, Tags: f.Tags, Data: Bytes(f.Size, f.Seed)}
	}
	return out
}

// Bytes makes a file's bytes as the oracle does: x = seed; x =
// x·1103515245 + 12345 mod 2^32; byte = x >> 24.
func Bytes(size int, seed uint32) []byte {
	b := make([]byte, size)
	x := seed
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 24)
	}
	return b
}
