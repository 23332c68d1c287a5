package chain

import (
	"bytes"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cloudflare/circl/ecc/bls12381"
	"github.com/cloudflare/circl/sign/bls"
	gbls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// AccountKey is an account's Ed25519 key pair. It implements Signer and is
// safe for concurrent use.
type AccountKey struct {
	priv ed25519.PrivateKey
	addr Address
}

// AccountKeySeedSize is the size of an account key's seed.
const AccountKeySeedSize = ed25519.SeedSize

// GenerateAccountKey makes a new account key from rand (crypto/rand.Reader
// when nil).
func GenerateAccountKey(rand io.Reader) (*AccountKey, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	return newAccountKey(priv), nil
}

// AccountKeyFromSeed returns the account key of a 32-byte seed.
func AccountKeyFromSeed(seed []byte) (*AccountKey, error) {
	if len(seed) != AccountKeySeedSize {
		return nil, fmt.Errorf("%w: account key seed has %d bytes, want %d", ErrInvalidKey, len(seed), AccountKeySeedSize)
	}
	return newAccountKey(ed25519.NewKeyFromSeed(seed)), nil
}

func newAccountKey(priv ed25519.PrivateKey) *AccountKey {
	return &AccountKey{priv: priv, addr: AddressOf(priv.Public().(ed25519.PublicKey))}
}

// Seed returns the key's 32-byte seed. Keep it secret.
func (k *AccountKey) Seed() []byte { return k.priv.Seed() }

// Address returns the account's address.
func (k *AccountKey) Address() Address { return k.addr }

// PublicKey returns the Ed25519 public key.
func (k *AccountKey) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// Sign signs msg with Ed25519.
func (k *AccountKey) Sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// Sizes of BLS12-381 keys and signatures (compressed points).
const (
	BLSPrivateKeySize = 32
	BLSPublicKeySize  = 48
	BLSSignatureSize  = 96
)

// cryptoRand is the default source of key material.
var cryptoRand = cryptorand.Reader

// blsKeyInfo is the KeyGen key_info of protocol keys.
const blsKeyInfo = "walrus-go protocol key"

// BLSPrivateKey is a node's BLS12-381 protocol key (public key in G1,
// signatures in G2). It is safe for concurrent use.
type BLSPrivateKey struct {
	k *bls.PrivateKey[bls.KeyG1SigG2]
	// sk is the secret scalar, for circl's scalar multiplication in Sign.
	sk  bls12381.Scalar
	pub BLSPublicKey
}

// GenerateBLSKey makes a new protocol key from 32 bytes of rand
// (crypto/rand.Reader when nil).
func GenerateBLSKey(rand io.Reader) (*BLSPrivateKey, error) {
	if rand == nil {
		rand = cryptoRand
	}
	ikm := make([]byte, 32)
	if _, err := io.ReadFull(rand, ikm); err != nil {
		return nil, err
	}
	k, err := bls.KeyGen[bls.KeyG1SigG2](ikm, nil, []byte(blsKeyInfo))
	if err != nil {
		return nil, err
	}
	return newBLSKey(k)
}

// BLSPrivateKeyFromBytes parses a protocol key from its 32-byte big-endian
// scalar.
func BLSPrivateKeyFromBytes(b []byte) (*BLSPrivateKey, error) {
	if len(b) != BLSPrivateKeySize {
		return nil, fmt.Errorf("%w: BLS private key has %d bytes, want %d", ErrInvalidKey, len(b), BLSPrivateKeySize)
	}
	k := new(bls.PrivateKey[bls.KeyG1SigG2])
	if err := k.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: BLS private key: %v", ErrInvalidKey, err)
	}
	return newBLSKey(k)
}

func newBLSKey(k *bls.PrivateKey[bls.KeyG1SigG2]) (*BLSPrivateKey, error) {
	pb, err := k.PublicKey().MarshalBinary()
	if err != nil {
		return nil, err
	}
	out := &BLSPrivateKey{k: k}
	copy(out.pub[:], pb)
	sk, err := k.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out.sk.SetBytes(sk)
	return out, nil
}

