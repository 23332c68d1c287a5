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
// publisher's. Any other is refused (as Walrus's serde
// deny_unknown_fields does).
var storeParams = []string{"epochs", "permanent", "deletable", "send_object_to", "force"}

// maxQueryLen bounds the raw query of a request the daemon parses.
const maxQueryLen = 4096

// storeQuery is a parsed PUT /v1/blobs query.
type storeQuery struct {
	Epochs    uint32
	Deletable bool
	Force     bool
	Owner     chain.Address
}

// parseStoreQuery parses the query of PUT /v1/blobs. A missing epochs is
// defaultEpochs; neither permanent nor deletable means defaultDeletable;
// both set to true is an error, as are unknown or repeated parameters and
// values that do not parse. Boolean values are "true" or "false", as
// Walrus's.
func parseStoreQuery(raw string, defaultEpochs uint32, defaultDeletable bool) (storeQuery, *apiError) {
	bad := func(format string, args ...any) (storeQuery, *apiError) {
		return storeQuery{}, newError(http.StatusBadRequest, ReasonInvalidQuery, "invalid query: "+fmt.Sprintf(format, args...))
	}
	if len(raw) > maxQueryLen {
		return bad("query of %d bytes, at most %d", len(raw), maxQueryLen)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return bad("%v", err)
	}
	q := storeQuery{Epochs: defaultEpochs, Deletable: defaultDeletable}
	var permanent, deletable *bool
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := vals[k]
		if !slices.Contains(storeParams, k) {
			return bad("unknown parameter %q (allowed: %s)", k, strings.Join(storeParams, ", "))
		}
		if len(vs) != 1 {
			return bad("parameter %q given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "epochs":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return storeQuery{}, newError(http.StatusBadRequest, ReasonInvalidEpochs, fmt.Sprintf("invalid query: epochs must be a whole number from 1 to %d, got %q", uint32(math.MaxUint32), v))
			}
			q.Epochs = uint32(n)
		case "permanent", "deletable", "force":
			b, ok := parseBool(v)
			if !ok {
				return bad("%s must be true or false, got %q", k, v)
			}
			switch k {
			case "permanent":
				permanent = &b
			case "deletable":
				deletable = &b
			default:
				q.Force = b
			}
		case "send_object_to":
			a, err := chain.ParseAddress(v)
			if err != nil {
				return bad("send_object_to must be an address (0x and 64 hex digits), got %q", v)
			}
			q.Owner = a
		}
	}
	switch {
	case permanent != nil && deletable != nil && *permanent && *deletable:
		return storeQuery{}, newError(http.StatusBadRequest, ReasonConflictingOptions, "invalid query: permanent and deletable are mutually exclusive")
	case permanent != nil && deletable != nil && !*permanent && !*deletable:
		return storeQuery{}, newError(http.StatusBadRequest, ReasonConflictingOptions, "invalid query: a blob is either permanent or deletable; both are false")
	case deletable != nil:
		q.Deletable = *deletable
	case permanent != nil:
		q.Deletable = !*permanent
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
	return client.StoreOptions{Epochs: q.Epochs, Deletable: q.Deletable, Force: q.Force, Owner: q.Owner}
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
