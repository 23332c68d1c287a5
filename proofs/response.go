package proofs

import (
	"bytes"
	"fmt"
	"io"
	"math/bits"

	"github.com/walrus-go/walrus/encoding"
)

// Answer tags (a BCS enum). Part of the format.
const (
	answerProven   = 0
	answerReleased = 1
)

// Answer is the prover's answer to one sample: the sampled symbol with its
// Merkle proof, or a claim that the blob was released.
type Answer struct {
	// Released claims that the blob no longer needs to be stored: it was
	// deleted or marked invalid after the epoch's blob set was fixed. A
	// challenger accepts the claim only if its own view of the chain agrees.
	// Symbol is unset when Released is true.
	Released bool
	// Symbol is the sample's symbol: SourceAxis and SourceIndex name the
	// sampled sliver, TargetIndex the symbol's position in its expansion,
	// and Proof is the path to the sliver's hash in the blob's metadata.
	Symbol encoding.RecoverySymbol
}

// Response is a prover's answer to a challenge: one answer per sample, in
// the challenge's order. Its BCS form is
//
//	challenge digest [32] ‖ ULEB128(m) ‖ m × answer
//	answer = 0x00 ‖ recovery symbol (encoding.RecoverySymbol's BCS form)
//	       | 0x01                    (released)
type Response struct {
	// Challenge is the Digest of the challenge answered.
	Challenge encoding.Hash
	Answers   []Answer
}

// AppendBCS appends the response's BCS form to b.
func (r *Response) AppendBCS(b []byte) []byte {
	b = append(b, r.Challenge[:]...)
	b = appendULEB128(b, uint64(len(r.Answers)))
	for i := range r.Answers {
		a := &r.Answers[i]
		if a.Released {
			b = append(b, answerReleased)
			continue
		}
		b = append(b, answerProven)
		b = a.Symbol.AppendBCS(b)
	}
	return b
}

// BCSSize is the length of the response's BCS form.
func (r *Response) BCSSize() int {
	size := 32 + ulebLen(uint64(len(r.Answers)))
	for i := range r.Answers {
		a := &r.Answers[i]
		size++
		if !a.Released {
			size += symbolBCSSize(len(a.Symbol.Data), len(a.Symbol.Proof))
		}
	}
	return size
}

// MarshalBCS returns the response's BCS form.
func (r *Response) MarshalBCS() []byte { return r.AppendBCS(make([]byte, 0, r.BCSSize())) }

// WriteTo writes the response's BCS form to w.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r.MarshalBCS())
	return int64(n), err
}

// symbolBCSSize is the size of a recovery symbol's BCS form with s bytes of
// data and a proof of d nodes.
func symbolBCSSize(s, d int) int {
	return 1 + 2 + 2 + ulebLen(uint64(s)) + s + ulebLen(uint64(d)) + 32*d
}

