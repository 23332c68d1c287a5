package chain

import (
	"encoding/binary"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
)

// IntentType says what a signed message is for; it is the first byte of
// every signed message.
type IntentType uint8

// The intent types of DESIGN.md §3. Values from 16 up are this project's.
const (
	IntentProofOfPossession    IntentType = 0
	IntentBlobCertification    IntentType = 1
	IntentInvalidBlobID        IntentType = 2
	IntentShardSync            IntentType = 3
	IntentChallengeAttestation IntentType = 16
	IntentNetworkKey           IntentType = 17
)

// Constants of the message header; part of the format.
const (
	// IntentVersion is the only intent version.
	IntentVersion = 0
	// AppID is Walrus's intent app ID.
	AppID = 3
	// MessageHeaderSize is the size of the header before the body: intent
	// type, version, app ID, epoch u32 LE.
	MessageHeaderSize = 7
	// MaxMessageSize bounds a signed message a certificate may carry.
	MaxMessageSize = 1024
)

// Message is a signed protocol message: an intent, the epoch it is valid in,
// and a body whose layout the intent fixes.
type Message struct {
	Intent IntentType
	Epoch  uint32
	Body   []byte
}

// Bytes returns the signed bytes: intent ‖ 0 ‖ 3 ‖ epoch u32 LE ‖ body.
func (m Message) Bytes() []byte {
	b := make([]byte, MessageHeaderSize, MessageHeaderSize+len(m.Body))
	b[0] = byte(m.Intent)
	b[1] = IntentVersion
	b[2] = AppID
	binary.LittleEndian.PutUint32(b[3:], m.Epoch)
	return append(b, m.Body...)
}

// ParseMessage parses a signed message's header. It returns
// ErrMalformedMessage for a short message, another version or app ID, or one
// over MaxMessageSize. Body aliases b.
func ParseMessage(b []byte) (Message, error) {
	if len(b) < MessageHeaderSize {
		return Message{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrMalformedMessage, len(b), MessageHeaderSize)
	}
	if len(b) > MaxMessageSize {
		return Message{}, fmt.Errorf("%w: %d bytes, over %d", ErrMalformedMessage, len(b), MaxMessageSize)
	}
	if b[1] != IntentVersion || b[2] != AppID {
		return Message{}, fmt.Errorf("%w: intent version %d app %d, want %d and %d", ErrMalformedMessage, b[1], b[2], IntentVersion, AppID)
	}
	return Message{Intent: IntentType(b[0]), Epoch: binary.LittleEndian.Uint32(b[3:]), Body: b[MessageHeaderSize:]}, nil
}

// ProofOfPossessionMessage is what a node's BLS key signs to prove
// possession: intent 0, body = operator address(32) ‖ 0x30 ‖ public key(48)
// (the BCS of Walrus's ProofOfPossessionBody).
func ProofOfPossessionMessage(epoch uint32, operator Address, pk BLSPublicKey) []byte {
	body := make([]byte, 0, 32+1+BLSPublicKeySize)
	body = append(body, operator[:]...)
	body = append(body, BLSPublicKeySize)
	body = append(body, pk[:]...)
	return Message{Intent: IntentProofOfPossession, Epoch: epoch, Body: body}.Bytes()
}

// BlobCertification is the body of a blob-certification message: what a
// storage node confirms when it holds all its slivers of a blob.
type BlobCertification struct {
	Epoch     uint32
	BlobID    encoding.BlobID
	Deletable bool
	// ObjectID is the deletable blob object; zero for a permanent blob.
	ObjectID ObjectID
}

// Message returns the signed bytes: intent 1, body = blob ID ‖ 0x00, or blob
// ID ‖ 0x01 ‖ object ID for a deletable blob.
func (c BlobCertification) Message() []byte {
	body := make([]byte, 0, 65)
	body = append(body, c.BlobID[:]...)
	if c.Deletable {
		body = append(body, 1)
		body = append(body, c.ObjectID[:]...)
	} else {
		body = append(body, 0)
	}
	return Message{Intent: IntentBlobCertification, Epoch: c.Epoch, Body: body}.Bytes()
}

