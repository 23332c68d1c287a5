package encoding

import (
	"errors"
	"fmt"
	"math/bits"
)

// EncodingType identifies an erasure code. It is hashed into the blob ID and
// stored in the metadata, so its values are part of the format.
type EncodingType uint8

// RS2 is Walrus's two-dimensional Reed-Solomon encoding, the only one this
// package implements.
const RS2 EncodingType = 1

// Limits of the codec.
const (
	// MinShards is the smallest shard count: below it f would be 0 and the
	// code could not tolerate a single fault.
	MinShards = 4
	// MaxShards is the largest shard count RS2 supports. The column code
	// RS(rows → n) is evaluated on points of GF(2^16): it needs
	// nextPow2(rows) + 2f ≤ 65,536, which holds up to n = 49,155 and fails
	// for every larger n (Walrus's reed-solomon-simd refuses the same codes).
	MaxShards = 49155
	// MaxSymbolSize is the largest symbol: symbols are indexed by u16 sizes
	// and hold whole GF(2^16) elements, so the size is even.
	MaxSymbolSize = 65534
)

// Errors returned by the codec. Each is wrapped with details; test with
// errors.Is.
var (
	// ErrInvalidShardCount is returned for a shard count outside
	// [MinShards, MaxShards].
	ErrInvalidShardCount = errors.New("encoding: invalid shard count")
	// ErrBlobTooLarge is returned when a blob needs a symbol larger than
	// MaxSymbolSize for the shard count, or exceeds a configured cap.
	ErrBlobTooLarge = errors.New("encoding: blob too large")
)

// Params are the code parameters that follow from the shard count n. The zero
// value is invalid; use NewParams.
type Params struct {
	// N is the number of shards (and of sliver pairs).
	N int
	// F is the number of faulty shards tolerated: ⌊(n−1)/3⌋.
	F int
	// Rows is the number of primary source symbols, n − 2f: the number of
	// primary slivers that suffice to decode a blob.
	Rows int
	// Cols is the number of secondary source symbols, n − f: the number of
	// secondary slivers that suffice to decode a blob.
	Cols int
}

// NewParams returns the parameters for n shards.
func NewParams(n int) (Params, error) {
	if n < MinShards || n > MaxShards {
		return Params{}, fmt.Errorf("%w: n = %d, want %d ≤ n ≤ %d", ErrInvalidShardCount, n, MinShards, MaxShards)
	}
	f := (n - 1) / 3
	return Params{N: n, F: f, Rows: n - 2*f, Cols: n - f}, nil
}

// MaxBlobSize is the largest blob that can be encoded with these parameters:
// rows·cols·MaxSymbolSize.
func (p Params) MaxBlobSize() uint64 {
	return uint64(p.Rows) * uint64(p.Cols) * MaxSymbolSize
}

// SymbolSize returns the symbol size for a blob of blobLen bytes:
// ceil(max(blobLen,1) / (rows·cols)) rounded up to even. It returns
// ErrBlobTooLarge if that exceeds MaxSymbolSize.
func (p Params) SymbolSize(blobLen uint64) (int, error) {
	if blobLen > p.MaxBlobSize() {
		return 0, &TooLargeError{Size: blobLen, Max: p.MaxBlobSize(), N: p.N}
	}
	cells := uint64(p.Rows) * uint64(p.Cols)
	s := (max(blobLen, 1) + cells - 1) / cells
	s += s & 1
	return int(s), nil
}

// EncodedLength is the number of bytes the network stores for a blob of
// blobLen bytes, summed over all shards: n·((rows+cols)·S + n·64 + 32), the
// slivers of every pair plus a copy of the metadata on every shard. Storage
// is paid for by this length.
func (p Params) EncodedLength(blobLen uint64) (uint64, error) {
	s, err := p.SymbolSize(blobLen)
	if err != nil {
		return 0, err
	}
	n := uint64(p.N)
	return n * (uint64(p.Rows+p.Cols)*uint64(s) + n*64 + 32), nil
}

// QuorumShards is the number of shards whose confirmations make a
// certificate: n − f.
func (p Params) QuorumShards() int { return p.N - p.F }

// ValidityShards is the number of shards that guarantee at least one honest
// signer: f + 1.
func (p Params) ValidityShards() int { return p.F + 1 }

// colK is the power of two at or above rows: the first-level block size of
// the column code.
func (p Params) colK() int { return 1 << bits.Len(uint(p.Rows-1)) }

// TooLargeError reports a blob over the maximum size for its shard count. It
// matches ErrBlobTooLarge with errors.Is.
type TooLargeError struct {
	Size, Max uint64
	N         int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("encoding: blob too large: %d bytes, the maximum for n = %d shards is %d bytes", e.Size, e.N, e.Max)
}

// Is makes errors.Is(err, ErrBlobTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrBlobTooLarge }
