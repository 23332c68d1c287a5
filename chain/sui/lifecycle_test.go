package sui_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/chain/sui"
	"github.com/walrus-go/walrus/chain/sui/suitest"
	"github.com/walrus-go/walrus/encoding"
)

var lifecycleNet = chaintest.NewNetwork(1, 40, 30, 20, 10)

func open(t *testing.T, net *chaintest.Network) (*suitest.Server, *sui.Chain) {
	t.Helper()
	srv := suitest.New(t, net)
	c, err := sui.Open(t.Context(), srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

// certify signs a message by every committee member.
func certify(t *testing.T, net *chaintest.Network, com *chain.Committee, msg []byte) *chain.Certificate {
	t.Helper()
	sigs := map[int]chain.BLSSignature{}
	for i, m := range com.Members {
		for _, n := range net.Nodes {
			if n.Key.PublicKey() == m.PublicKey {
				sigs[i] = n.Key.Sign(msg)
			}
		}
	}
	cert, err := chain.NewCertificate(com, msg, sigs)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestBlobLifecycle takes one blob through registration, certification,
// extension and deletion through the Sui backend, as a client's write path
// does, while following the events as a storage node does, resuming from a
// stored cursor.
func TestBlobLifecycle(t *testing.T) {
	ctx := t.Context()
	net := lifecycleNet
	srv, c := open(t, net)
	sys, err := c.SystemState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := srv.Local().SystemState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sys.Epoch != want.Epoch || sys.Phase != want.Phase || sys.NShards != want.NShards || sys.StoragePrice != want.StoragePrice ||
		sys.WritePrice != want.WritePrice || sys.MaxEpochsAhead != want.MaxEpochsAhead || sys.EpochDuration != want.EpochDuration ||
		!sys.EpochStart.Equal(want.EpochStart) || sys.TotalStake != want.TotalStake {
		t.Fatalf("system state over Sui %+v\nlocal %+v", sys, want)
	}
	com, err := c.Committee(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	lcom, _ := srv.Local().Committee(ctx, 0)
	if len(com.Members) != 4 || com.Epoch != 1 {
		t.Fatalf("committee %+v", com)
	}
	for i, m := range com.Members {
		l := lcom.Members[i]
		if m.NodeID != l.NodeID || m.PublicKey != l.PublicKey || !slices.Equal(m.Shards, l.Shards) || m.PeerID != l.PeerID ||
			!slices.Equal(m.Addresses, l.Addresses) || m.Name != l.Name || m.Stake != l.Stake {
			t.Errorf("member %d over Sui %+v\nlocal %+v", i, m, l)
		}
	}

	client := net.Client
	before, _ := c.Balance(ctx, client.Address())
	var root encoding.Hash
	root[0] = 7
	args := chain.RegisterBlobArgs{BlobID: encoding.ComputeBlobID(encoding.RS2, 5000, root), RootHash: root, Size: 5000,
		EncodingType: encoding.RS2, Epochs: 3, Deletable: true}
	reg, err := c.RegisterBlob(ctx, client, args)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Blob.BlobID != args.BlobID || !reg.Blob.Deletable || reg.Blob.Owner != client.Address() || reg.Blob.IsCertified() || reg.Blob.EndEpoch() != 4 {
		t.Fatalf("registered %+v", reg.Blob)
	}
	if after, _ := c.Balance(ctx, client.Address()); before-after != reg.Cost {
		t.Errorf("paid %d, cost %d", before-after, reg.Cost)
	}
	st, err := c.BlobStatus(ctx, args.BlobID)
	if err != nil || st.Kind != chain.BlobDeletable || st.Deletable.Registered != 1 || st.Deletable.Certified != 0 {
		t.Fatalf("status after registration %+v %v", st, err)
	}

	// A node's follower reads the registration, and stores its cursor.
	evs, err := c.Events(ctx, chain.Cursor{}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[len(evs)-1].Kind != chain.EventBlobRegistered || evs[len(evs)-1].ObjectID != reg.Blob.ID {
		t.Fatalf("events %+v", evs)
	}
	stored := evs[len(evs)-1].Cursor.String()

	msg := chain.BlobCertification{Epoch: com.Epoch, BlobID: args.BlobID, Deletable: true, ObjectID: reg.Blob.ID}.Message()
	cr, err := c.CertifyBlob(ctx, client, reg.Blob.ID, certify(t, net, com, msg))
	if err != nil {
		t.Fatal(err)
	}
	if !cr.Blob.IsCertified() || *cr.Blob.CertifiedEpoch != 1 {
		t.Fatalf("certified %+v", cr.Blob)
	}
	if _, err := c.CertifyBlob(ctx, client, reg.Blob.ID, certify(t, net, com, msg)); !errorsIs(err, chain.ErrAlreadyCertified) {
		t.Errorf("certifying twice: %v", err)
	}
	ext, err := c.ExtendBlob(ctx, client, reg.Blob.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ext.Blob.EndEpoch() != 6 {
		t.Errorf("extended to %d", ext.Blob.EndEpoch())
	}
	st, err = c.BlobStatus(ctx, args.BlobID)
	if err != nil || st.Kind != chain.BlobDeletable || st.Deletable.Certified != 1 || st.InitialCertifiedEpoch == nil {
		t.Fatalf("status after certification %+v %v", st, err)
	}
	del, err := c.DeleteBlob(ctx, client, reg.Blob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if del.Storage.EndEpoch != 6 {
		t.Errorf("storage back %+v", del.Storage)
	}
	if _, err := c.BlobObject(ctx, reg.Blob.ID); !errorsIs(err, chain.ErrNotFound) {
		t.Errorf("deleted object: %v", err)
	}
	st, err = c.BlobStatus(ctx, args.BlobID)
	if err != nil || st.Kind != chain.BlobNonexistent {
		t.Fatalf("status after deletion %+v %v", st, err)
	}
	rs, err := c.StorageResources(ctx, client.Address())
	if err != nil || len(rs) != 1 || rs[0].ID != del.Storage.ID {
		t.Fatalf("storage resources %+v %v", rs, err)
	}

	// The follower restarts from its stored cursor and sees the rest,
	// exactly once.
	cur, err := chain.ParseCursor(stored)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := c.Events(ctx, cur, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []chain.EventKind
	for _, e := range rest {
		if e.ObjectID == reg.Blob.ID {
			kinds = append(kinds, e.Kind)
		}
		if !cur.Less(e.Cursor) {
			t.Errorf("cursor %v not after %v", e.Cursor, cur)
		}
		cur = e.Cursor
	}
	if want := []chain.EventKind{chain.EventBlobCertified, chain.EventBlobExtended, chain.EventBlobDeleted}; !slices.Equal(kinds, want) {
		t.Errorf("events after the stored cursor %v, want %v", kinds, want)
	}
	if more, err := c.Events(ctx, cur, 100, 20*time.Millisecond); err != nil || len(more) != 0 {
		t.Errorf("after the last event: %v %v", more, err)
	}
}

// TestEventsWait: a follower waiting for events gets the epoch change when
// it comes.
func TestEventsWait(t *testing.T) {
	ctx := t.Context()
	srv, c := open(t, lifecycleNet)
	evs, err := c.Events(ctx, chain.Cursor{}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cur chain.Cursor
	if len(evs) > 0 {
		cur = evs[len(evs)-1].Cursor
	}
	done := make(chan []chain.Event, 1)
	go func() {
		evs, _ := c.Events(context.Background(), cur, 100, 5*time.Second)
		done <- evs
	}()
	time.Sleep(30 * time.Millisecond)
	if err := srv.Advance(ctx, lifecycleNet.EpochDuration); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if len(got) == 0 {
		t.Fatal("no events after the epoch change")
	}
	var kinds []chain.EventKind
	for _, e := range got {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Contains(kinds, chain.EventEpochChangeStart) {
		t.Errorf("events %v lack EpochChangeStart", kinds)
	}
}
