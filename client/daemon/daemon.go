// Package daemon is the HTTP publisher and aggregator of the network: the
// API of Walrus's publisher and aggregator (same paths, query parameters,
// camelCase JSON and error bodies), so that existing Walrus HTTP clients and
// apps work unchanged, over a client.Client.
//
//	PUT  /v1/blobs?epochs=&permanent=&deletable=&send_object_to=&force=&share=&encoding_type=&reuse_resources=&quilt_version=  (publisher)
//	PUT  /v1/quilts (multipart; publisher)
//	GET  /v1/blobs/{blob_id}?strict_consistency_check=&skip_consistency_check=   (aggregator; Range, ETag; streamed)
//	GET  /v1/blobs/by-object-id/{object_id}                                     (aggregator; attribute headers; a shared blob's ID too)
//	GET  /v1/blobs/{blob_id}/byte-range?start=&length=                          (aggregator)
//	GET  /v1alpha/blobs/{blob_id}/stream                                        (aggregator)
//	GET  /v1alpha/blobs/concat?ids=   POST /v1alpha/blobs/concat {"ids"}        (aggregator)
//	GET  /v1/blobs/by-quilt-patch-id/{id}, /v1/blobs/by-quilt-id/{quilt_id}/{identifier}, /v1/quilts/{quilt_id}/patches (aggregator)
//	GET  /v1/api                 (the API: a page to browsers, else the OpenAPI YAML)
//	GET  /v1/api/openapi.yaml    (the OpenAPI YAML)
//	GET  /                       (a page linking to the API and the status)
//	GET  /status
//
// A store answers {"newlyCreated":{...}} or {"alreadyCertified":{...}}
// (client.StoreResult); every error answers an ErrorBody (errors.go). New
// blobs are deletable unless the request says permanent=true, as Walrus's
// publisher does since v1.33 (Config.DefaultDeletable changes that).
// Stores may require a JWT (Config.JWT, jwt.go). Reads are open to every
// origin (CORS); stores from a web page only to Config.AllowedOrigins
// (cors.go). Blob answers follow the content policy of contenttype.go: no
// stored page runs on the daemon's origin.
//
// Limits: a body over Config.MaxBodySize is refused with 413 before it is
// read past the limit. A body is received before its store takes a slot,
// within the receiving limits of intake.go (places in all and per client,
// memory taken as bytes arrive, a minimum rate and an idle timeout), so
// slow senders cannot hold the store slots. At most
// Config.MaxConcurrentStores stores run at once and Config.MaxQueuedStores
// wait, further ones get 429 at once; reads likewise
// (Config.MaxConcurrentReads, Config.MaxQueuedReads, and
// Config.MaxReadsPerClient per client), and a blob answer must be taken at
// a minimum rate. Run bounds connections per client and in all. A store
// whose client disconnects before the whole body arrived registers
// nothing; once the body is in, the store runs to its end (certified, or
// failed and never certified) even if the client leaves.
package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/walrus-go/walrus/client"
)

// Mode selects the APIs a daemon serves.
type Mode uint8

const (
	// ModeDaemon serves both the publisher and the aggregator APIs.
	ModeDaemon Mode = iota
	// ModePublisher serves stores only.
	ModePublisher
	// ModeAggregator serves reads only.
	ModeAggregator
)

func (m Mode) String() string {
	switch m {
	case ModePublisher:
		return "publisher"
	case ModeAggregator:
		return "aggregator"
	}
	return "daemon"
}

func (m Mode) publishes() bool  { return m != ModeAggregator }
func (m Mode) aggregates() bool { return m != ModePublisher }

