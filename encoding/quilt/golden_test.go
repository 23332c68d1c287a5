package quilt

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

var update = flag.Bool("update", false, "rewrite testdata/spans.golden (our own output) from the vectors")

// vector is one golden quilt made by Mysten's TypeScript SDK (testdata/gen.sh).
type vector struct {
	Name        string     `json:"name"`
	N           int        `json:"n"`
	Files       []vecFile  `json:"files"`
	Error       string     `json:"error"`
	QuiltLen    int        `json:"quilt_len"`
	QuiltSHA256 string     `json:"quilt_sha256"`
	QuiltHex    string     `json:"quilt_hex"`
	QuiltID     string     `json:"quilt_id"`
	Index       []vecPatch `json:"index"`
}

type vecFile struct {
	Identifier json.RawMessage   `json:"identifier"`
	Size       int               `json:"size"`
	Seed       uint32            `json:"seed"`
	Tags       map[string]string `json:"tags"`
}

type vecPatch struct {
	Identifier string            `json:"identifier"`
	Start      int               `json:"start"`
	End        int               `json:"end"`
	Tags       map[string]string `json:"tags"`
	PatchID    string            `json:"patch_id"`
}

// oracleBytes makes a file's bytes as the oracle does: x = seed; x =
// x·1103515245 + 12345 mod 2^32; byte = x >> 24.
func oracleBytes(size int, seed uint32) []byte {
	b := make([]byte, size)
	x := seed
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 24)
	}
	return b
}

// blobs returns the vector's files as blobs, in the vector's order.
func (v *vector) blobs(t testing.TB) []Blob {
	t.Helper()
	out := make([]Blob, len(v.Files))
	for i, f := range v.Files {
		var id string
		if err := json.Unmarshal(f.Identifier, &id); err != nil {
			var rep struct {
				Repeat string `json:"repeat"`
				Count  int    `json:"count"`
			}
			if err := json.Unmarshal(f.Identifier, &rep); err != nil {
				t.Fatalf("%s: identifier %s: %v", v.Name, f.Identifier, err)
			}
			id = strings.Repeat(rep.Repeat, rep.Count)
		}
		out[i] = Blob{Identifier: id, Tags: f.Tags, Data: oracleBytes(f.Size, f.Seed)}
	}
	return out
}

var (
	vectorsOnce sync.Once
	vectorsAll  []*vector
	vectorsErr  error
)

func loadVectors(t testing.TB) []*vector {
	t.Helper()
	vectorsOnce.Do(func() {
		f, err := os.Open("testdata/vectors.json.gz")
		if err != nil {
			vectorsErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			vectorsErr = err
			return
		}
		vectorsErr = json.NewDecoder(zr).Decode(&vectorsAll)
	})
	if vectorsErr != nil {
		t.Fatalf("loading vectors: %v", vectorsErr)
	}
	if len(vectorsAll) < 10 {
		t.Fatalf("only %d vectors", len(vectorsAll))
	}
	return vectorsAll
}

var vectorErrors = map[string]error{
	"too_many_blobs":       ErrTooManyBlobs,
	"duplicate_identifier": ErrDuplicateIdentifier,
}

// blobIDCheck reports whether to recompute the quilt ID of a vector: the RS2
// encode at n = 1000 takes seconds under the race detector, and package
// encoding checks that code against its own vectors.
func blobIDCheck(n int) bool { return n <= 100 || !testing.Short() && !raceEnabled }

