package bcs

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReader runs a program of reads over data: each byte of ops picks the
// next read. The properties: every error is an *Error of one class; a length
// never exceeds what is left; after an error nothing more is read; and input
// that reads completely re-encodes, with the Append functions, to itself.
func FuzzReader(f *testing.F) {
	var seed []byte
	seed = AppendU16(AppendBool(AppendU8(seed, 7), true), 300)
	seed = AppendBytes(AppendULEB128(seed, 1), []byte("ab"))
	seed = AppendString(AppendU64(AppendU32(seed, 9), 1<<40), "hi")
	f.Add([]byte{0, 4, 1, 5, 7, 2, 3, 8}, seed)
	f.Add([]byte{5, 5}, []byte{0x80, 0x00})
	f.Add([]byte{6}, []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{7}, []byte{0x02, 0xc3, 0x28})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		r := NewReader(data)
		var out []byte
		for _, op := range ops {
			before, left := r.Offset(), r.Remaining()
			failed := r.Err() != nil
			switch op % 10 {
			case 0:
				out = AppendU8(out, r.U8("u8"))
			case 1:
				out = AppendU16(out, r.U16("u16"))
			case 2:
				out = AppendU32(out, r.U32("u32"))
			case 3:
				out = AppendU64(out, r.U64("u64"))
			case 4:
				out = AppendBool(out, r.Bool("bool"))
			case 5:
				out = AppendULEB128(out, r.ULEB128("uleb"))
			case 6:
				n := r.Length("length", int(op))
				if n > int(op) || n > left {
					t.Fatalf("Length = %d, cap %d, %d bytes left", n, op, left)
				}
				out = AppendLength(out, n)
			case 7:
				out = AppendString(out, r.String("string", 64))
			case 8:
				out = AppendBytes(out, r.Bytes("bytes", 64))
			case 9:
				out = AppendULEB128(out, uint32(r.Variant("variant", int(op/10))))
			}
			if failed && r.Offset() != before {
				t.Fatalf("read %d bytes after an error", r.Offset()-before)
			}
		}
		err := r.Done()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not an *Error matching ErrMalformed", err)
			}
			classes := 0
			for _, c := range []error{ErrTruncated, ErrTrailing, ErrNonCanonical, ErrTooLarge, ErrInvalid} {
				if errors.Is(err, c) {
					classes++
				}
			}
			if classes != 1 || e.Offset < 0 || e.Offset > len(data) {
				t.Fatalf("error %v: %d classes, offset %d of %d", err, classes, e.Offset, len(data))
			}
			return
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip\n in  %x\n out %x", data, out)
		}
	})
}

// FuzzReadULEB128 checks the stream reader against the slice reader and the
// round trip of what they accept.
func FuzzReadULEB128(f *testing.F) {
	for _, s := range [][]byte{{0}, {0x80, 1}, {0x80, 0}, {0xff, 0xff, 0xff, 0xff, 0x0f}, {0xff, 0xff, 0xff, 0xff, 0x10}, {0x80}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in)
		v := r.ULEB128("v")
		sr := bytes.NewReader(in)
		sv, serr := ReadULEB128(sr)
		if err := r.Err(); err != nil {
			if serr == nil {
				t.Fatalf("slice reader: %v; stream reader: %d", err, sv)
			}
			return
		}
		if serr != nil || sv != v {
			t.Fatalf("slice reader: %d; stream reader: %d, %v", v, sv, serr)
		}
		n := r.Offset()
		if int(sr.Size())-sr.Len() != n {
			t.Fatalf("stream reader read %d bytes, slice reader %d", int(sr.Size())-sr.Len(), n)
		}
		if !bytes.Equal(AppendULEB128(nil, v), in[:n]) {
			t.Fatalf("round trip of %x: %x", in[:n], AppendULEB128(nil, v))
		}
	})
}
