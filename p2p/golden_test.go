package p2p

import (
	"bytes"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs/bcstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/wire")

// A golden file holds the exact bytes of one message of the wire format (or
// of a whole stream of frames), as annotated hex: testdata/wire/<name>.txt.
// The annotations come from the dissectors below, which read the bytes as
// the layouts in doc.go describe them; the bytes come from this package's
// encoders, and the file's bytes are decoded again with its decoders. A
// change of format is a diff of these files: rewrite them with
//
//	go test ./p2p -run TestGolden -update
//
// and review the diff.
type goldenCase struct {
	name  string
	parts []goldenPart
}

// goldenPart is one value of a golden file.
type goldenPart struct {
	title   string // the first comment: what the value is
	payload []byte
	dissect func(d *bcstest.Dump)
	// decode decodes b with this package's decoder and re-encodes the
	// result.
	decode func(b []byte) ([]byte, error)
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var text strings.Builder
			var all []byte
			for i, p := range tc.parts {
				if i > 0 {
					text.WriteString("\n")
				}
				d := bcstest.NewDump(p.payload)
				d.Comment("%s", p.title)
				p.dissect(d)
				s, err := d.Text()
				if err != nil {
					t.Fatalf("%s: dissecting %x: %v", p.title, p.payload, err)
				}
				text.WriteString(s)
				all = append(all, p.payload...)
			}
			golden := bcstest.Check(t, filepath.Join("testdata", "wire", tc.name+".txt"), text.String(), *update)
			if !bytes.Equal(golden, all) {
				t.Fatalf("the golden file's bytes are not the encoder's:\nfile    %x\nencoder %x", golden, all)
			}
			for _, p := range tc.parts {
				again, err := p.decode(bytes.Clone(golden[:len(p.payload)]))
				if err != nil {
					t.Fatalf("%s: decoding the golden bytes: %v", p.title, err)
				}
				if !bytes.Equal(again, p.payload) {
					t.Fatalf("%s: the golden bytes decode and re-encode to\n%x", p.title, again)
				}
				golden = golden[len(p.payload):]
			}
		})
	}
}

// goldenMetadata is metadata for 4 shards with recognizable hashes (pair i:
// primary 0xi1…, secondary 0xi2…), and its blob ID.
func goldenMetadata() (*encoding.Metadata, encoding.BlobID) {
	md := &encoding.Metadata{EncodingType: encoding.RS2, UnencodedLength: 1000}
	for i := range 4 {
		var p, s encoding.Hash
		for k := range p {
			p[k], s[k] = byte(0x10*i+1), byte(0x10*i+2)
		}
		md.Hashes = append(md.Hashes, encoding.SliverPairHashes{Primary: p, Secondary: s})
	}
	return md, md.BlobID()
}

