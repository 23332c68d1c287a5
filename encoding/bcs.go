package encoding

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is returned by the BCS decoders of this package for input
// that is truncated, has trailing bytes, a non-canonical length, or a value
// out of range.
var ErrMalformed = errors.New("encoding: malformed BCS")

// appendULEB128 appends v in BCS's ULEB128 form.
func appendULEB128(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// ulebLen is the length of v's ULEB128 form.
func ulebLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// bcsReader reads BCS values from a byte slice. The first error sticks: later
// reads return zero values, and err reports the first failure.
type bcsReader struct {
	b   []byte
	err error
}

func (r *bcsReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	r.b = nil
}

func (r *bcsReader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("%s: need %d bytes, have %d", what, n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *bcsReader) u8(what string) uint8 {
	b := r.bytes(1, what)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *bcsReader) u16(what string) uint16 {
	b := r.bytes(2, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *bcsReader) u64(what string) uint64 {
	b := r.bytes(8, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// uleb reads a canonical ULEB128 that fits in 32 bits, as BCS requires for
// lengths and enum tags.
func (r *bcsReader) uleb(what string) uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for i := 0; ; i++ {
		if i >= len(r.b) {
			r.fail("%s: truncated ULEB128", what)
			return 0
		}
		c := r.b[i]
		if i == 4 && c > 0x0f {
			r.fail("%s: ULEB128 exceeds 32 bits", what)
			return 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				r.fail("%s: non-canonical ULEB128", what)
				return 0
			}
			r.b = r.b[i+1:]
			return v
		}
	}
}

// done reports an error if input remains.
func (r *bcsReader) done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%s: %d trailing bytes", what, len(r.b))
	}
	return r.err
}
