// Package backend chooses and opens a chain backend from configuration: the
// embedded chain's HTTP API (chain/local, the default) or Sui (chain/sui).
// It is the one way the walrus commands, client contexts and node configs
// reach a chain.
package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/chain/sui"
)

// The backends.
const (
	// Local is the embedded chain served by `walrus chain serve` or a
	// devnet, reached at ChainURL.
	Local = "local"
	// Sui is Walrus's Move package on a Sui network, reached through the
	// Sui block.
	Sui = "sui"
)

// ErrConfig is returned for a backend configuration that does not fit.
var ErrConfig = errors.New("backend: invalid chain configuration")

// Config selects a chain backend. It is embedded (inline) in client
// contexts and node configs:
//
//	chain: sui            # or "local" (the default)
//	chain_url: http://127.0.0.1:9180   # local only
//	sui:                  # sui only: chain/sui.Config
//	  rpcUrl: https://fullnode.testnet.sui.io:443
//	  package: "0x…"
//	  system: "0x…"
//	  staking: "0x…"
//	  walType: "0x…::wal::WAL"
type Config struct {
	Chain    string      `yaml:"chain,omitempty"`
	ChainURL string      `yaml:"chain_url,omitempty"`
	Sui      *sui.Config `yaml:"sui,omitempty"`
}

// Kind returns the backend's name (Local when unset).
func (c Config) Kind() string {
	if c.Chain == "" {
		return Local
	}
	return c.Chain
}

// Validate checks the configuration, naming the field at fault.
func (c Config) Validate() error {
	switch c.Kind() {
	case Local:
		if strings.TrimSpace(c.ChainURL) == "" {
			return fmt.Errorf("%w: chain_url is required for the local chain", ErrConfig)
		}
		if c.Sui != nil {
			return fmt.Errorf("%w: a sui block with chain %q; set chain: sui", ErrConfig, c.Chain)
		}
	case Sui:
		if c.Sui == nil {
			return fmt.Errorf("%w: chain: sui needs a sui block (rpcUrl, package, system, staking, walType)", ErrConfig)
		}
		s := *c.Sui
		s.EnsureDefaults()
		if err := s.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	default:
		return fmt.Errorf("%w: chain %q: want %q or %q", ErrConfig, c.Chain, Local, Sui)
	}
	return nil
}

// Describe names the chain for messages: its URL or Sui RPC endpoint.
func (c Config) Describe() string {
	if c.Kind() == Sui && c.Sui != nil {
		return "sui " + c.Sui.RPCURL
	}
	return c.ChainURL
}

// Open validates c and opens its backend. ctx bounds the opening only.
func Open(ctx context.Context, c Config) (chain.Chain, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch c.Kind() {
	case Sui:
		ch, err := sui.Open(ctx, *c.Sui)
		if err != nil {
			return nil, fmt.Errorf("chain %s: %w", c.Describe(), err)
		}
		return ch, nil
	default:
		ch, err := local.NewClient(c.ChainURL)
		if err != nil {
			return nil, fmt.Errorf("chain %s: %w", c.Describe(), err)
		}
		return ch, nil
	}
}
