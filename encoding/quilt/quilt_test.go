package quilt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

func TestValidateIdentifier(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		// Walrus's own examples (validate_quilt_identifier).
		{"test", true}, {"test123", true}, {"123test", true}, {"a", true}, {"A123", true},
		{"_test", true}, {"-test", true}, {".test", true}, {"test blob", true},
		{"test-blob", true}, {"test_blob", true}, {"test.blob", true},
		{"", false}, {"test ", false}, {"test\t", false}, {"test\n", false}, {"test\r", false},
		{"test   ", false}, {"te\x08st", false}, {"\x1btest", false}, {"test\x00", false},
		{"test\x01", false}, {"test\x1f", false}, {"test\x7f", false}, {"test\u0080", false},
		{"test\u0081", false}, {"test\u009f", false},
		// Unicode white space at the end (Rust's trim_end), inside is fine.
		{"test\u00a0", false}, {"test\u3000", false}, {"a\u00a0b", true}, {" lead", true},
		{"日本語", true}, {"😀", true}, {"bad\xffutf8", false},
		{strings.Repeat("x", MaxIdentifierLen), true},
		{strings.Repeat("x", MaxIdentifierLen+1), false},
	} {
		err := ValidateIdentifier(tc.id)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidIdentifier) {
			t.Errorf("ValidateIdentifier(%.20q) = %v, want ok = %v", tc.id, err, tc.ok)
		}
	}
}

// TestSymbolSize runs Walrus's own table (test_quilt_find_min_length).
func TestSymbolSize(t *testing.T) {
	for _, tc := range []struct {
		sizes                 []uint64
		cols, rows, indexCols int
		want                  int
		err                   error
	}{
		{[]uint64{2, 1, 2, 1}, 3, 3, 1, 0, ErrTooManyBlobs},
		{[]uint64{1000, 1, 1}, 4, 7, 2, 72, nil},
		{nil, 3, 1, 1, 0, ErrNoBlobs},
		{[]uint64{1}, 3, 2, 1, 4, nil},
		{[]uint64{115, 80, 4}, 17, 9, 3, 6, nil},
		{[]uint64{20, 20, 20}, 3, 5, 2, 4, nil},
		{[]uint64{5, 5, 5}, 5, 1, 1, 6, nil},
		{[]uint64{25, 35, 45}, 200, 1, 3, 10, nil},
		{[]uint64{10, 0, 0, 0}, 17, 9, 2, 2, nil},
		{[]uint64{416, 253, 258, 384, 492, 303, 276, 464, 143, 251, 388, 263, 515, 433, 505,
			385, 346, 69, 48, 495, 329, 450, 494, 104, 539, 245, 109, 317, 60}, 34, 16, 3, 32, nil},
		// Over the largest symbol.
		{[]uint64{5, 3 * 65535}, 3, 1, 1, 0, ErrTooLarge},
	} {
		got, err := symbolSize(tc.sizes, tc.cols, tc.rows, tc.indexCols)
		if got != tc.want || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("symbolSize(%v, %d, %d, %d) = %d, %v; want %d, %v", tc.sizes, tc.cols, tc.rows, tc.indexCols, got, err, tc.want, tc.err)
		}
		if err == nil && !fits(tc.sizes, uint64(tc.cols), uint64(got*tc.rows)) {
			t.Errorf("symbolSize(%v): %d does not fit", tc.sizes, got)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	blob := func(id string) Blob { return Blob{Identifier: id, Data: []byte("x")} }
	many := func(k int) []Blob {
		out := make([]Blob, k)
		for i := range out {
			out[i] = blob(string(rune('a' + i)))
		}
		return out
	}
	bigTags := map[string]string{"k": strings.Repeat("v", MaxTagsSize)}
	for _, tc := range []struct {
		name  string
		blobs []Blob
		n     int
		opts  []Option
		want  error
	}{
		{"no blobs", nil, 10, nil, ErrNoBlobs},
		{"bad shard count", many(1), 3, nil, encoding.ErrInvalidShardCount},
		{"too many", many(7), 10, nil, ErrTooManyBlobs},
		{"duplicate", []Blob{blob("a"), blob("b"), blob("a")}, 10, nil, ErrDuplicateIdentifier},
		{"empty identifier", []Blob{blob("")}, 10, nil, ErrInvalidIdentifier},
		{"trailing space", []Blob{blob("a ")}, 10, nil, ErrInvalidIdentifier},
		{"identifier too long", []Blob{blob(strings.Repeat("i", MaxIdentifierLen+1))}, 10, nil, ErrInvalidIdentifier},
		{"tag not UTF-8", []Blob{{Identifier: "a", Tags: map[string]string{"k": "\xff"}}}, 10, nil, ErrInvalidTags},
		{"tags too large", []Blob{{Identifier: "a", Tags: bigTags}}, 10, nil, ErrInvalidTags},
		// n = 4: 2 rows × 3 columns of at most 65,534 bytes; two columns
		// for data: 262,136 bytes.
		{"symbol too large", []Blob{{Identifier: "a", Data: make([]byte, 2*2*65534)}}, 4, nil, ErrTooLarge},
		{"over max size", []Blob{{Identifier: "big", Data: make([]byte, 10000)}, blob("s")}, 10, []Option{WithMaxSize(10000)}, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Encode(tc.blobs, tc.n, tc.opts...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode = %v, %v; want %v", q, err, tc.want)
			}
		})
	}
	// The limits themselves are accepted.
	if _, err := Encode(many(6), 10); err != nil {
		t.Errorf("6 blobs at n = 10: %v", err)
	}
	if _, err := Encode([]Blob{{Identifier: "a", Data: make([]byte, 2*2*65534-BlobHeaderSize-4)}}, 4); err != nil {
		t.Errorf("largest blob at n = 4: %v", err)
	}
	almost := map[string]string{"k": strings.Repeat("v", MaxTagsSize-1-2-3)} // count, key, value length
	if _, err := Encode([]Blob{{Identifier: "a", Tags: almost}}, 10); err != nil {
		t.Errorf("tags of %d bytes: %v", MaxTagsSize, err)
	}
	if _, err := Encode([]Blob{{Identifier: "big", Data: make([]byte, 10000)}, blob("s")}, 10, WithMaxSize(1<<20)); err != nil {
		t.Errorf("under max size: %v", err)
	}
}

