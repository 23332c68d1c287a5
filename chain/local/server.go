package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// The HTTP API of the local chain (JSON; amounts in FROST; IDs in their text
// forms). Every response carries the chain's clock in the ChainTimeHeader
// header, in Unix milliseconds, so that clients stamp expiries by it.
//
//	GET  /v1/system                        chain.SystemState
//	GET  /v1/committees/{epoch}            chain.Committee (0: current)
//	GET  /v1/nodes                         []chain.NodeInfo
//	GET  /v1/nodes/{id}                    chain.NodeInfo
//	GET  /v1/nodes/{id}/history            []chain.NodeEpoch
//	GET  /v1/blobs/{blobId}/status         chain.BlobStatus
//	GET  /v1/objects/{id}                  chain.BlobObject
//	GET  /v1/objects/{id}/attribute        {"attribute": chain.BlobAttribute | null}
//	GET  /v1/shared-blobs/{id}             chain.SharedBlob
//	GET  /v1/accounts/{address}/balance    {"balance": N}
//	GET  /v1/accounts/{address}/blobs      []chain.BlobObject
//	GET  /v1/accounts/{address}/storage    []chain.StorageResource
//	GET  /v1/accounts/{address}/staked     []chain.StakedWAL
//	GET  /v1/epochs/{epoch}/seed           {"seed": hex}
//	GET  /v1/events?after=&limit=&wait=    []chain.Event (long poll: wait is a Go duration)
//	GET  /v1/head                          Head
//	POST /v1/tx                            SignedTx → the transaction's result
//	GET  /health                           200 "ok"
//
// Errors are {"error": {"code": chain.ErrorCode(err), "codes":
// chain.ErrorCodes(err), "message": "..."}}
// with a matching HTTP status; the client turns them back into errors that
// match the package chain sentinels.
const ChainTimeHeader = "Walrus-Chain-Time"

// Limits of the server. A request body is read under ServerBodyTimeout;
// anything that waits longer (a long poll) does so after reading it.
const (
	// maxRequestBody bounds a request body (a signed transaction).
	maxRequestBody = 2 * MaxTxSize
	// ServerReadHeaderTimeout bounds reading a request's headers.
	ServerReadHeaderTimeout = 10 * time.Second
	// ServerBodyTimeout bounds reading a transaction's body.
	ServerBodyTimeout = 10 * time.Second
	// ServerReadTimeout bounds reading a whole request. Go's server
	// cancels a request whose read deadline passes while it is served, so
	// it leaves room for a long poll as the write timeout does.
	ServerReadTimeout = ServerWriteTimeout
	// ServerWriteTimeout leaves room for a long poll of MaxEventWait.
	ServerWriteTimeout = MaxEventWait + 30*time.Second
	// ServerIdleTimeout closes keep-alive connections idle that long.
	ServerIdleTimeout = 60 * time.Second
	// ServerMaxHeaderBytes bounds a request's headers.
	ServerMaxHeaderBytes = 16 << 10
	// MaxInFlightRequests bounds the requests served at once, long polls
	// included; past it the server answers 503 (chain.ErrBusy).
	MaxInFlightRequests = 1024
)

// serverLimits are the timeouts and bounds of a server; tests shorten them.
type serverLimits struct {
	readHeader, body, read, write, idle time.Duration
	inFlight                            int
}

var defaultLimits = serverLimits{
	readHeader: ServerReadHeaderTimeout, body: ServerBodyTimeout, read: ServerReadTimeout,
	write: ServerWriteTimeout, idle: ServerIdleTimeout, inFlight: MaxInFlightRequests,
}

// NewHandler returns the HTTP API of an in-process chain. It is safe for
// concurrent use.
func NewHandler(c *Chain, log *slog.Logger) http.Handler { return newHandler(c, log, defaultLimits) }

