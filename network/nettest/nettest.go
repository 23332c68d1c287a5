// Package nettest runs a network of real parts (package network) for a
// test: the embedded chain in memory on a clock the test moves, storage
// nodes on loopback with Pebble folders in the test's temporary directory,
// each wrapped in a faults.Handler and a faults.Disk, and clients. Everything
// is closed when the test ends.
//
// It is test support, like net/http/httptest: production code never imports
// it. The tests of node, client, client/daemon and cmd/walrus run on it.
package nettest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/node"
)

// Options shape a test network; zero fields take network's defaults
// (4 nodes, n = 10, 1-hour epochs on a manual clock, 1,000 WAL of stake
// each).
type Options struct {
	Nodes, Shards int
	EpochDuration time.Duration
	Stakes        []uint64
	// Genesis edits the genesis (prices, faucet, accounts).
	Genesis func(*local.Genesis)
	// NodeConfig edits node i's config after the test defaults.
	NodeConfig func(i int, c *node.Config)
	// NodeChain gives node i another chain backend (network.Config).
	NodeChain func(nw *network.Network, i int) (node.Chain, io.Closer, error)
	// RealClock runs the chain on the real clock instead of a manual one.
	RealClock bool
	// ChainOnDisk keeps the chain in the test's folder (for restarts of the
	// whole network) instead of in memory.
	ChainOnDisk bool
	// Verbose logs at Info instead of Warn.
	Verbose bool
	// Logger, if set, receives the log lines of every part instead of the
	// test's log (a test that checks what a node logs).
	Logger *slog.Logger
}

// TestNodeConfig sets the timings that make a node quick to test: short
// recovery backoff, confirmation wait and event polls.
func TestNodeConfig(c *node.Config) {
	c.RecoveryBackoff = 50 * time.Millisecond
	c.ConfirmationWait = 2 * time.Second
	c.EventPollWait = 200 * time.Millisecond
}

// New starts a test network, closed when tb ends. It fails tb if the
// network does not start.
func New(tb testing.TB, opts Options) *network.Network {
	tb.Helper()
	cfg := network.Config{
		Dir: tb.TempDir(), Nodes: opts.Nodes, Shards: opts.Shards, EpochDuration: opts.EpochDuration,
		Stakes: opts.Stakes, Genesis: opts.Genesis, ChainInMemory: !opts.ChainOnDisk, NoSync: true, Faults: true,
		Logger: opts.Logger, NodeChain: opts.NodeChain,
		NodeConfig: func(i int, c *node.Config) {
			TestNodeConfig(c)
			if opts.NodeConfig != nil {
				opts.NodeConfig(i, c)
			}
		},
	}
	if cfg.Logger == nil {
		cfg.Logger = Logger(tb, opts.Verbose)
	}
	if !opts.RealClock {
		cfg.Clock = network.NewManualClock(time.Time{})
	}
	nw, err := network.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("starting the test network: %v", err)
	}
	tb.Cleanup(func() {
		if err := nw.Close(); err != nil {
			tb.Errorf("closing the test network: %v", err)
		}
	})
	return nw
}

// Client returns a client of nw paying with its wallet, with timeouts fit
// for tests, closed when tb ends. mods edit its config.
func Client(tb testing.TB, nw *network.Network, mods ...func(*client.Config)) *client.Client {
	tb.Helper()
	c, err := nw.NewClient(context.Background(), append([]func(*client.Config){func(c *client.Config) {
		c.GracePeriod = 20 * time.Millisecond
		c.RequestTimeout = 5 * time.Second
		c.TransferTimeout = 20 * time.Second
		c.ViewTTL = time.Second
	}}, mods...)...)
	if err != nil {
		tb.Fatalf("starting a client: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Blob returns size deterministic pseudo-random bytes (the oracle's
// generator: x = x·1103515245 + 12345, byte = x >> 24).
func Blob(size int, seed uint32) []byte {
	b := make([]byte, size)
	x := seed
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 24)
	}
	return b
}

// Logger returns a logger that writes to tb's log (Warn and above, or Info
// when verbose) until tb ends, and drops lines after that.
func Logger(tb testing.TB, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	w := &tbWriter{tb: tb}
	tb.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// tbWriter writes to a test's log while the test runs. Lines written after
// the test ended (a goroutine still shutting down) are dropped rather than
// panicking the test binary.
type tbWriter struct {
	mu   sync.Mutex
	tb   testing.TB
	done bool
}

func (w *tbWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

func (w *tbWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Must fails tb on err.
func Must(tb testing.TB, err error, what string, args ...any) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// Logs records log lines, for a test that checks what a part logs. It is
// safe for concurrent use.
type Logs struct {
	mu    sync.Mutex
	lines []string
}

// RecordLogs returns a logger that writes Warn lines and above both to
// tb's log and to the returned Logs (pass it as Options.Logger or a
// client's Config.Logger).
func RecordLogs(tb testing.TB) (*slog.Logger, *Logs) {
	l := &Logs{}
	w := &tbWriter{tb: tb}
	tb.Cleanup(w.close)
	h := slog.NewTextHandler(io.MultiWriter(w, l), &slog.HandlerOptions{Level: slog.LevelWarn})
	return slog.New(h), l
}

func (l *Logs) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// Matching returns the lines that contain every one of subs.
func (l *Logs) Matching(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}
