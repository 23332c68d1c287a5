package daemon_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding/quilt"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestStoreShared stores with share=true on a real network and checks
// Walrus's shape (newlyCreated.sharedBlobObject) field by field, and the
// chain: the blob object is wrapped in that shared blob, no longer the
// publisher's, unfunded; share=false stores an ordinary object.
func TestStoreShared(t *testing.T) {
	e := newEnv(t)
	blob := nettest.Blob(2000, 41)
	_, raw := e.do(t, http.MethodPut, "/v1/blobs?permanent=true&share=true&epochs=3", bytes.NewReader(blob))
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	keysOf(t, "result", generic, "newlyCreated")
	created := generic["newlyCreated"].(map[string]any)
	keysOf(t, "newlyCreated", created, "blobObject", "resourceOperation", "cost", "sharedBlobObject")
	obj := created["blobObject"].(map[string]any)
	keysOf(t, "blobObject", obj, "id", "registeredEpoch", "blobId", "size", "encodingType", "certifiedEpoch", "storage", "deletable")
	sharedID, err := chain.ParseObjectID(created["sharedBlobObject"].(string))
	if err != nil {
		t.Fatalf("sharedBlobObject %v: %v", created["sharedBlobObject"], err)
	}
	sb, err := e.net.Chain.SharedBlob(t.Context(), sharedID)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Blob.ID.String() != obj["id"] || sb.Blob.BlobID.String() != obj["blobId"] || sb.Funds != 0 || sb.Blob.Deletable ||
		!sb.Blob.IsCertified() || obj["deletable"] != false || sb.Blob.Size != uint64(len(blob)) {
		t.Fatalf("shared blob %+v for the answered object %v", sb, obj)
	}
	for _, o := range e.blobObjects(t) {
		if o.ID == sb.Blob.ID {
			t.Error("the shared blob object is still the publisher's")
		}
	}
	// Reads by object ID take the shared blob's ID too, as Walrus's.
	if err := e.c.SetBlobAttribute(t.Context(), sb.Blob.ID, []chain.AttributePair{{Key: "k", Value: "v"}}); !errors.Is(err, chain.ErrNotOwner) {
		t.Fatalf("setting an attribute on a wrapped blob: %v", err)
	}
	resp, got := e.do(t, http.MethodGet, "/v1/blobs/by-object-id/"+sharedID.String(), nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, blob) {
		t.Fatalf("GET by the shared blob's ID: %d, %d bytes", resp.StatusCode, len(got))
	}
	resp, got = e.do(t, http.MethodGet, "/v1/blobs/by-object-id/"+sb.Blob.ID.String(), nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, blob) {
		t.Fatalf("GET by the wrapped object's ID: %d, %d bytes", resp.StatusCode, len(got))
	}
	res := storeOK(t, e, "?permanent=true&share=false&force=true", blob)
	if res.NewlyCreated == nil || res.NewlyCreated.SharedBlobObject != nil {
		t.Fatalf("share=false: %+v", res)
	}
	if _, err := e.net.Chain.BlobObject(t.Context(), res.NewlyCreated.BlobObject.ID); err != nil {
		t.Fatal(err)
	}
}

// TestQuiltStoreShared: PUT /v1/quilts?share=true marks the quilt's blob
// object a quilt before sharing it (a shared object has no owner to mark
// it), and answers the shared blob in blobStoreResult.newlyCreated.
func TestQuiltStoreShared(t *testing.T) {
	e := newEnv(t)
	files := []quilt.Blob{{Identifier: "a.txt", Data: []byte("first")}, {Identifier: "b.txt", Data: []byte("second")}}
	ct, body := quiltForm(t, files, "")
	resp, raw := e.do(t, http.MethodPut, "/v1/quilts?permanent=true&share=true", bytes.NewReader(body), "Content-Type", ct)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /v1/quilts?share=true: %d %s", resp.StatusCode, raw)
	}
	var res struct {
		BlobStoreResult struct {
			NewlyCreated *struct {
				BlobObject       struct{ ID chain.ObjectID }
				SharedBlobObject *chain.ObjectID `json:"sharedBlobObject"`
			} `json:"newlyCreated"`
		} `json:"blobStoreResult"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || res.BlobStoreResult.NewlyCreated == nil || res.BlobStoreResult.NewlyCreated.SharedBlobObject == nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	nc := res.BlobStoreResult.NewlyCreated
	sb, err := e.net.Chain.SharedBlob(t.Context(), *nc.SharedBlobObject)
	if err != nil || sb.Blob.ID != nc.BlobObject.ID {
		t.Fatalf("shared blob %+v: %v", sb, err)
	}
	a, err := e.net.Chain.BlobAttribute(t.Context(), sb.Blob.ID)
	if err != nil || a == nil || len(a.Pairs) != 1 || a.Pairs[0] != (chain.AttributePair{Key: quilt.BlobTypeAttribute, Value: quilt.BlobTypeQuilt}) {
		t.Errorf("attribute of the shared quilt's blob %+v: %v", a, err)
	}
}
