// Package bcstest writes and checks golden files of BCS values as annotated
// hex, for the format tests of the packages that define BCS layouts (p2p's
// messages, store's values). It is imported by tests only.
//
// A Dump reads a value field by field, as a decoder does, and writes each
// field as one line: its bytes in hex, then a comment naming it and its value.
//
//	0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20  # blob_id
//	01                                                                # axis = 1
//	02                                                                # indices: 2
//	0100                                                              #   [0] = 1
//
// Lines that start with '#' are comments; everything after a '#' is ignored
// by ParseHex, which turns the file back into the bytes. Check compares a
// dump with its file under testdata and rewrites the file when the test runs
// with its package's -update flag, so that a change of format is a diff of
// the golden file that a reviewer reads.
package bcstest

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/walrus-go/walrus/encoding/bcs"
)

// bytesPerLine is the most bytes of a field on one line; longer fields go
// on.
const bytesPerLine = 32

// Dump is an annotating reader of one value: each read reads like the
// bcs.Reader method of the same name and writes the field's line. The first
// error sticks, as in a bcs.Reader; Text returns it.
type Dump struct {
	in    []byte
	r     *bcs.Reader
	out   *[]string // lines, shared with Sub's dumps
	depth int
	last  int // index of the last field line, for Note; -1: none
}

// NewDump returns a Dump of b.
func NewDump(b []byte) *Dump {
	return &Dump{in: b, r: bcs.NewReader(b), out: new([]string), last: -1}
}

// Comment writes a comment line, indented as the fields around it.
func (d *Dump) Comment(format string, args ...any) {
	c := fmt.Sprintf(format, args...)
	if d.depth == 0 {
		*d.out = append(*d.out, "# "+c)
	} else {
		*d.out = append(*d.out, fmt.Sprintf("%-*s  # %s%s", 2*bytesPerLine, "", strings.Repeat("  ", d.depth), c))
	}
	d.last = -1
}

// line writes the bytes read since off with a comment.
func (d *Dump) line(off int, comment string) {
	if d.r.Err() != nil {
		return
	}
	b := d.in[off:d.r.Offset()]
	d.last = len(*d.out)
	n := min(len(b), bytesPerLine)
	*d.out = append(*d.out, fmt.Sprintf("%-*s  # %s%s", 2*bytesPerLine, hex.EncodeToString(b[:n]), strings.Repeat("  ", d.depth), comment))
	for b = b[n:]; len(b) > 0; b = b[n:] {
		n = min(len(b), bytesPerLine)
		*d.out = append(*d.out, hex.EncodeToString(b[:n]))
	}
}

// Note appends a note to the comment of the last field line, as in
// "# code = 6 (busy)".
func (d *Dump) Note(format string, args ...any) {
	if d.last < 0 || d.r.Err() != nil {
		return
	}
	(*d.out)[d.last] += " (" + fmt.Sprintf(format, args...) + ")"
}

// Indent makes the comments of the fields read in fn one level deeper: the
// fields of a struct inside another, or the elements of a vector.
func (d *Dump) Indent(fn func()) {
	d.depth++
	defer func() { d.depth-- }()
	fn()
}

// field reads one field with read and writes its line: "name = value".
func field[T any](d *Dump, name string, read func(string) T) T {
	off := d.r.Offset()
	v := read(name)
	d.line(off, fmt.Sprintf("%s = %v", name, v))
	return v
}

// U8 reads a u8.
func (d *Dump) U8(name string) uint8 { return field(d, name, d.r.U8) }

// U16 reads a u16.
func (d *Dump) U16(name string) uint16 { return field(d, name, d.r.U16) }

// U32 reads a u32.
func (d *Dump) U32(name string) uint32 { return field(d, name, d.r.U32) }

// U64 reads a u64.
func (d *Dump) U64(name string) uint64 { return field(d, name, d.r.U64) }

// Bool reads a bool.
func (d *Dump) Bool(name string) bool { return field(d, name, d.r.Bool) }

