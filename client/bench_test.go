package client_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network/nettest"
)

// BenchConfigEnv names a client config file (the one `walrus devnet`
// writes) whose default context BenchmarkStoreRead runs against. Without
// it, the benchmark runs against an in-process network of real parts.
const BenchConfigEnv = "WALRUS_BENCH_CONFIG"

// benchClient returns a client of the network to measure.
func benchClient(b *testing.B) *client.Client {
	path := os.Getenv(BenchConfigEnv)
	if path == "" {
		nw := nettest.New(b, nettest.Options{Shards: 100, Nodes: 10})
		return nettest.Client(b, nw)
	}
	cf, err := client.LoadConfig(path)
	if err != nil {
		b.Fatal(err)
	}
	cctx, _, err := cf.Context("")
	if err != nil {
		b.Fatal(err)
	}
	ch, err := local.NewClient(cctx.ChainURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ch.Close() })
	w, err := chain.LoadAccountKey(cctx.Wallet)
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(b.Context(), client.Config{Chain: ch, Signer: w, Logger: nettest.Logger(b, false)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkStoreRead measures stores and reads of 1 KiB and 1 MiB blobs,
// one at a time, and reports throughput and p50/p99 latencies. Each
// iteration stores and reads ops blobs.
//
//	go test -run '^$' -bench StoreRead -benchtime 1x ./client/
//	WALRUS_BENCH_CONFIG=.devnet/client.yaml go test -run '^$' -bench StoreRead -benchtime 1x ./client/
func BenchmarkStoreRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
		ops  int
	}{
		{"size=1KiB", 1 << 10, 50},
		{"size=1MiB", 1 << 20, 5},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := benchClient(b)
			b.ResetTimer()
			res, err := client.Bench(b.Context(), c, client.BenchConfig{Size: bc.size, Count: bc.ops * b.N, Seed: uint64(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			if res.Store.Errors+res.Read.Errors > 0 {
				b.Fatalf("store: %s; read: %s", res.Store.FirstError, res.Read.FirstError)
			}
			b.SetBytes(int64(2 * bc.size * bc.ops))
			b.ReportMetric(res.Store.Throughput/1e6, "store-MB/s")
			b.ReportMetric(res.Read.Throughput/1e6, "read-MB/s")
			b.ReportMetric(float64(res.Store.P50.Microseconds())/1e3, "store-p50-ms")
			b.ReportMetric(float64(res.Store.P99.Microseconds())/1e3, "store-p99-ms")
			b.ReportMetric(float64(res.Read.P50.Microseconds())/1e3, "read-p50-ms")
			b.ReportMetric(float64(res.Read.P99.Microseconds())/1e3, "read-p99-ms")
		})
	}
}

func TestBench(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	res, err := client.Bench(t.Context(), c, client.BenchConfig{Size: 500, Count: 4, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]client.OpStats{"store": res.Store, "read": res.Read} {
		if s.Count != 4 || s.Errors != 0 || s.Bytes != 2000 || s.P50 <= 0 || s.P99 < s.P50 || s.Max < s.P99 || s.Throughput <= 0 {
			t.Errorf("%s: %+v", name, s)
		}
	}
	if objs := objects(t, nw); len(objs) != 4 || certified(objs) != 4 {
		t.Fatalf("%d blobs registered, %d certified; want 4 distinct, certified", len(objs), certified(objs))
	}
	if s := fmt.Sprint(res.Store); s == "" {
		t.Fatal("empty String")
	}
}
