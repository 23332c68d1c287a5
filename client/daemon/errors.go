package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
)

// ErrorDomain is the domain of every ErrorInfo the daemon sends, as
// Walrus's (DAEMON_ERROR_DOMAIN); internal errors are in GlobalErrorDomain,
// authentication refusals in JWTErrorDomain.
const ErrorDomain = "daemon.walrus.space"

// GlobalErrorDomain is the domain of INTERNAL_ERROR, as Walrus's.
const GlobalErrorDomain = "global"

// Reasons of the ErrorInfo details. They are stable: clients may switch on
// them. Where Walrus's daemon has the error, the reason and HTTP status are
// its own (in the comment).
const (
	ReasonInvalidBlobID      = "INVALID_BLOB_ID"            // 400
	ReasonInvalidObjectID    = "INVALID_OBJECT_ID"          // 400
	ReasonInvalidQuery       = "INVALID_QUERY_PARAMETERS"   // 400
	ReasonConflictingOptions = "INVALID_BLOB_PERSISTENCE"   // 400: permanent=true&deletable=true, as Walrus
	ReasonInvalidConsistency = "INVALID_CONSISTENCY_CHECK"  // 400: strict and skip consistency checks, as Walrus
	ReasonInvalidEpochs      = "INVALID_EPOCHS"             // 400
	ReasonBlobTooLarge       = "BLOB_TOO_LARGE"             // 413 on a store's body; 403 SIZE_EXCEEDED on a read, as Walrus
	ReasonBodyIncomplete     = "BODY_INCOMPLETE"            // 400: the body ended early
	ReasonBodyTooSlow        = "BODY_TOO_SLOW"              // 400: the body arrived too slowly or stalled
	ReasonBlobNotFound       = "BLOB_NOT_FOUND"             // 404, as Walrus
	ReasonBlobUnavailable    = "BLOB_UNAVAILABLE"           // 503, as Walrus
	ReasonBlobInconsistent   = "BLOB_INCONSISTENT"          // 404
	ReasonRangeNotSatisfied  = "INVALID_BYTE_RANGE"         // 416 RANGE_NOT_SATISFIABLE, as Walrus
	ReasonTooManyRequests    = "TOO_MANY_REQUESTS"          // 429
	ReasonNotEnoughConfirms  = "INSUFFICIENT_CONFIRMATIONS" // 504 DEADLINE_EXCEEDED, as Walrus
	ReasonInsufficientFunds  = "INSUFFICIENT_FUNDS"         // 500
	ReasonTimeout            = "TIMEOUT"                    // 504
	ReasonNotFound           = "NOT_FOUND"                  // 404
	ReasonMethodNotAllowed   = "METHOD_NOT_ALLOWED"         // 405
	ReasonForbiddenOrigin    = "FORBIDDEN_ORIGIN"           // 403: a PUT from an origin the operator did not allow
	ReasonShuttingDown       = "SHUTTING_DOWN"              // 499
	ReasonInternal           = "INTERNAL_ERROR"             // 500, in GlobalErrorDomain, as Walrus
)

// ErrorBody is the JSON body of every error response, Walrus's (AIP-193)
// Status, which Walrus's own client deserializes (its code and status
// must be one of its pairs, and metadata must be present):
//
//	{"error":{"code":404,"status":"NOT_FOUND","message":"...",
//	  "details":[{"@type":"ErrorInfo","reason":"BLOB_NOT_FOUND","domain":"daemon.walrus.space","metadata":{}}]}}
type ErrorBody struct {
	Error ErrorStatus `json:"error"`
}

// ErrorStatus is the error of an ErrorBody.
type ErrorStatus struct {
	Code    int         `json:"code"`
	Status  string      `json:"status"`
	Message string      `json:"message"`
	Details []ErrorInfo `json:"details"`
}

// ErrorInfo is one detail of an ErrorStatus. Metadata is never null.
type ErrorInfo struct {
	Type     string         `json:"@type"`
	Reason   string         `json:"reason"`
	Domain   string         `json:"domain"`
	Metadata map[string]any `json:"metadata"`
}

