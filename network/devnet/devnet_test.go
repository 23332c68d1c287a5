package devnet

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
)

func testConfig(t *testing.T, dir string) Config {
	return Config{
		Dir: dir, Nodes: 4, Shards: 10, EpochDuration: time.Hour,
		ChainAddr: "127.0.0.1:0", DaemonAddr: "off",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func randomBlob(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 9))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func storeAndRead(t *testing.T, ctx context.Context, c *client.Client, data []byte) *client.StoreResult {
	t.Helper()
	res, err := c.Store(ctx, data, client.StoreOptions{Epochs: 2})
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	var got bytes.Buffer
	if _, err := c.Read(ctx, res.BlobID(), &got, client.ReadOptions{}); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read %d bytes, differ from the %d stored", got.Len(), len(data))
	}
	return res
}

// TestDevnet stores and reads through the client, with a node down, and
// resumes the devnet from its folder with all data.
func TestDevnet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Start(ctx, testConfig(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Resumed {
		t.Fatal("a new devnet says it resumed")
	}
	for _, size := range []int{0, 1, 70_000} {
		storeAndRead(t, ctx, d.Client(), randomBlob(size, uint64(size)))
	}
	data := randomBlob(30_000, 7)
	res := storeAndRead(t, ctx, d.Client(), data)

	// One node of four down (at most f = 3 of 10 shards): reads still work.
	if err := d.StopNode(3); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := d.Client().Read(ctx, res.BlobID(), &got, client.ReadOptions{}); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read with a node down: %v", err)
	}
	if err := d.StartNode(ctx, 3); err != nil {
		t.Fatal(err)
	}

	// The client config names the devnet.
	cf, err := client.LoadConfig(filepath.Join(dir, "client.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cc, _, err := cf.Context("")
	if err != nil || cc.ChainURL != d.ChainURL || cc.Wallet != d.WalletPath {
		t.Fatalf("client config context %+v, %v", cc, err)
	}

	// Stop and resume on the same folder: the blob is still there.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := Start(ctx, testConfig(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if !d2.Resumed {
		t.Fatal("the devnet did not resume")
	}
	got.Reset()
	if _, err := d2.Client().Read(ctx, res.BlobID(), &got, client.ReadOptions{}); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read after resuming: %v", err)
	}
	// A conflicting shape is refused, naming the folder.
	bad := testConfig(t, dir)
	bad.Shards = 20
	if _, err := Start(ctx, bad); !errors.Is(err, ErrConfig) {
		t.Fatalf("resume with another shard count: err = %v, want ErrConfig", err)
	}
}

// TestDevnetSavedPortTaken: a devnet whose saved chain port another
// process holds is refused before anything starts, naming the port, the
// file it is saved in and the flag that moves it; with the flag it resumes.
func TestDevnetSavedPortTaken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(d.ChainURL, "http://")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	saved := testConfig(t, dir)
	saved.ChainAddr = "" // the saved one
	_, err = Start(ctx, saved)
	for _, want := range []string{"chain API address " + addr, "saved in " + filepath.Join(dir, stateFile), "--chain-addr", "address already in use"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("resume with the chain port taken: %v; want it to say %q", err, want)
		}
	}
	moved := testConfig(t, dir)
	moved.ChainAddr = "127.0.0.1:0"
	d2, err := Start(ctx, moved)
	if err != nil {
		t.Fatalf("resume with --chain-addr: %v", err)
	}
	defer d2.Close()
	if !d2.Resumed || d2.ChainURL == "http://"+addr {
		t.Fatalf("resumed %v at %s", d2.Resumed, d2.ChainURL)
	}
}
