package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/quilt"
)

// The quilt routes, Walrus's:
//
//	PUT  /v1/quilts?epochs=&permanent=&deletable=&send_object_to=&force=&quilt_version=   (publisher)
//	GET  /v1/blobs/by-quilt-patch-id/{quilt_patch_id}                                   (aggregator)
//	GET  /v1/blobs/by-quilt-id/{quilt_id}/{identifier}                                  (aggregator)
//	GET  /v1/quilts/{quilt_id}/patches                                                  (aggregator)
//
// A store takes a multipart/form-data body: each file part's field name is
// its identifier; an optional "_metadata" part holds a JSON array
// [{"identifier":"…","tags":{"k":"v"}}]. It answers a
// client.QuiltStoreResult: {"blobStoreResult":{…},"storedQuiltBlobs":[{
// "identifier","quiltPatchId","range"}]}. A patch is answered with its bytes,
// its identifier in X-Quilt-Patch-Identifier and, as headers, those of its
// tags that ResponseHeaderConfig allows.

// Defaults of QuiltConfig.
const (
	// DefaultMaxQuiltBodySize caps the multipart body of a quilt store.
	// Walrus's default is 100 MiB; ours is the blob store's, so that a
	// quilt store holds no more memory than a blob store.
	DefaultMaxQuiltBodySize = DefaultMaxBodySize
	// DefaultMaxQuiltSize caps the quilt a store builds, in bytes. A quilt
	// can be far larger than its files (one large file beside many small
	// ones makes every column as tall as the large one needs), so the cap
	// is checked before the quilt is allocated: a quilt store then holds at
	// most about twice the memory of a blob store.
	DefaultMaxQuiltSize = 2 * DefaultMaxQuiltBodySize
	// DefaultMaxQuiltParts caps the parts of a quilt store's form.
	DefaultMaxQuiltParts = 1024
	// DefaultMaxQuiltMetadataSize caps the "_metadata" part.
	DefaultMaxQuiltMetadataSize = 1 << 20
)

// MetadataField is the name of the form field holding the patches' tags,
// Walrus's WALRUS_NATIVE_METADATA_FIELD_NAME.
const MetadataField = "_metadata"

// QuiltConfig bounds quilt stores. Zero fields take the defaults above.
type QuiltConfig struct {
	// MaxBodySize caps a quilt store's multipart body, in bytes.
	MaxBodySize int64
	// MaxSize caps the quilt built from it, in bytes.
	MaxSize uint64
	// MaxParts caps the parts of the form (files and _metadata).
	MaxParts int
	// MaxMetadataSize caps the _metadata part, in bytes.
	MaxMetadataSize int64
}

func (c QuiltConfig) withDefaults() QuiltConfig {
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = DefaultMaxQuiltBodySize
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxQuiltSize
	}
	if c.MaxParts <= 0 {
		c.MaxParts = DefaultMaxQuiltParts
	}
	if c.MaxMetadataSize <= 0 {
		c.MaxMetadataSize = DefaultMaxQuiltMetadataSize
	}
	return c
}

// DefaultAllowedHeaders are the blob attribute keys GET
// /v1/blobs/by-object-id answers as headers, Walrus's default allow-list.
var DefaultAllowedHeaders = []string{
	"content-type", "authorization", "content-disposition", "content-encoding",
	"content-language", "content-location", "link",
}

// ResponseHeaderConfig says which blob attributes (by-object-id reads) and
// quilt patch tags (patch reads) are answered as response headers, as
// Walrus's AggregatorResponseHeaderConfig.
type ResponseHeaderConfig struct {
	// AllowedHeaders lists the attribute keys (header names, any case)
	// answered as headers. nil means DefaultAllowedHeaders; an empty,
	// non-nil slice allows none.
	AllowedHeaders []string
	// AllowQuiltPatchTagsInResponse answers every tag of a patch as a
	// header, not only the allowed ones.
	AllowQuiltPatchTagsInResponse bool
}

