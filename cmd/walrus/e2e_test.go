package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/node"
)

// The end-to-end tests run the walrus binary as separate processes: the
// chain (walrus chain serve), four storage nodes (walrus node run) and the
// publisher/aggregator (walrus daemon), and drive them with the CLI and
// HTTP, as a user would. -short skips them; WALRUS_E2E_LONG=1 (make e2e)
// adds a 100 MiB blob on a network of n = 100.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// walrusBinary builds the binary once per test run, with the race detector
// when the tests have it (so that the build reuses their compiled packages).
func walrusBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "walrus-e2e-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "walrus")
		args := []string{"build", "-o", binPath}
		if raceEnabled && os.Getenv("WALRUS_E2E_LONG") == "" {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// procNetwork is a running multi-process network.
type procNetwork struct {
	t         *testing.T
	bin       string
	dir       string
	env       []string
	chainURL  string
	daemonURL string
	procs     map[string]*exec.Cmd
	nodeCfgs  []string
	mu        sync.Mutex
}

// freeAddr returns a loopback address free now, for a process started
// later. Its port lies below the kernel's ephemeral range: a port from
// that range, freed again, was taken by an outgoing connection of the
// tests running beside this one before the node bound it ("address already
// in use", TestE2EShardSync under make test).
func freeAddr(t *testing.T) string {
	t.Helper()
	lo, hi := freePortRange()
	for range 1000 {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo+mrand.IntN(hi-lo)))
		if err != nil {
			continue // taken
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	t.Fatalf("no free port in [%d, %d)", lo, hi)
	return ""
}

// freePortRange is where freeAddr looks: from 10000 to the start of the
// ephemeral range (/proc/sys/net/ipv4/ip_local_port_range; 32768 if it
// cannot be read or leaves too little room).
func freePortRange() (lo, hi int) {
	lo, hi = 10000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var start, end int
		if _, err := fmt.Sscan(string(b), &start, &end); err == nil && start > lo+5000 {
			hi = start
		}
	}
	return lo, hi
}

