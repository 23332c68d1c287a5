package daemon

// Receiving store bodies. A body is received before the store takes one of
// the store slots, so a client that sends its body slowly holds only what
// receiving costs: a receiving place (Config.MaxReceivingBodies in all,
// Config.MaxBodiesPerClient per client address) and the memory of the
// bytes it actually sent (taken from Config.MaxBodyMemory as the buffer
// grows, never from the declared length). It must keep sending: a body
// that stalls for Config.BodyIdleTimeout, that falls below
// Config.MinBodyRate after Config.BodyRateGrace, or that is not in after
// Config.BodyTimeout is cut (400 BODY_TOO_SLOW), its connection closed.
// Run also bounds the connections of one client (Config.MaxConnsPerClient)
// and in all (Config.MaxConns).

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the receiving limits.
const (
	// DefaultMaxReceivingBodies is how many bodies are received at once.
	// A receiving body costs a goroutine and the bytes it sent (from
	// MaxBodyMemory), so there can be many.
	DefaultMaxReceivingBodies = 256
	// DefaultMaxBodiesPerClient is how many bodies one client address
	// sends at once.
	DefaultMaxBodiesPerClient = 8
	// DefaultBodyIdleTimeout is how long a body may send nothing.
	DefaultBodyIdleTimeout = 10 * time.Second
	// DefaultMinBodyRate is the slowest a body may arrive, on average
	// after its first BodyRateGrace, in bytes per second (a slow mobile
	// uplink; a body of MaxBodySize must also be in within BodyTimeout).
	DefaultMinBodyRate = 16 << 10
	// DefaultBodyRateGrace is the time before MinBodyRate applies.
	DefaultBodyRateGrace = 10 * time.Second
	// DefaultMaxBodyMemoryBodies is Config.MaxBodyMemory's default in
	// bodies of MaxBodySize.
	DefaultMaxBodyMemoryBodies = 16
	// DefaultMaxConnsPerClient bounds one client address's connections.
	DefaultMaxConnsPerClient = 64
	// DefaultMaxConns bounds all connections.
	DefaultMaxConns = 4096
)

// bodyChunk is the least a body buffer grows by.
const bodyChunk = 32 << 10

// budget is a byte budget taken without waiting. It is safe for
// concurrent use.
type budget struct {
	mu        sync.Mutex
	used, max int64
}

// take takes n bytes, or nothing and false if they are not there.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

// perKey counts holders per key, up to max each. It is safe for concurrent
// use.
type perKey struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func newPerKey(max int) *perKey { return &perKey{max: max, n: make(map[string]int)} }

func (p *perKey) acquire(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[key] >= p.max {
		return false
	}
	p.n[key]++
	return true
}

func (p *perKey) release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[key]--; p.n[key] <= 0 {
		delete(p.n, key)
	}
}

// clientKey names the client of a remote address: its IPv4 address, or
// the /64 of its IPv6 address (one subscriber's usual allotment).
func clientKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	return addrKey(addr)
}

func addrKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// maxForwardedHops bounds the X-Forwarded-For entries looked at.
const maxForwardedHops = 16

