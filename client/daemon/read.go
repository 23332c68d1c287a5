package daemon

// The aggregator's read routes. Every read streams: the headers leave once
// the blob's metadata is verified (and its first bytes, for the content
// type), and the body as its rows, the systematic primary slivers, arrive
// and verify (client.Blob.StreamRange), so a large blob's first byte leaves
// after one row and the daemon holds Config.Client's read window per read,
// not the blob. Each byte sent has been verified against the blob's
// metadata: the guarantee of Walrus's default consistency check. A read
// with strict_consistency_check=true re-encodes the whole blob before
// sending it (encoding.CheckStrict) and is therefore not streamed. A HEAD
// fetches the metadata only. A failure after the headers left aborts the
// connection: the client sees a body shorter than its Content-Length.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
)

// Limits of the concat route.
const (
	// MaxConcatBlobs is the most blobs one concat request names.
	MaxConcatBlobs = 64
	// MaxConcatBodySize bounds the JSON body of POST /v1alpha/blobs/concat.
	MaxConcatBodySize = 64 << 10
	// sniffLen is how many leading bytes decide a sniffed content type
	// (http.DetectContentType reads at most 512).
	sniffLen = 512
)

// ReasonInvalidByteRange is the reason of a byte-range read whose start
// and length are malformed or outside the blob.
const ReasonInvalidByteRange = "INVALID_BYTE_RANGE"

// handleRead serves GET (and HEAD) /v1/blobs/{blob_id}.
func (d *Daemon) handleRead(w http.ResponseWriter, r *http.Request) {
	id, ok := parseBlobIDParam(w, r.PathValue("blob_id"))
	if !ok {
		return
	}
	d.serveBlob(w, r, id)
}

// handleReadOp serves GET /v1/blobs/{blob_id}/byte-range?start=&length=:
// Walrus's byte-range read, answered 200 (so that a CDN caches it) with
// the ETag "<blob ID>-<start>-<length>".
func (d *Daemon) handleReadOp(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("op") != "byte-range" {
		writeError(w, newError(http.StatusNotFound, ReasonNotFound, fmt.Sprintf("no such path %q", truncate(r.URL.Path, 80))))
		return
	}
	id, ok := parseBlobIDParam(w, r.PathValue("blob_id"))
	if !ok {
		return
	}
	q := r.URL.Query()
	start, err1 := parseDigits(q.Get("start"))
	length, err2 := parseDigits(q.Get("length"))
	switch {
	case err1 != nil || err2 != nil:
		writeError(w, newError(http.StatusBadRequest, ReasonInvalidByteRange, "start and length must be non-negative integers"))
		return
	case length == 0:
		writeError(w, newError(http.StatusBadRequest, ReasonInvalidByteRange, "length must be greater than 0"))
		return
	}
	d.read(w, r, func(ctx context.Context) {
		b, err := d.c.Open(ctx, id, client.ReadOptions{})
		if err != nil {
			writeReadError(d, w, id, err)
			return
		}
		if start >= b.Size() || length > b.Size()-start {
			writeError(w, newError(http.StatusBadRequest, ReasonInvalidByteRange,
				fmt.Sprintf("bytes [%d, %d) are not within the blob of %d bytes", start, start+length, b.Size())))
			return
		}
		d.setBlobHeaders(w, fmt.Sprintf("%s-%d-%d", id, start, length))
		d.stream(ctx, w, r, http.StatusOK, []part{{b: b, start: start, length: length}})
	})
}

// handleStream serves GET /v1alpha/blobs/{blob_id}/stream: the whole blob,
// streamed, with X-Walrus-Streaming: true (as Walrus). Every read of this
// daemon streams; this route is Walrus's name for it.
func (d *Daemon) handleStream(w http.ResponseWriter, r *http.Request) {
	id, ok := parseBlobIDParam(w, r.PathValue("blob_id"))
	if !ok {
		return
	}
	d.read(w, r, func(ctx context.Context) {
		b, err := d.c.Open(ctx, id, client.ReadOptions{})
		if err != nil {
			writeReadError(d, w, id, err)
			return
		}
		d.setBlobHeaders(w, id.String())
		w.Header().Set("X-Walrus-Streaming", "true")
		d.stream(ctx, w, r, http.StatusOK, []part{{b: b, length: b.Size()}})
	})
}