// Bytes returns the 32-byte big-endian scalar. Keep it secret.
func (k *BLSPrivateKey) Bytes() []byte {
	b, _ := k.k.MarshalBinary()
	return b
}

// PublicKey returns the public key.
func (k *BLSPrivateKey) PublicKey() BLSPublicKey { return k.pub }

// Sign signs msg: sk · H(m), byte for byte circl's bls.Sign. The hash of
// the message (public) is gnark-crypto's, four times faster than circl's
// and cached; the point is checked into circl's G2 (on the curve, in the
// subgroup) and the multiplication by the secret scalar is circl's
// constant-time one, as in bls.Sign.
func (k *BLSPrivateKey) Sign(msg []byte) BLSSignature {
	var s BLSSignature
	h, err := hashes.get(msg)
	var q bls12381.G2
	if raw := h.RawBytes(); err != nil || q.SetBytes(raw[:]) != nil {
		copy(s[:], bls.Sign(k.k, msg)) // not reached: H(m) is a point of G2
		return s
	}
	q.ScalarMult(&k.sk, &q)
	copy(s[:], q.BytesCompressed())
	return s
}

// ProofOfPossession signs ProofOfPossessionMessage(epoch, operator, key):
// what registering the key on chain needs.
func (k *BLSPrivateKey) ProofOfPossession(epoch uint32, operator Address) BLSSignature {
	return k.Sign(ProofOfPossessionMessage(epoch, operator, k.pub))
}

// BLSPublicKey is a compressed G1 point. Its text form is standard base64.
type BLSPublicKey [BLSPublicKeySize]byte

// BLSSignature is a compressed G2 point. Its text form is standard base64.
type BLSSignature [BLSSignatureSize]byte

// Verification and aggregation use gnark-crypto's BLS12-381 (assembly
// field arithmetic, several times faster than circl's); key generation and
// signing, which handle the secret scalar, stay on circl's constant-time
// code. Both follow the same standards (ZCash point encoding, hash to G2 by
// RFC 9380 with the ciphersuite's DST), so signatures are byte-identical and
// each verifies what the other signs (TestBLSGolden, FuzzBLSVerify).

// dstG2 is the domain separation tag of the signatures: the minimal-pubkey
// ciphersuite of the IETF BLS signature draft, which circl's KeyG1SigG2
// signs with.
const dstG2 = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"

// negG1 is −g1, the negated generator of G1: a signature verifies when
// e(pk, H(m)) · e(−g1, sig) = 1.
var negG1 = func() gbls.G1Affine {
	_, _, g1, _ := gbls.Generators()
	var n gbls.G1Affine
	n.Neg(&g1)
	return n
}()

// Bounds of the cache of messages hashed to G2.
const (
	// hashCacheEntries is how many messages' hashes are kept. A store's
	// confirmations (one per node) and its certificate all sign one
	// message: the client verifies each, and the chain the aggregate.
	hashCacheEntries = 64
	// hashCacheMaxMessage is the longest message cached (a blob
	// certification is 3 + 4 + 32 + 1 + 32 bytes); longer ones are hashed
	// each time.
	hashCacheMaxMessage = 256
)

// hashes caches H(m), the hash of a message to G2 (half a millisecond of
// the 2 ms a verification takes).
var hashes hashCache

// hashCache keeps the G2 hashes of the last hashCacheEntries messages.
// Concurrent verifications of one message hash it once.
type hashCache struct {
	mu   sync.Mutex
	m    map[string]*hashEntry
	ring []string // the cached messages, oldest replaced first
	next int
}

type hashEntry struct {
	once sync.Once
	p    gbls.G2Affine
	err  error
}

func hashToG2(msg []byte) (gbls.G2Affine, error) { return gbls.HashToG2(msg, []byte(dstG2)) }

