package node_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/p2p"
)

// env is a test network and a raw p2p client to talk to its nodes as a
// storage client does, one protocol step at a time.
type env struct {
	t     testing.TB
	ctx   context.Context
	nw    *network.Network
	p2p   *p2p.Client
	host  *p2p.Host
	codec *encoding.Codec
}

func newEnv(t testing.TB, opts nettest.Options) *env {
	t.Helper()
	nw := nettest.New(t, opts)
	ctx := context.Background()
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.NewHost(ctx, p2p.HostConfig{Key: key, NoListen: true, Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	for _, n := range nw.Nodes {
		pid, _ := p2p.ParsePeerID(n.PeerID())
		if err := h.SetPeerAddrs(pid, n.Config.ListenAddrs); err != nil {
			t.Fatal(err)
		}
	}
	st, err := nw.Chain.SystemState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := encoding.New(st.NShards)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, nw: nw, p2p: p2p.NewClient(h), host: h, codec: codec}
}

func (e *env) pid(i int) peer.ID {
	pid, err := p2p.ParsePeerID(e.nw.Nodes[i].PeerID())
	if err != nil {
		e.t.Fatal(err)
	}
	return pid
}

func (e *env) committee() *chain.Committee {
	e.t.Helper()
	com, err := e.nw.Committee(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return com
}

// shards returns the shards node i holds in com (nil if not a member).
func (e *env) shards(com *chain.Committee, i int) []uint16 {
	if k, ok := com.Index(e.nw.Nodes[i].ID()); ok {
		return com.Members[k].Shards
	}
	return nil
}

// slivers returns the slivers of the pairs that node i holds in com.
func (e *env) slivers(com *chain.Committee, enc *encoding.EncodedBlob, i int) []encoding.Sliver {
	var out []encoding.Sliver
	for _, shard := range e.shards(com, i) {
		p := enc.Pair(enc.BlobID.PairForShard(int(shard), com.NShards))
		out = append(out, p.Primary, p.Secondary)
	}
	return out
}

// register encodes and registers a blob for epochs.
func (e *env) register(data []byte, epochs uint32, deletable bool) (*encoding.EncodedBlob, chain.BlobObject) {
	e.t.Helper()
	enc, err := e.codec.Encode(data)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.nw.Chain.RegisterBlob(e.ctx, e.nw.Wallet, chain.RegisterBlobArgs{
		BlobID: enc.BlobID, RootHash: enc.Metadata.Root(), Size: uint64(len(data)),
		EncodingType: encoding.RS2, Epochs: epochs, Deletable: deletable,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return enc, res.Blob
}

// send puts the metadata and node i's slivers to node i.
func (e *env) send(enc *encoding.EncodedBlob, i int) {
	e.t.Helper()
	if err := e.p2p.PutMetadata(e.ctx, e.pid(i), enc.BlobID, enc.Metadata); err != nil {
		e.t.Fatalf("node %d: put metadata: %v", i, err)
	}
	sl := e.slivers(e.committee(), enc, i)
	if len(sl) == 0 {
		return
	}
	errs, err := e.p2p.PutSlivers(e.ctx, e.pid(i), enc.BlobID, sl)
	if err != nil || len(errs) > 0 {
		e.t.Fatalf("node %d: put slivers: %v %v", i, err, errs)
	}
}

// confirm collects confirmations from the given nodes, verifying each
// signature, and returns the certificate they make.
func (e *env) confirm(enc *encoding.EncodedBlob, obj chain.BlobObject, nodes []int) (*chain.Certificate, error) {
	com := e.committee()
	req := p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch}
	if obj.Deletable {
		id := [32]byte(obj.ID)
		req.ObjectID = &id
	}
	sigs := make(map[int]chain.BLSSignature)
	var msg []byte
	for _, i := range nodes {
		conf, err := e.p2p.GetConfirmation(e.ctx, e.pid(i), req)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		idx, ok := com.Index(e.nw.Nodes[i].ID())
		if !ok {
			return nil, fmt.Errorf("node %d is not in the committee", i)
		}
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

// storeBlob runs the whole write path by hand and returns the encoding.
func (e *env) storeBlob(data []byte, epochs uint32, deletable bool) (*encoding.EncodedBlob, chain.BlobObject) {
	e.t.Helper()
	enc, obj := e.register(data, epochs, deletable)
	var all []int
	com := e.committee()
	for i := range e.nw.Nodes {
		if len(e.shards(com, i)) > 0 {
			e.send(enc, i)
			all = append(all, i)
		}
	}
	cert, err := e.confirm(enc, obj, all)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.nw.Chain.CertifyBlob(e.ctx, e.nw.Wallet, obj.ID, cert); err != nil {
		e.t.Fatal(err)
	}
	return enc, obj
}

// readBack fetches every sliver of a blob from the current committee's
// holders and checks each is byte-identical to the encoding.
func (e *env) readBack(enc *encoding.EncodedBlob) {
	e.t.Helper()
	com := e.committee()
	for i := range e.nw.Nodes {
		want := e.slivers(com, enc, i)
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			var idx []uint16
			var exp []encoding.Sliver
			for _, s := range want {
				if s.Axis == axis {
					idx = append(idx, s.Index)
					exp = append(exp, s)
				}
			}
			if len(idx) == 0 {
				continue
			}
			got, err := e.p2p.GetSlivers(e.ctx, e.pid(i), enc.BlobID, axis, idx, len(exp[0].Data))
			if err != nil {
				e.t.Fatalf("node %d: get %s slivers: %v", i, axis, err)
			}
			for k, r := range got {
				if r.Err != nil || r.Sliver.Index != exp[k].Index || string(r.Sliver.Data) != string(exp[k].Data) {
					e.t.Fatalf("node %d: %s sliver %d differs from the encoding (err %v)", i, axis, exp[k].Index, r.Err)
				}
			}
		}
	}
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

var errNotYet = errors.New("not yet")

// waitUntil polls cond until it holds, for up to 30 seconds.
func waitUntil(cond func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func storeOpts(epochs uint32) client.StoreOptions { return client.StoreOptions{Epochs: epochs} }

func deletableOpts(epochs uint32) client.StoreOptions {
	return client.StoreOptions{Epochs: epochs, Deletable: true}
}

// readAll reads a blob through a client.
func readAll(t testing.TB, c *client.Client, id encoding.BlobID) []byte {
	t.Helper()
	b, err := c.ReadBlob(context.Background(), id, client.ReadOptions{})
	if err != nil {
		t.Fatalf("reading blob %s: %v", id, err)
	}
	return b
}
