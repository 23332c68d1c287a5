package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/nettest"
)

// runIn is clientEnv.run with standard input.
func (e *clientEnv) runIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := executeIO(append(args, "--config", e.config), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// jsonFields unmarshals out and checks it has exactly the keys want.
func jsonFields(t *testing.T, what string, raw json.RawMessage, want ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %q is not a JSON object: %v", what, raw, err)
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no field %q in %s", what, k, raw)
		}
	}
	if len(m) != len(want) {
		t.Errorf("%s: fields %s, want exactly %v", what, raw, want)
	}
	return m
}

func jsonEq(t *testing.T, what string, raw json.RawMessage, want any) {
	t.Helper()
	w, _ := json.Marshal(want)
	var a, b any
	json.Unmarshal(raw, &a)
	json.Unmarshal(w, &b)
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if !bytes.Equal(aj, bj) {
		t.Errorf("%s = %s, want %s", what, raw, w)
	}
}

func TestEpochArg(t *testing.T) {
	start := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	st := chain.SystemState{Epoch: 7, EpochStart: start, EpochDuration: time.Hour, MaxEpochsAhead: 53}
	now := start.Add(10 * time.Minute)
	cases := []struct {
		arg  epochArg
		want uint32
		err  string
	}{
		{epochArg{}, defaultEpochs, ""},
		{epochArg{epochs: "5"}, 5, ""},
		{epochArg{epochs: "max"}, 53, ""},
		{epochArg{epochs: "54"}, 0, "up to 53 epochs"},
		{epochArg{epochs: "0"}, 0, "at least 1"},
		{epochArg{epochs: "-1"}, 0, "at least 1"},
		{epochArg{epochs: "many"}, 0, "or max"},
		{epochArg{endEpoch: 10}, 3, ""},
		{epochArg{endEpoch: 7}, 0, "not after the current epoch 7"},
		{epochArg{expiry: "2026-03-20T13:30:00Z"}, 2, ""},
		{epochArg{expiry: "2026-03-20 12:59:59"}, 1, ""},
		{epochArg{expiry: "2026-03-20T13:00:00Z"}, 2, ""},
		{epochArg{expiry: "2026-03-20T12:05:00Z"}, 0, "not in the future"},
		{epochArg{expiry: "tomorrow"}, 0, "RFC 3339"},
		{epochArg{epochs: "2", endEpoch: 9}, 0, "at most one of"},
		{epochArg{endEpoch: 9, expiry: "2026-03-21"}, 0, "at most one of"},
	}
	for _, tc := range cases {
		got, err := tc.arg.epochsAhead(&st, now)
		if tc.err != "" {
			if !errors.Is(err, errEpochArg) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: %d, %v; want an error with %q", tc.arg, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%+v: %d, %v; want %d", tc.arg, got, err, tc.want)
		}
	}
}

