package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// testCluster is an in-process network: the embedded chain, storage nodes
// with their own libp2p hosts on loopback and Pebble directories, and a
// user with a p2p client and a funded account.
type testCluster struct {
	t      testing.TB
	ctx    context.Context
	chain  *local.Chain
	nodes  []*testNode
	host   *p2p.Host
	client *p2p.Client
	user   *chain.AccountKey
	codec  *encoding.Codec
}

type testNode struct {
	cfg    Config
	node   *Node
	peer   string
	cancel context.CancelFunc
	done   chan error
}

type clusterOpts struct {
	nodes, shards int
	epoch         time.Duration
	stakes        []uint64
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

func newCluster(t testing.TB, o clusterOpts) *testCluster {
	t.Helper()
	if o.epoch == 0 {
		o.epoch = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &testCluster{t: t, ctx: ctx}
	var err error
	if c.user, err = chain.GenerateAccountKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	g := &local.Genesis{
		NShards:       o.shards,
		EpochDuration: local.Duration(o.epoch),
		Accounts:      []local.GenesisAccount{{Address: c.user.Address(), Balance: 1_000_000 * chain.FrostPerWAL}},
	}
	for i := range o.nodes {
		dir := t.TempDir()
		cfg := Config{
			Name:             fmt.Sprintf("node-%d", i),
			DataDir:          dir,
			ListenAddrs:      []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t))},
			AdminAddr:        "127.0.0.1:0",
			RecoveryBackoff:  50 * time.Millisecond,
			ConfirmationWait: time.Second,
			EventPollWait:    200 * time.Millisecond,
		}
		cfg.EnsureDefaults()
		keys, err := LoadOrCreateKeys(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		stake := uint64(1000 * chain.FrostPerWAL)
		if i < len(o.stakes) {
			stake = o.stakes[i]
		}
		gn, err := local.NewGenesisNode(keys.Account.Address(), keys.Protocol, keys.Network, cfg.Name, keys.PeerID, cfg.ListenAddrs, stake)
		if err != nil {
			t.Fatal(err)
		}
		g.Nodes = append(g.Nodes, gn)
		c.nodes = append(c.nodes, &testNode{cfg: cfg, peer: keys.PeerID})
	}
	if c.chain, err = local.Open(ctx, local.Config{Genesis: g, NoSync: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.chain.Close() })
	if c.codec, err = encoding.New(o.shards); err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		c.start(i)
	}
	key, _ := p2p.GenerateKey()
	if c.host, err = p2p.NewHost(ctx, p2p.HostConfig{Key: key, NoListen: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.host.Close() })
	for _, tn := range c.nodes {
		pid, _ := p2p.ParsePeerID(tn.peer)
		if err := c.host.SetPeerAddrs(pid, tn.cfg.ListenAddrs); err != nil {
			t.Fatal(err)
		}
	}
	c.client = p2p.NewClient(c.host)
	return c
}

// start runs node i until stop(i) or the end of the test.
func (c *testCluster) start(i int) {
	c.t.Helper()
	tn := c.nodes[i]
	n, err := New(tn.cfg, Deps{Chain: c.chain, Logger: testLogger(c.t)})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	tn.node, tn.cancel, tn.done = n, cancel, make(chan error, 1)
	go func() { tn.done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
	case err := <-tn.done:
		c.t.Fatalf("node %d failed to start: %v", i, err)
	case <-time.After(20 * time.Second):
		c.t.Fatalf("node %d did not start", i)
	}
	c.t.Cleanup(func() { c.stop(i) })
}

// stop shuts node i down and waits for it.
func (c *testCluster) stop(i int) {
	tn := c.nodes[i]
	if tn.cancel == nil {
		return
	}
	tn.cancel()
	tn.cancel = nil
	if err := <-tn.done; err != nil {
		c.t.Errorf("node %d: Run returned %v", i, err)
	}
}

func (c *testCluster) pid(i int) peer.ID {
	pid, _ := p2p.ParsePeerID(c.nodes[i].peer)
	return pid
}