// concatBody is the JSON body of POST /v1alpha/blobs/concat.
type concatBody struct {
	IDs    []string `json:"ids"`
	Strict *bool    `json:"strict_consistency_check,omitempty"`
	Skip   *bool    `json:"skip_consistency_check,omitempty"`
}

// handleConcat serves GET /v1alpha/blobs/concat?ids=a,b,… and POST with
// {"ids":[…]}: the blobs (blob IDs or blob object IDs, at most
// MaxConcatBlobs) one after another, streamed. Every blob's metadata is
// fetched before the headers leave, so the answer has a Content-Length and
// a missing blob is a clean 404. skip_consistency_check is accepted and has
// no effect: every byte is verified. strict_consistency_check reads each
// blob whole before it is sent.
func (d *Daemon) handleConcat(w http.ResponseWriter, r *http.Request) {
	var ids []string
	strict := false
	if r.Method == http.MethodPost {
		var body concatBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxConcatBodySize))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeError(w, newError(http.StatusBadRequest, ReasonInvalidQuery, "the body is not {\"ids\": [...]}: "+truncate(err.Error(), 200)))
			return
		}
		ids = body.IDs
		strict = body.Strict != nil && *body.Strict
	} else {
		q := r.URL.Query()
		for _, s := range strings.Split(q.Get("ids"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				ids = append(ids, s)
			}
		}
		strict, _ = parseBool(q.Get("strict_consistency_check"))
	}
	switch {
	case len(ids) == 0:
		writeError(w, newError(http.StatusBadRequest, ReasonInvalidQuery, "at least one blob ID or object ID must be provided"))
		return
	case len(ids) > MaxConcatBlobs:
		writeError(w, newError(http.StatusBadRequest, ReasonInvalidQuery, fmt.Sprintf("%d IDs, at most %d", len(ids), MaxConcatBlobs)))
		return
	}
	d.readN(w, r, len(ids), func(ctx context.Context) {
		parts := make([]part, 0, len(ids))
		var total int64
		for _, s := range ids {
			id, err := encoding.ParseBlobID(s)
			if err != nil {
				oid, oerr := chain.ParseObjectID(s)
				if oerr != nil {
					writeError(w, newError(http.StatusBadRequest, ReasonInvalidBlobID, fmt.Sprintf("%q is neither a blob ID nor an object ID", truncate(s, 80))))
					return
				}
				obj, err := d.c.ResolveBlobObject(ctx, oid)
				if err != nil {
					writeError(w, classify(err))
					return
				}
				id = obj.BlobID
			}
			b, err := d.c.Open(ctx, id, client.ReadOptions{})
			if err != nil {
				writeReadError(d, w, id, err)
				return
			}
			parts = append(parts, part{b: b, length: b.Size(), strict: strict})
			total += b.Size()
		}
		d.setBlobHeaders(w, "concat-"+strconv.FormatUint(concatTag(ids), 36))
		d.stream(ctx, w, r, http.StatusOK, parts)
	})
}

