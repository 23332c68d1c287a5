package p2p

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/fardream/go-bcs/bcs"

	"github.com/walrus-go/walrus/encoding"
)

// blobID1 is 0x01, 0x02, ..., 0x20.
var blobID1 = func() (id encoding.BlobID) {
	for i := range id {
		id[i] = byte(i + 1)
	}
	return id
}()

const blobID1Hex = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestMessageLayouts pins the wire layout of every message (doc.go).
func TestMessageLayouts(t *testing.T) {
	obj := [32]byte{0xee}
	sliver := encoding.Sliver{Axis: encoding.Secondary, Index: 0x0102, SymbolSize: 2, Data: []byte{0xa, 0xb, 0xc, 0xd}}
	sym := encoding.RecoverySymbol{SourceAxis: encoding.Primary, SourceIndex: 3, TargetIndex: 9, Data: []byte{1, 2}, Proof: encoding.MerkleProof{{0xff}}}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"blob request", encodeBCS(&blobRequest{BlobID: blobID1}), blobID1Hex},
		{"sliver/put header", encodeBCS(&sliverPutHeader{BlobID: blobID1, Count: 3}), blobID1Hex + "03000000"},
		{"sliver/put frame", encodeSliverPutFrame(&sliver), "01 04 0a0b0c0d 0200 0201"},
		{"sliver/get request", encodeBCS(&sliverGetRequest{BlobID: blobID1, Axis: 1, Indices: bcsVec[uint16]{1, 300}}),
			blobID1Hex + "01 02 0100 2c01"},
		{"sliver/get ok frame", encodeSliverGetFrame(&sliver), "00 04 0a0b0c0d 0200 0201"},
		{"sliver/get err frame", encodeSliverGetErrFrame(wireError{Code: 1, Message: "no"}), "01 01 02 6e6f"},
		{"ack", encodeOK(&unit{}), "00"},
		{"error", encodeErr(wireError{Code: uint8(CodeBusy), Message: "busy"}), "01 06 04 62757379"},
		{"sliver/put response", encodeOK(&sliverPutResponse{Rejected: bcsVec[sliverFailure]{
			{Axis: 1, Index: 5, Error: wireError{Code: 2, Message: "x"}}}}), "00 01 01 0500 02 01 78"},
		{"sliver/put response, none rejected", encodeOK(&sliverPutResponse{}), "00 00"},
		{"confirmation request, permanent", encodeBCS(&ConfirmationRequest{BlobID: blobID1, Epoch: 5}), blobID1Hex + "05000000 00"},
		{"confirmation request, deletable", encodeBCS(&ConfirmationRequest{BlobID: blobID1, Epoch: 5, ObjectID: &obj}),
			blobID1Hex + "05000000 01 ee" + strings.Repeat("00", 31)},
		{"confirmation", encodeOK(&confirmationWire{Message: []byte{0xaa, 0xbb}, Signature: []byte{0xcc}}), "00 02 aabb 01 cc"},
		{"recovery request", encodeBCS(&recoveryRequest{BlobID: blobID1, Axis: 0, Indices: bcsVec[uint16]{7}}), blobID1Hex + "00 01 0700"},
		{"symbols request", encodeBCS(&symbolsRequest{BlobID: blobID1, Axis: 1, Index: 0x0102, Positions: bcsVec[uint16]{7, 8}}), blobID1Hex + "01 0201 02 0700 0800"},
		{"recovery response", encodeOK(&recoveryResponse{Symbols: bcsVec[bcsRecoverySymbol]{bcsRecoverySymbol(sym)}}),
			"00 01 00 0300 0900 02 0102 01 ff" + strings.Repeat("00", 31)},
		{"status", encodeOK(&BlobStatus{Epoch: 7, State: BlobCertified, EndEpoch: 12, HasMetadata: true, Shards: 4, StoredSlivers: 8}),
			"00 07000000 02 0c000000 01 04000000 08000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := unhex(t, tt.want); !bytes.Equal(tt.got, want) {
				t.Errorf("got  %x\nwant %x", tt.got, want)
			}
		})
	}
}

