package client_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/client/clienttest"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

var quiet = slog.New(slog.DiscardHandler)

func newClient(t testing.TB, net *clienttest.Network, mod ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{Chain: net.Chain, Signer: net.Wallet, Logger: quiet, GracePeriod: 20 * time.Millisecond,
		RequestTimeout: 10 * time.Second, TransferTimeout: 20 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestStoreAndRead(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{NShards: 10, Nodes: 4})
	c := newClient(t, net)
	ctx := t.Context()
	for i, size := range []int{0, 1, 1000, 100_000} {
		blob := clienttest.Blob(size, uint32(i))
		enc, err := net.Codec.Encode(blob)
		if err != nil {
			t.Fatal(err)
		}
		before := make([]int64, len(net.Nodes))
		for k, n := range net.Nodes {
			before[k] = n.PutSliverRequests.Load()
		}
		res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 3})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		nc := res.NewlyCreated
		if nc == nil || res.AlreadyCertified != nil {
			t.Fatalf("size %d: result %+v, want newlyCreated only", size, res)
		}
		st, _ := net.Chain.SystemState(ctx)
		wantCost, _ := st.RegisterCost(uint64(size), 3)
		encLen, _ := net.Codec.Params().EncodedLength(uint64(size))
		if nc.BlobObject.BlobID != enc.BlobID || nc.BlobObject.Size != uint64(size) || nc.Cost != wantCost ||
			nc.BlobObject.CertifiedEpoch == nil || *nc.BlobObject.CertifiedEpoch != 1 || nc.BlobObject.Storage.EndEpoch != 4 ||
			nc.BlobObject.Deletable || nc.BlobObject.EncodingType != "RS2" ||
			nc.ResourceOperation.RegisterFromScratch == nil || *nc.ResourceOperation.RegisterFromScratch != (client.RegisterFromScratch{EncodedLength: encLen, EpochsAhead: 3}) {
			t.Fatalf("size %d: newlyCreated %+v (cost want %d, encoded length %d)", size, nc, wantCost, encLen)
		}
		for k, n := range net.Nodes {
			if !n.HasBlob(enc.BlobID) {
				t.Errorf("size %d: %s lacks slivers", size, n.Name)
			}
			if got := n.PutSliverRequests.Load() - before[k]; got != 1 {
				t.Errorf("size %d: %s got %d sliver/put requests, want 1", size, n.Name, got)
			}
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
	if got := net.Chain.Calls("CertifyBlob"); got != 4 {
		t.Errorf("CertifyBlob called %d times, want 4", got)
	}
}

func TestStoreDeduplication(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{})
	c := newClient(t, net)
	ctx := t.Context()
	blob := clienttest.Blob(5000, 7)
	first, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 5})
	if err != nil {
		t.Fatal(err)
	}
	id := first.BlobID()
	cases := []struct {
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			regs := net.Chain.Calls("RegisterBlob")
			res, err := c.Store(ctx, blob, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.BlobID() != id || res.EndEpoch() != tc.endWant {
				t.Fatalf("blob %s end %d, want %s end %d", res.BlobID(), res.EndEpoch(), id, tc.endWant)
			}
			paid := net.Chain.Calls("RegisterBlob") - regs
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
	regs, puts := net.Chain.Calls("RegisterBlob"), net.Nodes[0].PutSliverRequests.Load()
	res, err := c.Store(ctx, clienttest.Blob(3000, 99), client.StoreOptions{Epochs: 2, DryRun: true})
	if err != nil || res.DryRun == nil || res.DryRun.StorageCost == 0 || res.DryRun.EncodedLength == 0 || res.DryRun.AlreadyCertified {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if net.Chain.Calls("RegisterBlob") != regs || net.Nodes[0].PutSliverRequests.Load() != puts {
		t.Fatal("a dry run registered or sent something")
	}
	if res, _ := c.Store(ctx, blob, client.StoreOptions{Epochs: 1, DryRun: true}); res == nil || !res.DryRun.AlreadyCertified || res.DryRun.StorageCost != 0 {
		t.Fatalf("dry run of a certified blob: %+v", res.DryRun)
	}
}

func TestStoreFailures(t *testing.T) {
	// n = 10, f = 3, quorum 7; 4 nodes hold 3, 3, 2, 2 shards.
	cases := []struct {
		name     string
		bad      []int // node indices
		behavior clienttest.Behavior
		ok       bool
		reason   error // matched in every failure when set
		text     string
	}{
		{"one node down", []int{3}, clienttest.Down, true, nil, ""},
		{"one liar", []int{0}, clienttest.BadSignature, true, nil, ""},
		{"two down", []int{0, 1}, clienttest.Down, false, p2p.ErrUnavailable, ""},
		{"bad signatures", []int{1, 2}, clienttest.BadSignature, false, nil, "invalid confirmation"},
		{"wrong message", []int{0, 3}, clienttest.WrongMessage, false, nil, "signed another message"},
		{"forgetful", []int{1, 3}, clienttest.Forget, false, p2p.ErrInvalid, "metadata"},
		{"refusing", []int{0, 2}, clienttest.Refuse, false, p2p.ErrBusy, ""},
	}
	net := clienttest.New(t, clienttest.Options{})
	c := newClient(t, net)
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range net.Nodes {
				n.SetBehavior(clienttest.Honest)
			}
			for _, i := range tc.bad {
				net.Nodes[i].SetBehavior(tc.behavior)
			}
			certs, regs := net.Chain.Calls("CertifyBlob"), net.Chain.Calls("RegisterBlob")
			res, err := c.Store(t.Context(), clienttest.Blob(2000, uint32(k)), client.StoreOptions{Epochs: 1})
			if tc.ok {
				if err != nil || res.NewlyCreated == nil {
					t.Fatalf("store: %v", err)
				}
				return
			}
			var qe *client.QuorumError
			if !errors.As(err, &qe) || !errors.Is(err, client.ErrQuorumNotReached) {
				t.Fatalf("err = %v, want a QuorumError", err)
			}
			if len(qe.Failures) != len(tc.bad) || qe.Need != 7 || qe.Shards >= 7 {
				t.Fatalf("quorum error %+v", qe)
			}
			for k, i := range tc.bad {
				f := qe.Failures[k]
				if f.Name != net.Nodes[i].Name || f.NodeID != net.Nodes[i].ID || f.Shards != len(net.Nodes[i].Shards) {
					t.Errorf("failure %d = %+v, want node %s", k, f, net.Nodes[i].Name)
				}
				if tc.reason != nil && !errors.Is(f.Err, tc.reason) {
					t.Errorf("failure of %s: %v, want %v", f.Name, f.Err, tc.reason)
				}
				if !strings.Contains(err.Error(), net.Nodes[i].Name) || !strings.Contains(err.Error(), tc.text) {
					t.Errorf("message %q does not name %s and %q", err, net.Nodes[i].Name, tc.text)
				}
			}
			// Registered and paid, never certified.
			if net.Chain.Calls("CertifyBlob") != certs || net.Chain.Calls("RegisterBlob") != regs+1 {
				t.Fatalf("certify %d, register %d", net.Chain.Calls("CertifyBlob")-certs, net.Chain.Calls("RegisterBlob")-regs)
			}
		})
	}
}