func goldenCases(tb testing.TB) []goldenCase {
	md, mdID := goldenMetadata()
	sliverP := encoding.Sliver{Axis: encoding.Primary, Index: 3, SymbolSize: 2, Data: []byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5}}
	sliverS := encoding.Sliver{Axis: encoding.Secondary, Index: 0x0102, SymbolSize: 2, Data: []byte{0xb0, 0xb1, 0xb2, 0xb3}}
	obj := [32]byte{0xee, 0xee, 0xee, 0xee}
	sym := func(src, target uint16) bcsRecoverySymbol {
		return bcsRecoverySymbol{SourceAxis: encoding.Secondary, SourceIndex: src, TargetIndex: target,
			Data: []byte{byte(src), byte(target)}, Proof: encoding.MerkleProof{{0xf1}, {0xf2}}}
	}
	confirmMsg := append(append([]byte{1, 0, 3, 5, 0, 0, 0}, blobID1[:]...), 0) // intent, epoch 5, blob ID, permanent
	busy := wireErrorFor(fmt.Errorf("%w: 64 requests in flight", ErrBusy), MaxErrorMessageLen)

	one := func(title string, payload []byte, dissect func(*bcstest.Dump), decode func([]byte) ([]byte, error)) []goldenPart {
		return []goldenPart{{title, payload, dissect, decode}}
	}
	blobRequestCase := func(name, title string) goldenCase {
		return goldenCase{name, one(title, encodeBCS(&blobRequest{BlobID: blobID1}), dissectBlobRequest, roundTrip[blobRequest])}
	}
	cases := []goldenCase{
		{"metadata-put-request", one("metadata/put request: blob_id ‖ Metadata",
			encodeBCS(&metadataPutRequest{BlobID: mdID, Metadata: bcsMetadata{md}}),
			func(d *bcstest.Dump) { dissectBlobID(d); dissectMetadata(d) }, roundTrip[metadataPutRequest])},
		{"metadata-put-response", one("metadata/put response: Result<()>, Ok", encodeOK(&unit{}),
			func(d *bcstest.Dump) { dissectResult(d, func(*bcstest.Dump) {}) }, roundTripResult[unit])},
		blobRequestCase("metadata-get-request", "metadata/get request: blob_id"),
		{"metadata-get-response", one("metadata/get response: Result<Metadata>, Ok", encodeOK(&bcsMetadata{md}),
			func(d *bcstest.Dump) { dissectResult(d, dissectMetadata) }, roundTripResult[bcsMetadata])},
		{"sliver-put-header", one("sliver/put header: blob_id ‖ count u32", encodeBCS(&sliverPutHeader{BlobID: blobID1, Count: 2}),
			func(d *bcstest.Dump) { dissectBlobID(d); d.U32("count") }, roundTrip[sliverPutHeader])},
		{"sliver-put-frame", one("sliver/put sliver frame: axis u8 ‖ Sliver", encodeSliverPutFrame(&sliverS),
			dissectSliverPutFrame, roundTripSliverPutFrame)},
		{"sliver-put-stream", []goldenPart{{
			"sliver/put request stream, as Client.PutSlivers writes it: header frame, then one frame per sliver",
			sliverPutStream(tb, blobID1, []encoding.Sliver{sliverP, sliverS}),
			dissectSliverPutStream, roundTripSliverPutStream}}},
		{"sliver-put-response", append(
			one("sliver/put response: Result<vector<(axis u8 ‖ index u16 ‖ Error)>>, two refused",
				encodeOK(&sliverPutResponse{Rejected: bcsVec[sliverFailure]{
					{Axis: 0, Index: 3, Error: wireErrorFor(fmt.Errorf("%w: shard 3", ErrNotAssigned), MaxErrorMessageLen)},
					{Axis: 1, Index: 0x0102, Error: wireErrorFor(fmt.Errorf("%w: hash mismatch", ErrInvalid), MaxErrorMessageLen)},
				}}),
				func(d *bcstest.Dump) { dissectResult(d, dissectSliverPutResponse) }, roundTripResult[sliverPutResponse]),
			one("sliver/put response: none refused", encodeOK(&sliverPutResponse{}),
				func(d *bcstest.Dump) { dissectResult(d, dissectSliverPutResponse) }, roundTripResult[sliverPutResponse])...)},
		{"sliver-get-request", one("sliver/get request: blob_id ‖ axis u8 ‖ vector<u16> indices",
			encodeBCS(&sliverGetRequest{BlobID: blobID1, Axis: 1, Indices: bcsVec[uint16]{1, 300}}),
			func(d *bcstest.Dump) { dissectBlobID(d); dissectAxis(d, "axis"); dissectIndices(d) }, roundTrip[sliverGetRequest])},
		{"sliver-get-frames", append(
			one("sliver/get response frame: Result<Sliver>, Ok", encodeSliverGetFrame(&sliverS),
				func(d *bcstest.Dump) { dissectResult(d, dissectSliver) }, roundTripSliverGetFrame(encoding.Secondary)),
			one("sliver/get response frame: Result<Sliver>, Err", encodeSliverGetErrFrame(wireErrorFor(ErrNotFound, MaxErrorMessageLen)),
				func(d *bcstest.Dump) { dissectResult(d, dissectSliver) }, roundTripSliverGetFrame(encoding.Secondary))...)},
		{"sliver-get-stream", []goldenPart{{
			"sliver/get response stream for indices [0x0102, 7]: one frame per index, in order",
			sliverGetStream(tb, []any{&sliverS, wireErrorFor(fmt.Errorf("%w: sliver 7", ErrNotFound), MaxErrorMessageLen)}),
			dissectSliverGetStream, roundTripSliverGetStream}}},
		{"confirmation-get-request", append(
			one("confirmation/get request: blob_id ‖ epoch u32 ‖ Option<[32]u8> object_id, permanent",
				encodeBCS(&ConfirmationRequest{BlobID: blobID1, Epoch: 5}), dissectConfirmationRequest, roundTrip[ConfirmationRequest]),
			one("confirmation/get request, deletable",
				encodeBCS(&ConfirmationRequest{BlobID: blobID1, Epoch: 5, ObjectID: &obj}), dissectConfirmationRequest, roundTrip[ConfirmationRequest])...)},
		{"confirmation-get-response", one("confirmation/get response: Result<vector<u8> message ‖ vector<u8> signature>, Ok",
			encodeOK(&confirmationWire{Message: confirmMsg, Signature: bytes.Repeat([]byte{0xcc}, 96)}),
			func(d *bcstest.Dump) {
				dissectResult(d, func(d *bcstest.Dump) {
					d.Bytes("message", MaxRequestFrameSize)
					d.Bytes("signature", MaxRequestFrameSize)
				})
			}, roundTripResult[confirmationWire])},
		{"recovery-get-request", one("recovery/get request: blob_id ‖ axis u8 ‖ vector<u16> indices (targets)",
			encodeBCS(&recoveryRequest{BlobID: blobID1, Axis: 0, Indices: bcsVec[uint16]{7}}),
			func(d *bcstest.Dump) { dissectBlobID(d); dissectAxis(d, "axis"); dissectIndices(d) }, roundTrip[recoveryRequest])},
		{"symbols-get-request", one("symbols/get request: blob_id ‖ axis u8 ‖ index u16 ‖ vector<u16> positions",
			encodeBCS(&symbolsRequest{BlobID: blobID1, Axis: 0, Index: 17, Positions: bcsVec[uint16]{4, 5}}),
			func(d *bcstest.Dump) {
				dissectBlobID(d)
				dissectAxis(d, "axis")
				d.U16("index")
				dissectIndices(d)
			}, roundTrip[symbolsRequest])},
		{"recovery-get-response", one("recovery/get response: Result<vector<RecoverySymbol>>, Ok",
			encodeOK(&recoveryResponse{Symbols: bcsVec[bcsRecoverySymbol]{sym(2, 7), sym(5, 7)}}),
			func(d *bcstest.Dump) {
				dissectResult(d, func(d *bcstest.Dump) {
					n := d.Length("symbols", MaxRecoveryFrameSize)
					for i := range n {
						d.Comment("symbol %d", i)
						d.Indent(func() { dissectSymbol(d) })
					}
				})
			}, roundTripResult[recoveryResponse])},
		blobRequestCase("status-get-request", "status/get request: blob_id"),
		{"status-get-response", one("status/get response: Result<epoch u32 ‖ state u8 ‖ end_epoch u32 ‖ has_metadata bool ‖ shards u32 ‖ stored_slivers u32>, Ok",
			encodeOK(&BlobStatus{Epoch: 7, State: BlobCertified, EndEpoch: 12, HasMetadata: true, Shards: 4, StoredSlivers: 8}),
			func(d *bcstest.Dump) { dissectResult(d, dissectStatus) }, roundTripResult[BlobStatus])},
		{"error-response", one("an error response, the same for every protocol: Result<T>, Err", encodeErr(busy),
			func(d *bcstest.Dump) { dissectResult(d, nil) }, roundTripResult[unit])},
	}
	// One error response per code, as a Server makes it of the sentinel.
	var codes []goldenPart
	for _, s := range []error{ErrNotFound, ErrNotAssigned, ErrNotRegistered, ErrInvalid, ErrTooLarge, ErrBusy, ErrInternal} {
		we := wireErrorFor(s, MaxErrorMessageLen)
		codes = append(codes, one(fmt.Sprintf("%s: the error response for %q", ErrorCode(we.Code), s), encodeErr(we),
			func(d *bcstest.Dump) { dissectResult(d, nil) }, roundTripResult[unit])...)
	}
	cases = append(cases, goldenCase{"error-codes", codes})
	return append(cases, shardSyncGoldenCases(tb)...)
}

