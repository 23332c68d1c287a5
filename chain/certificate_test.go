package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// testCommittee builds a committee whose member i holds counts[i] shards,
// with deterministic keys.
func testCommittee(t testing.TB, epoch uint32, counts ...int) (*Committee, []*BLSPrivateKey) {
	t.Helper()
	c := &Committee{Epoch: epoch}
	var keys []*BLSPrivateKey
	next := 0
	for i, n := range counts {
		k := testBLSKey(t, uint64(100+i))
		keys = append(keys, k)
		var id NodeID
		id[0] = byte(i + 1) // ascending IDs
		m := Member{NodeID: id, Name: "n", PublicKey: k.PublicKey(), Stake: 1}
		for range n {
			m.Shards = append(m.Shards, uint16(next))
			next++
		}
		c.Members = append(c.Members, m)
	}
	c.NShards = next
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c, keys
}

func sign(c *Committee, keys []*BLSPrivateKey, msg []byte, signers ...int) *Certificate {
	sigs := map[int]BLSSignature{}
	for _, i := range signers {
		sigs[i] = keys[i].Sign(msg)
	}
	cert, err := NewCertificate(c, msg, sigs)
	if err != nil {
		panic(err)
	}
	return cert
}

func TestCommitteeHelpers(t *testing.T) {
	// n = 10, f = 3, quorum 7, validity 4.
	c, _ := testCommittee(t, 1, 4, 3, 2, 1)
	if c.F() != 3 || c.QuorumShards() != 7 || c.ValidityShards() != 4 {
		t.Fatalf("f=%d quorum=%d validity=%d", c.F(), c.QuorumShards(), c.ValidityShards())
	}
	if i, ok := c.MemberForShard(5); !ok || i != 1 {
		t.Errorf("MemberForShard(5) = %d %v, want 1", i, ok)
	}
	if _, ok := c.MemberForShard(10); ok {
		t.Error("shard 10 has a holder")
	}
	if got, want := c.ShardOwners(), []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("ShardOwners = %v, want %v", got, want)
	}
	if got := c.ShardCount(0, 2, 2, 9); got != 6 {
		t.Errorf("ShardCount = %d, want 6", got)
	}
	if got := c.Weight(BitmapOf(4, 1, 3)); got != 4 {
		t.Errorf("Weight = %d, want 4", got)
	}
	if i, ok := c.Index(c.Members[2].NodeID); !ok || i != 2 {
		t.Errorf("Index = %d %v", i, ok)
	}
	bad := c.Clone()
	bad.Members[1].Shards[0] = 0 // shard 0 twice, shard 4 missing
	if err := bad.Validate(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("duplicate shard: %v", err)
	}
	bad = c.Clone()
	bad.Members[0], bad.Members[1] = bad.Members[1], bad.Members[0]
	if err := bad.Validate(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unordered members: %v", err)
	}
}

