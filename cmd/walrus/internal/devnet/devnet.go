// Package devnet runs a whole network in one process: the embedded chain
// (also served over HTTP so that other processes can use it), storage nodes
// with their own libp2p hosts and Pebble directories, a funded client wallet
// and the HTTP publisher/aggregator. Everything lives in one folder; starting
// again on the same folder resumes with all data.
//
// It backs `walrus devnet` and the in-process integration tests of the client
// and the nodes together.
package devnet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/node"
)

// Defaults of Config.
const (
	DefaultNodes         = 4
	DefaultShards        = 100
	DefaultEpochDuration = 10 * time.Minute
	DefaultChainAddr     = "127.0.0.1:31416"
	DefaultDaemonAddr    = "127.0.0.1:31415"
	// WalletFunds is the WAL the devnet's client wallet starts with.
	WalletFunds = 100_000 * chain.FrostPerWAL
	// NodeStake is each node's stake at genesis.
	NodeStake = 10_000 * chain.FrostPerWAL
	// stateFile records the devnet's shape and ports, to resume it.
	stateFile    = "devnet.yaml"
	stateVersion = 1
)

// ErrConfig is returned for a config that does not fit.
var ErrConfig = errors.New("devnet: invalid config")

// Config configures a devnet. Zero fields take the defaults. On resume, the
// recorded shape (nodes, shards, epoch, ports) wins; conflicting non-zero
// values are an error.
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
	// Logger receives the devnet's and the nodes' logs.
	Logger *slog.Logger
	// Daemon starts the HTTP publisher/aggregator for a client on a
	// listener; it must return when ctx ends. Nil runs no daemon.
	Daemon func(ctx context.Context, c *client.Client, ln net.Listener, log *slog.Logger) error
}

// state is what the devnet records in Dir to resume.
type state struct {
	Version       int           `yaml:"version"`
	Nodes         int           `yaml:"nodes"`
	Shards        int           `yaml:"shards"`
	EpochDuration time.Duration `yaml:"epoch_duration"`
	ChainAddr     string        `yaml:"chain_addr"`
	DaemonAddr    string        `yaml:"daemon_addr"`
	NodePorts     []int         `yaml:"node_ports"`
	AdminPorts    []int         `yaml:"admin_ports"`
	CreatedAt     time.Time     `yaml:"created_at"`
}

// Devnet is a running local network.
type Devnet struct {
	cfg Config
	st  state
	log *slog.Logger

	Chain *local.Chain
	// ChainURL, DaemonURL: where the chain API and the daemon listen.
	ChainURL  string
	DaemonURL string
	// Nodes are the running storage nodes; NodeConfigs their configs
	// (each also written to its folder as node.yaml).
	Nodes       []*node.Node
	NodeConfigs []node.Config
	// WalletPath is the funded client wallet; ClientConfigPath the client
	// config file naming this network as context "devnet".
	WalletPath       string
	ClientConfigPath string
	// Resumed is set when the devnet continued an existing folder.
	Resumed bool

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errOnce  sync.Once
	err      error
	failed   chan struct{}
	nodeStop []context.CancelFunc
	nodeDone []chan error
	client   *client.Client
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
	d := &Devnet{cfg: cfg, log: cfg.Logger.With("subsystem", "devnet"), failed: make(chan struct{})}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	genesis, err := d.prepare()
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel

	// The chain, in process and over HTTP.
	d.Chain, err = local.Open(ctx, local.Config{Dir: filepath.Join(cfg.Dir, "chain"), Genesis: genesis, Logger: d.log})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", d.st.ChainAddr)
	if err != nil {
		return nil, fmt.Errorf("devnet: chain address %s: %w", d.st.ChainAddr, err)
	}
	d.ChainURL = "http://" + ln.Addr().String()
	d.goRun("chain server", func() error { return local.Serve(runCtx, ln, d.Chain, d.log) })

	// The storage nodes.
	for i := range d.st.Nodes {
		if err := d.startNode(runCtx, i); err != nil {
			return nil, err
		}
	}

	// The publisher/aggregator.
	wallet, err := chain.LoadAccountKey(d.WalletPath)
	if err != nil {
		return nil, err
	}
	if d.client, err = client.New(ctx, client.Config{Chain: d.Chain, Signer: wallet, Logger: d.log}); err != nil {
		return nil, err
	}
	if cfg.Daemon != nil && d.st.DaemonAddr != "off" {
		dl, err := net.Listen("tcp", d.st.DaemonAddr)
		if err != nil {
			return nil, fmt.Errorf("devnet: daemon address %s: %w", d.st.DaemonAddr, err)
		}
		d.DaemonURL = "http://" + dl.Addr().String()
		d.goRun("daemon", func() error { return cfg.Daemon(runCtx, d.client, dl, d.log) })
		if err := waitHTTP(ctx, d.DaemonURL+"/status"); err != nil {
			return nil, err
		}
	}
	if err := d.writeClientConfig(); err != nil {
		return nil, err
	}
	return d, nil
}