// TestMetadataMessagesUseEncodingLayout checks that metadata appears in
// messages exactly in encoding's BCS form.
func TestMetadataMessagesUseEncodingLayout(t *testing.T) {
	_, eb := testBlob(t, 10, 1000, 1)
	md := eb.Metadata.MarshalBCS()
	put := encodeBCS(&metadataPutRequest{BlobID: eb.BlobID, Metadata: bcsMetadata{eb.Metadata}})
	if want := append(eb.BlobID[:], md...); !bytes.Equal(put, want) {
		t.Errorf("metadata/put request is not blob_id ‖ metadata:\ngot  %x\nwant %x", put, want)
	}
	get := encodeOK(&bcsMetadata{eb.Metadata})
	if want := append([]byte{0}, md...); !bytes.Equal(get, want) {
		t.Errorf("metadata/get response is not 0x00 ‖ metadata")
	}
	var back metadataPutRequest
	if err := decodeBCS(put, &back); err != nil {
		t.Fatal(err)
	}
	if back.BlobID != eb.BlobID || !bytes.Equal(back.Metadata.Metadata.MarshalBCS(), md) {
		t.Errorf("metadata/put request does not round-trip")
	}
}

// TestSliverFramesAreBCS checks that the hand-written sliver frames are what
// go-bcs makes of the same structs.
func TestSliverFramesAreBCS(t *testing.T) {
	type sliverData struct {
		Data       []byte
		SymbolSize uint16
		Index      uint16
	}
	for _, size := range []int{0, 2, 200, 70000} {
		s := encoding.Sliver{Axis: encoding.Secondary, Index: 77, SymbolSize: 2, Data: bytes.Repeat([]byte{0x5a}, size)}
		want, err := bcs.Marshal(&struct {
			Axis       uint8
			Data       []byte
			SymbolSize uint16
			Index      uint16
		}{1, s.Data, 2, 77})
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeSliverPutFrame(&s); !bytes.Equal(got, want) {
			t.Errorf("size %d: put frame differs from go-bcs", size)
		}
		head, n := sliverPutFrameHead(&s)
		streamed := append(append(append([]byte(nil), head...), s.Data...), sliverTail(&s)...)
		if !bytes.Equal(streamed, frameOf(want)) || n != len(want) {
			t.Errorf("size %d: streamed put frame differs from go-bcs", size)
		}
		wantGet, err := bcs.Marshal(&result[sliverData]{Ok: &sliverData{s.Data, 2, 77}})
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeSliverGetFrame(&s); !bytes.Equal(got, wantGet) {
			t.Errorf("size %d: get frame differs from go-bcs", size)
		}
		head, n = sliverGetFrameHead(&s)
		streamed = append(append(append([]byte(nil), head...), s.Data...), sliverTail(&s)...)
		if !bytes.Equal(streamed, frameOf(wantGet)) || n != len(wantGet) {
			t.Errorf("size %d: streamed get frame differs from go-bcs", size)
		}
	}
}

