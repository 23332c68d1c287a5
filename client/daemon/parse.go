package daemon

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
)

// storeParams are the query parameters of PUT /v1/blobs, Walrus's
// publisher's (PublisherQuery). Any other is refused (as Walrus's serde
// deny_unknown_fields does).
var storeParams = []string{"encoding_type", "epochs", "deletable", "permanent", "force",
	"quilt_version", "reuse_resources", "send_object_to", "share"}

// maxQueryLen bounds the raw query of a request the daemon parses.
const maxQueryLen = 4096

// storeQuery is a parsed PUT /v1/blobs query.
type storeQuery struct {
	Epochs    uint32
	Deletable bool
	Force     bool
	Owner     chain.Address
	Share     bool
}

// parseStoreQuery parses the query of PUT /v1/blobs with Walrus's
// meanings:
//
//   - epochs: missing is defaultEpochs.
//   - permanent=true makes a permanent blob; deletable=true a deletable
//     one; both true is INVALID_BLOB_PERSISTENCE. Neither true (absent or
//     false: deletable=false alone changes nothing, since blobs are
//     deletable by default) gives defaultDeletable (true unless the
//     operator changed it), as Walrus's BlobPersistence::from_deletable_and_permanent.
//   - send_object_to sends the blob object to an address; share=true wraps
//     a newly created blob object into a shared blob once certified (the
//     result's newlyCreated.sharedBlobObject names it), which needs a
//     permanent blob: share=true on a deletable one (the default unless
//     permanent=true) is INVALID_BLOB_PERSISTENCE. share=false is the
//     default. Both send_object_to and share is an error, as Walrus's
//     exclusive SendOrShare.
//   - encoding_type: RS2, the only one (Walrus's names).
//   - reuse_resources: accepted; the client always buys fresh storage, which
//     is what Walrus does when it finds nothing to reuse.
//   - quilt_version: V1, v1 or 1; it only matters to PUT /v1/quilts.
//
// Unknown or repeated parameters and values that do not parse are errors.
// Boolean values are "true" or "false", as Walrus's.
func parseStoreQuery(raw string, defaultEpochs uint32, defaultDeletable bool) (storeQuery, *apiError) {
	bad := func(format string, args ...any) (storeQuery, *apiError) {
		return storeQuery{}, newError(http.StatusBadRequest, ReasonInvalidQuery, "invalid query: "+fmt.Sprintf(format, args...))
	}
	vals, aerr := parseQuery(raw, storeParams)
	if aerr != nil {
		return storeQuery{}, aerr
	}
	q := storeQuery{Epochs: defaultEpochs, Deletable: defaultDeletable}
	var permanent, deletable, share bool
	_, hasShare := vals["share"]
	if _, hasSend := vals["send_object_to"]; hasSend && hasShare {
		return bad("send_object_to and share are mutually exclusive")
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := vals[k]
		switch k {
		case "epochs":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return storeQuery{}, newError(http.StatusBadRequest, ReasonInvalidEpochs, fmt.Sprintf("invalid query: epochs must be a whole number from 1 to %d, got %q", uint32(math.MaxUint32), truncate(v, 32)))
			}
			q.Epochs = uint32(n)
		case "permanent", "deletable", "force", "reuse_resources", "share":
			b, ok := parseBool(v)
			if !ok {
				return bad("%s must be true or false, got %q", k, truncate(v, 32))
			}
			switch k {
			case "permanent":
				permanent = b
			case "deletable":
				deletable = b
			case "force":
				q.Force = b
			case "share":
				share = b
			}
		case "send_object_to":
			a, err := chain.ParseAddress(v)
			if err != nil {
				return bad("send_object_to must be an address (0x and 64 hex digits), got %q", truncate(v, 80))
			}
			q.Owner = a
		case "encoding_type":
			if v != "RS2" {
				return bad("encoding_type must be RS2, the only encoding of this network, got %q", truncate(v, 32))
			}
		case "quilt_version":
			if v != "V1" && v != "v1" && v != "1" {
				return bad("quilt_version must be V1, got %q", truncate(v, 32))
			}
		}
	}
	switch {
	case permanent && deletable:
		return storeQuery{}, newError(http.StatusBadRequest, ReasonConflictingOptions, "the blob cannot be defined as both deletable and permanent")
	case permanent:
		q.Deletable = false
	case deletable:
		q.Deletable = true
	}
	if share && q.Deletable {
		return storeQuery{}, newError(http.StatusBadRequest, ReasonConflictingOptions, "deletable blobs cannot be shared: share=true needs permanent=true")
	}
	q.Share = share
	return q, nil
}

