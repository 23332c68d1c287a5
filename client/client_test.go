package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/p2p"
)

// objects returns the blob objects the network's wallet owns.
func objects(t testing.TB, nw *network.Network) []chain.BlobObject {
	t.Helper()
	objs, err := nw.Chain.BlobObjects(context.Background(), nw.Wallet.Address())
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// certified counts the certified objects among objs.
func certified(objs []chain.BlobObject) int {
	n := 0
	for _, o := range objs {
		if o.IsCertified() {
			n++
		}
	}
	return n
}

// sliverPuts sums the sliver/put requests that reached the nodes.
func sliverPuts(nw *network.Network) []int64 {
	out := make([]int64, len(nw.Nodes))
	for i, n := range nw.Nodes {
		out[i] = n.Faults.SliverPuts.Load()
	}
	return out
}

func TestStoreAndRead(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	// Each node must get its slivers: the store waits for all of them.
	c := nettest.Client(t, nw, func(c *client.Config) { c.GracePeriod = time.Minute })
	ctx := t.Context()
	codec, _ := encoding.New(10)
	for i, size := range []int{0, 1, 1000, 100_000} {
		blob := nettest.Blob(size, uint32(i))
		enc, err := codec.Encode(blob)
		if err != nil {
			t.Fatal(err)
		}
		before := sliverPuts(nw)
		res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 3})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		nc := res.NewlyCreated
		if nc == nil || res.AlreadyCertified != nil {
			t.Fatalf("size %d: result %+v, want newlyCreated only", size, res)
		}
		st, _ := nw.Chain.SystemState(ctx)
		wantCost, _ := st.RegisterCost(uint64(size), 3)
		encLen, _ := codec.Params().EncodedLength(uint64(size))
		if nc.BlobObject.BlobID != enc.BlobID || nc.BlobObject.Size != uint64(size) || nc.Cost != wantCost ||
			nc.BlobObject.CertifiedEpoch == nil || *nc.BlobObject.CertifiedEpoch != 1 || nc.BlobObject.Storage.EndEpoch != 4 ||
			nc.BlobObject.Deletable || nc.BlobObject.EncodingType != "RS2" ||
			nc.ResourceOperation.RegisterFromScratch == nil || *nc.ResourceOperation.RegisterFromScratch != (client.RegisterFromScratch{EncodedLength: encLen, EpochsAhead: 3}) {
			t.Fatalf("size %d: newlyCreated %+v (cost want %d, encoded length %d)", size, nc, wantCost, encLen)
		}
		// Each node got one sliver/put request and holds its pairs.
		for k, got := range sliverPuts(nw) {
			if got-before[k] != 1 {
				t.Errorf("size %d: node %d got %d sliver/put requests, want 1", size, k, got-before[k])
			}
		}
		if err := nw.WaitHeld(ctx, enc.BlobID); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		var out bytes.Buffer
		nr, err := c.Read(ctx, enc.BlobID, &out, client.ReadOptions{})
		if err != nil || nr != int64(size) || !bytes.Equal(out.Bytes(), blob) {
			t.Fatalf("size %d: read %d bytes, err %v; equal %v", size, nr, err, bytes.Equal(out.Bytes(), blob))
		}
		strict, err := c.ReadBlob(ctx, enc.BlobID, client.ReadOptions{Strict: true})
		if err != nil || !bytes.Equal(strict, blob) {
			t.Fatalf("size %d: strict read: %v", size, err)
		}
	}
	if objs := objects(t, nw); len(objs) != 4 || certified(objs) != 4 {
		t.Errorf("the wallet owns %d blob objects, %d certified; want 4 and 4", len(objs), certified(objs))
	}
}