// TestDecodeRejects checks that bad payloads fail with ErrMalformed.
func TestDecodeRejects(t *testing.T) {
	status := unhex(t, "00 07000000 02 0c000000 01 04000000 08000000")
	tests := []struct {
		name    string
		payload string
		decode  func([]byte) error
	}{
		{"blob request short", blobID1Hex[:62], decodeInto[blobRequest]},
		{"blob request trailing", blobID1Hex + "00", decodeInto[blobRequest]},
		{"empty", "", decodeInto[blobRequest]},
		{"non-canonical bool", hex.EncodeToString(status[:10]) + "02" + hex.EncodeToString(status[11:]), decodeResultOf[BlobStatus]},
		{"unknown blob state", "00 07000000 09 0c000000 01 04000000 08000000", decodeResultOf[BlobStatus]},
		{"option tag 2", blobID1Hex + "05000000 02" + strings.Repeat("00", 32), decodeInto[ConfirmationRequest]},
		{"result tag 2", "02", decodeResultOf[unit]},
		{"error code 0", "01 00 00", decodeResultOf[unit]},
		{"error message past the end", "01 01 05 6e6f", decodeResultOf[unit]},
		{"non-minimal vector length", blobID1Hex + "01 8000", decodeInto[sliverGetRequest]},
		{"vector length over u32", blobID1Hex + "01 ffffffff7f", decodeInto[sliverGetRequest]},
		{"vector longer than the frame", blobID1Hex + "01 05 0100", decodeInto[sliverGetRequest]},
		{"axis 2", blobID1Hex + "02 01 0100", decodeValid[sliverGetRequest]},
		{"recovery axis 2", blobID1Hex + "02 01 0100", decodeValid[recoveryRequest]},
		{"symbols axis 2", blobID1Hex + "02 0000 01 0100", decodeValid[symbolsRequest]},
		{"symbols index truncated", blobID1Hex + "00 00", decodeInto[symbolsRequest]},
		{"rejected sliver axis 2", "00 01 02 0500 02 00", decodeValidResult[sliverPutResponse]},
		{"rejected sliver code 0", "00 01 01 0500 00 00", decodeValidResult[sliverPutResponse]},
		{"metadata truncated", blobID1Hex + "00 01 0000000000000000 0a", decodeInto[metadataPutRequest]},
		{"metadata too many pairs", blobID1Hex + "00 01 0000000000000000 ffff03", decodeInto[metadataPutRequest]},
		{"recovery symbol past the end", "00 01 00 0300 0900 09 0102 00", decodeResultOf[recoveryResponse]},
		{"recovery proof too long", "00 01 00 0300 0900 02 0102 11" + strings.Repeat("00", 17*32), decodeResultOf[recoveryResponse]},
		{"sliver put frame empty", "", func(b []byte) error { _, err := decodeSliverPutFrame(b); return err }},
		{"sliver put frame axis 2", "02 02 0a0b 0200 0100", func(b []byte) error { _, err := decodeSliverPutFrame(b); return err }},
		{"sliver put frame odd symbol size", "00 02 0a0b 0300 0100", func(b []byte) error { _, err := decodeSliverPutFrame(b); return err }},
		{"sliver put frame trailing", "00 02 0a0b 0200 0100 00", func(b []byte) error { _, err := decodeSliverPutFrame(b); return err }},
		{"sliver get frame tag 2", "02 02 0a0b 0200 0100", func(b []byte) error { _, _, err := decodeSliverGetFrame(0, b); return err }},
		{"sliver get frame error code 0", "01 00 00", func(b []byte) error { _, _, err := decodeSliverGetFrame(0, b); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(unhex(t, tt.payload))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func decodeInto[T any](b []byte) error {
	var v T
	return decodeBCS(b, &v)
}

type validator interface{ validate() error }

func decodeValid[T any](b []byte) error {
	var v T
	if err := decodeBCS(b, &v); err != nil {
		return err
	}
	return any(&v).(validator).validate()
}

func decodeResultOf[T any](b []byte) error {
	v, _, err := decodeResult[T](b)
	if err == nil && v != nil {
		if val, ok := any(v).(validator); ok {
			return val.validate()
		}
	}
	return err
}

func decodeValidResult[T any](b []byte) error {
	v, _, err := decodeResult[T](b)
	if err != nil {
		return err
	}
	return any(v).(validator).validate()
}

// TestDecodeBoundsAllocation checks that lengths from the input never size an
// allocation beyond what the frame holds.
func TestDecodeBoundsAllocation(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		decode  func([]byte) error
	}{
		// A byte vector that claims 4 GiB.
		{"byte vector", unhex(t, "00 ffffffff0f"), decodeResultOf[confirmationWire]},
		// An index vector that claims 2^32−1 elements.
		{"index vector", unhex(t, blobID1Hex+"00 ffffffff0f 0100"), decodeInto[sliverGetRequest]},
		// A failure vector that claims 2^32−1 elements, in a frame of
		// plausible ones.
		{"failure vector", append(unhex(t, "00 ffffffff0f"), bytes.Repeat(unhex(t, "01 0500 02 00"), 1000)...), decodeResultOf[sliverPutResponse]},
		// An error message that claims 4 GiB.
		{"error message", unhex(t, "01 01 ffffffff0f"), decodeResultOf[unit]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := tt.decode(tt.payload)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("decoding %d bytes allocated %d bytes", len(tt.payload), got)
			}
		})
	}
}

// TestRemoteErrorMatchesSentinel checks the code ↔ sentinel mapping both ways.
func TestRemoteErrorMatchesSentinel(t *testing.T) {
	tests := []struct {
		err  error
		code ErrorCode
	}{
		{ErrNotFound, CodeNotFound},
		{ErrNotAssigned, CodeNotAssigned},
		{ErrNotRegistered, CodeNotRegistered},
		{ErrInvalid, CodeInvalid},
		{ErrTooLarge, CodeTooLarge},
		{ErrBusy, CodeBusy},
		{ErrInternal, CodeInternal},
		{encoding.ErrInvalidSliver, CodeInvalid},
		{encoding.ErrMetadataMismatch, CodeInvalid},
		{ErrFrameTooLarge, CodeTooLarge},
		{ErrTruncated, CodeInvalid},
		{errors.New("disk on fire"), CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			we := wireErrorFor(tt.err, MaxErrorMessageLen)
			if ErrorCode(we.Code) != tt.code {
				t.Fatalf("code = %v, want %v", ErrorCode(we.Code), tt.code)
			}
			re := we.remote()
			if !errors.Is(re, tt.code.sentinel()) {
				t.Errorf("%v does not match %v", re, tt.code.sentinel())
			}
			if _, typed := codeOf(tt.err); !typed && we.Message != "internal error" {
				t.Errorf("an untyped error's text went on the wire: %q", we.Message)
			}
		})
	}
	if re := (&RemoteError{Code: 200}); !errors.Is(re, ErrInternal) || errors.Is(re, ErrNotFound) {
		t.Errorf("an unknown code should match ErrInternal only")
	}
}

