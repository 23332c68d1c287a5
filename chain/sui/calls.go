package sui

import (
	"github.com/walrus-go/walrus/chain"
)

// Programmable transactions for each call of Walrus's package this backend
// makes. Each mirrors, command for command and input for input, a
// transaction of testdata/vectors/vectors.mjs; the vector tests check the
// bytes.

// ClockID is Sui's shared clock object 0x6 (initial shared version 1).
var ClockID = chain.ObjectID{31: 6}

// nodeDescription is the description of the NodeMetadata our nodes register.
const nodeDescription = "walrus-go node"

// calls builds transactions against one deployment of the package.
type calls struct {
	pkg     chain.ObjectID
	system  sharedRef // Mutable is set per call
	staking sharedRef
}

func (c calls) sys(b *builder, mutable bool) *argument {
	s := c.system
	s.Mutable = mutable
	return b.shared(s)
}

func (c calls) stk(b *builder) *argument {
	s := c.staking
	s.Mutable = true
	return b.shared(s)
}

// reserveSpace: system::reserve_space(system, size, epochs, &mut coin),
// the Storage transferred to the sender.
func (c calls) reserveSpace(coins []ObjectRef, size uint64, epochs uint32, sender chain.Address) *builder {
	b := newBuilder()
	s := c.sys(b, true)
	coin := b.wal(coins)
	st := b.call(c.pkg, "system", "reserve_space", nil, s, b.u64(size), b.u32(epochs), coin)
	b.transfer([]*argument{st}, b.id(sender))
	return b
}

// blobArgs are register_blob's arguments besides the storage and payment.
type blobArgs struct {
	BlobID, RootHash [32]byte
	Size             uint64
	EncodingType     uint8
	Deletable        bool
}

// registerBlob: reserve_space for encodedSize and epochs (or the given
// storage resource), then register_blob; the Blob goes to owner.
func (c calls) registerBlob(coins []ObjectRef, storage *ObjectRef, encodedSize uint64, epochs uint32, a blobArgs, owner chain.Address) *builder {
	b := newBuilder()
	s := c.sys(b, true)
	coin := b.wal(coins)
	var st *argument
	if storage != nil {
		st = b.owned(*storage)
	} else {
		st = b.call(c.pkg, "system", "reserve_space", nil, s, b.u64(encodedSize), b.u32(epochs), coin)
	}
	blob := b.call(c.pkg, "system", "register_blob", nil, s, st, b.id(a.BlobID), b.id(a.RootHash), b.u64(a.Size), b.u8(a.EncodingType), b.bool(a.Deletable), coin)
	b.transfer([]*argument{blob}, b.id(owner))
	return b
}

// certifyBlob: system::certify_blob(&system, &mut blob, signature, bitmap,
// message).
func (c calls) certifyBlob(blob ObjectRef, cert *chain.Certificate) *builder {
	b := newBuilder()
	b.call(c.pkg, "system", "certify_blob", nil, c.sys(b, false), b.owned(blob), b.bytes(cert.Signature[:]), b.bytes(cert.Signers), b.bytes(cert.Message))
	return b
}

// deleteBlob: system::delete_blob(&system, blob), the Storage back to the
// sender.
func (c calls) deleteBlob(blob ObjectRef, sender chain.Address) *builder {
	b := newBuilder()
	st := b.call(c.pkg, "system", "delete_blob", nil, c.sys(b, false), b.owned(blob))
	b.transfer([]*argument{st}, b.id(sender))
	return b
}

// extendBlob: system::extend_blob(system, &mut blob, epochs, &mut coin).
func (c calls) extendBlob(blob ObjectRef, coins []ObjectRef, epochs uint32) *builder {
	b := newBuilder()
	s := c.sys(b, true)
	bl := b.owned(blob)
	coin := b.wal(coins)
	b.call(c.pkg, "system", "extend_blob", nil, s, bl, b.u32(epochs), coin)
	return b
}

// invalidateBlobID: system::invalidate_blob_id(&system, signature, bitmap,
// message).
func (c calls) invalidateBlobID(cert *chain.Certificate) *builder {
	b := newBuilder()
	b.call(c.pkg, "system", "invalidate_blob_id", nil, c.sys(b, false), b.bytes(cert.Signature[:]), b.bytes(cert.Signers), b.bytes(cert.Message))
	return b
}

// candidate are register_candidate's arguments.
type candidate struct {
	Name, NetworkAddress               string
	PublicKey, NetworkPublicKey, Proof []byte
	Commission                         uint16
	StoragePrice, WritePrice, Capacity uint64
}

// registerCandidate: node_metadata::new, staking::register_candidate, the
// StorageNodeCap to the sender.
func (c calls) registerCandidate(a candidate, sender chain.Address) *builder {
	b := newBuilder()
	st := c.stk(b)
	md := b.call(c.pkg, "node_metadata", "new", nil, b.string(""), b.string(""), b.string(nodeDescription))
	cap := b.call(c.pkg, "staking", "register_candidate", nil, st, b.string(a.Name), b.string(a.NetworkAddress), md,
		b.bytes(a.PublicKey), b.bytes(a.NetworkPublicKey), b.bytes(a.Proof), b.u16(a.Commission), b.u64(a.StoragePrice), b.u64(a.WritePrice), b.u64(a.Capacity))
	b.transfer([]*argument{cap}, b.id(sender))
	return b
}