// Defaults of Config.
const (
	// DefaultMaxBodySize is Walrus's public publishers' limit: 10 MiB.
	DefaultMaxBodySize = 10 << 20
	// DefaultMaxConcurrentStores is how many stores run at once.
	DefaultMaxConcurrentStores = 8
	// DefaultMaxQueuedStores is how many stores may wait for a slot.
	DefaultMaxQueuedStores = 32
	// DefaultMaxConcurrentReads is how many reads run at once.
	DefaultMaxConcurrentReads = 32
	// DefaultMaxQueuedReads is how many reads may wait for a slot.
	DefaultMaxQueuedReads = 128
	// DefaultStoreTimeout bounds one store from its body's last byte.
	DefaultStoreTimeout = 5 * time.Minute
	// DefaultReadTimeout bounds fetching and decoding one blob.
	DefaultReadTimeout = 2 * time.Minute
	// DefaultBodyTimeout bounds receiving a store's body.
	DefaultBodyTimeout = 5 * time.Minute
	// DefaultCacheMaxAge is the max-age of blob answers: a blob ID always
	// names the same bytes.
	DefaultCacheMaxAge = 24 * time.Hour
	// DefaultEpochs is the storage time of a store that names none, as
	// Walrus's.
	DefaultEpochs = 1
	// DefaultShutdownTimeout bounds a graceful shutdown.
	DefaultShutdownTimeout = 30 * time.Second
)

// Config configures a Daemon. Zero fields take the defaults above.
type Config struct {
	// Client does the work. Required; a publisher's needs a wallet.
	Client *client.Client
	Mode   Mode
	// MaxBodySize caps a store's body, in bytes.
	MaxBodySize int64
	// MaxBlobSize, if > 0, is the largest blob a read serves
	// (--max-blob-size, Walrus's aggregator flag); larger ones are refused
	// from their size (the metadata's, or the blob object's) before their
	// slivers are read. With it, the memory of reads is bounded by
	// MaxConcurrentReads × MaxBlobSize.
	MaxBlobSize int64
	// MaxConcurrentStores and MaxQueuedStores bound the stores running
	// and waiting; MaxConcurrentReads and MaxQueuedReads the reads. A
	// negative queue length means no queue.
	MaxConcurrentStores, MaxQueuedStores int
	MaxConcurrentReads, MaxQueuedReads   int
	// StoreTimeout, ReadTimeout and BodyTimeout bound one store (after
	// its body), one read, and receiving one body.
	StoreTimeout, ReadTimeout, BodyTimeout time.Duration
	// Receiving bodies (intake.go): at most MaxReceivingBodies at once,
	// MaxBodiesPerClient from one client address; their buffers take at
	// most MaxBodyMemory bytes (default DefaultMaxBodyMemoryBodies ×
	// MaxBodySize), held until the store ends. A body that sends nothing
	// for BodyIdleTimeout, or less than MinBodyRate bytes/s on average
	// after BodyRateGrace, is cut (a negative MinBodyRate turns the rate
	// check off).
	MaxReceivingBodies, MaxBodiesPerClient int
	MaxBodyMemory                          int64
	BodyIdleTimeout, BodyRateGrace         time.Duration
	MinBodyRate                            int64
	// MaxReadsPerClient bounds the reads one client address runs or
	// queues at once. A blob answer must be taken at MinSendRate bytes/s
	// on average after SendRateGrace, else its connection is cut (a
	// negative MinSendRate turns the check off).
	MaxReadsPerClient int
	MinSendRate       int64
	SendRateGrace     time.Duration
	// TrustedProxies are the addresses of reverse proxies in front of the
	// daemon: a request from one is the client's of its X-Forwarded-For
	// (the last address not a trusted proxy) for the per-client limits,
	// and its connections are not limited per client. Empty: the
	// connection's address is the client.
	TrustedProxies []netip.Prefix
	// MaxConnsPerClient and MaxConns bound the connections Run accepts
	// from one client address and in all; over them a connection is
	// closed at once.
	MaxConnsPerClient, MaxConns int
	// CacheMaxAge is the max-age of blob answers.
	CacheMaxAge time.Duration
	// DefaultEpochs is the epochs of a store that names none.
	DefaultEpochs uint32
	// DefaultDeletable is the kind of a store that says neither
	// permanent nor deletable. nil means deletable, as Walrus.
	DefaultDeletable *bool
	// JWT, if enabled (JWTConfig.Enabled), authenticates stores as
	// Walrus's publisher does (jwt.go). Its DefaultEpochs is this
	// Config's.
	JWT JWTConfig
	// AllowedOrigins are the origins (scheme://host[:port]) whose pages
	// may store blobs through a browser (CORS for PUT); "*" allows every
	// origin. Reads are open to every origin whatever it says. Empty: no
	// other origin may PUT, so that no web page a visitor opens can spend
	// the publisher's wallet (Walrus allows any origin).
	AllowedOrigins []string
	// ShutdownTimeout bounds Run's graceful shutdown.
	ShutdownTimeout time.Duration
	// Logger receives the daemon's log lines; nil means slog.Default().
	Logger *slog.Logger
	// Registry receives the daemon's metrics; nil means a new registry
	// (served by MetricsHandler).
	Registry *prometheus.Registry
	// Quilt bounds quilt stores; ResponseHeaders says which blob
	// attributes and patch tags become response headers (quilt.go).
	Quilt           QuiltConfig
	ResponseHeaders ResponseHeaderConfig
}

