package p2p

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "network.key")

	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.priv.Type() != crypto.Ed25519 {
		t.Fatalf("key type %v, want Ed25519", k1.priv.Type())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != KeyFileMode {
		t.Errorf("key file mode %04o, want %04o", fi.Mode().Perm(), KeyFileMode)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %04o, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want just the key", len(entries))
	}

	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.priv.Equals(k2.priv) {
		t.Fatal("second start loaded a different key")
	}
	id1, _ := PeerIDFromKey(k1)
	id2, _ := peer.IDFromPrivateKey(k2.priv)
	if id1 != id2 || id1 == "" {
		t.Fatalf("peer IDs %s and %s", id1, id2)
	}
}

func TestLoadOrCreateKeyRefusesOpenPermissions(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o666} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "network.key")
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			_, err = LoadOrCreateKey(path)
			if !errors.Is(err, ErrKeyPermissions) {
				t.Fatalf("err = %v, want ErrKeyPermissions", err)
			}
			// Refused, not replaced or fixed: the operator decides.
			after, _ := os.ReadFile(path)
			fi, _ := os.Stat(path)
			if string(before) != string(after) || fi.Mode().Perm() != mode {
				t.Fatal("the key file was changed")
			}
			if err := os.Chmod(path, 0o400); err != nil {
				t.Fatal(err)
			}
			k2, err := LoadOrCreateKey(path)
			if err != nil || !k.priv.Equals(k2.priv) {
				t.Fatalf("a 0400 key file: %v", err)
			}
		})
	}
}

func TestLoadOrCreateKeyRejectsBadFiles(t *testing.T) {
	secp, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secpRaw, _ := crypto.MarshalPrivateKey(secp)
	tests := []struct {
		name    string
		content []byte
	}{
		{"garbage", []byte("not a key")},
		{"empty", nil},
		{"secp256k1 key", secpRaw},
		{"too large", make([]byte, 8<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "network.key")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadOrCreateKey(path); !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("err = %v, want ErrInvalidKey", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(tt.content) {
				t.Fatal("a bad key file was overwritten")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "network.key")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKey(path); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("err = %v, want ErrInvalidKey", err)
		}
	})
}

func TestLoadOrCreateKeyConcurrentFirstStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "network.key")
	const n = 8
	keys := make([]NetworkKey, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if keys[i].IsZero() || !keys[0].priv.Equals(keys[i].priv) {
			t.Fatalf("caller %d got a different key", i)
		}
	}
}
