package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Limits and defaults of the HTTP client.
const (
	// DefaultRequestTimeout bounds one request; an event long poll gets its
	// wait on top.
	DefaultRequestTimeout = 30 * time.Second
	// MaxResponseSize bounds a response body the client reads.
	MaxResponseSize = 64 << 20
	// maxErrorBody bounds an error response body.
	maxErrorBody = 64 << 10
)

// Client implements chain.Chain over the HTTP API of a local chain (see
// NewHandler). It signs transactions itself, so the server checks the same
// signatures as for the in-process chain. It is safe for concurrent use.
type Client struct {
	transactor
	base    string
	hc      *http.Client
	timeout time.Duration
	// offsetMs is the server's clock minus ours, from the last response;
	// synced says whether there was one since the last resync.
	offsetMs atomic.Int64
	synced   atomic.Bool
	closed   atomic.Bool
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client (default: a dedicated one).
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.hc = hc } }

// WithRequestTimeout sets the timeout of one request (default
// DefaultRequestTimeout). Zero or less is ignored.
func WithRequestTimeout(d time.Duration) ClientOption {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

var _ chain.Chain = (*Client)(nil)

// NewClient returns a client of the local chain served at baseURL
// ("http://127.0.0.1:9180"). It does not contact the server.
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: chain URL %q must be http(s)://host:port", chain.ErrInvalidArgument, baseURL)
	}
	c := &Client{base: u.Scheme + "://" + u.Host + u.Path, timeout: DefaultRequestTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	c.transactor = transactor{submit: c.submit, now: c.chainNow, resync: func() { c.synced.Store(false) }}
	return c, nil
}

// chainNow estimates the chain's clock from the last response's
// ChainTimeHeader, asking the server when there was none.
func (c *Client) chainNow(ctx context.Context) (time.Time, error) {
	if !c.synced.Load() {
		if err := c.do(ctx, http.MethodGet, "/health", nil, nil, nil, 0); err != nil {
			return time.Time{}, err
		}
	}
	return time.Now().Add(time.Duration(c.offsetMs.Load()) * time.Millisecond), nil
}

// do sends a request and decodes a JSON response into out (unless nil).
// extra lengthens the timeout (for long polls).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any, extra time.Duration) error {
	if c.closed.Load() {
		return chain.ErrClosed
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout+extra)
	defer cancel()
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%w: %v", chain.ErrInvalidArgument, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if err := parent.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s %s: %v", chain.ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	if ms, err := strconv.ParseInt(resp.Header.Get(ChainTimeHeader), 10, 64); err == nil {
		c.offsetMs.Store(ms - time.Now().UnixMilli())
		c.synced.Store(true)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if json.Unmarshal(b, &eb) != nil || eb.Error.Message == "" {
			return fmt.Errorf("%w: %s %s: %s", chain.ErrUnavailable, method, path, resp.Status)
		}
		codes := eb.Error.Codes
		if len(codes) == 0 {
			codes = []string{eb.Error.Code}
		}
		return chain.ErrorFromCode(eb.Error.Message, codes...)
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, MaxResponseSize))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%w: %s %s: decoding the response: %v", chain.ErrUnavailable, method, path, err)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, nil, out, 0)
}

func (c *Client) submit(ctx context.Context, st *SignedTx) (txResult, error) {
	body, err := json.Marshal(st)
	if err != nil {
		return txResult{}, fmt.Errorf("%w: %v", chain.ErrInvalidArgument, err)
	}
	var res txResult
	err = c.do(ctx, http.MethodPost, "/v1/tx", nil, body, &res, 0)
	return res, err
}

// Close makes later calls fail with chain.ErrClosed and drops idle
// connections.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.hc.CloseIdleConnections()
	return nil
}

// SystemState implements chain.Chain.
func (c *Client) SystemState(ctx context.Context) (chain.SystemState, error) {
	var v chain.SystemState
	err := c.get(ctx, "/v1/system", &v)
	return v, err
}