// Option reads an option's tag.
func (d *Dump) Option(name string) bool {
	off := d.r.Offset()
	v := d.r.Option(name)
	s := "None"
	if v {
		s = "Some"
	}
	d.line(off, fmt.Sprintf("%s: %s", name, s))
	return v
}

// Variant reads an enum's variant index, one of names.
func (d *Dump) Variant(name string, names ...string) int {
	off := d.r.Offset()
	v := d.r.Variant(name, len(names))
	if d.r.Err() == nil {
		d.line(off, fmt.Sprintf("%s: %s (%d)", name, names[v], v))
	}
	return v
}

// Length reads a sequence's length, at most limit.
func (d *Dump) Length(name string, limit int) int {
	off := d.r.Offset()
	n := d.r.Length(name, limit)
	d.line(off, fmt.Sprintf("%s: %d", name, n))
	return n
}

// Fixed reads n raw bytes.
func (d *Dump) Fixed(name string, n int) []byte {
	off := d.r.Offset()
	v := d.r.Fixed(name, n)
	d.line(off, name)
	return v
}

// Bytes reads a byte string of at most limit bytes: a line for its length,
// then its bytes.
func (d *Dump) Bytes(name string, limit int) []byte {
	n := d.Length(name+" length", limit)
	return d.Fixed(name, n)
}

// String reads a UTF-8 string of at most limit bytes: a line for its
// length, then its bytes and the string.
func (d *Dump) String(name string, limit int) string {
	n := d.Length(name+" length", limit)
	off := d.r.Offset()
	b := d.r.Fixed(name, n)
	if d.r.Err() == nil && !utf8.Valid(b) {
		d.r.Fail(name, "string is not UTF-8")
	}
	d.line(off, fmt.Sprintf("%s = %q", name, b))
	return string(b)
}

// Sub reads n bytes as a value of its own (a frame's payload), dissected by
// fn one level deeper; fn must read all of it.
func (d *Dump) Sub(name string, n int, fn func(*Dump)) {
	b := d.r.Fixed(name, n)
	if d.r.Err() != nil {
		return
	}
	sub := &Dump{in: b, r: bcs.NewReader(b), out: d.out, depth: d.depth + 1, last: -1}
	fn(sub)
	if err := sub.r.Done(); err != nil {
		d.r.Fail(name, "%v", err)
	}
	d.last = -1
}

// Remaining is the number of bytes left.
func (d *Dump) Remaining() int { return d.r.Remaining() }

// Text returns the dump, or the first error (of the input or of the
// dissection: a field that does not parse, or bytes left over).
func (d *Dump) Text() (string, error) {
	if err := d.r.Done(); err != nil {
		return "", err
	}
	return strings.Join(*d.out, "\n") + "\n", nil
}

// ParseHex returns the bytes of annotated hex: each line up to a '#', with
// spaces removed, is hex.
func ParseHex(text string) ([]byte, error) {
	var out []byte
	for i, line := range strings.Split(text, "\n") {
		if k := strings.IndexByte(line, '#'); k >= 0 {
			line = line[:k]
		}
		line = strings.Join(strings.Fields(line), "")
		b, err := hex.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("bcstest: line %d: %v", i+1, err)
		}
		out = append(out, b...)
	}
	return out, nil
}

// Check compares got with the golden file at path; with update, it writes
// got to the file instead. It returns the file's bytes (ParseHex of its
// text), for the test to decode.
func Check(tb testing.TB, path, got string, update bool) []byte {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatalf("%v", err)
			return nil
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatalf("%v", err)
			return nil
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to write it)", err)
		return nil
	}
	if got != string(want) {
		tb.Errorf("%s differs from the golden file (run the test with -update to rewrite it, and review the diff):\n%s",
			path, firstDiff(string(want), got))
	}
	b, err := ParseHex(string(want))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
		return nil
	}
	return b
}

// firstDiff shows the first line where got differs from want.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  golden: %s\n  got:    %s", i+1, w, g)
		}
	}
	return "(no line differs)"
}
