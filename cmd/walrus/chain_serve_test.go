package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/chain/local"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`on (http://[0-9.:]+)`)

// startChainServe runs serveChain until the test ends and returns its URL.
func startChainServe(t *testing.T, o chainServeOptions) (string, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	o.addr = "127.0.0.1:0"
	o.log = slog.New(slog.DiscardHandler)
	done := make(chan error, 1)
	go func() { done <- serveChain(ctx, o, out) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], done
		}
		select {
		case err := <-done:
			t.Fatalf("serveChain: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("chain serve did not start: %q", out.String())
	return "", nil
}

func runChainCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := execute(args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func TestChainServeAndInfo(t *testing.T) {
	net := chaintest.NewNetwork(5, 30, 10)
	g := &local.Genesis{NShards: 10}
	for _, n := range net.Nodes {
		gn, err := local.NewGenesisNode(n.Operator.Address(), n.Key, n.Network, n.Name, n.PeerID, n.Addresses, n.Stake)
		if err != nil {
			t.Fatal(err)
		}
		g.Nodes = append(g.Nodes, gn)
	}
	dir := t.TempDir()
	gpath := filepath.Join(dir, "genesis.yaml")
	if err := local.SaveGenesis(gpath, g); err != nil {
		t.Fatal(err)
	}
	url, _ := startChainServe(t, chainServeOptions{dir: filepath.Join(dir, "chain"), genesis: gpath, epochDuration: time.Hour})

	out, errOut, code := runChainCLI(t, "info", "--chain", url, "--json")
	if code != 0 {
		t.Fatalf("info --json: %d %s", code, errOut)
	}
	var info infoOutput
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("info --json output: %v\n%s", err, out)
	}
	if info.EpochInfo == nil || info.StorageInfo == nil || info.SizeInfo == nil || info.PriceInfo == nil || info.BftInfo == nil || info.CommitteeInfo == nil {
		t.Fatalf("info lacks a section: %s", out)
	}
	if e := info.EpochInfo; e.CurrentEpoch != 1 || e.EpochDuration != (walrusDuration{Secs: 3600}) || e.Phase != chain.PhaseActive {
		t.Errorf("epochInfo %+v", e)
	}
	if s := info.StorageInfo; s.NShards != 10 || s.NNodes != 2 || s.TotalStake != 40*chain.FrostPerWAL {
		t.Errorf("storageInfo %+v", s)
	}
	// n = 10: f = 3, n − f = 7; the larger node's shards exceed f.
	if b := info.BftInfo; b.MaxFaultyShards != 3 || b.MinCorrectShards != 7 || b.QuorumThreshold != 7 || b.MinNodesAbove != 1 || b.ShardsAbove <= 3 {
		t.Errorf("bftInfo %+v", b)
	}
	com := info.CommitteeInfo
	if len(com.CurrentStorageNodes) != 2 || com.NShards != 10 || com.NPrimarySourceSymbols != 4 || com.NSecondarySourceSymbols != 7 {
		t.Fatalf("committeeInfo %+v", com)
	}
	shards := 0
	for _, m := range com.CurrentStorageNodes {
		shards += m.NShards
		if m.NShards != len(m.ShardIDs) || m.ActiveStake != m.Stake || m.PendingStake != 0 || len(m.Epochs) != 0 || m.RewardsEarned != 0 {
			t.Errorf("node %+v", m)
		}
	}
	if shards != 10 {
		t.Errorf("committee holds %d shards", shards)
	}
	ep := info.PriceInfo.EncodingDependentPriceInfo
	if len(ep) != 1 || len(ep[0].ExampleBlobs) != 3 || ep[0].EncodingType != "RS2" || ep[0].ExampleBlobs[0].EncodingType != "RS2" {
		t.Fatalf("priceInfo %+v", info.PriceInfo)
	}
	last := ep[0].ExampleBlobs[2]
	if last.UnencodedSize != info.SizeInfo.MaxBlobSize || last.Price == 0 || last.PriceWithWrite <= last.Price {
		t.Errorf("examples %+v", ep[0].ExampleBlobs)
	}
	// A section alone, as Walrus prints it.
	out, _, _ = runChainCLI(t, "info", "epoch", "--chain", url, "--json")
	var epoch infoEpoch
	if err := json.Unmarshal([]byte(out), &epoch); err != nil || epoch.CurrentEpoch != 1 || epoch.MaxEpochsAhead == 0 {
		t.Errorf("info epoch --json: %v %s", err, out)
	}

	node := com.CurrentStorageNodes[0]
	out, errOut, code = runChainCLI(t, "info", "--chain", url, "--node", node.NodeID.String())
	if code != 0 {
		t.Fatalf("info: %d %s", code, errOut)
	}
	for _, want := range []string{"Current epoch: 1 (EpochChangeDone)", "Number of shards: 10", "Number of storage nodes: 2",
		"Total stake: 40 WAL (40000000000 FROST)", node.Name, node.NodeID.String(), "Stake: " + formatAmount(node.Stake) + " active"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}
	if other := com.CurrentStorageNodes[1]; strings.Contains(out, other.NodeID.String()) {
		t.Errorf("info --node shows another node:\n%s", out)
	}
	if _, _, code := runChainCLI(t, "info", "--chain", "ftp://x"); code == 0 {
		t.Error("info accepted a bad URL")
	}
}

func TestChainServeCreatesAndReopens(t *testing.T) {
	dir := t.TempDir()
	url, _ := startChainServe(t, chainServeOptions{dir: dir, nShards: 7, epochDuration: time.Minute})
	c, err := local.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.SystemState(t.Context())
	if err != nil || s.NShards != 7 || s.EpochDuration != time.Minute || s.FaucetLimit != 0 {
		t.Fatalf("new chain: %+v %v", s, err)
	}
	// A chain whose genesis asks for no faucet has none.
	a := chaintest.NewAccount(1)
	if _, err := c.RequestWAL(t.Context(), a, chain.FrostPerWAL); !errors.Is(err, chain.ErrFaucetDisabled) {
		t.Fatalf("faucet of a new chain: %v", err)
	}

	// A second server on the same directory fails: Pebble locks it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = serveChain(ctx, chainServeOptions{dir: dir, addr: "127.0.0.1:0", log: slog.New(slog.DiscardHandler)}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("a second server opened a chain in use")
	}
}

func TestChainServeRefusesOtherParameters(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve and stop at once
	o := chainServeOptions{dir: dir, addr: "127.0.0.1:0", nShards: 7, log: slog.New(slog.DiscardHandler)}
	if err := serveChain(ctx, o, &bytes.Buffer{}); err != nil {
		t.Fatalf("creating: %v", err)
	}
	o.nShards = 8
	if err := serveChain(ctx, o, &bytes.Buffer{}); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Fatalf("other shard count on an existing chain: %v", err)
	}
	o.nShards = 0
	if err := serveChain(ctx, o, &bytes.Buffer{}); err != nil {
		t.Fatalf("reopening without flags: %v", err)
	}
}
