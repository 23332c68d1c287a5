package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fardream/go-bcs/bcs"
	"golang.org/x/crypto/blake2b"
	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Defaults of a genesis.
const (
	// DefaultNShards is the local network's shard count (DESIGN.md §2).
	DefaultNShards = 100
	// DefaultEpochDuration suits a devnet: epochs pass while one watches.
	DefaultEpochDuration = 10 * time.Minute
	// DefaultMaxEpochsAhead is Walrus mainnet's.
	DefaultMaxEpochsAhead = 53
	// DefaultStoragePrice is FROST per MiB of encoded length per epoch.
	DefaultStoragePrice = 100_000
	// DefaultWritePrice is FROST per MiB of encoded length, once.
	DefaultWritePrice = 20_000
	// DefaultFaucetPerAccount is the most one account gets from a faucet
	// made by SafeFaucet: 1,000 WAL.
	DefaultFaucetPerAccount = 1000 * chain.FrostPerWAL
	// DefaultMinStake is the smallest stake one transaction adds.
	DefaultMinStake = chain.FrostPerWAL / 1000
	// DefaultCapacity is a node's capacity when its genesis entry names none.
	DefaultCapacity = 1 << 40
)

// Limits of a genesis.
const (
	// MinEpochDuration keeps a misconfigured chain from spinning.
	MinEpochDuration = 100 * time.Millisecond
	// MaxGenesisNodes and MaxGenesisAccounts bound the genesis.
	MaxGenesisNodes    = 1000
	MaxGenesisAccounts = 10_000
	// MaxGenesisFileSize bounds a genesis file.
	MaxGenesisFileSize = 16 << 20
)

// Genesis is the initial state of a local chain. It is loadable from YAML
// or JSON (LoadGenesis) with the field names of its tags. Open stores the
// genesis (after EnsureDefaults) in the database; its hash, over its BCS
// encoding (not over field names), is the chain ID. testdata/genesis.golden
// pins the encoding.
//
// A Genesis is a plain value; it is not safe for concurrent mutation.
type Genesis struct {
	// Time is the start of epoch 1. Zero means when the chain is created.
	Time time.Time `json:"time" yaml:"time"`
	// NShards is n (default DefaultNShards).
	NShards int `json:"nShards" yaml:"nShards"`
	// EpochDuration is the length of an epoch (default
	// DefaultEpochDuration, at least MinEpochDuration).
	EpochDuration Duration `json:"epochDuration" yaml:"epochDuration"`
	// MaxEpochsAhead bounds storage purchases (default
	// DefaultMaxEpochsAhead).
	MaxEpochsAhead uint32 `json:"maxEpochsAhead" yaml:"maxEpochsAhead"`
	// StoragePrice and WritePrice are the prices of epoch 1, in FROST per
	// MiB of encoded length (defaults DefaultStoragePrice,
	// DefaultWritePrice). Later epochs take the votes of their committee.
	StoragePrice uint64 `json:"storagePrice" yaml:"storagePrice"`
	WritePrice   uint64 `json:"writePrice" yaml:"writePrice"`
	// Faucet, if set, gives the chain a faucet; without it there is none.
	// Validate refuses a faucet whose total could buy f + 1 shards
	// (MaxFaucetTotal); SafeFaucet makes one that cannot.
	Faucet *Faucet `json:"faucet,omitempty" yaml:"faucet,omitempty"`
	// MinStake is the smallest stake a transaction adds (default
	// DefaultMinStake).
	MinStake uint64 `json:"minStake" yaml:"minStake"`
	// Seed is the randomness of epoch 1's challenge seed; zero means random
	// at creation.
	Seed chain.Seed `json:"seed" yaml:"seed"`
	// Nodes are the storage nodes of epoch 1's committee.
	Nodes []GenesisNode `json:"nodes" yaml:"nodes"`
	// Accounts are funded at genesis.
	Accounts []GenesisAccount `json:"accounts" yaml:"accounts"`
}

