package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/node"
)

func init() { register(newNodeCmd) }

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run and manage a storage node",
	}
	cmd.AddCommand(newNodeInitCmd(), newNodeRunCmd(), newNodeRegisterCmd(), newNodeSetCommissionCmd(), newNodeCollectCommissionCmd())
	return cmd
}

// newLogger returns a text logger on stderr at the given level.
func newLogger(level string) (*slog.Logger, error) { return newLoggerTo(os.Stderr, level) }

// newLoggerTo returns a text logger on w at the given level.
func newLoggerTo(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func newNodeInitCmd() *cobra.Command {
	var (
		dir, name, chainURL, admin string
		listen                     []string
		asJSON, force              bool
	)
	cmd := &cobra.Command{
		Use:   "init --dir DIR",
		Short: "Create a storage node's keys and a config with sane defaults",
		Long: `Creates DIR/node.yaml and the node's keys (network, protocol and account),
each 0600, and prints what registering the node on chain needs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			path := filepath.Join(dir, "node.yaml")
			if _, err := os.Stat(path); err == nil && !force {
				return fmt.Errorf("%s exists; use --force to overwrite the config (keys are kept)", path)
			}
			chainCfg, from := backend.Config{ChainURL: chainURL}, "--chain-url"
			if !cmd.Flags().Changed("chain-url") {
				chainCfg, from = initChain()
			}
			// A node of a chain on this machine (a devnet) listens on
			// loopback, on ports free now, so that it can register as it
			// is and run beside the devnet's nodes.
			if loopbackChain(chainCfg) {
				if len(listen) == 0 {
					port, err := freePort()
					if err != nil {
						return err
					}
					listen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}
				}
				if !cmd.Flags().Changed("admin-addr") {
					port, err := freePort()
					if err != nil {
						return err
					}
					admin = fmt.Sprintf("127.0.0.1:%d", port)
				}
			}
			cfg := node.Config{Name: name, DataDir: ".", Chain: chainCfg, ListenAddrs: listen, AdminAddr: admin}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			if err := node.WriteConfig(path, &cfg); err != nil {
				return err
			}
			loaded, err := node.LoadConfig(path)
			if err != nil {
				return err
			}
			keys, err := node.LoadOrCreateKeys(loaded)
			if err != nil {
				return err
			}
			info := struct {
				Config    string             `json:"config"`
				Chain     string             `json:"chain"`
				PeerID    string             `json:"peerId"`
				PublicKey chain.BLSPublicKey `json:"publicKey"`
				Operator  chain.Address      `json:"operatorAddress"`
				Wallet    string             `json:"operatorWallet"`
			}{path, chainCfg.Describe(), keys.PeerID, keys.Protocol.PublicKey(), keys.Account.Address(), loaded.AccountKeyFile}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(info)
			}
			fmt.Fprintf(out, "Created %s\nChain:            %s (%s)\nPeer ID:          %s\nProtocol key:     %s\nOperator address: %s\nOperator wallet:  %s\n",
				info.Config, info.Chain, from, info.PeerID, info.PublicKey, info.Operator, info.Wallet)
			fmt.Fprintf(out, "\nNext: fund the operator address (on a devnet, from its faucet: 1000 WAL), register and stake, run:\n"+
				"  walrus get-wal --wallet %s --amount 1000\n  walrus node register --config %s --stake 1000\n  walrus node run --config %s\n",
				info.Wallet, path, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "folder for the config, keys and database")
	f.StringVar(&name, "name", "", "the node's name on chain")
	f.StringVar(&chainURL, "chain-url", "", "the chain's HTTP address (default: the client config's chain, e.g. a running devnet's, else "+defaultChainURL()+")")
	f.StringSliceVar(&listen, "listen", nil, "libp2p listen multiaddrs (default TCP and QUIC on port 9100, every interface; for a chain on this machine, loopback on a free port)")
	f.StringVar(&admin, "admin-addr", node.DefaultAdminAddr, `admin HTTP address for /health and /metrics ("off" to disable)`)
	f.BoolVar(&force, "force", false, "overwrite an existing config")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// loopbackChain reports whether the chain is a local chain on this machine.
func loopbackChain(c backend.Config) bool {
	if c.Kind() != backend.Local {
		return false
	}
	u, err := url.Parse(c.ChainURL)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// freePort returns a TCP port free on loopback now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// initChain is the chain a new node's config names without --chain-url:
// the client config's (a devnet's, after `make run`), else the default
// local chain; and where it came from.
func initChain() (backend.Config, string) {
	var cf clientFlags
	if cf.hasNetwork() {
		if ch, _, err := cf.resolve(); err == nil {
			if cf.usedConfig == "" {
				return ch, "$" + chainURLEnv
			}
			return ch, fmt.Sprintf("context %q of %s", cf.usedContext, cf.usedConfig)
		}
	}
	return backend.Config{ChainURL: defaultChainURL()}, "the default"
}

func newNodeRunCmd() *cobra.Command {
	var configPath, logLevel string
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run a storage node",
		Long: `Runs a storage node until SIGINT or SIGTERM: requests in flight finish or
are rejected, then the node stops following the chain, closes its libp2p host
and its store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return errors.New("--config is required")
			}
			log, err := newLoggerTo(cmd.ErrOrStderr(), logLevel)
			if err != nil {
				return err
			}
			cfg, err := node.LoadConfig(configPath)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return err
			}
			unlock, err := lockDir(cfg.DataDir, "a storage node")
			if err != nil {
				return err
			}
			defer unlock()
			ch, err := backend.Open(cmd.Context(), cfg.Chain)
			if err != nil {
				return err
			}
			defer ch.Close()
			announceMembership(cmd.Context(), ch, cfg, configPath, log)
			n, err := node.New(*cfg, node.Deps{Chain: ch, Logger: log})
			if err == nil {
				err = n.Run(cmd.Context())
			}
			return explainNodeChain(err, cfg, configPath)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "the node's config file (walrus node init)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// explainNodeChain adds to an error reaching a node's chain what to check.
func explainNodeChain(err error, cfg *node.Config, configPath string) error {
	if !unreachable(err) {
		return err
	}
	return fmt.Errorf("%w\nthe chain %s (the chain of %s) does not answer: is it running? A devnet starts with `make run` (or `walrus devnet`)",
		err, cfg.Chain.Describe(), configPath)
}

// announceMembership logs, as a node starts, whether it is registered and
// in the current committee, and if not what it waits for and until when.
func announceMembership(ctx context.Context, ch chain.Chain, cfg *node.Config, configPath string, log *slog.Logger) {
	keys, err := node.LoadOrCreateKeys(cfg)
	if err != nil {
		return
	}
	st, err := ch.SystemState(ctx)
	if err != nil {
		return
	}
	info, found, err := findNode(ctx, ch, keys.PeerID, keys.Protocol.PublicKey())
	if err != nil {
		return
	}
	if !found {
		log.Warn("the node is not registered on chain: it serves nothing until it is; register it with `walrus node register --config " + configPath + " --stake 1000`")
		return
	}
	if com, err := ch.Committee(ctx, st.Epoch); err == nil {
		if i, ok := com.Index(info.ID); ok {
			log.Info("the node is in the committee of the current epoch", "node_id", info.ID, "epoch", st.Epoch, "shards", len(com.Members[i].Shards))
			return
		}
	}
	if info.Stake == 0 && len(info.PendingByEpoch) == 0 {
		log.Warn("the node has no stake: it cannot join a committee; stake with `walrus stake --node-id "+info.ID.String()+"`", "node_id", info.ID, "epoch", st.Epoch)
		return
	}
	next := st.Epoch + 1
	if st.Phase == chain.PhaseNextSelected {
		next++ // the next committee was chosen without this node
	}
	for _, p := range info.PendingByEpoch {
		if p.Epoch > next {
			next = p.Epoch
			break
		}
	}
	start := st.EpochStart.Add(time.Duration(next-st.Epoch) * st.EpochDuration)
	log.Info(fmt.Sprintf("waiting to join a committee: not in the committee of epoch %d; the committee of epoch %d is chosen at the midpoint of epoch %d (about %s) and starts about %s; the node syncs its shards then",
		st.Epoch, next, next-1, start.Add(-st.EpochDuration/2).Local().Format(time.RFC3339), start.Local().Format(time.RFC3339)),
		"node_id", info.ID, "stake", info.Stake, "pending_stake", info.PendingStake)
}

// nextNodeName names a node registered without a name: when every
// registered node is named PREFIX-<number> (a devnet's devnet-0 …), the
// next number, so that the numbering stays one; else the end of its peer
// ID.
func nextNodeName(ctx context.Context, ch chain.Chain, peerID string) string {
	fallback := peerID[len(peerID)-8:]
	nodes, err := ch.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		return fallback
	}
	prefix, next := "", 0
	for _, n := range nodes {
		i := strings.LastIndexByte(n.Name, '-')
		k, err := strconv.Atoi(n.Name[i+1:])
		if i <= 0 || err != nil || k < 0 || (prefix != "" && n.Name[:i] != prefix) {
			return fallback
		}
		prefix, next = n.Name[:i], max(next, k+1)
	}
	return fmt.Sprintf("%s-%d", prefix, next)
}

