package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/fardream/go-bcs/bcs"

	"github.com/walrus-go/walrus/encoding"
)

// This file adapts go-bcs, the BCS library of the project's multi-field wire
// structs, to untrusted input. go-bcs allocates a vector's length before it
// reads the vector, and that length comes from the input (up to 2^32−1); it
// also accepts non-canonical booleans and option tags. So:
//
//   - every variable-length field of a message is one of the types below,
//     whose decoders bound lengths by the bytes left in the frame and never
//     preallocate from a count;
//   - decodeBCS decodes from a bcsSource (the frame with a cursor, which
//     those decoders need), rejects trailing bytes, and re-encodes the value
//     to reject every non-canonical form.
//
// The layouts of package encoding (Metadata, RecoverySymbol) are decoded by
// encoding's own strict decoders, in place.

// bcsSource is a frame being decoded: the reader go-bcs reads from, and the
// one the decoders of this file type-assert to see what is left.
type bcsSource struct {
	b []byte
}

func (s *bcsSource) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// take consumes and returns the next n bytes, aliasing the frame.
func (s *bcsSource) take(n int, what string) ([]byte, error) {
	if n < 0 || n > len(s.b) {
		return nil, fmt.Errorf("%w: %s of %d bytes, %d left", ErrMalformed, what, n, len(s.b))
	}
	v := s.b[:n:n]
	s.b = s.b[n:]
	return v, nil
}

// uleb reads a canonical ULEB128 that fits in a u32, as BCS lengths do.
func (s *bcsSource) uleb(what string) (int, error) {
	v, n, err := parseULEB(s.b)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	s.b = s.b[n:]
	return v, nil
}

// parseULEB parses a canonical ULEB128 that fits in a u32 from the start of
// b, returning the value and its length.
func parseULEB(b []byte) (int, int, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		if i == len(b) {
			return 0, 0, errors.New("truncated ULEB128")
		}
		c := b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i > 0 && c == 0 {
				return 0, 0, errors.New("non-minimal ULEB128")
			}
			if v > 1<<32-1 {
				return 0, 0, errors.New("ULEB128 over u32")
			}
			return int(v), i + 1, nil
		}
	}
	return 0, 0, errors.New("ULEB128 over u32")
}

// sourceOf returns the bcsSource go-bcs hands a custom decoder.
func sourceOf(r io.Reader) (*bcsSource, error) {
	s, ok := r.(*bcsSource)
	if !ok {
		return nil, fmt.Errorf("p2p: internal: decoding from %T, not a frame", r)
	}
	return s, nil
}

// encodeBCS encodes v with go-bcs. The values of this package always encode;
// an error is a bug.
func encodeBCS(v any) []byte {
	b, err := bcs.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("p2p: encoding %T: %v", v, err))
	}
	return b
}

// decodeBCS decodes b into v (a pointer) strictly: no trailing bytes, and b
// must be the canonical encoding of the result. Errors match ErrMalformed.
func decodeBCS(b []byte, v any) (err error) {
	defer func() {
		// go-bcs reflects over the value; a panic there is bad input as far
		// as the caller is concerned, and must never take the process down.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %T: %v", ErrMalformed, v, r)
		}
	}()
	src := &bcsSource{b: b}
	if _, err := bcs.NewDecoder(src).Decode(v); err != nil {
		if errors.Is(err, ErrMalformed) {
			return err
		}
		return fmt.Errorf("%w: %T: %v", ErrMalformed, v, err)
	}
	if len(src.b) != 0 {
		return fmt.Errorf("%w: %T: %d trailing bytes", ErrMalformed, v, len(src.b))
	}
	again, err := bcs.Marshal(v)
	if err != nil || !bytes.Equal(again, b) {
		return fmt.Errorf("%w: %T: non-canonical encoding", ErrMalformed, v)
	}
	return nil
}

// bcsBytes is a BCS vector<u8> whose decoder bounds the length by the frame.
// A decoded value aliases the frame.
type bcsBytes []byte

func (b bcsBytes) MarshalBCS() ([]byte, error) {
	out := appendULEB(make([]byte, 0, len(b)+5), uint64(len(b)))
	return append(out, b...), nil
}

func (b *bcsBytes) UnmarshalBCS(r io.Reader) (int, error) {
	s, err := sourceOf(r)
	if err != nil {
		return 0, err
	}
	before := len(s.b)
	n, err := s.uleb("byte vector length")
	if err != nil {
		return 0, err
	}
	v, err := s.take(n, "byte vector")
	if err != nil {
		return 0, err
	}
	*b = v
	return before - len(s.b), nil
}

// bcsString is a BCS string whose decoder bounds the length by the frame.
type bcsString string

func (v bcsString) MarshalBCS() ([]byte, error) { return bcsBytes(v).MarshalBCS() }

func (v *bcsString) UnmarshalBCS(r io.Reader) (int, error) {
	var b bcsBytes
	n, err := b.UnmarshalBCS(r)
	*v = bcsString(b)
	return n, err
}

