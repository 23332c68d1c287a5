package chaintest

import (
	"errors"
	"slices"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

func testGenesis(e *env) {
	s := e.system()
	if s.Epoch != 1 || s.Phase != chain.PhaseActive || s.NShards != NShards || s.StoragePrice != StoragePrice ||
		s.WritePrice != WritePrice || s.MaxEpochsAhead != MaxEpochsAhead || s.EpochDuration != EpochDuration ||
		s.UnitSize != chain.StorageUnitSize || s.TotalStake != 100*chain.FrostPerWAL {
		e.t.Fatalf("system state %+v", s)
	}
	com := e.committee(0)
	if com.Epoch != 1 || com.NShards != NShards || len(com.Members) != 4 {
		e.t.Fatalf("committee epoch %d n %d members %d", com.Epoch, com.NShards, len(com.Members))
	}
	e.must(com.Validate())
	// D'Hondt over stakes 40:30:20:10 gives 4:3:2:1 shards.
	for i, n := range e.net.Nodes {
		j, ok := com.Index(e.ids[i])
		if !ok {
			e.t.Fatalf("%s not in the committee", n.Name)
		}
		m := com.Members[j]
		if want := 4 - i; len(m.Shards) != want || m.Stake != n.Stake || m.Name != n.Name || m.PeerID != n.PeerID ||
			!slices.Equal(m.Addresses, n.Addresses) || m.PublicKey != n.Key.PublicKey() {
			e.t.Errorf("member %s: %+v, want %d shards", n.Name, m, want)
		}
		info, err := e.c.Node(e.ctx, e.ids[i])
		e.must(err)
		if info.Operator != n.Operator.Address() || info.Stake != n.Stake || info.Commission != n.Commission || info.Name != n.Name {
			e.t.Errorf("node info %+v", info)
		}
		staked, err := e.c.StakedWAL(e.ctx, n.Operator.Address())
		e.must(err)
		if len(staked) != 1 || staked[0].NodeID != e.ids[i] || staked[0].Principal != n.Stake || staked[0].Value != n.Stake ||
			staked[0].ActivationEpoch != 1 || staked[0].State != chain.StakeStaked {
			e.t.Errorf("genesis stake of %s: %+v", n.Name, staked)
		}
	}
	if c1, err := e.c.Committee(e.ctx, 1); err != nil || c1.Epoch != 1 {
		e.t.Fatalf("Committee(1): %v", err)
	}
	_, err := e.c.Committee(e.ctx, 2)
	e.wantErr(err, chain.ErrNoCommittee, "committee of the next epoch before selection")
	_, err = e.c.Node(e.ctx, chain.ObjectID{1})
	e.wantErr(err, chain.ErrUnknownNode, "unknown node")
	seed, err := e.c.EpochSeed(e.ctx, 1)
	e.must(err)
	if seed == (chain.Seed{}) {
		e.t.Error("epoch 1 seed is zero")
	}
	_, err = e.c.EpochSeed(e.ctx, 2)
	e.wantErr(err, chain.ErrNotFound, "seed of a future epoch")
	if got := e.balance(e.net.Client.Address()); got != ClientFunds {
		e.t.Errorf("client balance %d, want %d", got, ClientFunds)
	}
}

func testFaucet(e *env) {
	if !e.b.Caps.Faucet {
		e.t.Skip("the backend has no faucet")
	}
	if s := e.system(); s.FaucetLimit != FaucetPerAccount || s.FaucetLeft != FaucetTotal {
		e.t.Fatalf("faucet of the system state: limit %d left %d", s.FaucetLimit, s.FaucetLeft)
	}
	a, b, c := NewAccount(100), NewAccount(112), NewAccount(113)
	r, err := e.c.RequestWAL(e.ctx, a, 7*chain.FrostPerWAL)
	e.must(err)
	if r.Digest == (chain.Digest{}) || r.Height == 0 || r.Epoch != 1 {
		e.t.Errorf("receipt %+v", r)
	}
	if got := e.balance(a.Address()); got != 7*chain.FrostPerWAL {
		e.t.Fatalf("balance after faucet %d", got)
	}
	// The cap is per account, over all its requests.
	_, err = e.c.RequestWAL(e.ctx, a, 2*chain.FrostPerWAL)
	e.wantErr(err, chain.ErrFaucetLimit, "second request past the account's cap")
	_, err = e.c.RequestWAL(e.ctx, a, chain.FrostPerWAL)
	e.must(err)
	_, err = e.c.RequestWAL(e.ctx, b, FaucetPerAccount+1)
	e.wantErr(err, chain.ErrFaucetLimit, "request over the account's cap")
	_, err = e.c.RequestWAL(e.ctx, a, 0)
	e.wantErr(err, chain.ErrInvalidArgument, "faucet of zero")
	if got := e.balance(a.Address()); got != FaucetPerAccount {
		e.t.Fatalf("failed faucet requests changed the balance to %d", got)
	}
	// The pool is finite: fresh accounts drain it, and then it is empty.
	_, err = e.c.RequestWAL(e.ctx, b, FaucetPerAccount)
	e.must(err)
	left := uint64(FaucetTotal - 2*FaucetPerAccount)
	_, err = e.c.RequestWAL(e.ctx, c, left+1)
	e.wantErr(err, chain.ErrFaucetLimit, "request over what the faucet has left")
	_, err = e.c.RequestWAL(e.ctx, c, left)
	e.must(err)
	_, err = e.c.RequestWAL(e.ctx, NewAccount(114), 1)
	e.wantErr(err, chain.ErrFaucetLimit, "request to an empty faucet")
	if s := e.system(); s.FaucetLeft != 0 {
		e.t.Errorf("faucet left %d", s.FaucetLeft)
	}
}

func testTransfer(e *env) {
	a, b := e.net.Client, NewAccount(101)
	_, err := e.c.TransferWAL(e.ctx, a, b.Address(), 5)
	e.must(err)
	if e.balance(b.Address()) != 5 || e.balance(a.Address()) != ClientFunds-5 {
		e.t.Fatal("transfer did not move 5 FROST")
	}
	_, err = e.c.TransferWAL(e.ctx, b, a.Address(), 6)
	e.wantErr(err, chain.ErrInsufficientBalance, "transfer over the balance")
	var ibe *chain.InsufficientBalanceError
	if !errors.As(err, &ibe) && !errors.Is(err, chain.ErrInsufficientBalance) {
		e.t.Fatal("no typed error")
	}
	_, err = e.c.TransferWAL(e.ctx, a, chain.Address{}, 1)
	e.wantErr(err, chain.ErrInvalidArgument, "transfer to the zero address")
	if e.balance(b.Address()) != 5 || e.balance(a.Address()) != ClientFunds-5 {
		e.t.Fatal("failed transfers moved WAL")
	}
}

func testSignatures(e *env) {
	victim, thief := e.net.Client, NewAccount(102)
	_, err := e.c.TransferWAL(e.ctx, unsigned{victim}, thief.Address(), 1)
	e.wantErr(err, chain.ErrUnsigned, "unsigned transaction")
	_, err = e.c.TransferWAL(e.ctx, impostor{thief, victim.Address()}, thief.Address(), 1)
	e.wantErr(err, chain.ErrBadSignature, "transaction signed by another key than the sender's")
	_, err = e.c.TransferWAL(e.ctx, garbled{victim}, thief.Address(), 1)
	e.wantErr(err, chain.ErrBadSignature, "wrongly signed transaction")
	_, err = e.c.RegisterBlob(e.ctx, garbled{victim}, blob(1, 100, 1, false))
	e.wantErr(err, chain.ErrBadSignature, "wrongly signed registration")
	if e.balance(thief.Address()) != 0 || e.balance(victim.Address()) != ClientFunds {
		e.t.Fatal("badly signed transactions moved WAL")
	}
}

func testRegisterBlob(e *env) {
	s := e.system()
	a := blob(1, 10_000, 3, false)
	want, err := s.RegisterCost(a.Size, a.Epochs)
	e.must(err)
	r := e.register(e.net.Client, a)
	p, _ := s.Params()
	encLen, _ := p.EncodedLength(a.Size)
	o := r.Blob
	if r.Cost != want || o.BlobID != a.BlobID || o.Size != a.Size || o.EncodingType != encoding.RS2 || o.RegisteredEpoch != 1 ||
		o.IsCertified() || o.Deletable || o.Owner != e.net.Client.Address() || o.Storage.StartEpoch != 1 ||
		o.Storage.EndEpoch != 4 || o.Storage.Size != encLen || o.ID.IsZero() || o.Storage.ID.IsZero() {
		e.t.Fatalf("registered %+v cost %d, want cost %d", r, r.Cost, want)
	}
	if got := e.balance(e.net.Client.Address()); got != ClientFunds-want {
		e.t.Errorf("balance %d after paying %d", got, want)
	}
	if len(r.Receipt.Events) != 1 {
		e.t.Fatalf("receipt events %+v", r.Receipt.Events)
	}
	ev := r.Receipt.Events[0]
	if ev.Kind != chain.EventBlobRegistered || ev.BlobID != a.BlobID || ev.ObjectID != o.ID || ev.Size != a.Size ||
		ev.EncodingType != encoding.RS2 || ev.EndEpoch != 4 || ev.Deletable || ev.Epoch != 1 || ev.Owner != o.Owner || ev.TxDigest != r.Receipt.Digest {
		e.t.Errorf("event %+v", ev)
	}
	got, err := e.c.BlobObject(e.ctx, o.ID)
	e.must(err)
	if got.ID != o.ID || got.Storage != o.Storage || got.BlobID != o.BlobID {
		e.t.Errorf("BlobObject = %+v", got)
	}
	list, err := e.c.BlobObjects(e.ctx, e.net.Client.Address())
	e.must(err)
	if len(list) != 1 || list[0].ID != o.ID {
		e.t.Errorf("BlobObjects = %+v", list)
	}
	st, err := e.c.BlobStatus(e.ctx, a.BlobID)
	e.must(err)
	if st.Kind != chain.BlobPermanent || st.IsCertified || st.EndEpoch != 4 || st.Event == nil || *st.Event != ev.Cursor {
		e.t.Errorf("status %+v", st)
	}
	// Registering for another owner.
	other := NewAccount(103).Address()
	b := blob(2, 1, 1, false)
	b.Owner = other
	if r := e.register(e.net.Client, b); r.Blob.Owner != other {
		e.t.Errorf("owner %s, want %s", r.Blob.Owner, other)
	}

	// Failures change nothing.
	bal := e.balance(e.net.Client.Address())
	bad := blob(3, 10_000, 3, false)
	bad.Size++ // the blob ID no longer derives from root, size and type
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, bad)
	e.wantErr(err, chain.ErrBlobIDMismatch, "blob ID that does not match its root hash")
	poor := NewAccount(104)
	_, err = e.c.RegisterBlob(e.ctx, poor, blob(4, 10_000, 3, false))
	e.wantErr(err, chain.ErrInsufficientBalance, "registration without WAL")
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, blob(5, 10, 0, false))
	e.wantErr(err, chain.ErrTooManyEpochs, "registration for zero epochs")
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, blob(5, 10, MaxEpochsAhead+1, false))
	e.wantErr(err, chain.ErrTooManyEpochs, "registration past the maximum epochs ahead")
	typ := blob(6, 10, 1, false)
	typ.EncodingType = 7
	typ.BlobID = encoding.ComputeBlobID(7, typ.Size, typ.RootHash)
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, typ)
	e.wantErr(err, chain.ErrUnsupportedEncoding, "unknown encoding type")
	big := blob(7, p.MaxBlobSize()+1, 1, false)
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, big)
	e.wantErr(err, chain.ErrBlobTooLarge, "blob over the maximum size")
	if e.balance(e.net.Client.Address()) != bal {
		e.t.Fatal("failed registrations moved WAL")
	}
}

