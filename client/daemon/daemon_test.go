package daemon_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/client/daemon"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
)

var quiet = slog.New(slog.DiscardHandler)

type env struct {
	net *network.Network
	c   *client.Client
	d   *daemon.Daemon
	srv *httptest.Server
	reg *prometheus.Registry
}

func newEnv(t *testing.T, mod ...func(*daemon.Config)) *env {
	t.Helper()
	net := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, net)
	reg := prometheus.NewRegistry()
	cfg := daemon.Config{Client: c, Logger: quiet, Registry: reg, MaxBodySize: 64 << 10}
	for _, m := range mod {
		m(&cfg)
	}
	d, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(func() { srv.Close(); d.Close() })
	return &env{net: net, c: c, d: d, srv: srv, reg: reg}
}

// blobObjects returns the blob objects the wallet owns.
func (e *env) blobObjects(t *testing.T) []chain.BlobObject {
	t.Helper()
	objs, err := e.net.Chain.BlobObjects(t.Context(), e.net.Wallet.Address())
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func (e *env) do(t *testing.T, method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// checkError checks that an answer is Walrus's error body with the given
// code and reason.
func checkError(t *testing.T, resp *http.Response, body []byte, code int, status, reason string) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, code, body)
	}
	var eb map[string]map[string]any
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	e := eb["error"]
	details, _ := e["details"].([]any)
	if len(eb) != 1 || e["code"] != float64(code) || e["status"] != status || e["message"] == "" || len(details) != 1 {
		t.Fatalf("error body %s", body)
	}
	domain := daemon.ErrorDomain
	if reason == daemon.ReasonInternal {
		domain = daemon.GlobalErrorDomain
	}
	want := map[string]any{"@type": "ErrorInfo", "reason": reason, "domain": domain}
	d := details[0].(map[string]any)
	for k, v := range want {
		if d[k] != v {
			t.Fatalf("detail %s = %v, want %v (body %s)", k, d[k], v, body)
		}
	}
	// Walrus's client requires metadata (an object) and a (code, status)
	// pair of its list.
	if md, ok := d["metadata"].(map[string]any); !ok || len(d) != 4 {
		t.Fatalf("detail %v: metadata %v", d, md)
	}
	if !walrusPairs[fmt.Sprint(code, " ", status)] && code != 413 && code != 405 {
		t.Fatalf("(%d, %s) is not a pair Walrus's client deserializes", code, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
}

// keysOf checks that a JSON object has exactly the keys want.
func keysOf(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	if len(m) != len(want) {
		t.Errorf("%s has keys %v, want %v", what, m, want)
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q: %v", what, k, m)
		}
	}
}

// walrusPairs are the (code, status) pairs of Walrus's StatusCode
// (walrus-storage-node-client api/errors.rs), the only ones its client
// deserializes.
var walrusPairs = map[string]bool{
	"200 OK": true, "451 UNAVAILABLE_FOR_LEGAL_REASONS": true, "400 INVALID_ARGUMENT": true, "404 NOT_FOUND": true,
	"400 FAILED_PRECONDITION": true, "403 PERMISSION_DENIED": true, "403 SIZE_EXCEEDED": true, "500 INTERNAL": true,
	"504 DEADLINE_EXCEEDED": true, "401 UNAUTHENTICATED": true, "416 RANGE_NOT_SATISFIABLE": true,
	"429 RESOURCE_EXHAUSTED": true, "503 UNAVAILABLE": true,
}

func storeOK(t *testing.T, e *env, query string, blob []byte) client.StoreResult {
	t.Helper()
	resp, body := e.do(t, http.MethodPut, "/v1/blobs"+query, bytes.NewReader(blob))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", query, resp.StatusCode, body)
	}
	var res client.StoreResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// pngHeader starts a PNG file: browsers display a blob with it as an image.
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

