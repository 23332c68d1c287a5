package node_test

import (
	"os"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestRecoveryBandwidthNetwork measures recovery on a real network of
// n = 100 shards over 10 nodes: one node loses its store and rebuilds its
// 10 sliver pairs of an 8 MiB blob from its peers' recovery symbols. The
// bytes it received (symbol data and proofs, the
// walrus_node_recovery_bytes_total metric; framing adds a few bytes per
// symbol) over the pairs' size is what RS2 promises to keep near 1× (the
// cheapest rebuild is 1.06× here: see encoding's TestRecoveryBandwidth),
// where a one-dimensional code would fetch the whole blob, 22.6× a pair at
// n = 100. The node asks only as many peers as the rebuild takes (asking
// every peer, as it once did, cost 1.89×).
func TestRecoveryBandwidthNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("stores an 8 MiB blob at n = 100")
	}
	// A network of 100 shards takes 20 s to start and fill under the race
	// detector (make test): there the test runs only when asked.
	if raceEnabled && os.Getenv("WALRUS_E2E_LONG") == "" {
		t.Skip("under -race only with WALRUS_E2E_LONG=1; go test ./node runs it in 5 s")
	}
	size, bound := 8<<20, 1.3
	e := newEnv(t, nettest.Options{Nodes: 10, Shards: 100})
	c := nettest.Client(t, e.nw)
	blob := nettest.Blob(size, 41)
	res, err := c.Store(e.ctx, blob, client.StoreOptions{Epochs: 2})
	nettest.Must(t, err, "store")
	id := res.BlobID()
	nettest.Must(t, e.nw.WaitHeld(e.ctx, id), "waiting for the nodes")
	const victim = 3
	nettest.Must(t, e.nw.WipeNode(e.ctx, victim), "wiping node %d", victim)
	start := time.Now()
	nettest.Must(t, e.nw.WaitHeld(e.ctx, id, victim), "waiting for the wiped node")
	took := time.Since(start)
	rx := e.metric(victim, "recovery_bytes_total")
	pairs := 0
	for _, s := range e.shards(e.committee(), victim) {
		pairs += e.shardBytes([][]byte{blob}, s)
	}
	ratio := rx / float64(pairs)
	t.Logf("n=100, blob %d B: rebuilt %d shards' pairs (%d B) from %.0f B of recovery symbols: %.3f× in %v",
		size, len(e.shards(e.committee(), victim)), pairs, rx, ratio, took)
	if ratio < 1 || ratio > bound {
		t.Errorf("recovery took %.3f× the pairs' size, want within [1, %.2f]", ratio, bound)
	}
}
