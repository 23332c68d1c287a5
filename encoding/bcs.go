package encoding

import (
	"errors"
	"fmt"
)

// ErrMalformed is returned by the BCS decoders of this package for input
// that is truncated, has trailing bytes, a non-canonical length, or a value
// out of range. Errors of the BCS reader (package encoding/bcs) match
// bcs.ErrMalformed and its class as well.
var ErrMalformed = errors.New("encoding: malformed BCS")

// malformed wraps an error of a bcs.Reader in ErrMalformed; nil stays nil.
func malformed(err error) error {
	if err == nil || errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
