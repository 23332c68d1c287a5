package chain

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cloudflare/circl/sign/bls"
)

// circlVerify is the reference verification: circl's, as the chain used
// before verification moved to gnark-crypto (identity keys refused, as
// point did).
func circlVerify(pk, msg, sig []byte) bool {
	var key bls.PublicKey[bls.KeyG1SigG2]
	if len(pk) != BLSPublicKeySize || pk[0]&0x80 == 0 || key.UnmarshalBinary(pk) != nil {
		return false
	}
	if bytes.Equal(pk, append([]byte{0xc0}, make([]byte, BLSPublicKeySize-1)...)) {
		return false
	}
	return bls.Verify(&key, msg, sig)
}

// oursVerify is Verify on raw bytes.
func oursVerify(pk, msg, sig []byte) bool {
	if len(pk) != BLSPublicKeySize || len(sig) != BLSSignatureSize {
		return false
	}
	return BLSPublicKey(pk).Verify(msg, BLSSignature(sig)) == nil
}

// TestBLSMatchesCircl checks that verification and aggregation (gnark-crypto)
// agree with circl on valid signatures, on signatures and keys with flipped
// bits, and that aggregates are byte-identical.
func TestBLSMatchesCircl(t *testing.T) {
	msg := []byte("walrus blob certification")
	var keys []*BLSPrivateKey
	var sigs []BLSSignature
	var raw []bls.Signature
	for i := range 6 {
		k := testBLSKey(t, uint64(100+i))
		keys = append(keys, k)
		s := k.Sign(msg)
		sigs = append(sigs, s)
		raw = append(raw, bytes.Clone(s[:]))
	}
	for i, k := range keys {
		for j := range 4 {
			m := append(bytes.Clone(msg), byte(j))
			if got, want := k.Sign(m), bls.Sign(k.k, m); !bytes.Equal(got[:], want) {
				t.Fatalf("key %d, message %d: Sign differs from circl's bls.Sign", i, j)
			}
		}
		long := bytes.Repeat([]byte{byte(i)}, hashCacheMaxMessage+10)
		if got, want := k.Sign(long), bls.Sign(k.k, long); !bytes.Equal(got[:], want) {
			t.Fatalf("key %d, long message: Sign differs from circl's bls.Sign", i)
		}
		pk, sig := k.PublicKey(), sigs[i]
		if !oursVerify(pk[:], msg, sig[:]) || !circlVerify(pk[:], msg, sig[:]) {
			t.Fatalf("key %d: a valid signature does not verify", i)
		}
		for bit := 0; bit < 8*BLSSignatureSize; bit += 7 {
			bad := sig
			bad[bit/8] ^= 1 << (bit % 8)
			if o, c := oursVerify(pk[:], msg, bad[:]), circlVerify(pk[:], msg, bad[:]); o != c || o {
				t.Fatalf("key %d, signature bit %d flipped: ours %v, circl %v", i, bit, o, c)
			}
		}
		for bit := 0; bit < 8*BLSPublicKeySize; bit += 5 {
			bad := pk
			bad[bit/8] ^= 1 << (bit % 8)
			if o, c := oursVerify(bad[:], msg, sig[:]), circlVerify(bad[:], msg, sig[:]); o != c || o {
				t.Fatalf("key %d, key bit %d flipped: ours %v, circl %v", i, bit, o, c)
			}
		}
	}
	for n := 1; n <= len(sigs); n++ {
		ours, err := AggregateSignatures(sigs[:n])
		if err != nil {
			t.Fatal(err)
		}
		ref, err := bls.Aggregate(bls.KeyG1SigG2{}, raw[:n])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours[:], ref) {
			t.Fatalf("aggregate of %d differs from circl's", n)
		}
		pks := make([]BLSPublicKey, n)
		for i := range n {
			pks[i] = keys[i].PublicKey()
		}
		if err := VerifyAggregate(pks, msg, ours); err != nil {
			t.Fatalf("aggregate of %d: %v", n, err)
		}
	}
	// A signature that is not in G2's subgroup, or not compressed, is
	// refused by aggregation as by circl.
	for bit := 0; bit < 8*BLSSignatureSize; bit += 11 {
		bad := sigs[0]
		bad[bit/8] ^= 1 << (bit % 8)
		_, oerr := AggregateSignatures([]BLSSignature{bad})
		_, cerr := bls.Aggregate(bls.KeyG1SigG2{}, []bls.Signature{bad[:]})
		if (oerr == nil) != (cerr == nil) || (oerr != nil && !errors.Is(oerr, ErrBadSignature)) {
			t.Fatalf("aggregate of a signature with bit %d flipped: ours %v, circl %v", bit, oerr, cerr)
		}
	}
}

