package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/node"
)

// TestKeyFilePermissions: every key file of a node — network, protocol
// (BLS) and account (wallet) — obeys one rule: a key file that group or
// others may access is refused, naming the file, and no key is used.
func TestKeyFilePermissions(t *testing.T) {
	c := &node.Config{DataDir: t.TempDir()}
	c.EnsureDefaults()
	if _, err := node.LoadOrCreateKeys(c); err != nil {
		t.Fatal(err)
	}
	files := []string{c.NetworkKeyFile, c.ProtocolKeyFile, c.AccountKeyFile}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != chain.KeyFileMode {
			t.Fatalf("%s created with mode %v, %v; want %v", filepath.Base(f), fi.Mode(), err, chain.KeyFileMode)
		}
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		for _, f := range files {
			if err := os.Chmod(f, mode); err != nil {
				t.Fatal(err)
			}
			_, err := node.LoadOrCreateKeys(c)
			if !errors.Is(err, chain.ErrKeyPermissions) || !strings.Contains(err.Error(), f) {
				t.Errorf("%s with mode %04o: err = %v, want ErrKeyPermissions naming it", filepath.Base(f), mode, err)
			}
			if err := os.Chmod(f, chain.KeyFileMode); err != nil {
				t.Fatal(err)
			}
		}
	}
	// All three open: all three named at once.
	for _, f := range files {
		os.Chmod(f, 0o644)
	}
	_, err := node.LoadOrCreateKeys(c)
	for _, f := range files {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("the error does not name %s: %v", filepath.Base(f), err)
		}
	}
	// The owner's read-only mode is fine.
	for _, f := range files {
		os.Chmod(f, 0o400)
	}
	if _, err := node.LoadOrCreateKeys(c); err != nil {
		t.Errorf("keys of mode 0400: %v", err)
	}
}

func TestBufferConfig(t *testing.T) {
	c := node.Config{DataDir: "x"}
	c.EnsureDefaults()
	if c.MaxBufferedBytes != node.DefaultMaxBufferedBytes || c.MaxBufferedBytesPerPeer != node.DefaultMaxBufferedBytesPerPeer {
		t.Fatalf("defaults %d, %d", c.MaxBufferedBytes, c.MaxBufferedBytesPerPeer)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	small := node.Config{DataDir: "x", MaxBufferedBytes: 1 << 20}
	small.EnsureDefaults()
	if small.MaxBufferedBytesPerPeer != 1<<20 {
		t.Fatalf("per-peer default with a small total: %d, want the total", small.MaxBufferedBytesPerPeer)
	}
	bad := node.Config{DataDir: "x", MaxBufferedBytes: 1 << 20, MaxBufferedBytesPerPeer: 2 << 20}
	bad.EnsureDefaults()
	if err := bad.Validate(); !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), "max_buffered_bytes_per_peer") {
		t.Fatalf("per-peer share over the total: %v", err)
	}
}