// EnsureDefaults fills in the zero fields of c.
func (c *Config) EnsureDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = DefaultMaxBodySize
	}
	if c.MaxBodyMemory == 0 && c.MaxBodySize > 0 {
		c.MaxBodyMemory = DefaultMaxBodyMemoryBodies * (c.MaxBodySize + 1)
	}
	def(&c.MaxConcurrentStores, DefaultMaxConcurrentStores)
	def(&c.MaxQueuedStores, DefaultMaxQueuedStores)
	def(&c.MaxConcurrentReads, DefaultMaxConcurrentReads)
	def(&c.MaxQueuedReads, DefaultMaxQueuedReads)
	defd(&c.StoreTimeout, DefaultStoreTimeout)
	defd(&c.ReadTimeout, DefaultReadTimeout)
	defd(&c.BodyTimeout, DefaultBodyTimeout)
	def(&c.MaxReceivingBodies, DefaultMaxReceivingBodies)
	def(&c.MaxBodiesPerClient, DefaultMaxBodiesPerClient)
	def(&c.MaxConnsPerClient, DefaultMaxConnsPerClient)
	def(&c.MaxReadsPerClient, DefaultMaxReadsPerClient)
	defd(&c.SendRateGrace, DefaultSendRateGrace)
	if c.MinSendRate == 0 {
		c.MinSendRate = DefaultMinSendRate
	}
	def(&c.MaxConns, DefaultMaxConns)
	defd(&c.BodyIdleTimeout, DefaultBodyIdleTimeout)
	defd(&c.BodyRateGrace, DefaultBodyRateGrace)
	if c.MinBodyRate == 0 {
		c.MinBodyRate = DefaultMinBodyRate
	}
	defd(&c.CacheMaxAge, DefaultCacheMaxAge)
	defd(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.DefaultEpochs == 0 {
		c.DefaultEpochs = DefaultEpochs
	}
	if c.DefaultDeletable == nil {
		t := true
		c.DefaultDeletable = &t
	}
	if c.MaxQueuedStores < 0 {
		c.MaxQueuedStores = 0
	}
	if c.MaxQueuedReads < 0 {
		c.MaxQueuedReads = 0
	}
	if c.JWT.DefaultEpochs == 0 {
		c.JWT.DefaultEpochs = c.DefaultEpochs
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("daemon: invalid config")

// Validate reports every problem of c, naming the field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Client == nil {
		bad("Client is required")
	}
	if c.MaxBodySize < 1 {
		bad("MaxBodySize (%d) must be >= 1", c.MaxBodySize)
	}
	if c.MaxBlobSize < 0 {
		bad("MaxBlobSize (%d) must be >= 0", c.MaxBlobSize)
	}
	if c.MaxConcurrentStores < 1 || c.MaxConcurrentReads < 1 {
		bad("MaxConcurrentStores (%d) and MaxConcurrentReads (%d) must be >= 1", c.MaxConcurrentStores, c.MaxConcurrentReads)
	}
	if c.StoreTimeout < 0 || c.ReadTimeout < 0 || c.BodyTimeout < 0 || c.CacheMaxAge < 0 || c.ShutdownTimeout < 0 ||
		c.BodyIdleTimeout < 0 || c.BodyRateGrace < 0 {
		bad("timeouts and CacheMaxAge must not be negative")
	}
	if c.MaxReceivingBodies < 1 || c.MaxBodiesPerClient < 1 || c.MaxConnsPerClient < 1 || c.MaxConns < 1 || c.MaxReadsPerClient < 1 {
		bad("MaxReceivingBodies (%d), MaxBodiesPerClient (%d), MaxReadsPerClient (%d), MaxConnsPerClient (%d) and MaxConns (%d) must be >= 1",
			c.MaxReceivingBodies, c.MaxBodiesPerClient, c.MaxReadsPerClient, c.MaxConnsPerClient, c.MaxConns)
	}
	if c.SendRateGrace < 0 {
		bad("SendRateGrace must not be negative")
	}
	if c.MaxBodyMemory <= c.MaxBodySize {
		bad("MaxBodyMemory (%d) must be over MaxBodySize (%d)", c.MaxBodyMemory, c.MaxBodySize)
	}
	if c.Mode > ModeAggregator {
		bad("unknown Mode %d", c.Mode)
	}
	return errors.Join(errs...)
}

