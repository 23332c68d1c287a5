package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Errors of the network key file.
var (
	// ErrKeyPermissions is returned by LoadOrCreateKey for a key file that
	// group or others may access. The key is not used; restrict the file
	// (chmod 600) after checking that it has not leaked.
	ErrKeyPermissions = errors.New("p2p: key file permissions too open")
	// ErrInvalidKey is returned for a key file that does not hold an Ed25519
	// libp2p private key, and by NewHost for a key that is not Ed25519.
	ErrInvalidKey = errors.New("p2p: invalid network key")
)

// KeyFileMode is the permission of a network key file: owner read and write
// only.
const KeyFileMode fs.FileMode = 0o600

// NetworkKey is a host's Ed25519 network key: its libp2p identity, whose
// peer ID a storage node registers on chain. The zero value holds no key.
// libp2p's key types stay inside this package; callers hold a NetworkKey.
type NetworkKey struct{ priv crypto.PrivKey }

// IsZero reports whether k holds no key.
func (k NetworkKey) IsZero() bool { return k.priv == nil }

// PeerID returns the key's peer ID (empty for the zero key).
func (k NetworkKey) PeerID() peer.ID {
	if k.priv == nil {
		return ""
	}
	id, err := peer.IDFromPrivateKey(k.priv)
	if err != nil {
		return ""
	}
	return id
}

// Sign signs msg with the key (Ed25519, 64 bytes).
func (k NetworkKey) Sign(msg []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, fmt.Errorf("%w: no key", ErrInvalidKey)
	}
	return k.priv.Sign(msg)
}

// PublicKey returns the raw 32-byte Ed25519 public key.
func (k NetworkKey) PublicKey() ([]byte, error) {
	if k.priv == nil {
		return nil, fmt.Errorf("%w: no key", ErrInvalidKey)
	}
	return k.priv.GetPublic().Raw()
}

// GenerateKey returns a fresh Ed25519 network key, for a host whose identity
// need not survive a restart (a client). A node uses LoadOrCreateKey.
func GenerateKey() (NetworkKey, error) {
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return NetworkKey{}, fmt.Errorf("p2p: generating network key: %w", err)
	}
	return NetworkKey{k}, nil
}

// LoadOrCreateKey returns the Ed25519 network key stored at path, creating it
// on first use. The file holds the key in libp2p's protobuf form
// (crypto.MarshalPrivateKey), with KeyFileMode permissions; its directory is
// created with 0700 if missing.
//
// It returns ErrKeyPermissions for an existing file that group or others may
// access (it does not fix them: the key may have leaked), and ErrInvalidKey
// for a file that is not an Ed25519 key. Creation is atomic: a concurrent
// caller either creates the file or loads the one another created.
func LoadOrCreateKey(path string) (NetworkKey, error) {
	k, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return NetworkKey{k}, err
	}
	nk, err := GenerateKey()
	if err != nil {
		return NetworkKey{}, err
	}
	raw, err := crypto.MarshalPrivateKey(nk.priv)
	if err != nil {
		return NetworkKey{}, fmt.Errorf("p2p: encoding network key: %w", err)
	}
	if err := writeKeyFile(path, raw); err != nil {
		if errors.Is(err, fs.ErrExist) {
			k, err := loadKey(path) // another process won the race
			return NetworkKey{k}, err
		}
		return NetworkKey{}, err
	}
	return nk, nil
}

func loadKey(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("p2p: network key %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrInvalidKey, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; it must be %04o (chmod 600 %s)",
			ErrKeyPermissions, path, perm, KeyFileMode, path)
	}
	const maxKeyFile = 4 << 10 // an Ed25519 key is 68 bytes in this form
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("p2p: network key %s: %w", path, err)
	}
	if len(raw) > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidKey, path, maxKeyFile)
	}
	k, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidKey, path, err)
	}
	if k.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("%w: %s holds a %s key, not Ed25519", ErrInvalidKey, path, k.Type())
	}
	return k, nil
}

// writeKeyFile writes raw to path with KeyFileMode, atomically and without
// replacing an existing file (fs.ErrExist then).
func writeKeyFile(path string, raw []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("p2p: network key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".netkey-*")
	if err != nil {
		return fmt.Errorf("p2p: writing network key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(KeyFileMode); err != nil {
		tmp.Close()
		return fmt.Errorf("p2p: writing network key: %w", err)
	}
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("p2p: writing network key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("p2p: writing network key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("p2p: writing network key: %w", err)
	}
	// A hard link publishes the complete file under its name, and fails if
	// the name exists: no reader sees a partial key, no key is replaced.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("p2p: writing network key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: persist the new name
		d.Close()
	}
	return nil
}

// PeerIDFromKey returns the peer ID of a network key.
func PeerIDFromKey(k NetworkKey) (peer.ID, error) {
	if k.priv == nil {
		return "", fmt.Errorf("%w: no key", ErrInvalidKey)
	}
	id, err := peer.IDFromPrivateKey(k.priv)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return id, nil
}