// forbiddenHeaders are never set from attributes or tags, whatever the
// allow-list: they belong to the transport, the cache, the daemon's
// security headers or CORS.
var forbiddenHeaders = map[string]bool{
	"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true, "Upgrade": true,
	"Trailer": true, "Te": true, "Set-Cookie": true, "Etag": true, "Cache-Control": true, "Content-Range": true,
	"Accept-Ranges": true, "X-Content-Type-Options": true, "Content-Security-Policy": true, "Date": true,
	"Location": true, "Strict-Transport-Security": true, "Vary": true,
}

// maxHeaderValueLen bounds one header value taken from an attribute or tag.
const maxHeaderValueLen = 4096

// attributeHeaders sets on h the pairs allowed (all if allowed is nil),
// skipping forbidden headers, headers already set, and names or values
// that are not valid in HTTP.
func attributeHeaders(h http.Header, pairs []chain.AttributePair, allowed map[string]bool) {
	for _, p := range pairs {
		name := textproto.CanonicalMIMEHeaderKey(p.Key)
		if !validHeaderName(p.Key) || !validHeaderValue(p.Value) || forbiddenHeaders[name] || strings.HasPrefix(name, "Access-Control-") {
			continue
		}
		if allowed != nil && !allowed[name] {
			continue
		}
		if _, set := h[name]; set {
			continue
		}
		h.Set(name, p.Value)
	}
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	if len(s) > maxHeaderValueLen {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func (d *Daemon) allowedHeaders() map[string]bool {
	list := d.cfg.ResponseHeaders.AllowedHeaders
	if list == nil {
		list = DefaultAllowedHeaders
	}
	m := make(map[string]bool, len(list))
	for _, h := range list {
		m[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(h))] = true
	}
	return m
}

// Reasons of the quilt routes.
const (
	ReasonQuiltPatchNotFound = "QUILT_PATCH_NOT_FOUND"
	ReasonInvalidPatchID     = "INVALID_QUILT_PATCH_ID"
	ReasonMalformedRequest   = "MALFORMED_REQUEST"
)

// Errors of quilt form parsing; each is wrapped with details.
var (
	// ErrQuiltForm is a quilt store body that is not a valid form: not
	// multipart/form-data, a broken part, a _metadata part that is not
	// the JSON Walrus defines, or more parts than QuiltConfig.MaxParts.
	ErrQuiltForm = errors.New("daemon: malformed quilt form")
	// ErrQuiltFormTooLarge is a quilt store body over
	// QuiltConfig.MaxBodySize, or a _metadata part over MaxMetadataSize.
	ErrQuiltFormTooLarge = errors.New("daemon: quilt form too large")
)

// quiltPatchMetadata is one entry of the _metadata part.
type quiltPatchMetadata struct {
	Identifier string                     `json:"identifier"`
	Tags       map[string]json.RawMessage `json:"tags"`
}

// parseQuiltForm reads a quilt store's multipart form from body (whose
// Content-Type is contentType) into blobs, in the form's order, with the
// tags _metadata gives them. A tag value that is not a JSON string becomes
// its JSON text, as Walrus's. body must already be bounded by the body
// limit; parts and _metadata are bounded here.
func parseQuiltForm(body io.Reader, contentType string, cfg QuiltConfig) ([]quilt.Blob, error) {
	cw := &closeWatcher{r: body}
	mr, err := multipartReader(cw, contentType)
	if err != nil {
		return nil, err
	}
	var blobs []quilt.Blob
	meta := make(map[string]map[string]string)
	parts := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			// Go's reader takes a body that ends between parts for the
			// end of the form; a truncated body must not lose its last
			// files silently.
			if !cw.seen {
				return nil, fmt.Errorf("%w: the body ends before the form's closing boundary", ErrQuiltForm)
			}
			break
		}
		if err != nil {
			return nil, formError(err)
		}
		if parts++; parts > cfg.MaxParts {
			return nil, fmt.Errorf("%w: more than %d parts", ErrQuiltForm, cfg.MaxParts)
		}
		name := p.FormName()
		if name == MetadataField {
			raw, err := io.ReadAll(io.LimitReader(p, cfg.MaxMetadataSize+1))
			if err != nil {
				return nil, formError(err)
			}
			if int64(len(raw)) > cfg.MaxMetadataSize {
				return nil, fmt.Errorf("%w: the %s part is over %d bytes", ErrQuiltFormTooLarge, MetadataField, cfg.MaxMetadataSize)
			}
			if err := parseQuiltMetadata(raw, meta); err != nil {
				return nil, err
			}
			continue
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(p); err != nil {
			return nil, formError(err)
		}
		blobs = append(blobs, quilt.Blob{Identifier: name, Data: buf.Bytes()})
	}
	for i := range blobs {
		blobs[i].Tags = meta[blobs[i].Identifier]
	}
	return blobs, nil
}