// Round trips through this package's decoders.

func roundTrip[T any](b []byte) ([]byte, error) {
	var v T
	if err := decodeBCS(b, &v); err != nil {
		return nil, err
	}
	if val, ok := any(&v).(validator); ok {
		if err := val.validate(); err != nil {
			return nil, err
		}
	}
	return encodeBCS(&v), nil
}

func roundTripResult[T any](b []byte) ([]byte, error) {
	v, rerr, err := decodeResult[T](b)
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return encodeErr(wireError{Code: uint8(rerr.Code), Message: bcsString(rerr.Message)}), nil
	}
	if val, ok := any(v).(validator); ok {
		if err := val.validate(); err != nil {
			return nil, err
		}
	}
	return encodeOK(v), nil
}

func roundTripSliverPutFrame(b []byte) ([]byte, error) {
	s, err := decodeSliverPutFrame(b)
	if err != nil {
		return nil, err
	}
	return encodeSliverPutFrame(&s), nil
}

func roundTripSliverGetFrame(axis encoding.Axis) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		s, rerr, err := decodeSliverGetFrame(axis, b)
		switch {
		case err != nil:
			return nil, err
		case rerr != nil:
			return encodeSliverGetErrFrame(wireError{Code: uint8(rerr.Code), Message: bcsString(rerr.Message)}), nil
		}
		return encodeSliverGetFrame(&s), nil
	}
}

