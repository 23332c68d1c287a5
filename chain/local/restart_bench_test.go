package local

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/encoding"
)

// restartTxsEnv names the number of transactions TestRestartTime runs
// before it measures a restart; unset, the test is skipped.
const restartTxsEnv = "WALRUS_CHAIN_RESTART_TXS"

// TestRestartTime fills a chain on disk with $WALRUS_CHAIN_RESTART_TXS
// transactions (half transfers, half blob registrations, from 64 parallel
// senders), closes it, and reports how long Open takes.
//
//	WALRUS_CHAIN_RESTART_TXS=100000 go test -run TestRestartTime -v ./chain/local
func TestRestartTime(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(restartTxsEnv))
	if n <= 0 {
		t.Skip("set " + restartTxsEnv + " to run")
	}
	ctx := context.Background()
	dir := t.TempDir()
	net := chaintest.NewNetwork(1, 40, 30, 20, 10)
	g := genesisOf(net)
	const senders = 64
	accts := make([]*chain.AccountKey, senders)
	for i := range accts {
		accts[i] = chaintest.NewAccount(uint64(10_000 + i))
		g.Accounts = append(g.Accounts, GenesisAccount{Address: accts[i].Address(), Balance: 1_000_000 * chain.FrostPerWAL})
	}
	c, err := Open(ctx, Config{Dir: dir, Genesis: g, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := accts[i]
			for {
				k := next.Add(1)
				if k > int64(n) {
					return
				}
				var err error
				if k%2 == 0 {
					_, err = c.TransferWAL(ctx, a, chain.Address{1}, 1)
				} else {
					var root encoding.Hash
					copy(root[:], fmt.Sprint(k))
					_, err = c.RegisterBlob(ctx, a, chain.RegisterBlobArgs{
						BlobID: encoding.ComputeBlobID(encoding.RS2, 1000, root), RootHash: root, Size: 1000,
						EncodingType: encoding.RS2, Epochs: 2,
					})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	fill := time.Since(start)
	head, _ := c.Head(ctx)
	t.Logf("%d transactions in %d blocks, filled in %v", n, head.Height, fill.Round(time.Millisecond))
	// First as after a crash (the last periodic snapshot), then after
	// Close (a snapshot of the head), then replaying everything.
	c.noCloseSnapshot = true
	c.Close()
	for _, tc := range []struct {
		name   string
		cfg    Config
		unsafe bool
	}{
		{"after a crash", Config{Dir: dir, NoSync: true}, false},
		{"after Close", Config{Dir: dir, NoSync: true}, true},
		{"from the genesis (VerifyReplay)", Config{Dir: dir, NoSync: true, VerifyReplay: true}, true},
	} {
		start = time.Now()
		c, err = Open(ctx, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		after, _ := c.Head(ctx)
		t.Logf("Open %s: %v, %d blocks replayed", tc.name, took.Round(time.Millisecond), c.replayed)
		c.Close()
		if after.StateRoot != head.StateRoot {
			t.Fatal("reopened to another state")
		}
	}
}