func TestConvertBlobID(t *testing.T) {
	noClientConfig(t)
	// Walrus's own vectors (crates/walrus-service/src/client/cli.rs): the
	// number's little-endian bytes are the ID; 2^256 does not fit.
	if id, ok := blobIDFromDecimal("256"); !ok || id != (encoding.BlobID{0, 1}) {
		t.Fatalf("256 = %v, %v; want bytes 0, 1, 0…", id, ok)
	}
	if id, ok := blobIDFromDecimal("0"); !ok || id != (encoding.BlobID{}) {
		t.Fatalf("0 = %v, %v", id, ok)
	}
	if _, ok := blobIDFromDecimal("115792089237316195423570985008687907853269984665640564039457584007913129639936"); ok {
		t.Fatal("2^256 converted")
	}
	const dec = "80885466015098902458382552429473803233277035186046880821304527730792838764083"
	id, ok := blobIDFromDecimal(dec)
	if !ok || blobIDDecimal(id) != dec {
		t.Fatalf("%s does not round-trip: %v %s", dec, ok, blobIDDecimal(id))
	}
	b64 := id.String()
	out, _, code := runCLI(t, "convert-blob-id", dec)
	if code != 0 || out != "Walrus blob ID: "+b64+"\n" {
		t.Fatalf("convert-blob-id: %d %q", code, out)
	}
	out, _, code = runCLI(t, "--json", "convert-blob-id", dec)
	if code != 0 || out != `"`+b64+`"`+"\n" {
		t.Fatalf("--json convert-blob-id: %d %q", code, out)
	}
	_, errOut, code := runCLI(t, "convert-blob-id", b64)
	if code == 0 || !strings.Contains(errOut, "already a valid Walrus blob ID") || !strings.Contains(errOut, dec) {
		t.Fatalf("convert-blob-id of a base64 ID: %d %q", code, errOut)
	}
	for _, bad := range []string{"", "+5", "12x", "1" + strings.Repeat("0", 80)} {
		if _, errOut, code := runCLI(t, "convert-blob-id", bad); code == 0 || !strings.Contains(errOut, "cannot be converted") {
			t.Errorf("convert-blob-id %q: %d %q", bad, code, errOut)
		}
	}
	// A blob ID may start with "-": it is an argument, not a flag.
	hy := encoding.BlobID{0xfb}
	if !strings.HasPrefix(hy.String(), "-") {
		t.Fatalf("%s does not start with -", hy)
	}
	for _, args := range [][]string{{"convert-blob-id", hy.String()}, {"--json", "convert-blob-id", hy.String()}, {"convert-blob-id", "--", hy.String()}} {
		if _, errOut, code := runCLI(t, args...); code == 0 || !strings.Contains(errOut, "already a valid Walrus blob ID") {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
	root := newRootCmd()
	h := hy.String()
	for _, tc := range []struct{ in, want []string }{
		{[]string{"read", h, "--out", "f"}, []string{"read", "--out", "f", "--", h}},
		{[]string{"read", "--json", h}, []string{"read", "--json", "--", h}},
		{[]string{"blob-status", "--blob-id", h}, []string{"blob-status", "--blob-id", h}},
		{[]string{"--config", "c", "read", h, "--", "x"}, []string{"--config", "c", "read", "--", h, "x"}},
		{[]string{"read", "-o", h}, []string{"read", "-o", h}},
	} {
		if got := hyphenBlobIDs(root, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("hyphenBlobIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A decimal blob ID where a blob ID is expected is refused, naming the
	// base64 form.
	_, errOut, code = runCLI(t, "read", dec)
	if code == 0 || !strings.Contains(errOut, b64) {
		t.Fatalf("read DECIMAL: %d %q", code, errOut)
	}
}

func TestGenerateSuiWallet(t *testing.T) {
	noClientConfig(t)
	path := filepath.Join(t.TempDir(), "sub", "w.key")
	out, _, code := runCLI(t, "generate-sui-wallet", "--path", path, "--json")
	if code != 0 {
		t.Fatalf("generate-sui-wallet: %d", code)
	}
	m := jsonFields(t, "generate-sui-wallet --json", json.RawMessage(out), "walletAddress", "path")
	k, err := chain.LoadAccountKey(path)
	if err != nil {
		t.Fatal(err)
	}
	jsonEq(t, "walletAddress", m["walletAddress"], k.Address().String())
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	_, errOut, code := runCLI(t, "generate-sui-wallet", "--path", path)
	if code == 0 || !strings.Contains(errOut, "not overwriting") {
		t.Fatalf("second generate-sui-wallet: %d %q", code, errOut)
	}
	if k2, _ := chain.LoadAccountKey(path); k2.Address() != k.Address() {
		t.Fatal("the wallet was overwritten")
	}
	// The default path is in the user's config folder.
	out, _, code = runCLI(t, "generate-sui-wallet")
	if code != 0 || !strings.Contains(out, "Success: Generated a new Sui wallet with address 0x") || !strings.Contains(out, defaultWalletPath()) {
		t.Fatalf("generate-sui-wallet without --path: %d %q", code, out)
	}
}

func TestGlobalFlagsAndVersion(t *testing.T) {
	e := newClientEnv(t)
	// generate-sui-wallet --use-faucet funds the new wallet.
	wpath := filepath.Join(e.dir, "new.key")
	out, errOut, code := e.run(t, "generate-sui-wallet", "--path", wpath, "--use-faucet", "--json")
	var gw struct {
		WalletAddress chain.Address `json:"walletAddress"`
		WALReceived   uint64        `json:"walReceived"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &gw) != nil || gw.WALReceived != defaultGetWALAmount {
		t.Fatalf("generate-sui-wallet --use-faucet: %d %q %q", code, out, errOut)
	}
	if bal, _ := e.net.Chain.Balance(t.Context(), gw.WalletAddress); bal != defaultGetWALAmount {
		t.Fatalf("new wallet's balance %d, want %d", bal, defaultGetWALAmount)
	}
	out, _, code = runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "walrus ") {
		t.Fatalf("--version: %d %q", code, out)
	}
	// The client flags go before or after the command, as Walrus's.
	var a, b map[string]json.RawMessage
	for _, args := range [][]string{
		{"--json", "--config", e.config, "info"},
		{"--config", e.config, "info", "--json"},
		{"info", "--json", "--config", e.config},
		{"--config=" + e.config, "--context", "readonly", "--json", "info"},
	} {
		out, errOut, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: %d %q", args, code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &b); err != nil {
			t.Fatalf("%v: not JSON: %q", args, out)
		}
		if a != nil && len(a) != len(b) {
			t.Fatalf("%v: other output %q", args, out)
		}
		a = b
	}
	// --wallet before the command.
	file := filepath.Join(e.dir, "f")
	os.WriteFile(file, []byte("global"), 0o644)
	out, errOut, code = runCLI(t, "--config", e.config, "--context", "readonly", "--wallet", e.net.WalletPath, "store", file, "--epochs", "1")
	if code != 0 || !strings.Contains(out, "Success") {
		t.Fatalf("--wallet before store: %d %q %q", code, out, errOut)
	}
}

func TestStoreCommandFlags(t *testing.T) {
	e := newClientEnv(t)
	st, _ := e.net.Chain.SystemState(t.Context())
	data := nettest.Blob(5000, 3)
	file := filepath.Join(e.dir, "blob.bin")
	os.WriteFile(file, data, 0o644)
	id, _, _ := mustBlobID(t, data, st.NShards)

	type stored []struct {
		BlobStoreResult struct {
			NewlyCreated *struct {
				BlobObject struct {
					BlobID  string `json:"blobId"`
					Storage struct {
						EndEpoch uint32 `json:"endEpoch"`
					} `json:"storage"`
				} `json:"blobObject"`
			} `json:"newlyCreated"`
		} `json:"blobStoreResult"`
		Path string `json:"path"`
	}
	cases := []struct {
		args  []string
		stdin string
		path  string
		end   uint32
	}{
		{[]string{"store", file, "--epochs", "max"}, "", file, st.Epoch + st.MaxEpochsAhead},
		{[]string{"write", file, "--end-epoch", "3"}, "", file, 3},
		{[]string{"store", file, "--earliest-expiry-time", st.EpochStart.Add(st.EpochDuration + st.EpochDuration/2).Format(time.RFC3339)}, "", file, st.Epoch + 2},
		{[]string{"store", "-", "--epochs", "2"}, string(data), "-", st.Epoch + 2},
	}
	for _, tc := range cases {
		out, errOut, code := e.runIn(t, tc.stdin, append(tc.args, "--json")...)
		var res stored
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res) != 1 {
			t.Fatalf("%v: %d %q %q", tc.args, code, out, errOut)
		}
		r := res[0]
		if r.Path != tc.path || r.BlobStoreResult.NewlyCreated == nil || r.BlobStoreResult.NewlyCreated.BlobObject.BlobID != id.String() ||
			r.BlobStoreResult.NewlyCreated.BlobObject.Storage.EndEpoch != tc.end {
			t.Errorf("%v: %s; want path %s, blob %s until epoch %d", tc.args, out, tc.path, id, tc.end)
		}
	}

	// --dry-run --json: Walrus's DryRunOutput list.
	out, errOut, code := e.run(t, "store", file, "--dry-run", "--epochs", "4", "--json")
	var dry []json.RawMessage
	if code != 0 || json.Unmarshal([]byte(out), &dry) != nil || len(dry) != 1 {
		t.Fatalf("--dry-run --json: %d %q %q", code, out, errOut)
	}
	m := jsonFields(t, "dry run", dry[0], "path", "blobId", "unencodedSize", "encodedSize", "storageCost", "encodingType")
	p, _ := st.Params()
	encLen, _ := p.EncodedLength(uint64(len(data)))
	cost, _ := st.RegisterCost(uint64(len(data)), 4)
	jsonEq(t, "path", m["path"], file)
	jsonEq(t, "blobId", m["blobId"], id.String())
	jsonEq(t, "unencodedSize", m["unencodedSize"], len(data))
	jsonEq(t, "encodedSize", m["encodedSize"], encLen)
	jsonEq(t, "storageCost", m["storageCost"], cost)
	jsonEq(t, "encodingType", m["encodingType"], "RS2")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"store", file, "--share"}, "--share needs --permanent"},
		{[]string{"store", file, "--share", "--permanent", "--send-object-to", "0x" + strings.Repeat("1", 64)}, "mutually exclusive"},
		{[]string{"store", file, "--epochs", "1", "--end-epoch", "5"}, "at most one of"},
		{[]string{"store", file, "--end-epoch", "0", "--epochs", "x"}, "or max"},
		{[]string{"store", file, "--epochs", "1000"}, "epochs ahead"},
		{[]string{"store", "-", "-"}, "once per command"},
		{[]string{"extend", "--blob-obj-id", "0x" + strings.Repeat("0", 64), "--epochs-extended", "1", "--shared"}, "not found: shared blob"},
		{[]string{"share", "--blob-obj-id", "0x" + strings.Repeat("0", 64)}, "not found"},
		{[]string{"fund-shared-blob", "--shared-blob-obj-id", "0x" + strings.Repeat("0", 64), "--amount", "0"}, "at least 1 FROST"},
		{[]string{"read", id.String(), "--strict-consistency-check", "--skip-consistency-check"}, "mutually exclusive"},
	} {
		if _, errOut, code := e.run(t, tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %q; want a failure with %q", tc.args, code, errOut, tc.want)
		}
	}
}

// mustBlobID is the blob ID of data for n shards.
func mustBlobID(t *testing.T, data []byte, n int) (encoding.BlobID, *encoding.Codec, error) {
	t.Helper()
	c, err := encoding.New(n)
	if err != nil {
		t.Fatal(err)
	}
	_, id, err := c.ComputeMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	return id, c, nil
}

func TestWalrusJSONShapes(t *testing.T) {
	e := newClientEnv(t)
	st, _ := e.net.Chain.SystemState(t.Context())
	data := nettest.Blob(4000, 21)
	file := filepath.Join(e.dir, "blob.bin")
	os.WriteFile(file, data, 0o644)
	id, _, _ := mustBlobID(t, data, st.NShards)

	// blob-id: the network's shard count (10), not mainnet's 1000.
	out, _, code := e.run(t, "blob-id", file, "--json")
	if code != 0 {
		t.Fatalf("blob-id: %d", code)
	}
	m := jsonFields(t, "blob-id", json.RawMessage(out), "blobId", "file", "unencodedLength", "encodingType", "nShards")
	jsonEq(t, "blobId", m["blobId"], id.String())
	jsonEq(t, "file", m["file"], file)
	jsonEq(t, "unencodedLength", m["unencodedLength"], len(data))
	jsonEq(t, "encodingType", m["encodingType"], "RS2")
	jsonEq(t, "nShards", m["nShards"], st.NShards)

	// blob-status of a blob no one stored.
	out, _, _ = e.run(t, "blob-status", "--file", file, "--json")
	m = jsonFields(t, "blob-status nonexistent", json.RawMessage(out), "blobId", "file", "status")
	jsonEq(t, "status", m["status"], "nonexistent")

	if _, errOut, code := e.run(t, "store", file, "--permanent", "--epochs", "3"); code != 0 {
		t.Fatalf("store: %q", errOut)
	}
	out, _, _ = e.run(t, "blob-status", "--blob-id", id.String(), "--json")
	m = jsonFields(t, "blob-status permanent", json.RawMessage(out), "blobId", "status", "estimatedExpiryTimestamp")
	jsonEq(t, "blobId", m["blobId"], id.String())
	var ts time.Time
	if json.Unmarshal(m["estimatedExpiryTimestamp"], &ts) != nil || !ts.Equal(st.EpochStart.Add(3*st.EpochDuration)) {
		t.Errorf("estimatedExpiryTimestamp %s, want %s", m["estimatedExpiryTimestamp"], st.EpochStart.Add(3*st.EpochDuration))
	}
	perm := jsonFields(t, "status", m["status"], "permanent")
	pm := jsonFields(t, "status.permanent", perm["permanent"], "endEpoch", "isCertified", "statusEvent", "deletableCounts", "initialCertifiedEpoch")
	jsonEq(t, "endEpoch", pm["endEpoch"], st.Epoch+3)
	jsonEq(t, "isCertified", pm["isCertified"], true)
	jsonEq(t, "initialCertifiedEpoch", pm["initialCertifiedEpoch"], st.Epoch)
	jsonEq(t, "deletableCounts", pm["deletableCounts"], map[string]int{"countDeletableTotal": 0, "countDeletableCertified": 0})
	jsonFields(t, "statusEvent", pm["statusEvent"], "txDigest", "eventSeq")

	// read --json: Walrus's ReadOutput; --skip-consistency-check reads too.
	out, _, code = e.run(t, "read", id.String(), "--json", "--skip-consistency-check")
	m = jsonFields(t, "read", json.RawMessage(out), "blobId", "blob")
	var blob []byte
	if code != 0 || json.Unmarshal(m["blob"], &blob) != nil || !bytes.Equal(blob, data) {
		t.Fatalf("read --json --skip-consistency-check: %d, %d bytes", code, len(blob))
	}
	outFile := filepath.Join(e.dir, "out")
	out, _, _ = e.run(t, "read", id.String(), "--json", "--out", outFile)
	m = jsonFields(t, "read --out", json.RawMessage(out), "out", "blobId")
	jsonEq(t, "out", m["out"], outFile)

	// A deletable copy: delete asks, --yes does not; Walrus's DeleteOutput.
	if _, errOut, code := e.run(t, "store", file, "--epochs", "2"); code != 0 {
		t.Fatalf("store deletable: %q", errOut)
	}
	out, _, code = e.runIn(t, "n\n", "delete", "--file", file)
	if code != 0 || !strings.Contains(out, "Do you want to proceed? [y/N]") || !strings.Contains(out, "Operation aborted. No blobs were deleted.") {
		t.Fatalf("delete answered n: %d %q", code, out)
	}
	out, _, code = e.runIn(t, "y\n", "delete", "--file", file)
	if code != 0 || !strings.Contains(out, "The following objects were deleted:") ||
		!strings.Contains(out, "The above blob objects were removed, but the blob still exists") {
		t.Fatalf("delete answered y: %d %q", code, out)
	}
	if _, errOut, code := e.run(t, "store", file, "--epochs", "2"); code != 0 {
		t.Fatalf("store deletable: %q", errOut)
	}
	out, errOut, code := e.run(t, "delete", "--file", file, "--blob-id", encoding.BlobID{1}.String(), "--yes", "--json")
	var dels []json.RawMessage
	if code != 0 || json.Unmarshal([]byte(out), &dels) != nil || len(dels) != 2 {
		t.Fatalf("delete --json: %d %q %q", code, out, errOut)
	}
	d := jsonFields(t, "delete", dels[0], "blobIdentity", "deletedBlobs", "postDeletionStatus", "noBlobFound", "aborted")
	jsonEq(t, "blobIdentity", d["blobIdentity"], map[string]any{"blobId": id.String(), "file": file, "objectId": nil})
	jsonEq(t, "noBlobFound", d["noBlobFound"], false)
	var deleted []map[string]json.RawMessage
	json.Unmarshal(d["deletedBlobs"], &deleted)
	if len(deleted) != 1 {
		t.Fatalf("deletedBlobs: %s", d["deletedBlobs"])
	}
	jsonFields(t, "deletedBlobs[0]", mustJSON(deleted[0]), "id", "registeredEpoch", "blobId", "size", "encodingType", "certifiedEpoch", "storage", "deletable")
	jsonEq(t, "deletedBlobs[0].deletable", deleted[0]["deletable"], true)
	jsonFields(t, "postDeletionStatus", d["postDeletionStatus"], "permanent")
	d = jsonFields(t, "delete unknown", dels[1], "blobIdentity", "deletedBlobs", "noBlobFound", "aborted")
	jsonEq(t, "noBlobFound", d["noBlobFound"], true)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func TestHealthCommand(t *testing.T) {
	e := newClientEnv(t)
	st, _ := e.net.Chain.SystemState(t.Context())
	com, _ := e.net.Chain.Committee(t.Context(), st.Epoch)
	e.net.StopNode(3)
	out, _, code := e.run(t, "health", "--json")
	if code != 0 {
		t.Fatalf("health: %d %q", code, out)
	}
	top := jsonFields(t, "health", json.RawMessage(out), "healthInfo", "latestSeq")
	var nodes []json.RawMessage
	json.Unmarshal(top["healthInfo"], &nodes)
	if len(nodes) != len(com.Members) {
		t.Fatalf("health of %d nodes, want %d", len(nodes), len(com.Members))
	}
	down := e.net.Nodes[3].ID()
	byName := map[string]chain.Member{}
	for _, m := range com.Members {
		byName[m.Name] = m
	}
	prev := ""
	for _, raw := range nodes {
		n := jsonFields(t, "healthInfo[i]", raw, "nodeId", "nodeUrl", "nodeName", "networkPublicKey", "healthInfo")
		var name string
		json.Unmarshal(n["nodeName"], &name)
		if name <= prev {
			t.Errorf("health not by name: %q after %q", name, prev)
		}
		prev = name
		m := byName[name]
		jsonEq(t, "nodeId", n["nodeId"], m.NodeID.String())
		jsonEq(t, "nodeName", n["nodeName"], m.Name)
		jsonEq(t, "networkPublicKey", n["networkPublicKey"], m.PeerID)
		if m.NodeID == down {
			jsonFields(t, "stopped node's healthInfo", n["healthInfo"], "Err")
			continue
		}
		ok := jsonFields(t, "healthInfo", n["healthInfo"], "Ok")
		h := jsonFields(t, "healthInfo.Ok", ok["Ok"], "epoch", "publicKey", "nodeStatus", "shardSummary")
		jsonEq(t, "epoch", h["epoch"], st.Epoch)
		jsonEq(t, "nodeStatus", h["nodeStatus"], healthActive)
		jsonEq(t, "shardSummary", h["shardSummary"], map[string]any{"owned": len(m.Shards), "readOnly": 0,
			"ownedShardStatus": map[string]int{"unknown": 0, "ready": len(m.Shards), "inTransfer": 0, "inRecovery": 0}})
	}
	up := com.Members[0].NodeID
	if up == down {
		up = com.Members[1].NodeID
	}
	out, _, code = e.run(t, "health", "--node-ids", up.String())
	if code != 0 || !strings.Contains(out, "Total nodes: 1") || !strings.Contains(out, healthActive) {
		t.Fatalf("health --node-ids: %d %q", code, out)
	}
}

// deadURL is an HTTP URL nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestHelpfulErrors(t *testing.T) {
	noClientConfig(t)
	dead := deadURL(t)
	dir := t.TempDir()
	blob := encoding.BlobID{7}.String()

	// No config and no chain: where configs are looked for, how to start a
	// devnet.
	t.Setenv("WALRUS_CHAIN_URL", dead)
	_, errOut, code := runCLI(t, "read", blob)
	for _, want := range []string{"no client config found", "$WALRUS_CONFIG", "make run", "export WALRUS_CONFIG=$PWD/.devnet/client.yaml"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("read without config: %d %q; want %q", code, errOut, want)
		}
	}
	_, errOut, code = runCLI(t, "store", "-")
	if code == 0 || !strings.Contains(errOut, "no wallet") || !strings.Contains(errOut, "no client config found") {
		t.Errorf("store without config: %d %q", code, errOut)
	}
	t.Setenv("WALRUS_CHAIN_URL", "")

	// A config naming a devnet that is not running.
	cfg := filepath.Join(dir, "client.yaml")
	os.WriteFile(cfg, []byte("default_context: devnet\ncontexts:\n  devnet:\n    chain_url: "+dead+"\n"), 0o600)
	_, errOut, code = runCLI(t, "read", blob, "--config", cfg)
	for _, want := range []string{dead, `context "devnet" of ` + cfg, "is the network running?", "make run"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("read with the devnet down: %d %q; want %q", code, errOut, want)
		}
	}

	// A node whose chain is not running.
	nodeDir := filepath.Join(dir, "n")
	if _, errOut, code := runCLI(t, "node", "init", "--dir", nodeDir, "--chain-url", dead); code != 0 {
		t.Fatalf("node init: %q", errOut)
	}
	nodeCfg := filepath.Join(nodeDir, "node.yaml")
	_, errOut, code = runCLI(t, "node", "register", "--config", nodeCfg, "--stake", "1")
	if want := "the chain " + dead + " (the chain of " + nodeCfg + ") does not answer"; code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("node register with the chain down: %d %q; want %q", code, errOut, want)
	}

	// A folder in use: "already running (pid N)".
	unlock, err := lockDir(dir, "a devnet")
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCLI(t, "devnet", "--dir", dir)
	if want := fmt.Sprintf("a devnet in %s: already running (pid %d)", dir, os.Getpid()); code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("second devnet: %d %q; want %q", code, errOut, want)
	}
	if _, err := lockDir(dir, "a devnet"); !errors.Is(err, errAlreadyRunning) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	unlock2, err := lockDir(dir, "a devnet")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestNodeInitAndRegister(t *testing.T) {
	e := newClientEnv(t)
	noClientConfig(t)
	t.Setenv("WALRUS_CONFIG", e.config)
	dir := filepath.Join(e.dir, "node1")
	out, errOut, code := runCLI(t, "node", "init", "--dir", dir, "--json")
	if code != 0 {
		t.Fatalf("node init: %d %q", code, errOut)
	}
	var info struct {
		Chain, OperatorWallet string
	}
	json.Unmarshal([]byte(out), &info)
	cfg, _ := os.ReadFile(filepath.Join(dir, "node.yaml"))
	url := e.url
	if !strings.Contains(string(cfg), url) || info.Chain != url || !strings.Contains(string(cfg), "/ip4/127.0.0.1/tcp/") {
		t.Fatalf("node init against %s: %+v, config:\n%s", url, info, cfg)
	}
	before, _ := e.net.Chain.Nodes(t.Context())
	reg := []string{"node", "register", "--config", filepath.Join(dir, "node.yaml"), "--stake", "100"} // the test network's faucet gives less than a devnet's
	_, errOut, code = runCLI(t, reg...)
	if code == 0 || !strings.Contains(errOut, "nothing was registered") || !strings.Contains(errOut, "walrus get-wal --wallet "+info.OperatorWallet) {
		t.Fatalf("register without funds: %d %q", code, errOut)
	}
	if after, _ := e.net.Chain.Nodes(t.Context()); len(after) != len(before) {
		t.Fatalf("a register without funds registered: %d nodes, were %d", len(after), len(before))
	}
	if _, errOut, code := runCLI(t, "get-wal", "--wallet", info.OperatorWallet, "--amount", "100"); code != 0 {
		t.Fatalf("get-wal: %q", errOut)
	}
	out, errOut, code = runCLI(t, reg...)
	// The test network's nodes are node-0 … node-3: the new one is node-4.
	if code != 0 || !strings.Contains(out, "Registered node") || !strings.Contains(out, "(node-4)") || !strings.Contains(out, "Staked 100 WAL, active from epoch 2") ||
		!strings.Contains(out, "joins the committee of epoch 2, chosen at the midpoint of epoch 1") {
		t.Fatalf("register: %d %q %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, reg...)
	if code != 0 || !strings.Contains(out, "was registered already") || !strings.Contains(out, "Already staked 100 WAL") {
		t.Fatalf("register again: %d %q %q", code, out, errOut)
	}
	if after, _ := e.net.Chain.Nodes(t.Context()); len(after) != len(before)+1 {
		t.Fatalf("%d nodes after registering twice, want %d", len(after), len(before)+1)
	}
	if ss, _ := e.net.Chain.StakedWAL(t.Context(), mustLoadKey(t, info.OperatorWallet)); len(ss) != 1 {
		t.Fatalf("%d stakes after registering twice, want 1", len(ss))
	}
}

func mustLoadKey(t *testing.T, path string) chain.Address {
	t.Helper()
	k, err := chain.LoadAccountKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k.Address()
}
