package encoding

import (
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/encoding/bcs"
)

// Errors of metadata verification.
var (
	// ErrMetadataMismatch is returned when metadata does not hash to the
	// expected blob ID, or does not fit the shard count.
	ErrMetadataMismatch = errors.New("encoding: metadata does not match blob ID")
)

// SliverPairHashes are the hashes of one sliver pair: the Merkle root of
// primary sliver i's expansion and of secondary sliver n−1−i's expansion.
type SliverPairHashes struct {
	Primary   Hash
	Secondary Hash
}

// Metadata describes an encoded blob: what every storage node keeps and what a
// reader verifies slivers against. Its BCS form is
//
//	0x00 (enum tag: V1) ‖ encoding type u8 ‖ unencoded length u64 LE ‖
//	ULEB128(n) ‖ n × (Node primary ‖ Node secondary)
//
// where a Node is 0x01 ‖ 32-byte digest. (Walrus's Node enum also has
// 0x00 = Empty; metadata never holds it and the decoder rejects it.)
type Metadata struct {
	EncodingType    EncodingType
	UnencodedLength uint64
	// Hashes has one entry per sliver pair, indexed by pair.
	Hashes []SliverPairHashes
}

// Metadata layout constants. Part of the format.
const (
	metadataV1  = 0
	nodeEmpty   = 0
	nodeDigest  = 1
	pairBCSSize = 2 * (1 + 32)
)

// MarshalBCS returns the metadata's BCS encoding.
func (m *Metadata) MarshalBCS() []byte {
	b := make([]byte, 0, 1+1+8+bcs.LengthLen(len(m.Hashes))+len(m.Hashes)*pairBCSSize)
	b = bcs.AppendULEB128(b, metadataV1)
	b = bcs.AppendU8(b, byte(m.EncodingType))
	b = bcs.AppendU64(b, m.UnencodedLength)
	b = bcs.AppendLength(b, len(m.Hashes))
	for i := range m.Hashes {
		b = bcs.AppendULEB128(b, nodeDigest)
		b = append(b, m.Hashes[i].Primary[:]...)
		b = bcs.AppendULEB128(b, nodeDigest)
		b = append(b, m.Hashes[i].Secondary[:]...)
	}
	return b
}

// UnmarshalMetadata decodes metadata from its BCS form. It rejects trailing
// bytes, unknown versions, an unknown encoding type, a pair count outside
// [MinShards, MaxShards], and empty hashes.
func UnmarshalMetadata(b []byte) (*Metadata, error) {
	r := bcs.NewReader(b)
	m, err := ReadMetadata(r)
	if err != nil {
		return nil, err
	}
	if err := r.Done(); err != nil {
		return nil, malformed(err)
	}
	return m, nil
}

// ReadMetadata decodes metadata in place, from a Reader of a larger value
// (a message that carries it), as UnmarshalMetadata does. Its errors match
// ErrMalformed, and are recorded in r.
func ReadMetadata(r *bcs.Reader) (*Metadata, error) {
	if v := r.ULEB128("metadata version"); r.Err() == nil && v != metadataV1 {
		r.Fail("metadata version", "version %d, want %d", v, metadataV1)
	}
	m := &Metadata{}
	m.EncodingType = EncodingType(r.U8("encoding type"))
	if r.Err() == nil && m.EncodingType != RS2 {
		r.Fail("encoding type", "encoding type %d, want %d", m.EncodingType, RS2)
	}
	m.UnencodedLength = r.U64("unencoded length")
	n := r.Length("sliver pair count", MaxShards)
	if r.Err() == nil && n < MinShards {
		r.Fail("sliver pair count", "%d sliver pairs, at least %d", n, MinShards)
	}
	// Every byte of the pairs is there before they are allocated.
	if !r.Need("sliver pair hashes", n*pairBCSSize) {
		return nil, malformed(r.Err())
	}
	m.Hashes = make([]SliverPairHashes, n)
	for i := range m.Hashes {
		for _, h := range []*Hash{&m.Hashes[i].Primary, &m.Hashes[i].Secondary} {
			// A Node enum; the digest variant's ULEB128 index is one byte,
			// so the pairs take exactly the bytes Need checked.
			if tag := r.U8("hash tag"); tag != nodeDigest {
				r.Fail("hash tag", "pair %d: hash tag %d, want digest", i, tag)
				return nil, malformed(r.Err())
			}
			copy(h[:], r.Fixed("hash", len(h)))
		}
	}
	return m, nil
}

// N is the shard count the metadata was made for.
func (m *Metadata) N() int { return len(m.Hashes) }

// Root is the Merkle root over the sliver pairs: leaf i = primary ‖ secondary.
func (m *Metadata) Root() Hash {
	leaves := make([]Hash, len(m.Hashes))
	var buf [64]byte
	for i := range m.Hashes {
		copy(buf[:32], m.Hashes[i].Primary[:])
		copy(buf[32:], m.Hashes[i].Secondary[:])
		leaves[i] = LeafHash(buf[:])
	}
	return MerkleRoot(leaves)
}

// BlobID computes the blob ID this metadata describes.
func (m *Metadata) BlobID() BlobID {
	return ComputeBlobID(m.EncodingType, m.UnencodedLength, m.Root())
}

// Verify checks that the metadata describes blob id for a network of n
// shards: the encoding type, the pair count, that the length fits n, and the
// blob ID. It returns ErrMetadataMismatch (wrapped) when it does not.
func (m *Metadata) Verify(id BlobID, n int) error {
	if m.EncodingType != RS2 {
		return fmt.Errorf("%w: encoding type %d", ErrMetadataMismatch, m.EncodingType)
	}
	if len(m.Hashes) != n {
		return fmt.Errorf("%w: %d sliver pairs, the network has %d shards", ErrMetadataMismatch, len(m.Hashes), n)
	}
	p, err := NewParams(n)
	if err != nil {
		return err
	}
	if m.UnencodedLength > p.MaxBlobSize() {
		return fmt.Errorf("%w: length %d exceeds the maximum %d for n = %d", ErrMetadataMismatch, m.UnencodedLength, p.MaxBlobSize(), n)
	}
	if got := m.BlobID(); got != id {
		return fmt.Errorf("%w: metadata hashes to %s, want %s", ErrMetadataMismatch, got, id)
	}
	return nil
}

// SliverHash returns the hash the metadata records for a sliver.
func (m *Metadata) SliverHash(axis Axis, index int) Hash {
	n := len(m.Hashes)
	if axis == Primary {
		return m.Hashes[index].Primary
	}
	return m.Hashes[n-1-index].Secondary
}