// prepare reads or creates the devnet's state, keys and configs, and
// returns the genesis when the chain is to be created.
func (d *Devnet) prepare() (*local.Genesis, error) {
	cfg := d.cfg
	d.WalletPath = filepath.Join(cfg.Dir, "wallet.key")
	d.ClientConfigPath = filepath.Join(cfg.Dir, "client.yaml")
	b, err := os.ReadFile(filepath.Join(cfg.Dir, stateFile))
	switch {
	case err == nil:
		if err := yaml.Unmarshal(b, &d.st); err != nil {
			return nil, fmt.Errorf("devnet: %s: %w", stateFile, err)
		}
		if d.st.Version != stateVersion {
			return nil, fmt.Errorf("%w: %s has version %d, this walrus writes %d", ErrConfig, stateFile, d.st.Version, stateVersion)
		}
		for _, c := range []struct {
			name      string
			got, want any
			set       bool
		}{
			{"nodes", cfg.Nodes, d.st.Nodes, cfg.Nodes != 0},
			{"shards", cfg.Shards, d.st.Shards, cfg.Shards != 0},
			{"epoch duration", cfg.EpochDuration, d.st.EpochDuration, cfg.EpochDuration != 0},
		} {
			if c.set && c.got != c.want {
				return nil, fmt.Errorf("%w: the devnet in %s has %s %v, not %v; use another --dir to start a new one", ErrConfig, cfg.Dir, c.name, c.want, c.got)
			}
		}
		if cfg.ChainAddr != "" {
			d.st.ChainAddr = cfg.ChainAddr
		}
		if cfg.DaemonAddr != "" {
			d.st.DaemonAddr = cfg.DaemonAddr
		}
		d.Resumed = true
		d.NodeConfigs = make([]node.Config, d.st.Nodes)
		for i := range d.NodeConfigs {
			c, err := node.LoadConfig(filepath.Join(d.nodeDir(i), "node.yaml"))
			if err != nil {
				return nil, err
			}
			d.NodeConfigs[i] = *c
		}
		return nil, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}

	// A new devnet.
	d.st = state{
		Version: stateVersion, Nodes: orDefault(cfg.Nodes, DefaultNodes), Shards: orDefault(cfg.Shards, DefaultShards),
		EpochDuration: orDefault(cfg.EpochDuration, DefaultEpochDuration),
		ChainAddr:     orDefault(cfg.ChainAddr, DefaultChainAddr), DaemonAddr: orDefault(cfg.DaemonAddr, DefaultDaemonAddr),
		CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	if d.st.Nodes < 1 || d.st.Shards < d.st.Nodes {
		return nil, fmt.Errorf("%w: %d nodes and %d shards: every node needs a shard", ErrConfig, d.st.Nodes, d.st.Shards)
	}
	wallet, err := chain.GenerateAccountKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := chain.SaveAccountKey(d.WalletPath, wallet); err != nil {
		return nil, err
	}
	g := &local.Genesis{
		NShards: d.st.Shards, EpochDuration: local.Duration(d.st.EpochDuration),
		Accounts: []local.GenesisAccount{{Address: wallet.Address(), Balance: WalletFunds}},
	}
	chainURL := "http://" + d.st.ChainAddr
	for i := range d.st.Nodes {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		admin, err := freePort()
		if err != nil {
			return nil, err
		}
		d.st.NodePorts = append(d.st.NodePorts, port)
		d.st.AdminPorts = append(d.st.AdminPorts, admin)
		nc := node.Config{
			Name:        fmt.Sprintf("devnet-%d", i),
			DataDir:     ".",
			ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)},
			AdminAddr:   fmt.Sprintf("127.0.0.1:%d", admin),
			ChainURL:    chainURL,
		}
		if err := os.MkdirAll(d.nodeDir(i), 0o700); err != nil {
			return nil, err
		}
		path := filepath.Join(d.nodeDir(i), "node.yaml")
		if err := node.WriteConfig(path, &nc); err != nil {
			return nil, err
		}
		loaded, err := node.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		keys, err := node.LoadOrCreateKeys(loaded)
		if err != nil {
			return nil, err
		}
		gn, err := local.NewGenesisNode(keys.Account.Address(), keys.Protocol, keys.Network, nc.Name, keys.PeerID, nc.ListenAddrs, NodeStake)
		if err != nil {
			return nil, err
		}
		g.Nodes = append(g.Nodes, gn)
		d.NodeConfigs = append(d.NodeConfigs, *loaded)
	}
	// A faucet that cannot buy f + 1 shards against the nodes' stake.
	g.Faucet = local.SafeFaucet(g)
	out, err := yaml.Marshal(&d.st)
	if err != nil {
		return nil, err
	}
	// The state file is written last: a folder without it is started anew.
	if err := os.WriteFile(filepath.Join(cfg.Dir, stateFile), out, 0o600); err != nil {
		return nil, err
	}
	return g, nil
}

