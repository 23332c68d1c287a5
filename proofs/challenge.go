package proofs

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/encoding"
)

// SampleCount is the number of slivers a challenge samples from a shard: the
// least k with 0.99^k ≤ 0.01, so that a shard missing 1% of its slivers fails
// with probability ≥ 0.99 (see the package documentation). Every node of a
// network must use the same value; it is part of the format.
const SampleCount = 459

// Domain separation strings of the pseudo-random functions. Part of the
// format.
const (
	domainOrder     = "walrus-go/proofs/v1/order"
	domainStart     = "walrus-go/proofs/v1/start"
	domainSymbol    = "walrus-go/proofs/v1/symbol"
	domainChallenge = "walrus-go/proofs/v1/challenge"
)

// MaxBlobs bounds the blob set of an EpochIndex, so that its 2·N sliver
// positions fit in an int and a uint32 everywhere.
const MaxBlobs = 1 << 30

// sampleBCSSize is the size of one sample's BCS form: blob ID, axis, sliver
// index, symbol index.
const sampleBCSSize = 32 + 1 + 2 + 2

// Sample is one sliver a challenge asks about and the symbol of its
// expansion to prove.
type Sample struct {
	BlobID encoding.BlobID
	Axis   encoding.Axis
	// Sliver is the index of the sliver of Axis that the challenged shard
	// holds for the blob: the shard's pair index for a primary sliver, n−1
	// minus it for a secondary one.
	Sliver uint16
	// Symbol is the position, in [0, n), of the symbol to prove in the
	// sliver's expansion (its full row or column of the expanded matrix).
	Symbol uint16
}

// Challenge is the storage challenge of one shard in one epoch: the slivers
// the shard's holder must prove it has. Both sides derive it with
// EpochIndex.Challenge; it is never taken from the other side on trust.
type Challenge struct {
	Epoch uint32
	// Node is the challenged node (the chain's node ID).
	Node  [32]byte
	Shard uint16
	// N is the network's shard count.
	N       uint16
	Samples []Sample
}

// shardSliver is the index of the sliver of the given axis that shard holds
// for blob id.
func shardSliver(id encoding.BlobID, shard, n int, axis encoding.Axis) int {
	pair := id.PairForShard(shard, n)
	if axis == encoding.Primary {
		return pair
	}
	return n - 1 - pair
}

// AppendBCS appends the challenge's BCS form:
//
//	epoch u32 ‖ node [32] ‖ shard u16 ‖ n u16 ‖ ULEB128(m) ‖
//	m × (blob ID [32] ‖ axis u8 ‖ sliver u16 ‖ symbol u16)
func (c *Challenge) AppendBCS(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, c.Epoch)
	b = append(b, c.Node[:]...)
	b = binary.LittleEndian.AppendUint16(b, c.Shard)
	b = binary.LittleEndian.AppendUint16(b, c.N)
	b = appendULEB128(b, uint64(len(c.Samples)))
	for i := range c.Samples {
		s := &c.Samples[i]
		b = append(b, s.BlobID[:]...)
		b = append(b, byte(s.Axis))
		b = binary.LittleEndian.AppendUint16(b, s.Sliver)
		b = binary.LittleEndian.AppendUint16(b, s.Symbol)
	}
	return b
}

// BCSSize is the length of the challenge's BCS form.
func (c *Challenge) BCSSize() int {
	return 4 + 32 + 2 + 2 + ulebLen(uint64(len(c.Samples))) + len(c.Samples)*sampleBCSSize
}

// MarshalBCS returns the challenge's BCS form.
func (c *Challenge) MarshalBCS() []byte { return c.AppendBCS(make([]byte, 0, c.BCSSize())) }

// Digest is what a response names the challenge it answers by:
// Blake2b-256(BCS string "walrus-go/proofs/v1/challenge" ‖ BCS(challenge)).
func (c *Challenge) Digest() encoding.Hash {
	b := appendString(make([]byte, 0, 1+len(domainChallenge)+c.BCSSize()), domainChallenge)
	return blake2b.Sum256(c.AppendBCS(b))
}