func (c *hashCache) get(msg []byte) (*gbls.G2Affine, error) {
	if len(msg) > hashCacheMaxMessage {
		h, err := hashToG2(msg)
		return &h, err
	}
	c.mu.Lock()
	e, ok := c.m[string(msg)]
	if !ok {
		if c.m == nil {
			c.m = make(map[string]*hashEntry, hashCacheEntries)
		}
		key := string(msg)
		if len(c.ring) < hashCacheEntries {
			c.ring = append(c.ring, key)
		} else {
			delete(c.m, c.ring[c.next])
			c.ring[c.next] = key
			c.next = (c.next + 1) % hashCacheEntries
		}
		e = &hashEntry{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.p, e.err = hashToG2(msg) })
	return &e.p, e.err
}

// point parses the key into a G1 point, checking that it is a valid,
// canonically encoded, non-identity point of the prime-order subgroup.
func (pk BLSPublicKey) point() (*gbls.G1Affine, error) {
	if pk[0]&0x80 == 0 {
		return nil, fmt.Errorf("%w: BLS public key is not compressed", ErrInvalidKey)
	}
	var p gbls.G1Affine
	if _, err := p.SetBytes(pk[:]); err != nil {
		return nil, fmt.Errorf("%w: BLS public key: %v", ErrInvalidKey, err)
	}
	if p.IsInfinity() {
		return nil, fmt.Errorf("%w: BLS public key is the identity", ErrInvalidKey)
	}
	return &p, nil
}

// point parses the signature into a G2 point of the prime-order subgroup
// (canonically encoded, compressed).
func (s BLSSignature) point() (*gbls.G2Affine, error) {
	if s[0]&0x80 == 0 {
		return nil, fmt.Errorf("%w: BLS signature is not compressed", ErrBadSignature)
	}
	var p gbls.G2Affine
	if _, err := p.SetBytes(s[:]); err != nil {
		return nil, fmt.Errorf("%w: BLS signature: %v", ErrBadSignature, err)
	}
	return &p, nil
}

// Validate checks that pk is a valid public key.
func (pk BLSPublicKey) Validate() error {
	_, err := pk.point()
	return err
}

// Verify checks sig on msg under pk. It returns ErrBadSignature or
// ErrInvalidKey (wrapped) when it does not verify.
func (pk BLSPublicKey) Verify(msg []byte, sig BLSSignature) error {
	p, err := pk.point()
	if err != nil {
		return err
	}
	return verifyPoint(p, msg, sig)
}

// verifyPoint checks sig on msg under the (valid) key p with one product
// of two pairings.
func verifyPoint(p *gbls.G1Affine, msg []byte, sig BLSSignature) error {
	s, err := sig.point()
	if err != nil {
		return err
	}
	h, err := hashes.get(msg)
	if err != nil {
		return fmt.Errorf("%w: hashing the message: %v", ErrBadSignature, err)
	}
	ok, err := gbls.PairingCheck([]gbls.G1Affine{*p, negG1}, []gbls.G2Affine{*h, *s})
	if err != nil || !ok {
		return fmt.Errorf("%w: BLS signature does not verify", ErrBadSignature)
	}
	return nil
}

// String returns the base64 form.
func (pk BLSPublicKey) String() string { return base64.StdEncoding.EncodeToString(pk[:]) }