func testCertifyBlob(e *env) {
	r := e.register(e.net.Client, blob(1, 5000, 2, false))
	com := e.committee(0)
	msg := chain.BlobCertification{Epoch: 1, BlobID: r.Blob.BlobID}.Message()

	_, err := e.c.CertifyBlob(e.ctx, e.net.Client, r.Blob.ID, e.certBelow(com, msg, com.QuorumShards()))
	e.wantErr(err, chain.ErrBelowThreshold, "certificate below quorum")
	other := chain.BlobCertification{Epoch: 1, BlobID: blob(9, 1, 1, false).BlobID}.Message()
	_, err = e.c.CertifyBlob(e.ctx, e.net.Client, r.Blob.ID, e.cert(com, other, com.QuorumShards()))
	e.wantErr(err, chain.ErrInvalidCertificate, "certificate of another blob")
	forged := e.cert(com, msg, com.QuorumShards())
	forged.Signature = e.net.Nodes[0].Key.Sign(msg) // one signature for many signers
	_, err = e.c.CertifyBlob(e.ctx, e.net.Client, r.Blob.ID, forged)
	e.wantErr(err, chain.ErrInvalidCertificate, "aggregate signature that does not verify")
	_, err = e.c.CertifyBlob(e.ctx, e.net.Client, chain.ObjectID{1}, e.cert(com, msg, com.QuorumShards()))
	e.wantErr(err, chain.ErrNotFound, "certifying an unknown object")
	del := chain.BlobCertification{Epoch: 1, BlobID: r.Blob.BlobID, Deletable: true, ObjectID: r.Blob.ID}.Message()
	_, err = e.c.CertifyBlob(e.ctx, e.net.Client, r.Blob.ID, e.cert(com, del, com.QuorumShards()))
	e.wantErr(err, chain.ErrInvalidCertificate, "deletable certificate for a permanent blob")

	// Anyone with the certificate may certify.
	c, err := e.c.CertifyBlob(e.ctx, NewAccount(105), r.Blob.ID, e.cert(com, msg, com.QuorumShards()))
	e.must(err)
	if !c.Blob.IsCertified() || *c.Blob.CertifiedEpoch != 1 {
		e.t.Fatalf("certified object %+v", c.Blob)
	}
	if len(c.Receipt.Events) != 1 {
		e.t.Fatalf("events %+v", c.Receipt.Events)
	}
	ev := c.Receipt.Events[0]
	if ev.Kind != chain.EventBlobCertified || ev.BlobID != r.Blob.BlobID || ev.ObjectID != r.Blob.ID || ev.EndEpoch != 3 || ev.Deletable {
		e.t.Errorf("event %+v", ev)
	}
	st, err := e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	e.must(err)
	if st.Kind != chain.BlobPermanent || !st.IsCertified || st.EndEpoch != 3 || st.InitialCertifiedEpoch == nil ||
		*st.InitialCertifiedEpoch != 1 || *st.Event != ev.Cursor || !st.IsCertifiedUntil(3) || st.IsCertifiedUntil(4) {
		e.t.Errorf("status %+v", st)
	}
	_, err = e.c.CertifyBlob(e.ctx, e.net.Client, r.Blob.ID, e.cert(com, msg, com.QuorumShards()))
	e.wantErr(err, chain.ErrAlreadyCertified, "certifying twice")

	// A certificate from a past epoch.
	r2 := e.register(e.net.Client, blob(2, 5000, 5, false))
	old := e.cert(com, chain.BlobCertification{Epoch: 1, BlobID: r2.Blob.BlobID}.Message(), com.QuorumShards())
	e.nextEpoch()
	_, err = e.c.CertifyBlob(e.ctx, e.net.Client, r2.Blob.ID, old)
	e.wantErr(err, chain.ErrWrongEpoch, "certificate from a past epoch")
	if c := e.certify(r2.Blob); *c.Blob.CertifiedEpoch != 2 {
		e.t.Errorf("certified in epoch %d, want 2", *c.Blob.CertifiedEpoch)
	}
}

