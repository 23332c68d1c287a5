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
// Walrus's.
const ErrorDomain = "daemon.walrus.space"

// Reasons of the ErrorInfo details. They are stable: clients may switch on
// them.
const (
	ReasonInvalidBlobID      = "INVALID_BLOB_ID"
	ReasonInvalidObjectID    = "INVALID_OBJECT_ID"
	ReasonInvalidQuery       = "INVALID_QUERY_PARAMETERS"
	ReasonConflictingOptions = "CONFLICTING_PERSISTENCE_OPTIONS"
	ReasonInvalidEpochs      = "INVALID_EPOCHS"
	ReasonBlobTooLarge       = "BLOB_TOO_LARGE"
	ReasonBodyIncomplete     = "BODY_INCOMPLETE"
	ReasonBlobNotFound       = "BLOB_NOT_FOUND"
	ReasonBlobUnavailable    = "BLOB_UNAVAILABLE"
	ReasonBlobInconsistent   = "BLOB_INCONSISTENT"
	ReasonRangeNotSatisfied  = "RANGE_NOT_SATISFIABLE"
	ReasonTooManyRequests    = "TOO_MANY_REQUESTS"
	ReasonNotEnoughConfirms  = "NOT_ENOUGH_CONFIRMATIONS"
	ReasonInsufficientFunds  = "INSUFFICIENT_FUNDS"
	ReasonTimeout            = "TIMEOUT"
	ReasonNotFound           = "NOT_FOUND"
	ReasonMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	ReasonShuttingDown       = "SHUTTING_DOWN"
	ReasonInternal           = "INTERNAL_ERROR"
)

// ErrorBody is the JSON body of every error response, Walrus's (Google
// API style) status:
//
//	{"error":{"code":404,"status":"NOT_FOUND","message":"...",
//	  "details":[{"@type":"ErrorInfo","reason":"BLOB_NOT_FOUND","domain":"daemon.walrus.space"}]}}
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

// ErrorInfo is one detail of an ErrorStatus.
type ErrorInfo struct {
	Type   string `json:"@type"`
	Reason string `json:"reason"`
	Domain string `json:"domain"`
}

// statusNames are the Google API status names of the HTTP codes the daemon
// sends.
var statusNames = map[int]string{
	http.StatusBadRequest:                   "INVALID_ARGUMENT",
	http.StatusNotFound:                     "NOT_FOUND",
	http.StatusMethodNotAllowed:             "UNIMPLEMENTED",
	http.StatusRequestEntityTooLarge:        "INVALID_ARGUMENT",
	http.StatusRequestedRangeNotSatisfiable: "OUT_OF_RANGE",
	http.StatusTooManyRequests:              "RESOURCE_EXHAUSTED",
	http.StatusInternalServerError:          "INTERNAL",
	http.StatusServiceUnavailable:           "UNAVAILABLE",
	http.StatusGatewayTimeout:               "DEADLINE_EXCEEDED",
	499:                                     "CANCELLED",
}

// apiError is an error answer: code, reason and message.
type apiError struct {
	code    int
	reason  string
	message string
}

func (e *apiError) Error() string { return e.message }

func newError(code int, reason, msg string) *apiError {
	return &apiError{code: code, reason: reason, message: msg}
}

// writeError sends e as an ErrorBody.
func writeError(w http.ResponseWriter, e *apiError) {
	status := statusNames[e.code]
	if status == "" {
		status = "UNKNOWN"
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Cache-Control")
	w.WriteHeader(e.code)
	json.NewEncoder(w).Encode(ErrorBody{Error: ErrorStatus{Code: e.code, Status: status, Message: e.message,
		Details: []ErrorInfo{{Type: "ErrorInfo", Reason: e.reason, Domain: ErrorDomain}}}})
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
		return newError(http.StatusServiceUnavailable, ReasonNotEnoughConfirms, err.Error())
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