// MarshalText implements encoding.TextMarshaler.
func (pk BLSPublicKey) MarshalText() ([]byte, error) { return []byte(pk.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It checks the length
// only; Validate checks the point.
func (pk *BLSPublicKey) UnmarshalText(b []byte) error { return decodeFixed("BLS public key", pk[:], b) }

// String returns the base64 form.
func (s BLSSignature) String() string { return base64.StdEncoding.EncodeToString(s[:]) }

// MarshalText implements encoding.TextMarshaler.
func (s BLSSignature) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *BLSSignature) UnmarshalText(b []byte) error { return decodeFixed("BLS signature", s[:], b) }

func decodeFixed(kind string, dst, text []byte) error {
	if base64.StdEncoding.DecodedLen(len(text)) > len(dst)+2 {
		return fmt.Errorf("%w: %s too long", ErrInvalidArgument, kind)
	}
	b, err := base64.StdEncoding.DecodeString(string(text))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidArgument, kind, err)
	}
	if len(b) != len(dst) {
		return fmt.Errorf("%w: %s has %d bytes, want %d", ErrInvalidArgument, kind, len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

// AggregateSignatures adds BLS signatures (on the same message) into one.
// Each must be a valid compressed point of G2's prime-order subgroup.
func AggregateSignatures(sigs []BLSSignature) (BLSSignature, error) {
	var out BLSSignature
	if len(sigs) == 0 {
		return out, fmt.Errorf("%w: no signatures to aggregate", ErrInvalidArgument)
	}
	var sum gbls.G2Jac
	for i := range sigs {
		p, err := sigs[i].point()
		if err != nil {
			return out, fmt.Errorf("%w: aggregating: signature %d: %v", ErrBadSignature, i, err)
		}
		sum.AddMixed(p)
	}
	var agg gbls.G2Affine
	agg.FromJacobian(&sum)
	return BLSSignature(agg.Bytes()), nil
}

// VerifyAggregate checks an aggregate signature on msg by the holders of pks
// (all signing the same message). Keys must have proofs of possession, as
// every key on chain does.
func VerifyAggregate(pks []BLSPublicKey, msg []byte, agg BLSSignature) error {
	pts := make([]*gbls.G1Affine, len(pks))
	for i, pk := range pks {
		p, err := pk.point()
		if err != nil {
			return err
		}
		pts[i] = p
	}
	return verifyAggregatePoints(pts, msg, agg)
}

func verifyAggregatePoints(pts []*gbls.G1Affine, msg []byte, agg BLSSignature) error {
	if len(pts) == 0 {
		return fmt.Errorf("%w: no signers", ErrBadSignature)
	}
	var jac gbls.G1Jac
	for _, p := range pts {
		jac.AddMixed(p)
	}
	var sum gbls.G1Affine
	sum.FromJacobian(&jac)
	if sum.IsInfinity() {
		return fmt.Errorf("%w: signers' keys sum to the identity", ErrBadSignature)
	}
	return verifyPoint(&sum, msg, agg)
}

// VerifyProofOfPossession checks a node key's proof of possession for an
// operator address and epoch. It returns ErrInvalidProofOfPossession
// (wrapped) when it does not verify.
func VerifyProofOfPossession(pk BLSPublicKey, epoch uint32, operator Address, pop BLSSignature) error {
	if err := pk.Verify(ProofOfPossessionMessage(epoch, operator, pk), pop); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProofOfPossession, err)
	}
	return nil
}

// keyCache holds a committee's parsed public keys.
type keyCache struct {
	pts atomic.Pointer[[]*gbls.G1Affine]
}

// VerifySignedMessage checks a node's signed answer: that the message it
// signed is want, and that sig is pk's BLS signature on it. A different
// message, a signature of the wrong size or one that does not verify is
// ErrBadSignature (with what was wrong).
func VerifySignedMessage(pk BLSPublicKey, got, sig, want []byte) (BLSSignature, error) {
	if !bytes.Equal(got, want) {
		return BLSSignature{}, fmt.Errorf("%w: the node signed another message (%d bytes)", ErrBadSignature, len(got))
	}
	if len(sig) != BLSSignatureSize {
		return BLSSignature{}, fmt.Errorf("%w: signature of %d bytes", ErrBadSignature, len(sig))
	}
	s := BLSSignature(sig)
	if err := pk.Verify(want, s); err != nil {
		return BLSSignature{}, err
	}
	return s, nil
}
