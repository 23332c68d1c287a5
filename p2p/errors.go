package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/walrus-go/walrus/encoding"
)

// Errors a handler returns, and that a Client's callers see when a peer
// answers with them. A Server sends each as its ErrorCode; the Client turns
// the code back into an error that matches the same sentinel with errors.Is.
var (
	// ErrNotFound means the node has no such blob, metadata or sliver.
	ErrNotFound = errors.New("p2p: not found")
	// ErrNotAssigned means the node does not hold the shard a sliver
	// belongs to.
	ErrNotAssigned = errors.New("p2p: shard not assigned to this node")
	// ErrNotRegistered means the blob is not registered on chain (yet), or
	// has expired or been deleted.
	ErrNotRegistered = errors.New("p2p: blob not registered")
	// ErrInvalid means the request is malformed or fails verification: a
	// truncated frame, bad BCS, metadata that does not hash to the blob ID,
	// a sliver that does not match its hash. Encoding's verification errors
	// (encoding.ErrInvalidSliver, ErrMetadataMismatch, ErrInvalidProof,
	// ErrMalformed) returned by a handler are sent as ErrInvalid too.
	ErrInvalid = errors.New("p2p: invalid request")
	// ErrTooLarge means a frame or a request exceeds a limit of this package
	// (MaxSliverFrameSize, MaxSliversPerRequest, ...).
	ErrTooLarge = errors.New("p2p: too large")
	// ErrBusy means the node is at a concurrency or memory limit; retry
	// later.
	ErrBusy = errors.New("p2p: busy")
	// ErrInternal means the node failed for a reason of its own. Its details
	// stay in the node's log.
	ErrInternal = errors.New("p2p: internal error")
)

// Errors of the transport, seen by a Client's callers.
var (
	// ErrUnavailable means the peer could not be reached or dropped the
	// stream: no address, dial failure, reset.
	ErrUnavailable = errors.New("p2p: peer unavailable")
	// ErrNotSupported means the peer was reached but does not serve the
	// protocol (an optional one, such as symbols/get, or a newer version).
	// It comes with ErrUnavailable: the peer cannot answer the request.
	ErrNotSupported = errors.New("p2p: protocol not supported by peer")
	// ErrTimeout means the exchange did not finish before its deadline (the
	// Client's timeout or the context's deadline, whichever came first).
	// When the context's deadline expired, the error also matches
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("p2p: timeout")
	// ErrProtocol means the peer answered something this package rejects:
	// an oversized or truncated frame, bad BCS, a sliver other than the one
	// asked for, metadata for another blob. It wraps the framing error
	// (ErrFrameTooLarge, ErrTruncated, ErrMalformed) where there is one.
	ErrProtocol = errors.New("p2p: protocol violation by peer")
)

// Errors of the framing layer. A Server answers them with ErrTooLarge
// (ErrFrameTooLarge) or ErrInvalid (the others); a Client wraps them in
// ErrProtocol.
var (
	// ErrFrameTooLarge is returned for a frame whose length prefix exceeds
	// the cap of its place in the protocol. Nothing of it is allocated.
	ErrFrameTooLarge = errors.New("p2p: frame too large")
	// ErrTruncated is returned when a stream ends inside a frame, or before
	// a frame the protocol requires.
	ErrTruncated = errors.New("p2p: truncated stream")
	// ErrMalformed is returned for a frame whose length prefix or payload
	// does not decode: a non-minimal varint, bad or non-canonical BCS,
	// trailing bytes, a value out of range.
	ErrMalformed = errors.New("p2p: malformed frame")
)

// ErrorCode is the code of an error response. Its values are part of the wire
// format.
type ErrorCode uint8

// Error codes. Zero is not a valid code on the wire.
const (
	CodeNotFound      ErrorCode = 1
	CodeNotAssigned   ErrorCode = 2
	CodeNotRegistered ErrorCode = 3
	CodeInvalid       ErrorCode = 4
	CodeTooLarge      ErrorCode = 5
	CodeBusy          ErrorCode = 6
	CodeInternal      ErrorCode = 7
)

// sentinel returns the error a code stands for. Codes this version does not
// know (a newer peer's) stand for ErrInternal.
func (c ErrorCode) sentinel() error {
	switch c {
	case CodeNotFound:
		return ErrNotFound
	case CodeNotAssigned:
		return ErrNotAssigned
	case CodeNotRegistered:
		return ErrNotRegistered
	case CodeInvalid:
		return ErrInvalid
	case CodeTooLarge:
		return ErrTooLarge
	case CodeBusy:
		return ErrBusy
	default:
		return ErrInternal
	}
}