func TestStoreDeduplication(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	ctx := t.Context()
	blob := nettest.Blob(5000, 7)
	first, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 5})
	if err != nil {
		t.Fatal(err)
	}
	id := first.BlobID()
	for _, tc := range []struct {
		name    string
		opts    client.StoreOptions
		dedup   bool
		endWant uint32
	}{
		{"same epochs", client.StoreOptions{Epochs: 5}, true, 6},
		{"fewer epochs", client.StoreOptions{Epochs: 2}, true, 6},
		{"more epochs", client.StoreOptions{Epochs: 8}, false, 9},
		{"force", client.StoreOptions{Epochs: 1, Force: true}, false, 2},
		{"deletable", client.StoreOptions{Epochs: 1, Deletable: true}, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			regs := len(objects(t, nw))
			res, err := c.Store(ctx, blob, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.BlobID() != id || res.EndEpoch() != tc.endWant {
				t.Fatalf("blob %s end %d, want %s end %d", res.BlobID(), res.EndEpoch(), id, tc.endWant)
			}
			paid := len(objects(t, nw)) - regs
			if tc.dedup {
				if res.AlreadyCertified == nil || res.AlreadyCertified.Event == nil || paid != 0 {
					t.Fatalf("want alreadyCertified with its event and no payment; got %+v, %d registrations", res, paid)
				}
			} else if res.NewlyCreated == nil || paid != 1 {
				t.Fatalf("want newlyCreated and one registration; got %+v, %d", res, paid)
			}
			if res.NewlyCreated != nil && res.NewlyCreated.BlobObject.Deletable != tc.opts.Deletable {
				t.Fatalf("deletable = %v", res.NewlyCreated.BlobObject.Deletable)
			}
		})
	}
	// A dry run pays and sends nothing.
	regs, puts := len(objects(t, nw)), sliverPuts(nw)
	bal, _ := nw.Chain.Balance(ctx, nw.Wallet.Address())
	res, err := c.Store(ctx, nettest.Blob(3000, 99), client.StoreOptions{Epochs: 2, DryRun: true})
	if err != nil || res.DryRun == nil || res.DryRun.StorageCost == 0 || res.DryRun.EncodedLength == 0 || res.DryRun.AlreadyCertified {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	after, _ := nw.Chain.Balance(ctx, nw.Wallet.Address())
	if len(objects(t, nw)) != regs || !slices.Equal(sliverPuts(nw), puts) || after != bal {
		t.Fatal("a dry run registered, paid or sent something")
	}
	if res, _ := c.Store(ctx, blob, client.StoreOptions{Epochs: 1, DryRun: true}); res == nil || !res.DryRun.AlreadyCertified || res.DryRun.StorageCost != 0 {
		t.Fatalf("dry run of a certified blob: %+v", res.DryRun)
	}
}

// fault is a way a storage node fails a client: stopped, or its real
// handler wrapped in a faults behavior.
type fault struct {
	name     string
	down     bool
	behavior faults.Behavior
	slow     bool
}

func (f fault) apply(t *testing.T, nw *network.Network, i int) {
	t.Helper()
	switch {
	case f.down:
		nettest.Must(t, nw.StopNode(i), "stopping node %d", i)
	case f.slow:
		nw.Nodes[i].Faults.SetDelay(faults.OpAll, 2*time.Second)
	default:
		nw.Nodes[i].Faults.Set(f.behavior)
	}
}

// heal makes every node honest, quick and running again.
func heal(t *testing.T, nw *network.Network) {
	t.Helper()
	for i, n := range nw.Nodes {
		n.Faults.Set(faults.Honest)
		n.Faults.SetDelay(0, 0)
		nettest.Must(t, nw.StartNode(t.Context(), i), "starting node %d", i)
	}
}

// allFaults is every way a node can fail: down, slow, and each behavior.
func allFaults() []fault {
	out := []fault{{name: "down", down: true}, {name: "slow", slow: true}}
	for _, b := range faults.Behaviors() {
		out = append(out, fault{name: b.String(), behavior: b})
	}
	return out
}

