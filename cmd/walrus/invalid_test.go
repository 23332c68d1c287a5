package main

import (
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestReadInvalidBlob: once the chain marks a blob ID invalid (here with a
// certificate of f + 1 shards' nodes, as an inconsistency proof yields;
// client's TestInconsistentBlobMarkedInvalid runs the whole attack), the
// CLI's read fails saying the blob is invalid and writes no data, and
// blob-status reports it.
func TestReadInvalidBlob(t *testing.T) {
	e := newClientEnv(t)
	ctx := t.Context()
	c := nettest.Client(t, e.net)
	res, err := c.Store(ctx, nettest.Blob(3000, 8), client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store")
	id := res.BlobID()
	com, err := e.net.Committee(ctx)
	nettest.Must(t, err, "committee")
	msg := chain.InvalidBlobMessage(com.Epoch, id)
	sigs := map[int]chain.BLSSignature{}
	for i, weight := 0, 0; weight < com.ValidityShards(); i++ {
		sigs[i] = e.net.NodeByID(com.Members[i].NodeID).Keys.Protocol.Sign(msg)
		weight += len(com.Members[i].Shards)
	}
	cert, err := chain.NewCertificate(com, msg, sigs)
	nettest.Must(t, err, "certificate")
	_, err = e.net.Chain.InvalidateBlob(ctx, e.net.Wallet, cert)
	nettest.Must(t, err, "invalidating")

	out, errOut, code := e.run(t, "read", id.String())
	if code == 0 || out != "" || !strings.Contains(errOut, "marked invalid") {
		t.Fatalf("read of an invalid blob: exit %d, stdout %q, stderr %q; want a failure saying it is marked invalid", code, out, errOut)
	}
	t.Logf("walrus read: %s", strings.TrimSpace(errOut))
	out, _, code = e.run(t, "blob-status", id.String())
	if code != 0 || !strings.Contains(strings.ToLower(out), "invalid") {
		t.Fatalf("blob-status of an invalid blob: exit %d, stdout %q", code, out)
	}
}