// Faucet is a local chain's faucet: a finite pool of Total FROST that
// RequestWAL mints from, at most PerAccount to any one account over all its
// requests. Accounts are free, so PerAccount only spreads the pool; Total is
// what bounds the stake anyone can get from it (see MaxFaucetTotal).
type Faucet struct {
	Total      uint64 `json:"total" yaml:"total"`
	PerAccount uint64 `json:"perAccount" yaml:"perAccount"`
}

// MaxFaucetTotal is the largest faucet total that cannot buy a validity
// threshold (f + 1 shards) against the genesis stake: one less than the
// smallest stake that could win f + 1 of the genesis's shards at a committee
// selection where the genesis pools hold their genesis stake. It is the
// smaller of
//
//   - the smallest stake with which one new pool wins f + 1 shards by
//     D'Hondt among the genesis pools (ties going to the new pool), and
//   - the smallest stake with which new pools could push a genesis pool
//     out of the committee (MaxCommitteeSize, at most n, members): with
//     h < K = min(MaxCommitteeSize, n) genesis pools, K − h + 1 pools of
//     the smallest genesis stake; with h ≥ K, the K-th largest genesis
//     stake.
//
// Below the second bound every genesis pool stays in the committee, and
// D'Hondt never gives pools more shards for splitting their stake, so one
// pool is an attacker's best use of the faucet's WAL. The bound assumes
// the genesis pools keep their stake and are not held back by their
// declared capacity; stake the honest operators withdraw lowers it. A
// genesis without nodes has a bound of 0: any stake takes its committee.
func MaxFaucetTotal(g *Genesis) uint64 {
	n := g.NShards
	if n == 0 {
		n = DefaultNShards
	}
	var stakes []uint64
	for _, gn := range g.Nodes {
		if gn.Stake > 0 {
			stakes = append(stakes, gn.Stake)
		}
	}
	if len(stakes) == 0 || n < 1 {
		return 0
	}
	bound := min(captureStake(n, (n-1)/3+1, stakes), exclusionStake(n, stakes))
	return bound - 1
}

// SafeFaucet returns a capped faucet for a genesis whose nodes are set: a
// total of half MaxFaucetTotal (whole WAL, rounded down) and at most
// DefaultFaucetPerAccount per account. It returns nil when that leaves no
// WAL to give.
func SafeFaucet(g *Genesis) *Faucet {
	total := MaxFaucetTotal(g) / 2 / chain.FrostPerWAL * chain.FrostPerWAL
	if total == 0 {
		return nil
	}
	return &Faucet{Total: total, PerAccount: min(DefaultFaucetPerAccount, total)}
}

// GenesisNode is a storage node registered at genesis, with stake owned by
// its operator that is active in epoch 1.
type GenesisNode struct {
	// Operator is the account that operates the node.
	Operator  chain.Address      `json:"operator" yaml:"operator"`
	Name      string             `json:"name" yaml:"name"`
	PeerID    string             `json:"peerId" yaml:"peerId"`
	Addresses []string           `json:"addresses" yaml:"addresses"`
	PublicKey chain.BLSPublicKey `json:"publicKey" yaml:"publicKey"`
	// ProofOfPossession is the key's signature on
	// chain.ProofOfPossessionMessage(0, Operator, PublicKey).
	ProofOfPossession chain.BLSSignature `json:"proofOfPossession" yaml:"proofOfPossession"`
	// NetworkKeySignature is the network key's signature on
	// chain.NetworkKeyMessage(0, Operator, PeerID).
	NetworkKeySignature []byte `json:"networkKeySignature" yaml:"networkKeySignature"`
	Commission          uint16 `json:"commissionRate" yaml:"commissionRate"`
	// Stake is minted at genesis and staked with the node by the operator.
	Stake uint64 `json:"stake" yaml:"stake"`
	// Price votes default to the genesis prices; capacity to
	// DefaultCapacity.
	StoragePriceVote uint64 `json:"storagePriceVote" yaml:"storagePriceVote"`
	WritePriceVote   uint64 `json:"writePriceVote" yaml:"writePriceVote"`
	Capacity         uint64 `json:"nodeCapacity" yaml:"nodeCapacity"`
}