func TestEncodeDoesNotRetain(t *testing.T) {
	blobs := []Blob{{Identifier: "b", Data: []byte("bb"), Tags: map[string]string{"k": "v"}}, {Identifier: "a", Data: []byte("a")}}
	q, err := Encode(blobs, 10)
	if err != nil {
		t.Fatal(err)
	}
	if blobs[0].Identifier != "b" {
		t.Fatal("Encode reordered its argument")
	}
	blobs[0].Data[0], blobs[0].Tags["k"] = 'X', "changed"
	got, err := q.Blob("b")
	if err != nil || string(got.Data) != "bb" || got.Tags["k"] != "v" {
		t.Fatalf("Blob(b) = %q %v, %v", got.Data, got.Tags, err)
	}
	if p, _ := q.Index.Find("b"); p.Tags["k"] != "v" {
		t.Fatalf("index tags %v", p.Tags)
	}
}

func TestTagsBCS(t *testing.T) {
	// Entries are sorted by their keys' BCS bytes: the length comes first,
	// so "b" sorts before "aa" (Rust's bcs and the TypeScript SDK agree).
	got, err := marshalTags(map[string]string{"aa": "2", "b": "1", "": "0"})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{3, 0, 1, '0', 1, 'b', 1, '1', 2, 'a', 'a', 1, '2'}
	if !bytes.Equal(got, want) {
		t.Fatalf("marshalTags = %x, want %x", got, want)
	}
	if b, _ := marshalTags(nil); b != nil {
		t.Fatalf("no tags marshal to %x", b)
	}
	back, err := unmarshalTags(got)
	if err != nil || !maps.Equal(back, map[string]string{"aa": "2", "b": "1", "": "0"}) {
		t.Fatalf("unmarshalTags = %v, %v", back, err)
	}
	for _, bad := range [][]byte{
		{2, 2, 'a', 'a', 1, '2', 1, 'b', 1, '1'}, // not sorted
		{2, 1, 'b', 1, '1', 1, 'b', 1, '2'},      // duplicate key
		{1, 1, 'b', 1, '1', 0},                   // trailing byte
		{1, 1, 'b'},                              // truncated
		{1, 1, 0xff, 0},                          // key not UTF-8
		{0x80, 0},                                // non-canonical ULEB128
		{0x80, 0x80, 0x80, 0x80, 0x08},           // over 2^31 − 1
		{100, 1, 'b', 1, '1'},                    // count over the bytes
	} {
		if m, err := unmarshalTags(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("unmarshalTags(%x) = %v, %v; want ErrMalformed", bad, m, err)
		}
	}
}

// craft returns an all-zero quilt for n shards with symbols of s bytes.
func craft(t *testing.T, n, s int) *Quilt {
	t.Helper()
	p, err := encoding.NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	return &Quilt{Data: make([]byte, p.Rows*p.Cols*s), SymbolSize: s, Rows: p.Rows, Cols: p.Cols}
}