func newHandler(c *Chain, log *slog.Logger, lim serverLimits) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{c: c, log: log.With("subsystem", "chain-http"), lim: lim, slots: make(chan struct{}, lim.inFlight)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/system", s.system)
	mux.HandleFunc("GET /v1/committees/{epoch}", s.committee)
	mux.HandleFunc("GET /v1/nodes", s.nodes)
	mux.HandleFunc("GET /v1/nodes/{id}", s.node)
	mux.HandleFunc("GET /v1/nodes/{id}/history", s.nodeHistory)
	mux.HandleFunc("GET /v1/blobs/{blobId}/status", s.blobStatus)
	mux.HandleFunc("GET /v1/objects/{id}", s.blobObject)
	mux.HandleFunc("GET /v1/objects/{id}/attribute", s.blobAttribute)
	mux.HandleFunc("GET /v1/shared-blobs/{id}", s.sharedBlob)
	mux.HandleFunc("GET /v1/accounts/{address}/balance", s.balance)
	mux.HandleFunc("GET /v1/accounts/{address}/blobs", s.ownedBlobs)
	mux.HandleFunc("GET /v1/accounts/{address}/storage", s.ownedStorage)
	mux.HandleFunc("GET /v1/accounts/{address}/staked", s.ownedStake)
	mux.HandleFunc("GET /v1/epochs/{epoch}/seed", s.seed)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("GET /v1/head", s.head)
	mux.HandleFunc("POST /v1/tx", s.tx)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	// Browsers: a page of another origin may not POST (CSRF), whatever
	// the content type; see the package doc.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.failStatus(w, r, http.StatusForbidden, fmt.Errorf("%w: cross-origin request refused", chain.ErrInvalidArgument))
	}))
	guarded := cop.Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ChainTimeHeader, strconv.FormatInt(c.cfg.Now().UnixMilli(), 10))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		default:
			s.fail(w, r, fmt.Errorf("%w: %d requests in flight", chain.ErrBusy, cap(s.slots)))
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// Serve serves the chain's HTTP API on ln until ctx ends, then shuts down
// gracefully (waiting up to ServerWriteTimeout for requests in flight). It
// does not close the chain.
func Serve(ctx context.Context, ln net.Listener, c *Chain, log *slog.Logger) error {
	return serve(ctx, ln, c, log, defaultLimits)
}

func serve(ctx context.Context, ln net.Listener, c *Chain, log *slog.Logger, lim serverLimits) error {
	srv := &http.Server{
		Handler:           newHandler(c, log, lim),
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		WriteTimeout:      lim.write,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

type server struct {
	c     *Chain
	log   *slog.Logger
	lim   serverLimits
	slots chan struct{} // requests in flight
}

// errorBody is the JSON form of an error.
type errorBody struct {
	Error struct {
		Code string `json:"code"`
		// Codes are every sentinel the error matches (Code is the first).
		Codes   []string `json:"codes,omitempty"`
		Message string   `json:"message"`
	} `json:"error"`
}

// statusOf maps an error to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, chain.ErrNotFound), errors.Is(err, chain.ErrUnknownNode), errors.Is(err, chain.ErrNoCommittee):
		return http.StatusNotFound
	case errors.Is(err, chain.ErrUnsigned), errors.Is(err, chain.ErrBadSignature), errors.Is(err, chain.ErrNotOwner):
		return http.StatusForbidden
	case errors.Is(err, chain.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, chain.ErrBusy), errors.Is(err, chain.ErrClosed), errors.Is(err, chain.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, chain.ErrCorrupt):
		return http.StatusInternalServerError
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case chain.ErrorCode(err) != "":
		return http.StatusBadRequest // a transaction or argument the rules refuse
	}
	return http.StatusInternalServerError
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failStatus(w, r, statusOf(err), err)
}