// ParseBlobCertification parses a blob-certification message. It returns
// ErrMalformedMessage for another intent or a body of the wrong layout.
func ParseBlobCertification(b []byte) (BlobCertification, error) {
	m, err := ParseMessage(b)
	if err != nil {
		return BlobCertification{}, err
	}
	if m.Intent != IntentBlobCertification {
		return BlobCertification{}, fmt.Errorf("%w: intent %d, want blob certification (%d)", ErrMalformedMessage, m.Intent, IntentBlobCertification)
	}
	c := BlobCertification{Epoch: m.Epoch}
	switch {
	case len(m.Body) == 33 && m.Body[32] == 0:
	case len(m.Body) == 65 && m.Body[32] == 1:
		c.Deletable = true
		copy(c.ObjectID[:], m.Body[33:])
	default:
		return BlobCertification{}, fmt.Errorf("%w: blob certification body of %d bytes", ErrMalformedMessage, len(m.Body))
	}
	copy(c.BlobID[:], m.Body[:32])
	return c, nil
}

// InvalidBlobMessage is what a storage node signs when a blob ID is
// inconsistently encoded: intent 2, body = blob ID.
func InvalidBlobMessage(epoch uint32, id encoding.BlobID) []byte {
	return Message{Intent: IntentInvalidBlobID, Epoch: epoch, Body: id[:]}.Bytes()
}

// ParseInvalidBlobMessage parses an invalid-blob-ID message into its epoch
// and blob ID.
func ParseInvalidBlobMessage(b []byte) (uint32, encoding.BlobID, error) {
	var id encoding.BlobID
	m, err := ParseMessage(b)
	if err != nil {
		return 0, id, err
	}
	if m.Intent != IntentInvalidBlobID || len(m.Body) != 32 {
		return 0, id, fmt.Errorf("%w: not an invalid-blob-ID message (intent %d, body %d bytes)", ErrMalformedMessage, m.Intent, len(m.Body))
	}
	copy(id[:], m.Body)
	return m.Epoch, id, nil
}

// ShardSyncMessage wraps a shard-sync request body (its layout belongs to
// package p2p): intent 3.
func ShardSyncMessage(epoch uint32, body []byte) []byte {
	return Message{Intent: IntentShardSync, Epoch: epoch, Body: body}.Bytes()
}

// AttestationMessage is what a committee member signs to attest the storage
// challenges of an epoch: intent 16, body = node ID(32) ‖ ULEB128(len) ‖
// bitmap of the members that passed.
func AttestationMessage(epoch uint32, node NodeID, passed Bitmap) []byte {
	body := make([]byte, 0, 32+binary.MaxVarintLen64+len(passed))
	body = append(body, node[:]...)
	body = binary.AppendUvarint(body, uint64(len(passed)))
	body = append(body, passed...)
	return Message{Intent: IntentChallengeAttestation, Epoch: epoch, Body: body}.Bytes()
}

// ParseAttestationMessage parses an attestation message.
func ParseAttestationMessage(b []byte) (epoch uint32, node NodeID, passed Bitmap, err error) {
	m, err := ParseMessage(b)
	if err != nil {
		return 0, node, nil, err
	}
	if m.Intent != IntentChallengeAttestation || len(m.Body) < 33 {
		return 0, node, nil, fmt.Errorf("%w: not an attestation message", ErrMalformedMessage)
	}
	copy(node[:], m.Body)
	n, k := binary.Uvarint(m.Body[32:])
	if k <= 0 || k != uvarintLen(n) || n != uint64(len(m.Body)-32-k) {
		return 0, node, nil, fmt.Errorf("%w: attestation bitmap length", ErrMalformedMessage)
	}
	return m.Epoch, node, Bitmap(m.Body[32+k:]), nil
}

// uvarintLen is the length of the minimal ULEB128 encoding of n.
func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}
