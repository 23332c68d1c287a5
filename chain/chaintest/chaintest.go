// Package chaintest is the conformance suite of chain.Chain: one set of
// tests, written once against the interface, that every backend runs (the
// in-process local chain, its HTTP client and server, later Sui). A backend
// provides a Factory that starts a fresh chain from a Network.
package chaintest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
)

// Network describes the genesis a conformance test needs, independently of
// the backend: parameters, storage nodes with their keys and stake, and a
// funded client account.
type Network struct {
	NShards        int
	EpochDuration  time.Duration
	MaxEpochsAhead uint32
	StoragePrice   uint64
	WritePrice     uint64
	// FaucetTotal and FaucetPerAccount describe the faucet (for backends
	// with Capabilities.Faucet).
	FaucetTotal      uint64
	FaucetPerAccount uint64
	MinStake         uint64
	Nodes            []*Node
	// Client is funded with ClientFunds at genesis.
	Client      *chain.AccountKey
	ClientFunds uint64
}

// Node is a storage node of the genesis committee.
type Node struct {
	Operator *chain.AccountKey
	Key      *chain.BLSPrivateKey
	// Network is the network key; PeerID is its peer ID.
	Network    chain.Ed25519NetworkKey
	Name       string
	PeerID     string
	Addresses  []string
	Stake      uint64
	Commission uint16
}

// Backend is a started chain under test.
type Backend struct {
	Chain chain.Chain
	// Advance moves the chain's clock forward by d and returns once the
	// chain has made the blocks due by then.
	Advance func(ctx context.Context, d time.Duration) error
	// Caps says which of this project's rules beyond Walrus's Move package
	// the backend implements; the tests of the others are skipped.
	Caps Capabilities
}

// Capabilities are the rules of ours that a backend on Walrus's own Move
// package cannot have. The zero value has none of them.
type Capabilities struct {
	// Faucet: RequestWAL mints from a finite pool, with a per-account cap
	// (Network.FaucetTotal, Network.FaucetPerAccount).
	Faucet bool
	// NetworkKeys: peer IDs are parsed (chain.ParsePeerID), unique
	// (chain.ErrDuplicatePeerID), and signed by their key
	// (chain.ErrInvalidNetworkKeySignature) at registration and update.
	NetworkKeys bool
	// StorageChallenges: SubmitAttestation in its challenge window,
	// rewards paid by attestation (forfeits burned), and NodeHistory's
	// verdicts.
	StorageChallenges bool
	// CapacityLimits: a node's declared capacity bounds the shards it is
	// assigned (chain.NodeInfo.Capacity).
	CapacityLimits bool
}

// AllCapabilities is what the local chain implements.
var AllCapabilities = Capabilities{Faucet: true, NetworkKeys: true, StorageChallenges: true, CapacityLimits: true}

// Factory starts a fresh chain with the network's genesis (epoch 1 starts
// at the chain's current clock) and registers its cleanup with t. The suite
// passes the same Network to every call; it must not be modified.
type Factory func(t testing.TB, net *Network) *Backend

// Defaults of the conformance network.
const (
	NShards        = 10
	EpochDuration  = time.Hour
	MaxEpochsAhead = 10
	StoragePrice   = 1_000
	WritePrice     = 300
	// The faucet gives 20 WAL in all, 8 to an account: far below the
	// stake (about 40 WAL against the nodes' 100) that would win f + 1 = 4
	// shards.
	FaucetTotal      = 20 * chain.FrostPerWAL
	FaucetPerAccount = 8 * chain.FrostPerWAL
	MinStake         = chain.FrostPerWAL
	ClientFunds      = 1_000 * chain.FrostPerWAL
)

// NewNetwork returns the conformance network: NShards shards and one node per
// stake (in WAL), with keys derived from seed.
func NewNetwork(seed uint64, stakesWAL ...uint64) *Network {
	rnd := keyRand(seed)
	net := &Network{
		NShards: NShards, EpochDuration: EpochDuration, MaxEpochsAhead: MaxEpochsAhead,
		StoragePrice: StoragePrice, WritePrice: WritePrice, FaucetTotal: FaucetTotal, FaucetPerAccount: FaucetPerAccount,
		MinStake: MinStake,
		Client:   mustAccount(rnd), ClientFunds: ClientFunds,
	}
	for i, s := range stakesWAL {
		k, err := chain.GenerateBLSKey(rnd)
		if err != nil {
			panic(err)
		}
		nk := NewNetworkKey(rnd)
		net.Nodes = append(net.Nodes, &Node{
			Operator:   mustAccount(rnd),
			Key:        k,
			Network:    nk,
			Name:       fmt.Sprintf("node-%d", i),
			PeerID:     nk.PeerID(),
			Addresses:  []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 9000+i)},
			Stake:      s * chain.FrostPerWAL,
			Commission: uint16(1000 * (i + 1)),
		})
	}
	return net
}

// NewAccount returns a fresh account key with deterministic randomness.
func NewAccount(seed uint64) *chain.AccountKey { return mustAccount(keyRand(seed)) }

func keyRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	s[31] = 0xC7
	return rand.NewChaCha8(s)
}

// NewNetworkKey returns a network key drawn from r.
func NewNetworkKey(r io.Reader) chain.Ed25519NetworkKey {
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		panic(err)
	}
	return chain.Ed25519NetworkKey(priv)
}

func mustAccount(r *rand.ChaCha8) *chain.AccountKey {
	k, err := chain.GenerateAccountKey(r)
	if err != nil {
		panic(err)
	}
	return k
}
