// Package devnet runs `walrus devnet`: a whole network in one process, in one
// folder, resumable. It is the network package's composition (the embedded
// chain on disk and on the real clock, storage nodes, a funded wallet) plus
// what a person at a terminal needs: the chain's HTTP API so that other
// processes (the CLI, `walrus node run`) can use it, the HTTP
// publisher/aggregator, and a client config naming it all. Starting again on
// the same folder resumes with all data.
package devnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/client/daemon"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/node"
)

// Defaults of Config.
const (
	DefaultNodes  = 4
	DefaultShards = 100
	// DefaultEpochDuration is a day, so that blobs stored for a few epochs
	// outlast an afternoon of trying things; --epoch-duration makes epoch
	// changes (and nodes joining) quicker to watch.
	DefaultEpochDuration = 24 * time.Hour
	DefaultChainAddr     = "127.0.0.1:31416"
	DefaultDaemonAddr    = "127.0.0.1:31415"
	// DefaultDaemonMetricsAddr is Walrus's default metrics address of its
	// daemon.
	DefaultDaemonMetricsAddr = "127.0.0.1:27182"
	// WalletFunds is the WAL the devnet's client wallet starts with.
	WalletFunds = 100_000 * chain.FrostPerWAL
	// NodeStake is each node's stake at genesis.
	NodeStake = 10_000 * chain.FrostPerWAL
	// stateFile records the devnet's shape and addresses, to resume it.
	stateFile    = "devnet.yaml"
	stateVersion = 1
)

// ErrConfig is returned for a config that does not fit.
var ErrConfig = errors.New("devnet: invalid config")

// Config configures a devnet. Zero fields take the defaults. On resume, the
// recorded shape (nodes, shards, epoch) wins; conflicting non-zero values
// are an error.
type Config struct {
	// Dir holds everything: the chain, each node's folder, the wallet and
	// the client config.
	Dir           string
	Nodes         int
	Shards        int
	EpochDuration time.Duration
	// ChainAddr is where the chain's HTTP API listens ("127.0.0.1:0" picks
	// a port).
	ChainAddr string
	// DaemonAddr is where the publisher/aggregator listens; "off" disables
	// it.
	DaemonAddr string
	// DaemonMetricsAddr is where the daemon's Prometheus metrics are
	// served (GET /metrics); "off" disables them.
	DaemonMetricsAddr string
	// Clock, if set, runs the chain on a clock the caller moves (tests: a
	// day of devnet time in a moment); otherwise the real clock.
	Clock *network.ManualClock
	// Logger receives the devnet's and the nodes' logs.
	Logger *slog.Logger
}

// state is what the devnet records in Dir to resume.
type state struct {
	Version       int           `yaml:"version"`
	Nodes         int           `yaml:"nodes"`
	Shards        int           `yaml:"shards"`
	EpochDuration time.Duration `yaml:"epoch_duration"`
	ChainAddr     string        `yaml:"chain_addr"`
	DaemonAddr    string        `yaml:"daemon_addr"`
	// DaemonMetricsAddr is absent from devnets made before it existed.
	DaemonMetricsAddr string    `yaml:"daemon_metrics_addr,omitempty"`
	CreatedAt         time.Time `yaml:"created_at"`
}

// Devnet is a running local network.
type Devnet struct {
	// Network is the network of real parts the devnet runs.
	*network.Network
	// ChainURL, DaemonURL: where the chain API and the daemon listen
	// (DaemonURL is empty without a daemon); MetricsURL is the daemon's
	// metrics (empty without).
	ChainURL   string
	DaemonURL  string
	MetricsURL string
	// ClientConfigPath is the client config file naming this network as
	// context "devnet".
	ClientConfigPath string

	client *client.Client
}