// statusNames are the status names of the HTTP codes the daemon sends: the
// (code, status) pairs of Walrus's StatusCode where it has one for the
// code. 400 is also FAILED_PRECONDITION (authentication) and 403 also
// SIZE_EXCEEDED (a read over the aggregator's maximum blob size); those
// errors name their status. 405, 413 and 499 have no pair in Walrus's
// list (Walrus itself sends them without a JSON body).
var statusNames = map[int]string{
	http.StatusBadRequest:                   "INVALID_ARGUMENT",
	http.StatusUnauthorized:                 "UNAUTHENTICATED",
	http.StatusForbidden:                    "PERMISSION_DENIED",
	http.StatusNotFound:                     "NOT_FOUND",
	http.StatusMethodNotAllowed:             "UNIMPLEMENTED",
	http.StatusRequestEntityTooLarge:        "SIZE_EXCEEDED",
	http.StatusRequestedRangeNotSatisfiable: "RANGE_NOT_SATISFIABLE",
	http.StatusTooManyRequests:              "RESOURCE_EXHAUSTED",
	http.StatusUnavailableForLegalReasons:   "UNAVAILABLE_FOR_LEGAL_REASONS",
	http.StatusInternalServerError:          "INTERNAL",
	http.StatusServiceUnavailable:           "UNAVAILABLE",
	http.StatusGatewayTimeout:               "DEADLINE_EXCEEDED",
	499:                                     "CANCELLED",
}

// apiError is an error answer: code, status name (empty: statusNames'),
// reason, domain (empty: ErrorDomain) and message.
type apiError struct {
	code                   int
	status, reason, domain string
	message                string
}

func (e *apiError) Error() string { return e.message }

func newError(code int, reason, msg string) *apiError {
	return &apiError{code: code, reason: reason, message: msg}
}

// body returns e as an ErrorBody.
func (e *apiError) body() ErrorBody {
	status, domain := e.status, e.domain
	if status == "" {
		status = statusNames[e.code]
	}
	if status == "" {
		status = "UNKNOWN"
	}
	if domain == "" {
		domain = ErrorDomain
		if e.reason == ReasonInternal {
			domain = GlobalErrorDomain
		}
	}
	return ErrorBody{Error: ErrorStatus{Code: e.code, Status: status, Message: e.message,
		Details: []ErrorInfo{{Type: "ErrorInfo", Reason: e.reason, Domain: domain, Metadata: map[string]any{}}}}}
}

// writeError sends e as an ErrorBody, dropping the headers of a blob
// answer that were set before the error.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for _, k := range []string{"Content-Length", "ETag", "Cache-Control", "Content-Security-Policy"} {
		h.Del(k)
	}
	w.WriteHeader(e.code)
	json.NewEncoder(w).Encode(e.body())
}

// classify maps an error of the client, the chain or the context to an
// answer.
func classify(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, client.ErrBlobInvalid):
		return newError(http.StatusNotFound, ReasonBlobInconsistent, err.Error())
	case errors.Is(err, client.ErrBlobNotFound), errors.Is(err, chain.ErrNotFound):
		return newError(http.StatusNotFound, ReasonBlobNotFound, err.Error())
	case errors.Is(err, client.ErrInconsistentBlob):
		return newError(http.StatusNotFound, ReasonBlobInconsistent, err.Error())
	case errors.Is(err, client.ErrNotEnoughSlivers):
		return newError(http.StatusServiceUnavailable, ReasonBlobUnavailable, err.Error())
	case errors.Is(err, client.ErrQuorumNotReached):
		return newError(http.StatusGatewayTimeout, ReasonNotEnoughConfirms, "the service timed out while waiting for confirmations, please try again: "+err.Error())
	case errors.Is(err, client.ErrBlobTooLarge), errors.Is(err, chain.ErrBlobTooLarge):
		return newError(http.StatusRequestEntityTooLarge, ReasonBlobTooLarge, err.Error())
	case errors.Is(err, chain.ErrTooManyEpochs):
		return newError(http.StatusBadRequest, ReasonInvalidEpochs, err.Error())
	case errors.Is(err, client.ErrInvalidOptions), errors.Is(err, chain.ErrInvalidArgument):
		return newError(http.StatusBadRequest, ReasonInvalidQuery, err.Error())
	case errors.Is(err, chain.ErrInsufficientBalance):
		return newError(http.StatusInternalServerError, ReasonInsufficientFunds, "the publisher's wallet cannot pay for the blob")
	case errors.Is(err, chain.ErrBusy):
		return newError(http.StatusServiceUnavailable, ReasonTooManyRequests, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusGatewayTimeout, ReasonTimeout, "the request timed out")
	case errors.Is(err, context.Canceled):
		return newError(499, ReasonShuttingDown, "the request was cancelled")
	}
	return newError(http.StatusInternalServerError, ReasonInternal, "internal error")
}
