package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/client/daemon"
	"github.com/walrus-go/walrus/encoding"
)

// benchLargeEnv, set to 1, adds the 140 MB shapes to BenchmarkLocalNetwork
// (a 140 MB store takes tens of seconds on two cores).
const benchLargeEnv = "WALRUS_BENCH_LARGE"

// largeSize is the large blob of the benchmarks: near the largest blob of
// n = 100 (149 MB).
const largeSize = 140_000_000

// BenchmarkLocalNetwork measures the local network as `walrus devnet` runs
// it (4 storage nodes, n = 100, all in this process on loopback libp2p, the
// embedded chain with synced blocks), through the client library and
// through the HTTP daemon: store and read throughput of 1 MiB, 64 MiB (and,
// with WALRUS_BENCH_LARGE=1, 140 MB) blobs, store and read latency of
// 1 KiB blobs (p50, p99); and of the largest blob (64 MiB, or 140 MB), the
// time to the first byte of a GET, the time and sliver bytes of a 1 MB
// range read, and the peak heap of the process (nodes and daemon) during a
// GET. Each shape is measured once per run (-benchtime 1x is enough); the
// numbers are reported as metrics.
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
	dm, err := daemon.New(daemon.Config{Client: d.Client(), Logger: slog.New(slog.DiscardHandler), MaxBodySize: 160 << 20})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(dm.Handler())
	defer srv.Close()
	defer dm.Close()

	shapes := []struct {
		name  string
		size  int
		count int
	}{
		{"1KiB", 1 << 10, 50},
		{"1MiB", 1 << 20, 10},
		{"64MiB", 64 << 20, 1},
	}
	large := 64 << 20
	if os.Getenv(benchLargeEnv) == "1" {
		shapes = append(shapes, struct {
			name  string
			size  int
			count int
		}{"140MB", largeSize, 1})
		large = largeSize
	}
	for _, sh := range shapes {
		b.Run(fmt.Sprintf("client/blob=%s", sh.name), func(b *testing.B) {
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
			reportOps(b, res.Store, res.Read)
		})
	}
	for _, sh := range shapes {
		b.Run(fmt.Sprintf("http/blob=%s", sh.name), func(b *testing.B) {
			var st, rd client.OpStats
			for i := range b.N {
				st, rd = httpBench(b, srv.URL, sh.size, sh.count, uint64(1000+i))
			}
			reportOps(b, st, rd)
		})
	}

	// The largest blob: time to first byte, a 1 MB range, peak memory.
	// Stored by the first of these sub-benchmarks that runs.
	var blob []byte
	var id encoding.BlobID
	stored := func(b *testing.B) {
		if blob == nil {
			blob = benchBlob(large, 77)
			id = httpStore(b, srv.URL, blob)
		}
	}
	name := fmt.Sprintf("blob=%dMB", large/1_000_000)
	b.Run("http-ttfb/"+name, func(b *testing.B) {
		stored(b)
		var first, all time.Duration
		for range b.N {
			first, all = httpGet(b, srv.URL+"/v1/blobs/"+id.String(), int64(len(blob)))
		}
		b.ReportMetric(float64(first.Microseconds())/1000, "first-byte-ms")
		b.ReportMetric(float64(all.Microseconds())/1000, "whole-ms")
		b.ReportMetric(float64(len(blob))/all.Seconds()/1e6, "read-MB/s")
	})
	b.Run("range-1MB/"+name, func(b *testing.B) {
		stored(b)
		start := int64(len(blob) / 2)
		var whole, part time.Duration
		var fetched int64
		for range b.N {
			o, err := d.Client().Open(ctx, id, client.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			var buf bytes.Buffer
			if _, err := o.StreamRange(ctx, &buf, start, 1_000_000); err != nil || !bytes.Equal(buf.Bytes(), blob[start:start+1_000_000]) {
				b.Fatalf("range read: %v", err)
			}
			part = time.Since(t0)
			fetched = o.FetchedBytes()
			t0 = time.Now()
			if _, err := o.Stream(ctx, io.Discard); err != nil {
				b.Fatal(err)
			}
			whole = time.Since(t0)
		}
		_, httpRange := httpGet(b, fmt.Sprintf("%s/v1/blobs/%s/byte-range?start=%d&length=1000000", srv.URL, id, start), 1_000_000)
		b.ReportMetric(float64(part.Microseconds())/1000, "range-ms")
		b.ReportMetric(float64(httpRange.Microseconds())/1000, "http-range-ms")
		b.ReportMetric(float64(whole.Microseconds())/1000, "whole-ms")
		b.ReportMetric(float64(fetched)/1e6, "range-fetched-MB")
		b.ReportMetric(float64(len(blob))/1e6, "blob-MB")
	})
	b.Run("http-get-peak-heap/"+name, func(b *testing.B) {
		stored(b)
		var peak uint64
		for range b.N {
			peak = peakHeap(func() { httpGet(b, srv.URL+"/v1/blobs/"+id.String(), int64(len(blob))) })
		}
		b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
		b.ReportMetric(float64(len(blob))/1e6, "blob-MB")
	})
	// The publisher: the body is read once into one buffer and encoded; the
	// peak also holds the nodes' intake of this process.
	b.Run("http-put-peak-heap/"+name, func(b *testing.B) {
		var peak uint64
		for i := range b.N {
			body := benchBlob(large, uint64(500+i))
			peak = peakHeap(func() { httpStore(b, srv.URL, body) })
		}
		b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
		b.ReportMetric(float64(large)/1e6, "blob-MB")
	})
}

