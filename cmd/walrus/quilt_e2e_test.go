package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// quiltE2E stores quilts through the daemon process (multipart PUT
// /v1/quilts) and through the CLI process (store-quilt), reads them back
// the other way, and serves a blob object's attributes as headers: part of
// TestE2E, on its network.
func quiltE2E(t *testing.T, nw *procNetwork, files string) {
	// HTTP store, CLI reads.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	contents := map[string][]byte{"index.html": []byte("<p>hi</p>"), "logo.png": e2eBlob(3000, 20), "notes.txt": []byte("notes")}
	for _, name := range []string{"notes.txt", "logo.png", "index.html"} {
		w, _ := mw.CreateFormFile(name, name)
		w.Write(contents[name])
	}
	mw.WriteField("_metadata", `[{"identifier":"logo.png","tags":{"content-type":"image/png","author":"e2e"}}]`)
	mw.Close()
	resp, raw := httpDo(t, http.MethodPut, nw.daemonURL+"/v1/quilts?epochs=3", &body, "Content-Type", mw.FormDataContentType())
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /v1/quilts: %d %s", resp.StatusCode, raw)
	}
	var res struct {
		BlobStoreResult  map[string]any `json:"blobStoreResult"`
		StoredQuiltBlobs []struct {
			Identifier   string `json:"identifier"`
			QuiltPatchID string `json:"quiltPatchId"`
		} `json:"storedQuiltBlobs"`
	}
	json.Unmarshal(raw, &res)
	qid := blobIDOf(t, res.BlobStoreResult)
	if len(res.StoredQuiltBlobs) != 3 || res.StoredQuiltBlobs[0].Identifier != "index.html" {
		t.Fatalf("storedQuiltBlobs %+v", res.StoredQuiltBlobs)
	}
	out := filepath.Join(files, "quilt-out")
	var rd struct {
		RetrievedBlobs []struct {
			Identifier string            `json:"identifier"`
			Tags       map[string]string `json:"tags"`
		} `json:"retrievedBlobs"`
	}
	if err := json.Unmarshal([]byte(nw.run("read-quilt", "--quilt-id", qid, "--identifiers", "logo.png", "notes.txt", "--out", out, "--json")), &rd); err != nil {
		t.Fatal(err)
	}
	if len(rd.RetrievedBlobs) != 2 || rd.RetrievedBlobs[0].Tags["author"] != "e2e" {
		t.Fatalf("read-quilt: %+v", rd)
	}
	for _, name := range []string{"logo.png", "notes.txt"} {
		if got, _ := os.ReadFile(filepath.Join(out, name)); !bytes.Equal(got, contents[name]) {
			t.Fatalf("read-quilt wrote %s wrong", name)
		}
	}
	if list := nw.run("list-patches-in-quilt", qid); !strings.Contains(list, res.StoredQuiltBlobs[2].QuiltPatchID) {
		t.Fatalf("list-patches-in-quilt: %s", list)
	}
	// The allowed tag content-type is answered; a page cannot run.
	resp, got := httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/by-quilt-id/"+qid+"/logo.png", nil)
	if resp.StatusCode != 200 || !bytes.Equal(got, contents["logo.png"]) || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Author") != "" {
		t.Fatalf("GET logo.png: %d, headers %v", resp.StatusCode, resp.Header)
	}
	resp, _ = httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/by-quilt-patch-id/"+res.StoredQuiltBlobs[0].QuiltPatchID, nil)
	// A page never runs on the aggregator's origin: sandboxed, or (sniffed,
	// not asked for) sent as a download.
	runs := resp.Header.Get("Content-Security-Policy") != "sandbox" && resp.Header.Get("Content-Type") != "application/octet-stream"
	if resp.StatusCode != 200 || runs || resp.Header.Get("X-Quilt-Patch-Identifier") != "index.html" {
		t.Fatalf("GET index.html: %d, headers %v", resp.StatusCode, resp.Header)
	}

	// CLI store, HTTP reads; attributes by CLI, served as headers.
	p := writeFile(t, files, []byte("from the CLI"))
	var stored struct {
		BlobStoreResult  map[string]any `json:"blobStoreResult"`
		StoredQuiltBlobs []struct {
			QuiltPatchID string `json:"quiltPatchId"`
		} `json:"storedQuiltBlobs"`
	}
	if err := json.Unmarshal([]byte(nw.run("store-quilt", "--epochs", "3", "--json", "--blobs", `{"path":"`+p+`","identifier":"cli.txt"}`)), &stored); err != nil {
		t.Fatal(err)
	}
	resp, got = httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/by-quilt-patch-id/"+stored.StoredQuiltBlobs[0].QuiltPatchID, nil)
	if resp.StatusCode != 200 || string(got) != "from the CLI" {
		t.Fatalf("GET the CLI's patch: %d %q", resp.StatusCode, got)
	}
	obj := stored.BlobStoreResult["newlyCreated"].(map[string]any)["blobObject"].(map[string]any)["id"].(string)
	nw.run("set-blob-attribute", obj, "--attr", "content-disposition", `attachment; filename="q.bin"`)
	resp, _ = httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/by-object-id/"+obj, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != `attachment; filename="q.bin"` {
		t.Fatalf("by-object-id: %d, headers %v", resp.StatusCode, resp.Header)
	}
	if attr := nw.run("get-blob-attribute", obj); !strings.Contains(attr, "_walrusBlobType: quilt") || !strings.Contains(attr, "content-disposition: attachment") {
		t.Fatalf("get-blob-attribute: %q", attr)
	}
}
