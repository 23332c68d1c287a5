package devnet

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
)

// BenchmarkLocalNetwork measures the local network as `walrus devnet` runs
// it (4 storage nodes, n = 100, all in this process on loopback libp2p, the
// embedded chain with synced blocks): store and read throughput of 1 MiB and
// 100 MiB blobs, and store and read latency of 1 KiB blobs (p50, p99).
// Each shape is measured once per run (-benchtime 1x is enough); the numbers
// are reported as metrics.
func BenchmarkLocalNetwork(b *testing.B) {
	ctx := context.Background()
	d, err := Start(ctx, Config{
		Dir: b.TempDir(), Nodes: 4, Shards: 100, EpochDuration: time.Hour,
		ChainAddr: "127.0.0.1:0", DaemonAddr: "off",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for _, sh := range []struct {
		name  string
		size  int
		count int
	}{
		{"1KiB", 1 << 10, 50},
		{"1MiB", 1 << 20, 10},
		{"100MiB", 100 << 20, 1},
	} {
		b.Run(fmt.Sprintf("blob=%s", sh.name), func(b *testing.B) {
			var res *client.BenchResult
			for i := range b.N {
				res, err = client.Bench(ctx, d.Client(), client.BenchConfig{Size: sh.size, Count: sh.count, Seed: uint64(i + 1)})
				if err != nil {
					b.Fatal(err)
				}
				if res.Store.Errors+res.Read.Errors > 0 {
					b.Fatalf("failures: store %s; read %s", res.Store.FirstError, res.Read.FirstError)
				}
			}
			b.ReportMetric(res.Store.Throughput/1e6, "store-MB/s")
			b.ReportMetric(res.Read.Throughput/1e6, "read-MB/s")
			b.ReportMetric(float64(res.Store.P50.Microseconds())/1000, "store-p50-ms")
			b.ReportMetric(float64(res.Store.P99.Microseconds())/1000, "store-p99-ms")
			b.ReportMetric(float64(res.Read.P50.Microseconds())/1000, "read-p50-ms")
			b.ReportMetric(float64(res.Read.P99.Microseconds())/1000, "read-p99-ms")
		})
	}
}