// String returns the code's name.
func (c ErrorCode) String() string {
	switch c {
	case CodeNotFound:
		return "not_found"
	case CodeNotAssigned:
		return "not_assigned"
	case CodeNotRegistered:
		return "not_registered"
	case CodeInvalid:
		return "invalid"
	case CodeTooLarge:
		return "too_large"
	case CodeBusy:
		return "busy"
	case CodeInternal:
		return "internal"
	default:
		return fmt.Sprintf("code_%d", uint8(c))
	}
}

// codeOf maps an error to the code a Server sends for it. It reports false
// for an error that is none of the typed ones (sent as CodeInternal, with a
// generic message).
func codeOf(err error) (ErrorCode, bool) {
	switch {
	case errors.Is(err, ErrNotFound):
		return CodeNotFound, true
	case errors.Is(err, ErrNotAssigned):
		return CodeNotAssigned, true
	case errors.Is(err, ErrNotRegistered):
		return CodeNotRegistered, true
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrTruncated), errors.Is(err, ErrMalformed),
		errors.Is(err, encoding.ErrInvalidSliver), errors.Is(err, encoding.ErrMetadataMismatch),
		errors.Is(err, encoding.ErrInvalidProof), errors.Is(err, encoding.ErrMalformed),
		errors.Is(err, encoding.ErrInvalidBlobID):
		return CodeInvalid, true
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrFrameTooLarge):
		return CodeTooLarge, true
	case errors.Is(err, ErrBusy), errors.Is(err, network.ErrResourceLimitExceeded):
		return CodeBusy, true
	case errors.Is(err, ErrInternal):
		return CodeInternal, true
	}
	return CodeInternal, false
}

// RemoteError is an error response from a peer. It matches the sentinel of
// its code (ErrNotFound, ..., ErrInternal) with errors.Is.
type RemoteError struct {
	Code    ErrorCode
	Message string // the peer's message; informative only
}

// Error returns the sentinel's text and the peer's message.
func (e *RemoteError) Error() string {
	if e.Message == "" {
		return e.Code.sentinel().Error() + " (remote)"
	}
	return fmt.Sprintf("%v (remote: %s)", e.Code.sentinel(), e.Message)
}

// Is makes errors.Is(err, sentinel) true for the sentinel of e's code.
func (e *RemoteError) Is(target error) bool { return target == e.Code.sentinel() }

// RequestError is what a Client's methods return: the failure of one request
// to one peer. Err says what went wrong and matches the sentinels of this
// package (and context.Canceled or context.DeadlineExceeded when the
// caller's context ended the request).
type RequestError struct {
	Peer     peer.ID
	Protocol protocol.ID
	Err      error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("p2p: %s to %s: %v", e.Protocol, e.Peer, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// SliverError reports one sliver of a request that a peer refused to store
// or could not serve. Err matches the sentinel of the peer's code.
type SliverError struct {
	Axis  encoding.Axis
	Index uint16
	Err   error
}

func (e *SliverError) Error() string {
	return fmt.Sprintf("p2p: %s sliver %d: %v", e.Axis, e.Index, e.Err)
}

func (e *SliverError) Unwrap() error { return e.Err }

// truncateMessage cuts s to at most n bytes without splitting a UTF-8
// sequence, and replaces invalid UTF-8 (BCS strings are UTF-8).
func truncateMessage(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// wireErrorFor builds the error response for err: its code, and its message
// unless the error is not one of ours (an internal failure's text stays in
// the node's log).
func wireErrorFor(err error, maxMsg int) wireError {
	code, typed := codeOf(err)
	msg := "internal error"
	if typed {
		msg = err.Error()
	}
	return wireError{Code: uint8(code), Message: bcsString(truncateMessage(msg, maxMsg))}
}

// isTimeout reports whether err is a deadline expiry of a stream.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classify translates an error of a client-side exchange into this package's
// vocabulary. ctx is the caller's context; ctxBound reports that its deadline
// was the stream's (the stream's timer may fire a moment before the
// context's).
func classify(ctx context.Context, ctxBound bool, err error) error {
	var re *RemoteError
	switch {
	case errors.As(err, &re):
		return err
	case errors.Is(ctx.Err(), context.DeadlineExceeded), ctxBound && isTimeout(err):
		return fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrProtocol), errors.Is(err, ErrUnavailable), errors.Is(err, ErrTimeout),
		errors.Is(err, ErrBusy), errors.Is(err, ErrTooLarge), errors.Is(err, ErrInvalid):
		return err
	case errors.Is(err, ErrFrameTooLarge), errors.Is(err, ErrTruncated), errors.Is(err, ErrMalformed):
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	case isTimeout(err):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, network.ErrResourceLimitExceeded),
		errors.Is(err, &network.StreamError{ErrorCode: network.StreamResourceLimitExceeded, Remote: true}):
		return fmt.Errorf("%w: %v", ErrBusy, err)
	default:
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
}
