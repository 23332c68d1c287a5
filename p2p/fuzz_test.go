package p2p

import (
	"bytes"
	"errors"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// Fuzz targets for every decoder of untrusted bytes: the frame reader and each
// message. Each is seeded with valid encodings; the property is that input
// which decodes re-encodes to the same bytes (the decoders accept canonical
// BCS only), and that nothing panics or over-allocates.

func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	writeFrame(&b, []byte("hello"))
	writeFrame(&b, bytes.Repeat([]byte{1}, 300))
	f.Add(b.Bytes())
	f.Add([]byte{0x80, 0x00})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x05, 'a'})
	f.Fuzz(func(t *testing.T, in []byte) {
		max := 1024
		sc := &countingScope{}
		fr := newFrameReader(bytes.NewReader(in), sc)
		var again bytes.Buffer
		mode := len(in) % 4 // next reusing its buffer, next, nextOwned, nextOwnedAligned
		if mode == 3 {
			max = 3 * ownedAlign
		}
		for {
			var p []byte
			var err error
			switch mode {
			case 2:
				p, err = fr.nextOwned(max)
			case 3:
				p, err = fr.nextOwnedAligned(max, sliverPutDataAt)
			default:
				p, err = fr.next(max, mode == 0)
			}
			if err == nil && mode == 2 && sc.reserved != len(p) {
				t.Fatalf("nextOwned holds %d bytes reserved for a frame of %d", sc.reserved, len(p))
			}
			if err == nil && mode == 3 {
				want := len(p)
				if at := sliverPutDataAt(len(p)); len(p) >= ownedAlign && at >= 0 {
					want = frameBufferSize(len(p) + ownedAlign)
					if a := addr(p[at:]) % ownedAlign; a != 0 {
						t.Fatalf("frame of %d bytes: byte %d at %d past an aligned address", len(p), at, a)
					}
				}
				if sc.reserved != want {
					t.Fatalf("nextOwnedAligned holds %d bytes reserved for a frame of %d, want %d", sc.reserved, len(p), want)
				}
			}
			if err != nil {
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("untyped error %v", err)
				}
				break
			}
			if len(p) > max {
				t.Fatalf("frame of %d bytes over the cap", len(p))
			}
			writeFrame(&again, p)
		}
		if !bytes.HasPrefix(in, again.Bytes()) {
			t.Fatalf("frames read do not re-encode to a prefix of the input")
		}
		fr.release()
		if sc.reserved != 0 {
			t.Fatalf("%d bytes still reserved", sc.reserved)
		}
	})
}

// fuzzStruct fuzzes decodeBCS into a T, plus its validate method if any.
func fuzzStruct[T any](f *testing.F, seeds ...*T) {
	for _, s := range seeds {
		f.Add(encodeBCS(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var v T
		if err := decodeBCS(in, &v); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if val, ok := any(&v).(validator); ok && val.validate() != nil {
			return
		}
		if out := encodeBCS(&v); !bytes.Equal(out, in) {
			t.Fatalf("round trip: in %x, out %x", in, out)
		}
	})
}

// fuzzResult fuzzes decodeResult[T].
func fuzzResult[T any](f *testing.F, seeds ...*T) {
	for _, s := range seeds {
		f.Add(encodeOK(s))
	}
	f.Add(encodeErr(wireError{Code: uint8(CodeNotFound), Message: "no such blob"}))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, rerr, err := decodeResult[T](in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		var out []byte
		if rerr != nil {
			out = encodeErr(wireError{Code: uint8(rerr.Code), Message: bcsString(rerr.Message)})
		} else {
			if val, ok := any(v).(validator); ok && val.validate() != nil {
				return
			}
			out = encodeOK(v)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip: in %x, out %x", in, out)
		}
	})
}

func seedMetadata(f *testing.F) *encoding.Metadata {
	_, eb := testBlob(f, 4, 100, 3)
	return eb.Metadata
}

func seedSymbol() bcsRecoverySymbol {
	return bcsRecoverySymbol{SourceAxis: encoding.Secondary, SourceIndex: 2, TargetIndex: 1,
		Data: []byte{1, 2, 3, 4}, Proof: encoding.MerkleProof{{1}, {2}}}
}

func FuzzMetadataPutRequest(f *testing.F) {
	fuzzStruct(f, &metadataPutRequest{BlobID: blobID1, Metadata: bcsMetadata{seedMetadata(f)}})
}

func FuzzBlobRequest(f *testing.F) { fuzzStruct(f, &blobRequest{BlobID: blobID1}) }

func FuzzSliverPutHeader(f *testing.F) {
	fuzzStruct(f, &sliverPutHeader{BlobID: blobID1, Count: 12})
}

func FuzzSliverGetRequest(f *testing.F) {
	fuzzStruct(f, &sliverGetRequest{BlobID: blobID1, Axis: 1, Indices: bcsVec[uint16]{0, 5, 300}})
}