// requestClient names the client of r: the address it came from, or,
// when that is a trusted proxy (Config.TrustedProxies), the last address
// of its X-Forwarded-For that is not one (what a proxy appends cannot be
// forged by the client; what comes before it can).
func (d *Daemon) requestClient(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if !d.trusted(addr) {
		return addrKey(addr)
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i, n := len(hops)-1, 0; i >= 0 && n < maxForwardedHops; i, n = i-1, n+1 {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !d.trusted(a) {
			return addrKey(a)
		}
		addr = a
	}
	return addrKey(addr)
}

// trusted reports whether addr is a trusted proxy.
func (d *Daemon) trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range d.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// body is a received store body; release gives its memory back.
type body struct {
	data     []byte
	reserved int64
	mem      *budget
}

func (b *body) release() {
	if b.mem != nil {
		b.mem.give(b.reserved)
		b.mem, b.data = nil, nil
	}
}

// receiveBody receives r's body within the receiving limits.
func (d *Daemon) receiveBody(w http.ResponseWriter, r *http.Request) (*body, *apiError) {
	key := d.requestClient(r)
	if !d.bodiesPerClient.acquire(key) {
		d.metrics.refused.WithLabelValues("client_bodies").Inc()
		return nil, newError(http.StatusTooManyRequests, ReasonTooManyRequests,
			fmt.Sprintf("too many uploads from your address at once (at most %d); retry later", d.cfg.MaxBodiesPerClient))
	}
	defer d.bodiesPerClient.release(key)
	select {
	case d.receiving <- struct{}{}:
		defer func() { <-d.receiving }()
	default:
		d.metrics.refused.WithLabelValues("bodies").Inc()
		return nil, newError(http.StatusTooManyRequests, ReasonTooManyRequests, "too many uploads in progress; retry later")
	}
	d.metrics.inflight.WithLabelValues("receiving").Inc()
	defer d.metrics.inflight.WithLabelValues("receiving").Dec()

	b := &body{mem: d.bodyMem}
	br := &slowBodyReader{r: http.MaxBytesReader(w, r.Body, d.cfg.MaxBodySize), rc: http.NewResponseController(w), cfg: &d.cfg, start: time.Now()}
	// Without read deadlines (a ResponseWriter that has none), the
	// whole-body timeout closes the body.
	var stop func() bool
	if err := br.rc.SetReadDeadline(time.Time{}); err != nil {
		t := time.AfterFunc(d.cfg.BodyTimeout, func() { br.expired.Store(true); r.Body.Close() })
		stop = t.Stop
	}
	aerr := d.readInto(b, br, r.ContentLength)
	if stop != nil {
		stop()
	}
	br.rc.SetReadDeadline(time.Time{})
	if aerr != nil {
		b.release()
		if aerr.reason == ReasonBodyTooSlow {
			w.Header().Set("Connection", "close")
			d.metrics.refused.WithLabelValues("slow").Inc()
		}
		return nil, aerr
	}
	return b, nil
}

// readInto reads br into b.data, growing the buffer (and b's memory) as
// bytes arrive, up to the declared length if known.
func (d *Daemon) readInto(b *body, br *slowBodyReader, declared int64) *apiError {
	for {
		if declared >= 0 && int64(len(b.data)) == declared {
			// net/http ends a body of a declared length there.
			return nil
		}
		if len(b.data) == cap(b.data) {
			next := max(2*int64(cap(b.data)), bodyChunk)
			if declared >= 0 && next > declared {
				next = declared
			}
			next = min(next, d.cfg.MaxBodySize+1) // +1: reading past the limit is how it is found
			grow := next - int64(cap(b.data))
			if !b.mem.take(grow) {
				d.metrics.refused.WithLabelValues("memory").Inc()
				return newError(http.StatusTooManyRequests, ReasonTooManyRequests, "the publisher holds too many uploads in memory; retry later")
			}
			b.reserved += grow
			nb := make([]byte, len(b.data), next)
			copy(nb, b.data)
			b.data = nb
		}
		n, err := br.Read(b.data[len(b.data):cap(b.data)])
		b.data = b.data[:len(b.data)+n]
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return br.classify(err, d.cfg.MaxBodySize)
		}
	}
}

// slowBodyReader reads a body with a read deadline before each read: the
// earliest of the idle timeout, the time the minimum rate allows, and the
// whole-body timeout. It remembers which one it set.
type slowBodyReader struct {
	r       io.Reader
	rc      *http.ResponseController
	cfg     *Config
	start   time.Time
	n       int64
	why     string
	expired atomic.Bool
}

func (s *slowBodyReader) Read(p []byte) (int, error) {
	now := time.Now()
	dl, why := s.start.Add(s.cfg.BodyTimeout), fmt.Sprintf("the body did not arrive within the body timeout of %v", s.cfg.BodyTimeout)
	if idle := now.Add(s.cfg.BodyIdleTimeout); idle.Before(dl) {
		dl, why = idle, fmt.Sprintf("the body sent nothing for %v", s.cfg.BodyIdleTimeout)
	}
	if s.cfg.MinBodyRate > 0 {
		// The rate holds while n ≥ rate × (t − start − grace).
		allowed := s.start.Add(s.cfg.BodyRateGrace + time.Duration(float64(s.n)/float64(s.cfg.MinBodyRate)*float64(time.Second)))
		if allowed.Before(dl) {
			dl, why = allowed, fmt.Sprintf("the body arrived slower than %d bytes/s (%d bytes in %v)", s.cfg.MinBodyRate, s.n, now.Sub(s.start).Round(time.Millisecond))
		}
	}
	s.why = why
	s.rc.SetReadDeadline(dl)
	n, err := s.r.Read(p)
	s.n += int64(n)
	return n, err
}