// FuzzBLSVerify checks that the key and signature decoders and the
// verification accept exactly what circl's do.
func FuzzBLSVerify(f *testing.F) {
	k := testBLSKey(f, 7)
	msg := []byte("m")
	sig := k.Sign(msg)
	pk := k.PublicKey()
	f.Add(pk[:], sig[:], msg)
	f.Add(pk[:], sig[:], []byte("other"))
	f.Add(make([]byte, 48), make([]byte, 96), msg)
	inf := append([]byte{0xc0}, make([]byte, 95)...)
	f.Add(pk[:], inf, msg)
	f.Fuzz(func(t *testing.T, pk, sig, msg []byte) {
		if len(pk) != BLSPublicKeySize || len(sig) != BLSSignatureSize {
			return
		}
		o, c := oursVerify(pk, msg, sig), circlVerify(pk, msg, sig)
		if o != c {
			t.Fatalf("ours %v, circl %v", o, c)
		}
		_, perr := BLSPublicKey(pk).point()
		var key bls.PublicKey[bls.KeyG1SigG2]
		cerr := key.UnmarshalBinary(pk)
		if pk[0]&0x80 == 0 || pk[0]&0x40 != 0 {
			cerr = errors.New("refused") // not compressed, or the identity
		}
		if (perr == nil) != (cerr == nil) {
			t.Fatalf("key decoding: ours %v, circl %v", perr, cerr)
		}
		_, oerr := AggregateSignatures([]BLSSignature{BLSSignature(sig)})
		_, aerr := bls.Aggregate(bls.KeyG1SigG2{}, []bls.Signature{sig})
		if sig[0]&0x80 == 0 {
			aerr = errors.New("refused") // uncompressed: 96 bytes are too few
		}
		if (oerr == nil) != (aerr == nil) {
			t.Fatalf("signature decoding: ours %v, circl %v", oerr, aerr)
		}
	})
}

// TestHashCache checks that cached hashes are the hashes, that the cache
// holds at most hashCacheEntries messages, and that concurrent callers of
// one message get one answer.
func TestHashCache(t *testing.T) {
	var c hashCache
	for i := range 3 * hashCacheEntries {
		msg := []byte{byte(i), byte(i >> 8), 7}
		for range 2 {
			got, err := c.get(msg)
			want, werr := hashToG2(msg)
			if err != nil || werr != nil || !got.Equal(&want) {
				t.Fatalf("message %d: cached hash differs (%v, %v)", i, err, werr)
			}
		}
		if len(c.m) > hashCacheEntries || len(c.ring) > hashCacheEntries {
			t.Fatalf("the cache holds %d messages (ring %d), more than %d", len(c.m), len(c.ring), hashCacheEntries)
		}
	}
	long := bytes.Repeat([]byte{1}, hashCacheMaxMessage+1)
	if _, err := c.get(long); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.m[string(long)]; ok {
		t.Fatal("a message over hashCacheMaxMessage was cached")
	}
	msg := []byte("concurrent")
	res := make(chan [BLSSignatureSize]byte, 8)
	for range 8 {
		go func() {
			h, _ := c.get(msg)
			res <- h.Bytes()
		}()
	}
	first := <-res
	for range 7 {
		if <-res != first {
			t.Fatal("concurrent callers got different hashes")
		}
	}
}
