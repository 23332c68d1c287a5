package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/nettest"
)

// clientEnv is a test network whose chain is served over HTTP, its wallet
// file and a client config naming them: the commands reach the chain and
// the nodes as they would a devnet's.
type clientEnv struct {
	net    *network.Network
	config string
	dir    string
	url    string
}

// chainURL is the URL the test network's chain is served on.
func (e *clientEnv) chainURL(*testing.T) string { return e.url }

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	return newClientEnvWith(t, nettest.Options{})
}

// newClientEnvWith is newClientEnv on a test network of opts.
func newClientEnvWith(t *testing.T, opts nettest.Options) *clientEnv {
	t.Helper()
	net := nettest.New(t, opts)
	url, err := net.ServeChain("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "client.yaml")
	err = client.WriteConfig(cfgPath, &client.ConfigFile{DefaultContext: "test", Contexts: map[string]client.ClientContext{
		"test":     {Config: backend.Config{ChainURL: url}, Wallet: net.WalletPath},
		"readonly": {Config: backend.Config{ChainURL: url}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &clientEnv{net: net, config: cfgPath, dir: dir, url: url}
}

func (e *clientEnv) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, append(args, "--config", e.config)...)
}

func (e *clientEnv) runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, code := e.run(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d, stderr %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: output %q: %v", args, out, err)
	}
}

func TestClientCommands(t *testing.T) {
	e := newClientEnv(t)
	data := nettest.Blob(3000, 11)
	file := filepath.Join(e.dir, "blob.bin")
	os.WriteFile(file, data, 0o644)

	var wal struct{ Amount, Balance uint64 }
	before, _ := e.net.Chain.Balance(t.Context(), e.net.Wallet.Address())
	e.runJSON(t, &wal, "get-wal", "--amount", "5")
	if wal.Amount != 5e9 || wal.Balance != before+5e9 {
		t.Fatalf("get-wal: %+v (balance before %d)", wal, before)
	}

	var stored []struct {
		BlobStoreResult client.StoreResult `json:"blobStoreResult"`
		Path            string             `json:"path"`
	}
	e.runJSON(t, &stored, "store", file, "--epochs", "2")
	if len(stored) != 1 || stored[0].Path != file || stored[0].BlobStoreResult.NewlyCreated == nil ||
		!stored[0].BlobStoreResult.NewlyCreated.BlobObject.Deletable || stored[0].BlobStoreResult.EndEpoch() != 3 {
		t.Fatalf("store --json: %+v", stored)
	}
	deletable := stored[0].BlobStoreResult.NewlyCreated.BlobObject
	id := deletable.BlobID.String()

	out, _, code := e.run(t, "store", file, "--permanent", "--epochs", "3")
	if code != 0 || !strings.Contains(out, "Success: Permanent blob stored successfully.") || !strings.Contains(out, "Blob ID: "+id) ||
		!strings.Contains(out, "Expiry epoch (exclusive): 4") {
		t.Fatalf("store --permanent: %d %q", code, out)
	}
	out, _, _ = e.run(t, "store", file, "--permanent", "--epochs", "1")
	if !strings.Contains(out, "already available and certified") {
		t.Fatalf("second store: %q", out)
	}
	out, _, code = e.run(t, "store", file, "--dry-run", "--epochs", "5", "--force")
	if code != 0 || !strings.Contains(out, "Dry run") || !strings.Contains(out, "Blob ID: "+id) {
		t.Fatalf("dry run: %d %q", code, out)
	}

	// Read to a file, to stdout, and as JSON.
	outFile := filepath.Join(e.dir, "out.bin")
	out, _, code = e.run(t, "read", id, "--out", outFile)
	if got, _ := os.ReadFile(outFile); code != 0 || !bytes.Equal(got, data) || !strings.Contains(out, "stored in file") {
		t.Fatalf("read --out: %d %q", code, out)
	}
	out, _, code = e.run(t, "read", id, "--strict-consistency-check")
	if code != 0 || out != string(data) {
		t.Fatalf("read to stdout: %d, %d bytes", code, len(out))
	}
	var rd struct {
		BlobID string `json:"blobId"`
		Blob   []byte `json:"blob"`
	}
	e.runJSON(t, &rd, "read", id)
	if rd.BlobID != id || !bytes.Equal(rd.Blob, data) {
		t.Fatalf("read --json: %s, %d bytes", rd.BlobID, len(rd.Blob))
	}

	out, _, code = e.run(t, "blob-status", id)
	if code != 0 || !strings.Contains(out, "is certified as a permanent blob") || !strings.Contains(out, "Deletable blob objects: 1 (1 certified)") {
		t.Fatalf("blob-status: %q", out)
	}
	out, _, code = e.run(t, "blob-status", "--file", file, "--nodes")
	if code != 0 || !strings.Contains(out, "Blob ID "+id) || strings.Count(out, "certified ") < 4 {
		t.Fatalf("blob-status --file --nodes: %q", out)
	}
	var st struct {
		BlobID string `json:"blobId"`
		Status struct {
			Permanent *struct {
				EndEpoch    uint32 `json:"endEpoch"`
				IsCertified bool   `json:"isCertified"`
			} `json:"permanent"`
		} `json:"status"`
	}
	e.runJSON(t, &st, "blob-status", id)
	if st.BlobID != id || st.Status.Permanent == nil || !st.Status.Permanent.IsCertified || st.Status.Permanent.EndEpoch != 4 {
		t.Fatalf("blob-status --json: %+v", st)
	}

	var list []client.BlobObject
	e.runJSON(t, &list, "list-blobs")
	if len(list) != 2 {
		t.Fatalf("list-blobs: %+v", list)
	}
	out, _, code = e.run(t, "extend", "--blob-obj-id", deletable.ID.String(), "--epochs-extended", "2")
	if code != 0 || !strings.Contains(out, "New expiry epoch (exclusive): 5") {
		t.Fatalf("extend: %d %q", code, out)
	}
	out, _, code = e.run(t, "delete", "--blob-id", id, "--yes")
	if code != 0 || !strings.Contains(out, "The following objects were deleted:\n  "+deletable.ID.String()) {
		t.Fatalf("delete: %d %q", code, out)
	}

	var sw struct {
		StakedWal []stakedWALOutput `json:"stakedWal"`
	}
	node := e.net.Nodes[0].ID().String()
	e.runJSON(t, &sw, "stake", "--node-id", node, "--amount", "1000000frost")
	if len(sw.StakedWal) != 1 || sw.StakedWal[0].Principal != 1e6 || sw.StakedWal[0].NodeID.String() != node {
		t.Fatalf("stake: %+v", sw)
	}
	var staked stakedList
	e.runJSON(t, &staked, "list-staked-wal")
	if len(staked.StakedWals) != 1 || staked.StakedWals[0].ID != sw.StakedWal[0].ID {
		t.Fatalf("list-staked-wal: %+v", staked)
	}
}

func TestClientCommandErrors(t *testing.T) {
	e := newClientEnv(t)
	file := filepath.Join(e.dir, "f")
	os.WriteFile(file, []byte("x"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"store", file, "--permanent", "--deletable"}, "mutually exclusive"},
		{[]string{"store", file, "--epochs", "0"}, "at least 1"},
		{[]string{"store-quilt", "--paths", file, "--epochs", "0"}, "at least 1"},
		{[]string{"store-quilt", "--paths", file, "--epochs", "2", "--end-epoch", "5"}, "at most one"},
		{[]string{"store", filepath.Join(e.dir, "missing")}, "no such file"},
		{[]string{"store", e.dir}, "not a regular file"},
		{[]string{"store", file, "--send-object-to", "0x12"}, "--send-object-to"},
		{[]string{"store", file, "--context", "readonly"}, "no wallet"},
		{[]string{"store", file, "--context", "nope"}, `no context "nope"`},
		{[]string{"read", "not-a-blob-id"}, "invalid blob ID"},
		{[]string{"read", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "blob not found"},
		{[]string{"blob-status"}, "give one of BLOB_ID, --blob-id or --file"},
		{[]string{"blob-status", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "--blob-id", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "give one of BLOB_ID, --blob-id or --file"},
		{[]string{"blob-status", "--blob-id", "not-a-blob-id"}, "invalid blob ID"},
		{[]string{"delete"}, "give at least one of"},
		{[]string{"delete", "--object-id", "0x1"}, "--object-id"},
		{[]string{"extend", "--blob-obj-id", "0x" + strings.Repeat("0", 64)}, "--epochs-extended"},
		{[]string{"stake", "--node-id", "bad", "--amount", "1"}, "--node-id"},
		{[]string{"get-wal", "--amount", "0"}, "--amount"},
		{[]string{"list-blobs", "--context", "readonly"}, "no wallet"},
	}
	for _, tc := range cases {
		_, errOut, code := e.run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a failure mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
	// A config file that names an unknown field is refused, naming it.
	bad := filepath.Join(e.dir, "bad.yaml")
	os.WriteFile(bad, []byte("contexts:\n  x:\n    chain_url: http://a:1\n    wallett: w\n"), 0o600)
	if _, errOut, code := runCLI(t, "list-blobs", "--config", bad); code == 0 || !strings.Contains(errOut, "wallett") {
		t.Errorf("bad config: %d %q", code, errOut)
	}
}

func TestRustLogLevel(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want slog.Level
	}{
		{"", slog.LevelWarn},
		{"debug", slog.LevelDebug},
		{"TRACE", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"error", slog.LevelError},
		{"walrus=info,libp2p=warn", slog.LevelInfo},
		{"libp2p=error,walrus_sdk=debug", slog.LevelDebug},
		{"nonsense", slog.LevelWarn},
	} {
		if got := rustLogLevel(tc.v); got != tc.want {
			t.Errorf("rustLogLevel(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