// limiter admits up to slots requests at once and queue more waiting.
type limiter struct {
	admit chan struct{} // capacity slots + queue
	run   chan struct{} // capacity slots
}

func newLimiter(slots, queue int) *limiter {
	return &limiter{admit: make(chan struct{}, slots+queue), run: make(chan struct{}, slots)}
}

// full reports whether no place is free, running or queued.
func (l *limiter) full() bool { return len(l.admit) == cap(l.admit) }

// acquire takes a slot, waiting in the queue; false (at once) when the
// queue is full or ctx ends while waiting.
func (l *limiter) acquire(ctx context.Context) (release func(), ok bool) {
	select {
	case l.admit <- struct{}{}:
	default:
		return nil, false
	}
	select {
	case l.run <- struct{}{}:
		return func() { <-l.run; <-l.admit }, true
	case <-ctx.Done():
		<-l.admit
		return nil, false
	}
}

// Daemon serves the HTTP API. It is safe for concurrent use.
type Daemon struct {
	cfg    Config
	c      *client.Client
	log    *slog.Logger
	stores *limiter
	reads  *limiter
	mux    *http.ServeMux
	// patterns are the routes served (handle).
	patterns []string

	// Receiving bodies: places in all and per client, and memory.
	receiving       chan struct{}
	bodiesPerClient *perKey
	bodyMem         *budget
	readsPerClient  *perKey

	// ctx ends when the daemon stops for good: stores whose body arrived
	// run under it, not under their request's context.
	ctx    context.Context
	cancel context.CancelFunc

	metrics metrics
	// metricsAddr is where Run serves the metrics ("" when it does not),
	// for the home page's link.
	metricsAddr atomic.Pointer[string]
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	inflight *prometheus.GaugeVec
	refused  *prometheus.CounterVec
}

