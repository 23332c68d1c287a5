package local

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
)

func TestDHondt(t *testing.T) {
	tests := []struct {
		seats int
		votes []uint64
		want  []int
	}{
		{10, []uint64{40, 30, 20, 10}, []int{4, 3, 2, 1}},
		{10, []uint64{100, 40, 30, 20}, []int{6, 2, 1, 1}},
		{7, []uint64{1, 1, 1}, []int{3, 2, 2}},
		{5, []uint64{10, 0}, []int{5, 0}},
		{3, []uint64{1}, []int{3}},
		{1000, []uint64{1 << 62, 1 << 62, 1 << 61}, []int{400, 400, 200}},
		{100, []uint64{1_000_000_000_000_000_000, 1}, []int{100, 0}},
		// Quotients 8, 4 (A) against 5 (B): B wins the second seat.
		{2, []uint64{8, 5}, []int{1, 1}},
	}
	for _, tt := range tests {
		if got := dhondt(tt.seats, tt.votes); !slices.Equal(got, tt.want) {
			t.Errorf("dhondt(%d, %v) = %v, want %v", tt.seats, tt.votes, got, tt.want)
		}
	}
}

// TestAssignShards checks, on random committees, that every shard is held
// once, counts are as asked, and exactly Σ max(0, want − held) shards move.
func TestAssignShards(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		n := 4 + r.IntN(60)
		// Previous committee: random partition among up to 6 nodes.
		ids := make([]chain.NodeID, 8)
		for i := range ids {
			ids[i] = chain.NodeID{byte(i + 1)}
		}
		prev := &chain.Committee{NShards: n}
		k := 1 + r.IntN(6)
		owner := make([]int, n)
		for s := range owner {
			owner[s] = r.IntN(k)
		}
		for i := range k {
			m := chain.Member{NodeID: ids[i]}
			for s, o := range owner {
				if o == i {
					m.Shards = append(m.Shards, uint16(s))
				}
			}
			if len(m.Shards) > 0 {
				prev.Members = append(prev.Members, m)
			}
		}
		// New committee: a random subset of 8 nodes, random counts.
		var next []chain.NodeID
		for _, id := range ids {
			if r.IntN(2) == 0 {
				next = append(next, id)
			}
		}
		if len(next) == 0 {
			next = ids[:1]
		}
		want := make([]int, len(next))
		left := n
		for i := range next {
			if i == len(next)-1 {
				want[i] = left
			} else {
				want[i] = r.IntN(left + 1)
			}
			left -= want[i]
		}
		got := assignShards(n, prev, next, want)
		seen := make([]bool, n)
		moved, wantMoved := 0, 0
		for i, id := range next {
			if len(got[i]) != want[i] || !slices.IsSorted(got[i]) {
				t.Fatalf("iter %d: member %d got %v, want %d shards", iter, i, got[i], want[i])
			}
			var held []uint16
			if j, ok := prev.Index(id); ok {
				held = prev.Members[j].Shards
			}
			wantMoved += max(0, want[i]-len(held))
			for _, s := range got[i] {
				if seen[s] {
					t.Fatalf("iter %d: shard %d assigned twice", iter, s)
				}
				seen[s] = true
				if !slices.Contains(held, s) {
					moved++
				}
			}
		}
		if moved != wantMoved {
			t.Fatalf("iter %d: %d shards moved, the least is %d", iter, moved, wantMoved)
		}
	}
}

func TestVotedPrice(t *testing.T) {
	com := func(shards ...int) *chain.Committee {
		c := &chain.Committee{}
		next := 0
		for i, n := range shards {
			m := chain.Member{NodeID: chain.NodeID{byte(i + 1)}}
			for range n {
				m.Shards = append(m.Shards, uint16(next))
				next++
			}
			c.Members = append(c.Members, m)
			c.NShards = next
		}
		return c
	}
	tests := []struct {
		shards []int
		votes  []uint64
		want   uint64
	}{
		// n = 10, f = 3: the price n − f = 7 shards voted at least.
		{[]int{4, 3, 2, 1}, []uint64{100, 200, 300, 400}, 100},
		{[]int{1, 1, 4, 4}, []uint64{100, 200, 300, 400}, 300},
		{[]int{4, 3, 2, 1}, []uint64{500, 0, 300, 400}, 300}, // 0 = current price 50
		{[]int{10}, []uint64{7}, 7},
	}
	for _, tt := range tests {
		c := com(tt.shards...)
		vote := func(id chain.NodeID) uint64 { return tt.votes[id[0]-1] }
		if got := votedPrice(c, vote, 50); got != tt.want {
			t.Errorf("votedPrice(%v, %v) = %d, want %d", tt.shards, tt.votes, got, tt.want)
		}
	}
	if got := votedPrice(&chain.Committee{NShards: 10}, nil, 42); got != 42 {
		t.Errorf("empty committee: %d", got)
	}
}

