package node

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// TestBudget: reservations count per peer and in total, refuse what does
// not fit with ErrIntakeFull (and p2p.ErrBusy), and release returns them.
func TestBudget(t *testing.T) {
	var reported int64
	b := newBudget(1000, 600, func(n int64) { reported = n })
	alice, bob := peer.ID("alice"), peer.ID("bob")
	for _, tc := range []struct {
		who  peer.ID
		n    int64
		fits bool
	}{
		{alice, 500, true},
		{alice, 101, false}, // past alice's 600
		{alice, 100, true},
		{bob, 400, true},
		{bob, 1, false}, // past the total of 1000
	} {
		err := b.reserve(tc.who, tc.n)
		if tc.fits != (err == nil) {
			t.Fatalf("reserve(%s, %d) = %v, want fits %v", tc.who, tc.n, err, tc.fits)
		}
		if err != nil && !(errors.Is(err, ErrIntakeFull) && errors.Is(err, p2p.ErrBusy)) {
			t.Fatalf("reserve(%s, %d) = %v, want ErrIntakeFull and p2p.ErrBusy", tc.who, tc.n, err)
		}
	}
	if b.used() != 1000 || b.usedBy(alice) != 600 || reported != 1000 || !b.full(alice) || !b.full(bob) {
		t.Fatalf("used %d, alice %d, reported %d", b.used(), b.usedBy(alice), reported)
	}
	b.release(alice, 600)
	if b.used() != 400 || b.usedBy(alice) != 0 || reported != 400 || b.full(alice) {
		t.Fatalf("after release: used %d, alice %d, reported %d", b.used(), b.usedBy(alice), reported)
	}
}

