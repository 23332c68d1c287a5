package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// detRand is a deterministic byte source for keys in tests.
func detRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

func testBLSKey(t testing.TB, seed uint64) *BLSPrivateKey {
	t.Helper()
	k, err := GenerateBLSKey(detRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAddressOf(t *testing.T) {
	// Sui: address = Blake2b-256(flag 0x00 ‖ public key).
	pub := bytes.Repeat([]byte{7}, 32)
	want := blake2b.Sum256(append([]byte{0}, pub...))
	if got := AddressOf(pub); got != Address(want) {
		t.Fatalf("AddressOf = %x, want %x", got, want)
	}
	k, err := AccountKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if k.Address() != AddressOf(k.PublicKey()) {
		t.Fatal("key address differs from AddressOf(public key)")
	}
	// Golden: the address of the Ed25519 key with seed 32×0x01.
	if got, want := k.Address().String(), "0x"+hex.EncodeToString(func() []byte {
		s := blake2b.Sum256(append([]byte{0}, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)...))
		return s[:]
	}()); got != want {
		t.Fatalf("address %s, want %s", got, want)
	}
	sig := k.Sign([]byte("hello"))
	if !ed25519.Verify(k.PublicKey(), []byte("hello"), sig) {
		t.Fatal("account signature does not verify")
	}
}

func TestIDText(t *testing.T) {
	a := Address(fill32(0xAB))
	var back Address
	if err := back.UnmarshalText([]byte(a.String())); err != nil || back != a {
		t.Fatalf("address round trip: %v %v", back, err)
	}
	for _, bad := range []string{"", "0x", "ab" + a.String()[2:], "0x" + a.String()[4:], "0x" + a.String()[2:65] + "g"} {
		if _, err := ParseAddress(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseAddress(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	d := Digest(fill32(0x01))
	if got, err := ParseDigest(d.String()); err != nil || got != d {
		t.Fatalf("digest round trip: %v %v", got, err)
	}
	o1, o2 := DeriveObjectID(d, 0), DeriveObjectID(d, 1)
	if o1 == o2 || o1 == DeriveObjectID(Digest{}, 0) {
		t.Fatal("object IDs collide")
	}
}

func TestBLSSignVerify(t *testing.T) {
	k := testBLSKey(t, 1)
	msg := []byte("message")
	sig := k.Sign(msg)
	if err := k.PublicKey().Verify(msg, sig); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	if err := k.PublicKey().Verify([]byte("other"), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong message: %v", err)
	}
	other := testBLSKey(t, 2)
	if err := other.PublicKey().Verify(msg, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	var junk BLSPublicKey
	if err := junk.Verify(msg, sig); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero key: %v", err)
	}
	// Round trip of the private key.
	k2, err := BLSPrivateKeyFromBytes(k.Bytes())
	if err != nil || k2.PublicKey() != k.PublicKey() {
		t.Fatalf("private key round trip: %v", err)
	}
	// Deterministic: same seed, same key.
	if testBLSKey(t, 1).PublicKey() != k.PublicKey() {
		t.Fatal("key generation is not deterministic in its randomness")
	}
}

func TestProofOfPossession(t *testing.T) {
	k := testBLSKey(t, 3)
	addr := Address(fill32(5))
	pop := k.ProofOfPossession(4, addr)
	if err := VerifyProofOfPossession(k.PublicKey(), 4, addr, pop); err != nil {
		t.Fatalf("valid PoP: %v", err)
	}
	for name, err := range map[string]error{
		"other epoch":   VerifyProofOfPossession(k.PublicKey(), 5, addr, pop),
		"other address": VerifyProofOfPossession(k.PublicKey(), 4, Address(fill32(6)), pop),
		"other key":     VerifyProofOfPossession(testBLSKey(t, 4).PublicKey(), 4, addr, pop),
	} {
		if !errors.Is(err, ErrInvalidProofOfPossession) {
			t.Errorf("%s: %v, want ErrInvalidProofOfPossession", name, err)
		}
	}
}

func TestAggregate(t *testing.T) {
	msg := []byte("same message")
	var keys []BLSPublicKey
	var sigs []BLSSignature
	for i := range 5 {
		k := testBLSKey(t, uint64(10+i))
		keys = append(keys, k.PublicKey())
		sigs = append(sigs, k.Sign(msg))
	}
	agg, err := AggregateSignatures(sigs)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyAggregate(keys, msg, agg); err != nil {
		t.Fatalf("aggregate: %v", err)
	}
	if err := VerifyAggregate(keys[:4], msg, agg); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("aggregate with a key missing: %v", err)
	}
	agg4, _ := AggregateSignatures(sigs[:4])
	if err := VerifyAggregate(keys, msg, agg4); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("aggregate with a signature missing: %v", err)
	}
	if _, err := AggregateSignatures(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty aggregate: %v", err)
	}
	var junk BLSSignature
	if _, err := AggregateSignatures([]BLSSignature{junk}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("junk signature: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	ak, _ := GenerateAccountKey(detRand(1))
	p := filepath.Join(dir, "account.key")
	if err := SaveAccountKey(p, ak); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("account key file mode %v, %v", st.Mode(), err)
	}
	back, err := LoadAccountKey(p)
	if err != nil || back.Address() != ak.Address() {
		t.Fatalf("account key round trip: %v", err)
	}
	bk := testBLSKey(t, 9)
	bp := filepath.Join(dir, "protocol.key")
	if err := SaveBLSKey(bp, bk); err != nil {
		t.Fatal(err)
	}
	bback, err := LoadBLSKey(bp)
	if err != nil || bback.PublicKey() != bk.PublicKey() {
		t.Fatalf("BLS key round trip: %v", err)
	}
	// A BLS key file is not an account key file: lengths differ only by
	// chance, so check the content is refused for bad input.
	for name, content := range map[string]string{
		"empty":      "",
		"not base64": "!!!!",
		"short":      "AAAA",
		"bad flag":   "AQ" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	} {
		if _, err := ParseAccountKey([]byte(content)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("account key %s: %v", name, err)
		}
		if _, err := ParseBLSKey([]byte(content)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("BLS key %s: %v", name, err)
		}
	}
}

// TestKeyFilePermissions: a wallet or BLS key file that group or others may
// access is refused with ErrKeyPermissions, naming the file and the fix; the
// owner's read-only mode is fine.
func TestKeyFilePermissions(t *testing.T) {
	dir := t.TempDir()
	ak, _ := GenerateAccountKey(detRand(2))
	ap := filepath.Join(dir, "wallet.key")
	bp := filepath.Join(dir, "protocol.key")
	if err := SaveAccountKey(ap, ak); err != nil {
		t.Fatal(err)
	}
	if err := SaveBLSKey(bp, testBLSKey(t, 3)); err != nil {
		t.Fatal(err)
	}
	loaders := map[string]func() error{
		ap: func() error { _, err := LoadAccountKey(ap); return err },
		bp: func() error { _, err := LoadBLSKey(bp); return err },
	}
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o644, false}, {0o660, false}, {0o666, false}} {
		for path, load := range loaders {
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			err := load()
			switch {
			case tc.ok && err != nil:
				t.Errorf("%s with mode %04o: %v", filepath.Base(path), tc.mode, err)
			case !tc.ok && !errors.Is(err, ErrKeyPermissions):
				t.Errorf("%s with mode %04o: err = %v, want ErrKeyPermissions", filepath.Base(path), tc.mode, err)
			case !tc.ok && !strings.Contains(err.Error(), path):
				t.Errorf("%s with mode %04o: the error does not name the file: %v", filepath.Base(path), tc.mode, err)
			}
		}
	}
	if _, err := LoadAccountKey(dir); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("a directory as the key file: %v, want ErrInvalidKey", err)
	}
}

