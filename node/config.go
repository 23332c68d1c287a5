package node

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/p2p"
)

// Defaults of Config.
const (
	DefaultAdminAddr        = "127.0.0.1:9184"
	DefaultMaxBufferedBytes = 256 << 20
	// DefaultMaxBufferedBytesPerPeer is half of DefaultMaxBufferedBytes: it
	// holds the largest sliver pair (two frames of p2p.MaxSliverFrameSize
	// would not fit, but a pair's secondary sliver is at most rows/cols of
	// its primary) with room to spare.
	DefaultMaxBufferedBytesPerPeer = 128 << 20
	DefaultBufferTTL               = 2 * time.Minute
	DefaultConfirmationWait        = 10 * time.Second
	DefaultRecoveryWorkers         = 4
	DefaultRecoveryAttempts        = 8
	DefaultRecoveryBackoff         = 500 * time.Millisecond
	DefaultEventPollWait           = 10 * time.Second
	DefaultChainRetryBackoff       = time.Second
	// Shard sync at epoch changes (shardsync.go).
	DefaultShardSyncBatch    = 256
	DefaultShardSyncTimeout  = 2 * time.Minute
	DefaultShardSyncAttempts = 3
	DefaultShardSyncWorkers  = 2
	// MaxShardSyncWorkers bounds ShardSyncWorkers.
	MaxShardSyncWorkers = 64
	// MaxBufferTTL bounds BufferTTL: buffered data waits for a
	// registration that a client sends just before its slivers.
	MaxBufferTTL = time.Hour
)

// ErrConfig is returned for an invalid configuration; the message names the
// fields.
var ErrConfig = errors.New("node: invalid config")

