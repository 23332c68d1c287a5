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
	if !strings.Contains(string(apiPage), "<code>/v1/blobs/{blob_id}</code>") || strings.Contains(string(apiPage), "<script") {
		t.Errorf("API page:\n%s", apiPage)
	}
}