// findNode looks for a registered node with the peer ID or protocol key.
func findNode(ctx context.Context, ch chain.Chain, peerID string, pk chain.BLSPublicKey) (chain.NodeInfo, bool, error) {
	nodes, err := ch.Nodes(ctx)
	if err != nil {
		return chain.NodeInfo{}, false, err
	}
	for _, n := range nodes {
		if n.PeerID == peerID || n.PublicKey == pk {
			return n, true, nil
		}
	}
	return chain.NodeInfo{}, false, nil
}

// joinWhen says when stake active from epoch e lets a node into a
// committee: the committee of epoch e is chosen at the midpoint of epoch
// e−1 (Walrus's), times estimated from the current epoch's start.
func joinWhen(st *chain.SystemState, e uint32) string {
	if e <= st.Epoch {
		return fmt.Sprintf("The stake is active: the node is in the committee of epoch %d if its stake ranks it in.", st.Epoch)
	}
	start := st.EpochStart.Add(time.Duration(e-st.Epoch) * st.EpochDuration)
	mid := start.Add(-st.EpochDuration / 2)
	return fmt.Sprintf("The node joins the committee of epoch %d, chosen at the midpoint of epoch %d (about %s); epoch %d starts about %s.",
		e, e-1, mid.Local().Format(time.RFC3339), e, start.Local().Format(time.RFC3339))
}

