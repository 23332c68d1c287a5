package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/walrus-go/walrus/client/daemon"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/quilt"
	"github.com/walrus-go/walrus/encoding/quilt/quilttest"
)

// TestQuiltCommands stores the golden quilt many_files_n10 with
// store-quilt --blobs (n = 10, as the test network), checks the quilt ID
// and patch IDs against Mysten's SDK, and reads it back every way
// read-quilt and list-patches-in-quilt allow, checking Walrus's JSON shapes
// field by field.
func TestQuiltCommands(t *testing.T) {
	e := newClientEnv(t)
	v := quilttest.Load(t, "many_files_n10")
	files := v.Blobs(t)
	var blobArgs []string
	data := map[string][]byte{}
	for i, f := range files {
		p := filepath.Join(e.dir, fmt.Sprintf("file-%d", i))
		os.WriteFile(p, f.Data, 0o644)
		in := map[string]any{"path": p, "identifier": f.Identifier}
		if f.Tags != nil {
			in["tags"] = f.Tags
		}
		b, _ := json.Marshal(in)
		blobArgs = append(blobArgs, string(b))
		data[f.Identifier] = f.Data
	}

	// A dry run: the quilt ID and index, nothing paid.
	var dry struct {
		QuiltBlobOutput struct {
			BlobID      string `json:"blobId"`
			StorageCost uint64 `json:"storageCost"`
		} `json:"quiltBlobOutput"`
		QuiltIndex struct {
			QuiltPatches []struct {
				EndIndex   int    `json:"endIndex"`
				Identifier string `json:"identifier"`
			} `json:"quiltPatches"`
		} `json:"quiltIndex"`
	}
	e.runJSON(t, &dry, append([]string{"store-quilt", "--dry-run", "--blobs"}, blobArgs...)...)
	if dry.QuiltBlobOutput.BlobID != v.QuiltID || dry.QuiltBlobOutput.StorageCost == 0 || len(dry.QuiltIndex.QuiltPatches) != len(v.Index) ||
		dry.QuiltIndex.QuiltPatches[0].EndIndex != v.Index[0].End || dry.QuiltIndex.QuiltPatches[0].Identifier != v.Index[0].Identifier {
		t.Fatalf("store-quilt --dry-run: %+v", dry)
	}
	if objs, _ := e.net.Chain.BlobObjects(t.Context(), e.net.Wallet.Address()); len(objs) != 0 {
		t.Fatalf("a dry run registered %d blob objects", len(objs))
	}

	// store-quilt --blobs A B C …: Walrus's multi-value form.
	var stored map[string]json.RawMessage
	e.runJSON(t, &stored, append([]string{"store-quilt", "--epochs", "2", "--blobs"}, blobArgs...)...)
	if len(stored) != 2 || stored["blobStoreResult"] == nil || stored["storedQuiltBlobs"] == nil {
		t.Fatalf("store-quilt --json: fields %v", stored)
	}
	var bsr map[string]map[string]map[string]any
	json.Unmarshal(stored["blobStoreResult"], &bsr)
	obj := bsr["newlyCreated"]["blobObject"]
	if obj["blobId"] != v.QuiltID {
		t.Fatalf("quilt ID %v, want the golden %s", obj["blobId"], v.QuiltID)
	}
	var patches []map[string]any
	json.Unmarshal(stored["storedQuiltBlobs"], &patches)
	if len(patches) != len(v.Index) {
		t.Fatalf("%d patches, want %d", len(patches), len(v.Index))
	}
	for i, p := range v.Index {
		want := fmt.Sprint(map[string]any{"identifier": p.Identifier, "quiltPatchId": p.PatchID, "range": []any{float64(p.Start), float64(p.End)}})
		if got := fmt.Sprint(patches[i]); got != want {
			t.Errorf("storedQuiltBlobs[%d] = %s, want %s", i, got, want)
		}
	}
	objectID := obj["id"].(string)

	// list-patches-in-quilt: Walrus's QuiltMetadata.
	var meta struct {
		V1 struct {
			RawID    []int `json:"quilt_id"`
			Metadata struct {
				V1 struct {
					EncodingType    string `json:"encoding_type"`
					UnencodedLength int    `json:"unencoded_length"`
					Hashes          []struct {
						Primary   map[string][]int `json:"primary_hash"`
						Secondary map[string][]int `json:"secondary_hash"`
					} `json:"hashes"`
				} `json:"V1"`
			} `json:"metadata"`
			Index struct {
				QuiltPatches []map[string]any `json:"quiltPatches"`
			} `json:"index"`
		} `json:"V1"`
	}
	e.runJSON(t, &meta, "list-patches-in-quilt", v.QuiltID)
	qidBytes, _ := encoding.ParseBlobID(v.QuiltID)
	var rawID []int
	for _, c := range qidBytes {
		rawID = append(rawID, int(c))
	}
	md := meta.V1.Metadata.V1
	if fmt.Sprint(meta.V1.RawID) != fmt.Sprint(rawID) || len(meta.V1.Index.QuiltPatches) != len(v.Index) ||
		md.EncodingType != "RS2" || md.UnencodedLength != int(obj["size"].(float64)) || len(md.Hashes) != 10 ||
		len(md.Hashes[0].Primary["Digest"]) != 32 || len(md.Hashes[9].Secondary["Digest"]) != 32 {
		t.Fatalf("list-patches-in-quilt: %+v", meta)
	}
	for i, p := range v.Index {
		tags := map[string]any{}
		for k, v := range p.Tags {
			tags[k] = v
		}
		want := fmt.Sprint(map[string]any{"endIndex": float64(p.End), "identifier": p.Identifier, "tags": tags})
		if got := fmt.Sprint(meta.V1.Index.QuiltPatches[i]); got != want {
			t.Errorf("quiltPatches[%d] = %s, want %s", i, got, want)
		}
	}
	out, _, code := e.run(t, "list-patches-in-quilt", v.QuiltID)
	if code != 0 || !strings.Contains(out, "Quilt Metadata V1: "+v.QuiltID) || !strings.Contains(out, v.Index[0].PatchID) {
		t.Fatalf("list-patches-in-quilt: %d %q", code, out)
	}

	// read-quilt --quilt-id --identifiers A B --out DIR.
	dir := filepath.Join(e.dir, "out")
	var rd struct {
		Out            string `json:"out"`
		RetrievedBlobs []struct {
			Blob       []byte            `json:"blob"`
			Identifier string            `json:"identifier"`
			Tags       map[string]string `json:"tags"`
		} `json:"retrievedBlobs"`
	}
	e.runJSON(t, &rd, "read-quilt", "--quilt-id", v.QuiltID, "--identifiers", "a.txt", "c d.json", "--out", dir)
	if rd.Out != dir || len(rd.RetrievedBlobs) != 2 || rd.RetrievedBlobs[0].Identifier != "a.txt" || rd.RetrievedBlobs[1].Identifier != "c d.json" ||
		rd.RetrievedBlobs[0].Tags["type"] != "text" || len(rd.RetrievedBlobs[0].Blob) != 0 {
		t.Fatalf("read-quilt --out --json: %+v", rd)
	}
	for _, id := range []string{"a.txt", "c d.json"} {
		if got, err := os.ReadFile(filepath.Join(dir, id)); err != nil || !bytes.Equal(got, data[id]) {
			t.Fatalf("read-quilt wrote %s: %v, %d bytes", id, err, len(got))
		}
	}
	// The JSON's blob is Walrus's: an array of numbers.
	raw, _, _ := e.run(t, "read-quilt", "--quilt-patch-ids", v.Index[0].PatchID, "--json")
	if !strings.Contains(raw, `"blob": [`) {
		t.Errorf("read-quilt --json blob is not an array of numbers: %.200s", raw)
	}

	// By patch IDs, to stdout: the patches' bytes in order.
	out, _, code = e.run(t, "read-quilt", "--quilt-patch-ids", v.Index[1].PatchID, v.Index[0].PatchID)
	if want := string(data[v.Index[1].Identifier]) + string(data[v.Index[0].Identifier]); code != 0 || out != want {
		t.Fatalf("read-quilt --quilt-patch-ids: %d, %d bytes, want %d", code, len(out), len(want))
	}
	// By tag; all of them, in text.
	e.runJSON(t, &rd, "read-quilt", "--quilt-id", v.QuiltID, "--tag", "type", "text")
	if len(rd.RetrievedBlobs) != 1 || rd.RetrievedBlobs[0].Identifier != "a.txt" || !bytes.Equal(rd.RetrievedBlobs[0].Blob, data["a.txt"]) {
		t.Fatalf("read-quilt --tag: %+v", rd)
	}
	all := filepath.Join(e.dir, "all")
	out, _, code = e.run(t, "read-quilt", "--quilt-id", v.QuiltID, "--out", all)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Retrieved %d blobs and saved to directory: %s", len(files), all)) || !strings.Contains(out, "     type: text") {
		t.Fatalf("read-quilt all: %d %q", code, out)
	}

	// The quilt's blob object is marked a quilt.
	var attr map[string]map[string]map[string][]map[string]string
	e.runJSON(t, &attr, "get-blob-attribute", objectID)
	if c := attr["attribute"]["metadata"]["contents"]; len(c) != 1 || c[0]["key"] != quilt.BlobTypeAttribute || c[0]["value"] != quilt.BlobTypeQuilt {
		t.Fatalf("get-blob-attribute of the quilt: %v", attr)
	}

	// Errors.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"read-quilt", "--quilt-id", v.QuiltID, "--identifiers", "missing"}, "patch not found"},
		{[]string{"read-quilt", "--quilt-id", v.QuiltID, "--quilt-patch-ids", v.Index[0].PatchID}, "use one of"},
		{[]string{"read-quilt"}, "is required"},
		{[]string{"read-quilt", "--quilt-patch-ids", "bad"}, "invalid quilt patch ID"},
		{[]string{"store-quilt"}, "either --paths or --blobs"},
		{[]string{"store-quilt", "--blobs", `{"path":"` + filepath.Join(e.dir, "file-0") + `","identifier":"x","bogus":1}`}, "--blobs"},
	} {
		_, errOut, code := e.run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestStoreQuiltPaths stores a directory with --paths (file names are the
// identifiers) and refuses to write a patch whose identifier leaves --out.
func TestStoreQuiltPaths(t *testing.T) {
	e := newClientEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "one.txt"), []byte("one"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "two.txt"), []byte("two"), 0o644)
	extra := filepath.Join(e.dir, "three.txt")
	os.WriteFile(extra, []byte("three"), 0o644)
	var res struct {
		StoredQuiltBlobs []struct {
			Identifier   string `json:"identifier"`
			QuiltPatchID string `json:"quiltPatchId"`
		} `json:"storedQuiltBlobs"`
	}
	e.runJSON(t, &res, "store-quilt", "--paths", src, extra)
	var ids []string
	for _, p := range res.StoredQuiltBlobs {
		ids = append(ids, p.Identifier)
	}
	if fmt.Sprint(ids) != "[one.txt three.txt two.txt]" {
		t.Fatalf("identifiers %v", ids)
	}
	out, _, code := e.run(t, "read-quilt", "--quilt-patch-ids", res.StoredQuiltBlobs[2].QuiltPatchID)
	if code != 0 || out != "two" {
		t.Fatalf("read two.txt: %d %q", code, out)
	}
	// Same names in two folders: refused (identifiers are unique).
	os.WriteFile(filepath.Join(src, "sub", "one.txt"), []byte("again"), 0o644)
	if _, errOut, code := e.run(t, "store-quilt", "--paths", src); code == 0 || !strings.Contains(errOut, "duplicate identifier") {
		t.Fatalf("duplicate names: %d %q", code, errOut)
	}

	// An identifier that climbs out of --out is refused; nothing is written
	// outside it.
	var evil struct {
		StoredQuiltBlobs []struct {
			QuiltPatchID string `json:"quiltPatchId"`
		} `json:"storedQuiltBlobs"`
		BlobStoreResult struct {
			NewlyCreated struct {
				BlobObject struct {
					BlobID string `json:"blobId"`
				} `json:"blobObject"`
			} `json:"newlyCreated"`
		} `json:"blobStoreResult"`
	}
	e.runJSON(t, &evil, "store-quilt", "--blobs", `{"path":"`+extra+`","identifier":"../escaped.txt"}`, `{"path":"`+filepath.Join(src, "one.txt")+`","identifier":"dir/nested.txt"}`)
	outDir := filepath.Join(e.dir, "reads", "out")
	_, errOut, code := e.run(t, "read-quilt", "--quilt-id", evil.BlobStoreResult.NewlyCreated.BlobObject.BlobID, "--out", outDir)
	if code == 0 || !strings.Contains(errOut, "not a local file name") {
		t.Fatalf("read-quilt of ../escaped.txt: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "reads", "escaped.txt")); err == nil {
		t.Fatal("a patch was written outside --out")
	}
	// A nested identifier makes a folder below --out.
	_, errOut, code = e.run(t, "read-quilt", "--quilt-patch-ids", evil.StoredQuiltBlobs[1].QuiltPatchID, "--out", outDir)
	if got, _ := os.ReadFile(filepath.Join(outDir, "dir", "nested.txt")); code != 0 || string(got) != "one" {
		t.Fatalf("nested identifier: %d %q %q", code, errOut, got)
	}
}

// TestBlobAttributeCommands sets, reads and removes a blob object's
// attribute, with Walrus's command names, flags and JSON.
func TestBlobAttributeCommands(t *testing.T) {
	e := newClientEnv(t)
	file := filepath.Join(e.dir, "blob.txt")
	os.WriteFile(file, []byte("attributed"), 0o644)
	var stored []struct {
		BlobStoreResult struct {
			NewlyCreated struct {
				BlobObject struct {
					ID string `json:"id"`
				} `json:"blobObject"`
			} `json:"newlyCreated"`
		} `json:"blobStoreResult"`
	}
	e.runJSON(t, &stored, "store", file)
	obj := stored[0].BlobStoreResult.NewlyCreated.BlobObject.ID

	out, _, code := e.run(t, "get-blob-attribute", obj)
	if code != 0 || out != "No attribute found\n" {
		t.Fatalf("get-blob-attribute without one: %d %q", code, out)
	}
	out, _, code = e.run(t, "get-blob-attribute", obj, "--json")
	if code != 0 || strings.TrimSpace(out) != `{
  "attribute": null
}` {
		t.Fatalf("get-blob-attribute --json without one: %d %q", code, out)
	}
	// The object ID before the flags or after them, as Walrus's clap takes it.
	out, errOut, code := e.run(t, "set-blob-attribute", "--attr", "content-type", "text/plain", "--attr", "x-key", "a value", obj)
	if code != 0 || out != "Success: Successfully added attribute for blob object "+obj+"\n" {
		t.Fatalf("set-blob-attribute: %d %q %q", code, out, errOut)
	}
	var got map[string]map[string]map[string][]map[string]string
	e.runJSON(t, &got, "get-blob-attribute", obj)
	want := `[map[key:content-type value:text/plain] map[key:x-key value:a value]]`
	if len(got) != 1 || fmt.Sprint(got["attribute"]["metadata"]["contents"]) != want {
		t.Fatalf("get-blob-attribute --json: %v, want contents %s", got, want)
	}
	out, _, _ = e.run(t, "get-blob-attribute", obj)
	if out != "\nAttribute\ncontent-type: text/plain\nx-key: a value\n" {
		t.Fatalf("get-blob-attribute: %q", out)
	}
	if out, _, code := e.run(t, "remove-blob-attribute-fields", obj, "--keys", "x-key", "--json"); code != 0 || out != "" {
		t.Fatalf("remove-blob-attribute-fields --json: %d %q", code, out)
	}
	e.runJSON(t, &got, "get-blob-attribute", obj)
	if fmt.Sprint(got["attribute"]["metadata"]["contents"]) != `[map[key:content-type value:text/plain]]` {
		t.Fatalf("after removing x-key: %v", got)
	}
	if _, errOut, code := e.run(t, "remove-blob-attribute-pairs", obj, "--keys", "missing"); code == 0 || !strings.Contains(errOut, "no such blob attribute") {
		t.Fatalf("removing a missing key: %d %q", code, errOut)
	}
	if out, _, code := e.run(t, "remove-blob-attribute", obj); code != 0 || !strings.Contains(out, "Successfully removed attribute") {
		t.Fatalf("remove-blob-attribute: %d %q", code, out)
	}
	if out, _, _ := e.run(t, "get-blob-attribute", obj); out != "No attribute found\n" {
		t.Fatalf("after remove-blob-attribute: %q", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"set-blob-attribute", obj, "--attr", "k"}, "--attr takes a KEY and a VALUE"},
		{[]string{"set-blob-attribute", "0xbad", "--attr", "k", "v"}, "blob object ID"},
		{[]string{"set-blob-attribute", obj, "--attr", strings.Repeat("k", 300), "v"}, "invalid blob attribute"},
		{[]string{"remove-blob-attribute", obj}, "no such blob attribute"},
		{[]string{"remove-blob-attribute-fields", obj}, "--keys is required"},
	} {
		if _, errOut, code := e.run(t, tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args[:2], code, errOut, tc.want)
		}
	}
}

