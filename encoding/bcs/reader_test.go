package bcs

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestULEB128(t *testing.T) {
	tests := []struct {
		in    string
		want  uint32
		n     int   // bytes consumed
		class error // nil: valid
	}{
		{"00", 0, 1, nil},
		{"01", 1, 1, nil},
		{"7f", 127, 1, nil},
		{"8001", 128, 2, nil},
		{"ac02", 300, 2, nil},
		{"ffff03", 65535, 3, nil},
		{"80808008", 1 << 24, 4, nil},
		{"ffffffff0f", 1<<32 - 1, 5, nil},
		{"7f 00", 127, 1, nil}, // stops at the value's end
		{"", 0, 0, ErrTruncated},
		{"80", 0, 0, ErrTruncated},
		{"ffffff", 0, 0, ErrTruncated},
		{"8000", 0, 0, ErrNonCanonical},
		{"ff00", 0, 0, ErrNonCanonical},
		{"808000", 0, 0, ErrNonCanonical},
		{"8080808000", 0, 0, ErrNonCanonical},
		{"ffffffff10", 0, 0, ErrTooLarge},
		{"ffffffff7f", 0, 0, ErrTooLarge},
		{"ffffffffff01", 0, 0, ErrTooLarge},
		{"8080808080", 0, 0, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			in := unhex(t, tt.in)
			r := NewReader(in)
			v := r.ULEB128("x")
			err := r.Err()
			// The stream reader must agree with the slice reader.
			sr := bytes.NewReader(in)
			sv, serr := ReadULEB128(sr)
			if tt.class == nil {
				if err != nil || v != tt.want || r.Offset() != tt.n {
					t.Fatalf("ULEB128 = %d, %v after %d bytes; want %d after %d", v, err, r.Offset(), tt.want, tt.n)
				}
				if serr != nil || sv != tt.want || int(sr.Size())-sr.Len() != tt.n {
					t.Fatalf("ReadULEB128 = %d, %v after %d bytes; want %d after %d", sv, serr, int(sr.Size())-sr.Len(), tt.want, tt.n)
				}
				if got := AppendULEB128(nil, v); !bytes.Equal(got, in[:tt.n]) || ULEB128Len(v) != tt.n {
					t.Errorf("AppendULEB128(%d) = %x (len %d), want %x", v, got, ULEB128Len(v), in[:tt.n])
				}
				return
			}
			if !errors.Is(err, tt.class) || !errors.Is(err, ErrMalformed) || v != 0 {
				t.Fatalf("ULEB128 = %d, %v; want %v", v, err, tt.class)
			}
			if len(in) == 0 {
				if serr != io.EOF {
					t.Fatalf("ReadULEB128 of nothing = %v, want io.EOF", serr)
				}
				return
			}
			if !errors.Is(serr, tt.class) {
				t.Fatalf("ReadULEB128 = %v, want %v", serr, tt.class)
			}
		})
	}
}

func TestReadULEB128PassesIOErrors(t *testing.T) {
	boom := errors.New("boom")
	br := bufio.NewReader(io.MultiReader(bytes.NewReader([]byte{0x80}), errReader{boom}))
	if _, err := ReadULEB128(br); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestReaderErrors checks each read's failure: its class, field, offset and
// text.
func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		read  func(r *Reader)
		class error
		off   int
		text  string
	}{
		{"u8 empty", "", func(r *Reader) { r.U8("tag") }, ErrTruncated, 0, "bcs: tag: need 1 bytes, have 0 (at byte 0)"},
		{"u16 short", "aa 01", func(r *Reader) { r.U8("a"); r.U16("b") }, ErrTruncated, 1, "b: need 2 bytes, have 1"},
		{"u32 short", "010203", func(r *Reader) { r.U32("epoch") }, ErrTruncated, 0, "epoch: need 4 bytes, have 3"},
		{"u64 short", "01020304050607", func(r *Reader) { r.U64("length") }, ErrTruncated, 0, "length: need 8 bytes, have 7"},
		{"fixed short", "0102", func(r *Reader) { r.Fixed("id", 32) }, ErrTruncated, 0, "id: need 32 bytes, have 2"},
		{"fixed negative", "0102", func(r *Reader) { r.Fixed("id", -1) }, ErrTruncated, 0, "need -1 bytes"},
		{"bool 2", "01 02", func(r *Reader) { r.Bool("a"); r.Bool("b") }, ErrInvalid, 1, "b: 2 is not a bool"},
		{"option 2", "02", func(r *Reader) { r.Option("object id") }, ErrInvalid, 0, "object id: 2 is not an option tag"},
		{"variant out of range", "00 02", func(r *Reader) { r.U8("x"); r.Variant("result", 2) }, ErrInvalid, 1, "result: variant 2 of 2"},
		{"variant non-canonical", "8000", func(r *Reader) { r.Variant("result", 2) }, ErrNonCanonical, 0, "non-canonical ULEB128"},
		{"length over the cap", "0b" + strings.Repeat("00", 11), func(r *Reader) { r.Length("ids", 10) }, ErrTooLarge, 0, "ids: 11 exceeds 10"},
		{"length over MaxSequenceLength", "8080808008", func(r *Reader) { r.Length("ids", 1<<62) }, ErrTooLarge, 0, "exceeds MaxSequenceLength"},
		{"length over the input", "00 05 01020304", func(r *Reader) { r.U8("x"); r.Length("data", 100) }, ErrTruncated, 1, "data: length 5, 4 bytes left"},
		{"bytes over the input", "04 010203", func(r *Reader) { r.Bytes("data", 100) }, ErrTruncated, 0, "data: length 4, 3 bytes left"},
		{"bytes over the cap", "04 01020304", func(r *Reader) { r.Bytes("data", 3) }, ErrTooLarge, 0, "data: 4 exceeds 3"},
		{"string not UTF-8", "02 c328", func(r *Reader) { r.String("message", 10) }, ErrInvalid, 0, "message: string is not UTF-8"},
		{"trailing", "01 02 03", func(r *Reader) { r.U8("x") }, ErrTrailing, 1, "bcs: 2 trailing bytes (at byte 1)"},
		{"fail", "07", func(r *Reader) { r.U8("version"); r.Fail("version", "%d, want %d", 7, 1) }, ErrInvalid, 1, "version: 7, want 1"},
		{"read short", "0102", func(r *Reader) { r.Read(make([]byte, 3)) }, ErrTruncated, 0, "value: need 3 bytes, have 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(unhex(t, tt.in))
			tt.read(r)
			err := r.Done()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want an *Error", err, err)
			}
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, tt.class) {
				t.Errorf("err = %v, want %v", err, tt.class)
			}
			for _, other := range []error{ErrTruncated, ErrTrailing, ErrNonCanonical, ErrTooLarge, ErrInvalid} {
				if other != tt.class && errors.Is(err, other) {
					t.Errorf("err = %v also matches %v", err, other)
				}
			}
			if e.Offset != tt.off {
				t.Errorf("offset = %d, want %d", e.Offset, tt.off)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("text %q does not contain %q", err.Error(), tt.text)
			}
		})
	}
}