// bcsVec is a BCS vector whose decoder never preallocates from the count:
// it appends elements as they decode, so a lying count fails at the end of
// the frame having allocated only what the frame holds.
type bcsVec[T any] []T

func (v bcsVec[T]) MarshalBCS() ([]byte, error) {
	out := appendULEB(nil, uint64(len(v)))
	for i := range v {
		b, err := bcs.Marshal(&v[i])
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func (v *bcsVec[T]) UnmarshalBCS(r io.Reader) (int, error) {
	s, err := sourceOf(r)
	if err != nil {
		return 0, err
	}
	before := len(s.b)
	n, err := s.uleb("vector length")
	if err != nil {
		return 0, err
	}
	if n > len(s.b) { // every element takes at least one byte
		return 0, fmt.Errorf("%w: vector of %d elements in %d bytes", ErrMalformed, n, len(s.b))
	}
	var out bcsVec[T]
	dec := bcs.NewDecoder(s)
	for range n {
		var e T
		if _, err := dec.Decode(&e); err != nil {
			return 0, err
		}
		out = append(out, e)
	}
	*v = out
	return before - len(s.b), nil
}

// bcsMetadata carries encoding.Metadata in a go-bcs struct. Its layout is
// encoding's (see encoding.Metadata), decoded by encoding.UnmarshalMetadata.
type bcsMetadata struct {
	*encoding.Metadata
}

func (m bcsMetadata) MarshalBCS() ([]byte, error) {
	if m.Metadata == nil {
		return nil, errors.New("p2p: nil metadata")
	}
	return m.Metadata.MarshalBCS(), nil
}

func (m *bcsMetadata) UnmarshalBCS(r io.Reader) (int, error) {
	s, err := sourceOf(r)
	if err != nil {
		return 0, err
	}
	n, err := metadataLen(s.b)
	if err != nil {
		return 0, err
	}
	b, _ := s.take(n, "metadata")
	md, err := encoding.UnmarshalMetadata(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	m.Metadata = md
	return n, nil
}

// metadataLen is the length of the metadata at the start of b: version u8,
// encoding type u8, length u64, ULEB128(n), then n pairs of 33-byte digest
// nodes (the only form encoding accepts).
func metadataLen(b []byte) (int, error) {
	const head = 1 + 1 + 8
	if len(b) < head {
		return 0, fmt.Errorf("%w: metadata: %d bytes", ErrMalformed, len(b))
	}
	n, k, err := parseULEB(b[head:])
	if err != nil {
		return 0, fmt.Errorf("%w: metadata pair count: %v", ErrMalformed, err)
	}
	if n > encoding.MaxShards {
		return 0, fmt.Errorf("%w: metadata of %d pairs", ErrMalformed, n)
	}
	total := head + k + n*2*(1+32)
	if total > len(b) {
		return 0, fmt.Errorf("%w: metadata of %d pairs in %d bytes", ErrMalformed, n, len(b))
	}
	return total, nil
}

// bcsRecoverySymbol carries encoding.RecoverySymbol in a go-bcs vector. Its
// layout is encoding's, decoded by encoding.UnmarshalRecoverySymbol; Data
// aliases the frame.
type bcsRecoverySymbol encoding.RecoverySymbol

func (r *bcsRecoverySymbol) MarshalBCS() ([]byte, error) {
	return (*encoding.RecoverySymbol)(r).MarshalBCS(), nil
}

func (r *bcsRecoverySymbol) UnmarshalBCS(rd io.Reader) (int, error) {
	s, err := sourceOf(rd)
	if err != nil {
		return 0, err
	}
	n, err := recoverySymbolLen(s.b)
	if err != nil {
		return 0, err
	}
	b, _ := s.take(n, "recovery symbol")
	sym, err := encoding.UnmarshalRecoverySymbol(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	*r = bcsRecoverySymbol(sym)
	return n, nil
}

// recoverySymbolLen is the length of the recovery symbol at the start of b:
// axis u8, source u16, target u16, ULEB128 data length, data, ULEB128 proof
// length, 32 bytes per proof node.
func recoverySymbolLen(b []byte) (int, error) {
	const head = 1 + 2 + 2
	if len(b) < head {
		return 0, fmt.Errorf("%w: recovery symbol: %d bytes", ErrMalformed, len(b))
	}
	off := head
	dl, k, err := parseULEB(b[off:])
	if err != nil {
		return 0, fmt.Errorf("%w: recovery symbol length: %v", ErrMalformed, err)
	}
	off += k
	if dl > len(b)-off {
		return 0, fmt.Errorf("%w: recovery symbol of %d bytes, %d left", ErrMalformed, dl, len(b)-off)
	}
	off += dl
	np, k, err := parseULEB(b[off:])
	if err != nil {
		return 0, fmt.Errorf("%w: recovery proof length: %v", ErrMalformed, err)
	}
	off += k
	if np > encoding.MaxProofLen || np*32 > len(b)-off {
		return 0, fmt.Errorf("%w: recovery proof of %d nodes, %d bytes left", ErrMalformed, np, len(b)-off)
	}
	return off + np*32, nil
}

// appendULEB appends v in ULEB128 form.
func appendULEB(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
