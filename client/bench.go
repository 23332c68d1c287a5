package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/walrus-go/walrus/encoding"
)

// BenchConfig configures Bench.
type BenchConfig struct {
	// Size is the size of each blob (default 1 KiB).
	Size int
	// Count is the number of blobs stored, and then read (default 100).
	Count int
	// Concurrency is how many stores (and reads) run at once (default 1:
	// latencies without queueing).
	Concurrency int
	// Epochs the blobs are stored for (default 1). They are deletable, so
	// that runs never de-duplicate.
	Epochs uint32
	// SkipReads measures stores only.
	SkipReads bool
	// Seed makes the blobs' bytes; each blob differs.
	Seed uint64
}

// OpStats are the measurements of one kind of operation.
type OpStats struct {
	Count  int           `json:"count"`
	Errors int           `json:"errors"`
	Bytes  int64         `json:"bytes"`
	Wall   time.Duration `json:"wallNs"`
	// Throughput is unencoded bytes per second over the wall time.
	Throughput float64       `json:"bytesPerSecond"`
	OpsPerSec  float64       `json:"opsPerSecond"`
	P50        time.Duration `json:"p50Ns"`
	P99        time.Duration `json:"p99Ns"`
	Max        time.Duration `json:"maxNs"`
	// FirstError is the first failure, if any.
	FirstError string `json:"firstError,omitempty"`
}

func (s OpStats) String() string {
	return fmt.Sprintf("%d ops (%d errors), %.2f MB/s, %.1f ops/s, p50 %v, p99 %v, max %v",
		s.Count, s.Errors, s.Throughput/1e6, s.OpsPerSec, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Max.Round(time.Microsecond))
}

// BenchResult is what Bench measured.
type BenchResult struct {
	Config BenchConfig `json:"config"`
	Store  OpStats     `json:"store"`
	Read   OpStats     `json:"read"`
}

// Bench stores cfg.Count distinct blobs of cfg.Size bytes through c,
// cfg.Concurrency at a time, then reads each back and checks its bytes, and
// reports throughput and latency percentiles of both. It pays for the
// stores with c's wallet. It returns an error only when it cannot run at
// all; failed operations are counted in the result.
func Bench(ctx context.Context, c *Client, cfg BenchConfig) (*BenchResult, error) {
	if cfg.Size <= 0 {
		cfg.Size = 1 << 10
	}
	if cfg.Count <= 0 {
		cfg.Count = 100
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Epochs == 0 {
		cfg.Epochs = 1
	}
	if c.signer == nil {
		return nil, ErrNoWallet
	}
	blob := func(i int) []byte {
		b := make([]byte, cfg.Size)
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		for k := 0; k+8 <= len(b); k += 8 {
			binary.LittleEndian.PutUint64(b[k:], rng.Uint64())
		}
		for k := len(b) &^ 7; k < len(b); k++ {
			b[k] = byte(rng.Uint32())
		}
		return b
	}
	res := &BenchResult{Config: cfg}
	ids := make([]encoding.BlobID, cfg.Count)
	stored := make([]bool, cfg.Count)
	res.Store = runOps(ctx, cfg.Count, cfg.Concurrency, int64(cfg.Size), func(ctx context.Context, i int) error {
		r, err := c.Store(ctx, blob(i), StoreOptions{Epochs: cfg.Epochs, Deletable: true})
		if err == nil {
			ids[i], stored[i] = r.BlobID(), true
		}
		return err
	})
	if cfg.SkipReads {
		return res, ctx.Err()
	}
	res.Read = runOps(ctx, cfg.Count, cfg.Concurrency, int64(cfg.Size), func(ctx context.Context, i int) error {
		if !stored[i] {
			return errors.New("not stored")
		}
		got, err := c.ReadBlob(ctx, ids[i], ReadOptions{})
		if err != nil {
			return err
		}
		if !slices.Equal(got, blob(i)) {
			return fmt.Errorf("blob %s read back different bytes", ids[i])
		}
		return nil
	})
	return res, ctx.Err()
}

// runOps runs op for 0..count-1, conc at a time, and measures it.
func runOps(ctx context.Context, count, conc int, size int64, op func(context.Context, int) error) OpStats {
	lat := make([]time.Duration, count)
	errs := make([]error, count)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				errs[i] = op(ctx, i)
				lat[i] = time.Since(t)
			}
		}()
	}
	for i := 0; i < count && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	st := OpStats{Count: count, Wall: time.Since(start)}
	var ok []time.Duration
	for i, err := range errs {
		if err != nil {
			st.Errors++
			if st.FirstError == "" {
				st.FirstError = err.Error()
			}
			continue
		}
		ok = append(ok, lat[i])
		st.Bytes += size
	}
	if len(ok) > 0 {
		slices.Sort(ok)
		st.P50 = ok[len(ok)*50/100]
		st.P99 = ok[min(len(ok)-1, len(ok)*99/100)]
		st.Max = ok[len(ok)-1]
	}
	if secs := st.Wall.Seconds(); secs > 0 {
		st.Throughput = float64(st.Bytes) / secs
		st.OpsPerSec = float64(len(ok)) / secs
	}
	return st
}