func TestStoreAndRead(t *testing.T) {
	e := newEnv(t)
	blob := append(append([]byte{}, pngHeader...), nettest.Blob(3000, 1)...)
	res := storeOK(t, e, "?epochs=2", blob)
	nc := res.NewlyCreated
	if nc == nil || !nc.BlobObject.Deletable || nc.BlobObject.Storage.EndEpoch != 3 || nc.Cost == 0 {
		t.Fatalf("result %+v; want a new deletable blob for 2 epochs", res)
	}
	// The JSON is Walrus's, field for field (BlobStoreResult, Blob,
	// StorageResource, RegisterBlobOp of walrus-sdk and walrus-sui).
	_, raw := e.do(t, http.MethodPut, "/v1/blobs?permanent=true", bytes.NewReader(blob))
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	keysOf(t, "result", generic, "newlyCreated")
	created := generic["newlyCreated"].(map[string]any)
	keysOf(t, "newlyCreated", created, "blobObject", "resourceOperation", "cost")
	obj := created["blobObject"].(map[string]any)
	keysOf(t, "blobObject", obj, "id", "registeredEpoch", "blobId", "size", "encodingType", "certifiedEpoch", "storage", "deletable")
	keysOf(t, "storage", obj["storage"].(map[string]any), "id", "startEpoch", "endEpoch", "storageSize")
	if obj["encodingType"] != "RS2" || obj["deletable"] != false || obj["size"] != float64(len(blob)) || obj["blobId"] != nc.BlobObject.BlobID.String() {
		t.Errorf("blobObject %v", obj)
	}
	op := created["resourceOperation"].(map[string]any)
	keysOf(t, "resourceOperation", op, "registerFromScratch")
	ro := op["registerFromScratch"].(map[string]any)
	keysOf(t, "registerFromScratch", ro, "encodedLength", "epochsAhead")
	if ro["epochsAhead"] != 1.0 {
		t.Errorf("resourceOperation %v", ro)
	}
	_, raw = e.do(t, http.MethodPut, "/v1/blobs?permanent=true", bytes.NewReader(blob))
	generic = nil
	json.Unmarshal(raw, &generic)
	keysOf(t, "result", generic, "alreadyCertified")
	ac := generic["alreadyCertified"].(map[string]any)
	keysOf(t, "alreadyCertified", ac, "blobId", "event", "endEpoch")
	keysOf(t, "event", ac["event"].(map[string]any), "txDigest", "eventSeq")
	again := storeOK(t, e, "?permanent=true", blob)
	if again.AlreadyCertified == nil || again.AlreadyCertified.BlobID != nc.BlobObject.BlobID || again.AlreadyCertified.EndEpoch != 2 {
		t.Fatalf("second permanent store: %+v", again)
	}

	id := nc.BlobObject.BlobID.String()
	resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, blob) {
		t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(body))
	}
	wantHdr := map[string]string{
		"ETag": id, "Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Vary": "Accept, Content-Type",
		"Cache-Control": "public, max-age=86400, stale-while-revalidate=3600", "Access-Control-Allow-Origin": "*",
		"Content-Length": fmt.Sprint(len(blob)), "Accept-Ranges": "bytes",
	}
	for k, v := range wantHdr {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// The request's Content-Type, or a single Accept type, is mirrored.
	if resp, _ := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil, "Content-Type", "text/plain; charset=utf-8"); resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("mirrored Content-Type %q", resp.Header.Get("Content-Type"))
	}
	// A page asked for is sent as one, but sandboxed: it runs in an opaque
	// origin, not the aggregator's.
	if resp, _ := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil, "Accept", "text/html"); resp.Header.Get("Content-Type") != "text/html" ||
		resp.Header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("text/html asked: Content-Type %q, CSP %q", resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
	}
	if resp, _ := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil, "Accept", "application/pdf"); resp.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("mirrored Accept %q", resp.Header.Get("Content-Type"))
	}
	if resp, _ := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil, "Accept", "text/html,*/*;q=0.8"); resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("browser Accept gave %q", resp.Header.Get("Content-Type"))
	}
	resp, body = e.do(t, http.MethodHead, "/v1/blobs/"+id, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != fmt.Sprint(len(blob)) {
		t.Fatalf("HEAD: %d, %d bytes, length %q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
	for _, inm := range []string{`"` + id + `"`, id, `W/"` + id + `", "x"`, "*"} {
		if resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil, "If-None-Match", inm); resp.StatusCode != 304 || len(body) != 0 {
			t.Errorf("If-None-Match %s: %d", inm, resp.StatusCode)
		}
	}

	size := len(blob)
	ranges := []struct {
		header string
		code   int
		from   int
		to     int // exclusive
	}{
		{"bytes=0-9", 206, 0, 10},
		{"bytes=100-", 206, 100, size},
		{"bytes=-7", 206, size - 7, size},
		{"bytes=5-5", 206, 5, 6},
		{fmt.Sprintf("bytes=10-%d", size+100), 206, 10, size},
		{"bytes=-100000", 206, 0, size},
		{"bytes=0-1,5-9", 200, 0, size}, // several ranges: the whole blob
		{"items=0-9", 200, 0, size},
		{"bytes=9-1", 200, 0, size},
		{fmt.Sprintf("bytes=%d-", size), 416, 0, 0},
		{"bytes=-0", 416, 0, 0},
	}
	for _, rc := range ranges {
		resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil, "Range", rc.header)
		if resp.StatusCode != rc.code {
			t.Errorf("Range %q: %d, want %d", rc.header, resp.StatusCode, rc.code)
			continue
		}
		switch rc.code {
		case 416:
			checkError(t, resp, body, 416, "RANGE_NOT_SATISFIABLE", daemon.ReasonRangeNotSatisfied)
			if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", size) {
				t.Errorf("416 Content-Range %q", cr)
			}
		case 206:
			if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", rc.from, rc.to-1, size) {
				t.Errorf("Range %q: Content-Range %q", rc.header, cr)
			}
			fallthrough
		default:
			if !bytes.Equal(body, blob[rc.from:rc.to]) {
				t.Errorf("Range %q: wrong bytes (%d)", rc.header, len(body))
			}
		}
	}

	resp, body = e.do(t, http.MethodGet, "/v1/blobs/by-object-id/"+nc.BlobObject.ID.String(), nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, blob) {
		t.Fatalf("GET by object ID: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, http.MethodGet, "/v1/blobs/by-object-id/"+nc.BlobObject.ID.String()+"?strict_consistency_check=true", nil); resp.StatusCode != 200 {
		t.Fatalf("GET by object ID, strict: %d", resp.StatusCode)
	}
	resp, body = e.do(t, http.MethodGet, "/v1/blobs/by-object-id/0x"+strings.Repeat("ab", 32), nil)
	checkError(t, resp, body, 404, "NOT_FOUND", daemon.ReasonBlobNotFound)
}