func (s *server) failStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	var body errorBody
	body.Error.Code = chain.ErrorCode(err)
	body.Error.Codes = chain.ErrorCodes(err)
	body.Error.Message = err.Error()
	if status >= 500 {
		s.log.Warn("request failed", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func (s *server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func pathEpoch(r *http.Request) (uint32, error) {
	e, err := strconv.ParseUint(r.PathValue("epoch"), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: epoch %q", chain.ErrInvalidArgument, r.PathValue("epoch"))
	}
	return uint32(e), nil
}

func pathAddress(r *http.Request) (chain.Address, error) {
	return chain.ParseAddress(r.PathValue("address"))
}

func (s *server) system(w http.ResponseWriter, r *http.Request) {
	v, err := s.c.SystemState(r.Context())
	s.reply(w, r, v, err)
}

func (s *server) committee(w http.ResponseWriter, r *http.Request) {
	e, err := pathEpoch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.Committee(r.Context(), e)
	s.reply(w, r, v, err)
}

func (s *server) nodes(w http.ResponseWriter, r *http.Request) {
	v, err := s.c.Nodes(r.Context())
	s.reply(w, r, v, err)
}

func (s *server) node(w http.ResponseWriter, r *http.Request) {
	id, err := chain.ParseObjectID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.Node(r.Context(), id)
	s.reply(w, r, v, err)
}

func (s *server) nodeHistory(w http.ResponseWriter, r *http.Request) {
	id, err := chain.ParseObjectID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.NodeHistory(r.Context(), id)
	s.reply(w, r, nonNil(v), err)
}

func (s *server) blobStatus(w http.ResponseWriter, r *http.Request) {
	id, err := encoding.ParseBlobID(r.PathValue("blobId"))
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", chain.ErrInvalidArgument, err))
		return
	}
	v, err := s.c.BlobStatus(r.Context(), id)
	s.reply(w, r, v, err)
}

func (s *server) blobObject(w http.ResponseWriter, r *http.Request) {
	id, err := chain.ParseObjectID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.BlobObject(r.Context(), id)
	s.reply(w, r, v, err)
}

// attributeBody is the answer of GET /v1/objects/{id}/attribute.
type attributeBody struct {
	Attribute *chain.BlobAttribute `json:"attribute"`
}

func (s *server) blobAttribute(w http.ResponseWriter, r *http.Request) {
	id, err := chain.ParseObjectID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.BlobAttribute(r.Context(), id)
	s.reply(w, r, attributeBody{v}, err)
}

func (s *server) sharedBlob(w http.ResponseWriter, r *http.Request) {
	id, err := chain.ParseObjectID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.SharedBlob(r.Context(), id)
	s.reply(w, r, v, err)
}

func (s *server) balance(w http.ResponseWriter, r *http.Request) {
	a, err := pathAddress(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.Balance(r.Context(), a)
	s.reply(w, r, balanceBody{v}, err)
}

type balanceBody struct {
	Balance uint64 `json:"balance"`
}

func (s *server) ownedBlobs(w http.ResponseWriter, r *http.Request) {
	a, err := pathAddress(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.BlobObjects(r.Context(), a)
	s.reply(w, r, nonNil(v), err)
}

func (s *server) ownedStorage(w http.ResponseWriter, r *http.Request) {
	a, err := pathAddress(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.StorageResources(r.Context(), a)
	s.reply(w, r, nonNil(v), err)
}

func (s *server) ownedStake(w http.ResponseWriter, r *http.Request) {
	a, err := pathAddress(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.StakedWAL(r.Context(), a)
	s.reply(w, r, nonNil(v), err)
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

type seedBody struct {
	Seed chain.Seed `json:"seed"`
}

func (s *server) seed(w http.ResponseWriter, r *http.Request) {
	e, err := pathEpoch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.EpochSeed(r.Context(), e)
	s.reply(w, r, seedBody{v}, err)
}

func (s *server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := chain.ParseCursor(q.Get("after"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit := MaxEventsPerPage
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil {
			s.fail(w, r, fmt.Errorf("%w: limit %q", chain.ErrInvalidArgument, l))
			return
		}
	}
	var wait time.Duration
	if d := q.Get("wait"); d != "" {
		if wait, err = time.ParseDuration(d); err != nil {
			s.fail(w, r, fmt.Errorf("%w: wait %q", chain.ErrInvalidArgument, d))
			return
		}
	}
	v, err := s.c.Events(r.Context(), after, limit, wait)
	s.reply(w, r, v, err)
}

func (s *server) head(w http.ResponseWriter, r *http.Request) {
	v, err := s.c.Head(r.Context())
	s.reply(w, r, v, err)
}

// DecodeSignedTx decodes the JSON body of POST /v1/tx: at most
// maxRequestBody bytes, no unknown fields, no trailing data.
func DecodeSignedTx(b []byte) (*SignedTx, error) {
	if len(b) > maxRequestBody {
		return nil, fmt.Errorf("%w: transaction body over %d bytes", chain.ErrTooLarge, maxRequestBody)
	}
	var st SignedTx
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: transaction: %v", chain.ErrInvalidArgument, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the transaction", chain.ErrInvalidArgument)
	}
	return &st, nil
}

// checkJSON refuses a request body that is not declared JSON: a browser
// sends text/plain, form and multipart bodies across origins without asking
// first, never application/json.
func checkJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return fmt.Errorf("%w: Content-Type %q, want application/json", chain.ErrInvalidArgument, r.Header.Get("Content-Type"))
	}
	return nil
}

func (s *server) tx(w http.ResponseWriter, r *http.Request) {
	if err := checkJSON(r); err != nil {
		s.failStatus(w, r, http.StatusUnsupportedMediaType, err)
		return
	}
	// Not supported by every ResponseWriter (tests' recorders); the
	// server's ReadTimeout still bounds the read then.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.lim.body))
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := DecodeSignedTx(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.c.submit(r.Context(), st)
	s.reply(w, r, res, err)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// readBody reads a request body of at most maxRequestBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, fmt.Errorf("%w: request body over %d bytes", chain.ErrTooLarge, maxRequestBody)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading the request: %v", chain.ErrInvalidArgument, err)
	}
	return b, nil
}
