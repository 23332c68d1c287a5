package bcs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Limits of the format.
const (
	// MaxSequenceLength is the most elements a BCS sequence holds: 2^31−1,
	// as in Rust's bcs crate (MAX_SEQUENCE_LENGTH).
	MaxSequenceLength = 1<<31 - 1
	// MaxULEB128Len is the longest ULEB128 BCS allows: 5 bytes hold 2^32−1.
	MaxULEB128Len = 5
)

// ErrMalformed is matched by every error of this package: input that is not
// the one BCS encoding of a value of the expected type.
var ErrMalformed = errors.New("bcs: malformed")

// The classes of ErrMalformed. An *Error matches exactly one of them.
var (
	// ErrTruncated means the input ends inside a value, or holds fewer
	// bytes than a length says follow.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrMalformed)
	// ErrTrailing means bytes follow the value (Done).
	ErrTrailing = fmt.Errorf("%w: trailing bytes", ErrMalformed)
	// ErrNonCanonical means a ULEB128 takes more bytes than its value
	// needs.
	ErrNonCanonical = fmt.Errorf("%w: non-canonical", ErrMalformed)
	// ErrTooLarge means a ULEB128 over 2^32−1, or a length over the
	// caller's cap or MaxSequenceLength.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrMalformed)
	// ErrInvalid means a value its type does not allow: a bool or option
	// tag other than 0 and 1, an unknown enum variant, a string that is not
	// UTF-8, or what a caller rejects with Reader.Fail.
	ErrInvalid = fmt.Errorf("%w: invalid value", ErrMalformed)
)

// Error is a decoding failure: which field, where, and why.
type Error struct {
	// Field is what was being read, as the caller named it; empty for
	// trailing bytes.
	Field string
	// Offset is where in the input the field starts.
	Offset int
	// Err is the class: ErrTruncated, ErrTrailing, ErrNonCanonical,
	// ErrTooLarge or ErrInvalid.
	Err error
	// Detail says what was wrong, e.g. "need 4 bytes, have 2".
	Detail string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("bcs: %s (at byte %d)", e.Detail, e.Offset)
	}
	return fmt.Sprintf("bcs: %s: %s (at byte %d)", e.Field, e.Detail, e.Offset)
}

// Unwrap returns the class, which wraps ErrMalformed.
func (e *Error) Unwrap() error { return e.Err }

// Reader reads BCS values from a byte slice; see the package doc. The slices
// it returns alias the input. A Reader is not safe for concurrent use.
type Reader struct {
	b   []byte
	off int
	err *Error
}

// NewReader returns a Reader of b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error, or nil.
func (r *Reader) Err() error {
	if r.err == nil {
		return nil // not a typed nil
	}
	return r.err
}

// Offset is the number of bytes read so far.
func (r *Reader) Offset() int { return r.off }

// Remaining is the number of bytes left to read; 0 after an error.
func (r *Reader) Remaining() int {
	if r.err != nil {
		return 0
	}
	return len(r.b) - r.off
}

// Done returns the first error, or ErrTrailing if input remains: call it once
// the value is read.
func (r *Reader) Done() error {
	if r.err == nil && r.off < len(r.b) {
		r.failAt(r.off, "", ErrTrailing, "%d trailing bytes", len(r.b)-r.off)
	}
	return r.Err()
}

// Fail records that field, just read, holds a value the caller rejects (a
// version or a count out of range): an ErrInvalid error at the current
// offset, unless an error is already recorded.
func (r *Reader) Fail(field, format string, args ...any) {
	r.failAt(r.off, field, ErrInvalid, format, args...)
}

func (r *Reader) failAt(off int, field string, class error, format string, args ...any) {
	if r.err == nil {
		r.err = &Error{Field: field, Offset: off, Err: class, Detail: fmt.Sprintf(format, args...)}
	}
}

