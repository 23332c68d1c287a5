package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walrus-go/walrus/client/daemon"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
)

// gauge returns the value of a gauge with label kind.
func gauge(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	return metric(t, reg, name, map[string]string{"kind": kind})
}

// runDaemon serves e's daemon with Run on a real listener and returns its
// address.
func runDaemon(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- e.d.Run(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ln.Addr().String()
}

// clientFrom returns an HTTP client whose connections come from the
// loopback address local: another client, as the daemon sees it.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 2 * time.Minute}
}

// TestSlowBodiesDoNotStarveStores is the slow-body attack: an attacker
// opens as many PUTs as the publisher has store slots and queue places,
// each sending one body byte of the many it announced, and holds them.
// Honest PUTs from another address must still be served, and the
// attacker's connections must be cut (too slow) or refused (too many from
// one client), registering nothing.
func TestSlowBodiesDoNotStarveStores(t *testing.T) {
	e := newEnv(t, slowBodyLimits)
	addr := runDaemon(t, e)
	attackers := daemon.DefaultMaxConcurrentStores + daemon.DefaultMaxQueuedStores
	answers := make(chan int, attackers)
	for range attackers {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "PUT /v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\nx")
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				answers <- 0
				return
			}
			resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	// Wait until the daemon holds or refused every attacker.
	deadline := time.Now().Add(20 * time.Second)
	for gauge(t, e.reg, "walrus_daemon_inflight_requests", "store")+counter(t, e.reg, "walrus_daemon_requests_total", "store", "429") < float64(attackers) {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not take in the attackers")
		}
		time.Sleep(10 * time.Millisecond)
	}
	honest := clientFrom("127.0.0.2")
	const puts = 5
	served := 0
	for i := range puts {
		req, err := http.NewRequest(http.MethodPut, "http://"+addr+"/v1/blobs", bytes.NewReader(nettest.Blob(2000, uint32(100+i))))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := honest.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			served++
		} else {
			t.Logf("honest PUT %d under attack: %d", i, resp.StatusCode)
		}
	}
	t.Logf("honest PUTs served under the attack: %d of %d", served, puts)
	if served != puts {
		t.Fatalf("honest PUTs served under the slow-body attack: %d of %d", served, puts)
	}
	checkAttackersCut(t, e, answers, attackers, puts)
}

// rawPut starts a PUT of a body of declared bytes from local, sends first,
// and returns the connection and a channel with the answer (0 if none).
func rawPut(t *testing.T, addr, local string, declared int, first []byte, hdr ...string) (net.Conn, chan *http.Response) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	extra := ""
	for i := 0; i+1 < len(hdr); i += 2 {
		extra += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	fmt.Fprintf(conn, "PUT /v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n", declared, extra)
	conn.Write(first)
	answer := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answer <- nil
			return
		}
		resp.Body.Close()
		answer <- resp
	}()
	return conn, answer
}

func wantAnswer(t *testing.T, answer chan *http.Response, code int) *http.Response {
	t.Helper()
	select {
	case resp := <-answer:
		if resp == nil || resp.StatusCode != code {
			t.Fatalf("answer %v, want %d", resp, code)
		}
		return resp
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer, want %d", code)
	}
	return nil
}

func TestBodyTooSlow(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) {
		c.BodyIdleTimeout = time.Second
		c.BodyRateGrace = 1500 * time.Millisecond
		c.MinBodyRate = 4 << 10
	})
	addr := runDaemon(t, e)
	// Steady but below the minimum rate: cut once the average falls
	// under it.
	conn, answer := rawPut(t, addr, "127.0.0.3", 60000, []byte("x"))
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				conn.Write(make([]byte, 100))
			}
		}
	}()
	resp := wantAnswer(t, answer, 400)
	close(stop)
	if !resp.Close {
		t.Errorf("a cut body's connection is kept: %v", resp.Header)
	}
	// Stalled: cut after the idle timeout.
	_, answer = rawPut(t, addr, "127.0.0.4", 60000, make([]byte, 10))
	wantAnswer(t, answer, 400)
	if got := counter2(t, e.reg, "walrus_daemon_refused_total", "why", "slow"); got != 2 {
		t.Errorf("refused{why=slow} = %v, want 2", got)
	}
	if got := counter(t, e.reg, "walrus_daemon_requests_total", "store", "400"); got != 2 {
		t.Errorf("400 answers %v", got)
	}
	if got := len(e.blobObjects(t)); got != 0 {
		t.Errorf("cut bodies registered %d blobs", got)
	}
	// A body at a good rate is stored.
	res := storeOK(t, e, "", nettest.Blob(50000, 7))
	if res.NewlyCreated == nil {
		t.Fatalf("%+v", res)
	}
}

