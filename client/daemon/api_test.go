package daemon

import (
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/client"
)

// TestOpenAPIInStep checks that every route the daemon serves is in
// openapi.yaml with its method, and every path of the document is served.
func TestOpenAPIInStep(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Client: &client.Client{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	served := map[string]bool{}
	for _, p := range d.patterns {
		method, path, _ := strings.Cut(p, " ")
		path = strings.TrimSuffix(path, "{$}")
		// One pattern serves the blob's operations (a literal segment
		// there would conflict with by-object-id/{object_id}); the only
		// one is byte-range.
		path = strings.Replace(path, "/{blob_id}/{op}", "/{blob_id}/byte-range", 1)
		served[strings.ToLower(method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in openapi.yaml", p)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !served[m+" "+path] {
				t.Errorf("openapi.yaml has %s %s, which is not served", m, path)
			}
		}
	}
	if page := apiPage(); !strings.Contains(string(page), "<code>/v1/blobs/{blob_id}</code>") || strings.Contains(string(page), "<script") {
		t.Errorf("API page:\n%s", page)
	}
}

// TestPageHelpers: the metrics link of the home page, the sizes of the
// status page and the code spans of the API page.
func TestPageHelpers(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{metricsURL("127.0.0.1:27182", "127.0.0.1:31415"), "http://127.0.0.1:27182/metrics"},
		{metricsURL("0.0.0.0:27182", "example.org:31415"), "http://example.org:27182/metrics"},
		{metricsURL("[::]:27182", "[2001:db8::1]:31415"), "http://[2001:db8::1]:27182/metrics"},
		{metricsURL("[::]:27182", "example.org"), "http://example.org:27182/metrics"},
		{metricsURL("10.0.0.5:9000", "example.org"), "http://10.0.0.5:9000/metrics"},
		{metricsURL("bad", "example.org"), ""},
		{sizeText(0), "0 B"},
		{sizeText(1023), "1023 B"},
		{sizeText(10 << 20), "10 MiB"},
		{sizeText(3 << 29), "1.5 GiB"},
		{string(codeSpans("run `walrus daemon` <now>")), "run <code>walrus daemon</code> &lt;now&gt;"},
		{string(codeSpans("a `<b>` and `c")), "a <code>&lt;b&gt;</code> and `c"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