// TestToleratesFaults: with nodes holding f shards down, slow, silent,
// refusing, forgetful or lying in each way, stores certify and reads return
// the blob's bytes.
func TestToleratesFaults(t *testing.T) {
	// n = 10, f = 3, 10 nodes of one shard each: three bad nodes hold f.
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	c := nettest.Client(t, nw, func(c *client.Config) { c.RequestTimeout = 3 * time.Second; c.TransferTimeout = 5 * time.Second })
	reader := nettest.Client(t, nw, func(c *client.Config) {
		c.Signer = nil
		c.RequestTimeout = 3 * time.Second
		c.TransferTimeout = 5 * time.Second
	})
	bad := []int{1, 4, 8}
	for k, f := range allFaults() {
		t.Run(f.name, func(t *testing.T) {
			defer heal(t, nw)
			// A blob stored while all are honest, read with f bad...
			old := nettest.Blob(7000, uint32(100+k))
			res, err := c.Store(t.Context(), old, client.StoreOptions{Epochs: 2})
			nettest.Must(t, err, "storing with every node honest")
			nettest.Must(t, nw.WaitHeld(t.Context(), res.BlobID()), "waiting for the nodes")
			for _, i := range bad {
				f.apply(t, nw, i)
			}
			got, err := reader.ReadBlob(t.Context(), res.BlobID(), client.ReadOptions{})
			if err != nil || !bytes.Equal(got, old) {
				t.Fatalf("read with %s nodes: %v (equal %v)", f.name, err, bytes.Equal(got, old))
			}
			// ...and a blob stored and read with f bad.
			blob := nettest.Blob(9000, uint32(k))
			res, err = c.Store(t.Context(), blob, client.StoreOptions{Epochs: 2})
			if err != nil || res.NewlyCreated == nil || res.NewlyCreated.BlobObject.CertifiedEpoch == nil {
				t.Fatalf("store with %s nodes: %+v, %v", f.name, res, err)
			}
			got, err = reader.ReadBlob(t.Context(), res.BlobID(), client.ReadOptions{Strict: true})
			if err != nil || !bytes.Equal(got, blob) {
				t.Fatalf("strict read with %s nodes: %v (equal %v)", f.name, err, bytes.Equal(got, blob))
			}
		})
	}
}

// TestStoreFailures: past f shards of bad nodes, a store fails with a
// QuorumError that names each node that failed and why; the blob stays
// registered and paid, never certified.
func TestStoreFailures(t *testing.T) {
	// n = 10, f = 3, quorum 7; 4 nodes hold 3, 3, 2, 2 shards: any two
	// hold more than f.
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw, func(c *client.Config) { c.RequestTimeout = 3 * time.Second; c.TransferTimeout = 5 * time.Second })
	for k, tc := range []struct {
		fault  fault
		reason error // matched in every failure when set
		text   string
	}{
		{fault{name: "down", down: true}, p2p.ErrUnavailable, ""},
		{fault{name: "silent", behavior: faults.Silent}, nil, "deadline"},
		{fault{name: "forged signatures", behavior: faults.ForgeSignature}, nil, "invalid confirmation"},
		{fault{name: "wrong message", behavior: faults.WrongMessage}, nil, "signed another message"},
		{fault{name: "forgetful", behavior: faults.Forget}, p2p.ErrNotFound, "metadata"},
		{fault{name: "refusing", behavior: faults.Refuse}, p2p.ErrBusy, ""},
	} {
		t.Run(tc.fault.name, func(t *testing.T) {
			defer heal(t, nw)
			com, err := nw.Committee(t.Context())
			nettest.Must(t, err, "committee")
			bad := []int{0, 2}
			for _, i := range bad {
				tc.fault.apply(t, nw, i)
			}
			before := objects(t, nw)
			_, err = c.Store(t.Context(), nettest.Blob(2000, uint32(k)), client.StoreOptions{Epochs: 1})
			var qe *client.QuorumError
			if !errors.As(err, &qe) || !errors.Is(err, client.ErrQuorumNotReached) {
				t.Fatalf("err = %v, want a QuorumError", err)
			}
			if len(qe.Failures) != len(bad) || qe.Need != 7 || qe.Shards >= 7 {
				t.Fatalf("quorum error %+v", qe)
			}
			for _, i := range bad {
				n := nw.Nodes[i]
				idx := slices.IndexFunc(qe.Failures, func(f client.NodeFailure) bool { return f.NodeID == n.ID() })
				if idx < 0 {
					t.Fatalf("the failures %v do not name node %d", qe.Failures, i)
				}
				f := qe.Failures[idx]
				k, _ := com.Index(n.ID())
				if f.Name != n.Name() || f.Shards != len(com.Members[k].Shards) {
					t.Errorf("failure %+v, want node %s with %d shards", f, n.Name(), len(com.Members[k].Shards))
				}
				if tc.reason != nil && !errors.Is(f.Err, tc.reason) {
					t.Errorf("failure of %s: %v, want %v", f.Name, f.Err, tc.reason)
				}
				if !strings.Contains(err.Error(), n.Name()) || !strings.Contains(err.Error(), tc.text) {
					t.Errorf("message %q does not name %s and %q", err, n.Name(), tc.text)
				}
			}
			after := objects(t, nw)
			if len(after) != len(before)+1 || certified(after) != certified(before) {
				t.Fatalf("objects %d → %d, certified %d → %d; want one more, none certified", len(before), len(after), certified(before), certified(after))
			}
		})
	}
}

