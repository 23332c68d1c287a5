package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oracleBytes makes the bytes of the golden vectors (encoding/testdata).
func oracleBytes(size int, seed uint32) []byte {
	b := make([]byte, size)
	x := seed
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 24)
	}
	return b
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(args, &out, &errb)
	return out.String(), errb.String(), code
}

// noClientConfig makes the test's commands find no client config file.
func noClientConfig(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("WALRUS_CONFIG", "")
	t.Setenv("WALRUS_CHAIN_URL", "")
}

func TestBlobIDCommand(t *testing.T) {
	noClientConfig(t)
	dir := t.TempDir()
	f1000 := filepath.Join(dir, "a.bin")
	f10 := filepath.Join(dir, "b.bin")
	os.WriteFile(f1000, oracleBytes(1024, 29), 0o644)
	os.WriteFile(f10, oracleBytes(1793, 13), 0o644)

	// Blob IDs from Walrus's own encoder (encoding/testdata).
	out, _, code := runCLI(t, "blob-id", f1000)
	if code != 0 || !strings.Contains(out, "Blob ID: DfuAIC2gw5UVFAQ_ajgYMjavU4oD_Gu8Wt1Tjq_rg4I\n") {
		t.Fatalf("default n-shards (1000): code %d, output %q", code, out)
	}
	out, _, code = runCLI(t, "blob-id", "--json", "--n-shards", "10", f10)
	var got map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("--json: code %d, output %q", code, out)
	}
	want := map[string]any{"blobId": "m_7G0mePnudMwM6m_lrsXAdoALjkuXBMLkcr2QMQ56w", "file": f10, "unencodedLength": 1793.0, "encodingType": "RS2", "nShards": 10.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("JSON %s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("JSON has keys %v, want exactly %v", got, want)
	}

	// Too large for n = 4 (max 6·65,534 bytes): non-zero exit, clear message.
	big := filepath.Join(dir, "big.bin")
	os.WriteFile(big, make([]byte, 6*65534+1), 0o644)
	_, errOut, code := runCLI(t, "blob-id", "--n-shards", "4", big)
	if code == 0 || !strings.Contains(errOut, "blob too large") || !strings.Contains(errOut, "393204") {
		t.Fatalf("oversized file: code %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{
		{"blob-id", "--n-shards", "3", f10},
		{"blob-id", filepath.Join(dir, "missing")},
		{"blob-id", dir},
		{"blob-id"},
	} {
		if _, errOut, code := runCLI(t, args...); code == 0 || errOut == "" {
			t.Errorf("%v: code %d, stderr %q; want a failure with a message", args, code, errOut)
		}
	}
}