// GenesisAccount is an account funded at genesis.
type GenesisAccount struct {
	Address chain.Address `json:"address" yaml:"address"`
	Balance uint64        `json:"balance" yaml:"balance"`
}

// NewGenesisNode fills a GenesisNode for a node whose operator, protocol and
// network keys are known, computing the proof of possession and the network
// key's signature. netKey must be the key of peerID (libp2p's private key
// type implements chain.NetworkSigner).
func NewGenesisNode(operator chain.Address, key *chain.BLSPrivateKey, netKey chain.NetworkSigner, name, peerID string, addrs []string, stake uint64) (GenesisNode, error) {
	sig, err := chain.SignNetworkKey(netKey, 0, operator, peerID)
	if err != nil {
		return GenesisNode{}, err
	}
	return GenesisNode{
		Operator:            operator,
		Name:                name,
		PeerID:              peerID,
		Addresses:           addrs,
		PublicKey:           key.PublicKey(),
		ProofOfPossession:   key.ProofOfPossession(0, operator),
		NetworkKeySignature: sig,
		Stake:               stake,
	}, nil
}

// Duration is a time.Duration whose text form is Go's ("90s", "10m"), in
// YAML and JSON alike.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%w: duration %q: %v", chain.ErrInvalidArgument, b, err)
	}
	*d = Duration(v)
	return nil
}

// EnsureDefaults fills unset fields with their defaults. It leaves Time and
// Seed zero; Open fixes those when it creates the chain.
func (g *Genesis) EnsureDefaults() {
	if g.NShards == 0 {
		g.NShards = DefaultNShards
	}
	if g.EpochDuration == 0 {
		g.EpochDuration = Duration(DefaultEpochDuration)
	}
	if g.MaxEpochsAhead == 0 {
		g.MaxEpochsAhead = DefaultMaxEpochsAhead
	}
	if g.StoragePrice == 0 {
		g.StoragePrice = DefaultStoragePrice
	}
	if g.WritePrice == 0 {
		g.WritePrice = DefaultWritePrice
	}
	if g.MinStake == 0 {
		g.MinStake = DefaultMinStake
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.StoragePriceVote == 0 {
			n.StoragePriceVote = g.StoragePrice
		}
		if n.WritePriceVote == 0 {
			n.WritePriceVote = g.WritePrice
		}
		if n.Capacity == 0 {
			n.Capacity = DefaultCapacity
		}
	}
}

