package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestContentHeaders(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	html := []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	pdf := []byte("%PDF-1.7\n")
	text := []byte("just some words\n")
	cases := []struct {
		name    string
		method  string
		hdr     []string
		head    []byte
		ct      string
		sandbox bool
	}{
		{"sniffed PNG", "GET", nil, png, "image/png", false},
		{"sniffed PDF", "GET", nil, pdf, "application/pdf", false},
		{"sniffed text", "GET", nil, text, "text/plain; charset=utf-8", false},
		{"sniffed HTML is a download", "GET", nil, html, OctetStream, false},
		{"sniffed SVG is a download", "GET", nil, svg, OctetStream, false},
		{"nothing to sniff", "GET", nil, nil, OctetStream, false},
		{"browser Accept is not mirrored", "GET", []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}, png, "image/png", false},
		{"Accept text/html is sandboxed", "GET", []string{"Accept", "text/html"}, html, "text/html", true},
		{"Content-Type text/html is sandboxed", "GET", []string{"Content-Type", "text/html; charset=utf-8"}, png, "text/html; charset=utf-8", true},
		{"asked SVG is sandboxed", "GET", []string{"Accept", "image/svg+xml"}, svg, "image/svg+xml", true},
		{"asked JSON is sandboxed", "GET", []string{"Accept", "application/json"}, text, "application/json", true},
		{"asked PDF is not", "GET", []string{"Accept", "application/pdf"}, html, "application/pdf", false},
		{"asked video is not", "GET", []string{"Accept", "video/mp4"}, html, "video/mp4", false},
		{"Accept wins over Content-Type", "GET", []string{"Accept", "image/png", "Content-Type", "text/html"}, html, "image/png", false},
		{"HEAD mirrors as GET", "HEAD", []string{"Content-Type", "text/html"}, png, "text/html", true},
		{"odd Accept is ignored", "GET", []string{"Accept", "text/html\x7f"}, png, "image/png", false},
		{"no subtype is ignored", "GET", []string{"Accept", "text"}, html, OctetStream, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/v1/blobs/x", nil)
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				r.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			h := http.Header{}
			ContentHeaders(h, r, tc.head)
			if got := h.Get("Content-Type"); got != tc.ct {
				t.Errorf("Content-Type %q, want %q", got, tc.ct)
			}
			if got := h.Get("Content-Security-Policy"); (got == "sandbox") != tc.sandbox || (got != "" && got != "sandbox") {
				t.Errorf("Content-Security-Policy %q, want sandbox %v", got, tc.sandbox)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Vary") != "Accept, Content-Type" {
				t.Errorf("headers %v", h)
			}
		})
	}
}

func TestSafeType(t *testing.T) {
	for ct, want := range map[string]bool{
		"image/png": true, "image/jpeg": true, "image/webp": true, "IMAGE/GIF": true,
		"image/svg+xml": false, "image/svg": false, "image/foo+xml": false,
		"audio/mpeg": true, "video/webm": true, "application/pdf": true, "application/ogg": true,
		"text/plain; charset=utf-8": true, "text/html": false, "text/xml": false, "text/css": false,
		"application/javascript": false, "application/xhtml+xml": false, "application/octet-stream": false,
		"": false, "image/": false, "garbage": false,
	} {
		if got := SafeType(ct); got != want {
			t.Errorf("SafeType(%q) = %v, want %v", ct, got, want)
		}
	}
}

// FuzzContentHeaders: whatever the request and blob, the answer's type is a
// valid media type, and a type off the safe list is sandboxed or a
// download.
func FuzzContentHeaders(f *testing.F) {
	f.Add("image/png", "text/html,*/*", []byte("<html>"))
	f.Add("", "application/pdf", []byte("\x89PNG\r\n\x1a\n"))
	f.Add("text/html", "", []byte("x"))
	f.Fuzz(func(t *testing.T, ct, accept string, head []byte) {
		r := httptest.NewRequest("GET", "/v1/blobs/x", nil)
		r.Header["Content-Type"] = []string{ct}
		r.Header["Accept"] = []string{accept}
		h := http.Header{}
		ContentHeaders(h, r, head)
		got := h.Get("Content-Type")
		if !validMediaType(got) {
			t.Fatalf("Content-Type %q is not a media type", got)
		}
		if !SafeType(got) && got != OctetStream && h.Get("Content-Security-Policy") != "sandbox" {
			t.Fatalf("unsafe %q without sandbox", got)
		}
	})
}

func TestContentHeadersWith(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n")
	cases := []struct {
		name, accept, declared string
		ct                     string
		sandbox                bool
	}{
		{"declared image", "", "image/webp", "image/webp", false},
		{"declared page is sandboxed", "", "text/html; charset=utf-8", "text/html; charset=utf-8", true},
		{"asked wins over declared", "image/png", "text/html", "image/png", false},
		{"bad declared is ignored", "", "text/html\r\nX: y", "image/png", false},
		{"none: sniffed", "", "", "image/png", false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/v1/blobs/by-object-id/x", nil)
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		h := http.Header{}
		ContentHeadersWith(h, r, tc.declared, png)
		if h.Get("Content-Type") != tc.ct || (h.Get("Content-Security-Policy") == "sandbox") != tc.sandbox || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %v", tc.name, h)
		}
	}
	// Headers set afterwards (a blob's attributes) are made safe again.
	h := http.Header{}
	ContentHeaders(h, httptest.NewRequest("GET", "/", nil), png)
	h.Set("Content-Type", "image/svg+xml")
	EnforceContentPolicy(h)
	if h.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("SVG from an attribute not sandboxed: %v", h)
	}
	h = http.Header{"Content-Security-Policy": {"sandbox"}}
	EnforceContentPolicy(h)
	if h.Get("Content-Type") != OctetStream || h.Get("Content-Security-Policy") != "" {
		t.Errorf("no type: %v", h)
	}
}
