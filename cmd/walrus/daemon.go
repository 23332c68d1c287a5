package main

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/client/daemon"
)

func init() {
	register(func() *cobra.Command { return newDaemonCmd(daemon.ModeDaemon) })
	register(func() *cobra.Command { return newDaemonCmd(daemon.ModePublisher) })
	register(func() *cobra.Command { return newDaemonCmd(daemon.ModeAggregator) })
}

// Defaults of the daemon commands, as Walrus's.
const (
	defaultDaemonAddr  = "127.0.0.1:31415"
	defaultMetricsAddr = "127.0.0.1:27182"
)

func newDaemonCmd(mode daemon.Mode) *cobra.Command {
	var (
		cf                   clientFlags
		bind, metrics        string
		maxBodyKiB           int64
		maxConcurrent, queue int
		storeTimeout         time.Duration
		logLevel             string
		qf                   quiltDaemonFlags
	)
	short := map[daemon.Mode]string{
		daemon.ModeDaemon:     "Run the HTTP publisher and aggregator",
		daemon.ModePublisher:  "Run the HTTP publisher (stores blobs, paid by the wallet)",
		daemon.ModeAggregator: "Run the HTTP aggregator (reads blobs)",
	}[mode]
	cmd := &cobra.Command{
		Use:   mode.String(),
		Short: short,
		Long: short + `, Walrus's HTTP API (PUT /v1/blobs, GET /v1/blobs/{blob_id}, GET /v1/api).
Metrics are served on --metrics-address. SIGINT or SIGTERM shut it down
gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if maxBodyKiB < 1 {
				return fmt.Errorf("--max-body-size must be at least 1 KiB")
			}
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, mode != daemon.ModeAggregator, log)
			if err != nil {
				return err
			}
			defer closeFn()
			d, err := daemon.New(qf.apply(daemon.Config{Client: c, Mode: mode, Logger: log, MaxBodySize: maxBodyKiB << 10,
				MaxConcurrentStores: maxConcurrent, MaxQueuedStores: queue, StoreTimeout: storeTimeout}))
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", bind)
			if err != nil {
				return fmt.Errorf("--bind-address: %w", err)
			}
			var mln net.Listener
			if metrics != "" && metrics != "off" {
				if mln, err = net.Listen("tcp", metrics); err != nil {
					ln.Close()
					return fmt.Errorf("--metrics-address: %w", err)
				}
			}
			if cf.json {
				printJSON(cmd.OutOrStdout(), map[string]string{"mode": mode.String(), "url": "http://" + ln.Addr().String()})
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "Walrus %s listening on http://%s\n", mode, ln.Addr())
			}
			return d.Run(ctx, ln, mln)
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&bind, "bind-address", "b", defaultDaemonAddr, "address to serve the HTTP API on")
	f.StringVarP(&metrics, "metrics-address", "a", defaultMetricsAddr, `address to serve Prometheus metrics on ("off" for none)`)
	f.Int64Var(&maxBodyKiB, "max-body-size", daemon.DefaultMaxBodySize>>10, "largest blob a PUT accepts, in KiB (Walrus's unit)")
	f.IntVar(&maxConcurrent, "max-concurrent-requests", daemon.DefaultMaxConcurrentStores, "stores running at once")
	f.IntVar(&queue, "max-request-buffer-size", daemon.DefaultMaxQueuedStores, "stores waiting for a slot; more are answered 429")
	f.DurationVar(&storeTimeout, "store-timeout", daemon.DefaultStoreTimeout, "time one store may take once its body arrived")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	qf.register(f)
	return cmd
}