func TestStoreBadInput(t *testing.T) {
	e := newEnv(t)
	small := []byte("hello")
	cases := []struct {
		name   string
		query  string
		body   io.Reader
		code   int
		status string
		reason string
	}{
		{"unknown parameter", "?epochs=1&colour=blue", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"permanent and deletable", "?permanent=true&deletable=true", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonConflictingOptions},
		{"shared deletable blob", "?share=true", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonConflictingOptions},
		{"shared and sent", "?share=true&permanent=true&send_object_to=0x" + strings.Repeat("1", 64), bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"share not a boolean", "?share=yes&permanent=true", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"other encoding", "?encoding_type=RedStuffRaptorQ", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"zero epochs", "?epochs=0", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidEpochs},
		{"epochs not a number", "?epochs=two", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidEpochs},
		{"negative epochs", "?epochs=-1", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidEpochs},
		{"epochs past the maximum", "?epochs=54", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidEpochs},
		{"repeated parameter", "?epochs=1&epochs=2", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"bad boolean", "?deletable=yes", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"bad address", "?send_object_to=0x12", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"bad escape", "?epochs=%zz", bytes.NewReader(small), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"body over the limit", "", bytes.NewReader(make([]byte, 64<<10+1)), 413, "SIZE_EXCEEDED", daemon.ReasonBlobTooLarge},
		// No Content-Length: the limit is found while reading.
		{"chunked body over the limit", "", io.MultiReader(strings.NewReader("x"), bytes.NewReader(make([]byte, 64<<10))), 413, "SIZE_EXCEEDED", daemon.ReasonBlobTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodPut, "/v1/blobs"+tc.query, tc.body)
			checkError(t, resp, body, tc.code, tc.status, tc.reason)
		})
	}
	if got := e.blobObjects(t); len(got) != 0 {
		t.Fatalf("bad input registered %d blobs", len(got))
	}
	// At the limit exactly it is stored.
	if res := storeOK(t, e, "", make([]byte, 64<<10)); res.NewlyCreated == nil {
		t.Fatalf("blob at the limit: %+v", res)
	}
}