func TestPendingBuffer(t *testing.T) {
	now := time.Unix(1000, 0)
	mem := newBudget(2000, 2000, nil)
	p := newPending(mem, time.Minute)
	p.now = func() time.Time { return now }
	a, b := encoding.BlobID{1}, encoding.BlobID{2}
	alice := peer.ID("alice")
	sl := func(axis encoding.Axis, idx uint16, size int) held {
		t.Helper()
		if err := mem.reserve(alice, int64(size)); err != nil {
			t.Fatal(err)
		}
		return held{Sliver: encoding.Sliver{Axis: axis, Index: idx, SymbolSize: 2, Data: bytes.Repeat([]byte{byte(idx)}, size)}, owner: alice}
	}
	p.putSlivers(a, []held{sl(0, 1, 400), sl(1, 2, 400)})
	if p.size() != 800 || mem.used() != 800 {
		t.Fatalf("size %d, reserved %d; want 800, 800", p.size(), mem.used())
	}
	// A sliver held already is dropped, and its reservation released.
	p.putSlivers(a, []held{sl(0, 1, 400)})
	if p.size() != 800 || mem.used() != 800 {
		t.Fatalf("after a duplicate: size %d, reserved %d; want 800, 800", p.size(), mem.used())
	}
	md := &encoding.Metadata{EncodingType: encoding.RS2, Hashes: make([]encoding.SliverPairHashes, 3)}
	if err := p.putMetadata(b, md, alice); err != nil || p.metadata(b) != md || p.size() != 800+metadataSize(md) {
		t.Fatalf("metadata: err %v, size %d", err, p.size())
	}
	// Metadata that does not fit is refused, and nothing is left behind.
	big := &encoding.Metadata{EncodingType: encoding.RS2, Hashes: make([]encoding.SliverPairHashes, 30)}
	if err := p.putMetadata(encoding.BlobID{3}, big, alice); !errors.Is(err, ErrIntakeFull) || p.has(encoding.BlobID{3}) {
		t.Fatalf("metadata past the budget: err = %v, has %v", err, p.has(encoding.BlobID{3}))
	}
	got := p.take(a)
	if got == nil || len(got.slivers) != 2 || p.has(a) || p.size() != metadataSize(md) {
		t.Fatalf("take: %v, size %d", got, p.size())
	}
	// take hands the slivers' reservations to the caller.
	if mem.used() != 800+metadataSize(md) {
		t.Fatalf("reserved %d after take, want %d", mem.used(), 800+metadataSize(md))
	}
	for _, h := range got.helds() {
		mem.release(h.owner, h.size())
	}
	// Expiry drops entries older than the TTL and releases them.
	p.putSlivers(b, []held{sl(0, 5, 100)})
	now = now.Add(2 * time.Minute)
	if n := p.expire(); n != 1 || p.has(b) || p.size() != 0 || mem.used() != 0 {
		t.Fatalf("expire dropped %d, has(b) = %v, size %d, reserved %d", n, p.has(b), p.size(), mem.used())
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestApplyBlobEvents replays a blob's life through the events a chain emits
// and checks the record after each.
func TestApplyBlobEvents(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	md := &encoding.Metadata{EncodingType: encoding.RS2, Hashes: make([]encoding.SliverPairHashes, 4)}
	id := md.BlobID()
	perm, del1, del2 := chain.ObjectID{1}, chain.ObjectID{2}, chain.ObjectID{3}
	apply := func(ev chain.Event) store.BlobRecord {
		t.Helper()
		ev.BlobID = id
		if err := s.Update(ctx, func(tx *store.Tx) error { return applyBlobEvent(tx, ev) }); err != nil {
			t.Fatalf("%s: %v", ev.Kind, err)
		}
		rec, err := s.BlobRecord(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", ev.Kind, err)
		}
		return rec
	}
	rec := apply(chain.Event{Kind: chain.EventBlobRegistered, Epoch: 1, ObjectID: perm, Size: 10, EncodingType: encoding.RS2, EndEpoch: 5})
	if rec.PermanentRegistered != 1 || rec.EndEpoch != 5 || rec.Certified || rec.UnencodedLength != 10 || rec.RegisteredEpoch != 1 {
		t.Fatalf("after registration: %+v", rec)
	}
	// The same event again (a replay) changes nothing.
	if again := apply(chain.Event{Kind: chain.EventBlobRegistered, Epoch: 1, ObjectID: perm, EndEpoch: 5}); again.PermanentRegistered != 1 {
		t.Fatalf("replayed registration counted twice: %+v", again)
	}
	rec = apply(chain.Event{Kind: chain.EventBlobCertified, Epoch: 2, ObjectID: perm, EndEpoch: 5})
	if !rec.Certified || rec.CertifiedEpoch != 2 || rec.PermanentCertified != 1 {
		t.Fatalf("after certification: %+v", rec)
	}
	// A replayed certification changes nothing either.
	if again := apply(chain.Event{Kind: chain.EventBlobCertified, Epoch: 2, ObjectID: perm, EndEpoch: 5}); again.PermanentCertified != 1 {
		t.Fatalf("replayed certification counted twice: %+v", again)
	}
	object := func(obj chain.ObjectID) (store.ObjectRecord, error) {
		return s.ObjectRecord(ctx, id, store.ObjectID(obj))
	}
	if o, err := object(perm); err != nil || o != (store.ObjectRecord{Certified: true, EndEpoch: 5}) {
		t.Fatalf("object record of the permanent registration: %+v, %v", o, err)
	}
	rec = apply(chain.Event{Kind: chain.EventBlobRegistered, Epoch: 2, ObjectID: del1, Deletable: true, EndEpoch: 9})
	rec = apply(chain.Event{Kind: chain.EventBlobRegistered, Epoch: 2, ObjectID: del2, Deletable: true, EndEpoch: 3})
	if rec.DeletableRegistered != 2 || rec.EndEpoch != 9 || len(rec.ObjectIDs) != 0 {
		t.Fatalf("after deletable registrations: %+v", rec)
	}
	if o, err := object(del2); err != nil || o != (store.ObjectRecord{Deletable: true, EndEpoch: 3}) {
		t.Fatalf("object record of a deletable registration: %+v, %v", o, err)
	}
	rec = apply(chain.Event{Kind: chain.EventBlobExtended, Epoch: 3, ObjectID: perm, EndEpoch: 12})
	if rec.EndEpoch != 12 {
		t.Fatalf("after extension: end epoch %d, want 12", rec.EndEpoch)
	}
	if o, _ := object(perm); o.EndEpoch != 12 {
		t.Fatalf("the extended object ends at %d, want 12", o.EndEpoch)
	}
	rec = apply(chain.Event{Kind: chain.EventBlobDeleted, Epoch: 3, ObjectID: del1, EndEpoch: 9})
	if rec.DeletableRegistered != 1 || rec.PermanentRegistered != 1 {
		t.Fatalf("after deleting one deletable registration: %+v", rec)
	}
	if _, err := object(del1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the deleted object's record: %v", err)
	}
	// A replayed deletion does not take another registration with it.
	if again := apply(chain.Event{Kind: chain.EventBlobDeleted, Epoch: 3, ObjectID: del1, EndEpoch: 9}); again.DeletableRegistered != 1 {
		t.Fatalf("replayed deletion counted twice: %+v", again)
	}
	// Invalidation deletes the data and keeps a marked record.
	if err := s.PutMetadata(ctx, id, md); err != nil {
		t.Fatal(err)
	}
	rec = apply(chain.Event{Kind: chain.EventInvalidBlobID, Epoch: 4})
	if !rec.Invalid {
		t.Fatalf("after invalidation: %+v", rec)
	}
	if ok, _ := s.HasMetadata(ctx, id); ok {
		t.Fatal("invalidation kept the metadata")
	}
	if _, err := object(perm); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("invalidation kept an object record: %v", err)
	}
}

// TestApplyBlobEventsLegacyRecord: a record written before object records
// existed lists its objects; they are honoured (a replayed registration is
// recognised, a deletion takes its object out) and nothing is added.
func TestApplyBlobEventsLegacyRecord(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	id := encoding.BlobID{8}
	old, fresh := chain.ObjectID{1}, chain.ObjectID{2}
	if err := s.PutBlobRecord(ctx, id, store.BlobRecord{EncodingType: encoding.RS2, EndEpoch: 5, DeletableRegistered: 1,
		ObjectIDs: []store.ObjectID{store.ObjectID(old)}}); err != nil {
		t.Fatal(err)
	}
	apply := func(ev chain.Event) store.BlobRecord {
		t.Helper()
		ev.BlobID = id
		if err := s.Update(ctx, func(tx *store.Tx) error { return applyBlobEvent(tx, ev) }); err != nil {
			t.Fatal(err)
		}
		rec, err := s.BlobRecord(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := apply(chain.Event{Kind: chain.EventBlobRegistered, ObjectID: old, Deletable: true, EndEpoch: 5}); rec.DeletableRegistered != 1 {
		t.Fatalf("a legacy object's registration replayed: %+v", rec)
	}
	rec := apply(chain.Event{Kind: chain.EventBlobRegistered, ObjectID: fresh, Deletable: true, EndEpoch: 6})
	if rec.DeletableRegistered != 2 || len(rec.ObjectIDs) != 1 {
		t.Fatalf("a new registration of a legacy record: %+v", rec)
	}
	rec = apply(chain.Event{Kind: chain.EventBlobDeleted, ObjectID: old})
	if rec.DeletableRegistered != 1 || len(rec.ObjectIDs) != 0 {
		t.Fatalf("deleting a legacy object: %+v", rec)
	}
}

// TestDeleteLastRegistration: deleting the last deletable registration
// deletes the blob's data and record.
func TestDeleteLastRegistration(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	id := encoding.BlobID{9}
	obj := chain.ObjectID{4}
	for _, ev := range []chain.Event{
		{Kind: chain.EventBlobRegistered, BlobID: id, Epoch: 1, ObjectID: obj, Deletable: true, EndEpoch: 5, EncodingType: encoding.RS2},
		{Kind: chain.EventBlobCertified, BlobID: id, Epoch: 1, ObjectID: obj, Deletable: true, EndEpoch: 5},
		{Kind: chain.EventBlobDeleted, BlobID: id, Epoch: 2, ObjectID: obj, WasCertified: true},
	} {
		if err := s.Update(ctx, func(tx *store.Tx) error { return applyBlobEvent(tx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.BlobRecord(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record after deleting the last registration: err = %v, want ErrNotFound", err)
	}
}
