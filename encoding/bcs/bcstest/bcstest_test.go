package bcstest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding/bcs"
)

func sample() []byte {
	b := bcs.AppendU32(nil, 7)
	b = bcs.AppendBool(b, true)
	b = append(b, bytes.Repeat([]byte{0xab}, 40)...)
	b = bcs.AppendLength(b, 2)
	b = bcs.AppendU16(b, 1)
	b = bcs.AppendU16(b, 300)
	b = bcs.AppendULEB128(b, 1)
	return bcs.AppendString(b, "hi")
}

func dissect(d *Dump) {
	d.U32("epoch")
	if d.Option("object") {
		d.Indent(func() { d.Fixed("object", 40) })
	}
	n := d.Length("indices", 10)
	d.Indent(func() {
		for i := range n {
			d.U16(fmt.Sprintf("[%d]", i))
		}
	})
	if d.Variant("result", "Ok", "Err") == 1 {
		d.Note("an error")
		d.Indent(func() {
			d.Comment("the message")
			d.String("message", 10)
		})
	}
}

const sampleText = `# sample
07000000                                                          # epoch = 7
01                                                                # object: Some
abababababababababababababababababababababababababababababababab  #   object
abababababababab
02                                                                # indices: 2
0100                                                              #   [0] = 1
2c01                                                              #   [1] = 300
01                                                                # result: Err (1) (an error)
                                                                  #   the message
02                                                                #   message length: 2
6869                                                              #   message = "hi"
`

func TestDump(t *testing.T) {
	d := NewDump(sample())
	d.Comment("sample")
	dissect(d)
	got, err := d.Text()
	if err != nil {
		t.Fatal(err)
	}
	if got != sampleText {
		t.Fatalf("dump:\n%s\nwant:\n%s", got, sampleText)
	}
	b, err := ParseHex(got)
	if err != nil || !bytes.Equal(b, sample()) {
		t.Fatalf("ParseHex = %x, %v; want %x", b, err, sample())
	}
}

func TestDumpErrors(t *testing.T) {
	for name, in := range map[string][]byte{
		"truncated":     sample()[:10],
		"trailing":      append(sample(), 0),
		"not UTF-8":     append(sample()[:len(sample())-2], 0xc3, 0x28),
		"bad option":    append(bcs.AppendU32(nil, 7), 2),
		"unknown value": append(sample()[:len(sample())-4], 5, 0),
	} {
		d := NewDump(in)
		dissect(d)
		if _, err := d.Text(); err == nil {
			t.Errorf("%s: dump of %x succeeded", name, in)
		}
	}
	if _, err := ParseHex("0g # bad"); err == nil {
		t.Error("ParseHex accepted bad hex")
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "golden.txt")
	r := &recorder{TB: t}
	if Check(r, path, sampleText, false); len(r.failed) != 1 || !strings.Contains(r.failed[0], "-update") {
		t.Fatalf("a missing golden file: %q", r.failed)
	}
	r.failed = nil
	if b := Check(r, path, sampleText, true); len(r.failed) != 0 || !bytes.Equal(b, sample()) {
		t.Fatalf("update: %q, %x", r.failed, b)
	}
	if b := Check(r, path, sampleText, false); len(r.failed) != 0 || !bytes.Equal(b, sample()) {
		t.Fatalf("check after update: %q, %x", r.failed, b)
	}
	changed := strings.Replace(sampleText, "2c01", "2d01", 1)
	if Check(r, path, changed, false); len(r.failed) != 1 || !strings.Contains(r.failed[0], "line 8:") {
		t.Fatalf("a changed value: %q", r.failed)
	}
	if disk, _ := os.ReadFile(path); string(disk) != sampleText {
		t.Fatal("Check without update wrote the file")
	}
}