// Config configures a storage node. It is loaded from YAML (LoadConfig);
// relative paths are relative to the config file's folder. The zero value of
// each optional field means its default.
type Config struct {
	// Name is the node's name on chain (informational).
	Name string `yaml:"name"`
	// DataDir holds the node's database ("db" below it) and, by default, its
	// keys.
	DataDir string `yaml:"data_dir"`
	// NetworkKeyFile is the libp2p Ed25519 key (default DataDir/network.key).
	NetworkKeyFile string `yaml:"network_key_file"`
	// ProtocolKeyFile is the BLS protocol key (default DataDir/protocol.key).
	ProtocolKeyFile string `yaml:"protocol_key_file"`
	// AccountKeyFile is the operator's account key, which signs the node's
	// transactions (default DataDir/account.key).
	AccountKeyFile string `yaml:"account_key_file"`
	// ListenAddrs are the libp2p multiaddrs to listen on (default: TCP and
	// QUIC on every interface, port 9100).
	ListenAddrs []string `yaml:"listen_addrs"`
	// AdminAddr is the HTTP address of /health, /metrics and the status
	// page; "off" disables it.
	AdminAddr string `yaml:"admin_addr"`
	// Chain selects the chain the node follows (chain/backend.Config:
	// chain_url of the embedded chain's HTTP API, walrus chain serve, or
	// chain: sui with a sui block). Unused when the node is given a chain
	// in process.
	Chain backend.Config `yaml:",inline"`
	// NodeID is the node's ID on chain; empty means find it by protocol key.
	NodeID string `yaml:"node_id"`

	// MaxBufferedBytes bounds the metadata and slivers the intake holds in
	// memory: the verified slivers of sliver/put requests in progress, and
	// what waits for a blob's registration or a pair's other half. Every
	// byte is reserved before it is held; what does not fit is refused
	// with p2p.ErrBusy (ErrIntakeFull). /health reports the bytes held.
	MaxBufferedBytes int64 `yaml:"max_buffered_bytes"`
	// MaxBufferedBytesPerPeer is the share of MaxBufferedBytes one peer's
	// requests may hold at once. Peer identities are free: the total is
	// what bounds the node's memory; this keeps one requester from taking
	// it all by itself. A sliver pair larger than this cannot be stored.
	MaxBufferedBytesPerPeer int64 `yaml:"max_buffered_bytes_per_peer"`
	// BufferTTL is how long such data waits for its registration.
	BufferTTL time.Duration `yaml:"buffer_ttl"`
	// ConfirmationWait is how long a confirmation request waits for slivers
	// still in the buffer to be stored.
	ConfirmationWait time.Duration `yaml:"confirmation_wait"`
	// RecoveryWorkers bounds the blobs recovered at once;
	// RecoveryAttempts and RecoveryBackoff set the retries per blob.
	RecoveryWorkers  int           `yaml:"recovery_workers"`
	RecoveryAttempts int           `yaml:"recovery_attempts"`
	RecoveryBackoff  time.Duration `yaml:"recovery_backoff"`
	// EventPollWait is the long-poll wait on the chain's event stream.
	EventPollWait time.Duration `yaml:"event_poll_wait"`
	// CacheSize is the store's block cache in bytes (0: the store's default).
	CacheSize int64 `yaml:"cache_size"`

	// ShardSyncBatch is how many sliver pairs one shard-sync request asks
	// the previous holder of a shard for (1 to p2p.MaxShardSyncLimit).
	ShardSyncBatch int `yaml:"shard_sync_batch"`
	// ShardSyncTimeout bounds one shard-sync response; a holder slower than
	// that counts as failed.
	ShardSyncTimeout time.Duration `yaml:"shard_sync_timeout"`
	// ShardSyncAttempts is how many failed requests in a row to the
	// previous holder end its shard's pull; the rest is recovered from all
	// nodes. A holder that lies is left at once.
	ShardSyncAttempts int `yaml:"shard_sync_attempts"`
	// ShardSyncWorkers bounds the shards synced at once.
	ShardSyncWorkers int `yaml:"shard_sync_workers"`

	// ChallengeWindow is how long, from the end of an epoch change, the
	// node keeps challenging a member that fails or does not answer its
	// storage challenges before it attests (at most half the epoch);
	// ChallengeBackoff is the first wait between attempts, doubling;
	// ChallengeWorkers bounds the members challenged at once.
	ChallengeWindow  time.Duration `yaml:"challenge_window"`
	ChallengeBackoff time.Duration `yaml:"challenge_backoff"`
	ChallengeWorkers int           `yaml:"challenge_workers"`
	// ScrubRate bounds the bytes per second the scrubber reads (scrub.go;
	// default DefaultScrubRate); negative turns scrubbing off (damage that
	// reads and compactions find is still repaired). ScrubInterval is the
	// least time between the starts of two passes.
	ScrubRate     int64         `yaml:"scrub_rate"`
	ScrubInterval time.Duration `yaml:"scrub_interval"`
}

// EnsureDefaults fills in every unset optional field.
func (c *Config) EnsureDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.NetworkKeyFile, filepath.Join(c.DataDir, "network.key"))
	def(&c.ProtocolKeyFile, filepath.Join(c.DataDir, "protocol.key"))
	def(&c.AccountKeyFile, filepath.Join(c.DataDir, "account.key"))
	def(&c.AdminAddr, DefaultAdminAddr)
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = append([]string(nil), p2p.DefaultListenAddrs...)
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.MaxBufferedBytesPerPeer == 0 {
		c.MaxBufferedBytesPerPeer = min(DefaultMaxBufferedBytesPerPeer, c.MaxBufferedBytes)
	}
	if c.BufferTTL == 0 {
		c.BufferTTL = DefaultBufferTTL
	}
	if c.ConfirmationWait == 0 {
		c.ConfirmationWait = DefaultConfirmationWait
	}
	if c.RecoveryWorkers == 0 {
		c.RecoveryWorkers = DefaultRecoveryWorkers
	}
	if c.RecoveryAttempts == 0 {
		c.RecoveryAttempts = DefaultRecoveryAttempts
	}
	if c.RecoveryBackoff == 0 {
		c.RecoveryBackoff = DefaultRecoveryBackoff
	}
	if c.EventPollWait == 0 {
		c.EventPollWait = DefaultEventPollWait
	}
	if c.ShardSyncBatch == 0 {
		c.ShardSyncBatch = DefaultShardSyncBatch
	}
	if c.ShardSyncTimeout == 0 {
		c.ShardSyncTimeout = DefaultShardSyncTimeout
	}
	if c.ShardSyncAttempts == 0 {
		c.ShardSyncAttempts = DefaultShardSyncAttempts
	}
	if c.ShardSyncWorkers == 0 {
		c.ShardSyncWorkers = DefaultShardSyncWorkers
	}
	if c.ChallengeWindow == 0 {
		c.ChallengeWindow = DefaultChallengeWindow
	}
	if c.ChallengeBackoff == 0 {
		c.ChallengeBackoff = DefaultChallengeBackoff
	}
	if c.ChallengeWorkers == 0 {
		c.ChallengeWorkers = DefaultChallengeWorkers
	}
	c.scrubDefaults()
}