func newNodeRegisterCmd() *cobra.Command {
	var (
		configPath string
		stake      uint64
		commission uint16
		addrs      []string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "register --config FILE --stake WAL",
		Short: "Register the node on chain and stake with it",
		Long: `Registers the node with its peer ID, addresses and protocol key (with a proof
of possession), signed by its operator account, and stakes --stake WAL of the
operator with it. The node joins a committee once its stake is active.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := node.LoadConfig(configPath)
			if err != nil {
				return err
			}
			keys, err := node.LoadOrCreateKeys(cfg)
			if err != nil {
				return err
			}
			ch, err := backend.Open(ctx, cfg.Chain)
			if err != nil {
				return err
			}
			defer ch.Close()
			st, err := ch.SystemState(ctx)
			if err != nil {
				return explainNodeChain(err, cfg, configPath)
			}
			if len(addrs) == 0 {
				addrs = cfg.ListenAddrs
			}
			for _, a := range addrs {
				if strings.Contains(a, "/0.0.0.0/") {
					return fmt.Errorf("address %s is not reachable by others; pass --addr with the node's public multiaddrs", a)
				}
			}
			name := cfg.Name
			if name == "" {
				name = nextNodeName(ctx, ch, keys.PeerID)
			}
			op := keys.Account.Address()
			// Already registered (a run that failed after registering, or
			// a second run): the same node, not a second one.
			info, found, err := findNode(ctx, ch, keys.PeerID, keys.Protocol.PublicKey())
			if err != nil {
				return err
			}
			if found && info.Operator != op {
				return fmt.Errorf("the node's keys are registered as node %s by another operator (%s)", info.ID, info.Operator)
			}
			var staked *chain.StakedWAL
			if found && stake > 0 {
				ss, err := ch.StakedWAL(ctx, op)
				if err != nil {
					return err
				}
				for i := range ss {
					if ss[i].NodeID == info.ID && ss[i].State != chain.StakeWithdrawing {
						staked = &ss[i]
						break
					}
				}
			}
			// All or nothing: the stake is checked before anything is sent.
			if stake > 0 && staked == nil {
				bal, err := ch.Balance(ctx, op)
				if err != nil {
					return err
				}
				if bal < stake {
					return fmt.Errorf("the operator %s holds %s WAL, less than the %s WAL to stake; nothing was registered. Fund it first, on a devnet with\n  walrus get-wal --wallet %s --amount %s",
						op, formatWAL(bal), formatWAL(stake), cfg.AccountKeyFile, formatWAL(stake-bal))
				}
			}
			registered := false
			if !found {
				if info, err = ch.RegisterNode(ctx, keys.Account, keys.RegisterArgs(name, addrs, st.Epoch, commission)); err != nil {
					return err
				}
				registered = true
			}
			newStake := false
			if stake > 0 && staked == nil {
				s, err := ch.Stake(ctx, keys.Account, info.ID, stake)
				if err != nil {
					return fmt.Errorf("registered node %s, but staking failed (run the same command again to stake): %w", info.ID, err)
				}
				staked, newStake = &s, true
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(struct {
					Node       chain.NodeInfo   `json:"node"`
					Registered bool             `json:"registered"`
					Staked     *chain.StakedWAL `json:"stakedWal,omitempty"`
				}{info, registered, staked})
			}
			if registered {
				fmt.Fprintf(out, "Registered node %s (%s)\n", info.ID, info.Name)
			} else {
				fmt.Fprintf(out, "Node %s (%s) was registered already\n", info.ID, info.Name)
			}
			if staked != nil {
				verb := "Staked"
				if !newStake {
					verb = "Already staked"
				}
				fmt.Fprintf(out, "%s %s WAL, active from epoch %d\n", verb, formatWAL(staked.Principal), staked.ActivationEpoch)
				fmt.Fprintf(out, "%s\n", joinWhen(&st, staked.ActivationEpoch))
			}
			fmt.Fprintf(out, "Run it (now: it serves once it is in a committee):\n  walrus node run --config %s\n", configPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "the node's config file")
	f.Var(newAmountValue(&stake, 0), "stake", "WAL of the operator to stake with the node (1000, or 1000000000000frost)")
	f.Uint16Var(&commission, "commission", 1000, "the operator's commission in basis points")
	f.StringSliceVar(&addrs, "addr", nil, "multiaddrs to register (default: the listen addresses)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
