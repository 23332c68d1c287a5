package daemon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client/daemon"
	"github.com/walrus-go/walrus/encoding/quilt"
	"github.com/walrus-go/walrus/encoding/quilt/quilttest"
)

// quiltForm builds a multipart body: one part per file (field name =
// identifier), then _metadata if meta is not empty.
func quiltForm(t *testing.T, files []quilt.Blob, meta string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		w, err := mw.CreateFormFile(f.Identifier, f.Identifier)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.Data)
	}
	if meta != "" {
		mw.WriteField(daemon.MetadataField, meta)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func TestQuiltStoreAndRead(t *testing.T) {
	e := newEnv(t)
	v := quilttest.Load(t, "many_files_n10")
	files := v.Blobs(t)
	var meta []map[string]any
	for i, f := range files {
		if f.Tags != nil {
			meta = append(meta, map[string]any{"identifier": f.Identifier, "tags": f.Tags})
		}
		files[i].Tags = nil // they go in _metadata
	}
	mj, _ := json.Marshal(meta)
	ct, body := quiltForm(t, files, string(mj))
	resp, raw := e.do(t, http.MethodPut, "/v1/quilts?epochs=2&quilt_version=V1", bytes.NewReader(body), "Content-Type", ct)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /v1/quilts: %d %s", resp.StatusCode, raw)
	}
	// Walrus's QuiltStoreResult, field by field.
	var res struct {
		BlobStoreResult  map[string]map[string]any `json:"blobStoreResult"`
		StoredQuiltBlobs []map[string]any          `json:"storedQuiltBlobs"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	json.Unmarshal(raw, &top)
	if len(top) != 2 {
		t.Errorf("result has fields %v, want blobStoreResult and storedQuiltBlobs", keys(top))
	}
	obj, _ := res.BlobStoreResult["newlyCreated"]["blobObject"].(map[string]any)
	if obj == nil || obj["blobId"] != v.QuiltID || obj["deletable"] != true {
		t.Fatalf("blobStoreResult %v: want a new deletable blob %s (the golden quilt ID)", res.BlobStoreResult, v.QuiltID)
	}
	if len(res.StoredQuiltBlobs) != len(v.Index) {
		t.Fatalf("%d stored quilt blobs, want %d", len(res.StoredQuiltBlobs), len(v.Index))
	}
	for i, p := range v.Index {
		got := res.StoredQuiltBlobs[i]
		want := map[string]any{"identifier": p.Identifier, "quiltPatchId": p.PatchID, "range": []any{float64(p.Start), float64(p.End)}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("storedQuiltBlobs[%d] = %v, want %v", i, got, want)
		}
	}
	// The blob object is marked a quilt, as Walrus does.
	oid, _ := chain.ParseObjectID(obj["id"].(string))
	attr, err := e.net.Chain.BlobAttribute(t.Context(), oid)
	if err != nil || attr == nil {
		t.Fatalf("attribute of the quilt's object: %v, %v", attr, err)
	}
	if val, _ := attr.Get(quilt.BlobTypeAttribute); val != quilt.BlobTypeQuilt {
		t.Errorf("attribute %+v, want %s = %s", attr, quilt.BlobTypeAttribute, quilt.BlobTypeQuilt)
	}

	// Every patch by patch ID and by identifier: bytes and headers.
	data := map[string][]byte{}
	for _, f := range files {
		data[f.Identifier] = f.Data
	}
	for _, p := range v.Index {
		for _, path := range []string{"/v1/blobs/by-quilt-patch-id/" + p.PatchID, "/v1/blobs/by-quilt-id/" + v.QuiltID + "/" + pathEscape(p.Identifier)} {
			resp, got := e.do(t, http.MethodGet, path, nil)
			if resp.StatusCode != 200 || !bytes.Equal(got, data[p.Identifier]) {
				t.Fatalf("GET %s: %d, %d bytes, want %d", path, resp.StatusCode, len(got), len(data[p.Identifier]))
			}
			if h := resp.Header.Get("X-Quilt-Patch-Identifier"); h != p.Identifier {
				t.Errorf("GET %s: X-Quilt-Patch-Identifier %q", path, h)
			}
			if h := resp.Header.Get("ETag"); h != p.PatchID {
				t.Errorf("GET %s: ETag %q", path, h)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") == "" {
				t.Errorf("GET %s: headers %v", path, resp.Header)
			}
		}
	}
	// Tags become headers only when allowed: "type" is not on the default
	// allow-list.
	resp, _ = e.do(t, http.MethodGet, "/v1/blobs/by-quilt-id/"+v.QuiltID+"/a.txt", nil)
	if resp.Header.Get("Type") != "" {
		t.Errorf("tag 'type' answered as a header without AllowQuiltPatchTagsInResponse")
	}

	// The list, Walrus's QuiltPatchItem (snake_case patch_id).
	resp, raw = e.do(t, http.MethodGet, "/v1/quilts/"+v.QuiltID+"/patches", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, raw)
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil || len(items) != len(v.Index) {
		t.Fatalf("list %s: %v", raw, err)
	}
	for i, p := range v.Index {
		tags := map[string]any{}
		for k, v := range p.Tags {
			tags[k] = v
		}
		want := map[string]any{"identifier": p.Identifier, "patch_id": p.PatchID, "tags": tags}
		if fmt.Sprint(items[i]) != fmt.Sprint(want) {
			t.Errorf("list[%d] = %v, want %v", i, items[i], want)
		}
	}

	// Errors.
	resp, raw = e.do(t, http.MethodGet, "/v1/blobs/by-quilt-id/"+v.QuiltID+"/missing", nil)
	checkError(t, resp, raw, 404, "NOT_FOUND", daemon.ReasonQuiltPatchNotFound)
	pid, _ := quilt.ParseQuiltPatchID(v.Index[0].PatchID)
	pid.Patch = quilt.PatchID{Start: 1, End: 200}
	resp, raw = e.do(t, http.MethodGet, "/v1/blobs/by-quilt-patch-id/"+pid.String(), nil)
	checkError(t, resp, raw, 404, "NOT_FOUND", daemon.ReasonQuiltPatchNotFound)
	resp, raw = e.do(t, http.MethodGet, "/v1/blobs/by-quilt-patch-id/not-a-patch-id", nil)
	checkError(t, resp, raw, 400, "INVALID_ARGUMENT", daemon.ReasonInvalidPatchID)
	resp, raw = e.do(t, http.MethodGet, "/v1/quilts/bad/patches", nil)
	checkError(t, resp, raw, 400, "INVALID_ARGUMENT", daemon.ReasonInvalidBlobID)
	// A blob that is not a quilt.
	plain := storeOK(t, e, "", []byte("just a blob"))
	resp, raw = e.do(t, http.MethodGet, "/v1/quilts/"+plain.BlobID().String()+"/patches", nil)
	checkError(t, resp, raw, 404, "NOT_FOUND", daemon.ReasonQuiltPatchNotFound)
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func pathEscape(s string) string { return strings.ReplaceAll(s, " ", "%20") }

func TestQuiltTagsAsHeaders(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) {
		c.ResponseHeaders.AllowQuiltPatchTagsInResponse = true
	})
	files := []quilt.Blob{{Identifier: "page.html", Data: []byte("<html><script>alert(1)</script>")}, {Identifier: "x", Data: []byte("x")}}
	meta := `[{"identifier":"page.html","tags":{"content-type":"text/html","x-author":"walrus","n":7,"set-cookie":"a=b"}}]`
	ct, body := quiltForm(t, files, meta)
	resp, raw := e.do(t, http.MethodPut, "/v1/quilts", bytes.NewReader(body), "Content-Type", ct)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, raw)
	}
	var res struct {
		StoredQuiltBlobs []struct {
			Identifier   string `json:"identifier"`
			QuiltPatchID string `json:"quiltPatchId"`
		} `json:"storedQuiltBlobs"`
	}
	json.Unmarshal(raw, &res)
	resp, _ = e.do(t, http.MethodGet, "/v1/blobs/by-quilt-patch-id/"+res.StoredQuiltBlobs[0].QuiltPatchID, nil)
	want := map[string]string{
		"Content-Type": "text/html", "X-Author": "walrus", "N": "7", "Set-Cookie": "",
		// A page never runs on the aggregator's origin.
		"Content-Security-Policy": "sandbox", "X-Quilt-Patch-Identifier": "page.html",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestQuiltStoreBadInput(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) {
		c.Quilt = daemon.QuiltConfig{MaxBodySize: 8 << 10, MaxParts: 4, MaxMetadataSize: 256, MaxSize: 1 << 20}
	})
	one := []quilt.Blob{{Identifier: "a", Data: []byte("a")}}
	form := func(files []quilt.Blob, meta string) (string, []byte) { return quiltForm(t, files, meta) }
	cases := []struct {
		name   string
		ct     string
		body   []byte
		query  string
		code   int
		status string
		reason string
	}{
		{name: "not multipart", ct: "application/octet-stream", body: []byte("x"), code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonMalformedRequest},
		{name: "no files", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonMalformedRequest},
		{name: "bad metadata", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonMalformedRequest},
		{name: "duplicate metadata", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonMalformedRequest},
		{name: "metadata too large", code: 413, status: "SIZE_EXCEEDED", reason: daemon.ReasonBlobTooLarge},
		{name: "too many parts", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonMalformedRequest},
		{name: "body too large", code: 413, status: "SIZE_EXCEEDED", reason: daemon.ReasonBlobTooLarge},
		{name: "duplicate identifier", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonMalformedRequest},
		{name: "invalid identifier", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonMalformedRequest},
		{name: "bad quilt version", query: "?quilt_version=v2", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonInvalidQuery},
		{name: "unknown parameter", query: "?colour=blue", code: 400, status: "INVALID_ARGUMENT", reason: daemon.ReasonInvalidQuery},
	}
	for i := range cases {
		c := &cases[i]
		switch c.name {
		case "no files":
			c.ct, c.body = form(nil, `[]`)
		case "bad metadata":
			c.ct, c.body = form(one, `{"identifier":"a"}`)
		case "duplicate metadata":
			c.ct, c.body = form(one, `[{"identifier":"a"},{"identifier":"a"}]`)
		case "metadata too large":
			c.ct, c.body = form(one, `[{"identifier":"a","tags":{"k":"`+strings.Repeat("v", 300)+`"}}]`)
		case "too many parts":
			c.ct, c.body = form([]quilt.Blob{{Identifier: "a"}, {Identifier: "b"}, {Identifier: "c"}, {Identifier: "d"}, {Identifier: "e"}}, "")
		case "body too large":
			c.ct, c.body = form([]quilt.Blob{{Identifier: "a", Data: make([]byte, 9<<10)}}, "")
		case "duplicate identifier":
			c.ct, c.body = form([]quilt.Blob{{Identifier: "a"}, {Identifier: "a"}}, "")
		case "invalid identifier":
			c.ct, c.body = form([]quilt.Blob{{Identifier: "trailing "}}, "")
		case "bad quilt version", "unknown parameter":
			c.ct, c.body = form(one, "")
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := e.do(t, http.MethodPut, "/v1/quilts"+c.query, bytes.NewReader(c.body), "Content-Type", c.ct)
			checkError(t, resp, raw, c.code, c.status, c.reason)
		})
	}
	if objs := e.blobObjects(t); len(objs) != 0 {
		t.Errorf("bad stores registered %d blob objects", len(objs))
	}
}

func TestQuiltTooLarge(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) {
		// n = 10: 4 rows, 7 columns. A 7 KiB file in one column beside 5
		// tiny ones needs columns of 7 KiB: a quilt of 7·7 KiB = 49 KiB.
		c.Quilt = daemon.QuiltConfig{MaxSize: 32 << 10}
	})
	files := []quilt.Blob{{Identifier: "big", Data: make([]byte, 7<<10)}}
	for i := range 5 {
		files = append(files, quilt.Blob{Identifier: fmt.Sprint("s", i), Data: []byte("s")})
	}
	ct, body := quiltForm(t, files, "")
	resp, raw := e.do(t, http.MethodPut, "/v1/quilts", bytes.NewReader(body), "Content-Type", ct)
	checkError(t, resp, raw, 413, "SIZE_EXCEEDED", daemon.ReasonBlobTooLarge)
}

func TestAttributeHeadersByObjectID(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) {
		c.ResponseHeaders.AllowedHeaders = []string{"Content-Type", "content-disposition", "x-allowed", "set-cookie"}
	})
	res := storeOK(t, e, "", []byte("plain text, really"))
	oid := res.NewlyCreated.BlobObject.ID
	_, err := e.net.Chain.SetBlobAttribute(t.Context(), e.net.Wallet, oid, []chain.AttributePair{
		{Key: "content-type", Value: "text/html"}, {Key: "Content-Disposition", Value: `attachment; filename="a.txt"`},
		{Key: "x-allowed", Value: "yes"}, {Key: "x-other", Value: "no"}, {Key: "set-cookie", Value: "a=b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := e.do(t, http.MethodGet, "/v1/blobs/by-object-id/"+oid.String(), nil)
	if resp.StatusCode != 200 || string(body) != "plain text, really" {
		t.Fatalf("GET: %d %q", resp.StatusCode, body)
	}
	want := map[string]string{
		"Content-Type": "text/html", "Content-Disposition": `attachment; filename="a.txt"`, "X-Allowed": "yes", "X-Other": "",
		"Set-Cookie": "", "Content-Security-Policy": "sandbox",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// A type the request asks for wins over the attribute's.
	resp, _ = e.do(t, http.MethodGet, "/v1/blobs/by-object-id/"+oid.String(), nil, "Accept", "text/plain")
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q with Accept: text/plain", ct)
	}
	// Errors carry no attribute headers; the blob ID route none at all.
	resp, _ = e.do(t, http.MethodGet, "/v1/blobs/"+res.BlobID().String(), nil)
	if resp.Header.Get("X-Allowed") != "" {
		t.Errorf("blob ID read answered attribute headers")
	}
}

func TestQuiltOpenAPI(t *testing.T) {
	e := newEnv(t)
	_, body := e.do(t, http.MethodGet, "/v1/api", nil)
	var doc struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for p, m := range map[string]string{"/v1/quilts": "put", "/v1/blobs/by-quilt-patch-id/{quilt_patch_id}": "get",
		"/v1/blobs/by-quilt-id/{quilt_id}/{identifier}": "get", "/v1/quilts/{quilt_id}/patches": "get"} {
		if _, ok := doc.Paths[p][m]; !ok {
			t.Errorf("OpenAPI document lacks %s %s", m, p)
		}
	}
	if doc.Components.Schemas["QuiltStoreResult"] == nil {
		t.Error("OpenAPI document lacks QuiltStoreResult")
	}
}

// TestQuiltIdentifierInPath: an identifier with a slash, a space or a
// question mark is read by its percent-encoded path segment.
func TestQuiltIdentifierInPath(t *testing.T) {
	e := newEnv(t)
	files := []quilt.Blob{{Identifier: "dir/a b?.txt", Data: []byte("nested")}, {Identifier: "plain", Data: []byte("plain")}}
	ct, body := quiltForm(t, files, "")
	resp, raw := e.do(t, http.MethodPut, "/v1/quilts", bytes.NewReader(body), "Content-Type", ct)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, raw)
	}
	var res struct {
		BlobStoreResult map[string]map[string]map[string]any `json:"blobStoreResult"`
	}
	json.Unmarshal(raw, &res)
	qid := res.BlobStoreResult["newlyCreated"]["blobObject"]["blobId"].(string)
	resp, got := e.do(t, http.MethodGet, "/v1/blobs/by-quilt-id/"+qid+"/"+url.PathEscape("dir/a b?.txt"), nil)
	if resp.StatusCode != 200 || string(got) != "nested" || resp.Header.Get("X-Quilt-Patch-Identifier") != "dir/a b?.txt" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, got, resp.Header)
	}
}

// TestQuiltModes: a publisher serves quilt stores only, an aggregator
// quilt reads only.
func TestQuiltModes(t *testing.T) {
	for _, tc := range []struct {
		mode       daemon.Mode
		put, reads bool
	}{{daemon.ModePublisher, true, false}, {daemon.ModeAggregator, false, true}} {
		e := newEnv(t, func(c *daemon.Config) { c.Mode = tc.mode })
		ct, body := quiltForm(t, []quilt.Blob{{Identifier: "a", Data: []byte("a")}}, "")
		resp, _ := e.do(t, http.MethodPut, "/v1/quilts", bytes.NewReader(body), "Content-Type", ct)
		if got := resp.StatusCode == 200; got != tc.put {
			t.Errorf("%s: PUT /v1/quilts: %d", tc.mode, resp.StatusCode)
		}
		id := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		// An unknown quilt: BLOB_NOT_FOUND where the route is served, no
		// such path where it is not.
		resp, raw := e.do(t, http.MethodGet, "/v1/quilts/"+id+"/patches", nil)
		reason := daemon.ReasonNotFound
		if tc.reads {
			reason = daemon.ReasonBlobNotFound
		}
		checkError(t, resp, raw, 404, "NOT_FOUND", reason)
	}
}