// New returns a Daemon. cfg is copied, its defaults filled in, then
// validated.
func New(cfg Config) (*Daemon, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{cfg: cfg, c: cfg.Client, log: cfg.Logger.With("subsystem", "daemon"),
		stores:    newLimiter(cfg.MaxConcurrentStores, cfg.MaxQueuedStores),
		reads:     newLimiter(cfg.MaxConcurrentReads, cfg.MaxQueuedReads),
		receiving: make(chan struct{}, cfg.MaxReceivingBodies), bodiesPerClient: newPerKey(cfg.MaxBodiesPerClient),
		bodyMem: &budget{max: cfg.MaxBodyMemory}, readsPerClient: newPerKey(cfg.MaxReadsPerClient),
		ctx: ctx, cancel: cancel}
	d.metrics = metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "walrus_daemon_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "walrus_daemon_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}, []string{"route"}),
		bytes:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "walrus_daemon_blob_bytes_total", Help: "Blob bytes stored and read."}, []string{"direction"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "walrus_daemon_inflight_requests", Help: "Stores (receiving, queued or running), bodies being received, and reads."}, []string{"kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "walrus_daemon_refused_total",
			Help: "Requests and connections refused or cut by a limit: conns, client_conns, bodies, client_bodies, memory, slow, client_reads, slow_reader."}, []string{"why"}),
	}
	for _, c := range []prometheus.Collector{d.metrics.requests, d.metrics.duration, d.metrics.bytes, d.metrics.inflight, d.metrics.refused} {
		if err := cfg.Registry.Register(c); err != nil {
			cancel()
			return nil, fmt.Errorf("daemon: registering metrics: %w", err)
		}
	}
	store := d.handleStore
	if cfg.JWT.Enabled() {
		auth, err := NewJWTAuth(cfg.JWT)
		if err != nil {
			cancel()
			return nil, err
		}
		next := auth.Middleware(http.HandlerFunc(d.handleStore))
		// A bad query or an oversized body is refused before the token
		// is looked at (and spent), as Walrus's query extractor does.
		store = func(w http.ResponseWriter, r *http.Request) {
			if aerr := d.precheckStore(r); aerr != nil {
				writeError(w, aerr)
				return
			}
			next.ServeHTTP(w, r)
		}
	}
	d.mux = http.NewServeMux()
	if cfg.Mode.publishes() {
		d.handle("PUT /v1/blobs", "store", store)
		d.handle("PUT /v1/quilts", "store_quilt", d.handleStoreQuilt)
	}
	if cfg.Mode.aggregates() {
		d.handle("GET /v1/blobs/{blob_id}", "read", d.handleRead)
		d.handle("GET /v1/blobs/by-object-id/{object_id}", "read_by_object", d.withAttributeHeaders(d.handleReadByObject))
		d.handle("GET /v1/blobs/{blob_id}/{op}", "read_range", d.handleReadOp)
		d.handle("GET /v1alpha/blobs/{blob_id}/stream", "read_stream", d.handleStream)
		d.handle("GET /v1alpha/blobs/concat", "read_concat", d.handleConcat)
		d.handle("POST /v1alpha/blobs/concat", "read_concat", d.handleConcat)
		d.handle("GET /v1/blobs/by-quilt-patch-id/{quilt_patch_id}", "read_quilt_patch", d.handleReadQuiltPatch)
		d.handle("GET /v1/blobs/by-quilt-id/{quilt_id}/{identifier}", "read_quilt_blob", d.handleReadQuiltBlob)
		d.handle("GET /v1/quilts/{quilt_id}/patches", "list_quilt_patches", d.handleListQuiltPatches)
	}
	d.handle("GET /v1/api", "api", d.handleAPI)
	d.handle("GET /v1/api/openapi.yaml", "api", d.handleAPIYAML)
	d.handle("GET /{$}", "home", d.handleHome)
	d.handle("GET /status", "status", d.handleStatus)
	d.mux.Handle("/", d.route("other", d.handleOther))
	return d, nil
}

// handle serves pattern ("METHOD /path", a path of openapi.yaml; GET
// also serves HEAD) with h, as route name. Patterns records it for the
// test that keeps openapi.yaml in step.
func (d *Daemon) handle(pattern, name string, h func(http.ResponseWriter, *http.Request)) {
	d.patterns = append(d.patterns, pattern)
	d.mux.Handle(pattern, d.route(name, h))
}

// Handler returns the API's handler, CORS included.
func (d *Daemon) Handler() http.Handler { return d.cors(d.mux) }

// MetricsHandler returns the Prometheus handler of the daemon's registry.
func (d *Daemon) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(d.cfg.Registry, promhttp.HandlerOpts{})
}