// TestReaderSticky checks that the first error stays and later reads are
// zero and consume nothing.
func TestReaderSticky(t *testing.T) {
	r := NewReader(unhex(t, "02 01020304 05"))
	if r.Bool("flag"); r.Err() == nil {
		t.Fatal("bool 2 accepted")
	}
	first := r.Err()
	off := r.Offset()
	if v := r.U32("n"); v != 0 {
		t.Errorf("U32 after an error = %d", v)
	}
	if b := r.Fixed("raw", 1); b != nil {
		t.Errorf("Fixed after an error = %x", b)
	}
	if n := r.Length("len", 10); n != 0 {
		t.Errorf("Length after an error = %d", n)
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != first {
		t.Errorf("Read after an error = %d, %v", n, err)
	}
	r.Fail("late", "ignored")
	if r.Offset() != off || r.Remaining() != 0 || r.Done() != first || r.Err() != first {
		t.Errorf("after an error: offset %d (want %d), remaining %d, Done %v; want the first error %v",
			r.Offset(), off, r.Remaining(), r.Done(), first)
	}
}

// TestReaderRoundTrip reads one of each value and writes them back.
func TestReaderRoundTrip(t *testing.T) {
	var b []byte
	b = AppendU8(b, 0xab)
	b = AppendU16(b, 0x0102)
	b = AppendU32(b, 0x03040506)
	b = AppendU64(b, 0x0708090a0b0c0d0e)
	b = AppendBool(b, true)
	b = AppendBool(b, false) // an option: none
	b = AppendULEB128(b, 1)  // a variant
	b = AppendBytes(b, []byte{0xde, 0xad})
	b = AppendString(b, "héllo")
	b = AppendLength(b, 0)
	b = AppendBytes(b, bytes.Repeat([]byte{7}, 200))
	want := "ab 0201 06050403 0e0d0c0b0a090807 01 00 01 02dead 06 68c3a96c6c6f 00 c801" + strings.Repeat("07", 200)
	if got := hex.EncodeToString(b); got != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("encoding\n got %s\nwant %s", got, want)
	}

	r := NewReader(b)
	var out []byte
	out = AppendU8(out, r.U8("u8"))
	out = AppendU16(out, r.U16("u16"))
	out = AppendU32(out, r.U32("u32"))
	out = AppendU64(out, r.U64("u64"))
	out = AppendBool(out, r.Bool("bool"))
	out = AppendBool(out, r.Option("option"))
	out = AppendULEB128(out, uint32(r.Variant("variant", 2)))
	out = AppendBytes(out, r.Bytes("bytes", 2))
	out = AppendString(out, r.String("string", 6))
	empty := r.Bytes("empty", 0)
	out = AppendBytes(out, empty)
	out = AppendBytes(out, r.Bytes("long", 200))
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, b) {
		t.Fatalf("round trip\n got %x\nwant %x", out, b)
	}
	if empty == nil {
		t.Errorf("an empty byte string reads as nil")
	}
}

func TestReadAliasesInput(t *testing.T) {
	in := unhex(t, "02 aabb cc")
	r := NewReader(in)
	b := r.Bytes("b", 2)
	if &b[0] != &in[1] || cap(b) != 2 {
		t.Errorf("Bytes does not alias the input, or its capacity reaches past it (cap %d)", cap(b))
	}
	p := make([]byte, 1)
	if n, err := r.Read(p); n != 1 || err != nil || p[0] != 0xcc || r.Done() != nil {
		t.Errorf("Read = %d, %v, %x", n, err, p)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("empty Read at the end = %d, %v", n, err)
	}
}

func TestAppendLengthPanics(t *testing.T) {
	for _, n := range []int{-1, MaxSequenceLength + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendLength(%d) did not panic", n)
				}
			}()
			AppendLength(nil, n)
		}()
	}
	if got := AppendLength(nil, MaxSequenceLength); hex.EncodeToString(got) != "ffffffff07" || LengthLen(MaxSequenceLength) != 5 {
		t.Errorf("AppendLength(MaxSequenceLength) = %x", got)
	}
}