func testDeletableBlob(e *env) {
	owner := e.net.Client
	r := e.register(owner, blob(1, 3000, 4, true))
	st, err := e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	e.must(err)
	if st.Kind != chain.BlobDeletable || st.Deletable != (chain.DeletableCounts{Registered: 1}) {
		e.t.Fatalf("status %+v", st)
	}
	com := e.committee(0)
	perm := chain.BlobCertification{Epoch: 1, BlobID: r.Blob.BlobID}.Message()
	_, err = e.c.CertifyBlob(e.ctx, owner, r.Blob.ID, e.cert(com, perm, com.QuorumShards()))
	e.wantErr(err, chain.ErrInvalidCertificate, "permanent certificate for a deletable blob")
	wrongObj := chain.BlobCertification{Epoch: 1, BlobID: r.Blob.BlobID, Deletable: true, ObjectID: chain.ObjectID{9}}.Message()
	_, err = e.c.CertifyBlob(e.ctx, owner, r.Blob.ID, e.cert(com, wrongObj, com.QuorumShards()))
	e.wantErr(err, chain.ErrInvalidCertificate, "deletable certificate for another object")
	c := e.certify(r.Blob)
	if !c.Blob.Deletable || !c.Receipt.Events[0].Deletable {
		e.t.Fatalf("certified %+v", c)
	}
	st, _ = e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	if st.Kind != chain.BlobDeletable || st.Deletable != (chain.DeletableCounts{Registered: 1, Certified: 1}) ||
		st.InitialCertifiedEpoch == nil || *st.InitialCertifiedEpoch != 1 {
		e.t.Fatalf("status after certification %+v", st)
	}

	_, err = e.c.DeleteBlob(e.ctx, NewAccount(106), r.Blob.ID)
	e.wantErr(err, chain.ErrNotOwner, "deletion by another account")
	p := e.register(owner, blob(2, 10, 1, false))
	_, err = e.c.DeleteBlob(e.ctx, owner, p.Blob.ID)
	e.wantErr(err, chain.ErrNotDeletable, "deleting a permanent blob")

	d, err := e.c.DeleteBlob(e.ctx, owner, r.Blob.ID)
	e.must(err)
	if d.Storage != r.Blob.Storage {
		e.t.Errorf("returned storage %+v, want %+v", d.Storage, r.Blob.Storage)
	}
	ev := d.Receipt.Events[0]
	if ev.Kind != chain.EventBlobDeleted || ev.BlobID != r.Blob.BlobID || ev.ObjectID != r.Blob.ID || !ev.WasCertified || ev.EndEpoch != 5 {
		e.t.Errorf("event %+v", ev)
	}
	_, err = e.c.BlobObject(e.ctx, r.Blob.ID)
	e.wantErr(err, chain.ErrNotFound, "deleted object")
	st, _ = e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	if st.Kind != chain.BlobNonexistent {
		e.t.Errorf("status after deletion %+v", st)
	}
	res, err := e.c.StorageResources(e.ctx, owner.Address())
	e.must(err)
	if len(res) != 1 || res[0] != r.Blob.Storage {
		e.t.Errorf("storage resources %+v", res)
	}
	_, err = e.c.DeleteBlob(e.ctx, owner, r.Blob.ID)
	e.wantErr(err, chain.ErrNotFound, "deleting twice")
}

