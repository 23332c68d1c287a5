package daemon

import (
	"bytes"
	"errors"
	"mime/multipart"
	"strings"
	"testing"
)

// formOf builds a multipart body of files (name, data pairs) and an
// optional _metadata part.
func formOf(meta string, files ...string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.SetBoundary("b0undary")
	for i := 0; i+1 < len(files); i += 2 {
		w, _ := mw.CreateFormFile(files[i], files[i])
		w.Write([]byte(files[i+1]))
	}
	if meta != "" {
		mw.WriteField(MetadataField, meta)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func TestParseQuiltForm(t *testing.T) {
	cfg := QuiltConfig{}.withDefaults()
	ct, body := formOf(`[{"identifier":"b","tags":{"s":"x","n":1.5,"o":{"k": [1, 2]},"nil":null}},{"identifier":"ghost","tags":{"a":"b"}}]`,
		"a", "alpha", "b", "beta")
	blobs, err := parseQuiltForm(bytes.NewReader(body), ct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 2 || blobs[0].Identifier != "a" || string(blobs[0].Data) != "alpha" || blobs[0].Tags != nil ||
		blobs[1].Identifier != "b" || string(blobs[1].Data) != "beta" {
		t.Fatalf("blobs %+v", blobs)
	}
	// Non-string tag values become their JSON text, as Walrus's
	// serde_json::Value::to_string.
	want := map[string]string{"s": "x", "n": "1.5", "o": `{"k":[1,2]}`, "nil": "null"}
	for k, v := range want {
		if blobs[1].Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, blobs[1].Tags[k], v)
		}
	}
	for _, tc := range []struct {
		name string
		meta string
		cfg  QuiltConfig
		want error
	}{
		{"metadata not an array", `{}`, cfg, ErrQuiltForm},
		{"metadata duplicate", `[{"identifier":"a"},{"identifier":"a"}]`, cfg, ErrQuiltForm},
		{"metadata over the limit", `[{"identifier":"a","tags":{"k":"` + strings.Repeat("v", 100) + `"}}]`, QuiltConfig{MaxMetadataSize: 64}.withDefaults(), ErrQuiltFormTooLarge},
		{"too many parts", "", QuiltConfig{MaxParts: 1}.withDefaults(), ErrQuiltForm},
	} {
		ct, body := formOf(tc.meta, "a", "1", "b", "2")
		if _, err := parseQuiltForm(bytes.NewReader(body), ct, tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := parseQuiltForm(strings.NewReader("x"), "text/plain", cfg); !errors.Is(err, ErrQuiltForm) {
		t.Errorf("not multipart: %v", err)
	}
	if _, err := parseQuiltForm(bytes.NewReader(body[:len(body)/2]), ct, cfg); !errors.Is(err, ErrQuiltForm) {
		t.Errorf("truncated body: %v", err)
	}
}

// FuzzParseQuiltForm feeds arbitrary bodies to the form parser: it must
// not panic, must return blobs or a typed error, and must hold no more
// than the body in files.
func FuzzParseQuiltForm(f *testing.F) {
	ct, body := formOf(`[{"identifier":"a","tags":{"k":"v","n":2}}]`, "a", "alpha", "b", "")
	f.Add(body)
	f.Add([]byte("--b0undary\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n--b0undary--"))
	f.Add([]byte{})
	cfg := QuiltConfig{MaxParts: 8, MaxMetadataSize: 256}.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte) {
		blobs, err := parseQuiltForm(bytes.NewReader(b), ct, cfg)
		if err != nil {
			if !errors.Is(err, ErrQuiltForm) && !errors.Is(err, ErrQuiltFormTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(blobs) > cfg.MaxParts {
			t.Fatalf("%d blobs over %d parts", len(blobs), cfg.MaxParts)
		}
		held := 0
		for _, bl := range blobs {
			held += len(bl.Data)
		}
		if held > len(b) {
			t.Fatalf("%d bytes of files from a %d-byte body", held, len(b))
		}
	})
}
