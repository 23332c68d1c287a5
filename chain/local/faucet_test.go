package local

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
)

// stakeNet is a genesis of nodes with the given stakes (WAL) and n shards.
func stakeNet(t testing.TB, seed uint64, n int, stakesWAL ...uint64) (*Genesis, *chaintest.Network) {
	t.Helper()
	net := chaintest.NewNetwork(seed, stakesWAL...)
	net.NShards = n
	net.FaucetTotal = 0
	net.ClientFunds = 1_000_000 * chain.FrostPerWAL
	g := genesisOf(net)
	g.EpochDuration = Duration(time.Hour)
	return g, net
}

// attacker registers a node for op with the given network key and stakes
// amounts with it (one pool per amount, each its own node), returning the
// node IDs.
func attack(t *testing.T, c *Chain, op *chain.AccountKey, seed uint64, amounts ...uint64) []chain.NodeID {
	t.Helper()
	ctx := t.Context()
	var ids []chain.NodeID
	for i, a := range amounts {
		key, err := chain.GenerateBLSKey(rand.NewChaCha8([32]byte{byte(seed), byte(i), 1}))
		if err != nil {
			t.Fatal(err)
		}
		nk := chaintest.NewNetworkKey(rand.NewChaCha8([32]byte{byte(seed), byte(i), 2}))
		sig, err := chain.SignNetworkKey(nk, 1, op.Address(), nk.PeerID())
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.RegisterNode(ctx, op, chain.RegisterNodeArgs{
			Name: fmt.Sprintf("sybil-%d", i), PeerID: nk.PeerID(), PublicKey: key.PublicKey(),
			ProofOfPossession: key.ProofOfPossession(1, op.Address()), NetworkKeySignature: sig,
			Capacity: 1 << 62,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Stake(ctx, op, info.ID, a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	return ids
}

// shardsOf counts the shards the nodes hold in a committee.
func shardsOf(com *chain.Committee, ids []chain.NodeID) int {
	n := 0
	for _, id := range ids {
		if i, ok := com.Index(id); ok {
			n += len(com.Members[i].Shards)
		}
	}
	return n
}

// TestMaxFaucetTotal checks the bound on real committee selections: stake
// of MaxFaucetTotal, in one pool or split among several, never wins f + 1
// shards; one FROST more in one pool does (the bound is tight).
func TestMaxFaucetTotal(t *testing.T) {
	for _, tc := range []struct {
		n      int
		stakes []uint64
	}{
		{10, []uint64{40, 30, 20, 10}},
		{100, []uint64{10_000, 10_000, 10_000, 10_000}},
		{100, []uint64{1000, 1, 1, 1, 1, 1}}, // bound by exclusion
	} {
		t.Run(fmt.Sprintf("n=%d/%v", tc.n, tc.stakes), func(t *testing.T) {
			g, net := stakeNet(t, 3, tc.n, tc.stakes...)
			bound := MaxFaucetTotal(g)
			f := (tc.n - 1) / 3
			r := rand.New(rand.NewPCG(uint64(tc.n), 1))
			for _, split := range []int{1, 3} {
				c, clk := openTest(t, g, "")
				op := chaintest.NewAccount(77)
				amounts := make([]uint64, split)
				left := bound
				for i := range amounts {
					amounts[i] = left / uint64(split-i)
					if i < split-1 && r.IntN(2) == 0 {
						amounts[i] = left / 2
					}
					left -= amounts[i]
				}
				amounts[split-1] += left
				if slices.Min(amounts) < g.MinStake {
					continue // too small to split this much
				}
				fund(t, c, net, op, bound+chain.FrostPerWAL)
				ids := attack(t, c, op, uint64(split), amounts...)
				clk.Add(time.Duration(g.EpochDuration) / 2)
				must(t, c.Tick(t.Context()))
				com, err := c.Committee(t.Context(), 2)
				must(t, err)
				if got := shardsOf(com, ids); got > f {
					t.Fatalf("%d FROST in pools %v won %d shards, more than f = %d", bound, amounts, got, f)
				}
			}
			var stakes []uint64
			for _, s := range tc.stakes {
				stakes = append(stakes, s*chain.FrostPerWAL)
			}
			if captureStake(tc.n, f+1, stakes) > exclusionStake(tc.n, stakes) {
				return // the bound is the (conservative) exclusion stake
			}
			// Just over the bound (ties go by node ID, which the test does
			// not choose), one pool wins f + 1 shards.
			c, clk := openTest(t, g, "")
			op := chaintest.NewAccount(78)
			over := bound + 1 + chain.FrostPerWAL/1000
			fund(t, c, net, op, over+chain.FrostPerWAL)
			ids := attack(t, c, op, 9, over)
			clk.Add(time.Duration(g.EpochDuration) / 2)
			must(t, c.Tick(t.Context()))
			com, _ := c.Committee(t.Context(), 2)
			if got := shardsOf(com, ids); got <= f {
				t.Errorf("one FROST over the bound won only %d shards: the bound %d is not tight", got, bound)
			}
		})
	}
}

// fund gives op amount FROST through a genesis with a rich client.
func fund(t *testing.T, c *Chain, net *chaintest.Network, op *chain.AccountKey, amount uint64) {
	t.Helper()
	if _, err := c.TransferWAL(t.Context(), net.Client, op.Address(), amount); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFaucetGenesis(t *testing.T) {
	g, _ := stakeNet(t, 4, 10, 40, 30, 20, 10)
	limit := MaxFaucetTotal(g)
	for _, tc := range []struct {
		name   string
		faucet Faucet
		field  string
	}{
		{"over the bound", Faucet{Total: limit + 1, PerAccount: 1}, "faucet.total"},
		{"empty", Faucet{Total: 0, PerAccount: 0}, "faucet.total"},
		{"per account over total", Faucet{Total: limit, PerAccount: limit + 1}, "faucet.perAccount"},
	} {
		bad := *g
		bad.Faucet = &tc.faucet
		bad.EnsureDefaults()
		if err := bad.Validate(); !errors.Is(err, chain.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	ok := *g
	ok.Faucet = &Faucet{Total: limit, PerAccount: limit}
	ok.EnsureDefaults()
	if err := ok.Validate(); err != nil {
		t.Errorf("faucet at the bound: %v", err)
	}
	// No nodes, no safe faucet: any stake would take the committee.
	empty := &Genesis{NShards: 10}
	if MaxFaucetTotal(empty) != 0 || SafeFaucet(empty) != nil {
		t.Errorf("a genesis without nodes allows a faucet of %d", MaxFaucetTotal(empty))
	}
	empty.Faucet = &Faucet{Total: 1, PerAccount: 1}
	empty.EnsureDefaults()
	if err := empty.Validate(); err == nil {
		t.Error("a genesis without nodes validated with a faucet")
	}
	sf := SafeFaucet(g)
	if sf == nil || sf.Total > limit/2 || sf.Total%chain.FrostPerWAL != 0 || sf.PerAccount > sf.Total {
		t.Errorf("SafeFaucet = %+v for a bound of %d", sf, limit)
	}
}

// TestFaucetAttack replays the attack of issue 10 on a devnet's genesis (4
// nodes of 10,000 WAL, 100 shards, SafeFaucet): 100 fresh accounts drain the
// faucet, one account stakes all of it with a new node, and the next
// committee gives that node fewer than f + 1 shards. Before the faucet had
// a total, the same 100 requests minted 100,000 WAL, which won 71 shards.
func TestFaucetAttack(t *testing.T) {
	g, _ := stakeNet(t, 5, 100, 10_000, 10_000, 10_000, 10_000)
	g.Faucet = SafeFaucet(g)
	c, clk := openTest(t, g, "")
	ctx := t.Context()
	attacker := chaintest.NewAccount(999)
	start := time.Now()
	var minted uint64
	granted := 0
	for i := range 100 {
		a := chaintest.NewAccount(uint64(2000 + i))
		s, err := c.SystemState(ctx)
		must(t, err)
		ask := min(s.FaucetLimit, s.FaucetLeft)
		if ask == 0 {
			ask = s.FaucetLimit // and be refused
		}
		if _, err := c.RequestWAL(ctx, a, ask); err != nil {
			if !errors.Is(err, chain.ErrFaucetLimit) {
				t.Fatal(err)
			}
			continue
		}
		granted++
		minted += ask
		if _, err := c.TransferWAL(ctx, a, attacker.Address(), ask); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	if minted > g.Faucet.Total {
		t.Fatalf("the faucet minted %d, over its total %d", minted, g.Faucet.Total)
	}
	ids := attack(t, c, attacker, 1, minted)
	clk.Add(time.Duration(g.EpochDuration) / 2)
	must(t, c.Tick(ctx))
	com, err := c.Committee(ctx, 2)
	must(t, err)
	got, f := shardsOf(com, ids), com.F()
	if got > f {
		t.Fatalf("the faucet's %d WAL won %d shards, more than f = %d", minted/chain.FrostPerWAL, got, f)
	}
	before := dhondt(100, []uint64{100_000, 10_000, 10_000, 10_000, 10_000})[0]
	t.Logf("100 faucet requests in %v: %d granted, %d WAL minted (total %d, per account %d, bound %d WAL); "+
		"staked with a new node it won %d of 100 shards (f = %d); uncapped (100,000 WAL) it wins %d",
		elapsed.Round(time.Millisecond), granted, minted/chain.FrostPerWAL, g.Faucet.Total/chain.FrostPerWAL,
		g.Faucet.PerAccount/chain.FrostPerWAL, MaxFaucetTotal(g)/chain.FrostPerWAL, got, f, before)
}