// peakHeap runs fn and returns the most heap in use while it ran, above
// what was in use before it (after a GC), sampled every 5 ms.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var top atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > top.Load() {
				top.Store(m.HeapInuse)
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return top.Load() - min(base, top.Load())
}

func reportOps(b *testing.B, st, rd client.OpStats) {
	b.ReportMetric(st.Throughput/1e6, "store-MB/s")
	b.ReportMetric(rd.Throughput/1e6, "read-MB/s")
	b.ReportMetric(float64(st.P50.Microseconds())/1000, "store-p50-ms")
	b.ReportMetric(float64(st.P99.Microseconds())/1000, "store-p99-ms")
	b.ReportMetric(float64(rd.P50.Microseconds())/1000, "read-p50-ms")
	b.ReportMetric(float64(rd.P99.Microseconds())/1000, "read-p99-ms")
}

// benchBlob returns size pseudo-random bytes.
func benchBlob(size int, seed uint64) []byte {
	out := make([]byte, size)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := 0; i+8 <= size; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for k := range 8 {
			out[i+k] = byte(x >> (8 * k))
		}
	}
	return out
}

// httpStore stores blob through PUT /v1/blobs and returns its ID.
func httpStore(b *testing.B, url string, blob []byte) encoding.BlobID {
	req, err := http.NewRequest(http.MethodPut, url+"/v1/blobs?epochs=1&deletable=true", bytes.NewReader(blob))
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	var res client.StoreResult
	if err := json.Unmarshal(body, &res); err != nil {
		b.Fatal(err)
	}
	return res.BlobID()
}

// httpGet reads url to its end and returns the time to its first body
// byte and to its last.
func httpGet(b *testing.B, url string, want int64) (first, all time.Duration) {
	t0 := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		b.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
		b.Fatal(err)
	}
	first = time.Since(t0)
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n+1 != want {
		b.Fatalf("GET %s: %d bytes, %v; want %d", url, n+1, err, want)
	}
	return first, time.Since(t0)
}

// httpBench stores count blobs of size through the daemon, then reads each
// back, one at a time.
func httpBench(b *testing.B, url string, size, count int, seed uint64) (store, read client.OpStats) {
	ids := make([]encoding.BlobID, count)
	var sl, rl []time.Duration
	t0 := time.Now()
	for i := range count {
		blob := benchBlob(size, seed*1000+uint64(i))
		s := time.Now()
		ids[i] = httpStore(b, url, blob)
		sl = append(sl, time.Since(s))
	}
	store = opStats(sl, time.Since(t0), int64(size)*int64(count))
	t0 = time.Now()
	for _, id := range ids {
		s := time.Now()
		httpGet(b, url+"/v1/blobs/"+id.String(), int64(size))
		rl = append(rl, time.Since(s))
	}
	read = opStats(rl, time.Since(t0), int64(size)*int64(count))
	return store, read
}

func opStats(lat []time.Duration, wall time.Duration, bytes int64) client.OpStats {
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return client.OpStats{Count: len(lat), Bytes: bytes, Wall: wall, Throughput: float64(bytes) / wall.Seconds(),
		OpsPerSec: float64(len(lat)) / wall.Seconds(), P50: pct(0.5), P99: pct(0.99), Max: lat[len(lat)-1]}
}