func multipartReader(cw *closeWatcher, contentType string) (*multipart.Reader, error) {
	r := &http.Request{Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(cw)}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: %v (want multipart/form-data)", ErrQuiltForm, err)
	}
	_, params, _ := mime.ParseMediaType(contentType)
	cw.pattern = []byte("\r\n--" + params["boundary"] + "--")
	cw.tail = []byte("\r\n") // the delimiter may open the body
	return mr, nil
}

// closeWatcher passes a multipart body through and records whether its
// closing delimiter (CRLF "--" boundary "--") went by.
type closeWatcher struct {
	r       io.Reader
	pattern []byte
	tail    []byte // the last len(pattern)−1 bytes read
	seen    bool
}

func (c *closeWatcher) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && !c.seen && len(c.pattern) > 0 {
		buf := append(c.tail, p[:n]...)
		c.seen = bytes.Contains(buf, c.pattern)
		keep := min(len(buf), len(c.pattern)-1)
		c.tail = append(c.tail[:0:0], buf[len(buf)-keep:]...)
	}
	return n, err
}

// formError classifies an error reading the form: the body limit, or a
// malformed form.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: over %d bytes", ErrQuiltFormTooLarge, mbe.Limit)
	}
	return fmt.Errorf("%w: %w", ErrQuiltForm, err)
}

// parseQuiltMetadata adds the entries of a _metadata part to meta.
func parseQuiltMetadata(raw []byte, meta map[string]map[string]string) error {
	var entries []quiltPatchMetadata
	if err := json.Unmarshal(raw, &entries); err != nil {
		return fmt.Errorf("%w: the %s part is not a JSON array of {\"identifier\",\"tags\"}: %v", ErrQuiltForm, MetadataField, err)
	}
	for _, e := range entries {
		if _, dup := meta[e.Identifier]; dup {
			return fmt.Errorf("%w: identifier %q appears twice in %s", ErrQuiltForm, truncate(e.Identifier, 64), MetadataField)
		}
		tags := make(map[string]string, len(e.Tags))
		for k, v := range e.Tags {
			var s string
			if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
				tags[k] = s
				continue
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, v); err != nil {
				return fmt.Errorf("%w: tag %q: %v", ErrQuiltForm, truncate(k, 64), err)
			}
			tags[k] = compact.String()
		}
		meta[e.Identifier] = tags
	}
	return nil
}

// quiltVersionParam is the quilt store's own query parameter.
const quiltVersionParam = "quilt_version"

