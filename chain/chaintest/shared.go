package chaintest

import (
	"errors"
	"reflect"

	"github.com/walrus-go/walrus/chain"
)

// testSharedBlobs checks Walrus's shared_blob semantics: sharing takes a
// permanent blob object from its owner (deletable ones are refused), anyone
// funds it, anyone extends it from its funds (never beyond them), and
// nobody owns, deletes or annotates the wrapped blob.
func testSharedBlobs(e *env) {
	owner := e.net.Client
	r := e.register(owner, blob(1, 1500, 2, false))
	_, err := e.c.SharedBlob(e.ctx, chain.ObjectID{0xEF})
	if errors.Is(err, chain.ErrSharedBlobsUnsupported) {
		e.t.Skip("the backend has no shared blobs: " + err.Error())
	}
	e.wantErr(err, chain.ErrNotFound, "unknown shared blob")
	e.certify(r.Blob)

	d := e.register(owner, blob(2, 1500, 2, true))
	_, err = e.c.ShareBlob(e.ctx, owner, d.Blob.ID, 0)
	e.wantErr(err, chain.ErrNotShareable, "sharing a deletable blob")
	_, err = e.c.ShareBlob(e.ctx, NewAccount(130), r.Blob.ID, 0)
	e.wantErr(err, chain.ErrNotOwner, "sharing another's blob")
	_, err = e.c.ShareBlob(e.ctx, owner, chain.ObjectID{0xEE}, 0)
	e.wantErr(err, chain.ErrNotFound, "sharing an unknown blob")
	bal := e.balance(owner.Address())
	_, err = e.c.ShareBlob(e.ctx, owner, r.Blob.ID, bal+1)
	e.wantErr(err, chain.ErrInsufficientBalance, "funding beyond the balance")

	const funds = 7
	sh, err := e.c.ShareBlob(e.ctx, owner, r.Blob.ID, funds)
	e.must(err)
	if sh.ID.IsZero() || sh.ID == r.Blob.ID || sh.Funds != funds || sh.Blob.ID != r.Blob.ID || sh.Blob.BlobID != r.Blob.BlobID ||
		!sh.Blob.IsCertified() || sh.Blob.EndEpoch() != r.Blob.EndEpoch() || sh.Blob.Owner == owner.Address() {
		e.t.Fatalf("shared blob %+v of %+v", sh, r.Blob)
	}
	if got := e.balance(owner.Address()); got != bal-funds {
		e.t.Errorf("owner's balance %d after funding %d, want %d", got, funds, bal-funds)
	}
	read, err := e.c.SharedBlob(e.ctx, sh.ID)
	e.must(err)
	if !reflect.DeepEqual(read, sh) {
		e.t.Errorf("read %+v, shared %+v", read, sh)
	}
	objs, err := e.c.BlobObjects(e.ctx, owner.Address())
	e.must(err)
	for _, o := range objs {
		if o.ID == r.Blob.ID {
			e.t.Error("the wrapped blob is still listed as the owner's")
		}
	}
	_, err = e.c.ShareBlob(e.ctx, owner, r.Blob.ID, 0)
	e.wantErr(err, chain.ErrNotOwner, "sharing a wrapped blob again")
	_, err = e.c.ExtendBlob(e.ctx, owner, r.Blob.ID, 1)
	e.wantErr(err, chain.ErrNotOwner, "extending the wrapped blob as an owned one")

	// Anyone funds, with a positive amount it has.
	funder := NewAccount(131)
	_, err = e.c.TransferWAL(e.ctx, owner, funder.Address(), 1_000_000)
	e.must(err)
	_, err = e.c.FundSharedBlob(e.ctx, funder, sh.ID, 0)
	e.wantErr(err, chain.ErrInvalidArgument, "funding zero")
	_, err = e.c.FundSharedBlob(e.ctx, funder, sh.ID, 1_000_001)
	e.wantErr(err, chain.ErrInsufficientBalance, "funding beyond the funder's balance")
	_, err = e.c.FundSharedBlob(e.ctx, funder, chain.ObjectID{0xEE}, 1)
	e.wantErr(err, chain.ErrNotFound, "funding an unknown shared blob")

	cost, _ := e.system().StorageCost(r.Blob.Storage.Size, 3)
	_, err = e.c.ExtendSharedBlob(e.ctx, funder, sh.ID, 3)
	if cost > funds {
		e.wantErr(err, chain.ErrInsufficientBalance, "extending beyond the funds")
	} else {
		e.t.Fatalf("storage of %d epochs costs %d, not more than the funds %d", 3, cost, funds)
	}
	f, err := e.c.FundSharedBlob(e.ctx, funder, sh.ID, cost)
	e.must(err)
	if f.Funds != funds+cost || e.balance(funder.Address()) != 1_000_000-cost {
		e.t.Fatalf("after funding %d: %+v, funder's balance %d", cost, f, e.balance(funder.Address()))
	}
	_, err = e.c.ExtendSharedBlob(e.ctx, funder, sh.ID, 0)
	e.wantErr(err, chain.ErrTooManyEpochs, "extending by zero epochs")
	_, err = e.c.ExtendSharedBlob(e.ctx, funder, sh.ID, MaxEpochsAhead)
	e.wantErr(err, chain.ErrTooManyEpochs, "extending past the maximum epochs ahead")

	// Anyone extends, paid from the funds, not the sender's balance.
	before := e.balance(funder.Address())
	x, err := e.c.ExtendSharedBlob(e.ctx, NewAccount(132), sh.ID, 3)
	e.must(err)
	end := r.Blob.EndEpoch() + 3
	if x.Cost != cost || x.Shared.Funds != funds || x.Shared.Blob.EndEpoch() != end || x.Shared.ID != sh.ID {
		e.t.Fatalf("extension: %+v, want cost %d, funds %d, end %d", x, cost, funds, end)
	}
	if e.balance(funder.Address()) != before {
		e.t.Error("the extension was paid by someone other than the shared blob")
	}
	if len(x.Receipt.Events) != 1 || x.Receipt.Events[0].Kind != chain.EventBlobExtended ||
		x.Receipt.Events[0].ObjectID != r.Blob.ID || x.Receipt.Events[0].EndEpoch != end {
		e.t.Errorf("extension events %+v", x.Receipt.Events)
	}
	st, err := e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	e.must(err)
	if st.Kind != chain.BlobPermanent || st.EndEpoch != end {
		e.t.Errorf("status after the extension %+v", st)
	}
	o, err := e.c.BlobObject(e.ctx, r.Blob.ID)
	e.must(err)
	if o.EndEpoch() != end {
		e.t.Errorf("wrapped blob object ends at %d, want %d", o.EndEpoch(), end)
	}
}
