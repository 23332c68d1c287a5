package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

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
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
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
			cfg := node.Config{Name: name, DataDir: ".", Chain: backend.Config{ChainURL: chainURL}, ListenAddrs: listen, AdminAddr: admin}
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
				PeerID    string             `json:"peerId"`
				PublicKey chain.BLSPublicKey `json:"publicKey"`
				Operator  chain.Address      `json:"operatorAddress"`
			}{path, keys.PeerID, keys.Protocol.PublicKey(), keys.Account.Address()}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(info)
			}
			fmt.Fprintf(out, "Created %s\nPeer ID:          %s\nProtocol key:     %s\nOperator address: %s\n",
				info.Config, info.PeerID, info.PublicKey, info.Operator)
			fmt.Fprintf(out, "\nNext: fund the operator address, then\n  walrus node register --config %s --stake 1000\n  walrus node run --config %s\n", path, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "folder for the config, keys and database")
	f.StringVar(&name, "name", "", "the node's name on chain")
	f.StringVar(&chainURL, "chain-url", "http://127.0.0.1:9180", "the chain's HTTP address (walrus chain serve)")
	f.StringSliceVar(&listen, "listen", nil, "libp2p listen multiaddrs (default TCP and QUIC on port 9100, every interface)")
	f.StringVar(&admin, "admin-addr", node.DefaultAdminAddr, `admin HTTP address for /health and /metrics ("off" to disable)`)
	f.BoolVar(&force, "force", false, "overwrite an existing config")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
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
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg, err := node.LoadConfig(configPath)
			if err != nil {
				return err
			}
			ch, err := backend.Open(cmd.Context(), cfg.Chain)
			if err != nil {
				return err
			}
			defer ch.Close()
			n, err := node.New(*cfg, node.Deps{Chain: ch, Logger: log})
			if err != nil {
				return err
			}
			return n.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "the node's config file (walrus node init)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
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
				return err
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
				name = keys.PeerID[len(keys.PeerID)-8:]
			}
			info, err := ch.RegisterNode(ctx, keys.Account, keys.RegisterArgs(name, addrs, st.Epoch, commission))
			if err != nil {
				return err
			}
			var staked *chain.StakedWAL
			if stake > 0 {
				s, err := ch.Stake(ctx, keys.Account, info.ID, stake)
				if err != nil {
					return fmt.Errorf("registered node %s, but staking failed: %w", info.ID, err)
				}
				staked = &s
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(struct {
					Node   chain.NodeInfo   `json:"node"`
					Staked *chain.StakedWAL `json:"stakedWal,omitempty"`
				}{info, staked})
			}
			fmt.Fprintf(out, "Registered node %s (%s)\n", info.ID, info.Name)
			if staked != nil {
				fmt.Fprintf(out, "Staked %s, active from epoch %d\n", formatAmount(stake), staked.ActivationEpoch)
			}
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
