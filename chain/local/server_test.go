package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
)

// signedTransfer returns the JSON of a transfer of amount from the
// network's client, valid for a minute of clk.
func signedTransfer(t *testing.T, net *chaintest.Network, clk *manualClock, to chain.Address, amount uint64, nonce uint64) []byte {
	t.Helper()
	st, err := Sign(Tx{Sender: net.Client.Address(), Nonce: nonce, Expiry: uint64(clk.Now().Add(time.Minute).UnixMilli()),
		Call: Call{TransferWAL: &TransferWALCall{To: to, Amount: amount}}}, net.Client)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	return b
}

// TestServerRequiresJSON: a signed transaction posted with another content
// type than JSON (what a cross-origin page can send without a preflight) is
// refused with 415 and not executed.
func TestServerRequiresJSON(t *testing.T) {
	net := restartNet()
	c, clk := openTest(t, genesisOf(net), "")
	h := NewHandler(c, nil)
	to := chaintest.NewAccount(310).Address()
	for i, tc := range []struct {
		ctype string
		want  int
	}{
		{"text/plain", http.StatusUnsupportedMediaType},
		{"text/plain;charset=UTF-8", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{"", http.StatusUnsupportedMediaType},
		{"application/json; charset=utf-8", http.StatusOK},
		{"application/json", http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/tx", bytes.NewReader(signedTransfer(t, net, clk, to, 1, uint64(i))))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Content-Type %q: status %d, want %d: %s", tc.ctype, rec.Code, tc.want, rec.Body)
		}
		if tc.want != http.StatusOK {
			var eb errorBody
			if json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Error.Code != "invalid-argument" {
				t.Errorf("Content-Type %q: body %s", tc.ctype, rec.Body)
			}
		}
	}
	if b, _ := c.Balance(t.Context(), to); b != 2 {
		t.Errorf("balance %d: the refused transactions executed, or the JSON ones did not", b)
	}
}

// TestServerCrossOrigin: a browser page of another origin cannot POST, and
// nothing it can read is opened to it by CORS.
func TestServerCrossOrigin(t *testing.T) {
	net := restartNet()
	c, clk := openTest(t, genesisOf(net), "")
	srv := httptest.NewServer(NewHandler(c, nil))
	defer srv.Close()
	to := chaintest.NewAccount(311).Address()
	post := func(hdr map[string]string, nonce uint64) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/tx", bytes.NewReader(signedTransfer(t, net, clk, to, 1, nonce)))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post(map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, 1); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", r.StatusCode)
	}
	if r := post(map[string]string{"Origin": "http://evil.example"}, 2); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST from another origin: %d", r.StatusCode)
	}
	if r := post(map[string]string{"Sec-Fetch-Site": "same-origin"}, 3); r.StatusCode != http.StatusOK {
		t.Errorf("same-origin POST: %d", r.StatusCode)
	}
	if b, _ := c.Balance(t.Context(), to); b != 1 {
		t.Errorf("balance %d, want 1 (the same-origin transfer only)", b)
	}
	// A preflight gets no CORS grant; reads carry no CORS header either.
	for _, method := range []string{http.MethodOptions, http.MethodGet} {
		req, _ := http.NewRequest(method, srv.URL+"/v1/system", nil)
		req.Header.Set("Origin", "http://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("%s: Access-Control-Allow-Origin %q", method, v)
		}
		if method == http.MethodOptions && resp.StatusCode < 400 {
			t.Errorf("preflight answered %d", resp.StatusCode)
		}
	}
}

func TestServerBodyCap(t *testing.T) {
	net := restartNet()
	c, _ := openTest(t, genesisOf(net), "")
	h := NewHandler(c, nil)
	req := httptest.NewRequest(http.MethodPost, "/v1/tx", bytes.NewReader(make([]byte, maxRequestBody+1)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("body over the cap: %d %s", rec.Code, rec.Body)
	}
}

// startServe serves c on loopback with the given limits.
func startServe(t *testing.T, c *Chain, lim serverLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx, ln, c, nil, lim); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn (or answers and then
// closes it) within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestServerTimeouts: a client that sends its headers or its body slowly,
// or keeps a connection idle, is cut off by the server's timeouts.
func TestServerTimeouts(t *testing.T) {
	net0 := restartNet()
	c, _ := openTest(t, genesisOf(net0), "")
	lim := serverLimits{readHeader: 200 * time.Millisecond, body: 200 * time.Millisecond, read: 3 * time.Second,
		write: 3 * time.Second, idle: 300 * time.Millisecond, inFlight: 8}
	addr := startServe(t, c, lim)
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	t.Run("slow headers", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: x\r\n") // and never the end
		if !closedWithin(conn, 2*time.Second) {
			t.Fatal("a connection with unfinished headers stayed open")
		}
	})
	t.Run("slow body", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"tx\":")
		if !closedWithin(conn, 2*time.Second) {
			t.Fatal("a request whose body never came stayed open")
		}
	})
	t.Run("idle", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("health: %v", err)
		}
		if !closedWithin(conn, 2*time.Second) {
			t.Fatal("an idle keep-alive connection stayed open")
		}
	})
}

// TestServerInFlight: requests past MaxInFlightRequests are refused with 503
// while the others are served.
func TestServerInFlight(t *testing.T) {
	t.Parallel()
	net0 := restartNet()
	c, _ := openTest(t, genesisOf(net0), "")
	lim := defaultLimits
	lim.inFlight = 1
	addr := startServe(t, c, lim)
	cl, err := NewClient("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// A long poll holds the only slot until it is cancelled.
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl.Events(ctx, chain.Cursor{Seq: 1 << 40}, 1, 10*time.Second)
	}()
	deadline := time.Now().Add(5 * time.Second)
	var busy error
	for time.Now().Before(deadline) {
		if _, busy = cl.SystemState(t.Context()); errors.Is(busy, chain.ErrBusy) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if !errors.Is(busy, chain.ErrBusy) {
		t.Fatalf("a request with a long poll in the only slot: %v, want ErrBusy", busy)
	}
	// The slot is freed once the poll's handler returns.
	for time.Now().Before(deadline) {
		if _, err = cl.SystemState(t.Context()); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("after the long poll: %v", err)
}
