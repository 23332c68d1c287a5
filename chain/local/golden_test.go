package local

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/encoding"
)

// update rewrites the golden files: go test ./chain/local -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// goldenText compares text with testdata/name, or writes it with -update.
// A format change shows as a diff of the file.
func goldenText(t *testing.T, name, text string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (make it with -update)", err)
	}
	if string(want) != text {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(text, "\n")
		for i := range max(len(wl), len(gl)) {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs from line %d:\n got  %s\n want %s\n(a format change? rerun with -update and commit the diff)", path, i+1, g, w)
			}
		}
	}
}

// hexLines writes b as hex, 32 bytes a line, each line prefixed.
func hexLines(b []byte, prefix string) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(len(b), 32)
		fmt.Fprintf(&sb, "%s%x\n", prefix, b[:n])
		b = b[n:]
	}
	if sb.Len() == 0 {
		sb.WriteString(prefix + "\n")
	}
	return sb.String()
}

// goldenGenesis is a fixed genesis: keys from fixed seeds, a fixed time and
// seed, a faucet.
func goldenGenesis(t *testing.T) (*Genesis, *chaintest.Network) {
	net := chaintest.NewNetwork(7, 40, 30)
	g := genesisOf(net)
	g.Time = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	g.Seed = chain.Seed{1, 2, 3}
	g.Faucet = &Faucet{Total: 10 * chain.FrostPerWAL, PerAccount: chain.FrostPerWAL}
	g.EnsureDefaults()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g, net
}

// TestGoldenGenesis pins the genesis's BCS layout and the chain ID.
func TestGoldenGenesis(t *testing.T) {
	g, _ := goldenGenesis(t)
	text := "# BCS of a genesis (genesisBCS) and its hash, the chain ID:\n# Blake2b-256(\"Genesis::\" ‖ BCS).\n" +
		hexLines(g.BCS(), "bcs ") + fmt.Sprintf("chain-id %s\n", g.Hash())
	goldenText(t, "genesis.golden", text)
}

// goldenCalls returns one call of every kind, in the order of Call's
// fields.
func goldenCalls(net *chaintest.Network) []struct {
	name string
	call Call
} {
	id := chain.ObjectID{0xAA}
	n0 := net.Nodes[0]
	cert := chain.Certificate{Message: chain.BlobCertification{Epoch: 1, BlobID: encoding.BlobID{0xBB}}.Message(),
		Signature: n0.Key.Sign([]byte("golden")), Signers: chain.Bitmap{0x01}}
	name, commission, price := "renamed", uint16(700), uint64(5)
	addrs := []string{"/ip4/10.0.0.1/tcp/1"}
	pk, pop := n0.Key.PublicKey(), n0.Key.ProofOfPossession(1, n0.Operator.Address())
	netSig, _ := chain.SignNetworkKey(n0.Network, 1, n0.Operator.Address(), n0.PeerID)
	var root encoding.Hash
	root[0] = 9
	storage := chain.ObjectID{0xCC}
	passed := chain.Bitmap{0x03}
	return []struct {
		name string
		call Call
	}{
		{"requestWal", Call{RequestWAL: &RequestWALCall{Amount: 5}}},
		{"transferWal", Call{TransferWAL: &TransferWALCall{To: chain.Address{1}, Amount: 7}}},
		{"registerNode", Call{RegisterNode: &RegisterNodeCall{Args: chain.RegisterNodeArgs{
			Name: "n", PeerID: n0.PeerID, Addresses: addrs, PublicKey: pk, ProofOfPossession: pop,
			NetworkKeySignature: netSig, Commission: 300, StoragePriceVote: 1, WritePriceVote: 2, Capacity: 3,
		}}}},
		{"updateNode", Call{UpdateNode: &UpdateNodeCall{Node: id, Name: &name, PeerID: &n0.PeerID, NetworkKeySig: &netSig,
			Addresses: &addrs, PublicKey: &pk, ProofOfPossession: &pop, Commission: &commission, StoragePriceVote: &price}}},
		{"stake", Call{Stake: &StakeCall{Node: id, Amount: 11}}},
		{"requestWithdrawal", Call{RequestWithdrawal: &RequestWithdrawalCall{Staked: id}}},
		{"withdraw", Call{Withdraw: &WithdrawCall{Staked: id}}},
		{"reserveStorage", Call{ReserveStorage: &ReserveStorageCall{Size: 1 << 20, Epochs: 3}}},
		{"registerBlob", Call{RegisterBlob: &RegisterBlobCall{BlobID: encoding.ComputeBlobID(encoding.RS2, 10, root), RootHash: root,
			Size: 10, EncodingType: encoding.RS2, Epochs: 2, Deletable: true, Owner: chain.Address{2}, Storage: &storage}}},
		{"certifyBlob", Call{CertifyBlob: &CertifyBlobCall{Blob: id, Certificate: cert}}},
		{"deleteBlob", Call{DeleteBlob: &DeleteBlobCall{Blob: id}}},
		{"extendBlob", Call{ExtendBlob: &ExtendBlobCall{Blob: id, Epochs: 4}}},
		{"invalidateBlob", Call{InvalidateBlob: &InvalidateBlobCall{Certificate: cert}}},
		{"submitAttestation", Call{SubmitAttestation: &SubmitAttestationCall{Attestation: chain.Attestation{
			Node: id, Epoch: 1, Passed: passed, Signature: n0.Key.Sign(chain.AttestationMessage(1, id, passed))}}}},
		{"epochSyncDone", Call{EpochSyncDone: &EpochSyncDoneCall{Node: id, Epoch: 2}}},
		{"collectCommission", Call{CollectCommission: &CollectCommissionCall{Node: id}}},
		{"setBlobAttribute", Call{SetBlobAttribute: &SetBlobAttributeCall{Blob: id, Pairs: []chain.AttributePair{{Key: "content-type", Value: "text/plain"}}}}},
		{"removeBlobAttributePairs", Call{RemoveBlobAttributePairs: &RemoveBlobAttributePairsCall{Blob: id, Keys: []string{"content-type"}}}},
		{"removeBlobAttribute", Call{RemoveBlobAttribute: &RemoveBlobAttributeCall{Blob: id}}},
		{"shareBlob", Call{ShareBlob: &ShareBlobCall{Blob: id, Funds: 7}}},
		{"fundSharedBlob", Call{FundSharedBlob: &FundSharedBlobCall{Shared: id, Amount: 9}}},
		{"extendSharedBlob", Call{ExtendSharedBlob: &ExtendSharedBlobCall{Shared: id, Epochs: 2}}},
	}
}