func TestGenesisFiles(t *testing.T) {
	net := chaintest.NewNetwork(9, 10, 20)
	g := genesisOf(net)
	g.EpochDuration = Duration(90 * time.Second)
	g.Time = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	p := filepath.Join(dir, "genesis.yaml")
	if err := SaveGenesis(p, g); err != nil {
		t.Fatal(err)
	}
	back, err := LoadGenesis(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash() != g.Hash() {
		t.Fatalf("YAML round trip changed the genesis:\n%+v\n%+v", back, g)
	}
	raw, _ := os.ReadFile(p)
	if !strings.Contains(string(raw), "epochDuration: 1m30s") {
		t.Errorf("YAML does not show the duration as text:\n%s", raw)
	}
	// JSON is YAML too.
	js := `{"nShards": 7, "epochDuration": "2s", "accounts": [{"address": "` +
		net.Client.Address().String() + `", "balance": 9}]}`
	jg, err := ParseGenesis([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	jg.EnsureDefaults()
	if err := jg.Validate(); err != nil {
		t.Fatal(err)
	}
	if jg.NShards != 7 || time.Duration(jg.EpochDuration) != 2*time.Second || jg.Accounts[0].Balance != 9 ||
		jg.StoragePrice != DefaultStoragePrice || jg.Faucet != nil {
		t.Errorf("JSON genesis %+v", jg)
	}
	if _, err := ParseGenesis([]byte("nShards: 7\nbogus: 1\n")); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestGenesisValidate(t *testing.T) {
	net := chaintest.NewNetwork(9, 10, 20)
	tests := []struct {
		name  string
		mod   func(*Genesis)
		field string
	}{
		{"shards", func(g *Genesis) { g.NShards = 3 }, "nShards"},
		{"epoch", func(g *Genesis) { g.EpochDuration = Duration(time.Millisecond) }, "epochDuration"},
		{"pop", func(g *Genesis) { g.Nodes[0].ProofOfPossession = g.Nodes[1].ProofOfPossession }, "nodes[0].proofOfPossession"},
		{"stake", func(g *Genesis) { g.Nodes[1].Stake = 0 }, "nodes[1].stake"},
		{"key", func(g *Genesis) { g.Nodes[1].PublicKey = g.Nodes[0].PublicKey }, "nodes[1].publicKey"},
		{"name", func(g *Genesis) { g.Nodes[0].Name = "" }, "nodes[0]: name"},
		{"operator", func(g *Genesis) { g.Nodes[0].Operator = chain.Address{} }, "nodes[0].operator"},
		{"overflow", func(g *Genesis) { g.Accounts[0].Balance = ^uint64(0) }, "overflows"},
	}
	for _, tt := range tests {
		g := genesisOf(net)
		tt.mod(g)
		g.EnsureDefaults()
		err := g.Validate()
		if !errors.Is(err, chain.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.field)
		}
	}
}

// TestEpochSeedUnpredictable runs two chains with the same genesis and the
// same history: their epoch 2 seeds differ, drawn when epoch 2 starts.
func TestEpochSeedUnpredictable(t *testing.T) {
	net := chaintest.NewNetwork(9, 10, 20)
	g := genesisOf(net)
	g.Seed = chain.Seed{7}
	var seeds []chain.Seed
	for range 2 {
		c, clk := openTest(t, g, "")
		s1, err := c.EpochSeed(t.Context(), 1)
		if err != nil || s1 != seedOf(1, [32]byte{7}) {
			t.Fatalf("epoch 1 seed %v %v", s1, err)
		}
		if _, err := c.EpochSeed(t.Context(), 2); !errors.Is(err, chain.ErrNotFound) {
			t.Fatalf("epoch 2 seed before epoch 2: %v", err)
		}
		clk.Add(chaintest.EpochDuration)
		if err := c.Tick(t.Context()); err != nil {
			t.Fatal(err)
		}
		s2, err := c.EpochSeed(t.Context(), 2)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, s2)
	}
	if seeds[0] == seeds[1] {
		t.Fatal("two chains drew the same epoch 2 seed")
	}
}