func TestReadBadInput(t *testing.T) {
	e := newEnv(t)
	res := storeOK(t, e, "", []byte("some bytes"))
	id := res.BlobID().String()
	cases := []struct {
		name, method, path string
		code               int
		status, reason     string
	}{
		{"short blob ID", "GET", "/v1/blobs/abc", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidBlobID},
		{"long blob ID", "GET", "/v1/blobs/" + id + "A", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidBlobID},
		{"blob ID with bad characters", "GET", "/v1/blobs/" + strings.Repeat("+", 43), 400, "INVALID_ARGUMENT", daemon.ReasonInvalidBlobID},
		{"padded blob ID", "GET", "/v1/blobs/" + id[:42] + "=", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidBlobID},
		{"bad object ID", "GET", "/v1/blobs/by-object-id/0xzz", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidObjectID},
		{"unknown blob", "GET", "/v1/blobs/" + encoding.BlobID{9}.String(), 404, "NOT_FOUND", daemon.ReasonBlobNotFound},
		{"unknown path", "GET", "/v2/things", 404, "NOT_FOUND", daemon.ReasonNotFound},
		{"strict and skip", "GET", "/v1/blobs/" + id + "?strict_consistency_check=true&skip_consistency_check=true", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidConsistency},
		{"unknown read parameter", "GET", "/v1/blobs/" + id + "?v=1", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"wrong method", "POST", "/v1/blobs", 405, "UNIMPLEMENTED", daemon.ReasonMethodNotAllowed},
		{"delete", "DELETE", "/v1/blobs/" + id, 405, "UNIMPLEMENTED", daemon.ReasonMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.method, tc.path, nil)
			checkError(t, resp, body, tc.code, tc.status, tc.reason)
		})
	}
	// Walrus's consistency options are accepted.
	for _, q := range []string{"strict_consistency_check=true", "skip_consistency_check=true", "strict_consistency_check=false&skip_consistency_check=false"} {
		if resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+id+"?"+q, nil); resp.StatusCode != 200 || string(body) != "some bytes" {
			t.Errorf("?%s: %d %q", q, resp.StatusCode, body)
		}
	}
	// Too many nodes down: 503, and the blob is still there afterwards.
	// The read needs one row (sliver pair 0): its node is among those
	// stopped, and the one left cannot rebuild it.
	first, err := e.net.NodeForShard(t.Context(), uint16(res.BlobID().ShardForPair(0, 10)))
	if err != nil {
		t.Fatal(err)
	}
	stopped := []int{first.Index}
	for i := 0; len(stopped) < 3; i++ {
		if i != first.Index {
			stopped = append(stopped, i)
		}
	}
	for _, i := range stopped {
		if err := e.net.StopNode(i); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil)
	checkError(t, resp, body, 503, "UNAVAILABLE", daemon.ReasonBlobUnavailable)
	for _, i := range stopped {
		if err := e.net.StartNode(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	if resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+id, nil); resp.StatusCode != 200 || string(body) != "some bytes" {
		t.Fatalf("after the nodes came back: %d %q", resp.StatusCode, body)
	}
}

