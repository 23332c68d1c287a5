package quilt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// smallVectors returns the bytes and shard count of the vectors small
// enough to be kept inline.
func smallVectors(f *testing.F) (out []struct {
	data []byte
	n    int
}) {
	for _, v := range loadVectors(f) {
		if v.QuiltHex == "" {
			continue
		}
		b, _ := hex.DecodeString(v.QuiltHex)
		out = append(out, struct {
			data []byte
			n    int
		}{b, v.N})
	}
	return out
}

// FuzzUnmarshalIndex: an index that decodes re-encodes to the same bytes
// (BCS is canonical), and lies within the columns it was given.
func FuzzUnmarshalIndex(f *testing.F) {
	for _, v := range smallVectors(f) {
		q, err := Open(v.data, v.n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(q.Index.MarshalBCS(), q.Index.Columns, q.Cols)
	}
	f.Add([]byte{0}, 1, 7)
	f.Fuzz(func(t *testing.T, b []byte, first, cols int) {
		ix, err := UnmarshalIndex(b, first, cols)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if got := ix.MarshalBCS(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %x, decoded from %x", got, b)
		}
		start := first
		for _, p := range ix.Patches {
			if p.Start != start || p.End <= p.Start || p.End > cols || p.Tags == nil {
				t.Fatalf("patch %+v (expected start %d, %d columns)", p, start, cols)
			}
			start = p.End
		}
	})
}

// FuzzOpen: whatever Open and the readers accept reads the same from the
// whole quilt and from only the columns a patch occupies, and encodes
// again into a quilt holding the same blobs.
func FuzzOpen(f *testing.F) {
	for _, v := range smallVectors(f) {
		if v.n == 10 {
			f.Add(v.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const n = 10
		q, err := Open(data, n)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("Open: error %v of no kind", err)
			}
			return
		}
		var blobs []Blob
		for _, p := range q.Index.Patches {
			b, err := q.Blob(p.Identifier)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
					t.Fatalf("Blob: error %v of no kind", err)
				}
				continue
			}
			cols, err := NewColumns(n)
			if err != nil {
				t.Fatal(err)
			}
			for j := p.Start; j < p.End; j++ {
				if err := cols.Add(encoding.Sliver{Axis: encoding.Secondary, Index: uint16(j), Data: q.Column(j)}); err != nil {
					t.Fatal(err)
				}
			}
			if first, ok := q.Index.Find(p.Identifier); ok && first.Start != p.Start {
				continue // a repeated identifier: Blob read the first
			}
			c, err := cols.Blob(p)
			if err != nil || c.Identifier != b.Identifier || !bytes.Equal(c.Data, b.Data) || !maps.Equal(c.Tags, b.Tags) {
				t.Fatalf("from columns: %+v, %v; from the quilt %+v", c, err, b)
			}
			blobs = append(blobs, b)
		}
		if len(blobs) != len(q.Index.Patches) || len(blobs) == 0 {
			return
		}
		again, err := Encode(blobs, n)
		if err != nil {
			if errors.Is(err, ErrDuplicateIdentifier) {
				return
			}
			t.Fatalf("re-encoding what decoded: %v", err)
		}
		for _, b := range blobs {
			got, err := again.Blob(b.Identifier)
			if err != nil || !bytes.Equal(got.Data, b.Data) || !maps.Equal(got.Tags, b.Tags) {
				t.Fatalf("re-encoded %q: %+v, %v", b.Identifier, got, err)
			}
		}
	})
}

// FuzzBlobByPatchID: a patch ID read from the whole quilt and from only its
// columns gives the same blob or the same kind of error.
func FuzzBlobByPatchID(f *testing.F) {
	for _, v := range smallVectors(f) {
		if v.n == 10 {
			f.Add(v.data, uint16(1), uint16(3))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, start, end uint16) {
		const n = 10
		q, err := Open(data, n)
		if err != nil {
			return
		}
		id := PatchID{Start: start, End: end}
		whole, werr := q.BlobByPatchID(id)
		cols, _ := NewColumns(n)
		for j := int(start); j < int(end) && j < q.Cols; j++ {
			cols.Add(encoding.Sliver{Axis: encoding.Secondary, Index: uint16(j), Data: q.Column(j)})
		}
		part, perr := cols.BlobByPatchID(id)
		if (werr == nil) != (perr == nil) {
			t.Fatalf("whole quilt: %v; columns: %v", werr, perr)
		}
		if werr == nil && (whole.Identifier != part.Identifier || !bytes.Equal(whole.Data, part.Data)) {
			t.Fatalf("whole quilt %+v, columns %+v", whole, part)
		}
		if werr != nil && !errors.Is(werr, ErrMalformed) && !errors.Is(werr, ErrVersion) && !errors.Is(werr, ErrInvalidPatchID) {
			t.Fatalf("error %v of no kind", werr)
		}
	})
}

// FuzzParseBlobHeader: a header that parses marshals back to its bytes.
func FuzzParseBlobHeader(f *testing.F) {
	f.Add([]byte{1, 7, 0, 0, 0, 1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseBlobHeader(b)
		if err != nil {
			return
		}
		if got, _ := h.MarshalBinary(); !bytes.Equal(got, b) {
			t.Fatalf("MarshalBinary = %x, parsed from %x", got, b)
		}
	})
}

// FuzzParseQuiltPatchID: an ID that parses prints back as the same text,
// and its binary patch ID parses to the same value.
func FuzzParseQuiltPatchID(f *testing.F) {
	for _, v := range loadVectors(f) {
		for _, p := range v.Index {
			f.Add(p.PatchID)
		}
	}
	f.Add("uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iABAQANAA")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseQuiltPatchID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPatchID) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v of no kind", err)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("String = %s, parsed from %s", id, s)
		}
		pb := id.Patch.Bytes()
		if p, err := ParsePatchID(pb[:]); err != nil || p != id.Patch {
			t.Fatalf("ParsePatchID(%x) = %+v, %v", pb, p, err)
		}
	})
}