func testExtendBlob(e *env) {
	r := e.register(e.net.Client, blob(1, 2000, 2, false))
	_, err := e.c.ExtendBlob(e.ctx, e.net.Client, r.Blob.ID, 1)
	e.wantErr(err, chain.ErrNotCertified, "extending an uncertified blob")
	e.certify(r.Blob)
	_, err = e.c.ExtendBlob(e.ctx, NewAccount(107), r.Blob.ID, 1)
	e.wantErr(err, chain.ErrNotOwner, "extension by another account")
	_, err = e.c.ExtendBlob(e.ctx, e.net.Client, r.Blob.ID, MaxEpochsAhead)
	e.wantErr(err, chain.ErrTooManyEpochs, "extension past the maximum epochs ahead")
	_, err = e.c.ExtendBlob(e.ctx, e.net.Client, r.Blob.ID, 0)
	e.wantErr(err, chain.ErrTooManyEpochs, "extension by zero epochs")
	bal := e.balance(e.net.Client.Address())
	x, err := e.c.ExtendBlob(e.ctx, e.net.Client, r.Blob.ID, 4)
	e.must(err)
	want, _ := e.system().StorageCost(r.Blob.Storage.Size, 4)
	if x.Cost != want || x.Blob.EndEpoch() != 7 || e.balance(e.net.Client.Address()) != bal-want {
		e.t.Fatalf("extension: %+v cost %d want %d", x.Blob, x.Cost, want)
	}
	ev := x.Receipt.Events[0]
	if ev.Kind != chain.EventBlobExtended || ev.EndEpoch != 7 || ev.ObjectID != r.Blob.ID || ev.BlobID != r.Blob.BlobID {
		e.t.Errorf("event %+v", ev)
	}
	st, _ := e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	if st.EndEpoch != 7 {
		e.t.Errorf("status end epoch %d", st.EndEpoch)
	}
}

func testStorageResource(e *env) {
	a := blob(1, 4000, 3, false)
	p, _ := e.system().Params()
	encLen, _ := p.EncodedLength(a.Size)
	_, err := e.c.ReserveStorage(e.ctx, e.net.Client, encLen, 0)
	e.wantErr(err, chain.ErrTooManyEpochs, "reserving zero epochs")
	_, err = e.c.ReserveStorage(e.ctx, NewAccount(108), encLen, 3)
	e.wantErr(err, chain.ErrInsufficientBalance, "reserving without WAL")
	res, err := e.c.ReserveStorage(e.ctx, e.net.Client, encLen, 3)
	e.must(err)
	want, _ := e.system().StorageCost(encLen, 3)
	if res.Cost != want || res.Storage.StartEpoch != 1 || res.Storage.EndEpoch != 4 || res.Storage.Size != encLen {
		e.t.Fatalf("reserved %+v", res)
	}
	small, err := e.c.ReserveStorage(e.ctx, e.net.Client, encLen-1, 3)
	e.must(err)
	a.Storage = &small.Storage.ID
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, a)
	e.wantErr(err, chain.ErrStorageTooSmall, "registering with too little storage")
	a.Storage = &res.Storage.ID
	_, err = e.c.RegisterBlob(e.ctx, NewAccount(109), a)
	e.wantErr(err, chain.ErrNotOwner, "registering with another account's storage")

	bal := e.balance(e.net.Client.Address())
	r := e.register(e.net.Client, a)
	write, _ := e.system().WriteCost(encLen)
	if r.Cost != write || r.Blob.Storage != res.Storage || e.balance(e.net.Client.Address()) != bal-write {
		e.t.Fatalf("registered with storage: %+v cost %d want %d", r.Blob, r.Cost, write)
	}
	left, _ := e.c.StorageResources(e.ctx, e.net.Client.Address())
	if len(left) != 1 || left[0].ID != small.Storage.ID {
		e.t.Errorf("storage left %+v", left)
	}
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, a)
	e.wantErr(err, chain.ErrNotFound, "reusing an attached storage resource")
}

func testDedup(e *env) {
	a := blob(1, 100, 2, false)
	first := e.register(e.net.Client, a)
	e.certify(first.Blob)
	// The same blob stored again is recognisable before paying.
	st, err := e.c.BlobStatus(e.ctx, a.BlobID)
	e.must(err)
	if !st.IsCertifiedUntil(3) {
		e.t.Fatalf("status %+v does not show the certified blob", st)
	}
	// Registering anyway creates a second object; status keeps the best.
	a.Epochs = 5
	second := e.register(e.net.Client, a)
	if second.Blob.ID == first.Blob.ID || second.Blob.BlobID != first.Blob.BlobID {
		e.t.Fatal("second registration")
	}
	st, _ = e.c.BlobStatus(e.ctx, a.BlobID)
	if !st.IsCertified || st.EndEpoch != 3 {
		e.t.Errorf("status with an uncertified longer object: %+v", st)
	}
	c := e.certify(second.Blob)
	st, _ = e.c.BlobStatus(e.ctx, a.BlobID)
	if !st.IsCertified || st.EndEpoch != 6 || *st.Event != c.Receipt.Events[0].Cursor || *st.InitialCertifiedEpoch != 1 {
		e.t.Errorf("status with two certified objects: %+v", st)
	}
}

func testInvalidateBlob(e *env) {
	r := e.register(e.net.Client, blob(1, 100, 2, false))
	com := e.committee(0)
	msg := chain.InvalidBlobMessage(1, r.Blob.BlobID)
	_, err := e.c.InvalidateBlob(e.ctx, e.net.Client, e.certBelow(com, msg, com.ValidityShards()))
	e.wantErr(err, chain.ErrBelowThreshold, "invalidation below f+1")
	_, err = e.c.InvalidateBlob(e.ctx, e.net.Client, e.cert(com, chain.BlobCertification{Epoch: 1, BlobID: r.Blob.BlobID}.Message(), com.ValidityShards()))
	e.wantErr(err, chain.ErrInvalidCertificate, "invalidation with a certification message")
	rc, err := e.c.InvalidateBlob(e.ctx, e.net.Client, e.cert(com, msg, com.ValidityShards()))
	e.must(err)
	if len(rc.Events) != 1 || rc.Events[0].Kind != chain.EventInvalidBlobID || rc.Events[0].BlobID != r.Blob.BlobID {
		e.t.Fatalf("events %+v", rc.Events)
	}
	st, _ := e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	if st.Kind != chain.BlobInvalid || *st.Event != rc.Events[0].Cursor {
		e.t.Fatalf("status %+v", st)
	}
	_, err = e.c.RegisterBlob(e.ctx, e.net.Client, blob(1, 100, 2, false))
	e.wantErr(err, chain.ErrBlobInvalid, "registering an invalid blob ID")
	qmsg := chain.BlobCertification{Epoch: 1, BlobID: r.Blob.BlobID}.Message()
	_, err = e.c.CertifyBlob(e.ctx, e.net.Client, r.Blob.ID, e.cert(com, qmsg, com.QuorumShards()))
	e.wantErr(err, chain.ErrBlobInvalid, "certifying an invalid blob ID")
}