func TestModes(t *testing.T) {
	agg := newEnv(t, func(c *daemon.Config) { c.Mode = daemon.ModeAggregator })
	resp, body := agg.do(t, http.MethodPut, "/v1/blobs", strings.NewReader("x"))
	checkError(t, resp, body, 405, "UNIMPLEMENTED", daemon.ReasonMethodNotAllowed)
	pub := newEnv(t, func(c *daemon.Config) { c.Mode = daemon.ModePublisher })
	res := storeOK(t, pub, "", []byte("x"))
	resp, body = pub.do(t, http.MethodGet, "/v1/blobs/"+res.BlobID().String(), nil)
	checkError(t, resp, body, 405, "UNIMPLEMENTED", daemon.ReasonMethodNotAllowed)
	for _, e := range []*env{agg, pub} {
		resp, body := e.do(t, http.MethodGet, "/status", nil)
		var st daemon.Status
		if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil || st.Epoch != 1 || st.NShards != 10 || st.Nodes != 4 {
			t.Fatalf("status: %d %s", resp.StatusCode, body)
		}
	}
	// A browser gets the status as a page.
	for _, tc := range []struct {
		e    *env
		want []string
	}{
		{agg, []string{"<td>serves</td><td>aggregator (aggregator only)</td>", "<td>shards</td><td>10</td>", "<td>storage nodes</td><td>4 in the committee</td>"}},
		{pub, []string{"<td>epoch</td><td>1</td>", "<td>largest blob</td><td>64 KiB per store</td>"}},
	} {
		resp, page := tc.e.do(t, http.MethodGet, "/status", nil, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("status page: %d %v", resp.StatusCode, resp.Header)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(page), w) {
				t.Errorf("status page lacks %s:\n%s", w, page)
			}
		}
		if strings.Contains(string(page), "largest blob") != (tc.e == pub) {
			t.Errorf("status page of the wrong mode:\n%s", page)
		}
	}
}

func TestDisconnectMidUpload(t *testing.T) {
	e := newEnv(t)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v1/blobs?epochs=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n%s", make([]byte, 1000))
	conn.Close()
	// The daemon answers the broken request (400) without registering.
	deadline := time.Now().Add(10 * time.Second)
	for counter(t, e.reg, "walrus_daemon_requests_total", "store", "400") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not finish the broken request")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.blobObjects(t); len(got) != 0 {
		t.Fatalf("a broken upload registered %d blobs", len(got))
	}
}

// counter returns the value of a counter with labels route and code.
func counter(t *testing.T, reg *prometheus.Registry, name, route, code string) float64 {
	return metric(t, reg, name, map[string]string{"route": route, "code": code})
}

// metric returns the value of the counter or gauge name whose labels
// include want.
func metric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestQueueFull(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) { c.MaxConcurrentStores = 1; c.MaxQueuedStores = -1 })
	for _, n := range e.net.Nodes {
		n.Faults.SetDelay(faults.OpConfirmation, time.Second)
	}
	done := make(chan int)
	go func() {
		resp, err := e.srv.Client().Do(mustRequest(t, http.MethodPut, e.srv.URL+"/v1/blobs", []byte("first")))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.net.Nodes[0].Faults.SliverPuts.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first store did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, body := e.do(t, http.MethodPut, "/v1/blobs", strings.NewReader("second"))
	checkError(t, resp, body, 429, "RESOURCE_EXHAUSTED", daemon.ReasonTooManyRequests)
	if code := <-done; code != 200 {
		t.Fatalf("first store: %d", code)
	}
}