// Validate checks the genesis after EnsureDefaults, naming the field of
// every problem: the shard count, the epoch duration, node metadata, keys
// and proofs of possession, stakes, and that the total minted fits in a
// uint64.
func (g *Genesis) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: genesis: "+format, append([]any{chain.ErrInvalidArgument}, args...)...))
	}
	if _, err := encoding.NewParams(g.NShards); err != nil {
		bad("nShards %d: %v", g.NShards, err)
	}
	if time.Duration(g.EpochDuration) < MinEpochDuration {
		bad("epochDuration %v is below %v", time.Duration(g.EpochDuration), MinEpochDuration)
	}
	if g.MaxEpochsAhead == 0 {
		bad("maxEpochsAhead must be positive")
	}
	if len(g.Nodes) > MaxGenesisNodes {
		bad("%d nodes, over %d", len(g.Nodes), MaxGenesisNodes)
	}
	if len(g.Accounts) > MaxGenesisAccounts {
		bad("%d accounts, over %d", len(g.Accounts), MaxGenesisAccounts)
	}
	var total uint64
	add := func(what string, v uint64) {
		if total+v < total {
			bad("%s: total WAL overflows", what)
		}
		total += v
	}
	keys := map[chain.BLSPublicKey]bool{}
	peers := map[string]bool{}
	for i, n := range g.Nodes {
		field := fmt.Sprintf("nodes[%d]", i)
		if err := checkNodeMeta(n.Name, n.PeerID, n.Addresses, n.Commission); err != nil {
			bad("%s: %v", field, err)
		}
		if n.Operator.IsZero() {
			bad("%s.operator is unset", field)
		}
		if keys[n.PublicKey] {
			bad("%s.publicKey is registered twice", field)
		}
		keys[n.PublicKey] = true
		if err := verifiedPoPs.verify(n.PublicKey, n.Operator, n.ProofOfPossession); err != nil {
			bad("%s.proofOfPossession: %v", field, err)
		}
		if peers[n.PeerID] {
			bad("%s.peerId is registered twice", field)
		}
		peers[n.PeerID] = true
		if err := chain.VerifyNetworkKeySignature(n.PeerID, 0, n.Operator, n.NetworkKeySignature); err != nil {
			bad("%s.networkKeySignature: %v", field, err)
		}
		if n.Stake == 0 {
			bad("%s.stake must be positive", field)
		}
		add(field+".stake", n.Stake)
	}
	if f := g.Faucet; f != nil {
		if limit := MaxFaucetTotal(g); f.Total == 0 || f.Total > limit {
			bad("faucet.total %d FROST must be positive and at most %d: more could buy f + 1 shards against the genesis stake", f.Total, limit)
		}
		if f.PerAccount == 0 || f.PerAccount > f.Total {
			bad("faucet.perAccount %d FROST must be positive and at most the total", f.PerAccount)
		}
		add("faucet.total", f.Total)
	}
	for i, a := range g.Accounts {
		if a.Address.IsZero() {
			bad("accounts[%d].address is unset", i)
		}
		add(fmt.Sprintf("accounts[%d].balance", i), a.Balance)
	}
	return errors.Join(errs...)
}

// popCache remembers the genesis proofs of possession that verified, so
// that opening many chains of one genesis (tests, a devnet restarted)
// pairs each proof once. It holds at most maxCachedPoPs entries.
type popCache struct {
	mu sync.Mutex
	ok map[popKey]struct{}
}

type popKey struct {
	pk  chain.BLSPublicKey
	op  chain.Address
	pop chain.BLSSignature
}

const maxCachedPoPs = 4096

var verifiedPoPs = &popCache{ok: map[popKey]struct{}{}}

// verify is chain.VerifyProofOfPossession for epoch 0, remembered.
func (c *popCache) verify(pk chain.BLSPublicKey, op chain.Address, pop chain.BLSSignature) error {
	k := popKey{pk, op, pop}
	c.mu.Lock()
	_, ok := c.ok[k]
	c.mu.Unlock()
	if ok {
		return nil
	}
	if err := chain.VerifyProofOfPossession(pk, 0, op, pop); err != nil {
		return err
	}
	c.mu.Lock()
	if len(c.ok) >= maxCachedPoPs {
		clear(c.ok)
	}
	c.ok[k] = struct{}{}
	c.mu.Unlock()
	return nil
}

// checkNodeMeta checks node metadata against the limits of package chain.
func checkNodeMeta(name, peerID string, addrs []string, commission uint16) error {
	switch {
	case name == "" || len(name) > chain.MaxNodeNameLen:
		return fmt.Errorf("name must have 1 to %d bytes", chain.MaxNodeNameLen)
	case len(peerID) > chain.MaxPeerIDLen:
		return fmt.Errorf("peer ID of %d bytes, over %d", len(peerID), chain.MaxPeerIDLen)
	case len(addrs) > chain.MaxNodeAddresses:
		return fmt.Errorf("%d addresses, over %d", len(addrs), chain.MaxNodeAddresses)
	case commission > chain.MaxCommission:
		return fmt.Errorf("commission %d bps over %d", commission, chain.MaxCommission)
	}
	if _, err := chain.ParsePeerID(peerID); err != nil {
		return err
	}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "/") || len(a) > chain.MaxAddressLen {
			return fmt.Errorf("address %q is not a multiaddr of at most %d bytes", a, chain.MaxAddressLen)
		}
	}
	return nil
}