func testExpiry(e *env) {
	r := e.register(e.net.Client, blob(1, 100, 1, true))
	e.certify(r.Blob)
	e.nextEpoch()
	st, _ := e.c.BlobStatus(e.ctx, r.Blob.BlobID)
	if st.Kind != chain.BlobNonexistent {
		e.t.Fatalf("expired blob status %+v", st)
	}
	_, err := e.c.DeleteBlob(e.ctx, e.net.Client, r.Blob.ID)
	e.wantErr(err, chain.ErrBlobExpired, "deleting an expired blob")
	_, err = e.c.ExtendBlob(e.ctx, e.net.Client, r.Blob.ID, 1)
	e.wantErr(err, chain.ErrBlobExpired, "extending an expired blob")
	o, err := e.c.BlobObject(e.ctx, r.Blob.ID)
	e.must(err)
	if o.EndEpoch() != 2 {
		e.t.Errorf("expired object %+v", o)
	}
}

func testEpochChange(e *env) {
	s := e.system()
	seed1, _ := e.c.EpochSeed(e.ctx, 1)
	e.advance(e.net.EpochDuration / 2)
	s = e.system()
	if s.Epoch != 1 || s.Phase != chain.PhaseNextSelected {
		e.t.Fatalf("after the midpoint: %+v", s)
	}
	sel := e.eventsOf(chain.EventCommitteeSelected)
	if len(sel) != 1 || sel[0].Epoch != 1 || sel[0].NextEpoch != 2 {
		e.t.Fatalf("CommitteeSelected events %+v", sel)
	}
	next := e.committee(2)
	cur := e.committee(1)
	if next.Epoch != 2 || len(next.Members) != 4 {
		e.t.Fatalf("next committee %+v", next)
	}
	e.must(next.Validate())
	for i, m := range next.Members {
		if !slices.Equal(m.Shards, cur.Members[i].Shards) {
			e.t.Errorf("unchanged stake moved shards of %s: %v → %v", m.NodeID, cur.Members[i].Shards, m.Shards)
		}
	}
	e.advance(e.net.EpochDuration / 2)
	s = e.system()
	if s.Epoch != 2 || s.Phase != chain.PhaseSyncing {
		e.t.Fatalf("after the epoch: %+v", s)
	}
	start := e.eventsOf(chain.EventEpochChangeStart)
	if len(start) != 1 || start[0].Epoch != 2 {
		e.t.Fatalf("EpochChangeStart events %+v", start)
	}
	seed2, err := e.c.EpochSeed(e.ctx, 2)
	e.must(err)
	if seed2 == seed1 || seed2 == (chain.Seed{}) {
		e.t.Error("epoch 2 seed equals epoch 1's or is zero")
	}
	// Reports: wrong epoch, non-member, non-operator, then a quorum.
	n0 := e.net.Nodes[0]
	_, err = e.c.EpochSyncDone(e.ctx, n0.Operator, e.ids[0], 1)
	e.wantErr(err, chain.ErrWrongEpoch, "sync done for a past epoch")
	_, err = e.c.EpochSyncDone(e.ctx, e.net.Nodes[1].Operator, e.ids[0], 2)
	e.wantErr(err, chain.ErrNotOwner, "sync done by another node's operator")
	_, err = e.c.EpochSyncDone(e.ctx, n0.Operator, chain.ObjectID{1}, 2)
	e.wantErr(err, chain.ErrUnknownNode, "sync done for an unknown node")
	// Nodes 0 and 1 hold 7 of 10 shards: a quorum.
	_, err = e.c.EpochSyncDone(e.ctx, n0.Operator, e.ids[0], 2)
	e.must(err)
	if e.system().Phase != chain.PhaseSyncing {
		e.t.Fatal("epoch change done with 4 of 10 shards")
	}
	rc, err := e.c.EpochSyncDone(e.ctx, e.net.Nodes[1].Operator, e.ids[1], 2)
	e.must(err)
	if len(rc.Events) != 2 || rc.Events[0].Kind != chain.EventEpochSyncDone || rc.Events[1].Kind != chain.EventEpochChangeDone || rc.Events[1].Epoch != 2 {
		e.t.Fatalf("events of the quorum report %+v", rc.Events)
	}
	if e.system().Phase != chain.PhaseActive {
		e.t.Fatal("epoch change not done after a quorum")
	}
	// A late report is accepted.
	_, err = e.c.EpochSyncDone(e.ctx, e.net.Nodes[3].Operator, e.ids[3], 2)
	e.must(err)
	// The next epoch change waits for the reports.
	e.advance(e.net.EpochDuration)
	if s := e.system(); s.Epoch != 3 || s.Phase != chain.PhaseSyncing {
		e.t.Fatalf("epoch 3: %+v", s)
	}
	e.advance(e.net.EpochDuration)
	if s := e.system(); s.Epoch != 3 || s.Phase != chain.PhaseSyncing {
		e.t.Fatalf("the epoch moved on without sync reports: %+v", s)
	}
	// Nodes 0 and 1 report: the midpoint and end of epoch 3 have passed,
	// so the chain catches up at once.
	for i := range 2 {
		_, err = e.c.EpochSyncDone(e.ctx, e.net.Nodes[i].Operator, e.ids[i], 3)
		e.must(err)
	}
	e.advance(0)
	if s := e.system(); s.Epoch != 4 || s.Phase != chain.PhaseSyncing {
		e.t.Fatalf("epoch after catching up: %+v", s)
	}
}