func (d *Devnet) nodeDir(i int) string { return filepath.Join(d.cfg.Dir, fmt.Sprintf("node-%d", i)) }

// startNode starts node i in process on the devnet's chain.
func (d *Devnet) startNode(ctx context.Context, i int) error {
	for len(d.nodeStop) <= i {
		d.nodeStop = append(d.nodeStop, nil)
		d.nodeDone = append(d.nodeDone, nil)
		d.Nodes = append(d.Nodes, nil)
	}
	n, err := node.New(d.NodeConfigs[i], node.Deps{Chain: d.Chain, Logger: d.cfg.Logger.With("node", i)})
	if err != nil {
		return err
	}
	nctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	d.Nodes[i], d.nodeStop[i], d.nodeDone[i] = n, cancel, done
	go func() {
		err := n.Run(nctx)
		done <- err
		if err != nil {
			d.fail(fmt.Errorf("node %d: %w", i, err))
		}
	}()
	select {
	case <-n.Ready():
		return nil
	case err := <-done:
		done <- err
		return fmt.Errorf("devnet: node %d did not start: %w", i, err)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("devnet: node %d did not start in 30s", i)
	}
}

// StopNode stops node i (for tests of faults); StartNode starts it again.
func (d *Devnet) StopNode(i int) error {
	if d.nodeStop[i] == nil {
		return nil
	}
	d.nodeStop[i]()
	d.nodeStop[i] = nil
	return <-d.nodeDone[i]
}

// StartNode starts node i again after StopNode.
func (d *Devnet) StartNode(ctx context.Context, i int) error {
	if d.nodeStop[i] != nil {
		return nil
	}
	return d.startNode(ctx, i)
}

// Client is a client of the devnet paying with its wallet.
func (d *Devnet) Client() *client.Client { return d.client }

func (d *Devnet) writeClientConfig() error {
	return client.WriteConfig(d.ClientConfigPath, &client.ConfigFile{
		DefaultContext: "devnet",
		Contexts: map[string]client.ClientContext{"devnet": {
			ChainURL: d.ChainURL, Wallet: d.WalletPath, DaemonURL: d.DaemonURL,
		}},
	})
}

func (d *Devnet) goRun(what string, fn func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(); err != nil {
			d.fail(fmt.Errorf("%s: %w", what, err))
		}
	}()
}

func (d *Devnet) fail(err error) {
	d.errOnce.Do(func() {
		d.err = err
		close(d.failed)
	})
}

// Failed is closed when a part of the devnet fails; Err says why.
func (d *Devnet) Failed() <-chan struct{} { return d.failed }

// Err is the failure that closed Failed.
func (d *Devnet) Err() error {
	select {
	case <-d.failed:
		return d.err
	default:
		return nil
	}
}

// Close stops the daemon, the nodes and the chain, in that order.
func (d *Devnet) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	var errs []error
	for i := range d.nodeStop {
		if d.nodeStop[i] != nil {
			d.nodeStop[i]()
			if err := <-d.nodeDone[i]; err != nil {
				errs = append(errs, fmt.Errorf("node %d: %w", i, err))
			}
			d.nodeStop[i] = nil
		}
	}
	d.wg.Wait()
	if d.client != nil {
		errs = append(errs, d.client.Close())
	}
	if d.Chain != nil {
		errs = append(errs, d.Chain.Close())
	}
	return errors.Join(errs...)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
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