// TestGolden encodes every vector's files and compares the quilt's bytes,
// its blob ID, index and patch IDs with the SDK's; then reads every patch
// back from the SDK's bytes, by identifier and by patch ID.
func TestGolden(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			blobs := v.blobs(t)
			q, err := Encode(blobs, v.N)
			if v.Error != "" {
				if want := vectorErrors[v.Error]; want == nil || !errors.Is(err, want) {
					t.Fatalf("Encode: %v, want %s", err, v.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(q.Data) != v.QuiltLen {
				t.Fatalf("quilt of %d bytes, want %d", len(q.Data), v.QuiltLen)
			}
			if got := fmt.Sprintf("%x", sha256.Sum256(q.Data)); got != v.QuiltSHA256 {
				t.Fatalf("quilt SHA-256 %s, want %s", got, v.QuiltSHA256)
			}
			data := q.Data
			if v.QuiltHex != "" {
				want, _ := hex.DecodeString(v.QuiltHex)
				if !bytes.Equal(q.Data, want) {
					t.Fatalf("quilt bytes differ:\n got %x\nwant %x", q.Data, want)
				}
				data = want
			}
			quiltID, err := encoding.ParseBlobID(v.QuiltID)
			if err != nil {
				t.Fatal(err)
			}
			if blobIDCheck(v.N) {
				c, err := encoding.New(v.N)
				if err != nil {
					t.Fatal(err)
				}
				enc, err := c.Encode(q.Data)
				if err != nil {
					t.Fatal(err)
				}
				if enc.BlobID != quiltID {
					t.Fatalf("quilt ID %s, want %s", enc.BlobID, quiltID)
				}
			}
			checkIndex(t, "Encode", q.Index, v)
			for i, p := range q.Index.Patches {
				id := QuiltPatchID{QuiltID: quiltID, Patch: p.ID()}
				if id.String() != v.Index[i].PatchID {
					t.Errorf("patch %d: ID %s, want %s", i, id, v.Index[i].PatchID)
				}
			}

			opened, err := Open(data, v.N)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			checkIndex(t, "Open", opened.Index, v)
			want := map[string]Blob{}
			for _, b := range blobs {
				want[b.Identifier] = b
			}
			for _, vp := range v.Index {
				b, err := opened.Blob(vp.Identifier)
				if err != nil {
					t.Fatalf("Blob(%.20q): %v", vp.Identifier, err)
				}
				checkBlob(t, b, want[vp.Identifier])
				id, err := ParseQuiltPatchID(vp.PatchID)
				if err != nil {
					t.Fatalf("ParseQuiltPatchID(%s): %v", vp.PatchID, err)
				}
				if id.String() != vp.PatchID || id.QuiltID != quiltID {
					t.Fatalf("ParseQuiltPatchID(%s) = %s (quilt %s)", vp.PatchID, id, id.QuiltID)
				}
				b, err = opened.BlobByPatchID(id.Patch)
				if err != nil {
					t.Fatalf("BlobByPatchID(%s): %v", vp.PatchID, err)
				}
				checkBlob(t, b, want[vp.Identifier])
			}
			all, err := opened.Blobs()
			if err != nil || len(all) != len(blobs) {
				t.Fatalf("Blobs: %d blobs, %v", len(all), err)
			}
		})
	}
}

func checkIndex(t *testing.T, what string, ix *Index, v *vector) {
	t.Helper()
	if len(ix.Patches) != len(v.Index) {
		t.Fatalf("%s: %d patches, want %d", what, len(ix.Patches), len(v.Index))
	}
	for i, p := range ix.Patches {
		w := v.Index[i]
		if p.Identifier != w.Identifier || p.Start != w.Start || p.End != w.End || !maps.Equal(p.Tags, w.Tags) {
			t.Errorf("%s: patch %d = {%.30q %v [%d,%d)}, want {%.30q %v [%d,%d)}", what, i,
				p.Identifier, p.Tags, p.Start, p.End, w.Identifier, w.Tags, w.Start, w.End)
		}
	}
	if len(ix.Patches) > 0 && ix.Columns != ix.Patches[0].Start {
		t.Errorf("%s: index takes %d columns, first patch at %d", what, ix.Columns, ix.Patches[0].Start)
	}
}

func checkBlob(t *testing.T, got, want Blob) {
	t.Helper()
	if got.Identifier != want.Identifier || !bytes.Equal(got.Data, want.Data) || got.Tags == nil || len(got.Tags)+len(want.Tags) > 0 && !maps.Equal(got.Tags, want.Tags) {
		t.Fatalf("blob %.30q (%d bytes, tags %v), want %.30q (%d bytes, tags %v)", got.Identifier, len(got.Data), got.Tags, want.Identifier, len(want.Data), want.Tags)
	}
}