// nodeUpdate is what updateNode changes; nil fields stay.
type nodeUpdate struct {
	Name, NetworkAddress *string
	NetworkPublicKey     []byte
	Commission           *uint16
	PublicKey, Proof     []byte
	StoragePrice         *uint64
	WritePrice           *uint64
	Capacity             *uint64
}

// updateNode: one staking setter per changed field, with the node's cap.
func (c calls) updateNode(cap ObjectRef, u nodeUpdate) *builder {
	b := newBuilder()
	st := c.stk(b)
	cp := b.owned(cap)
	set := func(fn string, args ...*argument) {
		b.call(c.pkg, "staking", fn, nil, append([]*argument{st, cp}, args...)...)
	}
	if u.Name != nil {
		set("set_name", b.string(*u.Name))
	}
	if u.NetworkAddress != nil {
		set("set_network_address", b.string(*u.NetworkAddress))
	}
	if u.NetworkPublicKey != nil {
		set("set_network_public_key", b.bytes(u.NetworkPublicKey))
	}
	if u.Commission != nil {
		set("set_next_commission", b.u16(*u.Commission))
	}
	if u.PublicKey != nil {
		set("set_next_public_key", b.bytes(u.PublicKey), b.bytes(u.Proof))
	}
	if u.StoragePrice != nil {
		set("set_storage_price_vote", b.u64(*u.StoragePrice))
	}
	if u.WritePrice != nil {
		set("set_write_price_vote", b.u64(*u.WritePrice))
	}
	if u.Capacity != nil {
		set("set_node_capacity_vote", b.u64(*u.Capacity))
	}
	return b
}

// stakeWithPool: split amount off the WAL coins, staking::stake_with_pool,
// the StakedWal to the sender.
func (c calls) stakeWithPool(coins []ObjectRef, amount uint64, node chain.NodeID, sender chain.Address) *builder {
	b := newBuilder()
	st := c.stk(b)
	coin := b.wal(coins)
	part := b.split(coin, b.u64(amount))
	sw := b.call(c.pkg, "staking", "stake_with_pool", nil, st, part, b.id(node))
	b.transfer([]*argument{sw}, b.id(sender))
	return b
}

// requestWithdrawStake: staking::request_withdraw_stake(staking, &mut staked).
func (c calls) requestWithdrawStake(staked ObjectRef) *builder {
	b := newBuilder()
	b.call(c.pkg, "staking", "request_withdraw_stake", nil, c.stk(b), b.owned(staked))
	return b
}

// withdrawStake: staking::withdraw_stake, the coin to the sender.
func (c calls) withdrawStake(staked ObjectRef, sender chain.Address) *builder {
	b := newBuilder()
	coin := b.call(c.pkg, "staking", "withdraw_stake", nil, c.stk(b), b.owned(staked))
	b.transfer([]*argument{coin}, b.id(sender))
	return b
}

// setNextCommission: staking::set_next_commission(staking, &cap, rate).
func (c calls) setNextCommission(cap ObjectRef, rate uint16) *builder {
	b := newBuilder()
	b.call(c.pkg, "staking", "set_next_commission", nil, c.stk(b), b.owned(cap), b.u16(rate))
	return b
}

// collectCommission: auth::authenticate_with_object<StorageNodeCap>(&cap),
// staking::collect_commission, the coin to the sender. register_candidate
// makes the cap the commission receiver.
func (c calls) collectCommission(cap ObjectRef, node chain.NodeID, sender chain.Address) *builder {
	b := newBuilder()
	st := c.stk(b)
	cp := b.owned(cap)
	capType := &typeTag{Struct: &structTag{Address: c.pkg, Module: "storage_node", Name: "StorageNodeCap"}}
	auth := b.call(c.pkg, "auth", "authenticate_with_object", []*typeTag{capType}, cp)
	coin := b.call(c.pkg, "staking", "collect_commission", nil, st, b.id(node), auth)
	b.transfer([]*argument{coin}, b.id(sender))
	return b
}

// epochSyncDone: staking::epoch_sync_done(staking, &mut cap, epoch, &clock).
func (c calls) epochSyncDone(cap ObjectRef, epoch uint32) *builder {
	b := newBuilder()
	st := c.stk(b)
	cp := b.owned(cap)
	b.call(c.pkg, "staking", "epoch_sync_done", nil, st, cp, b.u32(epoch), b.shared(sharedRef{ID: ClockID, InitialSharedVersion: 1}))
	return b
}

// transferWAL: merge the WAL coins, split amount off, transfer it.
func transferWAL(coins []ObjectRef, amount uint64, to chain.Address) *builder {
	b := newBuilder()
	coin := b.wal(coins)
	part := b.split(coin, b.u64(amount))
	b.transfer([]*argument{part}, b.id(to))
	return b
}