// Validate reports every invalid field, naming each.
func (c *Config) Validate() error {
	var bad []string
	if c.DataDir == "" {
		bad = append(bad, "data_dir must be set")
	}
	if c.MaxBufferedBytes < 0 {
		bad = append(bad, fmt.Sprintf("max_buffered_bytes (%d) must be ≥ 0", c.MaxBufferedBytes))
	}
	if c.MaxBufferedBytesPerPeer < 0 || c.MaxBufferedBytesPerPeer > c.MaxBufferedBytes {
		bad = append(bad, fmt.Sprintf("max_buffered_bytes_per_peer (%d) must lie in [0, max_buffered_bytes (%d)]",
			c.MaxBufferedBytesPerPeer, c.MaxBufferedBytes))
	}
	if c.BufferTTL < 0 || c.BufferTTL > MaxBufferTTL {
		bad = append(bad, fmt.Sprintf("buffer_ttl (%s) must lie in [0, %s]", c.BufferTTL, MaxBufferTTL))
	}
	if c.ConfirmationWait < 0 {
		bad = append(bad, fmt.Sprintf("confirmation_wait (%s) must be ≥ 0", c.ConfirmationWait))
	}
	if c.RecoveryWorkers < 1 || c.RecoveryWorkers > 256 {
		bad = append(bad, fmt.Sprintf("recovery_workers (%d) must lie in [1, 256]", c.RecoveryWorkers))
	}
	if c.RecoveryAttempts < 1 {
		bad = append(bad, fmt.Sprintf("recovery_attempts (%d) must be ≥ 1", c.RecoveryAttempts))
	}
	if c.EventPollWait <= 0 || c.EventPollWait > time.Minute {
		bad = append(bad, fmt.Sprintf("event_poll_wait (%s) must lie in (0, 1m]", c.EventPollWait))
	}
	if c.ShardSyncBatch < 1 || c.ShardSyncBatch > p2p.MaxShardSyncLimit {
		bad = append(bad, fmt.Sprintf("shard_sync_batch (%d) must lie in [1, %d]", c.ShardSyncBatch, p2p.MaxShardSyncLimit))
	}
	if c.ShardSyncTimeout <= 0 {
		bad = append(bad, fmt.Sprintf("shard_sync_timeout (%s) must be > 0", c.ShardSyncTimeout))
	}
	if c.ShardSyncAttempts < 1 {
		bad = append(bad, fmt.Sprintf("shard_sync_attempts (%d) must be ≥ 1", c.ShardSyncAttempts))
	}
	if c.ShardSyncWorkers < 1 || c.ShardSyncWorkers > MaxShardSyncWorkers {
		bad = append(bad, fmt.Sprintf("shard_sync_workers (%d) must lie in [1, %d]", c.ShardSyncWorkers, MaxShardSyncWorkers))
	}
	if c.ChallengeWindow < 0 || c.ChallengeBackoff < 0 {
		bad = append(bad, fmt.Sprintf("challenge_window (%s) and challenge_backoff (%s) must be ≥ 0", c.ChallengeWindow, c.ChallengeBackoff))
	}
	if c.ChallengeWorkers < 1 || c.ChallengeWorkers > 256 {
		bad = append(bad, fmt.Sprintf("challenge_workers (%d) must lie in [1, 256]", c.ChallengeWorkers))
	}
	bad = append(bad, c.validateScrub()...)
	if c.NodeID != "" {
		if _, err := chain.ParseObjectID(c.NodeID); err != nil {
			bad = append(bad, fmt.Sprintf("node_id: %v", err))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(bad, "; "))
	}
	return nil
}