// indexBytes is an index's prefix and BCS form.
func indexBytes(b []byte) []byte {
	out := []byte{Version, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(out[1:], uint32(len(b)))
	return append(out, b...)
}

func TestOpenErrors(t *testing.T) {
	// n = 10: 4 rows, 7 columns; symbols of 8 bytes: columns of 32.
	good, err := Encode([]Blob{{Identifier: "a", Data: []byte("hello")}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	onePatch := func(end uint16, id string) []byte {
		b := []byte{1}
		b = binary.LittleEndian.AppendUint16(b, end)
		return append(appendBCSString(b, id), 0)
	}
	for _, tc := range []struct {
		name  string
		index []byte // written at column 0; nil leaves it zero
		raw   []byte // instead of a crafted quilt
		want  error
	}{
		{"empty", nil, []byte{}, ErrMalformed},
		{"not aligned", nil, make([]byte, 4*7*8+1), ErrMalformed},
		{"version", []byte{2, 0, 0, 0, 0, 0}, nil, ErrVersion},
		{"index over 10 columns", []byte{1, 0x2c, 0x01, 0, 0}, nil, ErrMalformed}, // 300 > 10·32 − 5
		{"index past the quilt", indexBytes(bytes.Repeat([]byte{0}, 7*32)), nil, ErrMalformed},
		{"trailing index byte", indexBytes(append(onePatch(2, "a"), 0)), nil, ErrMalformed},
		{"count over the bytes", indexBytes([]byte{200, 0}), nil, ErrMalformed},
		{"empty patch", indexBytes(onePatch(1, "a")), nil, ErrMalformed},
		{"patch past the columns", indexBytes(onePatch(8, "a")), nil, ErrMalformed},
		{"bad identifier", indexBytes(onePatch(2, "a ")), nil, ErrMalformed},
		{"identifier not UTF-8", indexBytes(onePatch(2, "\xff")), nil, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				q := craft(t, 10, 8)
				if tc.index != nil {
					q.write(tc.index, 0, 0)
				}
				data = q.Data
			}
			if q, err := Open(data, 10); !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, %v; want %v", q, err, tc.want)
			}
		})
	}
	if _, err := Open(good.Data, 3); !errors.Is(err, encoding.ErrInvalidShardCount) {
		t.Fatalf("Open at n = 3: %v", err)
	}
	// An index with no patches is a valid (useless) quilt.
	q := craft(t, 10, 8)
	q.write(indexBytes([]byte{0}), 0, 0)
	if got, err := Open(q.Data, 10); err != nil || len(got.Index.Patches) != 0 {
		t.Fatalf("empty index: %v, %v", got, err)
	}
}