func testStaking(e *env) {
	staker := e.net.Client
	_, err := e.c.Stake(e.ctx, staker, chain.ObjectID{7}, 10*chain.FrostPerWAL)
	e.wantErr(err, chain.ErrUnknownNode, "stake to an unknown pool")
	_, err = e.c.Stake(e.ctx, staker, e.ids[3], MinStake-1)
	e.wantErr(err, chain.ErrInvalidArgument, "stake below the minimum")
	_, err = e.c.Stake(e.ctx, NewAccount(110), e.ids[3], MinStake)
	e.wantErr(err, chain.ErrInsufficientBalance, "stake without WAL")

	// Before the midpoint: active next epoch.
	sw, err := e.c.Stake(e.ctx, staker, e.ids[3], 90*chain.FrostPerWAL)
	e.must(err)
	if sw.ActivationEpoch != 2 || sw.Principal != 90*chain.FrostPerWAL || sw.NodeID != e.ids[3] || sw.State != chain.StakeStaked || sw.Owner != staker.Address() {
		e.t.Fatalf("staked %+v", sw)
	}
	if e.balance(staker.Address()) != ClientFunds-90*chain.FrostPerWAL || e.system().TotalStake != 190*chain.FrostPerWAL {
		e.t.Fatal("stake did not move WAL into the pool")
	}
	_, err = e.c.RequestWithdrawal(e.ctx, staker, sw.ID)
	e.wantErr(err, chain.ErrStakeNotActive, "requesting the withdrawal of stake no committee counts yet")
	_, err = e.c.RequestWithdrawal(e.ctx, NewAccount(111), sw.ID)
	e.wantErr(err, chain.ErrNotOwner, "withdrawing another's stake")

	// The next committee counts it: node 3 now has the most stake.
	e.advance(e.net.EpochDuration / 2)
	// After the midpoint: active the epoch after next.
	late, err := e.c.Stake(e.ctx, staker, e.ids[2], 5*chain.FrostPerWAL)
	e.must(err)
	if late.ActivationEpoch != 3 {
		e.t.Fatalf("stake after the midpoint activates in %d, want 3", late.ActivationEpoch)
	}
	next := e.committee(2)
	i3, _ := next.Index(e.ids[3])
	// D'Hondt over 100:40:30:20 gives 6:2:1:1.
	if next.Members[i3].Stake != 100*chain.FrostPerWAL || len(next.Members[i3].Shards) != 6 {
		e.t.Fatalf("node 3 in the next committee: %+v", next.Members[i3])
	}
	e.must(next.Validate())
	// Minimal movement: 5 shards move to node 3, every other node keeps
	// the shards it still may hold.
	moved := 0
	cur := e.committee(1)
	for i, m := range next.Members {
		for _, s := range m.Shards {
			if !slices.Contains(cur.Members[i].Shards, s) {
				moved++
			}
		}
	}
	if moved != 5 {
		e.t.Errorf("%d shards moved, want 5", moved)
	}
	e.advance(e.net.EpochDuration / 2)
	e.syncAll()
	info, _ := e.c.Node(e.ctx, e.ids[3])
	if info.Stake != 100*chain.FrostPerWAL {
		e.t.Errorf("pool stake in epoch 2: %d", info.Stake)
	}
	_, err = e.c.Withdraw(e.ctx, staker, sw.ID)
	e.wantErr(err, chain.ErrNotWithdrawing, "withdrawing active stake without a request")
	w, err := e.c.RequestWithdrawal(e.ctx, staker, sw.ID)
	e.must(err)
	if w.State != chain.StakeWithdrawing || w.WithdrawEpoch != 3 {
		e.t.Fatalf("withdrawing %+v", w)
	}
	_, err = e.c.RequestWithdrawal(e.ctx, staker, sw.ID)
	e.wantErr(err, chain.ErrAlreadyWithdrawing, "requesting withdrawal twice")
	_, err = e.c.Withdraw(e.ctx, staker, sw.ID)
	e.wantErr(err, chain.ErrTooEarly, "withdrawal before its epoch")
	e.nextEpoch()
	bal := e.balance(staker.Address())
	got, err := e.c.Withdraw(e.ctx, staker, sw.ID)
	e.must(err)
	if got < 90*chain.FrostPerWAL || e.balance(staker.Address()) != bal+got {
		e.t.Fatalf("withdrew %d, balance %d → %d", got, bal, e.balance(staker.Address()))
	}
	_, err = e.c.Withdraw(e.ctx, staker, sw.ID)
	e.wantErr(err, chain.ErrNotFound, "withdrawing twice")
	list, _ := e.c.StakedWAL(e.ctx, staker.Address())
	if len(list) != 1 || list[0].ID != late.ID {
		e.t.Errorf("staked WAL left %+v", list)
	}
	if kinds := kindsOf(e.allEvents()); !containsAll(kinds, chain.EventStaked, chain.EventWithdrawalRequested, chain.EventWithdrawn) {
		e.t.Errorf("stake events missing from %v", kinds)
	}
}

func testRegisterNode(e *env) {
	op := NewAccount(120)
	_, err := e.c.TransferWAL(e.ctx, e.net.Client, op.Address(), 100*chain.FrostPerWAL)
	e.must(err)
	key, err := chain.GenerateBLSKey(keyRand(121))
	e.must(err)
	args := e.registration(op, key, NewNetworkKey(keyRand(122)), "newcomer")
	args.Commission = 500
	bad := args
	bad.ProofOfPossession = key.ProofOfPossession(1, e.net.Client.Address())
	_, err = e.c.RegisterNode(e.ctx, op, bad)
	e.wantErr(err, chain.ErrInvalidProofOfPossession, "proof of possession for another address")
	bad = args
	bad.ProofOfPossession = key.ProofOfPossession(0, op.Address())
	_, err = e.c.RegisterNode(e.ctx, op, bad)
	e.wantErr(err, chain.ErrInvalidProofOfPossession, "proof of possession of another epoch")
	bad = args
	bad.PublicKey = e.net.Nodes[0].Key.PublicKey()
	_, err = e.c.RegisterNode(e.ctx, op, bad)
	e.wantErr(err, chain.ErrDuplicateKey, "registering a registered key")
	for name, mod := range map[string]func(*chain.RegisterNodeArgs){
		"empty name":     func(a *chain.RegisterNodeArgs) { a.Name = "" },
		"long name":      func(a *chain.RegisterNodeArgs) { a.Name = string(make([]byte, chain.MaxNodeNameLen+1)) },
		"no peer ID":     func(a *chain.RegisterNodeArgs) { a.PeerID = "" },
		"bad address":    func(a *chain.RegisterNodeArgs) { a.Addresses = []string{"127.0.0.1:1"} },
		"many addresses": func(a *chain.RegisterNodeArgs) { a.Addresses = make([]string, chain.MaxNodeAddresses+1) },
		"commission":     func(a *chain.RegisterNodeArgs) { a.Commission = chain.MaxCommission + 1 },
	} {
		bad := args
		mod(&bad)
		_, err = e.c.RegisterNode(e.ctx, op, bad)
		e.wantErr(err, chain.ErrInvalidArgument, name)
	}
	info, err := e.c.RegisterNode(e.ctx, op, args)
	e.must(err)
	if info.Name != "newcomer" || info.Operator != op.Address() || info.PublicKey != key.PublicKey() || info.Stake != 0 ||
		info.Commission != 500 || info.RegisteredEpoch != 1 || info.StoragePriceVote != StoragePrice {
		e.t.Fatalf("registered %+v", info)
	}
	nodes, _ := e.c.Nodes(e.ctx)
	if len(nodes) != 5 {
		e.t.Fatalf("%d nodes", len(nodes))
	}
	// Staked before the midpoint, it joins the next committee.
	_, err = e.c.Stake(e.ctx, op, info.ID, 50*chain.FrostPerWAL)
	e.must(err)
	e.advance(e.net.EpochDuration / 2)
	next := e.committee(2)
	i, ok := next.Index(info.ID)
	if !ok || len(next.Members[i].Shards) == 0 || next.Members[i].PublicKey != key.PublicKey() || next.Members[i].Name != "newcomer" {
		e.t.Fatalf("new node in the next committee: %v %+v", ok, next)
	}
	e.must(next.Validate())
}

