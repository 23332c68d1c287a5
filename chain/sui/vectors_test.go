package sui

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/chain"
)

// vectors is testdata/vectors/vectors.json, made by vectors.mjs with
// @mysten/sui and @mysten/walrus.
type vectors struct {
	PeerID       string
	NetAddr      string
	Sender       string
	PublicKey    string
	Seed         string
	Transactions map[string]struct{ TxBytes, Digest, Signature string }
	Objects      map[string]string
	Events       map[string]string
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The inputs of vectors.mjs.
func h32(b byte) [32]byte {
	var out [32]byte
	for i := range out {
		out[i] = b
	}
	return out
}

func seq(n int, from byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = from + byte(i)
	}
	return out
}

func oref(b byte, version uint64) ObjectRef {
	return ObjectRef{ID: h32(b), Version: version, Digest: seq(32, b)}
}

// le reverses big-endian bytes: vectors.mjs writes u256 values as numbers,
// whose BCS is little-endian.
func le(b []byte) [32]byte {
	var out [32]byte
	for i := range out {
		out[i] = b[31-i]
	}
	return out
}

var (
	vecCalls   = calls{pkg: h32(0x11), system: sharedRef{ID: h32(0x22), InitialSharedVersion: 5}, staking: sharedRef{ID: h32(0x33), InitialSharedVersion: 6}}
	vecGas     = Gas{Payment: []ObjectRef{oref(0xa0, 10), oref(0xa1, 11)}, Price: 1000, Budget: 50_000_000}
	vecWAL     = []ObjectRef{oref(0xb0, 20), oref(0xb1, 21), oref(0xb2, 22)}
	vecBlob    = oref(0xc0, 30)
	vecStorage = oref(0xc1, 31)
	vecStaked  = oref(0xc2, 32)
	vecCap     = oref(0xc3, 33)
	vecNode    = chain.NodeID(h32(0x55))
	vecOwner   = chain.Address(h32(0x66))
	vecBlobID  = le(seq(32, 1))
	vecRoot    = le(seq(32, 0x21))
)

func vecCert(msg []byte) *chain.Certificate {
	c := &chain.Certificate{Message: msg, Signers: chain.Bitmap{0x0b}}
	copy(c.Signature[:], seq(96, 0x80))
	return c
}