// ProofLen is the length of a Merkle proof in a tree of n leaves, ⌈log2 n⌉:
// the proof of every symbol of a network of n shards.
func ProofLen(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// AnySymbolSize in a Shape stands for a sample whose symbol size the
// challenger does not know: its blob was released after the epoch's set was
// fixed and the challenger dropped its metadata. Its answer may be a release
// claim or a symbol of any size up to encoding.MaxSymbolSize.
const AnySymbolSize = -1

// Shape is what fixes the layout of a response before it arrives: the
// symbol size of each sample's blob (from its unencoded length and n) and
// the proof length (from n). A challenger gets it from Verifier.Expect.
type Shape struct {
	// SymbolSizes[j] is the symbol size of sample j's blob, or
	// AnySymbolSize.
	SymbolSizes []int
	// ProofLen is the number of nodes of every proof: ProofLen(n).
	ProofLen int
}

// MaxSize is the exact size of a response in which every sample is proven,
// and so the most a response to the challenge may take; each released
// answer makes it smaller. A reader caps the response at it before
// allocating anything.
func (s Shape) MaxSize() int {
	size := 32 + ulebLen(uint64(len(s.SymbolSizes)))
	for _, sz := range s.SymbolSizes {
		if sz == AnySymbolSize {
			sz = encoding.MaxSymbolSize
		}
		size += 1 + symbolBCSSize(sz, s.ProofLen)
	}
	return size
}

// ResponseReader decodes a response from a stream one answer at a time,
// holding one answer's bytes: a response to a challenge of large blobs
// (SampleCount × 64 KiB symbols) is never held whole. It reads exactly the
// response's bytes and nothing past them. It is not safe for concurrent use.
type ResponseReader struct {
	r     io.Reader
	shape Shape
	next  int
	buf   []byte
	// Challenge is the digest the response names.
	Challenge encoding.Hash
}

// NewResponseReader reads a response's header from r: the challenge digest
// and an answer count, which must be len(shape.SymbolSizes). Errors that
// concern the bytes match ErrMalformed; errors of r are wrapped.
func NewResponseReader(r io.Reader, shape Shape) (*ResponseReader, error) {
	rr := &ResponseReader{r: r, shape: shape}
	if err := readFull(r, rr.Challenge[:], "challenge digest"); err != nil {
		return nil, err
	}
	m, err := readULEB(r, "answer count")
	if err != nil {
		return nil, err
	}
	if m != uint64(len(shape.SymbolSizes)) {
		return nil, fmt.Errorf("%w: %d answers, the challenge has %d samples", ErrMalformed, m, len(shape.SymbolSizes))
	}
	return rr, nil
}

// Next decodes the next answer. After the last it returns io.EOF. The
// answer's symbol data aliases the reader's buffer and stays valid until the
// next call. An answer whose symbol or proof has another size than the
// shape's is ErrMalformed.
func (rr *ResponseReader) Next() (*Answer, error) {
	j := rr.next
	if j >= len(rr.shape.SymbolSizes) {
		return nil, io.EOF
	}
	tag, err := readULEB(rr.r, "answer tag")
	if err != nil {
		return nil, err
	}
	rr.next++
	switch tag {
	case answerReleased:
		return &Answer{Released: true}, nil
	case answerProven:
	default:
		return nil, fmt.Errorf("%w: answer %d: tag %d", ErrMalformed, j, tag)
	}
	s, d := rr.shape.SymbolSizes[j], rr.shape.ProofLen
	var head []byte
	if s == AnySymbolSize {
		// Read up to the symbol's length to learn its size.
		var h [5]byte
		if err := readFull(rr.r, h[:], "answer"); err != nil {
			return nil, err
		}
		v, err := readULEB(rr.r, "symbol length")
		if err != nil {
			return nil, err
		}
		if v == 0 || v > encoding.MaxSymbolSize {
			return nil, fmt.Errorf("%w: answer %d: symbol of %d bytes", ErrMalformed, j, v)
		}
		s = int(v)
		head = appendULEB128(h[:], v)
	}
	size := symbolBCSSize(s, d)
	if cap(rr.buf) < size {
		rr.buf = make([]byte, size)
	}
	b := rr.buf[:size]
	copy(b, head)
	if err := readFull(rr.r, b[len(head):], "answer"); err != nil {
		return nil, err
	}
	sym, err := encoding.UnmarshalRecoverySymbol(b)
	if err != nil {
		return nil, fmt.Errorf("%w: answer %d: %w", ErrMalformed, j, err)
	}
	if len(sym.Data) != s || len(sym.Proof) != d {
		return nil, fmt.Errorf("%w: answer %d: symbol of %d bytes with a proof of %d nodes, want %d and %d",
			ErrMalformed, j, len(sym.Data), len(sym.Proof), s, d)
	}
	return &Answer{Symbol: sym}, nil
}

// ReadResponse reads a whole response of the given shape from r (and not a
// byte more). The result owns its memory.
func ReadResponse(r io.Reader, shape Shape) (*Response, error) {
	rr, err := NewResponseReader(r, shape)
	if err != nil {
		return nil, err
	}
	resp := &Response{Challenge: rr.Challenge, Answers: make([]Answer, 0, len(shape.SymbolSizes))}
	for {
		a, err := rr.Next()
		if err == io.EOF {
			return resp, nil
		}
		if err != nil {
			return nil, err
		}
		a.Symbol.Data = bytes.Clone(a.Symbol.Data)
		resp.Answers = append(resp.Answers, *a)
	}
}

// UnmarshalResponse decodes a response of the given shape from its BCS form.
// It rejects trailing bytes. The result owns its memory.
func UnmarshalResponse(b []byte, shape Shape) (*Response, error) {
	if len(b) > shape.MaxSize() {
		return nil, fmt.Errorf("%w: response of %d bytes, at most %d", ErrMalformed, len(b), shape.MaxSize())
	}
	br := bytes.NewReader(b)
	resp, err := ReadResponse(br, shape)
	if err != nil {
		return nil, err
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%w: response: %d trailing bytes", ErrMalformed, br.Len())
	}
	return resp, nil
}