// splitQuiltQuery checks and removes quilt_version (v1, V1 or 1: the
// only version) from a quilt store's raw query, leaving the blob store's
// parameters.
func splitQuiltQuery(raw string) (string, *apiError) {
	if len(raw) > maxQueryLen || !strings.Contains(raw, quiltVersionParam) {
		return raw, nil // parseStoreQuery refuses the long ones
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return raw, nil
	}
	vs, ok := vals[quiltVersionParam]
	if !ok {
		return raw, nil
	}
	if len(vs) != 1 || (vs[0] != "v1" && vs[0] != "V1" && vs[0] != "1") {
		return "", newError(http.StatusBadRequest, ReasonInvalidQuery, fmt.Sprintf("invalid query: quilt_version must be v1, V1 or 1, got %q", truncate(strings.Join(vs, ","), 32)))
	}
	delete(vals, quiltVersionParam)
	return vals.Encode(), nil
}

// handleStoreQuilt serves PUT /v1/quilts.
func (d *Daemon) handleStoreQuilt(w http.ResponseWriter, r *http.Request) {
	qc := d.cfg.Quilt.withDefaults()
	raw, aerr := splitQuiltQuery(r.URL.RawQuery)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	q, aerr := parseStoreQuery(raw, d.cfg.DefaultEpochs, *d.cfg.DefaultDeletable)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if r.ContentLength > qc.MaxBodySize {
		writeError(w, tooLarge(r.ContentLength, qc.MaxBodySize))
		return
	}
	d.metrics.inflight.WithLabelValues("store").Inc()
	defer d.metrics.inflight.WithLabelValues("store").Dec()
	release, ok := d.stores.acquire(r.Context())
	if !ok {
		writeError(w, newError(http.StatusTooManyRequests, ReasonTooManyRequests, "too many stores in progress; retry later"))
		return
	}
	defer release()

	bctx, cancel := context.WithTimeout(r.Context(), d.cfg.BodyTimeout)
	defer cancel()
	stop := context.AfterFunc(bctx, func() { r.Body.Close() })
	blobs, err := parseQuiltForm(http.MaxBytesReader(w, r.Body, qc.MaxBodySize), r.Header.Get("Content-Type"), qc)
	stop()
	switch {
	case errors.Is(err, ErrQuiltFormTooLarge):
		writeError(w, newError(http.StatusRequestEntityTooLarge, ReasonBlobTooLarge, err.Error()))
		return
	case err != nil && bctx.Err() != nil && r.Context().Err() == nil:
		writeError(w, newError(http.StatusBadRequest, ReasonBodyIncomplete, "the body did not arrive within the body timeout"))
		return
	case err != nil:
		writeError(w, newError(http.StatusBadRequest, ReasonMalformedRequest, "failed to parse multipart form: "+err.Error()))
		return
	case len(blobs) == 0:
		writeError(w, newError(http.StatusBadRequest, ReasonMalformedRequest, "no files provided in multipart form"))
		return
	}
	sctx, scancel := context.WithTimeout(d.ctx, d.cfg.StoreTimeout)
	defer scancel()
	res, err := d.c.StoreQuilt(sctx, blobs, q.options(), quilt.WithMaxSize(qc.MaxSize))
	if err != nil {
		ae := classifyQuilt(err)
		if ae.code >= 500 {
			d.log.Warn("quilt store failed", "files", len(blobs), "err", err)
		}
		writeError(w, ae)
		return
	}
	var size int
	for _, b := range blobs {
		size += len(b.Data)
	}
	d.metrics.bytes.WithLabelValues("stored").Add(float64(size))
	d.log.Debug("quilt stored", "quilt_id", res.BlobStoreResult.BlobID(), "files", len(blobs))
	writeJSON(w, http.StatusOK, res)
}