func TestQuiltDaemonFlags(t *testing.T) {
	var q quiltDaemonFlags
	f := pflag.NewFlagSet("daemon", pflag.ContinueOnError)
	q.register(f)
	if err := f.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg := q.apply(daemon.Config{})
	if cfg.Quilt.MaxBodySize != daemon.DefaultMaxQuiltBodySize || cfg.Quilt.MaxSize != daemon.DefaultMaxQuiltSize ||
		fmt.Sprint(cfg.ResponseHeaders.AllowedHeaders) != fmt.Sprint(daemon.DefaultAllowedHeaders) || cfg.ResponseHeaders.AllowQuiltPatchTagsInResponse {
		t.Fatalf("defaults: %+v %+v", cfg.Quilt, cfg.ResponseHeaders)
	}
	q = quiltDaemonFlags{}
	f = pflag.NewFlagSet("daemon", pflag.ContinueOnError)
	q.register(f)
	if err := f.Parse([]string{"--max-quilt-body-size", "20", "--max-quilt-size", "64", "--allowed-headers", "content-type,x-a", "--allow-quilt-patch-tags-in-response"}); err != nil {
		t.Fatal(err)
	}
	cfg = q.apply(daemon.Config{})
	if cfg.Quilt.MaxBodySize != 20<<10 || cfg.Quilt.MaxSize != 64<<10 || fmt.Sprint(cfg.ResponseHeaders.AllowedHeaders) != "[content-type x-a]" ||
		!cfg.ResponseHeaders.AllowQuiltPatchTagsInResponse {
		t.Fatalf("flags: %+v %+v", cfg.Quilt, cfg.ResponseHeaders)
	}
}
