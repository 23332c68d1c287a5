package proofs

import (
	"encoding/binary"
	"fmt"
	"io"
)

// This file holds the few BCS primitives the package's layouts need. They
// follow the rules of encoding's reader (canonical ULEB128 of at most 32
// bits, no trailing bytes); the decoders are written out here because proofs
// may import encoding's exported API only.

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

// appendString appends a BCS string: ULEB128(len) ‖ bytes.
func appendString(b []byte, s string) []byte {
	b = appendULEB128(b, uint64(len(s)))
	return append(b, s...)
}

// reader reads BCS values from a byte slice. The first error sticks: later
// reads return zero values and err reports the first failure, always
// wrapping ErrMalformed.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	r.b = nil
}

func (r *reader) bytes(n int, what string) []byte {
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

func (r *reader) u8(what string) uint8 {
	if b := r.bytes(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if b := r.bytes(2, what); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if b := r.bytes(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) array32(what string) (v [32]byte) {
	copy(v[:], r.bytes(32, what))
	return v
}

// uleb reads a canonical ULEB128 that fits in 32 bits, as BCS requires for
// lengths and enum tags.
func (r *reader) uleb(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n, err := parseULEB(r.b)
	if err != nil {
		r.fail("%s: %v", what, err)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// done reports an error if input remains.
func (r *reader) done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%s: %d trailing bytes", what, len(r.b))
	}
	return r.err
}

// errTruncatedULEB is parseULEB's error for input that ends inside a value.
var errTruncatedULEB = fmt.Errorf("truncated ULEB128")

// parseULEB decodes a canonical ULEB128 of at most 32 bits from the start of
// b and returns it with its length.
func parseULEB(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; ; i++ {
		if i >= len(b) {
			return 0, 0, errTruncatedULEB
		}
		c := b[i]
		if i == 4 && c > 0x0f {
			return 0, 0, fmt.Errorf("ULEB128 exceeds 32 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, fmt.Errorf("non-canonical ULEB128")
			}
			return v, i + 1, nil
		}
	}
}

// readULEB reads a canonical 32-bit ULEB128 from r one byte at a time (it
// never reads past the value, so r may be a stream that goes on).
func readULEB(r io.Reader, what string) (uint64, error) {
	var buf [5]byte
	for i := range buf {
		if _, err := io.ReadFull(r, buf[i:i+1]); err != nil {
			return 0, readErr(err, what)
		}
		if buf[i]&0x80 == 0 {
			v, _, err := parseULEB(buf[:i+1])
			if err != nil {
				return 0, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: %s: ULEB128 exceeds 32 bits", ErrMalformed, what)
}

// readFull reads len(b) bytes of what from r.
func readFull(r io.Reader, b []byte, what string) error {
	if _, err := io.ReadFull(r, b); err != nil {
		return readErr(err, what)
	}
	return nil
}

// readErr turns an end of input into ErrMalformed (a response that stops
// early is the sender's fault) and passes other reader errors through.
func readErr(err error, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %s: truncated", ErrMalformed, what)
	}
	return fmt.Errorf("proofs: reading %s: %w", what, err)
}