// classifyQuilt maps quilt errors, then the others (classify).
func classifyQuilt(err error) *apiError {
	switch {
	case errors.Is(err, quilt.ErrTooLarge):
		return newError(http.StatusRequestEntityTooLarge, ReasonBlobTooLarge, err.Error())
	case errors.Is(err, quilt.ErrNoBlobs), errors.Is(err, quilt.ErrTooManyBlobs), errors.Is(err, quilt.ErrInvalidIdentifier),
		errors.Is(err, quilt.ErrDuplicateIdentifier), errors.Is(err, quilt.ErrInvalidTags):
		return newError(http.StatusBadRequest, ReasonMalformedRequest, "failed to construct quilt: "+err.Error())
	case errors.Is(err, quilt.ErrNotFound), errors.Is(err, quilt.ErrInvalidPatchID), errors.Is(err, client.ErrNotQuilt),
		errors.Is(err, quilt.ErrMalformed), errors.Is(err, quilt.ErrVersion):
		return newError(http.StatusNotFound, ReasonQuiltPatchNotFound, "the requested quilt patch does not exist on Walrus: "+err.Error())
	}
	return classify(err)
}

// handleReadQuiltPatch serves GET /v1/blobs/by-quilt-patch-id/{quilt_patch_id}.
func (d *Daemon) handleReadQuiltPatch(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("quilt_patch_id")
	id, err := quilt.ParseQuiltPatchID(raw)
	if err != nil {
		writeError(w, newError(http.StatusBadRequest, ReasonInvalidPatchID, fmt.Sprintf("invalid quilt patch ID %q: %v", truncate(raw, 64), err)))
		return
	}
	if d.notModified(w, r, id.String()) {
		return
	}
	d.read(w, r, func(ctx context.Context) {
		b, err := d.c.ReadQuiltPatch(ctx, id, client.ReadOptions{})
		if err != nil {
			d.quiltReadError(w, err, "quilt_patch_id", id.String())
			return
		}
		d.servePatch(w, r, b, id.String())
	})
}

