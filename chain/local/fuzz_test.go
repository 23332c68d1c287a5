package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/encoding"
)

// seedTxs returns signed transactions of several kinds, as JSON.
func seedTxs(f *testing.F) [][]byte {
	net := chaintest.NewNetwork(3, 10, 10, 10, 10)
	var root encoding.Hash
	calls := []Call{
		{RequestWAL: &RequestWALCall{Amount: 5}},
		{TransferWAL: &TransferWALCall{To: chain.Address{1}, Amount: 1}},
		{RegisterBlob: &RegisterBlobCall{BlobID: encoding.ComputeBlobID(encoding.RS2, 10, root), Size: 10, EncodingType: encoding.RS2, Epochs: 1}},
		{CertifyBlob: &CertifyBlobCall{Certificate: chain.Certificate{Message: []byte{1, 0, 3, 1, 0, 0, 0}, Signers: chain.Bitmap{3}}}},
		{UpdateNode: &UpdateNodeCall{Name: new(string), Addresses: &[]string{"/ip4/1.2.3.4/tcp/1"}}},
	}
	// And one of every kind, as the golden file has them.
	for _, c := range goldenCalls(net) {
		calls = append(calls, c.call)
	}
	var out [][]byte
	for _, c := range calls {
		st, err := Sign(Tx{Sender: net.Client.Address(), Nonce: 1, Expiry: 1 << 42, Call: c}, net.Client)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(st)
		out = append(out, b)
	}
	return out
}

// FuzzDecodeSignedTx feeds arbitrary bodies to the transaction decoder and
// the signature check: they fail with a typed error or round-trip.
func FuzzDecodeSignedTx(f *testing.F) {
	for _, b := range seedTxs(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"tx":{"call":{}},"signature":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeSignedTx(b)
		if err != nil {
			if chain.ErrorCode(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		_, enc, err := st.verify()
		if err != nil {
			if chain.ErrorCode(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// A valid transaction encodes the same after a JSON round trip.
		j, _ := json.Marshal(st)
		back, err := DecodeSignedTx(j)
		if err != nil {
			t.Fatal(err)
		}
		enc2, err := back.Tx.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding differs after a round trip: %v", err)
		}
	})
}

// FuzzServerTx posts arbitrary bodies to a live chain's /v1/tx: the server
// answers with a 4xx and a typed error, or executes a valid transaction;
// it never fails with a 5xx.
func FuzzServerTx(f *testing.F) {
	for _, b := range seedTxs(f) {
		f.Add(b)
	}
	net := chaintest.NewNetwork(3, 10, 10, 10, 10)
	c, _ := openTest(f, genesisOf(net), "")
	h := NewHandler(c, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v1/tx", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" {
				t.Fatalf("error body %q", rec.Body)
			}
		}
	})
}

// FuzzParseGenesis parses arbitrary genesis files: typed errors or a
// genesis that validates or not, never a panic.
func FuzzParseGenesis(f *testing.F) {
	f.Add([]byte("nShards: 10\nepochDuration: 1m\nnodes: []\n"))
	f.Add([]byte(`{"nShards": 7, "accounts": [{"address": "0x` + "00000000000000000000000000000000000000000000000000000000000000ab" + `", "balance": 5}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGenesis(b)
		if err != nil {
			if !errors.Is(err, chain.ErrInvalidArgument) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		g.EnsureDefaults()
		if err := g.Validate(); err != nil && !errors.Is(err, chain.ErrInvalidArgument) {
			t.Fatalf("untyped validation error %v", err)
		}
	})
}

// FuzzDecodeRecords checks that corrupt records are refused before
// decoding.
func FuzzDecodeRecords(f *testing.F) {
	f.Add([]byte{})
	f.Add(encodeEvent(&chain.Event{Kind: chain.EventBlobRegistered}))
	// A block with a succeeded and a failed transaction.
	for _, b := range seedTxs(f)[:2] {
		st, _ := DecodeSignedTx(b)
		rec, err := encodeBlock(&Block{Header: BlockHeader{Height: 1}, Txs: []BlockTx{{Tx: *st}, {Tx: *st, Error: "insufficient-balance"}}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeBlock(b); err != nil && !errors.Is(err, chain.ErrCorrupt) {
			t.Fatalf("block: untyped error %v", err)
		}
		if _, err := decodeEvent(b); err != nil && !errors.Is(err, chain.ErrCorrupt) {
			t.Fatalf("event: untyped error %v", err)
		}
	})
}
