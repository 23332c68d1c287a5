package p2p

import (
	"encoding/binary"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

// Wire messages. Their layouts are documented in doc.go and pinned by
// messages_test.go and the golden files of testdata/wire (golden_test.go);
// they are part of the wire format.

// unit is BCS's empty tuple: the Ok value of an acknowledgement.
type unit struct{}

// wireError is the error of a response: a code and a message.
type wireError struct {
	Code    uint8
	Message bcsString
}

func (e *wireError) validate() error {
	if e.Code == 0 {
		return fmt.Errorf("%w: error code 0", ErrMalformed)
	}
	return nil
}

func (e *wireError) remote() *RemoteError {
	return &RemoteError{Code: ErrorCode(e.Code), Message: string(e.Message)}
}

// result is BCS's Result<T, Error>: variant 0 carries the value, variant 1
// the error.
type result[T any] struct {
	Ok  *T
	Err *wireError
}

func (result[T]) IsBcsEnum() {}

// encodeOK encodes the Ok variant of a result.
func encodeOK[T any](v *T) []byte { return encodeBCS(&result[T]{Ok: v}) }

// encodeErr encodes the Err variant of a result; it is the same bytes for
// every T.
func encodeErr(e wireError) []byte { return encodeBCS(&result[unit]{Err: &e}) }

// decodeResult decodes a result: the value, or the peer's error as a
// *RemoteError (the second return, with err nil).
func decodeResult[T any](b []byte) (*T, *RemoteError, error) {
	var r result[T]
	if err := decodeBCS(b, &r); err != nil {
		return nil, nil, err
	}
	if r.Err != nil {
		if err := r.Err.validate(); err != nil {
			return nil, nil, err
		}
		return nil, r.Err.remote(), nil
	}
	if r.Ok == nil {
		return nil, nil, fmt.Errorf("%w: empty result", ErrMalformed)
	}
	return r.Ok, nil, nil
}

// metadata/put request.
type metadataPutRequest struct {
	BlobID   encoding.BlobID
	Metadata bcsMetadata
}

// blobRequest is the request of metadata/get and status/get.
type blobRequest struct {
	BlobID encoding.BlobID
}

// sliverPutHeader is the first frame of sliver/put.
type sliverPutHeader struct {
	BlobID encoding.BlobID
	Count  uint32
}

// sliverPutResponse is the Ok value of sliver/put's response.
type sliverPutResponse struct {
	Rejected bcsVec[sliverFailure]
}

// sliverFailure reports one sliver a node did not store or could not serve.
type sliverFailure struct {
	Axis  uint8
	Index uint16
	Error wireError
}

func (r *sliverPutResponse) validate() error {
	for i := range r.Rejected {
		f := &r.Rejected[i]
		if f.Axis > uint8(encoding.Secondary) {
			return fmt.Errorf("%w: rejected sliver axis %d", ErrMalformed, f.Axis)
		}
		if err := f.Error.validate(); err != nil {
			return err
		}
	}
	return nil
}

// sliverGetRequest is the request of sliver/get.
type sliverGetRequest struct {
	BlobID  encoding.BlobID
	Axis    uint8
	Indices bcsVec[uint16]
}

func (r *sliverGetRequest) validate() error {
	if r.Axis > uint8(encoding.Secondary) {
		return fmt.Errorf("%w: axis %d", ErrMalformed, r.Axis)
	}
	return nil
}

// recoveryRequest is the request of recovery/get: the slivers to rebuild.
type recoveryRequest struct {
	BlobID  encoding.BlobID
	Axis    uint8
	Indices bcsVec[uint16]
}

func (r *recoveryRequest) validate() error {
	if r.Axis > uint8(encoding.Secondary) {
		return fmt.Errorf("%w: axis %d", ErrMalformed, r.Axis)
	}
	return nil
}

// recoveryResponse is the Ok value of recovery/get's response.
type recoveryResponse struct {
	Symbols bcsVec[bcsRecoverySymbol]
}

// ConfirmationRequest asks a node for its signed blob-certification
// confirmation. It is also its wire form (BCS, fields in order; ObjectID is
// an Option).
type ConfirmationRequest struct {
	BlobID encoding.BlobID
	// Epoch is the epoch the confirmation is for.
	Epoch uint32
	// ObjectID is the blob object's ID for a deletable blob, nil for a
	// permanent one.
	ObjectID *[32]byte `bcs:"optional"`
}

// Confirmation is a node's signed confirmation, opaque to this package: the
// signed message (DESIGN.md §3) and the node's BLS signature over it.
type Confirmation struct {
	Message   []byte
	Signature []byte
}

// confirmationWire is Confirmation's wire form.
type confirmationWire struct {
	Message   bcsBytes
	Signature bcsBytes
}

// BlobState is a blob's lifecycle state as a node sees it. Its values are
// part of the wire format.
type BlobState uint8

// Blob states.
const (
	// BlobUnknown: the node has no record of the blob.
	BlobUnknown BlobState = 0
	// BlobRegistered: registered on chain, not certified yet.
	BlobRegistered BlobState = 1
	// BlobCertified: certified and not expired.
	BlobCertified BlobState = 2
	// BlobExpired: past its end epoch.
	BlobExpired BlobState = 3
	// BlobDeleted: deleted by its owner.
	BlobDeleted BlobState = 4
	// BlobInvalid: marked invalid on chain (inconsistently encoded).
	BlobInvalid BlobState = 5

	maxBlobState = BlobInvalid
)

func (s BlobState) String() string {
	switch s {
	case BlobUnknown:
		return "unknown"
	case BlobRegistered:
		return "registered"
	case BlobCertified:
		return "certified"
	case BlobExpired:
		return "expired"
	case BlobDeleted:
		return "deleted"
	case BlobInvalid:
		return "invalid"
	default:
		return fmt.Sprintf("state_%d", uint8(s))
	}
}

// BlobStatus is what a node knows of a blob (status/get). It is also its wire
// form (BCS, fields in order).
type BlobStatus struct {
	// Epoch is the node's current epoch.
	Epoch uint32
	// State is the blob's lifecycle state as the node sees it.
	State BlobState
	// EndEpoch is the first epoch the blob is no longer stored in; 0 when
	// unknown.
	EndEpoch uint32
	// HasMetadata reports whether the node stores the blob's metadata.
	HasMetadata bool
	// Shards is the number of shards the node holds in Epoch.
	Shards uint32
	// StoredSlivers is the number of the blob's slivers the node stores;
	// 2·Shards when it has them all.
	StoredSlivers uint32
}

func (s *BlobStatus) validate() error {
	if s.State > maxBlobState {
		return fmt.Errorf("%w: blob state %d", ErrMalformed, s.State)
	}
	return nil
}

// Sliver frames carry the bulk of the traffic, so they are written and read
// directly rather than through go-bcs (which would copy the data twice);
// TestSliverFramesAreBCS pins them to go-bcs's encoding of the same structs.
//
//	sliver/put frame:  axis u8 ‖ sliver
//	sliver/get frame:  0x00 ‖ sliver  |  0x01 ‖ error
//	sliver:            ULEB128(len(data)) ‖ data ‖ symbol size u16 ‖ index u16

// sliverPutFrameHead returns the bytes of a sliver/put frame before the
// sliver's data (length prefix included) and the frame's payload length.
func sliverPutFrameHead(s *encoding.Sliver) ([]byte, int) {
	size := 1 + s.BCSSize()
	b := appendFrameLen(make([]byte, 0, 16), size)
	b = append(b, byte(s.Axis))
	return bcs.AppendLength(b, len(s.Data)), size
}

// sliverGetFrameHead is sliverPutFrameHead for an Ok sliver/get frame.
func sliverGetFrameHead(s *encoding.Sliver) ([]byte, int) {
	size := 1 + s.BCSSize()
	b := appendFrameLen(make([]byte, 0, 16), size)
	b = append(b, 0)
	return bcs.AppendLength(b, len(s.Data)), size
}

// sliverTail is the end of a sliver's BCS form: symbol size and index.
func sliverTail(s *encoding.Sliver) []byte {
	var t [4]byte
	binary.LittleEndian.PutUint16(t[0:], s.SymbolSize)
	binary.LittleEndian.PutUint16(t[2:], s.Index)
	return t[:]
}

// encodeSliverPutFrame returns a whole sliver/put frame's payload.
func encodeSliverPutFrame(s *encoding.Sliver) []byte {
	return s.AppendBCS([]byte{byte(s.Axis)})
}

// decodeSliverPutFrame decodes a sliver/put frame. Data aliases b.
// sliverPutDataAt is where a sliver/put frame of n bytes holds its sliver's
// data: after the axis byte and the data's ULEB128 length, before its
// symbol size and index (2 bytes each). -1 if no length fits n.
func sliverPutDataAt(n int) int {
	for l := 1; l <= maxVarintLen; l++ {
		if d := n - 1 - l - 4; d >= 0 && len(bcs.AppendLength(nil, d)) == l {
			return 1 + l
		}
	}
	return -1
}

func decodeSliverPutFrame(b []byte) (encoding.Sliver, error) {
	if len(b) == 0 {
		return encoding.Sliver{}, fmt.Errorf("%w: empty sliver frame", ErrMalformed)
	}
	if b[0] > uint8(encoding.Secondary) {
		return encoding.Sliver{}, fmt.Errorf("%w: sliver axis %d", ErrMalformed, b[0])
	}
	s, err := encoding.UnmarshalSliver(encoding.Axis(b[0]), b[1:])
	if err != nil {
		return encoding.Sliver{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return s, nil
}

// encodeSliverGetFrame returns a whole Ok sliver/get frame's payload.
func encodeSliverGetFrame(s *encoding.Sliver) []byte {
	return s.AppendBCS([]byte{0})
}

// decodeSliverGetFrame decodes a sliver/get frame for a sliver of axis: the
// sliver, or the peer's error. Data aliases b.
func decodeSliverGetFrame(axis encoding.Axis, b []byte) (encoding.Sliver, *RemoteError, error) {
	if len(b) == 0 {
		return encoding.Sliver{}, nil, fmt.Errorf("%w: empty sliver frame", ErrMalformed)
	}
	switch b[0] {
	case 0:
		s, err := encoding.UnmarshalSliver(axis, b[1:])
		if err != nil {
			return encoding.Sliver{}, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return s, nil, nil
	case 1:
		var e wireError
		if err := decodeBCS(b[1:], &e); err != nil {
			return encoding.Sliver{}, nil, err
		}
		if err := e.validate(); err != nil {
			return encoding.Sliver{}, nil, err
		}
		return encoding.Sliver{}, e.remote(), nil
	default:
		return encoding.Sliver{}, nil, fmt.Errorf("%w: result tag %d", ErrMalformed, b[0])
	}
}

// encodeSliverGetErrFrame returns an Err sliver/get frame's payload.
func encodeSliverGetErrFrame(e wireError) []byte { return encodeErr(e) }