// LoadConfig reads a YAML config file, resolves relative paths against its
// folder, fills in defaults and validates it. Unknown fields are errors.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c Config
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	base := filepath.Dir(path)
	for _, p := range []*string{&c.DataDir, &c.NetworkKeyFile, &c.ProtocolKeyFile, &c.AccountKeyFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// WriteConfig writes c as YAML to path (0600).
func WriteConfig(path string, c *Config) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// NodeKeys are a node's three keys.
type NodeKeys struct {
	// Network is the libp2p identity; its peer ID is registered on chain.
	Network p2p.NetworkKey
	// PeerID is the network key's peer ID.
	PeerID string
	// Protocol signs storage confirmations.
	Protocol *chain.BLSPrivateKey
	// Account signs the node's transactions.
	Account *chain.AccountKey
}

// LoadOrCreateKeys loads the node's keys from the files the config names,
// creating any that is missing (0600).
//
// Every key file obeys one rule (chain.CheckKeyFileMode): a regular file
// that neither group nor others may access. Before it loads anything,
// LoadOrCreateKeys checks the three and returns an error matching
// chain.ErrKeyPermissions that names every file breaking it; no key is used
// then.
func LoadOrCreateKeys(c *Config) (*NodeKeys, error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := checkKeyFiles(c.NetworkKeyFile, c.ProtocolKeyFile, c.AccountKeyFile); err != nil {
		return nil, err
	}
	netKey, err := p2p.LoadOrCreateKey(c.NetworkKeyFile)
	if err != nil {
		return nil, err
	}
	pid, err := p2p.PeerIDFromKey(netKey)
	if err != nil {
		return nil, err
	}
	bls, err := loadOrCreate(c.ProtocolKeyFile, chain.LoadBLSKey, func() (*chain.BLSPrivateKey, error) {
		k, err := chain.GenerateBLSKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return k, chain.SaveBLSKey(c.ProtocolKeyFile, k)
	})
	if err != nil {
		return nil, err
	}
	acct, err := loadOrCreate(c.AccountKeyFile, chain.LoadAccountKey, func() (*chain.AccountKey, error) {
		k, err := chain.GenerateAccountKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return k, chain.SaveAccountKey(c.AccountKeyFile, k)
	})
	if err != nil {
		return nil, err
	}
	return &NodeKeys{Network: netKey, PeerID: pid.String(), Protocol: bls, Account: acct}, nil
}

// checkKeyFiles applies the key file rule to each existing file of paths,
// and reports every one that breaks it.
func checkKeyFiles(paths ...string) error {
	var errs []error
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // created, 0600, on first use
		}
		if err == nil {
			err = chain.CheckKeyFileMode(p, fi)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("node: key files: %w", errors.Join(errs...))
	}
	return nil
}

func loadOrCreate[K any](path string, load func(string) (K, error), create func() (K, error)) (K, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return create()
	}
	return load(path)
}

// RegisterArgs returns the arguments that register the node with these keys
// on chain in epoch: its name, peer ID, addresses, protocol key with its
// proof of possession for the operator, the network key's signature of the
// peer ID, and commission (basis points).
func (k *NodeKeys) RegisterArgs(name string, addrs []string, epoch uint32, commission uint16) chain.RegisterNodeArgs {
	// The peer ID is the network key's, so signing cannot fail but for a
	// broken key; the chain then refuses the registration.
	netSig, _ := chain.SignNetworkKey(k.Network, epoch, k.Account.Address(), k.PeerID)
	return chain.RegisterNodeArgs{
		Name: name, PeerID: k.PeerID, Addresses: addrs,
		PublicKey:           k.Protocol.PublicKey(),
		ProofOfPossession:   k.Protocol.ProofOfPossession(epoch, k.Account.Address()),
		NetworkKeySignature: netSig,
		Commission:          commission,
	}
}