// sliverPutStream writes a sliver/put request stream as Client.PutSlivers
// does: the header frame, then each sliver's frame head, data and tail.
func sliverPutStream(tb testing.TB, id encoding.BlobID, slivers []encoding.Sliver) []byte {
	var b bytes.Buffer
	if err := writeFrame(&b, encodeBCS(&sliverPutHeader{BlobID: id, Count: uint32(len(slivers))})); err != nil {
		tb.Fatal(err)
	}
	for i := range slivers {
		head, _ := sliverPutFrameHead(&slivers[i])
		b.Write(head)
		b.Write(slivers[i].Data)
		b.Write(sliverTail(&slivers[i]))
	}
	return b.Bytes()
}

func roundTripSliverPutStream(b []byte) ([]byte, error) {
	f := newFrameReader(bytes.NewReader(b), nil)
	hb, err := f.next(MaxRequestFrameSize, false)
	if err != nil {
		return nil, err
	}
	var hdr sliverPutHeader
	if err := decodeBCS(hb, &hdr); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	_ = writeFrame(&out, encodeBCS(&hdr))
	for range hdr.Count {
		fb, err := f.next(MaxSliverFrameSize, false)
		if err != nil {
			return nil, err
		}
		s, err := decodeSliverPutFrame(fb)
		if err != nil {
			return nil, err
		}
		_ = writeFrame(&out, encodeSliverPutFrame(&s))
	}
	if _, err := f.next(MaxSliverFrameSize, false); err == nil {
		return nil, fmt.Errorf("a frame after the last sliver")
	}
	return out.Bytes(), nil
}

