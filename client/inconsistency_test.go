package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestInconsistentBlobMarkedInvalid plays the real attack on a network of
// real nodes: a writer alters one symbol of one primary sliver and commits
// to the altered sliver in the metadata, so every sliver verifies on its
// own and the blob is certified. The node that holds the altered pair is
// wiped; its recovery rebuilds the original sliver, which does not match
// the metadata, builds an inconsistency proof and gathers attestations; the
// chain marks the blob ID invalid and reads answer ErrBlobInvalid, never
// data. A member that forges its attestation's signature is named and
// dropped.
func TestInconsistentBlobMarkedInvalid(t *testing.T) {
	logger, logs := nettest.RecordLogs(t)
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10, Logger: logger})
	c := nettest.Client(t, nw)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	codec, err := encoding.New(10)
	nettest.Must(t, err, "codec")
	enc, err := codec.Encode(nettest.Blob(20_000, 17))
	nettest.Must(t, err, "encoding")
	const bad = 1 // a systematic row
	sl := &enc.Primary[bad]
	sl.Data = bytes.Clone(sl.Data)
	sl.Data[3] ^= 0xff
	root, err := codec.SliverRoot(sl)
	nettest.Must(t, err, "hashing the altered sliver")
	enc.Metadata.Hashes[bad].Primary = root
	enc.BlobID = enc.Metadata.BlobID()
	id := enc.BlobID

	res, err := c.StoreEncoded(ctx, enc, client.StoreOptions{Epochs: 3})
	if err != nil || res.NewlyCreated == nil || res.NewlyCreated.BlobObject.CertifiedEpoch == nil {
		t.Fatalf("storing the non-codeword: %+v, %v (each sliver verifies, so the nodes confirm)", res, err)
	}
	nettest.Must(t, nw.WaitHeld(ctx, id), "waiting for the nodes")

	victim, err := nw.NodeForShard(ctx, uint16(id.ShardForPair(bad, 10)))
	nettest.Must(t, err, "node of the altered pair")
	// A forger answers first: the others are slowed down.
	liar := nw.Nodes[0]
	if liar == victim {
		liar = nw.Nodes[1]
	}
	liar.Faults.Set(faults.ForgeSignature)
	for _, n := range nw.Nodes {
		if n != liar && n != victim {
			n.Faults.SetDelay(faults.OpConfirmation, 500*time.Millisecond)
		}
	}
	for i, n := range nw.Nodes {
		if n == victim {
			nettest.Must(t, nw.WipeNode(ctx, i), "wiping node %d", i)
		}
	}

	var st chain.BlobStatus
	for st.Kind != chain.BlobInvalid {
		if ctx.Err() != nil {
			t.Fatalf("the chain never marked the blob invalid (status %v); logs: %q", st.Kind, logs.Matching("inconsisten"))
		}
		time.Sleep(100 * time.Millisecond)
		st, err = nw.Chain.BlobStatus(ctx, id)
		nettest.Must(t, err, "blob status")
	}
	if lines := logs.Matching("asking the committee to attest it invalid", id.String()); len(lines) == 0 {
		t.Errorf("the wiped node did not report the inconsistency")
	}
	if lines := logs.Matching("attestation does not verify", liar.PeerID()); len(lines) != 1 {
		t.Errorf("%d log lines name the forger %s, want 1: %q", len(lines), liar.PeerID(), logs.Matching("attestation"))
	}
	if got := liar.Faults.Attestations.Load(); got != 1 {
		t.Errorf("the forger gave %d attestations, want 1", got)
	}

	// The wiped node counts what it did (the certificate once the chain's
	// answer is back: soon after the status changes).
	for _, want := range []string{"walrus_node_inconsistent_blobs_found_total 1", "walrus_node_invalid_blob_certificates_total 1",
		"walrus_node_invalid_attestations_dropped_total 1"} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get("http://" + victim.Running().AdminAddr() + "/metrics")
			nettest.Must(t, err, "metrics")
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), want+"\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the wiped node's metrics lack %q", want)
				break
			}
		}
	}

	r := nettest.Client(t, nw, func(cfg *client.Config) { cfg.Signer = nil })
	got, err := r.ReadBlob(ctx, id, client.ReadOptions{})
	if !errors.Is(err, client.ErrBlobInvalid) || !errors.Is(err, client.ErrBlobNotFound) || got != nil {
		t.Fatalf("reading the invalid blob: %d bytes, err = %v; want ErrBlobInvalid (and ErrBlobNotFound), no data", len(got), err)
	}
	// Storing it again is refused by the chain.
	if _, err := c.StoreEncoded(ctx, enc, client.StoreOptions{Epochs: 1}); !errors.Is(err, chain.ErrBlobInvalid) {
		t.Fatalf("storing the invalid blob again: err = %v, want chain.ErrBlobInvalid", err)
	}
}