// handleReadQuiltBlob serves GET /v1/blobs/by-quilt-id/{quilt_id}/{identifier}.
func (d *Daemon) handleReadQuiltBlob(w http.ResponseWriter, r *http.Request) {
	qid, aerr := quiltIDParam(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	ident := r.PathValue("identifier")
	d.read(w, r, func(ctx context.Context) {
		b, pid, err := d.c.ReadQuiltBlob(ctx, qid, ident, client.ReadOptions{})
		if err != nil {
			d.quiltReadError(w, err, "quilt_id", qid.String())
			return
		}
		d.servePatch(w, r, b, quilt.QuiltPatchID{QuiltID: qid, Patch: pid}.String())
	})
}

// handleListQuiltPatches serves GET /v1/quilts/{quilt_id}/patches.
func (d *Daemon) handleListQuiltPatches(w http.ResponseWriter, r *http.Request) {
	qid, aerr := quiltIDParam(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	d.read(w, r, func(ctx context.Context) {
		ix, err := d.c.QuiltIndex(ctx, qid, client.ReadOptions{})
		if err != nil {
			d.quiltReadError(w, err, "quilt_id", qid.String())
			return
		}
		writeJSON(w, http.StatusOK, client.PatchItems(qid, ix))
	})
}

func quiltIDParam(r *http.Request) (encoding.BlobID, *apiError) {
	raw := r.PathValue("quilt_id")
	id, err := encoding.ParseBlobID(raw)
	if err != nil {
		return id, newError(http.StatusBadRequest, ReasonInvalidBlobID, fmt.Sprintf("invalid quilt ID %q: %v", truncate(raw, 64), err))
	}
	return id, nil
}

func (d *Daemon) quiltReadError(w http.ResponseWriter, err error, key, id string) {
	ae := classifyQuilt(err)
	if ae.code >= 500 {
		d.log.Warn("quilt read failed", key, id, "err", err)
	}
	writeError(w, ae)
}

// notModified answers 304 to a request whose If-None-Match names etag.
func (d *Daemon) notModified(w http.ResponseWriter, r *http.Request, etag string) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// servePatch answers with a patch: its bytes, X-Quilt-Patch-Identifier,
// its allowed tags as headers, and the cache and content headers of blobs.
// The ETag is the quilt patch ID (Walrus sends the quilt ID, the same for
// every patch of a quilt).
func (d *Daemon) servePatch(w http.ResponseWriter, r *http.Request, b quilt.Blob, etag string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", BlobCacheControl(d.cfg.CacheMaxAge))
	var allowed map[string]bool
	if !d.cfg.ResponseHeaders.AllowQuiltPatchTagsInResponse {
		allowed = d.allowedHeaders()
	}
	attributeHeaders(h, tagPairs(b.Tags), allowed)
	tagType := h.Get("Content-Type")
	ContentHeaders(h, r, b.Data)
	if _, asked := requestedType(r); !asked && tagType != "" && validMediaType(tagType) {
		h.Set("Content-Type", tagType)
		if !SafeType(tagType) && tagType != OctetStream {
			h.Set("Content-Security-Policy", "sandbox")
		}
	}
	if validHeaderValue(b.Identifier) {
		h.Set("X-Quilt-Patch-Identifier", b.Identifier)
	}
	h.Set("Content-Length", strconv.Itoa(len(b.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		n, _ := d.pace(w).Write(b.Data)
		d.metrics.bytes.WithLabelValues("read").Add(float64(n))
	}
}

// tagPairs returns tags as attribute pairs, sorted by key.
func tagPairs(tags map[string]string) []chain.AttributePair {
	out := make([]chain.AttributePair, 0, len(tags))
	for k, v := range tags {
		out = append(out, chain.AttributePair{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b chain.AttributePair) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// withAttributeHeaders wraps the by-object-id read, as Walrus's
// get_blob_by_object_id: when it answers with success, the blob object's
// attribute pairs on the allow-list (ResponseHeaderConfig) become headers,
// never replacing one the read set, except that an allowed content-type
// attribute replaces a sniffed Content-Type (not one the request asked
// for). An attribute that cannot be read leaves the answer as it is.
func (d *Daemon) withAttributeHeaders(h func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		oid, err := chain.ParseObjectID(r.PathValue("object_id"))
		if err != nil {
			h(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d.cfg.ReadTimeout)
		attr, err := d.c.BlobAttribute(ctx, oid)
		if errors.Is(err, chain.ErrNotFound) {
			// A shared blob: the attribute of the blob it wraps.
			if sb, serr := d.c.SharedBlob(ctx, oid); serr == nil {
				attr, err = d.c.BlobAttribute(ctx, sb.Blob.ID)
			}
		}
		cancel()
		if err != nil || attr == nil || len(attr.Pairs) == 0 {
			if err != nil && !errors.Is(err, chain.ErrNotFound) && !errors.Is(err, chain.ErrAttributesUnsupported) {
				d.log.Debug("reading a blob attribute failed", "object_id", oid, "err", err)
			}
			h(w, r)
			return
		}
		_, asked := requestedType(r)
		aw := &attrWriter{ResponseWriter: w, pairs: attr.Pairs, allowed: d.allowedHeaders(), typeRequested: asked}
		h(aw, r)
	}
}

// attrWriter adds attribute headers to a successful answer.
type attrWriter struct {
	http.ResponseWriter
	pairs         []chain.AttributePair
	allowed       map[string]bool
	typeRequested bool
	wrote         bool
}

func (w *attrWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code >= 200 && code < 300 || code == http.StatusNotModified {
			h := w.Header()
			if !w.typeRequested && w.allowed["Content-Type"] {
				for _, p := range w.pairs {
					if textproto.CanonicalMIMEHeaderKey(p.Key) == "Content-Type" && validMediaType(p.Value) {
						h.Set("Content-Type", p.Value)
					}
				}
			}
			attributeHeaders(h, w.pairs, w.allowed)
			if ct := h.Get("Content-Type"); ct != "" && !SafeType(ct) && ct != OctetStream {
				h.Set("Content-Security-Policy", "sandbox")
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *attrWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends the headers (with the attributes) and flushes.
func (w *attrWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *attrWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