func TestStoreGracePeriodCutsStragglers(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	com, _ := nw.Committee(t.Context())
	// A node with 2 shards: the others hold 8 ≥ 7.
	slow := nw.Nodes[slices.IndexFunc(nw.Nodes, func(n *network.Node) bool {
		k, _ := com.Index(n.ID())
		return len(com.Members[k].Shards) == 2
	})]
	slow.Faults.SetDelay(faults.OpConfirmation, time.Minute)
	start := time.Now()
	res, err := c.Store(t.Context(), nettest.Blob(100, 1), client.StoreOptions{Epochs: 1})
	if err != nil || res.NewlyCreated == nil {
		t.Fatalf("store: %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the store waited %s for the slow node", took)
	}
	if slow.Faults.Confirmations.Load() != 0 {
		t.Fatalf("the slow node confirmed")
	}
	nettest.Must(t, nw.WaitHeld(t.Context(), res.BlobID(), slow.Index), "the slow node holds the blob")
}

func TestStoreRetriesAfterEpochChange(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw, func(cfg *client.Config) { cfg.ViewTTL = time.Hour })
	if _, err := c.Committee(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := nw.AdvanceEpoch(t.Context()); err != nil { // the client's view is now stale
		t.Fatal(err)
	}
	res, err := c.Store(t.Context(), nettest.Blob(100, 2), client.StoreOptions{Epochs: 1, Deletable: true})
	if err != nil {
		t.Fatal(err)
	}
	if ce := res.NewlyCreated.BlobObject.CertifiedEpoch; ce == nil || *ce != 2 {
		t.Fatalf("certified epoch %v, want 2", ce)
	}
}

func TestStoreBadInput(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	ctx := t.Context()
	c := nettest.Client(t, nw, func(cfg *client.Config) { cfg.MaxBlobSize = 1000 })
	reader := nettest.Client(t, nw, func(cfg *client.Config) { cfg.Signer = nil })
	poor := nettest.Client(t, nw, func(cfg *client.Config) {
		k, _ := chain.GenerateAccountKey(nil)
		cfg.Signer = k
	})
	for _, tc := range []struct {
		name string
		c    *client.Client
		blob []byte
		opts client.StoreOptions
		want error
	}{
		{"zero epochs", c, []byte("x"), client.StoreOptions{}, client.ErrInvalidOptions},
		{"too large", c, make([]byte, 1001), client.StoreOptions{Epochs: 1}, client.ErrBlobTooLarge},
		{"no wallet", reader, []byte("x"), client.StoreOptions{Epochs: 1}, client.ErrNoWallet},
		{"no money", poor, []byte("x"), client.StoreOptions{Epochs: 1}, chain.ErrInsufficientBalance},
		{"too many epochs", c, []byte("x"), client.StoreOptions{Epochs: 1000}, chain.ErrTooManyEpochs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.c.Store(ctx, tc.blob, tc.opts); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := c.StoreReader(ctx, bytes.NewReader(make([]byte, 5000)), client.StoreOptions{Epochs: 1}); !errors.Is(err, client.ErrBlobTooLarge) {
		t.Fatalf("StoreReader of an oversized blob: %v", err)
	}
	if objs := objects(t, nw); len(objs) != 0 {
		t.Fatalf("bad input registered blobs: %v", objs)
	}
	if _, err := client.New(ctx, client.Config{}); !errors.Is(err, client.ErrInvalidOptions) {
		t.Fatalf("New without a chain: %v", err)
	}
}

func TestReadWithFaultyNodes(t *testing.T) {
	// n = 10, f = 3, rows = 4: one shard per node.
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	c := nettest.Client(t, nw)
	r := nettest.Client(t, nw, func(cfg *client.Config) { cfg.Signer = nil })
	for k, tc := range []struct {
		name   string
		down   []uint16 // by shard, so cases are stable
		liars  []uint16
		forget []uint16
		ok     bool
	}{
		{"all honest", nil, nil, nil, true},
		{"f down", []uint16{0, 1, 2}, nil, nil, true},
		{"f liars", nil, []uint16{3, 4, 5}, nil, true},
		{"f down and f liars", []uint16{0, 1, 2}, []uint16{3, 4, 5}, nil, true},
		{"forgetful and liars", nil, []uint16{7, 8}, []uint16{0, 1, 2, 3}, true},
		{"too many down", []uint16{0, 1, 2, 3, 4, 5}, []uint16{6}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer heal(t, nw)
			blob := nettest.Blob(20_000, uint32(k))
			res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 1})
			nettest.Must(t, err, "store")
			id := res.BlobID()
			nettest.Must(t, nw.WaitHeld(t.Context(), id), "waiting for the nodes")
			node := func(s uint16) *network.Node {
				n, err := nw.NodeForShard(t.Context(), s)
				nettest.Must(t, err, "node of shard %d", s)
				return n
			}
			for _, s := range tc.down {
				nettest.Must(t, nw.StopNode(node(s).Index), "stopping the node of shard %d", s)
			}
			for _, s := range tc.liars {
				node(s).Faults.Set(faults.LieSlivers)
			}
			for _, s := range tc.forget {
				node(s).Faults.Set(faults.Forget, id)
			}
			got, err := r.ReadBlob(t.Context(), id, client.ReadOptions{})
			if tc.ok {
				if err != nil || !bytes.Equal(got, blob) {
					t.Fatalf("read: %v (equal %v)", err, bytes.Equal(got, blob))
				}
				return
			}
			var ne *client.NotEnoughSliversError
			if !errors.As(err, &ne) || !errors.Is(err, client.ErrNotEnoughSlivers) || ne.Need != 4 || ne.Have >= 4 || len(ne.Failures) == 0 {
				t.Fatalf("err = %v, want NotEnoughSlivers", err)
			}
			for _, s := range tc.down {
				if n := node(s); !strings.Contains(err.Error(), n.Name()) {
					t.Errorf("the error does not name the down node %s: %v", n.Name(), err)
				}
			}
		})
	}
}