func TestStoreGracePeriodCutsStragglers(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{})
	c := newClient(t, net)
	slow := net.Nodes[3] // 2 shards; the others hold 8 ≥ 7
	slow.SetDelay(time.Minute)
	res, err := c.Store(t.Context(), clienttest.Blob(100, 1), client.StoreOptions{Epochs: 1})
	if err != nil || res.NewlyCreated == nil {
		t.Fatalf("store: %v", err)
	}
	if slow.Confirmations.Load() != 0 || !slow.HasBlob(res.BlobID()) {
		t.Fatalf("slow node: %d confirmations, has blob %v", slow.Confirmations.Load(), slow.HasBlob(res.BlobID()))
	}
}

func TestStoreRetriesAfterEpochChange(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{})
	c := newClient(t, net, func(cfg *client.Config) { cfg.ViewTTL = time.Hour })
	net.Chain.AdvanceEpoch() // the client's view is now stale
	res, err := c.Store(t.Context(), clienttest.Blob(100, 2), client.StoreOptions{Epochs: 1, Deletable: true})
	if err != nil {
		t.Fatal(err)
	}
	if ce := res.NewlyCreated.BlobObject.CertifiedEpoch; ce == nil || *ce != 2 {
		t.Fatalf("certified epoch %v, want 2", ce)
	}
}

