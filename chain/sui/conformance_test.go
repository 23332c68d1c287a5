package sui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/chain/sui"
	"github.com/walrus-go/walrus/chain/sui/suitest"
)

// notOnSui are the conformance tests that check what Walrus's Move package
// does not have, or does differently, and why.
var notOnSui = map[string]string{
	// Issue 13: the adapter returns chain.ErrSharedBlobsUnsupported.
	"SharedBlobs":    "the adapter does not build Walrus's shared_blob calls yet",
	"Genesis":        "Sui has no faucet of ours (FaucetLimit 0) and no epoch seeds (storage challenges are ours)",
	"Faucet":         "WAL on Sui comes from its treasury, not a faucet",
	"RegisterNode":   "funds the newcomer from the faucet",
	"EpochChange":    "reads epoch seeds, which Walrus's package has not",
	"Attestation":    "storage-challenge attestations are ours, not in Walrus's package",
	"Rewards":        "StakedWAL.Value is the principal on Sui: this backend does not compute rewards",
	"CertifyBlob":    "certifies another owner's blob: on Sui only a Blob's owner can pass it by &mut",
	"RegisterBlob":   "Walrus's BlobRegistered event names no owner; receipt cursors carry no follower Seq",
	"Dedup":          "compares status event cursors with receipt cursors, whose Seq a Sui event ID cannot give",
	"InvalidateBlob": "Walrus's package lets an invalidated blob ID be registered (its nodes refuse it); cursor Seq as Dedup",
	"Staking":        "passes up to its check of staking events: Walrus's package emits none (Staked, Withdrawn...)",
	"Events":         "compares stream events with receipt events (owner, cursor Seq), see RegisterBlob",
	// Added with issue 9's reads, for the owner of this backend to enable.
	"PendingWithdrawal": "reads NodeInfo.PendingByEpoch and WithdrawingByEpoch, which this backend does not fill yet",
}

// TestConformance runs the chain.Chain conformance suite against the Sui
// backend over the test server.
func TestConformance(t *testing.T) {
	chaintest.Run(t, func(t testing.TB, net *chaintest.Network) *chaintest.Backend {
		name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
		if why, ok := notOnSui[name]; ok {
			t.Skip(why)
		}
		srv := suitest.New(t, net)
		c, err := sui.Open(context.Background(), srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &chaintest.Backend{Chain: c, Advance: func(ctx context.Context, d time.Duration) error { return srv.Advance(ctx, d) }}
	})
}