// registration returns the arguments that register a node with the given
// keys in the current epoch.
func (e *env) registration(op *chain.AccountKey, key *chain.BLSPrivateKey, nk chain.Ed25519NetworkKey, name string) chain.RegisterNodeArgs {
	e.t.Helper()
	epoch := e.system().Epoch
	sig, err := chain.SignNetworkKey(nk, epoch, op.Address(), nk.PeerID())
	e.must(err)
	return chain.RegisterNodeArgs{
		Name: name, PeerID: nk.PeerID(), Addresses: []string{"/ip4/127.0.0.1/tcp/9100"},
		PublicKey: key.PublicKey(), ProofOfPossession: key.ProofOfPossession(epoch, op.Address()),
		NetworkKeySignature: sig,
	}
}

// testPeerIDs: a peer ID is parsed, unique, and registered only with its
// network key's signature, at registration and on update.
func testPeerIDs(e *env) {
	if !e.b.Caps.NetworkKeys {
		e.t.Skip("the backend does not check network keys")
	}
	op := NewAccount(140)
	_, err := e.c.TransferWAL(e.ctx, e.net.Client, op.Address(), 10*chain.FrostPerWAL)
	e.must(err)
	key, _ := chain.GenerateBLSKey(keyRand(141))
	nk, other := NewNetworkKey(keyRand(142)), NewNetworkKey(keyRand(143))
	args := e.registration(op, key, nk, "peer")
	signed := func(k chain.Ed25519NetworkKey, epoch uint32, a chain.Address, peer string) []byte {
		msg, err := chain.NetworkKeyMessage(epoch, a, peer)
		e.must(err)
		sig, _ := k.Sign(msg)
		return sig
	}
	for _, tt := range []struct {
		name string
		mod  func(*chain.RegisterNodeArgs)
		want error
	}{
		{"peer ID that does not parse", func(a *chain.RegisterNodeArgs) { a.PeerID = "12D3KooWTestPeer0" }, chain.ErrInvalidArgument},
		{"peer ID of another key type", func(a *chain.RegisterNodeArgs) {
			a.PeerID = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N" // a SHA-256 (RSA) peer ID
		}, chain.ErrInvalidArgument},
		{"another node's peer ID", func(a *chain.RegisterNodeArgs) {
			n0 := e.net.Nodes[0]
			a.PeerID, a.NetworkKeySignature = n0.PeerID, signed(n0.Network, 1, op.Address(), n0.PeerID)
		}, chain.ErrDuplicatePeerID},
		{"no network key signature", func(a *chain.RegisterNodeArgs) { a.NetworkKeySignature = nil }, chain.ErrInvalidNetworkKeySignature},
		{"signature by another key", func(a *chain.RegisterNodeArgs) {
			a.NetworkKeySignature = signed(other, 1, op.Address(), nk.PeerID())
		}, chain.ErrInvalidNetworkKeySignature},
		{"signature for another operator", func(a *chain.RegisterNodeArgs) {
			a.NetworkKeySignature = signed(nk, 1, e.net.Client.Address(), nk.PeerID())
		}, chain.ErrInvalidNetworkKeySignature},
		{"signature of another epoch", func(a *chain.RegisterNodeArgs) {
			a.NetworkKeySignature = signed(nk, 0, op.Address(), nk.PeerID())
		}, chain.ErrInvalidNetworkKeySignature},
	} {
		bad := args
		tt.mod(&bad)
		_, err := e.c.RegisterNode(e.ctx, op, bad)
		e.wantErr(err, tt.want, tt.name)
	}
	info, err := e.c.RegisterNode(e.ctx, op, args)
	e.must(err)
	if info.PeerID != nk.PeerID() {
		e.t.Fatalf("registered peer ID %q", info.PeerID)
	}
	// The same network key again, for another node: refused.
	key2, _ := chain.GenerateBLSKey(keyRand(144))
	_, err = e.c.RegisterNode(e.ctx, op, e.registration(op, key2, nk, "twin"))
	e.wantErr(err, chain.ErrDuplicatePeerID, "registering a peer ID twice")

	// Updates: another node's peer ID, a new one without or with its
	// signature; then the old one is free again.
	n1, id1 := e.net.Nodes[1], e.ids[1]
	taken := nk.PeerID()
	_, err = e.c.UpdateNode(e.ctx, n1.Operator, id1, chain.UpdateNodeArgs{PeerID: &taken, NetworkKeySignature: signed(nk, 1, n1.Operator.Address(), taken)})
	e.wantErr(err, chain.ErrDuplicatePeerID, "updating to another node's peer ID")
	fresh := other.PeerID()
	_, err = e.c.UpdateNode(e.ctx, n1.Operator, id1, chain.UpdateNodeArgs{PeerID: &fresh})
	e.wantErr(err, chain.ErrInvalidNetworkKeySignature, "new peer ID without its signature")
	bogus := "not a peer ID"
	_, err = e.c.UpdateNode(e.ctx, n1.Operator, id1, chain.UpdateNodeArgs{PeerID: &bogus})
	e.wantErr(err, chain.ErrInvalidArgument, "updating to a peer ID that does not parse")
	up, err := e.c.UpdateNode(e.ctx, n1.Operator, id1, chain.UpdateNodeArgs{PeerID: &fresh, NetworkKeySignature: signed(other, 1, n1.Operator.Address(), fresh)})
	e.must(err)
	if i, _ := e.committee(0).Index(id1); up.PeerID != fresh || e.committee(0).Members[i].PeerID != fresh {
		e.t.Fatalf("updated peer ID %q", up.PeerID)
	}
	same := fresh
	_, err = e.c.UpdateNode(e.ctx, n1.Operator, id1, chain.UpdateNodeArgs{PeerID: &same})
	e.must(err) // its own peer ID again: nothing to sign
	key3, _ := chain.GenerateBLSKey(keyRand(145))
	_, err = e.c.RegisterNode(e.ctx, op, e.registration(op, key3, n1.Network, "reuse"))
	e.must(err) // node 1's old peer ID, signed by its key
}

