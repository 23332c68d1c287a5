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
	var info systemInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("info --json output: %v\n%s", err, out)
	}
	if info.System.Epoch != 1 || info.System.NShards != 10 || info.System.EpochDuration != time.Hour ||
		len(info.Committee.Members) != 2 || info.System.TotalStake != 40*chain.FrostPerWAL || len(info.Examples) == 0 {
		t.Fatalf("info: %+v", info)
	}
	shards := 0
	for _, m := range info.Committee.Members {
		shards += len(m.Shards)
	}
	if shards != 10 {
		t.Errorf("committee holds %d shards", shards)
	}
	last := info.Examples[len(info.Examples)-1]
	if last.UnencodedSize != info.MaxBlobSize || last.Cost == 0 {
		t.Errorf("examples %+v", info.Examples)
	}

	node := info.Committee.Members[0]
	out, errOut, code = runChainCLI(t, "info", "--chain", url, "--node", node.NodeID.String())
	if code != 0 {
		t.Fatalf("info: %d %s", code, errOut)
	}
	for _, want := range []string{"Current epoch: 1 (EpochChangeDone)", "Number of shards: 10", "Number of storage nodes: 2",
		"Total stake: 40 WAL", node.Name, node.NodeID.String(), "Stake: " + formatWAL(node.Stake) + " WAL active"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
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

func TestFormatters(t *testing.T) {
	for in, want := range map[uint64]string{0: "0", 1: "0.000000001", chain.FrostPerWAL: "1", 1_500_000_000: "1.5"} {
		if got := formatWAL(in); got != want {
			t.Errorf("formatWAL(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[uint16]string{0: "0", 1000: "10", 1234: "12.34", 10_000: "100", 5: "0.05"} {
		if got := formatBPS(in); got != want {
			t.Errorf("formatBPS(%d) = %q, want %q", in, got, want)
		}
	}
	if got := formatSize(1 << 20); got != "1.00 MiB" {
		t.Errorf("formatSize = %q", got)
	}
}