// startNetwork creates and starts a network of nodes storage nodes and
// nShards shards with the given epoch length.
func startNetwork(t *testing.T, nodes, nShards int, epoch time.Duration, daemonFlags ...string) *procNetwork {
	t.Helper()
	nw := &procNetwork{t: t, bin: walrusBinary(t), dir: t.TempDir(), procs: make(map[string]*exec.Cmd)}
	chainAddr := freeAddr(t)
	nw.chainURL = "http://" + chainAddr

	// Node folders and keys, made by the CLI.
	wallet, err := chain.GenerateAccountKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	walletPath := filepath.Join(nw.dir, "wallet.key")
	if err := chain.SaveAccountKey(walletPath, wallet); err != nil {
		t.Fatal(err)
	}
	g := &local.Genesis{
		NShards: nShards, EpochDuration: local.Duration(epoch),
		Accounts: []local.GenesisAccount{{Address: wallet.Address(), Balance: 1_000_000 * chain.FrostPerWAL}},
	}
	for i := range nodes {
		dir := filepath.Join(nw.dir, fmt.Sprintf("node-%d", i))
		nw.run("node", "init", "--dir", dir, "--name", fmt.Sprintf("e2e-%d", i),
			"--listen", "/ip4/"+freeAddrTCP(t), "--admin-addr", freeAddr(t), "--chain-url", nw.chainURL)
		cfgPath := filepath.Join(dir, "node.yaml")
		cfg, err := node.LoadConfig(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := node.LoadOrCreateKeys(cfg)
		if err != nil {
			t.Fatal(err)
		}
		gn, err := local.NewGenesisNode(keys.Account.Address(), keys.Protocol, keys.Network, cfg.Name, keys.PeerID, cfg.ListenAddrs, 1000*chain.FrostPerWAL)
		if err != nil {
			t.Fatal(err)
		}
		g.Nodes = append(g.Nodes, gn)
		nw.nodeCfgs = append(nw.nodeCfgs, cfgPath)
	}
	genesis := filepath.Join(nw.dir, "genesis.yaml")
	if err := local.SaveGenesis(genesis, g); err != nil {
		t.Fatal(err)
	}

	nw.start("chain", "chain", "serve", "--dir", filepath.Join(nw.dir, "chain"), "--addr", chainAddr, "--genesis", genesis)
	nw.waitHTTP(nw.chainURL + "/v1/system")
	for i := range nodes {
		nw.startNode(i)
	}
	daemonAddr := freeAddr(t)
	nw.daemonURL = "http://" + daemonAddr
	clientCfg := filepath.Join(nw.dir, "client.yaml")
	if err := client.WriteConfig(clientCfg, &client.ConfigFile{DefaultContext: "e2e", Contexts: map[string]client.ClientContext{
		"e2e": {Config: backend.Config{ChainURL: nw.chainURL}, Wallet: walletPath, DaemonURL: nw.daemonURL},
	}}); err != nil {
		t.Fatal(err)
	}
	nw.env = []string{client.ConfigEnv + "=" + clientCfg}
	nw.start("daemon", append([]string{"daemon", "--bind-address", daemonAddr, "--metrics-address", "off"}, daemonFlags...)...)
	nw.waitHTTP(nw.daemonURL + "/status")
	return nw
}

// freeAddrTCP returns "127.0.0.1/tcp/PORT".
func freeAddrTCP(t *testing.T) string {
	host, port, _ := net.SplitHostPort(freeAddr(t))
	return host + "/tcp/" + port
}

func (nw *procNetwork) startNode(i int) {
	nw.t.Helper()
	name := fmt.Sprintf("node-%d", i)
	nw.start(name, "node", "run", "--config", nw.nodeCfgs[i], "--log-level", "warn")
	cfg, err := node.LoadConfig(nw.nodeCfgs[i])
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.waitHTTP("http://" + cfg.AdminAddr + "/health")
}

// start runs a long-lived walrus process; it is stopped at the end of the
// test (SIGINT, then SIGKILL after 10 s).
func (nw *procNetwork) start(name string, args ...string) {
	nw.t.Helper()
	cmd := exec.Command(nw.bin, args...)
	cmd.Env = append(os.Environ(), nw.env...)
	logf, err := os.Create(filepath.Join(nw.dir, name+".log"))
	if err != nil {
		nw.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		nw.t.Fatal(err)
	}
	nw.mu.Lock()
	nw.procs[name] = cmd
	nw.mu.Unlock()
	nw.t.Cleanup(func() {
		nw.stop(name, os.Interrupt)
		logf.Close()
		if nw.t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			nw.t.Logf("--- %s log (tail):\n%s", name, tail(b, 3000))
		}
	})
}

// stop signals a process and waits for it; a process still running after
// 10 s is killed.
func (nw *procNetwork) stop(name string, sig os.Signal) error {
	nw.mu.Lock()
	cmd := nw.procs[name]
	delete(nw.procs, name)
	nw.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within 10 s of %v", name, sig)
	}
}