func TestReadBlobErrors(t *testing.T) {
	// A quilt at n = 10 with symbols of 8 bytes (columns of 32), whose
	// index names one patch "a" at columns [1, 3); each case writes that
	// patch's bytes.
	header := func(length uint32, mask byte) []byte {
		b, _ := BlobHeader{Length: length, Mask: mask}.MarshalBinary()
		return b
	}
	ident := func(id string) []byte {
		b := binary.LittleEndian.AppendUint16(nil, uint16(bcsStringLen(id)))
		return appendBCSString(b, id)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name  string
		patch []byte
		id    PatchID // zero: by identifier "a"
		want  error
	}{
		{"ok", cat(header(4+4, 0), ident("a"), []byte("data")), PatchID{}, nil},
		{"ok by ID", cat(header(4+4, 0), ident("a"), []byte("data")), PatchID{1, 3}, nil},
		{"version", cat([]byte{2, 7, 0, 0, 0, 0}, ident("a")), PatchID{}, ErrVersion},
		{"length past the columns", cat(header(2*32-BlobHeaderSize+1, 0), ident("a")), PatchID{}, ErrMalformed},
		{"length past the patch ID's columns", cat(header(32, 0), ident("a")), PatchID{1, 2}, ErrMalformed},
		{"identifier past the length", cat(header(2, 0), ident("a")), PatchID{}, ErrMalformed},
		{"no identifier size", cat(header(1, 0), []byte{2}), PatchID{}, ErrMalformed},
		{"identifier BCS trailing byte", cat(header(5, 0), []byte{3, 0, 1, 'a', 'b'}), PatchID{}, ErrMalformed},
		{"identifier BCS short", cat(header(4, 0), []byte{2, 0, 2, 'a'}), PatchID{}, ErrMalformed},
		{"invalid identifier", cat(header(5, 0), ident("a\n")), PatchID{1, 3}, ErrMalformed},
		{"other identifier", cat(header(4, 0), ident("b")), PatchID{}, ErrMalformed},
		{"tags flag without tags", cat(header(4, tagsFlag), ident("a")), PatchID{}, ErrMalformed},
		{"tags past the length", cat(header(4+2+4, tagsFlag), ident("a"), []byte{5, 0, 1, 0, 0, 0}), PatchID{}, ErrMalformed},
		{"tags not canonical", cat(header(4+2+7, tagsFlag), ident("a"), []byte{7, 0, 2, 1, 'b', 0, 1, 'a', 0}), PatchID{}, ErrMalformed},
		{"patch ID empty", cat(header(4, 0), ident("a")), PatchID{1, 1}, ErrInvalidPatchID},
		{"patch ID backwards", cat(header(4, 0), ident("a")), PatchID{3, 1}, ErrInvalidPatchID},
		{"patch ID past the columns", cat(header(4, 0), ident("a")), PatchID{1, 8}, ErrInvalidPatchID},
		{"patch ID at the index", cat(header(4, 0), ident("a")), PatchID{0, 1}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := craft(t, 10, 8)
			ixb := []byte{1}
			ixb = binary.LittleEndian.AppendUint16(ixb, 3)
			ixb = append(appendBCSString(ixb, "a"), 0)
			q.write(indexBytes(ixb), 0, 0)
			q.write(tc.patch, 1, 0)
			opened, err := Open(q.Data, 10)
			if err != nil {
				t.Fatal(err)
			}
			var b Blob
			if tc.id == (PatchID{}) {
				b, err = opened.Blob("a")
			} else {
				b, err = opened.BlobByPatchID(tc.id)
			}
			if tc.want == nil {
				if err != nil || b.Identifier != "a" || string(b.Data) != "data" {
					t.Fatalf("got %q %q, %v", b.Identifier, b.Data, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %v", b, err, tc.want)
			}
		})
	}
	q := craft(t, 10, 8)
	q.write(indexBytes([]byte{0}), 0, 0)
	opened, _ := Open(q.Data, 10)
	if _, err := opened.Blob("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Blob(a) of an empty quilt: %v", err)
	}
}

func TestBlobsByTag(t *testing.T) {
	q, err := Encode([]Blob{
		{Identifier: "x", Data: []byte("1"), Tags: map[string]string{"kind": "a"}},
		{Identifier: "y", Data: []byte("2"), Tags: map[string]string{"kind": "b"}},
		{Identifier: "z", Data: []byte("3"), Tags: map[string]string{"kind": "a", "more": ""}},
	}, 10)
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.BlobsByTag("kind", "a")
	if err != nil || len(got) != 2 || got[0].Identifier != "x" || got[1].Identifier != "z" || string(got[1].Data) != "3" {
		t.Fatalf("BlobsByTag(kind, a) = %v, %v", got, err)
	}
	if got, _ := q.BlobsByTag("more", ""); len(got) != 1 || got[0].Identifier != "z" {
		t.Fatalf("BlobsByTag(more, \"\") = %v", got)
	}
	if got, _ := q.BlobsByTag("none", ""); len(got) != 0 {
		t.Fatalf("BlobsByTag(none) = %v", got)
	}
}

func TestBlobHeader(t *testing.T) {
	h := BlobHeader{Length: 0x01020304, Mask: tagsFlag}
	b, _ := h.MarshalBinary()
	if want := []byte{1, 4, 3, 2, 1, 1}; !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary = %x, want %x", b, want)
	}
	if got, err := ParseBlobHeader(b); err != nil || got != h || !got.HasTags() {
		t.Fatalf("ParseBlobHeader = %+v, %v", got, err)
	}
	if _, err := ParseBlobHeader(b[:5]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short header: %v", err)
	}
	if _, err := ParseBlobHeader([]byte{0, 0, 0, 0, 0, 0}); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 0: %v", err)
	}
}

