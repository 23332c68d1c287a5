package local

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain/chaintest"
)

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock() *manualClock {
	return &manualClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// genesisCache keeps the genesis of each network: computing the proofs of
// possession is most of the cost of a fresh chain.
var genesisCache sync.Map // *chaintest.Network → *Genesis

// cachedGenesis returns genesisOf(net), computed once per network. Open
// copies what it changes, so chains may share it.
func cachedGenesis(net *chaintest.Network) *Genesis {
	if g, ok := genesisCache.Load(net); ok {
		return g.(*Genesis)
	}
	g, _ := genesisCache.LoadOrStore(net, genesisOf(net))
	return g.(*Genesis)
}

// genesisOf turns a conformance network into a genesis.
func genesisOf(net *chaintest.Network) *Genesis {
	g := &Genesis{
		NShards: net.NShards, EpochDuration: Duration(net.EpochDuration), MaxEpochsAhead: net.MaxEpochsAhead,
		StoragePrice: net.StoragePrice, WritePrice: net.WritePrice, MinStake: net.MinStake,
		Accounts: []GenesisAccount{{Address: net.Client.Address(), Balance: net.ClientFunds}},
	}
	for _, n := range net.Nodes {
		gn, err := NewGenesisNode(n.Operator.Address(), n.Key, n.Network, n.Name, n.PeerID, n.Addresses, n.Stake)
		if err != nil {
			panic(err)
		}
		gn.Commission = n.Commission
		g.Nodes = append(g.Nodes, gn)
	}
	// The conformance network's faucet; smaller networks get one they
	// can afford.
	if total := min(net.FaucetTotal, MaxFaucetTotal(g)); total > 0 {
		g.Faucet = &Faucet{Total: total, PerAccount: min(net.FaucetPerAccount, total)}
	}
	return g
}

// openTest opens an in-memory chain on a manual clock.
func openTest(t testing.TB, g *Genesis, dir string) (*Chain, *manualClock) {
	t.Helper()
	clk := newManualClock()
	c, err := Open(context.Background(), Config{Dir: dir, Genesis: g, Now: clk.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, clk
}

func inProcess(t testing.TB, net *chaintest.Network) *chaintest.Backend {
	c, clk := openTest(t, cachedGenesis(net), "")
	return &chaintest.Backend{Chain: c, Caps: chaintest.AllCapabilities, Advance: func(ctx context.Context, d time.Duration) error {
		clk.Add(d)
		return c.Tick(ctx)
	}}
}

func overHTTP(t testing.TB, net *chaintest.Network) *chaintest.Backend {
	c, clk := openTest(t, cachedGenesis(net), "")
	srv := httptest.NewServer(NewHandler(c, nil))
	t.Cleanup(srv.Close)
	cl, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return &chaintest.Backend{Chain: cl, Caps: chaintest.AllCapabilities, Advance: func(ctx context.Context, d time.Duration) error {
		clk.Add(d)
		return c.Tick(ctx)
	}}
}

// TestConformance runs the chain.Chain conformance suite against the
// in-process chain and against the HTTP client and server.
func TestConformance(t *testing.T) {
	t.Run("InProcess", func(t *testing.T) { chaintest.Run(t, inProcess) })
	t.Run("HTTP", func(t *testing.T) { chaintest.Run(t, overHTTP) })
}