// UnmarshalChallenge decodes a challenge from its BCS form. Besides the
// layout it checks what every derived challenge satisfies: n in the codec's
// range, shard < n, at most SampleCount samples, each naming the sliver the
// shard holds for its blob and a symbol < n, and no sliver twice. It returns
// ErrMalformed otherwise.
func UnmarshalChallenge(b []byte) (*Challenge, error) {
	r := reader{b: b}
	c := &Challenge{}
	c.Epoch = r.u32("epoch")
	c.Node = r.array32("node")
	c.Shard = r.u16("shard")
	c.N = r.u16("shard count")
	m := r.uleb("sample count")
	if r.err != nil {
		return nil, r.err
	}
	n := int(c.N)
	switch {
	case n < encoding.MinShards || n > encoding.MaxShards:
		return nil, fmt.Errorf("%w: challenge for n = %d shards", ErrMalformed, n)
	case int(c.Shard) >= n:
		return nil, fmt.Errorf("%w: shard %d of %d", ErrMalformed, c.Shard, n)
	case m > SampleCount:
		return nil, fmt.Errorf("%w: %d samples, at most %d", ErrMalformed, m, SampleCount)
	case uint64(len(r.b)) != m*sampleBCSSize:
		return nil, fmt.Errorf("%w: %d samples need %d bytes, have %d", ErrMalformed, m, m*sampleBCSSize, len(r.b))
	}
	c.Samples = make([]Sample, m)
	for i := range c.Samples {
		s := &c.Samples[i]
		s.BlobID = r.array32("blob ID")
		axis := r.u8("axis")
		s.Sliver = r.u16("sliver index")
		s.Symbol = r.u16("symbol index")
		switch {
		case axis > uint8(encoding.Secondary):
			return nil, fmt.Errorf("%w: sample %d: axis %d", ErrMalformed, i, axis)
		case int(s.Symbol) >= n:
			return nil, fmt.Errorf("%w: sample %d: symbol %d of %d", ErrMalformed, i, s.Symbol, n)
		}
		s.Axis = encoding.Axis(axis)
		if want := shardSliver(s.BlobID, int(c.Shard), n, s.Axis); int(s.Sliver) != want {
			return nil, fmt.Errorf("%w: sample %d: %s sliver %d, shard %d holds %d", ErrMalformed, i, s.Axis, s.Sliver, c.Shard, want)
		}
	}
	if err := r.done("challenge"); err != nil {
		return nil, err
	}
	seen := make([]Sample, len(c.Samples))
	copy(seen, c.Samples)
	slices.SortFunc(seen, compareSample)
	for i := 1; i < len(seen); i++ {
		if seen[i].BlobID == seen[i-1].BlobID && seen[i].Axis == seen[i-1].Axis {
			return nil, fmt.Errorf("%w: %s sliver of blob %s sampled twice", ErrMalformed, seen[i].Axis, seen[i].BlobID)
		}
	}
	return c, nil
}

func compareSample(a, b Sample) int {
	if c := bytes.Compare(a.BlobID[:], b.BlobID[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Axis, b.Axis)
}

// EpochIndex is the blob set of one epoch, put in the epoch's sampling order:
// every sliver a shard holds (two per blob), sorted by a key derived from the
// epoch's seed. Every challenge of the epoch is a window of this order, so a
// node builds one index per epoch and derives the challenges of all shards
// from it. It is immutable and safe for concurrent use.
type EpochIndex struct {
	seed  [32]byte
	epoch uint32
	n     int
	// ids are the blob IDs, sorted and distinct.
	ids []encoding.BlobID
	// order is every (blob, axis) in sampling order.
	order []slot
}

// slot is one sliver of the order: blob ids[blob], axis.
type slot struct {
	key  uint64
	blob uint32
	axis encoding.Axis
}

// NewEpochIndex builds the index of an epoch from its seed and its blob set:
// the IDs of the blobs every shard must hold in the epoch (see the package
// documentation for which). Order and duplicates in blobs do not matter.
// It costs one Blake2b-256 per blob and a sort, and holds 64 bytes per blob.
func NewEpochIndex(seed [32]byte, epoch uint32, n int, blobs iter.Seq[encoding.BlobID]) (*EpochIndex, error) {
	if n < encoding.MinShards || n > encoding.MaxShards {
		return nil, fmt.Errorf("%w: n = %d, want %d ≤ n ≤ %d", ErrInvalidArgument, n, encoding.MinShards, encoding.MaxShards)
	}
	var ids []encoding.BlobID
	for id := range blobs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	if len(ids) > MaxBlobs {
		return nil, fmt.Errorf("%w: %d blobs, at most %d", ErrInvalidArgument, len(ids), MaxBlobs)
	}
	x := &EpochIndex{seed: seed, epoch: epoch, n: n, ids: ids, order: make([]slot, 2*len(ids))}
	buf := prfPrefix(domainOrder, seed, epoch, 32)
	pre := len(buf)
	for i := range ids {
		h := blake2b.Sum256(append(buf[:pre], ids[i][:]...))
		x.order[2*i] = slot{key: binary.LittleEndian.Uint64(h[0:8]), blob: uint32(i), axis: encoding.Primary}
		x.order[2*i+1] = slot{key: binary.LittleEndian.Uint64(h[8:16]), blob: uint32(i), axis: encoding.Secondary}
	}
	// Ties of keys fall back to the blob ID, which is the index into the
	// sorted ids, then the axis.
	slices.SortFunc(x.order, func(a, b slot) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		if c := cmp.Compare(a.blob, b.blob); c != 0 {
			return c
		}
		return cmp.Compare(a.axis, b.axis)
	})
	return x, nil
}

