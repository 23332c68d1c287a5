package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/encoding"
)

const childDirEnv = "WALRUS_CHAIN_TEST_CHILD_DIR"

// restartNet is the network of the restart tests; parent and child derive
// it from the same seed.
func restartNet() *chaintest.Network { return chaintest.NewNetwork(42, 40, 30, 20, 10) }

// TestChainServerChild is the child process of TestRestartAfterKill: it
// serves a chain over HTTP until killed. It does nothing in a normal run.
func TestChainServerChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestRestartAfterKill")
	}
	c, err := Open(context.Background(), Config{Dir: dir, Genesis: genesisOf(restartNet())})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("ADDR", ln.Addr())
	Serve(context.Background(), ln, c, nil) // until SIGKILL
}

// startChild starts the chain server in a child process on dir.
func startChild(t *testing.T, dir string) (*exec.Cmd, *Client) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestChainServerChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ADDR ") || strings.HasPrefix(sc.Text(), "ERR ") {
				lines <- sc.Text()
				return
			}
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("child did not start")
	}
	addr, ok := strings.CutPrefix(line, "ADDR ")
	if !ok {
		t.Fatalf("child: %q", line)
	}
	cl, err := NewClient("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, cl
}

// workload runs transactions of most kinds through c.
func workload(t *testing.T, ctx context.Context, c chain.Chain, net *chaintest.Network, round byte) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user := chaintest.NewAccount(uint64(500 + int(round)))
	_, err := c.TransferWAL(ctx, net.Client, user.Address(), 100*chain.FrostPerWAL)
	must(err)
	com, err := c.Committee(ctx, 0)
	must(err)
	for i := range 3 {
		var root encoding.Hash
		root[0], root[1] = round, byte(i)
		id := encoding.ComputeBlobID(encoding.RS2, 1000, root)
		reg, err := c.RegisterBlob(ctx, user, chain.RegisterBlobArgs{
			BlobID: id, RootHash: root, Size: 1000, EncodingType: encoding.RS2, Epochs: 2, Deletable: i == 0,
		})
		must(err)
		msg := chain.BlobCertification{Epoch: com.Epoch, BlobID: id, Deletable: i == 0, ObjectID: reg.Blob.ID}.Message()
		sigs := map[int]chain.BLSSignature{}
		for j, m := range com.Members {
			for _, n := range net.Nodes {
				if n.Key.PublicKey() == m.PublicKey {
					sigs[j] = n.Key.Sign(msg)
				}
			}
		}
		cert, err := chain.NewCertificate(com, msg, sigs)
		must(err)
		_, err = c.CertifyBlob(ctx, user, reg.Blob.ID, cert)
		must(err)
		if i == 0 {
			_, err = c.DeleteBlob(ctx, user, reg.Blob.ID)
			must(err)
		}
	}
	nodes, err := c.Nodes(ctx)
	must(err)
	_, err = c.Stake(ctx, user, nodes[0].ID, 10*chain.FrostPerWAL)
	must(err)
	_, err = c.TransferWAL(ctx, user, net.Client.Address(), 1)
	must(err)
}