func FuzzConfirmationRequest(f *testing.F) {
	fuzzStruct(f, &ConfirmationRequest{BlobID: blobID1, Epoch: 3}, &ConfirmationRequest{BlobID: blobID1, Epoch: 3, ObjectID: &[32]byte{9}})
}

func FuzzRecoveryRequest(f *testing.F) {
	fuzzStruct(f, &recoveryRequest{BlobID: blobID1, Axis: 0, Indices: bcsVec[uint16]{4}})
}

func FuzzSymbolsRequest(f *testing.F) {
	fuzzStruct(f, &symbolsRequest{BlobID: blobID1, Axis: 0, Index: 17, Positions: bcsVec[uint16]{4, 5, 6}})
}

func FuzzAckResponse(f *testing.F) { fuzzResult(f, &unit{}) }

func FuzzMetadataResponse(f *testing.F) { fuzzResult(f, &bcsMetadata{seedMetadata(f)}) }

func FuzzSliverPutResponse(f *testing.F) {
	fuzzResult(f, &sliverPutResponse{}, &sliverPutResponse{Rejected: bcsVec[sliverFailure]{
		{Axis: 0, Index: 3, Error: wireError{Code: uint8(CodeNotAssigned), Message: "shard 3"}},
		{Axis: 1, Index: 9, Error: wireError{Code: uint8(CodeInvalid), Message: "hash"}},
	}})
}

func FuzzConfirmationResponse(f *testing.F) {
	fuzzResult(f, &confirmationWire{Message: []byte("message"), Signature: bytes.Repeat([]byte{7}, 96)})
}

func FuzzRecoveryResponse(f *testing.F) {
	fuzzResult(f, &recoveryResponse{}, &recoveryResponse{Symbols: bcsVec[bcsRecoverySymbol]{seedSymbol(), seedSymbol()}})
}

func FuzzStatusResponse(f *testing.F) {
	fuzzResult(f, &BlobStatus{Epoch: 1, State: BlobCertified, EndEpoch: 9, HasMetadata: true, Shards: 3, StoredSlivers: 6})
}

func FuzzSliverPutFrame(f *testing.F) {
	f.Add(encodeSliverPutFrame(&encoding.Sliver{Axis: 1, Index: 3, SymbolSize: 2, Data: []byte{1, 2, 3, 4}}))
	f.Add([]byte{0, 0, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := decodeSliverPutFrame(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if out := encodeSliverPutFrame(&s); !bytes.Equal(out, in) {
			t.Fatalf("round trip: in %x, out %x", in, out)
		}
	})
}

func FuzzSliverGetFrame(f *testing.F) {
	f.Add(encodeSliverGetFrame(&encoding.Sliver{Axis: 0, Index: 3, SymbolSize: 2, Data: []byte{1, 2, 3, 4}}))
	f.Add(encodeSliverGetErrFrame(wireError{Code: uint8(CodeNotAssigned), Message: "no"}))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, rerr, err := decodeSliverGetFrame(encoding.Primary, in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		var out []byte
		if rerr != nil {
			out = encodeSliverGetErrFrame(wireError{Code: uint8(rerr.Code), Message: bcsString(rerr.Message)})
		} else {
			out = encodeSliverGetFrame(&s)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip: in %x, out %x", in, out)
		}
	})
}

// FuzzDecodeSymbols holds decodeSymbols, the direct parse of a
// recovery/get or symbols/get answer, to go-bcs's strict decodeResult: the
// same symbols, the same peer error, or both refuse (as ErrMalformed).
func FuzzDecodeSymbols(f *testing.F) {
	two := []encoding.RecoverySymbol{encoding.RecoverySymbol(seedSymbol()), encoding.RecoverySymbol(seedSymbol())}
	f.Add(encodeSymbolsOK(nil, symbolsOKSize(nil)))
	f.Add(encodeSymbolsOK(two, symbolsOKSize(two)))
	f.Add(encodeErr(wireError{Code: uint8(CodeNotFound), Message: "no such blob"}))
	f.Add([]byte{0, 0x80, 0x00}) // a non-minimal length
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, gotErr := decodeSymbols(in)
		v, rerr, err := decodeResult[recoveryResponse](in)
		switch {
		case err != nil:
			if gotErr == nil || !errors.Is(gotErr, ErrMalformed) {
				t.Fatalf("go-bcs refuses (%v), decodeSymbols gives %d symbols, %v", err, len(got), gotErr)
			}
		case rerr != nil:
			var re *RemoteError
			if !errors.As(gotErr, &re) || *re != *rerr {
				t.Fatalf("go-bcs: peer error %v; decodeSymbols: %v", rerr, gotErr)
			}
		default:
			if gotErr != nil || len(got) != len(v.Symbols) {
				t.Fatalf("go-bcs: %d symbols; decodeSymbols: %d, %v", len(v.Symbols), len(got), gotErr)
			}
			for i := range got {
				a, b := got[i], encoding.RecoverySymbol(v.Symbols[i])
				if !bytes.Equal(a.MarshalBCS(), b.MarshalBCS()) {
					t.Fatalf("symbol %d differs", i)
				}
			}
		}
	})
}
