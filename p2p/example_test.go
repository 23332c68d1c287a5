package p2p_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// metadataNode is a small p2p.Handler: it keeps metadata in memory and has
// nothing else. A storage node's handler adapts its store and chain view.
type metadataNode struct {
	mu       sync.Mutex
	metadata map[encoding.BlobID]*encoding.Metadata
}

func (n *metadataNode) PutMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error {
	// The Server has checked that md hashes to id.
	n.mu.Lock()
	defer n.mu.Unlock()
	n.metadata[id] = md
	return nil
}

func (n *metadataNode) GetMetadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if md, ok := n.metadata[id]; ok {
		return md, nil
	}
	return nil, fmt.Errorf("%w: blob %s", p2p.ErrNotFound, id)
}

func (n *metadataNode) GetStatus(ctx context.Context, id encoding.BlobID) (p2p.BlobStatus, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.metadata[id]
	return p2p.BlobStatus{Epoch: 1, State: p2p.BlobUnknown, HasMetadata: ok}, nil
}

func (n *metadataNode) PutSlivers(context.Context, encoding.BlobID, int) (p2p.SliverSink, error) {
	return nil, p2p.ErrNotAssigned
}

func (n *metadataNode) GetSliver(context.Context, encoding.BlobID, encoding.Axis, uint16) (encoding.Sliver, error) {
	return encoding.Sliver{}, p2p.ErrNotAssigned
}

func (n *metadataNode) GetConfirmation(context.Context, p2p.ConfirmationRequest) (p2p.Confirmation, error) {
	return p2p.Confirmation{}, p2p.ErrNotRegistered
}

func (n *metadataNode) GetRecoverySymbols(context.Context, encoding.BlobID, encoding.Axis, []uint16) ([]encoding.RecoverySymbol, error) {
	return nil, p2p.ErrNotAssigned
}

// Two real hosts on 127.0.0.1: a node that serves a Handler, and a client
// that stores a blob's metadata on it and reads it back.
func Example() {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	// The node: its network key lives in a file (0600) and is its identity.
	dir, err := os.MkdirTemp("", "p2p-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	key, err := p2p.LoadOrCreateKey(filepath.Join(dir, "network.key"))
	if err != nil {
		panic(err)
	}
	node, err := p2p.NewHost(ctx, p2p.HostConfig{Key: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer node.Close()
	srv := p2p.NewServer(node, &metadataNode{metadata: map[encoding.BlobID]*encoding.Metadata{}}, p2p.WithServerLogger(quiet))
	defer srv.Close()

	// The client: a host that only dials out, and knows the node's
	// addresses (a committee member's, from the chain).
	ckey, err := p2p.GenerateKey()
	if err != nil {
		panic(err)
	}
	ch, err := p2p.NewHost(ctx, p2p.HostConfig{Key: ckey, NoListen: true, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer ch.Close()
	if err := ch.AddPeer(node.ID(), node.Addrs()); err != nil {
		panic(err)
	}
	c := p2p.NewClient(ch, p2p.WithClientLogger(quiet))

	codec, err := encoding.New(4)
	if err != nil {
		panic(err)
	}
	enc, err := codec.Encode([]byte("hello, walrus"))
	if err != nil {
		panic(err)
	}
	if err := c.PutMetadata(ctx, node.ID(), enc.BlobID, enc.Metadata); err != nil {
		panic(err)
	}
	md, err := c.GetMetadata(ctx, node.ID(), enc.BlobID, 4) // checked to hash to the blob ID
	if err != nil {
		panic(err)
	}
	st, err := c.GetStatus(ctx, node.ID(), enc.BlobID)
	if err != nil {
		panic(err)
	}
	fmt.Printf("metadata of %d bytes for %d shards; the node has it: %t\n", md.UnencodedLength, md.N(), st.HasMetadata)

	// The node's errors come back as this package's sentinels.
	_, err = c.GetMetadata(ctx, node.ID(), encoding.BlobID{1}, 4)
	fmt.Println("unknown blob:", errors.Is(err, p2p.ErrNotFound))
	// A sliver the node cannot serve fails alone, not the request.
	size, err := p2p.SliverSize(md, encoding.Primary) // what a sliver may weigh, from the metadata
	if err != nil {
		panic(err)
	}
	res, err := c.GetSlivers(ctx, node.ID(), enc.BlobID, encoding.Primary, []uint16{0}, size)
	if err != nil {
		panic(err)
	}
	fmt.Println(res[0].Err)
	fmt.Println("not assigned:", errors.Is(res[0].Err, p2p.ErrNotAssigned))
	// Output:
	// metadata of 13 bytes for 4 shards; the node has it: true
	// unknown blob: true
	// p2p: primary sliver 0: p2p: shard not assigned to this node (remote: p2p: shard not assigned to this node)
	// not assigned: true
}