// concatTag is the ETag of a concat answer: FNV-1a over the IDs as named.
func concatTag(ids []string) uint64 {
	h := uint64(14695981039346656037)
	for _, s := range ids {
		for _, c := range []byte(s + ",") {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	return h
}

// parseBlobIDParam parses a blob ID path parameter, answering 400 if it is
// bad.
func parseBlobIDParam(w http.ResponseWriter, s string) (encoding.BlobID, bool) {
	id, err := encoding.ParseBlobID(s)
	if err != nil {
		writeError(w, newError(http.StatusBadRequest, ReasonInvalidBlobID, fmt.Sprintf("invalid blob ID %q: %v", truncate(s, 64), err)))
		return id, false
	}
	return id, true
}

// handleReadByObject serves GET /v1/blobs/by-object-id/{object_id}: the ID
// of a blob object or of a shared blob (the blob it wraps), as Walrus's.
func (d *Daemon) handleReadByObject(w http.ResponseWriter, r *http.Request) {
	oid, err := chain.ParseObjectID(r.PathValue("object_id"))
	if err != nil {
		writeError(w, newError(http.StatusBadRequest, ReasonInvalidObjectID, fmt.Sprintf("invalid object ID %q: %v", truncate(r.PathValue("object_id"), 80), err)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.cfg.ReadTimeout)
	defer cancel()
	obj, err := d.c.ResolveBlobObject(ctx, oid)
	if err != nil {
		writeError(w, classify(err))
		return
	}
	if aerr := d.checkBlobSize(obj.Size); aerr != nil {
		writeError(w, aerr)
		return
	}
	d.serveBlob(w, r, obj.BlobID)
}

// read runs fn as one read: within the read limiter and under
// Config.ReadTimeout.
func (d *Daemon) read(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context)) {
	d.readN(w, r, 1, fn)
}

// readN is read for n blobs: the timeout is n times Config.ReadTimeout.
func (d *Daemon) readN(w http.ResponseWriter, r *http.Request, n int, fn func(ctx context.Context)) {
	d.metrics.inflight.WithLabelValues("read").Inc()
	defer d.metrics.inflight.WithLabelValues("read").Dec()
	release, aerr := d.acquireRead(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(n)*d.cfg.ReadTimeout)
	defer cancel()
	fn(ctx)
}

func writeReadError(d *Daemon, w http.ResponseWriter, id encoding.BlobID, err error) {
	ae := classify(err)
	if ae.code >= 500 {
		d.log.Warn("read failed", "blob_id", id, "err", err)
	}
	writeError(w, ae)
}

// setBlobHeaders sets the headers of every blob answer but its type and
// length.
func (d *Daemon) setBlobHeaders(w http.ResponseWriter, etag string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", BlobCacheControl(d.cfg.CacheMaxAge))
	h.Set("X-Content-Type-Options", "nosniff")
}

// serveBlob answers with blob id: conditional requests, Range, cache and
// content headers. A HEAD fetches the metadata only; its type is the
// request's (see contentType) or application/octet-stream, as no byte is
// read to sniff.
func (d *Daemon) serveBlob(w http.ResponseWriter, r *http.Request, id encoding.BlobID) {
	h := w.Header()
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, id.String()) {
		h.Set("ETag", id.String())
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rq, aerr := parseReadQuery(r.URL.RawQuery)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	strict := rq.Strict
	d.read(w, r, func(ctx context.Context) {
		b, err := d.c.Open(ctx, id, client.ReadOptions{})
		if err != nil {
			writeReadError(d, w, id, err)
			return
		}
		size := b.Size()
		if aerr := d.checkBlobSize(uint64(size)); aerr != nil {
			writeError(w, aerr)
			return
		}
		d.setBlobHeaders(w, id.String())
		h.Set("Accept-Ranges", "bytes")
		p := part{b: b, length: size, strict: strict}
		code := http.StatusOK
		if rng, ok, err := parseRange(r.Header.Get("Range"), size); err != nil {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			writeError(w, newError(http.StatusRequestedRangeNotSatisfiable, ReasonRangeNotSatisfied, fmt.Sprintf("range %q is outside the blob of %d bytes", truncate(r.Header.Get("Range"), 64), size)))
			return
		} else if ok {
			p.start, p.length = rng.Start, rng.Length
			code = http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Start, rng.Start+rng.Length-1, size))
		}
		d.stream(ctx, w, r, code, []part{p})
	})
}

// part is one range of one blob of an answer.
type part struct {
	b             *client.Blob
	start, length int64
	// strict reads the whole blob with encoding.CheckStrict before any of
	// it is sent.
	strict bool
}

// stream answers code with the parts, one after another: Content-Length
// is their sum, Content-Type decided from the first bytes (see
// contentType), the headers written once those bytes are verified. For a
// HEAD it writes the headers only and reads nothing more.
func (d *Daemon) stream(ctx context.Context, w http.ResponseWriter, r *http.Request, code int, parts []part) {
	var total int64
	for _, p := range parts {
		total += p.length
	}
	w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
	hw := &headerWriter{w: w, out: d.pace(w), r: r, code: code, need: int(min(total, sniffLen))}
	if r.Method == http.MethodHead {
		hw.finish()
		return
	}
	for _, p := range parts {
		var err error
		if p.strict {
			err = d.writeStrict(ctx, hw, p)
		} else {
			_, err = p.b.StreamRange(ctx, hw, p.start, p.length)
		}
		if err != nil {
			d.metrics.bytes.WithLabelValues("read").Add(float64(hw.n))
			if !hw.started && !errors.Is(err, errClientGone) {
				writeReadError(d, w, p.b.ID(), err)
				return
			}
			if r.Context().Err() == nil && !errors.Is(err, errClientGone) {
				d.log.Warn("read failed after its headers were sent; aborting the answer", "blob_id", p.b.ID(), "sent", hw.n, "of", total, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
	}
	if err := hw.finish(); err != nil {
		panic(http.ErrAbortHandler)
	}
	d.metrics.bytes.WithLabelValues("read").Add(float64(hw.n))
}

// writeStrict reads p's blob whole with the strict check and writes its
// range.
func (d *Daemon) writeStrict(ctx context.Context, w io.Writer, p part) error {
	blob, err := d.c.ReadBlob(ctx, p.b.ID(), client.ReadOptions{Strict: true, SkipChainCheck: true})
	if err != nil {
		return err
	}
	_, err = w.Write(blob[p.start : p.start+p.length])
	return err
}

// errClientGone wraps a write to the HTTP client that failed.
var errClientGone = errors.New("daemon: the HTTP client went away")

// headerWriter holds back the first need bytes of an answer, so that its
// Content-Type can be decided from them, then writes the headers and
// passes every write through.
type headerWriter struct {
	w       http.ResponseWriter
	out     io.Writer // w, paced (Config.MinSendRate)
	r       *http.Request
	code    int
	need    int
	buf     []byte
	started bool
	n       int64
}

func (hw *headerWriter) Write(p []byte) (int, error) {
	if !hw.started {
		if len(hw.buf)+len(p) < hw.need {
			hw.buf = append(hw.buf, p...)
			return len(p), nil
		}
		held := len(hw.buf)
		sniff := p
		if held > 0 {
			sniff = append(hw.buf, p[:min(len(p), sniffLen)]...)
		}
		hw.begin(sniff)
		hw.buf = nil
		if held > 0 {
			if err := hw.write(sniff[:held]); err != nil {
				return 0, err
			}
		}
	}
	if err := hw.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (hw *headerWriter) write(p []byte) error {
	n, err := hw.out.Write(p)
	hw.n += int64(n)
	if err != nil {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	return nil
}

// finish writes the headers and what was held back, if Write has not.
func (hw *headerWriter) finish() error {
	if hw.started {
		return nil
	}
	buf := hw.buf
	hw.buf = nil
	hw.begin(buf)
	if len(buf) > 0 {
		return hw.write(buf)
	}
	return nil
}

// begin writes the headers, the content type decided from the first bytes
// (none for a HEAD or an empty answer).
func (hw *headerWriter) begin(sniff []byte) {
	hw.started = true
	ContentHeaders(hw.w.Header(), hw.r, sniff)
	hw.w.WriteHeader(hw.code)
}