func TestTruncateMessage(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "h"}, // é is two bytes: not split
		{"h\xffi", 10, "h\uFFFDi"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := truncateMessage(tt.in, tt.n); got != tt.want {
			t.Errorf("truncateMessage(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestFitFailures(t *testing.T) {
	fs := make([]sliverFailure, MaxSliversPerRequest)
	long := bcsString(strings.Repeat("m", MaxErrorMessageLen))
	for i := range fs {
		fs[i] = sliverFailure{Axis: 1, Index: uint16(i), Error: wireError{Code: uint8(CodeNotAssigned), Message: long}}
	}
	fitFailures(fs, MaxRequestFrameSize)
	b := encodeOK(&sliverPutResponse{Rejected: fs})
	if len(b) > MaxRequestFrameSize {
		t.Fatalf("response of %d failures is %d bytes, over %d", len(fs), len(b), MaxRequestFrameSize)
	}
	v, _, err := decodeResult[sliverPutResponse](b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Rejected) != len(fs) || v.Rejected[len(fs)-1].Index != uint16(len(fs)-1) || ErrorCode(v.Rejected[0].Error.Code) != CodeNotAssigned {
		t.Errorf("failures lost in fitting")
	}

	few := []sliverFailure{{Error: wireError{Code: 1, Message: long}}}
	fitFailures(few, MaxRequestFrameSize)
	if few[0].Error.Message != long {
		t.Errorf("a single failure's message was cut")
	}
}

// TestEncodeSymbolsOK checks the hand-built symbols answer against go-bcs's
// encoding of the same recoveryResponse, and its size against
// symbolsOKSize, for no symbols, one, and many real ones (long data and
// proofs, lengths past one ULEB128 byte).
func TestEncodeSymbolsOK(t *testing.T) {
	codec, eb := testBlob(t, 10, 50000, 5)
	many, err := codec.RecoverySymbols(eb.Metadata, &eb.Primary[2], []int{0, 3, 5, 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, syms := range [][]encoding.RecoverySymbol{nil, many[:1], many} {
		resp := recoveryResponse{Symbols: make(bcsVec[bcsRecoverySymbol], len(syms))}
		for i := range syms {
			resp.Symbols[i] = bcsRecoverySymbol(syms[i])
		}
		want := encodeOK(&resp)
		size := symbolsOKSize(syms)
		got := encodeSymbolsOK(syms, size)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d symbols: %d bytes, go-bcs's %d; first bytes %x, want %x", len(syms), len(got), len(want), got[:min(16, len(got))], want[:min(16, len(want))])
		}
		if size != len(want) {
			t.Fatalf("%d symbols: symbolsOKSize %d, encoding %d bytes", len(syms), size, len(want))
		}
	}
}
