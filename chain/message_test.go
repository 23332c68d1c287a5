package chain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

func fill32(b byte) (out [32]byte) {
	for i := range out {
		out[i] = b
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMessageGolden pins the signed-message layouts of DESIGN.md §3.
func TestMessageGolden(t *testing.T) {
	var pk BLSPublicKey
	for i := range pk {
		pk[i] = 0x22
	}
	blob := encoding.BlobID(fill32(0xAB))
	obj := ObjectID(fill32(0xCD))
	node := NodeID(fill32(0x33))
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"proof of possession", ProofOfPossessionMessage(5, Address(fill32(0x11)), pk),
			"00 00 03 05000000" + strings.Repeat("11", 32) + "30" + strings.Repeat("22", 48)},
		{"certify permanent", BlobCertification{Epoch: 0x01020304, BlobID: blob}.Message(),
			"01 00 03 04030201" + strings.Repeat("ab", 32) + "00"},
		{"certify deletable", BlobCertification{Epoch: 7, BlobID: blob, Deletable: true, ObjectID: obj}.Message(),
			"01 00 03 07000000" + strings.Repeat("ab", 32) + "01" + strings.Repeat("cd", 32)},
		{"invalid blob", InvalidBlobMessage(2, blob),
			"02 00 03 02000000" + strings.Repeat("ab", 32)},
		{"shard sync", ShardSyncMessage(9, []byte{1, 2, 3}),
			"03 00 03 09000000 010203"},
		{"attestation", AttestationMessage(3, node, Bitmap{0x05, 0x01}),
			"10 00 03 03000000" + strings.Repeat("33", 32) + "02 0501"},
		{"network key", mustNetworkKeyMessage(t, 4, Address(fill32(0x11)), "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"),
			"11 00 03 04000000" + strings.Repeat("11", 32) + "26" +
				"002408011220 03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := unhex(t, tt.want); !bytes.Equal(tt.got, want) {
				t.Errorf("got  %x\nwant %x", tt.got, want)
			}
		})
	}
}

func TestParseBlobCertification(t *testing.T) {
	blob := encoding.BlobID(fill32(0xAB))
	for _, c := range []BlobCertification{
		{Epoch: 1, BlobID: blob},
		{Epoch: 1 << 31, BlobID: blob, Deletable: true, ObjectID: ObjectID(fill32(9))},
	} {
		got, err := ParseBlobCertification(c.Message())
		if err != nil || got != c {
			t.Errorf("round trip of %+v: got %+v, %v", c, got, err)
		}
	}
	good := BlobCertification{Epoch: 1, BlobID: blob}.Message()
	bad := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"short header", good[:6]},
		{"wrong version", append([]byte{1, 1}, good[2:]...)},
		{"wrong app", append([]byte{1, 0, 2}, good[3:]...)},
		{"wrong intent", append([]byte{2}, good[1:]...)},
		{"truncated body", good[:len(good)-1]},
		{"bad persistence tag", append(append([]byte(nil), good[:len(good)-1]...), 2)},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"deletable without object", append(append([]byte(nil), good[:len(good)-1]...), 1)},
	}
	for _, tt := range bad {
		if _, err := ParseBlobCertification(tt.msg); !errors.Is(err, ErrMalformedMessage) {
			t.Errorf("%s: err = %v, want ErrMalformedMessage", tt.name, err)
		}
	}
}

func TestParseOtherMessages(t *testing.T) {
	blob := encoding.BlobID(fill32(0x01))
	e, id, err := ParseInvalidBlobMessage(InvalidBlobMessage(4, blob))
	if err != nil || e != 4 || id != blob {
		t.Errorf("invalid blob: %d %v %v", e, id, err)
	}
	if _, _, err := ParseInvalidBlobMessage(BlobCertification{Epoch: 4, BlobID: blob}.Message()); !errors.Is(err, ErrMalformedMessage) {
		t.Errorf("certification parsed as invalid-blob: %v", err)
	}
	node := NodeID(fill32(7))
	e, n, bm, err := ParseAttestationMessage(AttestationMessage(6, node, Bitmap{0xff, 0x03}))
	if err != nil || e != 6 || n != node || !bytes.Equal(bm, []byte{0xff, 0x03}) {
		t.Errorf("attestation: %d %v %x %v", e, n, bm, err)
	}
	msg := AttestationMessage(6, node, Bitmap{0xff})
	if _, _, _, err := ParseAttestationMessage(msg[:len(msg)-1]); !errors.Is(err, ErrMalformedMessage) {
		t.Errorf("truncated attestation: %v", err)
	}
	if _, err := ParseMessage(make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrMalformedMessage) {
		t.Errorf("oversized message: %v", err)
	}
}

func mustNetworkKeyMessage(t *testing.T, epoch uint32, a Address, peer string) []byte {
	t.Helper()
	m, err := NetworkKeyMessage(epoch, a, peer)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func FuzzParseMessages(f *testing.F) {
	blob := encoding.BlobID(fill32(0xAB))
	f.Add(BlobCertification{Epoch: 1, BlobID: blob}.Message())
	f.Add(BlobCertification{Epoch: 1, BlobID: blob, Deletable: true}.Message())
	f.Add(InvalidBlobMessage(1, blob))
	f.Add(AttestationMessage(1, NodeID{}, Bitmap{1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseMessage(b); err == nil {
			if !bytes.Equal(m.Bytes(), b) {
				t.Fatalf("message does not round-trip: %x", b)
			}
		}
		if c, err := ParseBlobCertification(b); err == nil {
			if !bytes.Equal(c.Message(), b) {
				t.Fatalf("certification does not round-trip: %x", b)
			}
		}
		if e, id, err := ParseInvalidBlobMessage(b); err == nil {
			if !bytes.Equal(InvalidBlobMessage(e, id), b) {
				t.Fatalf("invalid-blob does not round-trip: %x", b)
			}
		}
		if e, n, bm, err := ParseAttestationMessage(b); err == nil {
			if !bytes.Equal(AttestationMessage(e, n, bm), b) {
				t.Fatalf("attestation does not round-trip: %x", b)
			}
		}
	})
}