// parseQuery parses a raw query whose parameters must be among allowed,
// each given once.
func parseQuery(raw string, allowed []string) (map[string]string, *apiError) {
	bad := func(format string, args ...any) (map[string]string, *apiError) {
		return nil, newError(http.StatusBadRequest, ReasonInvalidQuery, "invalid query: "+fmt.Sprintf(format, args...))
	}
	if len(raw) > maxQueryLen {
		return bad("query of %d bytes, at most %d", len(raw), maxQueryLen)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return bad("%v", err)
	}
	out := make(map[string]string, len(vals))
	for k, vs := range vals {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return bad("unknown parameter %q (this route takes none)", truncate(k, 64))
			}
			return bad("unknown parameter %q (allowed: %s)", truncate(k, 64), strings.Join(allowed, ", "))
		}
		if len(vs) != 1 {
			return bad("parameter %q given %d times", k, len(vs))
		}
		out[k] = vs[0]
	}
	return out, nil
}

// readParams are the query parameters of the blob reads, Walrus's
// ReadOptions.
var readParams = []string{"strict_consistency_check", "skip_consistency_check"}

// readQuery is a parsed blob read query.
type readQuery struct {
	// Strict asks for the strict consistency check. Skip asks to skip
	// it; the default check is then run anyway (it costs little and a
	// reader gets the same bytes as every other), which is what skipping
	// allows.
	Strict, Skip bool
}

// parseReadQuery parses the query of GET /v1/blobs/{blob_id} and
// /v1/blobs/by-object-id/{id}: strict_consistency_check and
// skip_consistency_check (true or false); both true is
// INVALID_CONSISTENCY_CHECK, as Walrus's; anything else is refused.
func parseReadQuery(raw string) (readQuery, *apiError) {
	vals, aerr := parseQuery(raw, readParams)
	if aerr != nil {
		return readQuery{}, aerr
	}
	var q readQuery
	for k, v := range vals {
		b, ok := parseBool(v)
		if !ok {
			return readQuery{}, newError(http.StatusBadRequest, ReasonInvalidQuery, fmt.Sprintf("invalid query: %s must be true or false, got %q", k, truncate(v, 32)))
		}
		if k == "strict_consistency_check" {
			q.Strict = b
		} else {
			q.Skip = b
		}
	}
	if q.Strict && q.Skip {
		return readQuery{}, newError(http.StatusBadRequest, ReasonInvalidConsistency, "cannot set both strict and skip consistency check options")
	}
	return q, nil
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// options returns the client options of q.
func (q storeQuery) options() client.StoreOptions {
	return client.StoreOptions{Epochs: q.Epochs, Deletable: q.Deletable, Force: q.Force, Owner: q.Owner, Share: q.Share}
}

// maxRangeHeaderLen bounds a Range header the daemon parses.
const maxRangeHeaderLen = 256

// byteRange is a satisfiable range [Start, Start+Length) of a blob.
type byteRange struct {
	Start, Length int64
}

// parseRange parses a Range header for a blob of size bytes (RFC 9110
// §14.1.2). It returns ok = false when the header is to be ignored (absent,
// not bytes, malformed, or several ranges: the whole blob is sent, as the
// RFC allows), and err when the single range is unsatisfiable (416).
func parseRange(h string, size int64) (r byteRange, ok bool, err error) {
	if h == "" || len(h) > maxRangeHeaderLen {
		return byteRange{}, false, nil
	}
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found {
		return byteRange{}, false, nil
	}
	spec = strings.TrimSpace(spec)
	if strings.Contains(spec, ",") {
		return byteRange{}, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return byteRange{}, false, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		// Suffix range: the last n bytes.
		n, perr := parseDigits(last)
		if perr != nil {
			return byteRange{}, false, nil
		}
		if n == 0 || size == 0 {
			return byteRange{}, false, errUnsatisfiable
		}
		n = min(n, size)
		return byteRange{Start: size - n, Length: n}, true, nil
	}
	start, perr := parseDigits(first)
	if perr != nil {
		return byteRange{}, false, nil
	}
	end := size - 1
	if last != "" {
		e, perr := parseDigits(last)
		if perr != nil || e < start {
			return byteRange{}, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, false, errUnsatisfiable
	}
	return byteRange{Start: start, Length: end - start + 1}, true, nil
}

var errUnsatisfiable = fmt.Errorf("range not satisfiable")

// parseDigits parses a non-empty run of ASCII digits (no sign) that fits
// an int64.
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, strconv.ErrSyntax
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
