package daemon_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/client/daemon"
	"github.com/walrus-go/walrus/network/nettest"
)

func (e *env) served() int64 {
	var n int64
	for _, x := range e.net.Nodes {
		n += x.Faults.SliversServed.Load()
	}
	return n
}

// TestReadRoutes: every read route answers the blob's bytes (or the range
// asked for) with Walrus's headers; HEAD fetches no sliver; a byte range
// fetches only the rows that cover it.
func TestReadRoutes(t *testing.T) {
	e := newEnv(t, func(cfg *daemon.Config) { cfg.MaxBodySize = 1 << 20 })
	a := nettest.Blob(200_000, 31) // n = 10: rows of 50 kB
	b := []byte("<html><script>alert(1)</script></html>")
	resA, resB := storeOK(t, e, "", a), storeOK(t, e, "", b)
	idA, idB := resA.BlobID().String(), resB.BlobID().String()
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		code               int
		want               []byte
		slivers            int64 // served, at most
		header             map[string]string
	}{
		{"GET", "GET", "/v1/blobs/" + idA, nil, 200, a, 4,
			map[string]string{"ETag": idA, "Content-Length": strconv.Itoa(len(a)), "Accept-Ranges": "bytes"}},
		{"HEAD", "HEAD", "/v1/blobs/" + idA, nil, 200, nil, 0,
			map[string]string{"Content-Length": strconv.Itoa(len(a)), "Content-Type": "application/octet-stream"}},
		{"Range", "GET", "/v1/blobs/" + idA, []string{"Range", "bytes=100-199"}, 206, a[100:200], 1,
			map[string]string{"Content-Range": fmt.Sprintf("bytes 100-199/%d", len(a)), "Content-Length": "100"}},
		{"HEAD Range", "HEAD", "/v1/blobs/" + idA, []string{"Range", "bytes=100-199"}, 206, nil, 0,
			map[string]string{"Content-Length": "100"}},
		{"strict", "GET", "/v1/blobs/" + idA + "?strict_consistency_check=true", nil, 200, a, 10, nil},
		{"byte-range", "GET", "/v1/blobs/" + idA + "/byte-range?start=60000&length=1000", nil, 200, a[60000:61000], 1,
			map[string]string{"ETag": idA + "-60000-1000", "Content-Length": "1000"}},
		{"stream", "GET", "/v1alpha/blobs/" + idA + "/stream", nil, 200, a, 4,
			map[string]string{"X-Walrus-Streaming": "true", "Content-Length": strconv.Itoa(len(a))}},
		{"concat GET", "GET", "/v1alpha/blobs/concat?ids=" + idB + "," + idA, nil, 200, append(append([]byte{}, b...), a...), 7,
			map[string]string{"Content-Length": strconv.Itoa(len(a) + len(b))}},
		{"small sniffed", "GET", "/v1/blobs/" + idB, nil, 200, b, 3, // 39 bytes in rows of 14
			map[string]string{"X-Content-Type-Options": "nosniff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.served()
			resp, body := e.do(t, tc.method, tc.path, nil, tc.hdr...)
			if resp.StatusCode != tc.code || !bytes.Equal(body, tc.want) {
				t.Fatalf("%s %s: %d, %d bytes (equal %v), want %d, %d bytes", tc.method, tc.path, resp.StatusCode, len(body), bytes.Equal(body, tc.want), tc.code, len(tc.want))
			}
			if got := e.served() - before; got > tc.slivers {
				t.Errorf("nodes served %d slivers, want at most %d", got, tc.slivers)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	t.Run("concat POST", func(t *testing.T) {
		body := fmt.Sprintf(`{"ids":[%q,%q,%q]}`, idA, idB, idA)
		resp, got := e.do(t, "POST", "/v1alpha/blobs/concat", strings.NewReader(body), "Content-Type", "application/json")
		want := append(append(append([]byte{}, a...), b...), a...)
		if resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Fatalf("POST concat: %d, %d bytes (equal %v)", resp.StatusCode, len(got), bytes.Equal(got, want))
		}
	})
	tooMany := strings.TrimSuffix(strings.Repeat(idB+",", daemon.MaxConcatBlobs+1), ",")
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		status, reason           string
	}{
		{"byte-range without length", "GET", "/v1/blobs/" + idA + "/byte-range?start=1", "", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidByteRange},
		{"byte-range of length 0", "GET", "/v1/blobs/" + idA + "/byte-range?start=1&length=0", "", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidByteRange},
		{"byte-range past the end", "GET", fmt.Sprintf("/v1/blobs/%s/byte-range?start=%d&length=2", idA, len(a)-1), "", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidByteRange},
		{"byte-range negative", "GET", "/v1/blobs/" + idA + "/byte-range?start=-1&length=2", "", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidByteRange},
		{"unknown blob op", "GET", "/v1/blobs/" + idA + "/other", "", 404, "NOT_FOUND", daemon.ReasonNotFound},
		{"Range past the end", "GET", "/v1/blobs/" + idA, "", 416, "RANGE_NOT_SATISFIABLE", daemon.ReasonRangeNotSatisfied},
		{"concat without IDs", "GET", "/v1alpha/blobs/concat?ids=", "", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"concat with a bad ID", "GET", "/v1alpha/blobs/concat?ids=" + idA + ",nope", "", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidBlobID},
		{"concat with too many IDs", "GET", "/v1alpha/blobs/concat?ids=" + tooMany, "", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"concat POST not JSON", "POST", "/v1alpha/blobs/concat", "ids=a", 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
		{"concat POST unknown field", "POST", "/v1alpha/blobs/concat", `{"ids":["x"],"other":1}`, 400, "INVALID_ARGUMENT", daemon.ReasonInvalidQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.name == "Range past the end" {
				hdr = []string{"Range", fmt.Sprintf("bytes=%d-", len(a))}
			}
			resp, body := e.do(t, tc.method, tc.path, strings.NewReader(tc.body), hdr...)
			checkError(t, resp, body, tc.code, tc.status, tc.reason)
		})
	}
}