// Fixed reads n raw bytes: a fixed-size array, or the elements of a sequence
// of fixed-size values. The result aliases the input (and is nil after an
// error); n is checked against the input before anything is read.
func (r *Reader) Fixed(field string, n int) []byte {
	if !r.Need(field, n) {
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

// Need reports whether n more bytes are left, failing with ErrTruncated if
// not; it reads nothing. A decoder of a sequence of fixed-size elements
// calls it with count·size before it allocates for them.
func (r *Reader) Need(field string, n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > len(r.b)-r.off {
		r.failAt(r.off, field, ErrTruncated, "need %d bytes, have %d", n, len(r.b)-r.off)
		return false
	}
	return true
}

// U8 reads a u8.
func (r *Reader) U8(field string) uint8 {
	if b := r.Fixed(field, 1); b != nil {
		return b[0]
	}
	return 0
}

// U16 reads a u16.
func (r *Reader) U16(field string) uint16 {
	if b := r.Fixed(field, 2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

// U32 reads a u32.
func (r *Reader) U32(field string) uint32 {
	if b := r.Fixed(field, 4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// U64 reads a u64.
func (r *Reader) U64(field string) uint64 {
	if b := r.Fixed(field, 8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// Bool reads a bool: 0x00 or 0x01.
func (r *Reader) Bool(field string) bool { return r.flag(field, "a bool") }

// Option reads an option's tag, 0x00 (none) or 0x01 (some, the value
// follows), and reports whether the value follows.
func (r *Reader) Option(field string) bool { return r.flag(field, "an option tag") }

func (r *Reader) flag(field, what string) bool {
	off := r.off
	v := r.U8(field)
	if v > 1 {
		r.failAt(off, field, ErrInvalid, "%d is not %s", v, what)
		return false
	}
	return v == 1
}

// ULEB128 reads a canonical ULEB128 of at most 2^32−1.
func (r *Reader) ULEB128(field string) uint32 {
	if r.err != nil {
		return 0
	}
	if r.off < len(r.b) && r.b[r.off] < 0x80 { // one byte: the common case
		r.off++
		return uint32(r.b[r.off-1])
	}
	v, n, err := parseULEB128(r.b[r.off:])
	if err != nil {
		r.failAt(r.off, field, err.class, "%s", err.detail)
		return 0
	}
	r.off += n
	return v
}

// Variant reads an enum's variant index, which must be below n (the
// variants the caller knows).
func (r *Reader) Variant(field string, n int) int {
	off := r.off
	v := r.ULEB128(field)
	if r.err == nil && uint64(v) >= uint64(max(n, 0)) {
		r.failAt(off, field, ErrInvalid, "variant %d of %d", v, n)
		return 0
	}
	return int(v)
}

// Length reads the length of a sequence of at most limit elements, each of
// at least one byte. It fails with ErrTooLarge over limit (or
// MaxSequenceLength) and with ErrTruncated over the bytes left, so the
// result is safe to allocate from: at most limit, and at most Remaining. A sequence of
// fixed-size elements still needs Fixed(field, n·size) to check its bytes.
func (r *Reader) Length(field string, limit int) int {
	off := r.off
	v := r.ULEB128(field)
	switch {
	case r.err != nil:
		return 0
	case uint64(v) > uint64(max(limit, 0)):
		r.failAt(off, field, ErrTooLarge, "%d exceeds %d", v, limit)
	case v > MaxSequenceLength:
		r.failAt(off, field, ErrTooLarge, "%d exceeds MaxSequenceLength", v)
	case uint64(v) > uint64(len(r.b)-r.off):
		r.failAt(off, field, ErrTruncated, "length %d, %d bytes left", v, len(r.b)-r.off)
	default:
		return int(v)
	}
	return 0
}

// Bytes reads a byte string (vector<u8>) of at most limit bytes. The result
// aliases the input; it is empty, not nil, for a zero length.
func (r *Reader) Bytes(field string, limit int) []byte {
	return r.Fixed(field, r.Length(field, limit))
}

// String reads a UTF-8 string of at most limit bytes.
func (r *Reader) String(field string, limit int) string {
	off := r.off
	b := r.Bytes(field, limit)
	if r.err == nil && !utf8.Valid(b) {
		r.failAt(off, field, ErrInvalid, "string is not UTF-8")
		return ""
	}
	return string(b)
}

// Read implements io.Reader over the input left, for a reflecting BCS
// library. A read that the input left cannot fill reads nothing and fails
// with ErrTruncated, which sticks like any other error.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) > len(r.b)-r.off {
		r.failAt(r.off, "value", ErrTruncated, "need %d bytes, have %d", len(p), len(r.b)-r.off)
		return 0, r.err
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// ReadULEB128 reads a canonical ULEB128 of at most 2^32−1 from a stream, as
// Reader.ULEB128 does from a slice: it reads no byte past the value (nor past
// the first byte that makes it too large). A stream that ends before the
// first byte returns io.EOF; one that ends inside the value, ErrTruncated;
// other read errors are returned as they are.
func ReadULEB128(r io.ByteReader) (uint32, error) {
	var buf [MaxULEB128Len]byte
	for i := range buf {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if i == 0 {
					return 0, io.EOF
				}
				return 0, &Error{Field: "ULEB128", Err: ErrTruncated, Detail: "bad ULEB128: input ends inside it"}
			}
			return 0, err
		}
		buf[i] = c
		if c&0x80 == 0 || (i == MaxULEB128Len-1) {
			v, _, perr := parseULEB128(buf[:i+1])
			if perr != nil {
				return 0, &Error{Field: "ULEB128", Err: perr.class, Detail: perr.detail}
			}
			return v, nil
		}
	}
	panic("unreachable")
}

type ulebError struct {
	class  error
	detail string
}

// parseULEB128 parses a canonical ULEB128 of at most 2^32−1 from the start
// of b, returning its value and length.
func parseULEB128(b []byte) (uint32, int, *ulebError) {
	var v uint32
	for i := 0; i < MaxULEB128Len; i++ {
		if i == len(b) {
			return 0, 0, &ulebError{ErrTruncated, "bad ULEB128: input ends inside it"}
		}
		c := b[i]
		if i == MaxULEB128Len-1 && c > 0x0f {
			return 0, 0, &ulebError{ErrTooLarge, "ULEB128 exceeds 2^32-1"}
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, &ulebError{ErrNonCanonical, "non-canonical ULEB128"}
			}
			return v, i + 1, nil
		}
	}
	panic("unreachable") // the fifth byte ends the value or is over 0x0f
}