func TestQuiltPatchID(t *testing.T) {
	// Walrus's own example (the list-patches route's documentation).
	const walrusID = "uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iABAQANAA"
	id, err := ParseQuiltPatchID(walrusID)
	if err != nil {
		t.Fatal(err)
	}
	if id.QuiltID.String() != "uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iA" || id.Patch != (PatchID{1, 13}) || id.String() != walrusID {
		t.Fatalf("ParseQuiltPatchID = %s %+v (%s)", id.QuiltID, id.Patch, id)
	}
	var viaText QuiltPatchID
	if err := viaText.UnmarshalText([]byte(walrusID)); err != nil || viaText != id {
		t.Fatalf("UnmarshalText = %+v, %v", viaText, err)
	}
	if txt, _ := id.MarshalText(); string(txt) != walrusID || len(txt) != QuiltPatchIDLen {
		t.Fatalf("MarshalText = %s", txt)
	}
	for _, tc := range []struct {
		s    string
		want error
	}{
		{"", ErrInvalidPatchID},
		{walrusID + "=", ErrInvalidPatchID},                         // padding
		{walrusID[:48], ErrInvalidPatchID},                          // 36 bytes
		{walrusID + "AA", ErrInvalidPatchID},                        // 38 bytes
		{walrusID[:49] + "B", ErrInvalidPatchID},                    // trailing bits set
		{strings.Replace(walrusID, "-", "+", 1), ErrInvalidPatchID}, // standard alphabet
		{walrusID[:43], ErrInvalidPatchID},                          // a blob ID
		{walrusID[:43] + "AgEADQA", ErrVersion},                     // version 2
		{strings.Repeat("A", 4*QuiltPatchIDLen), ErrInvalidPatchID}, // long
	} {
		if got, err := ParseQuiltPatchID(tc.s); !errors.Is(err, tc.want) {
			t.Errorf("ParseQuiltPatchID(%.60q) = %+v, %v; want %v", tc.s, got, err, tc.want)
		}
	}
	b := PatchID{Start: 0x0201, End: 0x0403}.Bytes()
	if want := [PatchIDSize]byte{1, 1, 2, 3, 4}; b != want {
		t.Fatalf("PatchID.Bytes = %x", b)
	}
	if _, err := ParsePatchID([]byte{2, 1, 2, 3, 4}); !errors.Is(err, ErrVersion) {
		t.Fatalf("ParsePatchID version 2: %v", err)
	}
	if _, err := ParsePatchID([]byte{1, 1, 2, 3}); !errors.Is(err, ErrInvalidPatchID) {
		t.Fatalf("ParsePatchID short: %v", err)
	}
	if from, to := (PatchID{3, 5}).PrimaryRange(6); from != 18 || to != 30 {
		t.Fatalf("PrimaryRange = %d, %d", from, to)
	}
}

func TestColumnsErrors(t *testing.T) {
	q, err := Encode([]Blob{{Identifier: "a", Data: []byte("hello")}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	col := func(j int) encoding.Sliver {
		return encoding.Sliver{Axis: encoding.Secondary, Index: uint16(j), SymbolSize: uint16(q.SymbolSize), Data: q.Column(j)}
	}
	primary := col(0)
	primary.Axis = encoding.Primary
	short := col(1)
	short.Data = short.Data[1:]
	for _, tc := range []struct {
		name    string
		slivers []encoding.Sliver
	}{
		{"primary", []encoding.Sliver{primary}},
		{"repair column", []encoding.Sliver{{Axis: encoding.Secondary, Index: 7, Data: []byte{1}}}},
		{"empty", []encoding.Sliver{{Axis: encoding.Secondary, Index: 1}}},
		{"sizes differ", []encoding.Sliver{col(0), short}},
	} {
		if _, err := NewColumns(10, tc.slivers...); !errors.Is(err, ErrInvalidColumns) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	c, err := NewColumns(10)
	if err != nil {
		t.Fatal(err)
	}
	var miss *MissingColumnsError
	if _, err := c.Index(); !errors.As(err, &miss) || !errors.Is(err, ErrMissingColumns) || len(miss.Columns) != 1 || miss.Columns[0] != 0 {
		t.Fatalf("Index of nothing: %v", err)
	}
	p := q.Index.Patches[0]
	if err := c.Add(col(p.Start)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Blob(p); !errors.As(err, &miss) || miss.Columns[0] != p.Start+1 {
		t.Fatalf("Blob without its last column: %v", err)
	}
	for j := p.Start + 1; j < p.End; j++ {
		c.Add(col(j))
	}
	if b, err := c.Blob(p); err != nil || string(b.Data) != "hello" {
		t.Fatalf("Blob = %q, %v", b.Data, err)
	}
	if _, err := NewColumns(2); !errors.Is(err, encoding.ErrInvalidShardCount) {
		t.Fatalf("NewColumns(2): %v", err)
	}
}

func TestMaxBlobs(t *testing.T) {
	for n, want := range map[int]int{4: 2, 10: 6, 100: 66, 1000: 666} {
		if got, err := MaxBlobs(n); got != want || err != nil {
			t.Errorf("MaxBlobs(%d) = %d, %v; want %d", n, got, err, want)
		}
	}
	if _, err := MaxBlobs(1); !errors.Is(err, encoding.ErrInvalidShardCount) {
		t.Errorf("MaxBlobs(1): %v", err)
	}
}
