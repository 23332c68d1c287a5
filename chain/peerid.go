package chain

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/mr-tron/base58"
)

// Peer IDs. A storage node's network key is a libp2p Ed25519 key; its peer
// ID is libp2p's: the identity multihash of the key's protobuf encoding,
//
//	0x00 (identity) ‖ 0x24 (36 bytes) ‖ 0x08 0x01 (KeyType Ed25519) ‖
//	0x12 0x20 (Data, 32 bytes) ‖ Ed25519 public key(32)
//
// written in base58btc ("12D3KooW…", 52 characters). This package parses and
// derives them itself, so that libp2p's key types stay in package p2p; the
// vectors of testdata/peerids.json come from go-libp2p. Only this form is
// accepted: no CIDv1 ("bafz…") text, no other key type, no non-canonical
// base58.

// PeerIDSize is the size of an Ed25519 peer ID's binary form (its multihash).
const PeerIDSize = 6 + ed25519.PublicKeySize

// peerIDPrefix is the multihash and protobuf header of an Ed25519 peer ID.
var peerIDPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

// peerIDTextLen is the length of the base58btc text of every Ed25519 peer
// ID: its first byte is 0 ("1"), the other 37 take 51 digits.
const peerIDTextLen = 52

// ParsePeerID parses the text form of a libp2p peer ID of an Ed25519 key and
// returns the key. It returns ErrInvalidArgument (wrapped) for anything else.
func ParsePeerID(s string) (ed25519.PublicKey, error) {
	if len(s) != peerIDTextLen {
		return nil, fmt.Errorf("%w: peer ID %q: an Ed25519 peer ID has %d characters", ErrInvalidArgument, truncate(s), peerIDTextLen)
	}
	b, err := base58.Decode(s)
	if err != nil {
		return nil, fmt.Errorf("%w: peer ID %q: %v", ErrInvalidArgument, s, err)
	}
	if len(b) != PeerIDSize || !bytes.HasPrefix(b, peerIDPrefix) {
		return nil, fmt.Errorf("%w: peer ID %q is not the identity multihash of an Ed25519 key", ErrInvalidArgument, s)
	}
	// base58 has one encoding per byte string; a text that is not it
	// would give two registrations of one key two different strings.
	if base58.Encode(b) != s {
		return nil, fmt.Errorf("%w: peer ID %q is not canonical base58", ErrInvalidArgument, s)
	}
	return ed25519.PublicKey(bytes.Clone(b[len(peerIDPrefix):])), nil
}

// PeerIDOf returns the peer ID of an Ed25519 public key.
func PeerIDOf(pub ed25519.PublicKey) string { return base58.Encode(peerIDBytes(pub)) }

func peerIDBytes(pub ed25519.PublicKey) []byte {
	return append(bytes.Clone(peerIDPrefix), pub...)
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// NetworkSigner signs with a node's network key. p2p's key type (libp2p's
// crypto.PrivKey) implements it; so does [Ed25519NetworkKey].
type NetworkSigner interface {
	Sign(msg []byte) ([]byte, error)
}

// Ed25519NetworkKey is a network key held as a plain Ed25519 private key,
// for programs and tests without libp2p. Its signatures are libp2p's.
type Ed25519NetworkKey ed25519.PrivateKey

// Sign implements NetworkSigner.
func (k Ed25519NetworkKey) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(ed25519.PrivateKey(k), msg), nil
}

// PeerID returns the key's peer ID.
func (k Ed25519NetworkKey) PeerID() string {
	return PeerIDOf(ed25519.PrivateKey(k).Public().(ed25519.PublicKey))
}

// NetworkKeySignatureSize is the size of a network key's signature.
const NetworkKeySignatureSize = ed25519.SignatureSize

// NetworkKeyMessage is what a node's network key signs to register its peer
// ID for an operator (RegisterNodeArgs.NetworkKeySignature): intent 17,
// body = operator address(32) ‖ ULEB128(38) ‖ peer ID multihash(38) (the BCS
// of (address, vector<u8>)). It fails with ErrInvalidArgument for a peer ID
// that does not parse.
func NetworkKeyMessage(epoch uint32, operator Address, peerID string) ([]byte, error) {
	pub, err := ParsePeerID(peerID)
	if err != nil {
		return nil, err
	}
	return networkKeyMessage(epoch, operator, pub), nil
}

func networkKeyMessage(epoch uint32, operator Address, pub ed25519.PublicKey) []byte {
	body := make([]byte, 0, 32+1+PeerIDSize)
	body = append(body, operator[:]...)
	body = append(body, PeerIDSize)
	body = append(body, peerIDBytes(pub)...)
	return Message{Intent: IntentNetworkKey, Epoch: epoch, Body: body}.Bytes()
}

// SignNetworkKey signs NetworkKeyMessage(epoch, operator, peerID) with the
// network key k, and checks that the signature verifies for peerID (so that
// a key that is not peerID's fails here, with ErrInvalidKey, rather than on
// chain).
func SignNetworkKey(k NetworkSigner, epoch uint32, operator Address, peerID string) ([]byte, error) {
	msg, err := NetworkKeyMessage(epoch, operator, peerID)
	if err != nil {
		return nil, err
	}
	sig, err := k.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: signing with the network key: %v", ErrInvalidKey, err)
	}
	if err := VerifyNetworkKeySignature(peerID, epoch, operator, sig); err != nil {
		return nil, fmt.Errorf("%w: the network key is not the key of peer ID %s", ErrInvalidKey, peerID)
	}
	return sig, nil
}

// VerifyNetworkKeySignature checks a network key's signature on
// NetworkKeyMessage(epoch, operator, peerID). It returns ErrInvalidArgument
// for a peer ID that does not parse and ErrInvalidNetworkKeySignature
// (wrapped) for a signature that does not verify.
func VerifyNetworkKeySignature(peerID string, epoch uint32, operator Address, sig []byte) error {
	pub, err := ParsePeerID(peerID)
	if err != nil {
		return err
	}
	if len(sig) != NetworkKeySignatureSize || !ed25519.Verify(pub, networkKeyMessage(epoch, operator, pub), sig) {
		return fmt.Errorf("%w: for peer ID %s, operator %s and epoch %d", ErrInvalidNetworkKeySignature, peerID, operator, epoch)
	}
	return nil
}
