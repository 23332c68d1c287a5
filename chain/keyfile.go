package chain

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Key files hold one key as a line of standard base64:
//
//	account key  base64(0x00 ‖ Ed25519 seed(32))   (a Sui keystore entry)
//	BLS key      base64(0x00 ‖ scalar(32))         (this project's)
//
// They are written with mode 0600, atomically (temporary file, then rename).
const (
	accountKeyFlag = 0x00
	blsKeyFlag     = 0x00
	// MaxKeyFileSize bounds what the loaders read.
	MaxKeyFileSize = 4096
)

// KeyFileMode is the permission of a key file: owner read and write only.
//
// The rule for every key file of this project — wallet (account) keys, BLS
// protocol keys, and the libp2p network key (p2p.KeyFileMode, the same
// rule, checked by p2p.LoadOrCreateKey) — is CheckKeyFileMode's: a key file
// must be a regular file that neither group nor others may access.
const KeyFileMode fs.FileMode = 0o600

// ErrKeyPermissions is returned for a key file that group or others may
// access. The key is not used: restrict the file (chmod 600) after checking
// that the key has not leaked.
var ErrKeyPermissions = errors.New("chain: key file permissions too open")

// CheckKeyFileMode applies the rule of every key file to the file at path
// whose information is fi: it returns ErrKeyPermissions (naming the file, its
// mode and the fix) if group or others may access it, and ErrInvalidKey if it
// is not a regular file. A mode stricter than KeyFileMode (0400) is fine.
func CheckKeyFileMode(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrInvalidKey, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; it must be %04o (chmod 600 %s)", ErrKeyPermissions, path, perm, KeyFileMode, path)
	}
	return nil
}

// SaveAccountKey writes an account key file (mode 0600).
func SaveAccountKey(path string, k *AccountKey) error {
	return writeKeyFile(path, append([]byte{accountKeyFlag}, k.Seed()...))
}

// LoadAccountKey reads an account key file. It returns ErrKeyPermissions
// for a file that group or others may access (CheckKeyFileMode), and
// ErrInvalidKey (wrapped) for content that does not parse.
func LoadAccountKey(path string) (*AccountKey, error) {
	b, err := readKeyFile(path, accountKeyFlag, AccountKeySeedSize)
	if err != nil {
		return nil, err
	}
	return AccountKeyFromSeed(b)
}

// ParseAccountKey parses the content of an account key file.
func ParseAccountKey(text []byte) (*AccountKey, error) {
	b, err := parseKey(text, accountKeyFlag, AccountKeySeedSize)
	if err != nil {
		return nil, err
	}
	return AccountKeyFromSeed(b)
}

// SaveBLSKey writes a BLS protocol key file (mode 0600).
func SaveBLSKey(path string, k *BLSPrivateKey) error {
	return writeKeyFile(path, append([]byte{blsKeyFlag}, k.Bytes()...))
}

// LoadBLSKey reads a BLS protocol key file. It returns ErrKeyPermissions
// for a file that group or others may access (CheckKeyFileMode), and
// ErrInvalidKey (wrapped) for content that does not parse.
func LoadBLSKey(path string) (*BLSPrivateKey, error) {
	b, err := readKeyFile(path, blsKeyFlag, BLSPrivateKeySize)
	if err != nil {
		return nil, err
	}
	return BLSPrivateKeyFromBytes(b)
}

// ParseBLSKey parses the content of a BLS key file.
func ParseBLSKey(text []byte) (*BLSPrivateKey, error) {
	b, err := parseKey(text, blsKeyFlag, BLSPrivateKeySize)
	if err != nil {
		return nil, err
	}
	return BLSPrivateKeyFromBytes(b)
}

func writeKeyFile(path string, raw []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(KeyFileMode); err != nil {
		f.Close()
		return err
	}
	line := base64.StdEncoding.EncodeToString(raw) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readKeyFile(path string, flag byte, size int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat() // the file opened, not the name: no race with a swap
	if err != nil {
		return nil, err
	}
	if err := CheckKeyFileMode(path, fi); err != nil {
		return nil, err
	}
	buf, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(buf) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidKey, path, MaxKeyFileSize)
	}
	b, err := parseKey(buf, flag, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func parseKey(text []byte, flag byte, size int) ([]byte, error) {
	if len(text) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key longer than %d bytes", ErrInvalidKey, MaxKeyFileSize)
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %v", ErrInvalidKey, err)
	}
	if len(raw) != 1+size || raw[0] != flag {
		return nil, fmt.Errorf("%w: want flag %#x and %d key bytes, got %d bytes", ErrInvalidKey, flag, size, len(raw))
	}
	return raw[1:], nil
}
