package p2p

import (
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// BenchmarkDecodeMessages measures the message decoders (go-bcs over the
// strict reader, and the in-place decoders of encoding's layouts): a
// sliver/get request for 1,000 indices, a metadata/get response for 1,000
// shards, a recovery/get response of 300 symbols.
func BenchmarkDecodeMessages(b *testing.B) {
	idx := make(bcsVec[uint16], 1000)
	for i := range idx {
		idx[i] = uint16(i)
	}
	req := encodeBCS(&sliverGetRequest{BlobID: blobID1, Axis: 1, Indices: idx})
	md := &encoding.Metadata{EncodingType: encoding.RS2, UnencodedLength: 1 << 20, Hashes: make([]encoding.SliverPairHashes, 1000)}
	mdResp := encodeOK(&bcsMetadata{md})
	syms := make(bcsVec[bcsRecoverySymbol], 300)
	for i := range syms {
		syms[i] = bcsRecoverySymbol{SourceAxis: encoding.Secondary, SourceIndex: uint16(i), TargetIndex: 7,
			Data: make([]byte, 512), Proof: make(encoding.MerkleProof, 10)}
	}
	recResp := encodeOK(&recoveryResponse{Symbols: syms})
	b.Run("sliver-get-request", func(b *testing.B) {
		b.SetBytes(int64(len(req)))
		b.ReportAllocs()
		for b.Loop() {
			var v sliverGetRequest
			if err := decodeBCS(req, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("metadata-response", func(b *testing.B) {
		b.SetBytes(int64(len(mdResp)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := decodeResult[bcsMetadata](mdResp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recovery-response", func(b *testing.B) {
		b.SetBytes(int64(len(recResp)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := decodeResult[recoveryResponse](recResp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
