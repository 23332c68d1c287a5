package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/chain/sui/suitest"
	"github.com/walrus-go/walrus/client"
)

// TestInfoOnSui: a client context with chain: sui reaches the Sui backend,
// and walrus info shows the deployment's epoch, shards and committee.
func TestInfoOnSui(t *testing.T) {
	net := chaintest.NewNetwork(3, 10, 20, 30)
	srv := suitest.New(t, net)
	sc := srv.Config()
	path := filepath.Join(t.TempDir(), "client.yaml")
	if err := client.WriteConfig(path, &client.ConfigFile{Contexts: map[string]client.ClientContext{
		"sui": {Config: backend.Config{Chain: backend.Sui, Sui: &sc}},
	}}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "info", "--config", path, "--json")
	if code != 0 {
		t.Fatalf("info on Sui: exit %d: %s", code, errOut)
	}
	var info infoOutput
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("info --json: %v: %s", err, out)
	}
	if info.EpochInfo == nil || info.EpochInfo.CurrentEpoch != 1 || info.StorageInfo.NShards != net.NShards || len(info.CommitteeInfo.CurrentStorageNodes) != 3 {
		t.Fatalf("info on Sui: %s", out)
	}
	for i, m := range info.CommitteeInfo.CurrentStorageNodes {
		if m.NShards == 0 || m.Epochs != nil {
			t.Errorf("member %d: %+v", i, m)
		}
		if m.NetworkPublicKey != net.Nodes[i].PeerID && !strings.HasPrefix(m.NetworkPublicKey, "12D3") {
			t.Errorf("member %d's peer ID %q does not come from its node record", i, m.NetworkPublicKey)
		}
	}
	// A sui context without its block is refused, naming what is missing.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("contexts:\n  x:\n    chain: sui\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "info", "--config", bad); code == 0 || !strings.Contains(errOut, "sui block") {
		t.Fatalf("a sui context without its block: %d %q", code, errOut)
	}
}