// TestGoldenTransactions pins the BCS, digest and signature of a
// transaction of every kind.
func TestGoldenTransactions(t *testing.T) {
	_, net := goldenGenesis(t)
	var sb strings.Builder
	sb.WriteString("# One signed transaction of every kind: its BCS, digest\n# (Blake2b-256(\"TransactionData::\" ‖ BCS)) and Sui signature.\n")
	calls := goldenCalls(net)
	if len(calls) != (&Call{}).kinds() {
		t.Fatalf("%d golden calls for %d kinds: add the new one", len(calls), (&Call{}).kinds())
	}
	for i, c := range calls {
		st, err := Sign(Tx{Sender: net.Client.Address(), Nonce: uint64(i), Expiry: 1_750_000_000_000, Call: c.call}, net.Client)
		if err != nil {
			t.Fatal(err)
		}
		d, enc, err := st.verify()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "\ntx %s\n%sdigest %s\n%s", c.name, hexLines(enc, "bcs "), d, hexLines(st.Signature, "signature "))
	}
	goldenText(t, "transactions.golden", sb.String())
}

// TestGoldenBlock pins a block's header hash and its sealed BCS record: a
// transfer that succeeds and one that fails, as the producer records them.
func TestGoldenBlock(t *testing.T) {
	g, net := goldenGenesis(t)
	st, err := genesisState(g)
	if err != nil {
		t.Fatal(err)
	}
	poor := chaintest.NewAccount(77)
	b := &Block{Header: BlockHeader{Height: 1, Prev: st.lastHash, Randomness: [32]byte{7}}}
	st.beginBlock(1, st.timeMs+1000, b.Header.Randomness)
	b.Header.TimeMs = st.timeMs
	var txs []txEntry
	for i, s := range []*chain.AccountKey{net.Client, poor} {
		stx, err := Sign(Tx{Sender: s.Address(), Nonce: uint64(i), Expiry: st.timeMs + 60_000,
			Call: Call{TransferWAL: &TransferWALCall{To: chain.Address{3}, Amount: 5}}}, s)
		if err != nil {
			t.Fatal(err)
		}
		d, _, _ := stx.verify()
		_, inBlock, err := st.applyTx(stx, d)
		if !inBlock || (err != nil) != (i == 1) {
			t.Fatalf("transaction %d: in block %v, %v", i, inBlock, err)
		}
		b.Txs = append(b.Txs, BlockTx{Tx: *stx, Error: outcomeCode(err)})
		txs = append(txs, txEntry{d, outcomeCode(err)})
	}
	hash := st.endBlock(b, txs)
	rec, err := encodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeBlock(rec)
	if err != nil || back.Header.Hash() != hash || len(back.Txs) != 2 || back.Txs[1].Error != "insufficient-balance" {
		t.Fatalf("block does not round-trip: %v", err)
	}
	text := fmt.Sprintf("# A block of two transfers, the second failing: its header's fields,\n# hash (Blake2b-256 of the header's BCS) and sealed record\n# (Blake2b-256 of the BCS ‖ BCS).\n"+
		"tx-root %s\nevents-root %s\nhash %s\nstate-root %s\n", b.Header.TxRoot, b.Header.EventsRoot, hash, st.root())
	goldenText(t, "block.golden", text+hexLines(rec, "record "))
	if !bytes.Equal(rec[32:], mustBCS(t, b)) {
		t.Fatal("record is not checksum ‖ BCS")
	}
}

func mustBCS(t *testing.T, b *Block) []byte {
	rec, err := encodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	return rec[32:]
}
