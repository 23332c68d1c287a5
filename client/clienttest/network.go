// Package clienttest runs an in-process network for the tests of the
// client, its HTTP daemon and the CLI: an in-memory Chain (the chain
// boundary) and storage nodes that are real p2p Servers on loopback over a
// small in-memory handler, which tests can take down or make lie.
//
// It is test support, like net/http/httptest: production code never
// imports it. The real storage node is package node; end-to-end tests run
// it as processes.
package clienttest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// quiet is the logger of test hosts and servers.
var quiet = slog.New(slog.DiscardHandler)

// Options configure a Network.
type Options struct {
	// NShards is n (default 10).
	NShards int
	// Nodes is the number of storage nodes (default 4); shards are dealt
	// round-robin in node ID order.
	Nodes int
	// Epoch is the first epoch (default 1).
	Epoch uint32
	// Balance is the wallet's starting balance (default 1,000 WAL).
	Balance uint64
}

// Network is a test network: a Chain, its committee's Nodes, and a funded
// Wallet.
type Network struct {
	Chain  *Chain
	Nodes  []*Node
	Wallet *chain.AccountKey
	Codec  *encoding.Codec
}

// New starts a test network, closed with tb.
func New(tb testing.TB, opts Options) *Network {
	tb.Helper()
	if opts.NShards == 0 {
		opts.NShards = 10
	}
	if opts.Nodes == 0 {
		opts.Nodes = 4
	}
	if opts.Epoch == 0 {
		opts.Epoch = 1
	}
	if opts.Balance == 0 {
		opts.Balance = 1000 * chain.FrostPerWAL
	}
	codec, err := encoding.New(opts.NShards)
	if err != nil {
		tb.Fatal(err)
	}
	nodes := make([]*Node, opts.Nodes)
	for i := range nodes {
		key, err := p2p.GenerateKey()
		if err != nil {
			tb.Fatal(err)
		}
		h, err := p2p.NewHost(context.Background(), p2p.HostConfig{Key: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: quiet})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { h.Close() })
		bls, err := chain.GenerateBLSKey(nil)
		if err != nil {
			tb.Fatal(err)
		}
		var id chain.NodeID
		copy(id[:], []byte(h.ID()))
		id[31] = byte(i)
		nodes[i] = &Node{Name: fmt.Sprintf("node-%d", i), ID: chain.ObjectID(encodingHash(id[:])), Host: h, Key: bls, codec: codec,
			metadata: map[encoding.BlobID]*encoding.Metadata{}, slivers: map[sliverKey]encoding.Sliver{}}
	}
	slices.SortFunc(nodes, func(a, b *Node) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	for s := 0; s < opts.NShards; s++ {
		nodes[s%len(nodes)].Shards = append(nodes[s%len(nodes)].Shards, uint16(s))
	}
	com := &chain.Committee{Epoch: opts.Epoch, NShards: opts.NShards}
	var infos []chain.NodeInfo
	for _, n := range nodes {
		m := chain.Member{NodeID: n.ID, Name: n.Name, PeerID: n.Host.ID().String(), Addresses: n.Host.Addrs(),
			PublicKey: n.Key.PublicKey(), Shards: n.Shards, Stake: chain.FrostPerWAL}
		com.Members = append(com.Members, m)
		infos = append(infos, chain.NodeInfo{ID: n.ID, Name: n.Name, PeerID: m.PeerID, Addresses: m.Addresses, PublicKey: m.PublicKey, Stake: m.Stake})
	}
	if err := com.Validate(); err != nil {
		tb.Fatal(err)
	}
	c := newChain(com, infos)
	for _, n := range nodes {
		n.chain = c
		n.server = p2p.NewServer(n.Host, n, p2p.WithServerLogger(quiet))
		tb.Cleanup(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.behavior != Down {
				n.server.Close()
			}
		})
	}
	w, err := chain.GenerateAccountKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	c.Fund(w.Address(), opts.Balance)
	return &Network{Chain: c, Nodes: nodes, Wallet: w, Codec: codec}
}

func encodingHash(b []byte) encoding.Hash { return encoding.LeafHash(b) }

// NodeForShard returns the node holding a shard.
func (n *Network) NodeForShard(s int) *Node {
	for _, nd := range n.Nodes {
		if slices.Contains(nd.Shards, uint16(s)) {
			return nd
		}
	}
	return nil
}

// Blob returns size deterministic pseudo-random bytes.
func Blob(size int, seed uint32) []byte {
	b := make([]byte, size)
	x := seed
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 24)
	}
	return b
}
