package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain/backend"
)

// ConfigEnv is the environment variable that names the client config file.
const ConfigEnv = "WALRUS_CONFIG"

// MaxConfigFileSize bounds a client config file.
const MaxConfigFileSize = 1 << 20

// ErrConfig is returned by LoadConfig, ParseConfig and ConfigFile.Context
// for a config file that does not parse or lacks what is asked of it.
var ErrConfig = errors.New("client: invalid config file")

// ConfigFile is the client config file (YAML), with one context per
// network:
//
//	default_context: devnet
//	contexts:
//	  devnet:
//	    chain_url: http://127.0.0.1:9000
//	    wallet: /home/me/.config/walrus/devnet.key
//	    daemon_url: http://127.0.0.1:31415
//	  testnet:
//	    chain: sui
//	    sui: {rpcUrl: "https://…", package: "0x…", system: "0x…", staking: "0x…", walType: "0x…::wal::WAL"}
//	    wallet: testnet.key
//
// The chain keys are chain/backend.Config's.
// A relative wallet path is relative to the file's directory.
type ConfigFile struct {
	DefaultContext string                   `yaml:"default_context"`
	Contexts       map[string]ClientContext `yaml:"contexts"`
}

// ClientContext is how to reach one network.
type ClientContext struct {
	// Config selects the chain: the embedded chain's HTTP API at ChainURL
	// (walrus chain serve, a devnet), or Sui.
	backend.Config `yaml:",inline"`
	// Wallet is the path of the account key file that pays and owns
	// blobs (chain.LoadAccountKey).
	Wallet string `yaml:"wallet,omitempty"`
	// DaemonURL is the publisher/aggregator of the network, if any.
	DaemonURL string `yaml:"daemon_url,omitempty"`
}

// DefaultConfigPath returns $WALRUS_CONFIG, or ~/.config/walrus/client.yaml
// (os.UserConfigDir).
func DefaultConfigPath() (string, error) {
	if p := os.Getenv(ConfigEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("client: no config directory (set %s): %w", ConfigEnv, err)
	}
	return filepath.Join(dir, "walrus", "client.yaml"), nil
}

// LoadConfig reads a client config file. Relative wallet paths are made
// absolute against the file's directory.
func LoadConfig(path string) (*ConfigFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxConfigFileSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrConfig, path, MaxConfigFileSize)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for name, ctx := range cfg.Contexts {
		if ctx.Wallet != "" && !filepath.IsAbs(ctx.Wallet) {
			ctx.Wallet = filepath.Join(dir, ctx.Wallet)
			cfg.Contexts[name] = ctx
		}
	}
	return cfg, nil
}

// ParseConfig parses a client config file's content. Unknown fields are
// errors, so that a typo does not pass silently.
func ParseConfig(b []byte) (*ConfigFile, error) {
	var cfg ConfigFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Validate checks that the default context exists and every context names
// a chain.
func (c *ConfigFile) Validate() error {
	var errs []error
	if len(c.Contexts) == 0 {
		errs = append(errs, fmt.Errorf("%w: no contexts", ErrConfig))
	}
	if c.DefaultContext != "" {
		if _, ok := c.Contexts[c.DefaultContext]; !ok {
			errs = append(errs, fmt.Errorf("%w: default_context %q is not among the contexts %v", ErrConfig, c.DefaultContext, c.contextNames()))
		}
	}
	for _, name := range c.contextNames() {
		cc := c.Contexts[name]
		if cc.Kind() == backend.Local && strings.TrimSpace(cc.ChainURL) == "" {
			errs = append(errs, fmt.Errorf("%w: context %q has no chain_url", ErrConfig, name))
		} else if err := cc.Config.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: context %q: %v", ErrConfig, name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *ConfigFile) contextNames() []string {
	names := make([]string, 0, len(c.Contexts))
	for n := range c.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Context returns the named context, or the default one for "" (the only
// one, when there is one and no default is set).
func (c *ConfigFile) Context(name string) (ClientContext, string, error) {
	if name == "" {
		name = c.DefaultContext
	}
	if name == "" && len(c.Contexts) == 1 {
		name = c.contextNames()[0]
	}
	if name == "" {
		return ClientContext{}, "", fmt.Errorf("%w: no default_context; pick one of %v with --context", ErrConfig, c.contextNames())
	}
	ctx, ok := c.Contexts[name]
	if !ok {
		return ClientContext{}, "", fmt.Errorf("%w: no context %q (have %v)", ErrConfig, name, c.contextNames())
	}
	return ctx, name, nil
}

// WriteConfig writes a client config file atomically (a temporary file,
// then a rename), creating its directory (0700) if needed. The file is
// 0600: it names the wallet.
func WriteConfig(path string, cfg *ConfigFile) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".client-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