func TestBodyMemoryAndConnections(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) {
		c.MaxBodyMemory = c.MaxBodySize + 1
		c.MaxConnsPerClient = 3
	})
	addr := runDaemon(t, e)
	// A holds 40000 bytes of its 60000: its buffer holds 60000 of the
	// memory, so B, from another address, is refused.
	connA, answerA := rawPut(t, addr, "127.0.0.3", 60000, make([]byte, 40000))
	deadline := time.Now().Add(20 * time.Second)
	for gauge(t, e.reg, "walrus_daemon_inflight_requests", "receiving") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("A is not being received")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // A's 40000 bytes arrive
	_, answerB := rawPut(t, addr, "127.0.0.4", 10000, make([]byte, 10000))
	wantAnswer(t, answerB, 429)
	if got := counter2(t, e.reg, "walrus_daemon_refused_total", "why", "memory"); got != 1 {
		t.Errorf("refused{why=memory} = %v", got)
	}
	// A completes and is stored; its memory is given back.
	connA.Write(make([]byte, 20000))
	wantAnswer(t, answerA, 200)
	_, answerB = rawPut(t, addr, "127.0.0.4", 10000, make([]byte, 10000))
	wantAnswer(t, answerB, 200)

	// Connections: three from one address are held, a fourth is closed
	// at once; another address is not affected.
	var conns []net.Conn
	for range 3 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.5")}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	status := func(local string) int {
		resp, err := clientFrom(local).Get("http://" + addr + "/status")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline = time.Now().Add(20 * time.Second)
	for counter2(t, e.reg, "walrus_daemon_refused_total", "why", "client_conns") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("a fourth connection was not refused")
		}
		if code := status("127.0.0.5"); code != 0 {
			t.Logf("a fourth connection was served (%d); the three may not be accepted yet", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := status("127.0.0.6"); code != 200 {
		t.Fatalf("another address: %d", code)
	}
	conns[0].Close()
	deadline = time.Now().Add(20 * time.Second)
	for status("127.0.0.5") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("a connection closed did not free its place")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counter2 returns the value of a counter with one label.
func counter2(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	return metric(t, reg, name, map[string]string{label: value})
}

// TestReadsPerClient: one client address cannot take every read slot.
func TestReadsPerClient(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) { c.MaxConcurrentReads = 3; c.MaxQueuedReads = -1; c.MaxReadsPerClient = 2 })
	addr := runDaemon(t, e)
	res := storeOK(t, e, "", []byte("read me slowly"))
	for _, n := range e.net.Nodes {
		n.Faults.SetDelay(faults.OpSlivers, time.Second)
	}
	get := func(local string) chan int {
		c := make(chan int, 1)
		go func() {
			resp, err := clientFrom(local).Get("http://" + addr + "/v1/blobs/" + res.BlobID().String())
			if err != nil {
				c <- 0
				return
			}
			resp.Body.Close()
			c <- resp.StatusCode
		}()
		return c
	}
	a1, a2 := get("127.0.0.1"), get("127.0.0.1")
	deadline := time.Now().Add(20 * time.Second)
	for gauge(t, e.reg, "walrus_daemon_inflight_requests", "read") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the reads did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := <-get("127.0.0.1"); code != 429 {
		t.Errorf("a third read from one address: %d, want 429", code)
	}
	honest := get("127.0.0.2")
	for name, c := range map[string]chan int{"first": a1, "second": a2, "honest": honest} {
		if code := <-c; code != 200 {
			t.Errorf("%s read: %d", name, code)
		}
	}
}

// TestSlowReaderCut: a client that does not take a blob answer is cut
// once it falls below the minimum rate, freeing its read slot.
func TestSlowReaderCut(t *testing.T) {
	e := newEnv(t, func(c *daemon.Config) {
		c.MaxBodySize = 512 << 10
		c.MinSendRate = 128 << 10
		c.SendRateGrace = 200 * time.Millisecond
	})
	blob := nettest.Blob(512<<10, 3)
	res := storeOK(t, e, "", blob)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Small socket buffers, so that the answer does not fit in them.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- e.d.Run(ctx, smallBuffers{ln}, nil) }()
	defer func() { cancel(); <-errc }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /v1/blobs/%s HTTP/1.1\r\nHost: x\r\n\r\n", res.BlobID())
	deadline := time.Now().Add(30 * time.Second)
	for counter2(t, e.reg, "walrus_daemon_refused_total", "why", "slow_reader") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("a reader that takes nothing was not cut")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for gauge(t, e.reg, "walrus_daemon_inflight_requests", "read") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cut read still holds its slot")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A reader that takes its answer is served in full.
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{}).DialContext, MaxConnsPerHost: 1}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/v1/blobs/" + res.BlobID().String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("read: %v, %d bytes", err, len(got))
	}
}

// smallBuffers gives accepted connections a small send buffer.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.(*net.TCPConn).SetWriteBuffer(4096)
	}
	return c, err
}