// Committee implements chain.Chain.
func (c *Client) Committee(ctx context.Context, epoch uint32) (*chain.Committee, error) {
	var v chain.Committee
	if err := c.get(ctx, "/v1/committees/"+strconv.FormatUint(uint64(epoch), 10), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Node implements chain.Chain.
func (c *Client) Node(ctx context.Context, id chain.NodeID) (chain.NodeInfo, error) {
	var v chain.NodeInfo
	err := c.get(ctx, "/v1/nodes/"+id.String(), &v)
	return v, err
}

// Nodes implements chain.Chain.
func (c *Client) Nodes(ctx context.Context) ([]chain.NodeInfo, error) {
	var v []chain.NodeInfo
	err := c.get(ctx, "/v1/nodes", &v)
	return v, err
}

// NodeHistory implements chain.Chain.
func (c *Client) NodeHistory(ctx context.Context, id chain.NodeID) ([]chain.NodeEpoch, error) {
	var v []chain.NodeEpoch
	err := c.get(ctx, "/v1/nodes/"+id.String()+"/history", &v)
	return nilIfEmpty(v), err
}

// BlobStatus implements chain.Chain.
func (c *Client) BlobStatus(ctx context.Context, id encoding.BlobID) (chain.BlobStatus, error) {
	var v chain.BlobStatus
	err := c.get(ctx, "/v1/blobs/"+id.String()+"/status", &v)
	return v, err
}

// BlobObject implements chain.Chain.
func (c *Client) BlobObject(ctx context.Context, id chain.ObjectID) (chain.BlobObject, error) {
	var v chain.BlobObject
	err := c.get(ctx, "/v1/objects/"+id.String(), &v)
	return v, err
}

// BlobAttribute implements chain.Chain.
func (c *Client) BlobAttribute(ctx context.Context, id chain.ObjectID) (*chain.BlobAttribute, error) {
	var v attributeBody
	err := c.get(ctx, "/v1/objects/"+id.String()+"/attribute", &v)
	return v.Attribute, err
}

// SharedBlob implements chain.Chain.
func (c *Client) SharedBlob(ctx context.Context, id chain.ObjectID) (chain.SharedBlob, error) {
	var v chain.SharedBlob
	err := c.get(ctx, "/v1/shared-blobs/"+id.String(), &v)
	return v, err
}

// BlobObjects implements chain.Chain.
func (c *Client) BlobObjects(ctx context.Context, owner chain.Address) ([]chain.BlobObject, error) {
	var v []chain.BlobObject
	err := c.get(ctx, "/v1/accounts/"+owner.String()+"/blobs", &v)
	return nilIfEmpty(v), err
}

// StorageResources implements chain.Chain.
func (c *Client) StorageResources(ctx context.Context, owner chain.Address) ([]chain.StorageResource, error) {
	var v []chain.StorageResource
	err := c.get(ctx, "/v1/accounts/"+owner.String()+"/storage", &v)
	return nilIfEmpty(v), err
}

// Balance implements chain.Chain.
func (c *Client) Balance(ctx context.Context, addr chain.Address) (uint64, error) {
	var v balanceBody
	err := c.get(ctx, "/v1/accounts/"+addr.String()+"/balance", &v)
	return v.Balance, err
}

// StakedWAL implements chain.Chain.
func (c *Client) StakedWAL(ctx context.Context, owner chain.Address) ([]chain.StakedWAL, error) {
	var v []chain.StakedWAL
	err := c.get(ctx, "/v1/accounts/"+owner.String()+"/staked", &v)
	return nilIfEmpty(v), err
}

// EpochSeed implements chain.Chain.
func (c *Client) EpochSeed(ctx context.Context, epoch uint32) (chain.Seed, error) {
	var v seedBody
	err := c.get(ctx, "/v1/epochs/"+strconv.FormatUint(uint64(epoch), 10)+"/seed", &v)
	return v.Seed, err
}

// Events implements chain.Chain. The server clamps limit to
// MaxEventsPerPage and wait to MaxEventWait.
func (c *Client) Events(ctx context.Context, after chain.Cursor, limit int, wait time.Duration) ([]chain.Event, error) {
	wait = min(max(wait, 0), MaxEventWait)
	q := url.Values{"after": {after.String()}, "limit": {strconv.Itoa(limit)}, "wait": {wait.String()}}
	var v []chain.Event
	err := c.do(ctx, http.MethodGet, "/v1/events", q, nil, &v, wait)
	if err == nil && v == nil {
		v = []chain.Event{}
	}
	return v, err
}

// Head returns the server's last block and state root.
func (c *Client) Head(ctx context.Context) (Head, error) {
	var v Head
	err := c.get(ctx, "/v1/head", &v)
	return v, err
}

func nilIfEmpty[T any](v []T) []T {
	if len(v) == 0 {
		return nil
	}
	return v
}