func testUpdateNode(e *env) {
	n, id := e.net.Nodes[1], e.ids[1]
	name, commission := "renamed", uint16(2500)
	_, err := e.c.UpdateNode(e.ctx, e.net.Client, id, chain.UpdateNodeArgs{Name: &name})
	e.wantErr(err, chain.ErrNotOwner, "update by another account")
	_, err = e.c.UpdateNode(e.ctx, n.Operator, chain.ObjectID{3}, chain.UpdateNodeArgs{Name: &name})
	e.wantErr(err, chain.ErrUnknownNode, "update of an unknown node")
	key, _ := chain.GenerateBLSKey(keyRand(130))
	pk := key.PublicKey()
	_, err = e.c.UpdateNode(e.ctx, n.Operator, id, chain.UpdateNodeArgs{PublicKey: &pk})
	e.wantErr(err, chain.ErrInvalidProofOfPossession, "new key without proof of possession")
	pop := key.ProofOfPossession(1, n.Operator.Address())
	info, err := e.c.UpdateNode(e.ctx, n.Operator, id, chain.UpdateNodeArgs{
		Name: &name, Addresses: []string{"/ip4/10.0.0.1/tcp/1"}, Commission: &commission, PublicKey: &pk, ProofOfPossession: &pop,
	})
	e.must(err)
	if info.Name != name || info.Addresses[0] != "/ip4/10.0.0.1/tcp/1" || info.NextCommission != commission ||
		info.Commission == commission || info.NextPublicKey == nil || *info.NextPublicKey != pk || info.PublicKey != n.Key.PublicKey() {
		e.t.Fatalf("updated %+v", info)
	}
	// Names and addresses show at once; the key only from the next committee.
	cur := e.committee(0)
	i, _ := cur.Index(id)
	if cur.Members[i].Name != name || cur.Members[i].PublicKey != n.Key.PublicKey() {
		e.t.Errorf("current committee member %+v", cur.Members[i])
	}
	e.advance(e.net.EpochDuration / 2)
	next := e.committee(2)
	if next.Members[i].PublicKey != pk {
		e.t.Errorf("next committee key %s, want the new one", next.Members[i].PublicKey)
	}
}

func testPricing(e *env) {
	// Shards 4:3:2:1 vote 3000, 2000, 9000, 9000: members holding n − f = 7
	// shards voted 3000 or more, so 3000 it is.
	votes := []uint64{3000, 2000, 9000, 9000}
	for i, v := range votes {
		write := v / 10
		_, err := e.c.UpdateNode(e.ctx, e.net.Nodes[i].Operator, e.ids[i], chain.UpdateNodeArgs{StoragePriceVote: &v, WritePriceVote: &write})
		e.must(err)
	}
	if s := e.system(); s.StoragePrice != StoragePrice || s.WritePrice != WritePrice {
		e.t.Fatalf("prices changed before the epoch change: %+v", s)
	}
	e.nextEpoch()
	if s := e.system(); s.StoragePrice != 3000 || s.WritePrice != 300 {
		e.t.Fatalf("prices of epoch 2: storage %d write %d, want 3000 and 300", s.StoragePrice, s.WritePrice)
	}
	// Registration pays the new prices.
	r := e.register(e.net.Client, blob(1, 100, 1, false))
	if want, _ := e.system().RegisterCost(100, 1); r.Cost != want {
		e.t.Errorf("cost %d, want %d", r.Cost, want)
	}
}

func testEvents(e *env) {
	evs, err := e.c.Events(e.ctx, chain.Cursor{}, 10, 0)
	e.must(err)
	if len(evs) != 0 {
		e.t.Fatalf("genesis events %+v", evs)
	}
	start := time.Now()
	evs, err = e.c.Events(e.ctx, chain.Cursor{}, 10, 50*time.Millisecond)
	e.must(err)
	if len(evs) != 0 || time.Since(start) < 40*time.Millisecond {
		e.t.Fatalf("long poll without events returned %d events after %v", len(evs), time.Since(start))
	}
	// A long poll wakes up on the next event.
	type res struct {
		evs []chain.Event
		err error
	}
	got := make(chan res, 1)
	go func() {
		evs, err := e.c.Events(e.ctx, chain.Cursor{}, 10, 20*time.Second)
		got <- res{evs, err}
	}()
	var regs []chain.RegisterBlobResult
	for i := range 5 {
		regs = append(regs, e.register(e.net.Client, blob(byte(i+1), 100, 1, false)))
	}
	r := <-got
	e.must(r.err)
	if len(r.evs) == 0 || r.evs[0].Kind != chain.EventBlobRegistered || r.evs[0].ObjectID != regs[0].Blob.ID || r.evs[0].Cursor.Seq != 1 {
		e.t.Fatalf("long poll got %+v", r.evs)
	}
	// Paging by cursor yields every event once, in order.
	var all []chain.Event
	var cur chain.Cursor
	for {
		page, err := e.c.Events(e.ctx, cur, 2, 0)
		e.must(err)
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			e.t.Fatalf("page of %d events with limit 2", len(page))
		}
		all = append(all, page...)
		cur = page[len(page)-1].Cursor
	}
	if len(all) != 5 {
		e.t.Fatalf("%d events, want 5", len(all))
	}
	for i, ev := range all {
		if ev.Cursor.Seq != uint64(i+1) || ev.ObjectID != regs[i].Blob.ID || ev != regs[i].Receipt.Events[0] {
			e.t.Errorf("event %d: %+v, receipt had %+v", i, ev, regs[i].Receipt.Events[0])
		}
	}
	// Resuming from the middle.
	rest, err := e.c.Events(e.ctx, all[2].Cursor, 100, 0)
	e.must(err)
	if len(rest) != 2 || rest[0] != all[3] {
		e.t.Errorf("resumed at %+v", rest)
	}
}

func kindsOf(evs []chain.Event) []chain.EventKind {
	var out []chain.EventKind
	for _, ev := range evs {
		out = append(out, ev.Kind)
	}
	return out
}

func containsAll(have []chain.EventKind, want ...chain.EventKind) bool {
	for _, k := range want {
		if !slices.Contains(have, k) {
			return false
		}
	}
	return true
}