// classify maps a body read error to an answer.
func (s *slowBodyReader) classify(err error, limit int64) *apiError {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return tooLarge(-1, limit)
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return newError(http.StatusBadRequest, ReasonBodyTooSlow, s.why)
	case s.expired.Load():
		return newError(http.StatusBadRequest, ReasonBodyTooSlow, fmt.Sprintf("the body did not arrive within the body timeout of %v", s.cfg.BodyTimeout))
	}
	return newError(http.StatusBadRequest, ReasonBodyIncomplete, "the request body ended early: "+err.Error())
}

// limitListener refuses (closes at once) a connection over
// Config.MaxConnsPerClient from its client, or over Config.MaxConns in
// all.
type limitListener struct {
	net.Listener
	d       *Daemon
	clients *perKey
	total   chan struct{}
}

func (d *Daemon) limitListener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, d: d, clients: newPerKey(d.cfg.MaxConnsPerClient), total: make(chan struct{}, d.cfg.MaxConns)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.total <- struct{}{}:
		default:
			l.d.metrics.refused.WithLabelValues("conns").Inc()
			c.Close()
			continue
		}
		key := clientKey(c.RemoteAddr().String())
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil && l.d.trusted(ap.Addr()) {
			// A trusted proxy carries many clients' connections.
			return &limitConn{Conn: c, release: func() { <-l.total }}, nil
		}
		if !l.clients.acquire(key) {
			<-l.total
			l.d.metrics.refused.WithLabelValues("client_conns").Inc()
			c.Close()
			continue
		}
		return &limitConn{Conn: c, release: func() { l.clients.release(key); <-l.total }}, nil
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Defaults of the read limits.
const (
	// DefaultMaxReadsPerClient is how many reads one client address runs
	// or queues at once.
	DefaultMaxReadsPerClient = 16
	// DefaultMinSendRate is the slowest a client may take a blob answer,
	// on average since its first SendRateGrace, in bytes per second.
	DefaultMinSendRate = 32 << 10
	// DefaultSendRateGrace is the time before MinSendRate applies.
	DefaultSendRateGrace = 10 * time.Second
)

// acquireRead takes a read place of r's client (Config.MaxReadsPerClient)
// and a read slot, or answers 429.
func (d *Daemon) acquireRead(r *http.Request) (release func(), aerr *apiError) {
	key := d.requestClient(r)
	if !d.readsPerClient.acquire(key) {
		d.metrics.refused.WithLabelValues("client_reads").Inc()
		return nil, newError(http.StatusTooManyRequests, ReasonTooManyRequests,
			fmt.Sprintf("too many reads from your address at once (at most %d); retry later", d.cfg.MaxReadsPerClient))
	}
	rel, ok := d.reads.acquire(r.Context())
	if !ok {
		d.readsPerClient.release(key)
		return nil, newError(http.StatusTooManyRequests, ReasonTooManyRequests, "too many reads in progress; retry later")
	}
	return func() { rel(); d.readsPerClient.release(key) }, nil
}

// pacedWriter writes a blob answer with a write deadline before each
// write: a client must take the answer at Config.MinSendRate on average
// after Config.SendRateGrace, else the connection is cut and the read's
// slot freed. Without write deadlines (a ResponseWriter that has none) it
// writes plainly. net/http clears the deadline once the answer is out
// (after its last flush, still under the deadline).
type pacedWriter struct {
	d     *Daemon
	w     io.Writer
	rc    *http.ResponseController
	start time.Time
	n     int64
	cut   bool
}

// pace returns w paced for a blob answer.
func (d *Daemon) pace(w http.ResponseWriter) *pacedWriter {
	return &pacedWriter{d: d, w: w, rc: http.NewResponseController(w), start: time.Now()}
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	rate := p.d.cfg.MinSendRate
	if rate > 0 {
		dl := p.start.Add(p.d.cfg.SendRateGrace + time.Duration(float64(p.n+int64(len(b)))/float64(rate)*float64(time.Second)))
		p.rc.SetWriteDeadline(dl)
	}
	n, err := p.w.Write(b)
	p.n += int64(n)
	var ne net.Error
	if err != nil && !p.cut && (errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		p.cut = true
		p.d.metrics.refused.WithLabelValues("slow_reader").Inc()
	}
	return n, err
}
