package local

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain/chaintest"
)

// postTx posts a signed transaction's JSON to a chain's handler and returns
// the status and the error code of the answer.
func postTx(t *testing.T, h http.Handler, st *SignedTx) (int, string) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/tx", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var eb errorBody
	json.Unmarshal(rec.Body.Bytes(), &eb)
	return rec.Code, eb.Error.Code
}

// TestReplayFailedTx replays the signed bytes of a transaction that failed
// for want of funds once its sender is funded: the chain remembers every
// digest it recorded, failed ones included, until the transaction expires
// (across a restart too), and refuses the bytes as expired after that.
func TestReplayFailedTx(t *testing.T) {
	dir := t.TempDir()
	net := restartNet()
	g := genesisOf(net)
	clk := newManualClock()
	open := func() *Chain {
		c, err := Open(context.Background(), Config{Dir: dir, Genesis: g, Now: clk.Now, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := open()
	defer func() { c.Close() }()
	h := NewHandler(c, nil)
	poor, thief := chaintest.NewAccount(300), chaintest.NewAccount(301)
	expiry := uint64(clk.Now().Add(time.Minute).UnixMilli())
	st, err := Sign(Tx{Sender: poor.Address(), Nonce: 1, Expiry: expiry, Call: Call{TransferWAL: &TransferWALCall{To: thief.Address(), Amount: 5}}}, poor)
	if err != nil {
		t.Fatal(err)
	}
	d, _, _ := st.verify()
	if code, ec := postTx(t, h, st); code != http.StatusBadRequest || ec != "insufficient-balance" {
		t.Fatalf("first submission: %d %s", code, ec)
	}
	if _, err := c.TransferWAL(t.Context(), net.Client, poor.Address(), 100); err != nil {
		t.Fatal(err)
	}
	if code, ec := postTx(t, h, st); ec != "duplicate-tx" {
		t.Fatalf("replay of a failed transaction once funded: %d %q, want duplicate-tx", code, ec)
	}
	if b, _ := c.Balance(t.Context(), thief.Address()); b != 0 {
		t.Fatalf("the replay moved %d FROST", b)
	}
	// A restart replays the blocks, the failed transaction's too.
	c.Close()
	c = open()
	h = NewHandler(c, nil)
	if _, ec := postTx(t, h, st); ec != "duplicate-tx" {
		t.Fatalf("replay after a restart: %q", ec)
	}
	// After its expiry the bytes are refused as expired, and the digest
	// is forgotten: the chain's memory is bounded by MaxTxTTL.
	clk.Add(time.Minute)
	if _, ec := postTx(t, h, st); ec != "tx-expired" {
		t.Fatalf("replay after the expiry: %q", ec)
	}
	// Digests are dropped by the second of their expiry, once it is over.
	clk.Add(time.Second)
	if _, ec := postTx(t, h, st); ec != "tx-expired" {
		t.Fatalf("replay after the expiry: %q", ec)
	}
	c.mu.RLock()
	_, kept := c.st.recent[d]
	c.mu.RUnlock()
	if kept {
		t.Error("the digest is remembered past its expiry")
	}
	if b, _ := c.Balance(t.Context(), thief.Address()); b != 0 {
		t.Fatalf("a replay moved %d FROST", b)
	}
}

// TestReplaySucceededTx: the signed bytes of a transaction that executed
// are refused until they expire.
func TestReplaySucceededTx(t *testing.T) {
	net := restartNet()
	c, clk := openTest(t, genesisOf(net), "")
	h := NewHandler(c, nil)
	to := chaintest.NewAccount(302).Address()
	st, err := Sign(Tx{Sender: net.Client.Address(), Nonce: 9, Expiry: uint64(clk.Now().Add(time.Minute).UnixMilli()),
		Call: Call{TransferWAL: &TransferWALCall{To: to, Amount: 5}}}, net.Client)
	if err != nil {
		t.Fatal(err)
	}
	if code, ec := postTx(t, h, st); code != http.StatusOK {
		t.Fatalf("first submission: %d %s", code, ec)
	}
	clk.Add(59 * time.Second)
	if _, ec := postTx(t, h, st); ec != "duplicate-tx" {
		t.Fatalf("replay: %q", ec)
	}
	clk.Add(time.Second)
	if _, ec := postTx(t, h, st); ec != "tx-expired" {
		t.Fatalf("replay at the expiry: %q", ec)
	}
	if b, _ := c.Balance(t.Context(), to); b != 5 {
		t.Fatalf("balance %d, want 5", b)
	}
}
