package local

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/encoding"
)

// benchChain opens a chain on a real clock; sync says whether blocks are
// fsynced (to a directory on disk).
func benchChain(b *testing.B, sync bool) (*Chain, *chaintest.Network) {
	net := chaintest.NewNetwork(1, 40, 30, 20, 10)
	g := genesisOf(net)
	for i := range benchAccounts {
		g.Accounts = append(g.Accounts, GenesisAccount{Address: benchAccount(i).Address(), Balance: 1_000_000 * chain.FrostPerWAL})
	}
	dir := ""
	if sync {
		dir = b.TempDir()
	}
	c, err := Open(context.Background(), Config{Dir: dir, Genesis: g, NoSync: !sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, net
}

// benchAccounts are funded at the genesis of benchChain.
const benchAccounts = 256

func benchAccount(i int) *chain.AccountKey { return chaintest.NewAccount(uint64(1000 + i)) }

// BenchmarkTxThroughput submits transactions from parallel clients, each
// with its own account, and reports transactions per second.
func BenchmarkTxThroughput(b *testing.B) {
	for _, tc := range []struct {
		name string
		http bool
		sync bool
	}{
		{"inprocess/nosync", false, false},
		{"inprocess/fsync", false, true},
		{"http/nosync", true, false},
		{"http/fsync", true, true},
	} {
		for _, kind := range []string{"transfer", "register"} {
			b.Run(tc.name+"/tx="+kind, func(b *testing.B) {
				c, _ := benchChain(b, tc.sync)
				var ch chain.Chain = c
				if tc.http {
					srv := httptest.NewServer(NewHandler(c, nil))
					b.Cleanup(srv.Close)
					cl, err := NewClient(srv.URL)
					if err != nil {
						b.Fatal(err)
					}
					ch = cl
				}
				var next atomic.Uint64
				b.SetParallelism(16) // clients per core
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					ctx := context.Background()
					acct := benchAccount(int(next.Add(1)) % benchAccounts)
					i := 0
					for pb.Next() {
						i++
						var err error
						if kind == "transfer" {
							_, err = ch.TransferWAL(ctx, acct, chain.Address{1}, 1)
						} else {
							var root encoding.Hash
							copy(root[:], acct.Address().String())
							root[31], root[30] = byte(i), byte(i>>8)
							_, err = ch.RegisterBlob(ctx, acct, chain.RegisterBlobArgs{
								BlobID: encoding.ComputeBlobID(encoding.RS2, 1000, root), RootHash: root, Size: 1000,
								EncodingType: encoding.RS2, Epochs: 1,
							})
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			})
		}
	}
}

// BenchmarkEventLatency measures, over loopback HTTP, the time from
// submitting a transaction to a long-polling follower receiving its event:
// what a storage node waits for after a client registers a blob.
func BenchmarkEventLatency(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "nosync"
		if sync {
			name = "fsync"
		}
		b.Run(name, func(b *testing.B) {
			c, net := benchChain(b, sync)
			srv := httptest.NewServer(NewHandler(c, nil))
			b.Cleanup(srv.Close)
			cl, err := NewClient(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan time.Time, 1)
			go func() {
				var cur chain.Cursor
				for ctx.Err() == nil {
					evs, err := cl.Events(ctx, cur, 100, 10*time.Second)
					if err != nil {
						return
					}
					if len(evs) > 0 {
						cur = evs[len(evs)-1].Cursor
						got <- time.Now()
					}
				}
			}()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				var root encoding.Hash
				root[0], root[1], root[2] = byte(i), byte(i>>8), byte(i>>16)
				start := time.Now()
				if _, err := cl.RegisterBlob(ctx, net.Client, chain.RegisterBlobArgs{
					BlobID: encoding.ComputeBlobID(encoding.RS2, 10, root), RootHash: root, Size: 10,
					EncodingType: encoding.RS2, Epochs: 1,
				}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, (<-got).Sub(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