func TestStoreBadInput(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{})
	ctx := t.Context()
	c := newClient(t, net, func(cfg *client.Config) { cfg.MaxBlobSize = 1000 })
	reader := newClient(t, net, func(cfg *client.Config) { cfg.Signer = nil })
	poor := newClient(t, net, func(cfg *client.Config) {
		k, _ := chain.GenerateAccountKey(nil)
		cfg.Signer = k
	})
	cases := []struct {
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Store(ctx, tc.blob, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := c.StoreReader(ctx, bytes.NewReader(make([]byte, 5000)), client.StoreOptions{Epochs: 1}); !errors.Is(err, client.ErrBlobTooLarge) {
		t.Fatalf("StoreReader of an oversized blob: %v", err)
	}
	if len(net.Chain.Blobs()) != 0 {
		t.Fatalf("bad input registered blobs: %v", net.Chain.Blobs())
	}
	if _, err := client.New(ctx, client.Config{}); !errors.Is(err, client.ErrInvalidOptions) {
		t.Fatalf("New without a chain: %v", err)
	}
}

func TestReadWithFaultyNodes(t *testing.T) {
	// n = 10, f = 3, rows = 4: one shard per node.
	cases := []struct {
		name   string
		down   []int
		liars  []int
		forget []int
		ok     bool
	}{
		{"all honest", nil, nil, nil, true},
		{"f down", []int{0, 1, 2}, nil, nil, true},
		{"f liars", nil, []int{3, 4, 5}, nil, true},
		{"f down and f liars", []int{0, 1, 2}, []int{3, 4, 5}, nil, true},
		{"forgetful and liars", nil, []int{7, 8}, []int{0, 1, 2, 3}, true},
		{"too many down", []int{0, 1, 2, 3, 4, 5}, []int{6}, nil, false},
	}
	net := clienttest.New(t, clienttest.Options{NShards: 10, Nodes: 10})
	c := newClient(t, net)
	r := newClient(t, net, func(cfg *client.Config) { cfg.Signer = nil })
	for k, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range net.Nodes {
				n.SetBehavior(clienttest.Honest)
			}
			blob := clienttest.Blob(20_000, uint32(k))
			res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 1})
			if err != nil {
				t.Fatal(err)
			}
			id := res.BlobID()
			// Turn nodes by the shard they hold, so cases are stable.
			set := func(shards []int, b clienttest.Behavior) {
				for _, s := range shards {
					net.NodeForShard(s).SetBehavior(b)
				}
			}
			set(tc.down, clienttest.Down)
			set(tc.liars, clienttest.LieSlivers)
			for _, s := range tc.forget {
				net.NodeForShard(s).Forget(id)
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
		})
	}
}

func TestReadStopsEarly(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{NShards: 10, Nodes: 10})
	c := newClient(t, net)
	blob := clienttest.Blob(20_000, 6)
	res, err := c.Store(t.Context(), blob, client.StoreOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadBlob(t.Context(), res.BlobID(), client.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	var served int64
	for _, n := range net.Nodes {
		served += n.SliversServed.Load()
	}
	if served != 4 { // rows: only the systematic slivers were asked for
		t.Fatalf("nodes served %d slivers, want 4", served)
	}
}

func TestReadNotFound(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{})
	c := newClient(t, net)
	ctx := t.Context()
	unknown := encoding.BlobID{1, 2, 3}
	if _, err := c.ReadBlob(ctx, unknown, client.ReadOptions{}); !errors.Is(err, client.ErrBlobNotFound) {
		t.Fatalf("unknown blob: %v", err)
	}
	// Registered on chain, but no node has it.
	blob := clienttest.Blob(100, 8)
	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range net.Nodes {
		n.Forget(res.BlobID())
	}
	if _, err := c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{}); !errors.Is(err, client.ErrBlobNotFound) {
		t.Fatalf("blob no node knows: %v", err)
	}
	// Every node down: metadata cannot be had.
	for _, n := range net.Nodes {
		n.SetBehavior(clienttest.Down)
	}
	_, err = c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{})
	var ne *client.NotEnoughSliversError
	if !errors.As(err, &ne) || ne.Stage != "metadata" || len(ne.Failures) != 4 {
		t.Fatalf("all nodes down: %v", err)
	}
}

func TestBlobLifecycle(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{})
	c := newClient(t, net)
	ctx := t.Context()
	blob := clienttest.Blob(300, 9)
	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 2, Deletable: true})
	if err != nil {
		t.Fatal(err)
	}
	obj := res.NewlyCreated.BlobObject
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

func TestReadCancelled(t *testing.T) {
	net := clienttest.New(t, clienttest.Options{})
	c := newClient(t, net)
	res, err := c.Store(t.Context(), clienttest.Blob(100, 4), client.StoreOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v", err)
	}
}