// genesisBCS is the BCS layout of a genesis, what its hash covers: the
// fields of Genesis in order, times in Unix milliseconds, the epoch
// duration in milliseconds, counts as u32.
type genesisBCS struct {
	TimeMs         uint64
	NShards        uint32
	EpochMs        uint64
	MaxEpochsAhead uint32
	StoragePrice   uint64
	WritePrice     uint64
	Faucet         *Faucet `bcs:"optional"`
	MinStake       uint64
	Seed           chain.Seed
	Nodes          []genesisNodeBCS
	Accounts       []GenesisAccount
}

type genesisNodeBCS struct {
	Operator            chain.Address
	Name                string
	PeerID              string
	Addresses           []string
	PublicKey           chain.BLSPublicKey
	ProofOfPossession   chain.BLSSignature
	NetworkKeySignature []byte
	Commission          uint16
	Stake               uint64
	StoragePriceVote    uint64
	WritePriceVote      uint64
	Capacity            uint64
}

// genesisPrefix separates the genesis hash from other Blake2b uses, as
// "TransactionData::" does a transaction's digest.
var genesisPrefix = []byte("Genesis::")

// BCS returns the genesis's BCS encoding (genesisBCS).
func (g *Genesis) BCS() []byte {
	v := genesisBCS{
		NShards: uint32(g.NShards), EpochMs: uint64(time.Duration(g.EpochDuration) / time.Millisecond),
		MaxEpochsAhead: g.MaxEpochsAhead, StoragePrice: g.StoragePrice, WritePrice: g.WritePrice,
		Faucet: g.Faucet, MinStake: g.MinStake, Seed: g.Seed, Accounts: g.Accounts,
	}
	if !g.Time.IsZero() {
		v.TimeMs = uint64(g.Time.UnixMilli())
	}
	for _, n := range g.Nodes {
		v.Nodes = append(v.Nodes, genesisNodeBCS(n))
	}
	var buf bytes.Buffer
	if err := bcs.NewEncoder(&buf).Encode(&v); err != nil {
		panic("local: encoding a genesis: " + err.Error())
	}
	return buf.Bytes()
}

// Hash returns the genesis hash, the chain ID: Blake2b-256 of "Genesis::" ‖
// its BCS encoding (after EnsureDefaults).
func (g *Genesis) Hash() chain.Digest {
	h, _ := blake2b.New256(nil)
	h.Write(genesisPrefix)
	h.Write(g.BCS())
	var d chain.Digest
	h.Sum(d[:0])
	return d
}

// LoadGenesis reads a genesis from a YAML or JSON file (JSON is YAML), at
// most MaxGenesisFileSize bytes. Unknown fields are errors.
func LoadGenesis(path string) (*Genesis, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxGenesisFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxGenesisFileSize {
		return nil, fmt.Errorf("%w: genesis %s over %d bytes", chain.ErrTooLarge, path, MaxGenesisFileSize)
	}
	g, err := ParseGenesis(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// ParseGenesis parses a genesis from YAML or JSON. Unknown fields are errors.
func ParseGenesis(b []byte) (*Genesis, error) {
	var g Genesis
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&g); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: genesis: %v", chain.ErrInvalidArgument, err)
	}
	return &g, nil
}

// SaveGenesis writes a genesis as YAML.
func SaveGenesis(path string, g *Genesis) error {
	b, err := yaml.Marshal(g)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Clean(path))
}
