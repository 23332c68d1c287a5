package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
)

// peerIDVector is one entry of testdata/peerids.json, written by go-libp2p
// (testdata/gen_peerids.go).
type peerIDVector struct {
	Seed, PublicKey, PeerID, Multihash, Message, Signature string
}

func loadPeerIDVectors(t testing.TB) []peerIDVector {
	b, err := os.ReadFile("testdata/peerids.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []peerIDVector
	if err := json.Unmarshal(b, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("peerids.json: %v", err)
	}
	return vs
}

// TestPeerIDVectors checks parsing, derivation and network-key signatures
// against libp2p's.
func TestPeerIDVectors(t *testing.T) {
	for _, v := range loadPeerIDVectors(t) {
		seed, _ := hex.DecodeString(v.Seed)
		priv := ed25519.NewKeyFromSeed(seed)
		pub := priv.Public().(ed25519.PublicKey)
		if hex.EncodeToString(pub) != v.PublicKey {
			t.Fatalf("seed %s: public key %x", v.Seed, pub)
		}
		if got := PeerIDOf(pub); got != v.PeerID {
			t.Errorf("PeerIDOf = %s, libp2p says %s", got, v.PeerID)
		}
		if got := Ed25519NetworkKey(priv).PeerID(); got != v.PeerID {
			t.Errorf("Ed25519NetworkKey.PeerID = %s", got)
		}
		back, err := ParsePeerID(v.PeerID)
		if err != nil || !bytes.Equal(back, pub) {
			t.Errorf("ParsePeerID(%s) = %x, %v", v.PeerID, back, err)
		}
		if mh := hex.EncodeToString(peerIDBytes(pub)); mh != v.Multihash {
			t.Errorf("multihash %s, libp2p's %s", mh, v.Multihash)
		}
		msg, _ := hex.DecodeString(v.Message)
		sig, _ := Ed25519NetworkKey(priv).Sign(msg)
		if hex.EncodeToString(sig) != v.Signature {
			t.Errorf("signature differs from libp2p's")
		}
	}
}

func TestParsePeerIDRefuses(t *testing.T) {
	v := loadPeerIDVectors(t)[0]
	raw, _ := hex.DecodeString(v.Multihash)
	sha := append([]byte{0x12, 0x20}, make([]byte, 32)...) // a SHA-256 multihash (RSA keys)
	otherType := bytes.Clone(raw)
	otherType[3] = 0x02 // secp256k1
	for name, s := range map[string]string{
		"empty":          "",
		"truncated":      v.PeerID[:51],
		"long":           v.PeerID + "1",
		"bad digit":      "0" + v.PeerID[1:],
		"sha-256":        base58.Encode(sha),
		"other key type": base58.Encode(otherType),
		"CIDv1":          "bafzaajaiaejca" + strings.Repeat("a", 39),
		"no leading one": base58.Encode(raw[1:]) + "1",
	} {
		if _, err := ParsePeerID(s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s (%q): %v, want ErrInvalidArgument", name, s, err)
		}
	}
}

func TestNetworkKeySignature(t *testing.T) {
	v := loadPeerIDVectors(t)
	seed, _ := hex.DecodeString(v[0].Seed)
	k := Ed25519NetworkKey(ed25519.NewKeyFromSeed(seed))
	seed2, _ := hex.DecodeString(v[1].Seed)
	other := Ed25519NetworkKey(ed25519.NewKeyFromSeed(seed2))
	op := Address(fill32(7))
	sig, err := SignNetworkKey(k, 3, op, k.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyNetworkKeySignature(k.PeerID(), 3, op, sig); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"epoch":    VerifyNetworkKeySignature(k.PeerID(), 4, op, sig),
		"operator": VerifyNetworkKeySignature(k.PeerID(), 3, Address(fill32(8)), sig),
		"peer":     VerifyNetworkKeySignature(other.PeerID(), 3, op, sig),
		"short":    VerifyNetworkKeySignature(k.PeerID(), 3, op, sig[:63]),
		"nil":      VerifyNetworkKeySignature(k.PeerID(), 3, op, nil),
	} {
		if !errors.Is(err, ErrInvalidNetworkKeySignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := SignNetworkKey(other, 3, op, k.PeerID()); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("signing for another key's peer ID: %v", err)
	}
	if _, err := SignNetworkKey(k, 3, op, "x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("signing for a bad peer ID: %v", err)
	}
}

// FuzzParsePeerID: a peer ID parses to a key whose peer ID is the input,
// or fails with ErrInvalidArgument.
func FuzzParsePeerID(f *testing.F) {
	for _, v := range loadPeerIDVectors(f) {
		f.Add(v.PeerID)
	}
	f.Add("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := ParsePeerID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(pub) != ed25519.PublicKeySize || PeerIDOf(pub) != s {
			t.Fatalf("%q parses to %x, whose peer ID is %q", s, pub, PeerIDOf(pub))
		}
	})
}