// Close ends the stores still running (their blobs are then not
// certified). Run calls it after its graceful shutdown.
func (d *Daemon) Close() { d.cancel() }

// Run serves the API on ln and, if metrics is not nil, the metrics on it,
// until ctx ends. It then shuts down gracefully: it closes the listeners,
// waits up to Config.ShutdownTimeout for requests in progress (stores
// included) to finish, then cancels what remains and returns. It returns
// nil after a shutdown ctx asked for, or the first serving error.
func (d *Daemon) Run(ctx context.Context, ln, metrics net.Listener) error {
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelDebug)}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(d.limitListener(ln)) }()
	if metrics != nil {
		addr := metrics.Addr().String()
		d.metricsAddr.Store(&addr)
		msrv := &http.Server{Handler: d.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(metrics) }()
	}
	d.log.Info("serving", "mode", d.cfg.Mode.String(), "addr", ln.Addr().String())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() { defer wg.Done(); s.Shutdown(sctx) }()
	}
	wg.Wait()
	d.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// statusWriter records the status code for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
	// closeOnError closes the connection after an error answer, so that
	// net/http does not wait for the rest of an unread request body
	// before it sends the answer.
	closeOnError bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
		if code >= 400 && w.closeOnError {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route wraps a handler with metrics and panic safety.
func (d *Daemon) route(name string, h func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, closeOnError: r.ContentLength != 0 && r.Method != http.MethodGet && r.Method != http.MethodHead}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				d.log.Error("handler panicked", "route", name, "panic", p)
				if sw.code == 0 {
					writeError(sw, newError(http.StatusInternalServerError, ReasonInternal, "internal error"))
				}
			}
			d.metrics.requests.WithLabelValues(name, strconv.Itoa(sw.code)).Inc()
			d.metrics.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		}()
		h(sw, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// handleStore serves PUT /v1/blobs.
// precheckStore refuses a store for its query or declared length.
func (d *Daemon) precheckStore(r *http.Request) *apiError {
	if _, aerr := parseStoreQuery(r.URL.RawQuery, d.cfg.DefaultEpochs, *d.cfg.DefaultDeletable); aerr != nil {
		return aerr
	}
	if r.ContentLength > d.cfg.MaxBodySize {
		return tooLarge(r.ContentLength, d.cfg.MaxBodySize)
	}
	return nil
}

func (d *Daemon) handleStore(w http.ResponseWriter, r *http.Request) {
	if aerr := d.precheckStore(r); aerr != nil {
		writeError(w, aerr)
		return
	}
	q, _ := parseStoreQuery(r.URL.RawQuery, d.cfg.DefaultEpochs, *d.cfg.DefaultDeletable)
	d.metrics.inflight.WithLabelValues("store").Inc()
	defer d.metrics.inflight.WithLabelValues("store").Dec()
	if d.stores.full() {
		refundJWT(r.Context())
		writeError(w, newError(http.StatusTooManyRequests, ReasonTooManyRequests, "too many stores in progress; retry later"))
		return
	}
	// Receive the whole body (encoding needs it) before taking a store
	// slot, within the receiving limits (intake.go). Nothing is
	// registered before it is complete.
	b, aerr := d.receiveBody(w, r)
	if aerr != nil {
		if aerr.code == http.StatusTooManyRequests {
			refundJWT(r.Context())
		}
		if aerr.reason == ReasonBodyIncomplete {
			d.log.Debug("store body incomplete", "err", aerr.message)
		}
		writeError(w, aerr)
		return
	}
	defer b.release()
	body := b.data
	if aerr := checkJWTUploadSize(r.Context(), int64(len(body))); aerr != nil {
		writeError(w, aerr)
		return
	}
	release, ok := d.stores.acquire(r.Context())
	if !ok {
		refundJWT(r.Context())
		writeError(w, newError(http.StatusTooManyRequests, ReasonTooManyRequests, "too many stores in progress; retry later"))
		return
	}
	defer release()
	// From here on the store runs to its end even if the client leaves.
	sctx, scancel := context.WithTimeout(d.ctx, d.cfg.StoreTimeout)
	defer scancel()
	res, err := d.c.Store(sctx, body, q.options())
	if err != nil {
		ae := classify(err)
		if ae.code >= 500 {
			d.log.Warn("store failed", "size", len(body), "err", err)
		}
		writeError(w, ae)
		return
	}
	d.metrics.bytes.WithLabelValues("stored").Add(float64(len(body)))
	d.log.Debug("stored", "blob_id", res.BlobID(), "size", len(body))
	writeJSON(w, http.StatusOK, res)
}

// checkBlobSize refuses a read of a blob of size bytes over
// Config.MaxBlobSize, as Walrus's aggregator (403 SIZE_EXCEEDED,
// BLOB_TOO_LARGE): the blob is stored, another aggregator may serve it.
func (d *Daemon) checkBlobSize(size uint64) *apiError {
	if d.cfg.MaxBlobSize <= 0 || size <= uint64(d.cfg.MaxBlobSize) {
		return nil
	}
	return &apiError{code: http.StatusForbidden, status: "SIZE_EXCEEDED", reason: ReasonBlobTooLarge,
		message: fmt.Sprintf("the blob size exceeds the maximum allowed size: the blob has %d bytes, this aggregator serves at most %d", size, d.cfg.MaxBlobSize)}
}

func tooLarge(size, max int64) *apiError {
	if size >= 0 {
		return newError(http.StatusRequestEntityTooLarge, ReasonBlobTooLarge, fmt.Sprintf("the body of %d bytes is over the limit of %d bytes", size, max))
	}
	return newError(http.StatusRequestEntityTooLarge, ReasonBlobTooLarge, fmt.Sprintf("the body is over the limit of %d bytes", max))
}

// etagMatches reports whether an If-None-Match header lists the blob's
// ETag (quoted or not, weak or not) or "*".
func etagMatches(header, id string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == id {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Status is the answer of GET /status.
type Status struct {
	Mode    string `json:"mode"`
	Epoch   uint32 `json:"epoch"`
	NShards int    `json:"nShards"`
	Nodes   int    `json:"nodes"`
	// MaxBodySize is the largest body a store accepts (0 for an
	// aggregator).
	MaxBodySize int64 `json:"maxBodySize,omitempty"`
}

// handleStatus serves GET /status: JSON, or a page to a browser (a
// request that accepts text/html).
func (d *Daemon) handleStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := d.c.SystemState(ctx)
	if err != nil {
		writeError(w, newError(http.StatusServiceUnavailable, ReasonBlobUnavailable, "the chain is unavailable: "+err.Error()))
		return
	}
	com, err := d.c.Committee(ctx)
	if err != nil {
		writeError(w, newError(http.StatusServiceUnavailable, ReasonBlobUnavailable, "the chain is unavailable: "+err.Error()))
		return
	}
	out := Status{Mode: d.cfg.Mode.String(), Epoch: st.Epoch, NShards: st.NShards, Nodes: len(com.Members)}
	if d.cfg.Mode.publishes() {
		out.MaxBodySize = d.cfg.MaxBodySize
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		var b bytes.Buffer
		if err := statusTmpl.Execute(&b, out); err != nil {
			d.log.Warn("status page", "err", err)
		}
		writePage(w, b.Bytes())
		return
	}
	w.Header().Add("Vary", "Accept")
	writeJSON(w, http.StatusOK, out)
}

// handleOther answers what no route matches.
func (d *Daemon) handleOther(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if (p == "/v1/blobs" || strings.HasPrefix(p, "/v1/blobs/")) && r.Method != http.MethodOptions {
		writeError(w, newError(http.StatusMethodNotAllowed, ReasonMethodNotAllowed,
			fmt.Sprintf("%s %s is not served by this %s", r.Method, truncate(p, 80), d.cfg.Mode)))
		return
	}
	writeError(w, newError(http.StatusNotFound, ReasonNotFound, fmt.Sprintf("no such path %q", truncate(p, 80))))
}