// TestRestartAfterKill kills the chain server with SIGKILL after a
// workload, reopens its directory and finds the same head, state root and
// event cursor, with every event readable.
func TestRestartAfterKill(t *testing.T) {
	if os.Getenv(childDirEnv) != "" {
		t.Skip("in the child")
	}
	ctx := t.Context()
	dir := t.TempDir()
	net := restartNet()
	cmd, cl := startChild(t, dir)
	workload(t, ctx, cl, net, 1)
	before, err := cl.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Cursor.Seq == 0 || before.Height == 0 {
		t.Fatalf("head before the kill: %+v", before)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	// Restart as a server again: same head, and it keeps working.
	cmd, cl = startChild(t, dir)
	after, err := cl.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.StateRoot != before.StateRoot || after.Cursor != before.Cursor || after.Hash != before.Hash || after.Height != before.Height {
		t.Fatalf("after restart: %+v, before %+v", after, before)
	}
	evs, err := cl.Events(ctx, chain.Cursor{}, MaxEventsPerPage, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != int(before.Cursor.Seq) || evs[len(evs)-1].Cursor != before.Cursor {
		t.Fatalf("%d events after restart, cursor %v", len(evs), before.Cursor)
	}
	workload(t, ctx, cl, net, 2)
	second, err := cl.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// Reopen in-process, replaying with signature checks.
	c, err := Open(ctx, Config{Dir: dir, VerifyReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := c.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.StateRoot != second.StateRoot || h.Cursor != second.Cursor || h.Height != second.Height {
		t.Fatalf("in-process reopen: %+v, want %+v", h, second)
	}
}

// TestReopen closes and reopens a chain: same state; a different genesis
// is refused; a corrupt block is found.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	net := restartNet()
	g := genesisOf(net)
	c, err := Open(ctx, Config{Dir: dir, Genesis: g, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	workload(t, ctx, c, net, 1)
	before, _ := c.Head(ctx)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SystemState(ctx); !errors.Is(err, chain.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
	if _, err := c.RequestWAL(ctx, net.Client, 1); !errors.Is(err, chain.ErrClosed) {
		t.Fatalf("transaction after Close: %v", err)
	}

	// Same genesis (time and seed left unset): accepted, same state.
	c, err = Open(ctx, Config{Dir: dir, Genesis: g})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := c.Head(ctx)
	c.Close()
	if after.StateRoot != before.StateRoot || after.Cursor != before.Cursor {
		t.Fatalf("reopened %+v, want %+v", after, before)
	}

	other := genesisOf(net)
	other.NShards = 20
	if _, err := Open(ctx, Config{Dir: dir, Genesis: other}); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Fatalf("other genesis: %v", err)
	}
	if _, err := Open(ctx, Config{Dir: t.TempDir()}); !errors.Is(err, ErrNoChain) {
		t.Fatalf("no chain and no genesis: %v", err)
	}

	// Corrupt block 1: its checksum no longer matches. Open starts from
	// the snapshot Close wrote and does not read it; VerifyReplay does.
	flipLastByte(t, dir, blockKey(1))
	c, err = Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatalf("open from the snapshot, with block 1 corrupt: %v", err)
	}
	c.Close()
	if _, err := Open(ctx, Config{Dir: dir, VerifyReplay: true}); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("verified replay over a corrupt block: %v", err)
	}
	// Corrupt the last block, the snapshot's: the snapshot cannot be
	// checked against it, so Open replays from the genesis and fails.
	flipLastByte(t, dir, blockKey(before.Height))
	if _, err := Open(ctx, Config{Dir: dir}); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("corrupt head block: %v", err)
	}
}

// flipLastByte corrupts the value of key in the chain database in dir.
func flipLastByte(t *testing.T, dir string, key []byte) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), v...)
	closer.Close()
	bad[len(bad)-1] ^= 1
	if err := db.Set(key, bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// TestPersistFailure makes the database refuse a block: the transaction
// fails, the chain stops (reads and transactions fail with ErrClosed) and
// reopening finds the state before the block.
func TestPersistFailure(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	net := restartNet()
	c, err := Open(ctx, Config{Dir: dir, Genesis: genesisOf(net), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.RequestWAL(ctx, net.Client, 5); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Head(ctx)
	c.mu.Lock()
	c.db.failWrites = errors.New("disk full")
	c.mu.Unlock()
	if _, err := c.RequestWAL(ctx, net.Client, 2); !errors.Is(err, chain.ErrUnavailable) {
		t.Fatalf("transaction whose block cannot be written: %v", err)
	}
	<-c.done
	if _, err := c.Balance(ctx, net.Client.Address()); !errors.Is(err, chain.ErrClosed) {
		t.Fatalf("read after the failure: %v", err)
	}
	if _, err := c.RequestWAL(ctx, net.Client, 2); !errors.Is(err, chain.ErrClosed) {
		t.Fatalf("transaction after the failure: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	after, _ := c.Head(ctx)
	if after.StateRoot != before.StateRoot {
		t.Fatal("reopened chain differs from the last written block")
	}
	if b, _ := c.Balance(ctx, net.Client.Address()); b != chaintest.ClientFunds+5 {
		t.Fatalf("balance %d", b)
	}
}