// Start creates or resumes the devnet in cfg.Dir and starts it. It returns
// once every part serves; Close stops it.
func Start(ctx context.Context, cfg Config) (_ *Devnet, err error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: no folder", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	st, resume, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	// Ports are fixed when the devnet is created, so that a resumed devnet
	// is where it was. One that is taken now is named before anything
	// starts.
	if st.DaemonAddr == "off" {
		st.DaemonMetricsAddr = "off"
	}
	if err := checkFree(cfg.Dir, resume, []portUse{{"chain API", st.ChainAddr, "--chain-addr"},
		{"publisher/aggregator", st.DaemonAddr, "--daemon-addr"}, {"daemon metrics", st.DaemonMetricsAddr, "--daemon-metrics-addr"}}); err != nil {
		return nil, err
	}
	chainURL := "http://" + st.ChainAddr
	nw, err := network.Start(ctx, network.Config{
		Dir: cfg.Dir, Nodes: st.Nodes, Shards: st.Shards, EpochDuration: st.EpochDuration, Clock: cfg.Clock,
		Stakes: stakes(st.Nodes), WalletFunds: WalletFunds, Resume: resume, Logger: cfg.Logger,
		NodeConfig: func(i int, c *node.Config) {
			c.Name = fmt.Sprintf("devnet-%d", i)
			c.Chain = backend.Config{ChainURL: chainURL}
			if port, err := network.FreePort(); err == nil {
				c.AdminAddr = fmt.Sprintf("127.0.0.1:%d", port)
			}
		},
	})
	if err != nil {
		if resume && strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("%w\ndevnet: a node's port saved in %s is taken by another process (another devnet?); stop it, or start a new devnet in another --dir", err, cfg.Dir)
		}
		return nil, err
	}
	d := &Devnet{Network: nw, ClientConfigPath: filepath.Join(cfg.Dir, "client.yaml")}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.ChainURL, err = nw.ServeChain(st.ChainAddr); err != nil {
		return nil, err
	}
	if d.client, err = nw.NewClient(ctx); err != nil {
		return nil, err
	}
	if st.DaemonAddr != "off" {
		dm, err := daemon.New(daemon.Config{Client: d.client, Logger: cfg.Logger.With("subsystem", "daemon")})
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", st.DaemonAddr)
		if err != nil {
			return nil, fmt.Errorf("devnet: daemon address %s: %w", st.DaemonAddr, err)
		}
		d.DaemonURL = "http://" + ln.Addr().String()
		var mln net.Listener
		if st.DaemonMetricsAddr != "off" {
			if mln, err = net.Listen("tcp", st.DaemonMetricsAddr); err != nil {
				ln.Close()
				return nil, fmt.Errorf("devnet: daemon metrics address %s: %w", st.DaemonMetricsAddr, err)
			}
			d.MetricsURL = "http://" + mln.Addr().String() + "/metrics"
		}
		if err := d.writeClientConfig(); err != nil {
			ln.Close()
			if mln != nil {
				mln.Close()
			}
			return nil, err
		}
		nw.Go("daemon", func(ctx context.Context) error { return dm.Run(ctx, ln, mln) })
		if err := waitHTTP(ctx, d.DaemonURL+"/status"); err != nil {
			return nil, err
		}
	}
	if st.DaemonAddr == "off" {
		if err := d.writeClientConfig(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// writeClientConfig writes the client config naming this network. It is
// written before the daemon answers, so that whoever waits for the daemon's
// /status finds it (network/devnet/testdata/sidebyside.sh did not).
func (d *Devnet) writeClientConfig() error {
	return client.WriteConfig(d.ClientConfigPath, &client.ConfigFile{
		DefaultContext: "devnet",
		Contexts: map[string]client.ClientContext{"devnet": {
			Config: backend.Config{ChainURL: d.ChainURL}, Wallet: d.Network.WalletPath, DaemonURL: d.DaemonURL,
		}},
	})
}

func stakes(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = NodeStake
	}
	return out
}

// prepare reads the devnet's recorded state (resume = true) or records a new
// one.
func prepare(cfg Config) (st state, resume bool, err error) {
	path := filepath.Join(cfg.Dir, stateFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := yaml.Unmarshal(b, &st); err != nil {
			return st, false, fmt.Errorf("devnet: %s: %w", stateFile, err)
		}
		if st.Version != stateVersion {
			return st, false, fmt.Errorf("%w: %s has version %d, this walrus writes %d", ErrConfig, stateFile, st.Version, stateVersion)
		}
		for _, c := range []struct {
			name      string
			got, want any
			set       bool
		}{
			{"nodes", cfg.Nodes, st.Nodes, cfg.Nodes != 0},
			{"shards", cfg.Shards, st.Shards, cfg.Shards != 0},
			{"epoch duration", cfg.EpochDuration, st.EpochDuration, cfg.EpochDuration != 0},
		} {
			if c.set && c.got != c.want {
				return st, false, fmt.Errorf("%w: the devnet in %s has %s %v, not %v; use another --dir to start a new one", ErrConfig, cfg.Dir, c.name, c.want, c.got)
			}
		}
		if cfg.ChainAddr != "" {
			st.ChainAddr = cfg.ChainAddr
		}
		if cfg.DaemonAddr != "" {
			st.DaemonAddr = cfg.DaemonAddr
		}
		st.DaemonMetricsAddr = orDefault(orDefault(cfg.DaemonMetricsAddr, st.DaemonMetricsAddr), DefaultDaemonMetricsAddr)
		return st, true, nil
	case !errors.Is(err, os.ErrNotExist):
		return st, false, err
	}
	st = state{
		Version: stateVersion, Nodes: orDefault(cfg.Nodes, DefaultNodes), Shards: orDefault(cfg.Shards, DefaultShards),
		EpochDuration: orDefault(cfg.EpochDuration, DefaultEpochDuration),
		ChainAddr:     orDefault(cfg.ChainAddr, DefaultChainAddr), DaemonAddr: orDefault(cfg.DaemonAddr, DefaultDaemonAddr),
		DaemonMetricsAddr: orDefault(cfg.DaemonMetricsAddr, DefaultDaemonMetricsAddr),
		CreatedAt:         time.Now().UTC().Truncate(time.Second),
	}
	if st.Nodes < 1 || st.Shards < st.Nodes {
		return st, false, fmt.Errorf("%w: %d nodes and %d shards: every node needs a shard", ErrConfig, st.Nodes, st.Shards)
	}
	if st.EpochDuration < local.MinEpochDuration {
		return st, false, fmt.Errorf("%w: epoch duration %s is under %s", ErrConfig, st.EpochDuration, local.MinEpochDuration)
	}
	// A chain address of port 0 is chosen now and recorded, so that the
	// nodes' configs can name it.
	if st.ChainAddr, err = pinPort(st.ChainAddr); err != nil {
		return st, false, err
	}
	out, err := yaml.Marshal(&st)
	if err != nil {
		return st, false, err
	}
	// The state is written before the network: a folder whose network was
	// not created completely is started anew only by removing it.
	return st, false, os.WriteFile(path, out, 0o600)
}

// portUse is an address the devnet listens on, for checkFree.
type portUse struct{ what, addr, flag string }

// checkFree fails, naming the address, what it is for and the flag that
// moves it, when one of uses (but "off" and port 0) is taken.
func checkFree(dir string, resume bool, uses []portUse) error {
	for _, u := range uses {
		if u.addr == "off" || u.addr == "" || strings.HasSuffix(u.addr, ":0") {
			continue
		}
		ln, err := net.Listen("tcp", u.addr)
		if err != nil {
			saved := ""
			if resume {
				saved = fmt.Sprintf(", saved in %s,", filepath.Join(dir, stateFile))
			}
			return fmt.Errorf("devnet: the %s address %s%s is taken (another devnet or program listens there); stop it, or pass %s with a free address: %w",
				u.what, u.addr, saved, u.flag, err)
		}
		ln.Close()
	}
	return nil
}

// pinPort replaces port 0 in addr by a free port.
func pinPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: address %q: %v", ErrConfig, addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	p, err := network.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, fmt.Sprint(p)), nil
}

// Client is a client of the devnet paying with its wallet.
func (d *Devnet) Client() *client.Client { return d.client }

// Close stops the daemon, the nodes and the chain.
func (d *Devnet) Close() error {
	err := d.Network.Close()
	if d.client != nil {
		d.client.Close()
	}
	return err
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// waitHTTP waits until url answers.
func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devnet: %s does not answer: %w", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