// prfPrefix returns BCS(domain) ‖ seed ‖ epoch u32 LE, with room for extra
// more bytes.
func prfPrefix(domain string, seed [32]byte, epoch uint32, extra int) []byte {
	b := make([]byte, 0, 1+len(domain)+32+4+extra)
	b = appendString(b, domain)
	b = append(b, seed[:]...)
	return binary.LittleEndian.AppendUint32(b, epoch)
}

// Epoch is the index's epoch.
func (x *EpochIndex) Epoch() uint32 { return x.epoch }

// N is the index's shard count.
func (x *EpochIndex) N() int { return x.n }

// Len is the number of blobs in the index.
func (x *EpochIndex) Len() int { return len(x.ids) }

// Contains reports whether blob id is in the index's blob set.
func (x *EpochIndex) Contains(id encoding.BlobID) bool {
	_, ok := slices.BinarySearchFunc(x.ids, id, func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
	return ok
}

// Challenge derives the challenge of shard, held by node, in the index's
// epoch: min(SampleCount, 2·Len()) slivers, the ones that follow the shard's
// start point in the epoch's order, each with a symbol position. It returns
// ErrInvalidArgument for a shard ≥ n.
func (x *EpochIndex) Challenge(node [32]byte, shard uint16) (*Challenge, error) {
	n := x.n
	if int(shard) >= n {
		return nil, fmt.Errorf("%w: shard %d of %d", ErrInvalidArgument, shard, n)
	}
	c := &Challenge{Epoch: x.epoch, Node: node, Shard: shard, N: uint16(n)}
	total := len(x.order)
	m := min(SampleCount, total)
	if m == 0 {
		return c, nil
	}
	buf := prfPrefix(domainStart, x.seed, x.epoch, 32+2+4)
	buf = append(buf, node[:]...)
	buf = binary.LittleEndian.AppendUint16(buf, shard)
	h := blake2b.Sum256(buf)
	point := binary.LittleEndian.Uint64(h[:8])
	start, _ := slices.BinarySearchFunc(x.order, point, func(s slot, p uint64) int { return cmp.Compare(s.key, p) })
	// start is the first slot with key ≥ point; past the end wraps to 0.
	buf = prfPrefix(domainSymbol, x.seed, x.epoch, 32+2+4)
	buf = append(buf, node[:]...)
	buf = binary.LittleEndian.AppendUint16(buf, shard)
	pre := len(buf)
	c.Samples = make([]Sample, m)
	for j := range m {
		s := x.order[(start+j)%total]
		id := x.ids[s.blob]
		h := blake2b.Sum256(binary.LittleEndian.AppendUint32(buf[:pre], uint32(j)))
		c.Samples[j] = Sample{
			BlobID: id,
			Axis:   s.axis,
			Sliver: uint16(shardSliver(id, int(shard), n, s.axis)),
			Symbol: uint16(binary.LittleEndian.Uint64(h[:8]) % uint64(n)),
		}
	}
	return c, nil
}

// Derive is NewEpochIndex followed by Challenge, for one challenge. A node
// that derives the challenges of many shards builds the index once.
func Derive(seed [32]byte, epoch uint32, n int, node [32]byte, shard uint16, blobs iter.Seq[encoding.BlobID]) (*Challenge, error) {
	x, err := NewEpochIndex(seed, epoch, n, blobs)
	if err != nil {
		return nil, err
	}
	return x.Challenge(node, shard)
}