func vecKey(t testing.TB) *chain.AccountKey {
	k, err := chain.AccountKeyFromSeed(seq(32, 7))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestTransactionVectors builds every transaction kind and checks its bytes,
// digest and signature against @mysten/sui's.
func TestTransactionVectors(t *testing.T) {
	v := loadVectors(t)
	key := vecKey(t)
	sender := key.Address()
	if sender.String() != v.Sender {
		t.Fatalf("sender %s, vectors %s", sender, v.Sender)
	}
	c := vecCalls
	netAddr, netKey, err := EncodeNetworkRecord(PeerIDFromEd25519(seq(32, 0xd0)), []string{"/ip4/127.0.0.1/tcp/9000", "/ip6/::1/tcp/9000"})
	if err != nil || netAddr != v.NetAddr {
		t.Fatalf("network record %q (%v), vectors %q", netAddr, err, v.NetAddr)
	}
	certMsg := append([]byte{1, 0, 3, 7, 0, 0, 0}, append(seq(32, 1), 0)...)
	invalidMsg := append([]byte{2, 0, 3, 7, 0, 0, 0}, seq(32, 1)...)
	renamed, addr, commission, sp := "renamed", "/ip4/10.0.0.1/tcp/1", uint16(2500), uint64(1100)
	builds := map[string]*builder{
		"reserve_space": c.reserveSpace(vecWAL, 5<<20, 3, sender),
		"register_blob": c.registerBlob(vecWAL, nil, 5<<20, 3, blobArgs{BlobID: vecBlobID, RootHash: vecRoot, Size: 1000, EncodingType: 1, Deletable: true}, vecOwner),
		"register_blob_with_storage": c.registerBlob(vecWAL[:1], &vecStorage, 0, 0,
			blobArgs{BlobID: vecBlobID, RootHash: vecRoot, Size: 1000, EncodingType: 1}, sender),
		"certify_blob":       c.certifyBlob(vecBlob, vecCert(certMsg)),
		"delete_blob":        c.deleteBlob(vecBlob, sender),
		"extend_blob":        c.extendBlob(vecBlob, vecWAL[:2], 4),
		"invalidate_blob_id": c.invalidateBlobID(vecCert(invalidMsg)),
		"register_candidate": c.registerCandidate(candidate{
			Name: "node-0", NetworkAddress: netAddr, PublicKey: seq(48, 0x90),
			NetworkPublicKey: netKey, Proof: seq(96, 0x70),
			Commission: 1000, StoragePrice: 1000, WritePrice: 300, Capacity: 1 << 40,
		}, sender),
		"update_node": c.updateNode(vecCap, nodeUpdate{Name: &renamed, NetworkAddress: &addr, Commission: &commission,
			PublicKey: seq(48, 0x91), Proof: seq(96, 0x71), StoragePrice: &sp}),
		"stake_with_pool":             c.stakeWithPool(vecWAL, 2_000_000_000, vecNode, sender),
		"request_withdraw_stake":      c.requestWithdrawStake(vecStaked),
		"withdraw_stake":              c.withdrawStake(vecStaked, sender),
		"set_next_commission":         c.setNextCommission(vecCap, 1500),
		"collect_commission":          c.collectCommission(vecCap, vecNode, sender),
		"epoch_sync_done":             c.epochSyncDone(vecCap, 7),
		"transfer_wal":                transferWAL(vecWAL, 123_456_789, vecOwner),
		"set_blob_attribute":          c.setBlobAttribute(vecBlob, vecAttrPairs),
		"remove_blob_attribute_pairs": c.removeBlobAttributePairs(vecBlob, []string{"content-type", "x-key"}),
		"remove_blob_attribute":       c.removeBlobAttribute(vecBlob),
		"transfer_wal_one_coin":       transferWAL(vecWAL[:1], 5, vecOwner),
	}
	var names []string
	for name := range v.Transactions {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		want := v.Transactions[name]
		t.Run(name, func(t *testing.T) {
			b, ok := builds[name]
			if !ok {
				t.Fatalf("no Go builder for vector %q", name)
			}
			got, err := b.txBytes(sender, vecGas)
			if err != nil {
				t.Fatal(err)
			}
			if w := b64(t, want.TxBytes); !slices.Equal(got, w) {
				t.Fatalf("tx bytes differ\n got %x\nwant %x", got, w)
			}
			if d := DigestString(TxDigest(got)); d != want.Digest {
				t.Errorf("digest %s, want %s", d, want.Digest)
			}
			if s := Sign(key, got); s != want.Signature {
				t.Errorf("signature %s, want %s", s, want.Signature)
			}
		})
	}
	if len(builds) != len(v.Transactions) {
		t.Errorf("%d Go builders, %d vectors", len(builds), len(v.Transactions))
	}
}

// TestDecodeTransaction decodes every Mysten-made transaction and checks
// what the test server reads from it.
func TestDecodeTransaction(t *testing.T) {
	v := loadVectors(t)
	for name, tv := range v.Transactions {
		tx, err := DecodeTransaction(b64(t, tv.TxBytes))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tx.Sender.String() != v.Sender || tx.Gas.Price != 1000 || tx.Gas.Budget != 50_000_000 || len(tx.Gas.Payment) != 2 || len(tx.Commands) == 0 {
			t.Errorf("%s: %+v", name, tx)
		}
		b := b64(t, tv.TxBytes)
		if _, err := DecodeTransaction(b[:len(b)-1]); err == nil {
			t.Errorf("%s: truncated transaction decoded", name)
		}
	}
	tx, _ := DecodeTransaction(b64(t, v.Transactions["collect_commission"].TxBytes))
	if c := tx.Commands[0]; c.Module != "auth" || c.Function != "authenticate_with_object" || c.TypeArgs != 1 {
		t.Errorf("collect_commission command 0: %+v", c)
	}
	tx, _ = DecodeTransaction(b64(t, v.Transactions["stake_with_pool"].TxBytes))
	if c := tx.Commands[1]; c.Kind != CmdSplitCoins || len(c.Args) != 2 || c.Args[1].Kind != ArgInput {
		t.Errorf("stake_with_pool split: %+v", c)
	}
}