func TestReadStopsEarly(t *testing.T) {
	nw := nettest.New(t, nettest.Options{Nodes: 10, Shards: 10})
	c := nettest.Client(t, nw)
	blob := nettest.Blob(20_000, 6)
	res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	nettest.Must(t, nw.WaitHeld(t.Context(), res.BlobID()), "waiting for the nodes")
	if _, err := c.ReadBlob(t.Context(), res.BlobID(), client.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	var served int64
	for _, n := range nw.Nodes {
		served += n.Faults.SliversServed.Load()
	}
	if served != 4 { // rows: only the systematic slivers were asked for
		t.Fatalf("nodes served %d slivers, want 4", served)
	}
}

func TestReadNotFound(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw, func(c *client.Config) { c.RequestTimeout = time.Second })
	ctx := t.Context()
	unknown := encoding.BlobID{1, 2, 3}
	if _, err := c.ReadBlob(ctx, unknown, client.ReadOptions{}); !errors.Is(err, client.ErrBlobNotFound) {
		t.Fatalf("unknown blob: %v", err)
	}
	// Registered on chain, but no node has it.
	res, err := c.Store(ctx, nettest.Blob(100, 8), client.StoreOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nw.Nodes {
		n.Faults.Set(faults.Forget, res.BlobID())
	}
	if _, err := c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{}); !errors.Is(err, client.ErrBlobNotFound) {
		t.Fatalf("blob no node knows: %v", err)
	}
	// Every node down: metadata cannot be had.
	for i := range nw.Nodes {
		nettest.Must(t, nw.StopNode(i), "stopping node %d", i)
	}
	_, err = c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{})
	var ne *client.NotEnoughSliversError
	if !errors.As(err, &ne) || ne.Stage != "metadata" || len(ne.Failures) != 4 {
		t.Fatalf("all nodes down: %v", err)
	}
}

