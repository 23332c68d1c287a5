package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	gobcs "github.com/fardream/go-bcs/bcs"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

// This file adapts go-bcs, the BCS library of the project's multi-field wire
// structs, to untrusted input. go-bcs allocates a vector's length before it
// reads the vector, and that length comes from the input (up to 2^32−1); it
// also accepts non-canonical booleans and option tags. So:
//
//   - decodeBCS hands go-bcs a bcs.Reader of the frame (the project's strict
//     reader), rejects trailing bytes, and re-encodes the value to reject
//     every non-canonical form go-bcs lets through;
//   - every variable-length field of a message is one of the types below,
//     whose decoders take the bcs.Reader from go-bcs and read lengths through
//     it: capped, and checked against the bytes left in the frame before
//     anything is allocated;
//   - the layouts of package encoding (Metadata, RecoverySymbol) are decoded
//     in place by encoding's own decoders, from the same Reader.

// readerOf returns the bcs.Reader go-bcs hands a custom decoder.
func readerOf(r io.Reader) (*bcs.Reader, error) {
	br, ok := r.(*bcs.Reader)
	if !ok {
		return nil, fmt.Errorf("p2p: internal: decoding from %T, not a bcs.Reader", r)
	}
	return br, nil
}

// encodeBCS encodes v with go-bcs. The values of this package always encode;
// an error is a bug.
func encodeBCS(v any) []byte {
	b, err := gobcs.Marshal(v)
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
	r := bcs.NewReader(b)
	_, derr := gobcs.NewDecoder(r).Decode(v)
	switch {
	case derr == nil:
		derr = r.Done()
	case !errors.Is(derr, ErrMalformed) && r.Err() != nil:
		derr = r.Err() // go-bcs's report of the reader's error: the reader's says where
	}
	if derr != nil {
		if errors.Is(derr, ErrMalformed) {
			return derr
		}
		return fmt.Errorf("%w: %T: %w", ErrMalformed, v, derr)
	}
	again, err := gobcs.Marshal(v)
	if err != nil || !bytes.Equal(again, b) {
		return fmt.Errorf("%w: %T: non-canonical encoding", ErrMalformed, v)
	}
	return nil
}

// bcsBytes is a BCS vector<u8>, bounded by the frame. A decoded value
// aliases the frame.
type bcsBytes []byte

func (b bcsBytes) MarshalBCS() ([]byte, error) {
	return bcs.AppendBytes(make([]byte, 0, len(b)+bcs.MaxULEB128Len), b), nil
}

func (b *bcsBytes) UnmarshalBCS(rd io.Reader) (int, error) {
	r, err := readerOf(rd)
	if err != nil {
		return 0, err
	}
	before := r.Offset()
	*b = r.Bytes("byte vector", bcs.MaxSequenceLength)
	return r.Offset() - before, r.Err()
}

// bcsString is the BCS string of the protocol: an error's message, UTF-8
// and at most MaxErrorMessageLen bytes.
type bcsString string

func (v bcsString) MarshalBCS() ([]byte, error) {
	return bcs.AppendString(make([]byte, 0, len(v)+bcs.MaxULEB128Len), string(v)), nil
}

func (v *bcsString) UnmarshalBCS(rd io.Reader) (int, error) {
	r, err := readerOf(rd)
	if err != nil {
		return 0, err
	}
	before := r.Offset()
	*v = bcsString(r.String("error message", MaxErrorMessageLen))
	return r.Offset() - before, r.Err()
}

// bcsVec is a BCS vector whose decoder never preallocates from the count:
// the count is checked against the bytes left (every element takes at least
// one), and elements are appended as they decode, so a lying count fails at
// the end of the frame having allocated only what the frame holds.
type bcsVec[T any] []T

func (v bcsVec[T]) MarshalBCS() ([]byte, error) {
	// Encode the elements first and copy them once: a recovery response of
	// 64 MiB would otherwise be regrown a few dozen times.
	elems := make([][]byte, len(v))
	size := bcs.LengthLen(len(v))
	for i := range v {
		b, err := gobcs.Marshal(&v[i])
		if err != nil {
			return nil, err
		}
		elems[i] = b
		size += len(b)
	}
	out := bcs.AppendLength(make([]byte, 0, size), len(v))
	for _, b := range elems {
		out = append(out, b...)
	}
	return out, nil
}

func (v *bcsVec[T]) UnmarshalBCS(rd io.Reader) (int, error) {
	r, err := readerOf(rd)
	if err != nil {
		return 0, err
	}
	before := r.Offset()
	n := r.Length("vector length", bcs.MaxSequenceLength)
	if err := r.Err(); err != nil {
		return 0, err
	}
	var out bcsVec[T]
	dec := gobcs.NewDecoder(r)
	for range n {
		var e T
		if _, err := dec.Decode(&e); err != nil {
			return 0, err
		}
		out = append(out, e)
	}
	*v = out
	return r.Offset() - before, nil
}

// bcsMetadata carries encoding.Metadata in a go-bcs struct. Its layout is
// encoding's (see encoding.Metadata), decoded in place by
// encoding.ReadMetadata.
type bcsMetadata struct {
	*encoding.Metadata
}

func (m bcsMetadata) MarshalBCS() ([]byte, error) {
	if m.Metadata == nil {
		return nil, errors.New("p2p: nil metadata")
	}
	return m.Metadata.MarshalBCS(), nil
}

func (m *bcsMetadata) UnmarshalBCS(rd io.Reader) (int, error) {
	r, err := readerOf(rd)
	if err != nil {
		return 0, err
	}
	before := r.Offset()
	md, err := encoding.ReadMetadata(r)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	m.Metadata = md
	return r.Offset() - before, nil
}

// bcsRecoverySymbol carries encoding.RecoverySymbol in a go-bcs vector. Its
// layout is encoding's, decoded in place by encoding.ReadRecoverySymbol;
// Data aliases the frame.
type bcsRecoverySymbol encoding.RecoverySymbol

func (s *bcsRecoverySymbol) MarshalBCS() ([]byte, error) {
	size := 1 + 2 + 2 + bcs.LengthLen(len(s.Data)) + len(s.Data) + bcs.LengthLen(len(s.Proof)) + len(s.Proof)*len(encoding.Hash{})
	return (*encoding.RecoverySymbol)(s).AppendBCS(make([]byte, 0, size)), nil
}

func (s *bcsRecoverySymbol) UnmarshalBCS(rd io.Reader) (int, error) {
	r, err := readerOf(rd)
	if err != nil {
		return 0, err
	}
	before := r.Offset()
	sym, err := encoding.ReadRecoverySymbol(r)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	*s = bcsRecoverySymbol(sym)
	return r.Offset() - before, nil
}