func (c *testCluster) committee() *chain.Committee {
	com, err := c.chain.Committee(c.ctx, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	return com
}

// member returns the committee index of test node i.
func (c *testCluster) member(com *chain.Committee, i int) int {
	idx, ok := com.Index(c.nodes[i].node.ID())
	if !ok {
		c.t.Fatalf("node %d is not in the committee", i)
	}
	return idx
}

// slivers returns the slivers of the pairs that node i holds.
func (c *testCluster) slivers(com *chain.Committee, enc *encoding.EncodedBlob, i int) []encoding.Sliver {
	var out []encoding.Sliver
	n := com.NShards
	for _, shard := range com.Members[c.member(com, i)].Shards {
		p := enc.Pair(enc.BlobID.PairForShard(int(shard), n))
		out = append(out, p.Primary, p.Secondary)
	}
	return out
}

// register encodes and registers a blob for epochs, returning the
// encoding and its blob object.
func (c *testCluster) register(data []byte, epochs uint32, deletable bool) (*encoding.EncodedBlob, chain.BlobObject) {
	c.t.Helper()
	enc, err := c.codec.Encode(data)
	if err != nil {
		c.t.Fatal(err)
	}
	res, err := c.chain.RegisterBlob(c.ctx, c.user, chain.RegisterBlobArgs{
		BlobID: enc.BlobID, RootHash: enc.Metadata.Root(), Size: uint64(len(data)),
		EncodingType: encoding.RS2, Epochs: epochs, Deletable: deletable,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return enc, res.Blob
}

// send puts the metadata and the node's slivers to node i.
func (c *testCluster) send(enc *encoding.EncodedBlob, i int) {
	c.t.Helper()
	pid := c.pid(i)
	if err := c.client.PutMetadata(c.ctx, pid, enc.BlobID, enc.Metadata); err != nil {
		c.t.Fatalf("node %d: put metadata: %v", i, err)
	}
	errs, err := c.client.PutSlivers(c.ctx, pid, enc.BlobID, c.slivers(c.committee(), enc, i))
	if err != nil || len(errs) > 0 {
		c.t.Fatalf("node %d: put slivers: %v %v", i, err, errs)
	}
}

// confirm collects confirmations from the given nodes, verifying each
// signature, and returns the certificate they make.
func (c *testCluster) confirm(enc *encoding.EncodedBlob, obj chain.BlobObject, nodes []int) (*chain.Certificate, error) {
	com := c.committee()
	req := p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch}
	if obj.Deletable {
		id := [32]byte(obj.ID)
		req.ObjectID = &id
	}
	sigs := make(map[int]chain.BLSSignature)
	var msg []byte
	for _, i := range nodes {
		conf, err := c.client.GetConfirmation(c.ctx, c.pid(i), req)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		idx := c.member(com, i)
		var sig chain.BLSSignature
		copy(sig[:], conf.Signature)
		if err := chain.VerifyAggregate([]chain.BLSPublicKey{com.Members[idx].PublicKey}, conf.Message, sig); err != nil {
			return nil, fmt.Errorf("node %d: confirmation signature: %w", i, err)
		}
		msg = conf.Message
		sigs[idx] = sig
	}
	return chain.NewCertificate(com, msg, sigs)
}

// storeBlob runs the whole write path and returns the encoding.
func (c *testCluster) storeBlob(data []byte, epochs uint32) (*encoding.EncodedBlob, chain.BlobObject) {
	c.t.Helper()
	enc, obj := c.register(data, epochs, false)
	all := make([]int, len(c.nodes))
	for i := range c.nodes {
		c.send(enc, i)
		all[i] = i
	}
	cert, err := c.confirm(enc, obj, all)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.chain.CertifyBlob(c.ctx, c.user, obj.ID, cert); err != nil {
		c.t.Fatal(err)
	}
	return enc, obj
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errNotYet = errors.New("not yet")