// TestColumnsGolden encodes each vector's quilt with RS2 and reads the index
// and every patch from only the secondary slivers the reader needs, as a
// client does. n = 1000 is left out under -short and the race detector.
func TestColumnsGolden(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Error != "" || !blobIDCheck(v.N) {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			q, err := Encode(v.blobs(t), v.N)
			if err != nil {
				t.Fatal(err)
			}
			c, err := encoding.New(v.N)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := c.Encode(q.Data)
			if err != nil {
				t.Fatal(err)
			}
			for j := range q.Cols {
				if !bytes.Equal(enc.Secondary[j].Data, q.Column(j)) {
					t.Fatalf("column %d is not secondary sliver %d", j, j)
				}
				if pair := enc.Pair(SecondarySliverPair(j, v.N)); pair.Secondary.Index != uint16(j) {
					t.Fatalf("SecondarySliverPair(%d) holds secondary sliver %d", j, pair.Secondary.Index)
				}
			}
			// The index: column 0 first, then what it asks for.
			cols, err := NewColumns(v.N, enc.Secondary[0])
			if err != nil {
				t.Fatal(err)
			}
			ix, err := cols.Index()
			var miss *MissingColumnsError
			for rounds := 0; err != nil; rounds++ {
				if !errors.As(err, &miss) || rounds > 1 {
					t.Fatalf("Index: %v", err)
				}
				for _, j := range miss.Columns {
					if err := cols.Add(enc.Secondary[j]); err != nil {
						t.Fatal(err)
					}
				}
				ix, err = cols.Index()
			}
			checkIndex(t, "Columns.Index", ix, v)
			for _, p := range ix.Patches {
				only, err := NewColumns(v.N, enc.Secondary[p.Start:p.End]...)
				if err != nil {
					t.Fatal(err)
				}
				want, err := q.Blob(p.Identifier)
				if err != nil {
					t.Fatal(err)
				}
				got, err := only.Blob(p)
				if err != nil {
					t.Fatalf("Blob(%.20q) from columns [%d,%d): %v", p.Identifier, p.Start, p.End, err)
				}
				checkBlob(t, got, want)
				got, err = only.BlobByPatchID(p.ID())
				if err != nil {
					t.Fatal(err)
				}
				checkBlob(t, got, want)
				if p.End-p.Start > 1 {
					short, _ := NewColumns(v.N, enc.Secondary[p.Start:p.End-1]...)
					if _, err := short.Blob(p); !errors.As(err, &miss) || len(miss.Columns) != 1 || miss.Columns[0] != p.End-1 {
						t.Fatalf("without column %d: %v", p.End-1, err)
					}
				}
			}
		})
	}
}

// TestSpansGolden pins, for every vector, the slivers each patch occupies
// (our output, regenerated with -update): its columns (secondary slivers),
// the sliver pairs holding them, and its byte range in every primary
// sliver.
func TestSpansGolden(t *testing.T) {
	var out strings.Builder
	for _, v := range loadVectors(t) {
		if v.Error != "" {
			fmt.Fprintf(&out, "%s n=%d: %s\n", v.Name, v.N, v.Error)
			continue
		}
		q, err := Encode(v.blobs(t), v.N)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "%s n=%d rows=%d cols=%d symbol=%d column=%d index_columns=%d\n",
			v.Name, v.N, q.Rows, q.Cols, q.SymbolSize, q.ColumnSize(), q.Index.Columns)
		for _, p := range q.Index.Patches {
			start, end := p.ID().Columns()
			from, to := p.ID().PrimaryRange(q.SymbolSize)
			fmt.Fprintf(&out, "  secondary [%d,%d) pairs %d..%d primary bytes [%d,%d) %.24q\n",
				start, end, SecondarySliverPair(start, v.N), SecondarySliverPair(end-1, v.N), from, to, p.Identifier)
		}
	}
	const path = "testdata/spans.golden"
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Fatalf("spans differ from %s (run with -update if intended):\n%s", path, out.String())
	}
}
