package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network/devnet"
)

func init() { register(newDevnetCmd) }

func defaultDevnetDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "walrus", "devnet")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "walrus", "devnet")
	}
	return "walrus-devnet"
}

func newDevnetCmd() *cobra.Command {
	var (
		cfg      devnet.Config
		logLevel string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a whole local network: chain, storage nodes, publisher/aggregator",
		Long: `Starts the embedded chain (served over HTTP), --nodes storage nodes with their
own libp2p hosts and Pebble folders, a funded client wallet and the HTTP
publisher/aggregator, all in this process, and prints what runs where.
Ctrl-C stops it cleanly; running it again with the same --dir resumes with all
data. Logs go to DIR/devnet.log (warnings also to stderr).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cfg.Dir == "" {
				cfg.Dir = defaultDevnetDir()
			}
			abs, err := filepath.Abs(cfg.Dir)
			if err != nil {
				return err
			}
			cfg.Dir = abs
			if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
				return err
			}
			unlock, err := lockDir(cfg.Dir, "a devnet")
			if err != nil {
				return err
			}
			defer unlock()
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			logFile, err := os.OpenFile(filepath.Join(cfg.Dir, "devnet.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return err
			}
			defer logFile.Close()
			cfg.Logger = slog.New(slog.NewMultiHandler(
				slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: level}),
				slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}),
			))
			out := cmd.OutOrStdout()
			if !asJSON {
				fmt.Fprintf(out, "Starting the devnet in %s …\n", cfg.Dir)
			}
			d, err := devnet.Start(ctx, cfg)
			if err != nil {
				return err
			}
			devnetProcs(len(d.Nodes))
			defaultCfg := linkDefaultClientConfig(d.ClientConfigPath)
			if asJSON {
				err = printDevnetJSON(out, d)
			} else {
				printDevnet(out, d, defaultCfg)
			}
			if err != nil {
				d.Close()
				return err
			}
			select {
			case <-ctx.Done():
				if !asJSON {
					fmt.Fprintln(out, "\nStopping the devnet …")
				}
			case <-d.Failed():
				fmt.Fprintln(cmd.ErrOrStderr(), "the devnet failed:", d.Err())
			}
			closeErr := d.Close()
			if err := d.Err(); err != nil {
				return err
			}
			if closeErr == nil && !asJSON {
				fmt.Fprintln(out, "Stopped. Run the same command again to resume.")
			}
			return closeErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "folder of the devnet's data (default "+defaultDevnetDir()+")")
	f.IntVar(&cfg.Nodes, "nodes", 0, fmt.Sprintf("storage nodes (default %d; fixed when the devnet is created)", devnet.DefaultNodes))
	f.IntVar(&cfg.Shards, "shards", 0, fmt.Sprintf("shards n (default %d; fixed when the devnet is created)", devnet.DefaultShards))
	f.DurationVar(&cfg.EpochDuration, "epoch-duration", 0, fmt.Sprintf("epoch length (default %s; fixed when the devnet is created)", devnet.DefaultEpochDuration))
	f.StringVar(&cfg.ChainAddr, "chain-addr", "", "chain HTTP API address (default "+devnet.DefaultChainAddr+")")
	f.StringVar(&cfg.DaemonAddr, "daemon-addr", "", `publisher/aggregator address (default `+devnet.DefaultDaemonAddr+`; "off" for none)`)
	f.StringVar(&cfg.DaemonMetricsAddr, "daemon-metrics-addr", "", `the daemon's Prometheus metrics address (default `+devnet.DefaultDaemonMetricsAddr+`; "off" for none)`)
	f.StringVar(&logLevel, "log-level", "info", "level of DIR/devnet.log: debug, info, warn or error")
	f.BoolVar(&asJSON, "json", false, "print what runs where as JSON")
	return cmd
}

// linkDefaultClientConfig writes the devnet's client config to the default
// client config path when none is there, so that walrus store/read work
// without flags. It returns the path the CLI will use by default.
func linkDefaultClientConfig(devnetCfg string) string {
	if env := os.Getenv(client.ConfigEnv); env != "" {
		return env
	}
	def, err := client.DefaultConfigPath()
	if err != nil {
		return ""
	}
	if _, err := os.Stat(def); errors.Is(err, os.ErrNotExist) {
		if cf, err := client.LoadConfig(devnetCfg); err == nil && client.WriteConfig(def, cf) == nil {
			return def
		}
	}
	if same, _ := sameContent(def, devnetCfg); same {
		return def
	}
	return ""
}

func sameContent(a, b string) (bool, error) {
	x, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	y, err := os.ReadFile(b)
	return err == nil && string(x) == string(y), err
}

// firstScreenEpochs is the lifetime the devnet's first screen and the
// README store blobs for.
const firstScreenEpochs = 7

func printDevnet(w io.Writer, d *devnet.Devnet, defaultCfg string) {
	st, _ := d.Chain.SystemState(context.Background())
	resumed := "started"
	if d.Resumed {
		resumed = "resumed"
	}
	fmt.Fprintf(w, "\nWalrus devnet %s: %d storage nodes, n = %d shards, epoch %d of %s.\n\n",
		resumed, len(d.Nodes), st.NShards, st.Epoch, st.EpochDuration)
	fmt.Fprintf(w, "  chain API        %s\n", d.ChainURL)
	if d.DaemonURL != "" {
		fmt.Fprintf(w, "  publisher/aggr.  %s   (Walrus HTTP API: PUT /v1/blobs, GET /v1/blobs/{id})\n", d.DaemonURL)
	}
	if d.MetricsURL != "" {
		fmt.Fprintf(w, "  daemon metrics   %s\n", d.MetricsURL)
	}
	for _, n := range d.Nodes {
		admin := "off"
		if r := n.Running(); r != nil && r.AdminAddr() != "" {
			admin = "http://" + r.AdminAddr()
		}
		fmt.Fprintf(w, "  %-16s %s   admin %s\n", n.Name(), strings.Join(n.Config.ListenAddrs, " "), admin)
	}
	fmt.Fprintf(w, "  wallet           %s\n", d.WalletPath)
	fmt.Fprintf(w, "  client config    %s\n", d.ClientConfigPath)
	fmt.Fprintf(w, "\nTry, in another terminal:\n\n")
	if defaultCfg == "" {
		fmt.Fprintf(w, "  export %s=%s\n", client.ConfigEnv, d.ClientConfigPath)
	}
	fmt.Fprintf(w, "  walrus store README.md --epochs %d      # prints the blob ID; kept %d epochs (until %s)\n",
		firstScreenEpochs, firstScreenEpochs, st.EpochStart.Add(time.Duration(firstScreenEpochs)*st.EpochDuration).Local().Format("Mon 2 Jan 15:04"))
	fmt.Fprintf(w, "  walrus read BLOB_ID --out copy.md\n")
	if d.DaemonURL != "" {
		fmt.Fprintf(w, "  curl -X PUT --data-binary @README.md %s/v1/blobs\n", d.DaemonURL)
		fmt.Fprintf(w, "  curl %s/v1/blobs/BLOB_ID\n", d.DaemonURL)
	}
	fmt.Fprintf(w, "\nCtrl-C stops the network; the same command resumes it with all data.\n")
}

func printDevnetJSON(w io.Writer, d *devnet.Devnet) error {
	type nodeInfo struct {
		Name      string   `json:"name"`
		NodeID    string   `json:"nodeId"`
		PeerID    string   `json:"peerId"`
		Addresses []string `json:"addresses"`
		Admin     string   `json:"adminUrl"`
	}
	out := struct {
		Dir          string     `json:"dir"`
		Resumed      bool       `json:"resumed"`
		ChainURL     string     `json:"chainUrl"`
		DaemonURL    string     `json:"daemonUrl,omitempty"`
		MetricsURL   string     `json:"daemonMetricsUrl,omitempty"`
		Wallet       string     `json:"wallet"`
		ClientConfig string     `json:"clientConfig"`
		Nodes        []nodeInfo `json:"nodes"`
		StartedAt    time.Time  `json:"startedAt"`
	}{filepath.Dir(d.WalletPath), d.Resumed, d.ChainURL, d.DaemonURL, d.MetricsURL, d.WalletPath, d.ClientConfigPath, nil, time.Now().UTC()}
	for _, n := range d.Nodes {
		ni := nodeInfo{Name: n.Name(), NodeID: n.ID().String(), PeerID: n.PeerID(), Addresses: n.Config.ListenAddrs}
		if r := n.Running(); r != nil && r.AdminAddr() != "" {
			ni.Admin = "http://" + r.AdminAddr()
		}
		out.Nodes = append(out.Nodes, ni)
	}
	return json.NewEncoder(w).Encode(out)
}

// devnetProcs gives the devnet's process at least one P per storage node,
// unless GOMAXPROCS is set: each node would be a process of its own with
// every core's P, and they block in syscalls (direct writes, syncs) often.
// With 4 nodes on 2 cores, 64 MiB CLI stores took a median of 675-698 ms at
// GOMAXPROCS=4 against 726-730 at 2 (st.sh, alternating runs of 6).
func devnetProcs(nodes int) {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < nodes {
		runtime.GOMAXPROCS(nodes)
	}
}