func TestBlobLifecycle(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	ctx := t.Context()
	blob := nettest.Blob(300, 9)
	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 2, Deletable: true})
	if err != nil {
		t.Fatal(err)
	}
	obj := res.NewlyCreated.BlobObject
	nettest.Must(t, nw.WaitHeld(ctx, obj.BlobID), "waiting for the nodes")
	st, err := c.Status(ctx, obj.BlobID, client.StatusOptions{Nodes: true})
	if err != nil || st.Status.Kind != chain.BlobDeletable || st.Status.Deletable.Certified != 1 || len(st.Nodes) != 4 {
		t.Fatalf("status %+v, %v", st, err)
	}
	for _, ns := range st.Nodes {
		if ns.Status == nil || !ns.Status.HasMetadata || ns.Status.StoredSlivers != 2*uint32(ns.Shards) {
			t.Fatalf("node status %+v", ns)
		}
	}
	ext, err := c.Extend(ctx, obj.ID, 3)
	if err != nil || ext.Blob.EndEpoch() != 6 || ext.Cost == 0 {
		t.Fatalf("extend: %+v, %v", ext, err)
	}
	list, err := c.ListBlobs(ctx, false)
	if err != nil || len(list) != 1 || list[0].ID != obj.ID {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if _, err := c.Extend(ctx, obj.ID, 0); !errors.Is(err, client.ErrInvalidOptions) {
		t.Fatalf("extend by 0: %v", err)
	}
	del, err := c.DeleteBlobID(ctx, obj.BlobID)
	if err != nil || len(del) != 1 || del[0].ObjectID != obj.ID {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if _, err := c.DeleteBlobID(ctx, obj.BlobID); !errors.Is(err, client.ErrNotOwned) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := c.ReadBlob(ctx, obj.BlobID, client.ReadOptions{}); !errors.Is(err, client.ErrBlobNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
	perm, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, perm.NewlyCreated.BlobObject.ID); !errors.Is(err, chain.ErrNotDeletable) {
		t.Fatalf("deleting a permanent blob: %v", err)
	}
}

// TestStatusFromLyingNodes: a node that lies about its status does not
// change what the chain says, and the client reports each node's answer as
// that node's.
func TestStatusFromLyingNodes(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	ctx := t.Context()
	codec, _ := encoding.New(10)
	enc, _ := codec.Encode(nettest.Blob(500, 3))
	nw.Nodes[1].Faults.Set(faults.LieStatus)
	st, err := c.Status(ctx, enc.BlobID, client.StatusOptions{Nodes: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.Kind != chain.BlobNonexistent {
		t.Fatalf("chain status of a blob never stored: %v", st.Status.Kind)
	}
	for _, ns := range st.Nodes {
		liar := ns.NodeID == nw.Nodes[1].ID()
		if ns.Status == nil || (ns.Status.State == p2p.BlobCertified) != liar {
			t.Fatalf("node %s (liar %v) reports %+v", ns.Name, liar, ns.Status)
		}
	}
}

func TestReadCancelled(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	c := nettest.Client(t, nw)
	res, err := c.Store(t.Context(), nettest.Blob(100, 4), client.StoreOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v", err)
	}
}

// failingReaderAt reads in order but fails every ReadAt.
type failingReaderAt struct{ io.Reader }

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("no ReadAt") }

// TestReadBlobFromFile checks ReadBlobFrom's parallel read of a file: whole
// for a right size hint, and for a file that grew or shrank since, or whose
// ReadAt fails (then read in order); over the limit, TooLargeError.
func TestReadBlobFromFile(t *testing.T) {
	// n = 40: blobs up to 47 MB, above the size read in parts.
	nw := nettest.New(t, nettest.Options{Shards: 40})
	c := nettest.Client(t, nw, func(cfg *client.Config) { cfg.MaxBlobSize = 10 << 20 })
	data := make([]byte, 9<<20+123)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := int64(len(data))
	for _, tc := range []struct {
		name string
		r    io.Reader
		hint int64
	}{
		{"exact", f, n},
		{"grew", f, n - 1<<20},
		{"shrank", f, n + 1<<20 - 200},
		{"no hint", f, 0},
		{"ReadAt fails", failingReaderAt{bytes.NewReader(data)}, n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, err := c.ReadBlobFrom(t.Context(), tc.r, tc.hint)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadBlobFrom: %d bytes, %v; want the file's %d", len(got), err, len(data))
			}
		})
	}
	big := append(bytes.Clone(data), make([]byte, 2<<20)...)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	var tooLarge *encoding.TooLargeError
	if _, err := c.ReadBlobFrom(t.Context(), f, n); !errors.As(err, &tooLarge) {
		t.Fatalf("a file grown past the limit: %v, want a TooLargeError", err)
	}
}
