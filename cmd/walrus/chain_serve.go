package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain/local"
)

func init() { chainCommands = append(chainCommands, newChainServeCmd) }

// chainServeOptions are the flags of `walrus chain serve`.
type chainServeOptions struct {
	dir, addr, genesis string
	// epochDuration and nShards apply when the chain is created (zero:
	// the genesis file's or the defaults).
	epochDuration time.Duration
	nShards       int
	log           *slog.Logger
}

func newChainServeCmd() *cobra.Command {
	var (
		o        chainServeOptions
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "serve --dir DIR",
		Short: "Serve the embedded local chain over HTTP",
		Long: `Opens the local chain in DIR, creating it if DIR holds none (from --genesis,
or a genesis without storage nodes that nodes join by registering), and serves
its JSON API on --addr until interrupted. Storage nodes, clients and
'walrus info' reach it with --chain-url/--chain http://ADDR.

--epoch-duration and --n-shards set those parameters of a new chain; on an
existing chain they must match it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.dir == "" {
				return errors.New("--dir is required")
			}
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			o.log = log
			if !cmd.Flags().Changed("epoch-duration") {
				o.epochDuration = 0
			}
			if !cmd.Flags().Changed("n-shards") {
				o.nShards = 0
			}
			return serveChain(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "directory of the chain's database (created if needed)")
	f.StringVar(&o.addr, "addr", local.DefaultAddr, "address to serve the HTTP API on (host:port; loopback unless you mean it)")
	f.StringVar(&o.genesis, "genesis", "", "genesis file (YAML or JSON) to create the chain from")
	f.DurationVar(&o.epochDuration, "epoch-duration", local.DefaultEpochDuration, "epoch length of a new chain")
	f.IntVar(&o.nShards, "n-shards", local.DefaultNShards, "shard count of a new chain")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// serveChain opens (or creates) the chain and serves it until ctx ends.
func serveChain(ctx context.Context, o chainServeOptions, out io.Writer) error {
	var g *local.Genesis
	if o.genesis != "" {
		var err error
		if g, err = local.LoadGenesis(o.genesis); err != nil {
			return err
		}
	}
	withFlags := func(g *local.Genesis) *local.Genesis {
		if o.epochDuration != 0 {
			g.EpochDuration = local.Duration(o.epochDuration)
		}
		if o.nShards != 0 {
			g.NShards = o.nShards
		}
		return g
	}
	cfg := local.Config{Dir: o.dir, Logger: o.log}
	if g != nil || o.epochDuration != 0 || o.nShards != 0 {
		if g == nil {
			g = &local.Genesis{}
		}
		cfg.Genesis = withFlags(g)
	}
	c, err := local.Open(ctx, cfg)
	if errors.Is(err, local.ErrNoChain) {
		cfg.Genesis = withFlags(&local.Genesis{})
		c, err = local.Open(ctx, cfg)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", o.addr, err)
	}
	s, err := c.SystemState(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Serving the local chain %s on http://%s\nEpoch %d (%s), %d shards, epochs of %v\n",
		s.ChainID, ln.Addr(), s.Epoch, s.Phase, s.NShards, s.EpochDuration)
	o.log.Info("serving", "addr", ln.Addr().String(), "dir", o.dir)
	return local.Serve(ctx, ln, c, o.log)
}