// sliverGetStream writes a sliver/get response stream as a Server does: a
// frame per index, the sliver (*encoding.Sliver, streamed from its Data) or
// the error (wireError).
func sliverGetStream(tb testing.TB, frames []any) []byte {
	var b bytes.Buffer
	for _, f := range frames {
		switch f := f.(type) {
		case *encoding.Sliver:
			head, _ := sliverGetFrameHead(f)
			b.Write(head)
			b.Write(f.Data)
			b.Write(sliverTail(f))
		case wireError:
			if err := writeFrame(&b, encodeSliverGetErrFrame(f)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return b.Bytes()
}

func roundTripSliverGetStream(b []byte) ([]byte, error) {
	f := newFrameReader(bytes.NewReader(b), nil)
	var out bytes.Buffer
	for {
		fb, err := f.next(MaxSliverFrameSize, false)
		if err != nil {
			return out.Bytes(), nil // the end of the stream
		}
		again, err := roundTripSliverGetFrame(encoding.Secondary)(fb)
		if err != nil {
			return nil, err
		}
		_ = writeFrame(&out, again)
	}
}

// Dissectors: the layouts of doc.go, field by field.

func dissectBlobID(d *bcstest.Dump) { d.Fixed("blob_id", len(encoding.BlobID{})) }

func dissectBlobRequest(d *bcstest.Dump) { dissectBlobID(d) }

func dissectAxis(d *bcstest.Dump, name string) {
	a := d.U8(name)
	d.Note("%s", encoding.Axis(a))
}

func dissectIndices(d *bcstest.Dump) {
	n := d.Length("indices", MaxSliversPerRequest)
	d.Indent(func() {
		for i := range n {
			d.U16(fmt.Sprintf("[%d]", i))
		}
	})
}

// dissectResult reads Result<T>: ok dissects T (nil: the value must not be
// Ok).
func dissectResult(d *bcstest.Dump, ok func(*bcstest.Dump)) {
	names := []string{"Ok", "Err"}
	if ok == nil {
		names = []string{"(Ok not expected)", "Err"}
	}
	switch d.Variant("result", names...) {
	case 0:
		if ok != nil {
			d.Indent(func() { ok(d) })
		}
	case 1:
		d.Indent(func() { dissectError(d) })
	}
}

func dissectError(d *bcstest.Dump) {
	c := d.U8("code")
	d.Note("%s", ErrorCode(c))
	d.String("message", MaxErrorMessageLen)
}

func dissectMetadata(d *bcstest.Dump) {
	d.Variant("metadata", "V1")
	d.Indent(func() {
		if t := d.U8("encoding_type"); encoding.EncodingType(t) == encoding.RS2 {
			d.Note("RS2")
		}
		d.U64("unencoded_length")
		n := d.Length("sliver pairs", encoding.MaxShards)
		for i := range n {
			d.Indent(func() {
				d.Variant(fmt.Sprintf("pair %d primary hash", i), "Empty", "Digest")
				d.Fixed("digest", len(encoding.Hash{}))
				d.Variant(fmt.Sprintf("pair %d secondary hash", i), "Empty", "Digest")
				d.Fixed("digest", len(encoding.Hash{}))
			})
		}
	})
}

func dissectSliver(d *bcstest.Dump) {
	d.Bytes("data", MaxSliverFrameSize)
	d.U16("symbol_size")
	d.U16("index")
}

func dissectSliverPutFrame(d *bcstest.Dump) {
	dissectAxis(d, "axis")
	dissectSliver(d)
}

func dissectSliverPutStream(d *bcstest.Dump) {
	var count uint32
	n := d.Length("frame length", MaxRequestFrameSize)
	d.Sub("header frame", n, func(d *bcstest.Dump) { dissectBlobID(d); count = d.U32("count") })
	for i := range count {
		n := d.Length("frame length", MaxSliverFrameSize)
		d.Sub(fmt.Sprintf("sliver frame %d", i), n, dissectSliverPutFrame)
	}
}

func dissectSliverGetStream(d *bcstest.Dump) {
	for i := 0; d.Remaining() > 0; i++ {
		n := d.Length("frame length", MaxSliverFrameSize)
		d.Sub(fmt.Sprintf("frame %d", i), n, func(d *bcstest.Dump) { dissectResult(d, dissectSliver) })
	}
}

func dissectSliverPutResponse(d *bcstest.Dump) {
	n := d.Length("refused", MaxSliversPerRequest)
	for i := range n {
		d.Indent(func() {
			dissectAxis(d, fmt.Sprintf("[%d] axis", i))
			d.U16("index")
			dissectError(d)
		})
	}
}

func dissectConfirmationRequest(d *bcstest.Dump) {
	dissectBlobID(d)
	d.U32("epoch")
	if d.Option("object_id") {
		d.Indent(func() { d.Fixed("object_id", 32) })
	}
}

func dissectSymbol(d *bcstest.Dump) {
	dissectAxis(d, "source_axis")
	d.U16("source_index")
	d.U16("target_index")
	d.Bytes("data", encoding.MaxSymbolSize)
	n := d.Length("proof", encoding.MaxProofLen)
	d.Indent(func() {
		for i := range n {
			d.Fixed(fmt.Sprintf("[%d]", i), len(encoding.Hash{}))
		}
	})
}

func dissectStatus(d *bcstest.Dump) {
	d.U32("epoch")
	s := d.U8("state")
	d.Note("%s", BlobState(s))
	d.U32("end_epoch")
	d.Bool("has_metadata")
	d.U32("shards")
	d.U32("stored_slivers")
}