func mustRequest(t *testing.T, method, url string, body []byte) *http.Request {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCORSAndAPI(t *testing.T) {
	e := newEnv(t)
	preflight := func(e *env, method, origin string) *http.Response {
		resp, body := e.do(t, http.MethodOptions, "/v1/blobs", nil,
			"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", "content-type, authorization")
		if resp.StatusCode != 204 || len(body) != 0 {
			t.Fatalf("preflight %s: %d %s", method, resp.StatusCode, body)
		}
		return resp
	}
	// Reads are open to every origin.
	resp := preflight(e, "GET", "https://app.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET preflight: %v", resp.Header)
	}
	// A PUT from another origin is not allowed by default.
	resp = preflight(e, "PUT", "https://app.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("PUT preflight from another origin allowed: %v", resp.Header)
	}
	r, body := e.do(t, http.MethodPut, "/v1/blobs", strings.NewReader("from a page"), "Origin", "https://app.example")
	checkError(t, r, body, 403, "PERMISSION_DENIED", daemon.ReasonForbiddenOrigin)
	r, body = e.do(t, http.MethodPut, "/v1/blobs", strings.NewReader("from a page"), "Origin", "null")
	checkError(t, r, body, 403, "PERMISSION_DENIED", daemon.ReasonForbiddenOrigin)
	if got := e.blobObjects(t); len(got) != 0 {
		t.Fatalf("a refused origin registered %d blobs", len(got))
	}
	// The same origin may, and clients that send no Origin.
	if r, body := e.do(t, http.MethodPut, "/v1/blobs", strings.NewReader("same origin"), "Origin", e.srv.URL); r.StatusCode != 200 {
		t.Fatalf("same-origin PUT: %d %s", r.StatusCode, body)
	}
	// The operator allows an origin.
	allowed := newEnv(t, func(c *daemon.Config) { c.AllowedOrigins = []string{"https://app.example"} })
	resp = preflight(allowed, "PUT", "https://app.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type, authorization" {
		t.Errorf("allowed PUT preflight: %v", resp.Header)
	}
	if resp := preflight(allowed, "PUT", "https://evil.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin allowed: %v", resp.Header)
	}
	r, body = allowed.do(t, http.MethodPut, "/v1/blobs", strings.NewReader("from the app"), "Origin", "https://app.example")
	if r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("allowed PUT: %d %v %s", r.StatusCode, r.Header, body)
	}

	// /v1/api: YAML to tools, a self-contained page to browsers.
	r, body = e.do(t, http.MethodGet, "/v1/api", nil)
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if r.StatusCode != 200 || yaml.Unmarshal(body, &doc) != nil || !strings.HasPrefix(doc.OpenAPI, "3.") || r.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("/v1/api: %d %.100s", r.StatusCode, body)
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("no CORS header on /v1/api")
	}
	if r, yml := e.do(t, http.MethodGet, "/v1/api/openapi.yaml", nil, "Accept", "text/html"); r.StatusCode != 200 || !bytes.Equal(yml, body) {
		t.Errorf("/v1/api/openapi.yaml: %d", r.StatusCode)
	}
	for _, path := range []string{"/v1/api", "/"} {
		r, page := e.do(t, http.MethodGet, path, nil, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.HasPrefix(r.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("%s page: %d %v", path, r.StatusCode, r.Header)
		}
		for _, want := range []string{`href="/v1/api/openapi.yaml"`, `href="/status"`} {
			if !strings.Contains(string(page), want) {
				t.Errorf("%s page lacks %s", path, want)
			}
		}
		if strings.Contains(string(page), "<script") || strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
			t.Errorf("%s page is not self-contained", path)
		}
	}
}

