package proofs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/walrus-go/walrus/encoding"
)

// Errors of this package. Each is wrapped with details; test with errors.Is.
var (
	// ErrMalformed is returned by the decoders for bytes that are truncated,
	// have trailing bytes, a non-canonical length, or a value out of range.
	// A response that fails to decode also matches ErrFailed.
	ErrMalformed = errors.New("proofs: malformed BCS")
	// ErrInvalidArgument is returned for parameters that do not fit
	// together: a shard count outside the codec's range, a shard ≥ n, a
	// challenge for another shard count than the codec's.
	ErrInvalidArgument = errors.New("proofs: invalid argument")
	// ErrFailed is returned by Verify when the prover failed its challenge:
	// a proof that does not verify, a symbol of the wrong sliver, a release
	// the challenger does not agree with, an answer to another challenge,
	// or malformed bytes. The error is a *FailedError.
	ErrFailed = errors.New("proofs: challenge failed")
	// ErrChallengeMismatch is part of a failure when the response answers
	// another challenge than the challenger's: another epoch, node or shard,
	// or a blob set that differs (the prover derived other samples).
	ErrChallengeMismatch = errors.New("proofs: response answers another challenge")
	// ErrReleaseRejected is a sample's failure when the prover claims the
	// blob was released and the challenger's view of the chain says it is
	// still live.
	ErrReleaseRejected = errors.New("proofs: release claimed for a blob that is still live")
	// ErrMissing is returned by Prove when the prover cannot prove some
	// samples: it lacks the sliver or the metadata, or its sliver does not
	// match the metadata. The error is a *MissingError naming them, so
	// that the node can recover those slivers and prove again.
	ErrMissing = errors.New("proofs: slivers missing")
)

// SampleError says why one sample of a challenge was not proven.
type SampleError struct {
	// Index is the sample's position in the challenge.
	Index  int
	BlobID encoding.BlobID
	Axis   encoding.Axis
	Err    error
}

func (e SampleError) String() string {
	return fmt.Sprintf("sample %d (blob %s, %s sliver): %v", e.Index, e.BlobID, e.Axis, e.Err)
}

// maxListed bounds how many samples an error message names.
const maxListed = 3

func listSamples(s []SampleError) string {
	var b strings.Builder
	for i, e := range s {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more", len(s)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.String())
	}
	return b.String()
}

// FailedError is Verify's verdict on a response that fails. It matches
// ErrFailed, and whatever its Cause or its samples' errors match
// (ErrMalformed, ErrChallengeMismatch, encoding.ErrInvalidProof).
type FailedError struct {
	Epoch uint32
	Node  [32]byte
	Shard uint16
	// Cause is set when the response as a whole is rejected (malformed,
	// for another challenge); Samples is empty then.
	Cause error
	// Samples are the samples that failed, in order.
	Samples []SampleError
}

func (e *FailedError) Error() string {
	head := fmt.Sprintf("proofs: challenge failed: epoch %d, node %x…, shard %d", e.Epoch, e.Node[:4], e.Shard)
	if e.Cause != nil {
		return head + ": " + e.Cause.Error()
	}
	return fmt.Sprintf("%s: %d samples failed: %s", head, len(e.Samples), listSamples(e.Samples))
}

// Unwrap returns ErrFailed, the cause and the samples' errors.
func (e *FailedError) Unwrap() []error {
	errs := []error{ErrFailed}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	for _, s := range e.Samples {
		errs = append(errs, s.Err)
	}
	return errs
}

// MissingError is Prove's error when samples cannot be proven. It matches
// ErrMissing and whatever its samples' errors match.
type MissingError struct {
	Shard   uint16
	Samples []SampleError
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("proofs: shard %d: %d samples cannot be proven: %s", e.Shard, len(e.Samples), listSamples(e.Samples))
}

// Unwrap returns ErrMissing and the samples' errors.
func (e *MissingError) Unwrap() []error {
	errs := []error{ErrMissing}
	for _, s := range e.Samples {
		errs = append(errs, s.Err)
	}
	return errs
}

func isMalformed(err error) bool { return errors.Is(err, ErrMalformed) }
