package daemon

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Content policy of blob answers. A blob is arbitrary bytes that anyone
// could have stored, served on the aggregator's origin: a stored HTML page
// or SVG image run as a page of that origin could read what the origin's
// other pages keep (cookies, storage) and act as the aggregator. So:
//
//   - A type the request names (its Accept if that names one type without
//     a wildcard, else its Content-Type, as Walrus's aggregator mirrors
//     them) is sent as asked; unless it is on the safe list, the answer
//     also carries Content-Security-Policy: sandbox, so that a page served
//     as text/html runs in an opaque origin, without scripts.
//   - Otherwise the type is sniffed from the blob's first bytes
//     (http.DetectContentType), and kept only if it is on the safe list;
//     anything else is application/octet-stream (a browser downloads it).
//   - Every answer carries X-Content-Type-Options: nosniff (the browser
//     does not sniff on its own) and Vary: Accept, Content-Type (the type
//     depends on them, so caches keep one answer per pair).
//
// The safe list is images (but SVG, which can hold scripts), audio, video,
// PDF and plain text: types a browser displays without running anything on
// the origin.

// SniffLen is how many leading bytes of a blob ContentHeaders looks at
// (http.DetectContentType's limit).
const SniffLen = 512

// OctetStream is the type of a blob whose type is neither asked for nor
// sniffed as safe.
const OctetStream = "application/octet-stream"

// BlobCacheControl is the Cache-Control of blob answers with a max-age of
// maxAge, as Walrus's aggregator sends it (a day, and an hour of
// stale-while-revalidate: a blob can be deleted or expire, so it is not
// immutable, and caches revalidate with the ETag).
func BlobCacheControl(maxAge time.Duration) string {
	return fmt.Sprintf("public, max-age=%d, stale-while-revalidate=3600", int64(maxAge/time.Second))
}

// ContentHeaders sets Content-Type, X-Content-Type-Options, Vary and, when
// the type is not safe, Content-Security-Policy on h for an answer to r
// with a blob starting with head (see the policy above). It may be called
// with the first SniffLen bytes of a streamed blob.
func ContentHeaders(h http.Header, r *http.Request, head []byte) {
	ContentHeadersWith(h, r, "", head)
}

// ContentHeadersWith is ContentHeaders for a blob that declares its own
// type (declared: its content-type attribute, "" if none), as Walrus's
// by-object-id and quilt reads serve it: the type the request asks for
// wins, then the declared one, then the sniffed one. Whichever it is, an
// unsafe type is sandboxed.
func ContentHeadersWith(h http.Header, r *http.Request, declared string, head []byte) {
	ct, asked := requestedType(r)
	declared = strings.TrimSpace(declared)
	switch {
	case asked:
	case declared != "" && validMediaType(declared):
		ct = declared
	case len(head) == 0:
		// Nothing to sniff (a HEAD, or an empty blob).
		ct = OctetStream
	default:
		if len(head) > SniffLen {
			head = head[:SniffLen]
		}
		ct = http.DetectContentType(head)
		if !SafeType(ct) {
			ct = OctetStream
		}
	}
	h.Set("Content-Type", ct)
	h.Add("Vary", "Accept, Content-Type")
	EnforceContentPolicy(h)
}

// EnforceContentPolicy makes the headers of a blob answer safe whatever
// set them (attribute headers included): X-Content-Type-Options: nosniff,
// and Content-Security-Policy: sandbox unless the Content-Type is on the
// safe list or application/octet-stream (a missing type is
// application/octet-stream). A read that copies headers from a blob's
// attributes calls it after them.
func EnforceContentPolicy(h http.Header) {
	ct := h.Get("Content-Type")
	if ct == "" || !validMediaType(ct) {
		ct = OctetStream
		h.Set("Content-Type", ct)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if !SafeType(ct) && ct != OctetStream {
		h.Set("Content-Security-Policy", "sandbox")
	} else {
		h.Del("Content-Security-Policy")
	}
}

// requestedType returns the type r asks for, as Walrus's aggregator
// mirrors it: its Accept if that names no wildcard, else its Content-Type
// (on GET and HEAD). Values that are not a plain media type are ignored.
func requestedType(r *http.Request) (string, bool) {
	if acc := strings.TrimSpace(r.Header.Get("Accept")); acc != "" && !strings.ContainsAny(acc, ",*") && validMediaType(acc) {
		return acc, true
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if ct := strings.TrimSpace(r.Header.Get("Content-Type")); ct != "" && validMediaType(ct) {
			return ct, true
		}
	}
	return "", false
}

// SafeType reports whether a media type (parameters allowed) is on the
// safe list: a browser shows it without running anything on the origin.
func SafeType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	typ, sub, _ := strings.Cut(mt, "/")
	switch typ {
	case "image":
		// SVG is a document with scripts; XML-based image types likewise.
		return !strings.Contains(sub, "svg") && !strings.HasSuffix(sub, "+xml")
	case "audio", "video":
		return true
	case "text":
		return sub == "plain"
	case "application":
		return sub == "pdf" || sub == "ogg"
	}
	return false
}

// validMediaType accepts a type/subtype with optional parameters of
// printable ASCII, so that nothing odd is echoed into a header.
func validMediaType(s string) bool {
	if len(s) > 255 {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	typ, _, _ := strings.Cut(s, ";")
	a, b, ok := strings.Cut(strings.TrimSpace(typ), "/")
	return ok && a != "" && b != "" && !strings.ContainsAny(a+b, " /")
}
