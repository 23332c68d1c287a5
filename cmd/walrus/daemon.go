package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
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
		cf                         clientFlags
		bind, metrics              string
		maxBodyKiB, maxBlobSize    int64
		maxConcurrent, queue       int
		aggConcurrent, aggQueue    int
		storeTimeout               time.Duration
		logLevel                   string
		jwtCfg                     daemon.JWTConfig
		origins, proxies           []string
		bodyIdle, bodyGrace        time.Duration
		minBodyRate                int64
		bodiesPerClient, connsPerC int
		readsPerClient             int
		bodyMemMiB                 int64
		minSendRate                int64
		sendGrace                  time.Duration
		qf                         quiltDaemonFlags
	)
	short := map[daemon.Mode]string{
		daemon.ModeDaemon:     "Run the HTTP publisher and aggregator",
		daemon.ModePublisher:  "Run the HTTP publisher (stores blobs, paid by the wallet)",
		daemon.ModeAggregator: "Run the HTTP aggregator (reads blobs)",
	}[mode]
	cmd := &cobra.Command{
		Use:   mode.String(),
		Short: short,
		Long: short + `, Walrus's HTTP API (PUT /v1/blobs, GET /v1/blobs/{blob_id}, GET /v1/api:
the API page; GET /v1/api/openapi.yaml).
Metrics are served on --metrics-address. SIGINT or SIGTERM shut it down
gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mode != daemon.ModeAggregator && maxBodyKiB < 1 {
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
			trusted, err := parseTrustedProxies(proxies)
			if err != nil {
				return err
			}
			if maxBlobSize < 0 {
				return fmt.Errorf("--max-blob-size must not be negative")
			}
			d, err := daemon.New(qf.apply(daemon.Config{Client: c, Mode: mode, Logger: log, MaxBodySize: maxBodyKiB << 10, MaxBlobSize: maxBlobSize,
				MaxConcurrentStores: maxConcurrent, MaxQueuedStores: queue, MaxConcurrentReads: aggConcurrent, MaxQueuedReads: aggQueue,
				StoreTimeout: storeTimeout, JWT: jwtCfg, AllowedOrigins: origins, TrustedProxies: trusted,
				BodyIdleTimeout: bodyIdle, BodyRateGrace: bodyGrace, MinBodyRate: minBodyRate,
				MaxBodiesPerClient: bodiesPerClient, MaxConnsPerClient: connsPerC,
				MaxReadsPerClient: readsPerClient, MaxBodyMemory: bodyMemMiB << 20, MinSendRate: minSendRate, SendRateGrace: sendGrace}))
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
	f.IntVar(&connsPerC, "max-conns-per-client", daemon.DefaultMaxConnsPerClient, "connections one client address may hold; more are closed at once")
	f.StringSliceVar(&proxies, "trusted-proxies", nil, "addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client for the per-client limits")
	f.StringSliceVar(&origins, "allowed-origins", nil, `origins (scheme://host[:port]) whose web pages may PUT blobs ("*": all); reads are open to all`)
	if mode != daemon.ModeAggregator {
		f.Int64Var(&maxBodyKiB, "max-body-size", daemon.DefaultMaxBodySize>>10, "largest blob a PUT accepts, in KiB (Walrus's unit)")
		f.IntVar(&maxConcurrent, "publisher-max-concurrent-requests", daemon.DefaultMaxConcurrentStores, "stores running at once")
		f.IntVar(&maxConcurrent, "max-concurrent-requests", daemon.DefaultMaxConcurrentStores, "alias of --publisher-max-concurrent-requests")
		f.IntVar(&queue, "publisher-max-buffer-size", daemon.DefaultMaxQueuedStores, "stores waiting for a slot; more are answered 429")
		f.IntVar(&queue, "max-buffer-size", daemon.DefaultMaxQueuedStores, "alias of --publisher-max-buffer-size")
		f.IntVar(&queue, "max-request-buffer-size", daemon.DefaultMaxQueuedStores, "alias of --publisher-max-buffer-size")
		f.DurationVar(&storeTimeout, "store-timeout", daemon.DefaultStoreTimeout, "time one store may take once its body arrived")
		f.DurationVar(&bodyIdle, "body-idle-timeout", daemon.DefaultBodyIdleTimeout, "a PUT body that sends nothing this long is cut")
		f.Int64Var(&minBodyRate, "min-body-rate", daemon.DefaultMinBodyRate, "slowest average a PUT body may arrive at after --body-rate-grace, in bytes/s (negative: no minimum)")
		f.DurationVar(&bodyGrace, "body-rate-grace", daemon.DefaultBodyRateGrace, "time before --min-body-rate applies")
		f.Int64Var(&bodyMemMiB, "max-body-memory", 0, fmt.Sprintf("MiB the PUT bodies received and storing may hold in all (0: %d × --max-body-size)", daemon.DefaultMaxBodyMemoryBodies))
		f.IntVar(&bodiesPerClient, "max-bodies-per-client", daemon.DefaultMaxBodiesPerClient, "PUT bodies one client address may send at once")
		f.StringVar(&jwtCfg.DecodeSecret, "jwt-decode-secret", "", "verify the JWT of every PUT with this key (0x and hex, or the string's bytes), as Walrus's publisher")
		f.StringVar(&jwtCfg.Algorithm, "jwt-algorithm", "", "the JWT algorithm ("+strings.Join(daemon.JWTAlgorithms, ", ")+"); default HS256")
		f.Int64Var(&jwtCfg.ExpiringSec, "jwt-expiring-sec", 0, "if > 0, a JWT's exp − iat must be this many seconds")
		f.BoolVar(&jwtCfg.VerifyUpload, "jwt-verify-upload", false, "check the PUT's epochs, send_object_to and size against the JWT's claims")
		f.IntVar(&jwtCfg.CacheSize, "jwt-cache-size", daemon.DefaultJWTCacheSize, fmt.Sprintf("token IDs (jti) remembered against replay, at most %d", daemon.MaxJWTCacheSize))
	}
	if mode != daemon.ModePublisher {
		f.Int64Var(&maxBlobSize, "max-blob-size", 0, "largest blob a read serves, in bytes (0: any); larger ones are refused before their slivers are read")
		f.IntVar(&aggConcurrent, "aggregator-max-concurrent-requests", daemon.DefaultMaxConcurrentReads, "reads running at once")
		f.IntVar(&aggQueue, "aggregator-max-buffer-size", daemon.DefaultMaxQueuedReads, "reads waiting for a slot; more are answered 429")
		f.IntVar(&readsPerClient, "max-reads-per-client", daemon.DefaultMaxReadsPerClient, "reads one client address may run or queue at once")
		f.Int64Var(&minSendRate, "min-send-rate", daemon.DefaultMinSendRate, "slowest average a client may take a blob at after --send-rate-grace, in bytes/s (negative: no minimum)")
		f.DurationVar(&sendGrace, "send-rate-grace", daemon.DefaultSendRateGrace, "time before --min-send-rate applies")
	}
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	qf.register(f)
	return cmd
}

// parseTrustedProxies parses --trusted-proxies: addresses or CIDR
// prefixes.
func parseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range list {
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR prefix", p)
			}
			pr = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pr.Masked())
	}
	return out, nil
}