// TestJWT runs the publisher with JWT authentication, as Walrus's flags
// set it, against the real network: refusals come before the body is
// read and register nothing; a valid token stores once.
func TestJWT(t *testing.T) {
	const secret = "0x" + "6a7774207465737420736563726574"
	e := newEnv(t, func(c *daemon.Config) {
		c.JWT = daemon.JWTConfig{DecodeSecret: secret, ExpiringSec: 600, VerifyUpload: true}
		c.MaxBodiesPerClient = 1
	})
	key, _ := hex.DecodeString(secret[2:])
	now := time.Now().Unix()
	token := func(c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	valid := func(jti string) jwt.MapClaims {
		return jwt.MapClaims{"jti": jti, "iat": now, "exp": now + 600, "max_size": 100, "max_epochs": 3}
	}
	wantAuth := func(r *http.Response, body []byte, code int, status, reason string) {
		t.Helper()
		var eb daemon.ErrorBody
		if r.StatusCode != code || json.Unmarshal(body, &eb) != nil || eb.Error.Status != status || len(eb.Error.Details) != 1 ||
			eb.Error.Details[0].Reason != reason || eb.Error.Details[0].Domain != daemon.JWTErrorDomain || eb.Error.Details[0].Metadata == nil {
			t.Fatalf("%d %s; want %d %s %s", r.StatusCode, body, code, status, reason)
		}
	}
	put := func(query, auth, blob string) (*http.Response, []byte) {
		if auth == "" {
			return e.do(t, http.MethodPut, "/v1/blobs"+query, strings.NewReader(blob))
		}
		return e.do(t, http.MethodPut, "/v1/blobs"+query, strings.NewReader(blob), "Authorization", auth)
	}
	r, body := put("", "", "x")
	wantAuth(r, body, 400, "FAILED_PRECONDITION", daemon.ReasonJWTInvalidToken)
	bad := valid("bad-sig")
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, bad).SignedString([]byte("another secret"))
	r, body = put("", "Bearer "+s, "x")
	wantAuth(r, body, 401, "UNAUTHENTICATED", daemon.ReasonJWTInvalidSignature)
	expired := valid("expired")
	expired["iat"], expired["exp"] = now-3600, now-3000
	r, body = put("", token(expired), "x")
	wantAuth(r, body, 504, "DEADLINE_EXCEEDED", daemon.ReasonJWTExpiredSignature)
	r, body = put("?epochs=4", token(valid("epochs")), "x")
	wantAuth(r, body, 400, "FAILED_PRECONDITION", daemon.ReasonJWTInvalidEpochs)
	r, body = put("", token(valid("size")), strings.Repeat("x", 101))
	wantAuth(r, body, 400, "FAILED_PRECONDITION", daemon.ReasonJWTInvalidSize)
	if got := e.blobObjects(t); len(got) != 0 {
		t.Fatalf("refused tokens registered %d blobs", len(got))
	}
	// A refused token is not spent, nor one sent with a bad query or an
	// oversized body; a valid one stores once.
	tok := token(valid("size"))
	r, body = put("?share=yes", tok, "authorized")
	checkError(t, r, body, 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery)
	r, body = put("", tok, strings.Repeat("x", 64<<10+1))
	checkError(t, r, body, 413, "SIZE_EXCEEDED", daemon.ReasonBlobTooLarge)
	if r, body := put("?epochs=3", tok, "authorized"); r.StatusCode != 200 {
		t.Fatalf("valid token: %d %s", r.StatusCode, body)
	}
	r, body = put("?epochs=3", tok, "authorized")
	wantAuth(r, body, 429, "RESOURCE_EXHAUSTED", daemon.ReasonJWTTokenAlreadyUsed)

	// A store refused for want of capacity (429) gives its token back:
	// while this address's one body place is taken, a PUT is refused, and
	// its token then stores.
	conn, held := rawPut(t, e.srv.Listener.Addr().String(), "127.0.0.1", 10, []byte("held"), "Authorization", token(valid("held")))
	deadline := time.Now().Add(20 * time.Second)
	for metric(t, e.reg, "walrus_daemon_inflight_requests", map[string]string{"kind": "receiving"}) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the held body is not being received")
		}
		time.Sleep(10 * time.Millisecond)
	}
	retry := token(valid("retry"))
	r, body = put("", retry, "retried")
	checkError(t, r, body, 429, "RESOURCE_EXHAUSTED", daemon.ReasonTooManyRequests)
	conn.Write([]byte("-body!"))
	wantAnswer(t, held, 200)
	if r, body := put("", retry, "retried"); r.StatusCode != 200 {
		t.Fatalf("the refunded token: %d %s", r.StatusCode, body)
	}
}

func TestRunShutsDownGracefully(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- e.d.Run(ctx, ln, mln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/status")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("status: %v", err)
	}
	res.Body.Close()
	mres, err := http.Get("http://" + mln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	if !strings.Contains(string(mbody), `walrus_daemon_requests_total{code="200",route="status"} 1`) {
		t.Fatalf("metrics:\n%s", mbody)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/status"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := daemon.New(daemon.Config{}); err == nil || !strings.Contains(err.Error(), "Client is required") {
		t.Fatalf("New without a client: %v", err)
	}
}

func TestMaxBlobSize(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) { c.MaxBlobSize = 100 })
	small := storeOK(t, e, "", bytes.Repeat([]byte("s"), 100))
	big := storeOK(t, e, "", bytes.Repeat([]byte("b"), 101))
	if resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+small.BlobID().String(), nil); resp.StatusCode != 200 || len(body) != 100 {
		t.Fatalf("blob at the limit: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body := e.do(t, http.MethodGet, "/v1/blobs/"+big.BlobID().String(), nil)
	checkError(t, resp, body, 403, "SIZE_EXCEEDED", daemon.ReasonBlobTooLarge)
	// By object ID the chain's size is known before anything is read.
	slivers := e.net.Nodes[0].Faults.SliversServed.Load()
	resp, body = e.do(t, http.MethodGet, "/v1/blobs/by-object-id/"+big.NewlyCreated.BlobObject.ID.String(), nil)
	checkError(t, resp, body, 403, "SIZE_EXCEEDED", daemon.ReasonBlobTooLarge)
	if got := e.net.Nodes[0].Faults.SliversServed.Load(); got != slivers {
		t.Errorf("a refused read asked for %d slivers", got-slivers)
	}
}