func TestBLSJSON(t *testing.T) {
	k := testBLSKey(t, 1)
	type pair struct {
		PK  BLSPublicKey
		Sig BLSSignature
	}
	in := pair{k.PublicKey(), k.Sign([]byte("x"))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out pair
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("JSON round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"PK":"AAAA"}`), &out); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("short key: %v", err)
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParseAccountKey(b); err == nil {
			if _, err := ParseAccountKey([]byte(encodeKey(accountKeyFlag, k.Seed()))); err != nil {
				t.Fatal(err)
			}
		}
		if k, err := ParseBLSKey(b); err == nil {
			if k2, err := ParseBLSKey([]byte(encodeKey(blsKeyFlag, k.Bytes()))); err != nil || k2.PublicKey() != k.PublicKey() {
				t.Fatal(err)
			}
		}
		var pk BLSPublicKey
		if len(b) >= len(pk) {
			copy(pk[:], b)
			_ = pk.Validate()
		}
	})
}

func encodeKey(flag byte, raw []byte) string {
	return b64(append([]byte{flag}, raw...))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestVerifySignedMessage(t *testing.T) {
	k, other := testBLSKey(t, 1), testBLSKey(t, 2)
	want := []byte("the message a node must sign")
	sig := k.Sign(want)
	for _, tc := range []struct {
		name     string
		got, sig []byte
		pk       BLSPublicKey
		ok       bool
	}{
		{"signed", want, sig[:], k.PublicKey(), true},
		{"another message", []byte("something else"), sig[:], k.PublicKey(), false},
		{"short signature", want, sig[:10], k.PublicKey(), false},
		{"another key", want, sig[:], other.PublicKey(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := VerifySignedMessage(tc.pk, tc.got, tc.sig, want)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadSignature)) {
				t.Fatalf("err = %v, want ok=%t or ErrBadSignature", err, tc.ok)
			}
			if tc.ok && s != sig {
				t.Errorf("signature %x, want %x", s, sig)
			}
		})
	}
}