// tail is the last n bytes of a process's log, or, when the race detector
// reported in it, everything from its first report on (up to maxRaceLog
// bytes): a report's head names the racing accesses.
func tail(b []byte, n int) string {
	const maxRaceLog = 128 << 10
	if i := bytes.Index(b, []byte("WARNING: DATA RACE")); i >= 0 {
		b = b[i:]
		n = maxRaceLog
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func (nw *procNetwork) waitHTTP(url string) {
	nw.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		if time.Now().After(deadline) {
			nw.t.Fatalf("%s does not answer: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs a CLI command to completion and returns its stdout; it fails the
// test on a non-zero exit.
func (nw *procNetwork) run(args ...string) string {
	nw.t.Helper()
	out, errOut, err := nw.try(args...)
	if err != nil {
		nw.t.Fatalf("walrus %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// try runs a CLI command and returns stdout, stderr and the exit error.
func (nw *procNetwork) try(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nw.bin, args...)
	cmd.Env = append(os.Environ(), nw.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// storeCLI stores a file with the CLI and returns its blob ID and the JSON
// result.
func (nw *procNetwork) storeCLI(path string, args ...string) (string, map[string]any) {
	nw.t.Helper()
	out := nw.run(append([]string{"store", path, "--json"}, args...)...)
	var res []map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		nw.t.Fatalf("store --json printed %q: %v", out, err)
	}
	return blobIDOf(nw.t, res[0]), res[0]
}

// blobIDOf finds the blob ID in a store result (CLI or HTTP).
func blobIDOf(t *testing.T, r map[string]any) string {
	t.Helper()
	if v, ok := r["blobStoreResult"].(map[string]any); ok {
		r = v
	}
	if nc, ok := r["newlyCreated"].(map[string]any); ok {
		return nc["blobObject"].(map[string]any)["blobId"].(string)
	}
	if ac, ok := r["alreadyCertified"].(map[string]any); ok {
		return ac["blobId"].(string)
	}
	t.Fatalf("no blob ID in %v", r)
	return ""
}

func e2eBlob(size int, seed uint64) []byte {
	b := make([]byte, size)
	r := mrand.New(mrand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func writeFile(t *testing.T, dir string, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "blob-*.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

func httpDo(t *testing.T, method, url string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// epoch returns the chain's current epoch.
func (nw *procNetwork) epoch() uint32 {
	nw.t.Helper()
	c, err := local.NewClient(nw.chainURL)
	if err != nil {
		nw.t.Fatal(err)
	}
	defer c.Close()
	st, err := c.SystemState(context.Background())
	if err != nil {
		nw.t.Fatal(err)
	}
	return st.Epoch
}

// status returns the chain's status of a blob through walrus blob-status.
func (nw *procNetwork) status(id string) chain.BlobStatus {
	nw.t.Helper()
	out := nw.run("blob-status", "--blob-id", id, "--json")
	st, err := parseWalrusBlobStatus([]byte(out))
	if err != nil {
		nw.t.Fatalf("blob-status --json printed %q: %v", out, err)
	}
	return st
}

// parseWalrusBlobStatus reads the status of `walrus blob-status --json`
// (Walrus's BlobStatusOutput) back into a chain.BlobStatus.
func parseWalrusBlobStatus(b []byte) (chain.BlobStatus, error) {
	var out struct {
		Status json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return chain.BlobStatus{}, err
	}
	var kind chain.BlobStatusKind
	if json.Unmarshal(out.Status, &kind) == nil {
		return chain.BlobStatus{Kind: kind}, nil
	}
	var m map[string]struct {
		EndEpoch              uint32  `json:"endEpoch"`
		IsCertified           bool    `json:"isCertified"`
		InitialCertifiedEpoch *uint32 `json:"initialCertifiedEpoch"`
		DeletableCounts       struct {
			Total     uint32 `json:"countDeletableTotal"`
			Certified uint32 `json:"countDeletableCertified"`
		} `json:"deletableCounts"`
	}
	if err := json.Unmarshal(out.Status, &m); err != nil || len(m) != 1 {
		return chain.BlobStatus{}, fmt.Errorf("status %s: not one of Walrus's: %v", out.Status, err)
	}
	for k, v := range m {
		if err := kind.UnmarshalText([]byte(k)); err != nil {
			return chain.BlobStatus{}, err
		}
		return chain.BlobStatus{Kind: kind, EndEpoch: v.EndEpoch, IsCertified: v.IsCertified,
			InitialCertifiedEpoch: v.InitialCertifiedEpoch, Deletable: chain.DeletableCounts{Registered: v.DeletableCounts.Total, Certified: v.DeletableCounts.Certified}}, nil
	}
	panic("unreachable")
}

// blobObjects returns the IDs of the wallet's blob objects, expired ones
// included.
func (nw *procNetwork) blobObjects() map[string]bool {
	nw.t.Helper()
	var objs []struct {
		ID string `json:"id"`
	}
	out := nw.run("list-blobs", "--include-expired", "--json")
	if err := json.Unmarshal([]byte(out), &objs); err != nil {
		nw.t.Fatalf("list-blobs --json printed %q: %v", out, err)
	}
	ids := make(map[string]bool)
	for _, o := range objs {
		ids[o.ID] = true
	}
	return ids
}

// TestE2E runs the whole system as separate processes.
func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with real processes")
	}
	nw := startNetwork(t, 4, 20, 8*time.Second, "--max-body-size", "2048")
	files := t.TempDir()

	t.Run("store and read through CLI and HTTP", func(t *testing.T) {
		for _, size := range []int{0, 1, 1 << 20} {
			data := e2eBlob(size, uint64(size)+1)
			path := writeFile(t, files, data)
			id, _ := nw.storeCLI(path, "--epochs", "5")
			out := filepath.Join(files, "out-"+id)
			nw.run("read", id, "--out", out)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
				t.Fatalf("CLI read of %d bytes differs", size)
			}
			resp, body := httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/"+id, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, data) {
				t.Fatalf("HTTP read of %d bytes: status %d, %d bytes", size, resp.StatusCode, len(body))
			}
			// And the other way round: HTTP store, CLI read.
			other := e2eBlob(size, uint64(size)+2)
			resp, body = httpDo(t, http.MethodPut, nw.daemonURL+"/v1/blobs?epochs=5", bytes.NewReader(other))
			if resp.StatusCode != 200 {
				t.Fatalf("HTTP store of %d bytes: %d %s", size, resp.StatusCode, body)
			}
			var res map[string]any
			json.Unmarshal(body, &res)
			id2 := blobIDOf(t, res)
			nw.run("read", id2, "--out", out)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, other) {
				t.Fatalf("CLI read of an HTTP store of %d bytes differs", size)
			}
		}
	})

	t.Run("range reads", func(t *testing.T) {
		data := e2eBlob(5000, 9)
		id, _ := nw.storeCLI(writeFile(t, files, data), "--epochs", "5")
		resp, body := httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/"+id, nil, "Range", "bytes=100-199")
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100:200]) || resp.Header.Get("Content-Range") != "bytes 100-199/5000" {
			t.Fatalf("range read: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
		}
		resp, _ = httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/"+id, nil, "Range", "bytes=6000-7000")
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("range past the end: status %d, want 416", resp.StatusCode)
		}
	})

	t.Run("de-duplication", func(t *testing.T) {
		path := writeFile(t, files, e2eBlob(3000, 10))
		_, first := nw.storeCLI(path, "--permanent", "--epochs", "3")
		// One epoch from now ends before the first store's end, whatever
		// epoch changes happened in between: nothing to pay for.
		_, second := nw.storeCLI(path, "--permanent", "--epochs", "1")
		if first["blobStoreResult"].(map[string]any)["newlyCreated"] == nil || second["blobStoreResult"].(map[string]any)["alreadyCertified"] == nil {
			t.Fatalf("storing twice: %v then %v; want newlyCreated then alreadyCertified", first, second)
		}
	})

	t.Run("deletion", func(t *testing.T) {
		data := e2eBlob(2000, 11)
		id, _ := nw.storeCLI(writeFile(t, files, data), "--deletable", "--epochs", "5")
		nw.run("delete", "--blob-id", id, "--yes")
		if st := nw.status(id); st.Kind != chain.BlobNonexistent {
			t.Fatalf("blob-status after deletion: %+v", st)
		}
		resp, _ := httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/"+id, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("read after deletion: status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("bad HTTP input", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path string
			body               []byte
			want               int
		}{
			{"malformed blob ID", http.MethodGet, "/v1/blobs/not-a-blob-id", nil, 400},
			{"unknown blob", http.MethodGet, "/v1/blobs/" + encodingBlobID(0x42), nil, 404},
			{"body over the limit", http.MethodPut, "/v1/blobs", make([]byte, 2048<<10+1), 413},
			{"unknown query parameter", http.MethodPut, "/v1/blobs?epochz=2", []byte("x"), 400},
			{"permanent and deletable", http.MethodPut, "/v1/blobs?permanent=true&deletable=true", []byte("x"), 400},
			{"zero epochs", http.MethodPut, "/v1/blobs?epochs=0", []byte("x"), 400},
		} {
			resp, body := httpDo(t, tc.method, nw.daemonURL+tc.path, bytes.NewReader(tc.body))
			var e struct {
				Error struct {
					Code    int    `json:"code"`
					Status  string `json:"status"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if resp.StatusCode != tc.want || json.Unmarshal(body, &e) != nil || e.Error.Code != tc.want || e.Error.Message == "" {
				t.Errorf("%s: %d %s; want %d with a Walrus error body", tc.name, resp.StatusCode, body, tc.want)
			}
		}
	})

	t.Run("quilts and attributes", func(t *testing.T) { quiltE2E(t, nw, files) })

	t.Run("client disconnects mid-upload", func(t *testing.T) {
		before := nw.blobObjects()
		conn, err := net.Dial("tcp", strings.TrimPrefix(nw.daemonURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT /v1/blobs?epochs=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
		conn.Write(make([]byte, 40000))
		conn.Close()
		time.Sleep(2 * time.Second)
		// Blobs may expire meanwhile (epochs are short); none may appear.
		for id := range nw.blobObjects() {
			if !before[id] {
				t.Fatalf("an aborted upload left blob object %s", id)
			}
		}
	})

	t.Run("read with a node killed, then restarted; graceful stop", func(t *testing.T) {
		data := e2eBlob(50_000, 12)
		id, _ := nw.storeCLI(writeFile(t, files, data), "--epochs", "5")
		if err := nw.stop("node-1", os.Kill); err == nil {
			t.Fatal("kill -9 did not kill node-1")
		}
		resp, body := httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/"+id, nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Fatalf("read with node-1 down: %d, %d bytes", resp.StatusCode, len(body))
		}
		nw.startNode(1)
		// A graceful stop: SIGTERM, exit status 0, and everything it
		// stored is served after it starts again.
		if err := nw.stop("node-2", syscall.SIGTERM); err != nil {
			t.Fatalf("node-2 on SIGTERM: %v, want exit status 0", err)
		}
		nw.startNode(2)
		out := filepath.Join(files, "after-restart")
		nw.run("read", id, "--out", out)
		if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
			t.Fatal("read after restarting node-1 differs")
		}
	})

	t.Run("blob status through expiry", func(t *testing.T) {
		data := e2eBlob(1500, 13)
		id, res := nw.storeCLI(writeFile(t, files, data), "--permanent", "--epochs", "1")
		obj := res["blobStoreResult"].(map[string]any)["newlyCreated"].(map[string]any)["blobObject"].(map[string]any)
		end := uint32(obj["storage"].(map[string]any)["endEpoch"].(float64))
		if obj["certifiedEpoch"] == nil {
			t.Fatalf("store returned an uncertified blob object: %v", obj)
		}
		// The status reads certified while the blob lives; with short
		// epochs (and a slow, race-detecting build) it may already be over.
		if st := nw.status(id); nw.epoch() < end && (st.Kind != chain.BlobPermanent || !st.IsCertified || st.EndEpoch != end) {
			t.Fatalf("blob-status after store: %+v, want certified permanent until %d", st, end)
		}
		deadline := time.Now().Add(60 * time.Second)
		for nw.epoch() < end {
			if time.Now().After(deadline) {
				t.Fatalf("epoch %d never reached (now %d)", end, nw.epoch())
			}
			time.Sleep(500 * time.Millisecond)
		}
		if st := nw.status(id); st.Kind != chain.BlobNonexistent {
			t.Fatalf("blob-status after the end epoch %d: %+v", end, st)
		}
		resp, _ := httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/"+id, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("read after expiry: status %d, want 404", resp.StatusCode)
		}
	})
}

func encodingBlobID(b byte) string { return encoding.BlobID{b}.String() }

// TestE2ELong stores and reads a 100 MiB blob through the CLI and HTTP on a
// network of n = 100 (make e2e; WALRUS_E2E_LONG=1).
func TestE2ELong(t *testing.T) {
	if os.Getenv("WALRUS_E2E_LONG") == "" {
		t.Skip("set WALRUS_E2E_LONG=1 (make e2e) for the 100 MiB end-to-end test")
	}
	nw := startNetwork(t, 4, 100, 10*time.Minute, "--max-body-size", fmt.Sprint(200<<10), "--store-timeout", "20m")
	files := t.TempDir()
	data := e2eBlob(100<<20, 100)
	path := writeFile(t, files, data)
	start := time.Now()
	id, _ := nw.storeCLI(path, "--epochs", "2")
	t.Logf("CLI store of 100 MiB: %s", time.Since(start))
	out := filepath.Join(files, "out")
	start = time.Now()
	nw.run("read", id, "--out", out)
	t.Logf("CLI read of 100 MiB: %s", time.Since(start))
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("CLI read of 100 MiB differs")
	}
	other := e2eBlob(100<<20, 101)
	start = time.Now()
	resp, body := httpDo(t, http.MethodPut, nw.daemonURL+"/v1/blobs?epochs=2", bytes.NewReader(other))
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP store of 100 MiB: %d %s", resp.StatusCode, body)
	}
	t.Logf("HTTP store of 100 MiB: %s", time.Since(start))
	var res map[string]any
	json.Unmarshal(body, &res)
	start = time.Now()
	resp, body = httpDo(t, http.MethodGet, nw.daemonURL+"/v1/blobs/"+blobIDOf(t, res), nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, other) {
		t.Fatalf("HTTP read of 100 MiB: %d, %d bytes", resp.StatusCode, len(body))
	}
	t.Logf("HTTP read of 100 MiB: %s", time.Since(start))
}

// nodeMetric reads a node process's Prometheus counter walrus_node_<name>
// from its admin server.
func (nw *procNetwork) nodeMetric(i int, name string) float64 {
	nw.t.Helper()
	cfg, err := node.LoadConfig(nw.nodeCfgs[i])
	if err != nil {
		nw.t.Fatal(err)
	}
	resp, body := httpDo(nw.t, http.MethodGet, "http://"+cfg.AdminAddr+"/metrics", nil)
	if resp.StatusCode != 200 {
		nw.t.Fatalf("node %d /metrics: %d", i, resp.StatusCode)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "walrus_node_"+name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				nw.t.Fatal(err)
			}
			return f
		}
	}
	nw.t.Fatalf("node %d has no metric %s", i, name)
	return 0
}

// nodeHealth returns a node process's /health status.
func (nw *procNetwork) nodeHealth(i int) node.Status {
	nw.t.Helper()
	cfg, err := node.LoadConfig(nw.nodeCfgs[i])
	if err != nil {
		nw.t.Fatal(err)
	}
	var st node.Status
	resp, body := httpDo(nw.t, http.MethodGet, "http://"+cfg.AdminAddr+"/health", nil)
	if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil {
		nw.t.Fatalf("node %d /health: %d %s", i, resp.StatusCode, body)
	}
	return st
}

// chainClient returns a client of the network's chain, closed with the
// test.
func (nw *procNetwork) chainClient() *local.Client {
	nw.t.Helper()
	c, err := local.NewClient(nw.chainURL)
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.t.Cleanup(func() { c.Close() })
	return c
}

// nodeIndex maps committee members to node processes by name (e2e-<i>).
func nodeIndex(t *testing.T, m chain.Member) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(m.Name, "e2e-%d", &i); err != nil {
		t.Fatalf("member %q is not one of the test's nodes", m.Name)
	}
	return i
}

// mostAndFewest returns the node holding the most shards and the one holding
// the fewest (ties go to the lower index).
func mostAndFewest(held map[int][]uint16) (most, fewest int) {
	most, fewest = -1, -1
	for i, sh := range held {
		if most < 0 || len(sh) > len(held[most]) || (len(sh) == len(held[most]) && i < most) {
			most = i
		}
		if fewest < 0 || len(sh) < len(held[fewest]) || (len(sh) == len(held[fewest]) && i < fewest) {
			fewest = i
		}
	}
	return most, fewest
}

// operatorStake returns node i's operator key and its one stake.
func (nw *procNetwork) operatorStake(c *local.Client, i int) (*chain.AccountKey, []chain.StakedWAL) {
	t := nw.t
	t.Helper()
	cfg, err := node.LoadConfig(nw.nodeCfgs[i])
	if err != nil {
		t.Fatal(err)
	}
	op, err := chain.LoadAccountKey(cfg.AccountKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	staked, err := c.StakedWAL(t.Context(), op.Address())
	if err != nil || len(staked) != 1 {
		t.Fatalf("node %d's operator's stake: %v, %v", i, staked, err)
	}
	return op, staked
}

// shardsOf returns the shards each node process holds in com.
func shardsOf(t *testing.T, com *chain.Committee) map[int][]uint16 {
	out := map[int][]uint16{}
	for _, m := range com.Members {
		out[nodeIndex(t, m)] = m.Shards
	}
	return out
}

// blobReader reads blobs through the daemon over and over until stopped; a
// read that fails or differs is an error.
type blobReader struct {
	mu     sync.Mutex
	errs   []string
	rounds int
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func startReader(nw *procNetwork, ids []string, blobs [][]byte) *blobReader {
	r := &blobReader{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			for k, id := range ids {
				select {
				case <-r.stop:
					return
				default:
				}
				resp, err := http.Get(nw.daemonURL + "/v1/blobs/" + id)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				r.mu.Lock()
				switch {
				case err != nil:
					r.errs = append(r.errs, fmt.Sprintf("blob %d: %v", k, err))
				case resp.StatusCode != 200 || !bytes.Equal(body, blobs[k]):
					r.errs = append(r.errs, fmt.Sprintf("blob %d: status %d, %d bytes", k, resp.StatusCode, len(body)))
				}
				r.mu.Unlock()
			}
			r.mu.Lock()
			r.rounds++
			r.mu.Unlock()
		}
	}()
	return r
}

// finish stops the reader and returns its errors and completed rounds.
func (r *blobReader) finish() ([]string, int) {
	r.once.Do(func() { close(r.stop) })
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs, r.rounds
}

// waitCommittee waits (up to timeout) until the chain's current committee
// satisfies cond, and returns it.
func (nw *procNetwork) waitCommittee(c *local.Client, timeout time.Duration, what string, cond func(*chain.Committee) bool) *chain.Committee {
	nw.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		com, err := c.Committee(context.Background(), 0)
		if err == nil && cond(com) {
			return com
		}
		if time.Now().After(deadline) {
			nw.t.Fatalf("waiting for %s: %v (committee %+v)", what, err, com)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitSynced waits until node i syncs no shard in epoch or later.
func (nw *procNetwork) waitSynced(i int, epoch uint32, timeout time.Duration) {
	nw.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := nw.nodeHealth(i)
		if st.Epoch >= epoch && len(st.SyncingShards) == 0 {
			return
		}
		if time.Now().After(deadline) {
			nw.t.Fatalf("node %d still syncing shards %v in epoch %d", i, st.SyncingShards, st.Epoch)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pairBytes is the sliver bytes of the pairs of the given shards of blobs,
// for n shards.
func pairBytes(t *testing.T, n int, blobs [][]byte, shards []uint16) int {
	t.Helper()
	codec, err := encoding.New(n)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range blobs {
		enc, err := codec.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range shards {
			p := enc.Pair(enc.BlobID.PairForShard(int(s), n))
			total += len(p.Primary.Data) + len(p.Secondary.Data)
		}
	}
	return total
}

// shardSyncE2E moves stake from node A (a node with the most shards: its
// operator withdraws its whole stake, so it leaves the committee) to node B
// (one with the fewest: the wallet stakes with it) on a running network of
// 4 nodes and 10 shards, over epochs of the real clock. It checks that B
// pulls every shard it gains over shard sync — the bytes it receives are
// those shards' slivers, nothing is recovered — that A, out of the
// committee, serves them and then deletes them, and that every blob reads
// through the daemon throughout, for extra more epochs after the move.
func shardSyncE2E(t *testing.T, nw *procNetwork, blobs [][]byte, extra int) {
	const n = 10
	c := nw.chainClient()
	ctx := context.Background()
	var ids []string
	for k, b := range blobs {
		resp, body := httpDo(t, http.MethodPut, nw.daemonURL+"/v1/blobs?epochs=50", bytes.NewReader(b))
		if resp.StatusCode != 200 {
			t.Fatalf("storing blob %d: %d %s", k, resp.StatusCode, body)
		}
		var res map[string]any
		json.Unmarshal(body, &res)
		ids = append(ids, blobIDOf(t, res))
	}
	reader := startReader(nw, ids, blobs)
	defer reader.finish()

	before, err := c.Committee(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	held := shardsOf(t, before)
	a, b := mostAndFewest(held)
	// Node A's operator withdraws its stake; the wallet stakes as much with
	// node B: B = 2000 WAL, two others 1000, A none — D'Hondt gives B six
	// of the ten shards.
	opA, staked := nw.operatorStake(c, a)
	if _, err := c.RequestWithdrawal(ctx, opA, staked[0].ID); err != nil {
		t.Fatal(err)
	}
	wallet, err := chain.LoadAccountKey(filepath.Join(nw.dir, "wallet.key"))
	if err != nil {
		t.Fatal(err)
	}
	var bID chain.NodeID
	for _, m := range before.Members {
		if nodeIndex(t, m) == b {
			bID = m.NodeID
		}
	}
	if _, err := c.Stake(ctx, wallet, bID, staked[0].Principal); err != nil {
		t.Fatal(err)
	}
	t.Logf("epoch %d: node %d (shards %v) withdraws its stake, node %d (shards %v) gets as much", before.Epoch, a, held[a], b, held[b])

	// The stake counts from the next epoch, or the one after past the
	// midpoint.
	after := nw.waitCommittee(c, 60*time.Second, "node A to leave the committee", func(com *chain.Committee) bool {
		_, in := shardsOf(t, com)[a]
		return !in
	})
	var gained []uint16
	for _, s := range shardsOf(t, after)[b] {
		if !slices.Contains(held[b], s) {
			gained = append(gained, s)
		}
	}
	t.Logf("epoch %d: node %d holds %v (gained %v); node %d is out", after.Epoch, b, shardsOf(t, after)[b], gained, a)
	if len(gained) == 0 {
		t.Fatalf("node %d gained no shard", b)
	}
	nw.waitSynced(b, after.Epoch, 60*time.Second)
	want := pairBytes(t, n, blobs, gained)
	got := nw.nodeMetric(b, "shard_sync_bytes_total")
	var total int
	for _, bl := range blobs {
		total += len(bl)
	}
	t.Logf("node %d received %.0f bytes over shard sync for %d shards of %d bytes (the blobs: %d bytes)", b, got, len(gained), want, total)
	if int(got) != want {
		t.Errorf("node %d received %.0f bytes over shard sync, want its new shards' %d", b, got, want)
	}
	if got := nw.nodeMetric(b, "shard_sync_pairs_total"); int(got) != len(gained)*len(blobs) {
		t.Errorf("node %d stored %.0f pairs over shard sync, want %d", b, got, len(gained)*len(blobs))
	}
	for _, m := range []string{"shard_sync_recovered_pairs_total", "shard_sync_fallbacks_total"} {
		if v := nw.nodeMetric(b, m); v != 0 {
			t.Errorf("node %d: %s = %v, want 0", b, m, v)
		}
	}
	if v := nw.nodeMetric(a, "shard_sync_served_pairs_total"); int(v) < len(held[a])*len(blobs) {
		t.Errorf("node %d, out of the committee, served %v pairs of its %d shards", a, v, len(held[a]))
	}
	// A deletes the shards it left once their new holders have them.
	deadline := time.Now().Add(60 * time.Second)
	for nw.nodeMetric(a, "shards_dropped_total") < float64(len(held[a])) {
		if time.Now().After(deadline) {
			t.Fatalf("node %d keeps the shards it left: dropped %v", a, nw.nodeMetric(a, "shards_dropped_total"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// More epochs go by; the blobs keep reading.
	for e := range extra {
		nw.waitCommittee(c, 60*time.Second, fmt.Sprintf("epoch %d", after.Epoch+uint32(e)+1), func(com *chain.Committee) bool {
			return com.Epoch > after.Epoch+uint32(e)
		})
	}
	errs, rounds := reader.finish()
	t.Logf("%d rounds of reads of %d blobs through epochs %d to %d", rounds, len(blobs), before.Epoch, nw.epoch())
	if len(errs) > 0 || rounds == 0 {
		t.Fatalf("reads during the move: %d rounds, %d errors: %v", rounds, len(errs), errs[:min(len(errs), 5)])
	}
}

// TestE2EShardSync moves shards between node processes through shard sync
// over a few epochs (short; make e2e runs a longer one with more data and
// epochs).
func TestE2EShardSync(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with real processes")
	}
	nw := startNetwork(t, 4, 10, 4*time.Second)
	var blobs [][]byte
	for k := range 6 {
		blobs = append(blobs, e2eBlob(20_000+15_000*k, uint64(300+k)))
	}
	shardSyncE2E(t, nw, blobs, 0)
}

// TestE2ELongShardSync is TestE2EShardSync with 40 blobs up to 1.5 MB and
// more epochs after the move (make e2e; WALRUS_E2E_LONG=1).
func TestE2ELongShardSync(t *testing.T) {
	if os.Getenv("WALRUS_E2E_LONG") == "" {
		t.Skip("set WALRUS_E2E_LONG=1 (make e2e) for the long shard-sync end-to-end test")
	}
	nw := startNetwork(t, 4, 10, 15*time.Second, "--max-body-size", fmt.Sprint(4<<10))
	var blobs [][]byte
	for k := range 40 {
		blobs = append(blobs, e2eBlob(1000+(k*37_000)%1_500_000, uint64(400+k)))
	}
	shardSyncE2E(t, nw, blobs, 4)
}