func TestCertificateVerify(t *testing.T) {
	c, keys := testCommittee(t, 5, 4, 3, 2, 1) // quorum 7, validity 4
	blob := encoding.BlobID(fill32(0xAB))
	msg := BlobCertification{Epoch: 5, BlobID: blob}.Message()

	tests := []struct {
		name    string
		cert    *Certificate
		thr     Threshold
		wantErr error
	}{
		{"quorum 4+3", sign(c, keys, msg, 0, 1), Quorum, nil},
		{"all", sign(c, keys, msg, 0, 1, 2, 3), Quorum, nil},
		{"below quorum 4+2", sign(c, keys, msg, 0, 2), Quorum, ErrBelowThreshold},
		{"validity 4", sign(c, keys, msg, 0), Validity, nil},
		{"below validity 3", sign(c, keys, msg, 1), Validity, ErrBelowThreshold},
		{"past epoch", sign(c, keys, BlobCertification{Epoch: 4, BlobID: blob}.Message(), 0, 1, 2), Quorum, ErrWrongEpoch},
		{"bitmap claims a non-signer", func() *Certificate {
			cert := sign(c, keys, msg, 0, 1)
			cert.Signers.Set(2)
			return cert
		}(), Quorum, ErrInvalidCertificate},
		{"bitmap misses a signer", func() *Certificate {
			cert := sign(c, keys, msg, 0, 1, 2)
			cert.Signers = BitmapOf(4, 0, 1)
			return cert
		}(), Quorum, ErrInvalidCertificate},
		{"signature on other message", func() *Certificate {
			cert := sign(c, keys, msg, 0, 1)
			cert.Message = BlobCertification{Epoch: 5, BlobID: encoding.BlobID{}}.Message()
			return cert
		}(), Quorum, ErrInvalidCertificate},
		{"bitmap too long", func() *Certificate {
			cert := sign(c, keys, msg, 0, 1)
			cert.Signers = append(cert.Signers, 0)
			return cert
		}(), Quorum, ErrInvalidCertificate},
		{"bitmap bit beyond committee", func() *Certificate {
			cert := sign(c, keys, msg, 0, 1)
			cert.Signers[0] |= 0x80
			return cert
		}(), Quorum, ErrInvalidCertificate},
		{"malformed message", func() *Certificate {
			cert := sign(c, keys, msg, 0, 1)
			cert.Message = cert.Message[:3]
			return cert
		}(), Quorum, ErrInvalidCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.cert.Verify(c, tt.thr)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if m.Epoch != 5 || m.Intent != IntentBlobCertification {
					t.Fatalf("parsed message %+v", m)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
	var te *ThresholdError
	_, err := sign(c, keys, msg, 0, 2).Verify(c, Quorum)
	if !errors.As(err, &te) || te.Shards != 6 || te.Need != 7 {
		t.Fatalf("threshold error %v", err)
	}
}

func TestCertificateJSON(t *testing.T) {
	c, keys := testCommittee(t, 2, 1, 1, 1, 1)
	cert := sign(c, keys, InvalidBlobMessage(2, encoding.BlobID{}), 0, 1)
	b, err := json.Marshal(cert)
	if err != nil {
		t.Fatal(err)
	}
	var back Certificate
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if _, err := back.Verify(c, Validity); err != nil {
		t.Fatalf("certificate after JSON: %v", err)
	}
}

func TestCursor(t *testing.T) {
	for _, c := range []Cursor{{}, {Seq: 1}, {Seq: 1 << 63}, {Seq: 5, Token: "abc.def"}} {
		got, err := ParseCursor(c.String())
		if err != nil || got != c {
			t.Errorf("round trip %+v: %+v %v", c, got, err)
		}
	}
	for _, bad := range []string{"x", "-1", "01", "18446744073709551616"} {
		if _, err := ParseCursor(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseCursor(%q) = %v", bad, err)
		}
	}
	if !(Cursor{Seq: 1}).Less(Cursor{Seq: 2}) || (Cursor{Seq: 2}).Less(Cursor{Seq: 2}) {
		t.Error("Less")
	}
}

func TestCosts(t *testing.T) {
	s := SystemState{NShards: 10, StoragePrice: 100, WritePrice: 7}
	if got := StorageUnits(0); got != 0 {
		t.Errorf("units(0) = %d", got)
	}
	if got := StorageUnits(StorageUnitSize + 1); got != 2 {
		t.Errorf("units(1 MiB + 1) = %d", got)
	}
	p, _ := encoding.NewParams(10)
	enc, _ := p.EncodedLength(1000)
	units := StorageUnits(enc)
	got, err := s.RegisterCost(1000, 3)
	if want := units*100*3 + units*7; err != nil || got != want {
		t.Errorf("RegisterCost = %d, %v; want %d", got, err, want)
	}
	s.StoragePrice = 1 << 62
	if _, err := s.StorageCost(10*StorageUnitSize, 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("overflow: %v", err)
	}
}

func TestErrorCodes(t *testing.T) {
	for _, c := range errorCodes {
		err := ErrorFromCode("msg", ErrorCode(c.err))
		if !errors.Is(err, c.err) || err.Error() != "msg" {
			t.Errorf("%s does not survive the round trip", c.code)
		}
	}
	if !errors.Is(ErrorFromCode("m", "nonsense"), ErrUnavailable) {
		t.Error("unknown code")
	}
	if ErrorCode(&InsufficientBalanceError{}) != "insufficient-balance" {
		t.Error("typed error code")
	}
	// Every sentinel in a chain survives.
	wrapped := fmt.Errorf("%w: %w", ErrInvalidCertificate, fmt.Errorf("%w: x", ErrBadSignature))
	back := ErrorFromCode(wrapped.Error(), ErrorCodes(wrapped)...)
	if !errors.Is(back, ErrInvalidCertificate) || !errors.Is(back, ErrBadSignature) || errors.Is(back, ErrNotFound) {
		t.Errorf("codes %v rebuild %v", ErrorCodes(wrapped), back)
	}
}

func FuzzCertificateVerify(f *testing.F) {
	c, keys := testCommittee(f, 5, 2, 1, 1)
	msg := BlobCertification{Epoch: 5, BlobID: encoding.BlobID{}}.Message()
	good := sign(c, keys, msg, 0, 1)
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var cert Certificate
		if json.Unmarshal(b, &cert) != nil {
			return
		}
		if _, err := cert.Verify(c, Quorum); err == nil {
			// Only certificates on messages the committee signed verify.
			if _, err := ParseBlobCertification(cert.Message); err != nil {
				t.Fatalf("verified a certificate on a non-certification message")
			}
		}
	})
}

// FuzzParseText parses the text forms of cursors, IDs and keys: each fails
// with ErrInvalidArgument or round-trips.
func FuzzParseText(f *testing.F) {
	f.Add("12.tok")
	f.Add(Address{1}.String())
	f.Add(Digest{2}.String())
	f.Add("passed")
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := ParseCursor(s); err == nil {
			if back, err := ParseCursor(c.String()); err != nil || back != c {
				t.Fatalf("cursor %q does not round-trip", s)
			}
		} else if !errors.Is(err, ErrInvalidArgument) {
			t.Fatal(err)
		}
		if a, err := ParseAddress(s); err == nil {
			if back, _ := ParseAddress(a.String()); back != a {
				t.Fatalf("address %q does not round-trip", s)
			}
		} else if !errors.Is(err, ErrInvalidArgument) {
			t.Fatal(err)
		}
		if d, err := ParseDigest(s); err == nil {
			if back, _ := ParseDigest(d.String()); back != d {
				t.Fatalf("digest %q does not round-trip", s)
			}
		} else if !errors.Is(err, ErrInvalidArgument) {
			t.Fatal(err)
		}
		var pk BLSPublicKey
		if err := pk.UnmarshalText([]byte(s)); err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Fatal(err)
		}
		var v ChallengeVerdict
		if err := v.UnmarshalText([]byte(s)); err == nil {
			if v.String() != s {
				t.Fatalf("verdict %q does not round-trip", s)
			}
		} else if !errors.Is(err, ErrInvalidArgument) {
			t.Fatal(err)
		}
	})
}
