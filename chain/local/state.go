package local

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Limits of the state machine.
const (
	// MaxTxTTL is how far past the executing block's time a transaction's
	// expiry may lie: the chain remembers executed digests that long.
	MaxTxTTL = 10 * time.Minute
	// DefaultTxTTL is the expiry the backends give the transactions they
	// sign.
	DefaultTxTTL = 2 * time.Minute
	// MaxCommitteeSize bounds a committee; each member holds at least one
	// shard, so n bounds it too.
	MaxCommitteeSize = 1000
	// NodeHistoryEpochs is how many epochs of a node's history
	// (Chain.NodeHistory) the chain keeps.
	NodeHistoryEpochs = 16
)

// params are the constants of a chain, fixed at genesis.
type params struct {
	chainID  chain.Digest
	n        int
	code     encoding.Params
	epochMs  uint64
	maxAhead uint32
	faucet   Faucet // zero: none
	minStake uint64
}

// nodeRec is a registered node and its staking pool.
type nodeRec struct {
	info chain.NodeInfo // Stake and PendingStake are computed on read
	// active is the WAL staked and active this epoch; shares its pool
	// shares. Rewards grow active without adding shares.
	active uint64
	shares uint64
	// pending maps activation epoch to the WAL that activates then, and
	// activating to the staked WAL objects; withdrawing maps withdrawal
	// epoch to the objects that leave the pool then.
	pending     map[uint32]uint64
	activating  map[uint32][]chain.ObjectID
	withdrawing map[uint32][]chain.ObjectID
	// commission is the operator's accrued commission; history the last
	// NodeHistoryEpochs epochs the node was a committee member of.
	commission uint64
	history    []chain.NodeEpoch
}

// stakedRec is a staked WAL object.
type stakedRec struct {
	obj chain.StakedWAL // Value is computed on read
	// shares are the pool shares, from activation; withdrawable the WAL
	// paid out, once settled at the withdrawal epoch.
	shares       uint64
	withdrawable uint64
	settled      bool
}

// blobRec is a blob object and the events that made its status.
type blobRec struct {
	obj       chain.BlobObject
	regEvent  chain.Cursor
	certEvent chain.Cursor
	// hasAttrs says the object has an attribute (Walrus's metadata
	// dynamic field), attrs its pairs in order; it may be empty.
	hasAttrs bool
	attrs    []chain.AttributePair
}

// owned indexes what an address owns.
type owned struct {
	blobs, storage, staked map[chain.ObjectID]struct{}
}

// state is the chain's state: everything replaying the blocks rebuilds. It
// is not safe for concurrent use; Chain guards it.
type state struct {
	p params

	// Block being built or last built.
	height   uint64
	timeMs   uint64
	lastHash chain.Digest
	eventSeq uint64

	epoch        uint32
	phase        chain.EpochPhase
	epochStartMs uint64
	storagePrice uint64
	writePrice   uint64
	nextStorage  uint64 // prices chosen with the next committee
	nextWrite    uint64
	committees   map[uint32]*chain.Committee
	syncDone     map[chain.NodeID]bool // reports for the current epoch
	seeds        map[uint32]chain.Seed

	balances map[chain.Address]uint64
	nodes    map[chain.NodeID]*nodeRec
	keys     map[chain.BLSPublicKey]chain.NodeID
	peers    map[string]chain.NodeID // by peer ID
	staked   map[chain.ObjectID]*stakedRec
	blobs    map[chain.ObjectID]*blobRec
	byBlobID map[encoding.BlobID]map[chain.ObjectID]struct{}
	invalid  map[encoding.BlobID]chain.Cursor
	storage  map[chain.ObjectID]*chain.StorageResource // unattached
	owners   map[chain.Address]*owned
	pots     map[uint32]uint64
	// stored is the encoded length of the storage resources of each
	// epoch (sold for it, attached or not).
	stored map[uint32]uint64
	attest map[uint32]map[chain.NodeID]chain.Bitmap

	// recent maps executed digests to their expiry; recentBySec groups
	// them by expiry second for pruning.
	recent      map[chain.Digest]uint64
	recentBySec map[uint64][]chain.Digest

	// faucetMinted is what the faucet gave in all, faucetBy to each
	// account.
	faucetMinted uint64
	faucetBy     map[chain.Address]uint64

	minted, burned uint64

	// shared maps a shared blob's ID to the blob object it wraps. The
	// wrapped blob's Owner is the shared blob's ID as an address, which no
	// key signs for; the shared blob's funds are that address's balance.
	shared map[chain.ObjectID]chain.ObjectID

	// Per-transaction scratch, not state.
	txDigest chain.Digest
	txIndex  uint64 // objects created by the current transaction
	events   []chain.Event
}

func newState(p params) *state {
	return &state{
		p:           p,
		committees:  map[uint32]*chain.Committee{},
		syncDone:    map[chain.NodeID]bool{},
		seeds:       map[uint32]chain.Seed{},
		balances:    map[chain.Address]uint64{},
		nodes:       map[chain.NodeID]*nodeRec{},
		keys:        map[chain.BLSPublicKey]chain.NodeID{},
		peers:       map[string]chain.NodeID{},
		staked:      map[chain.ObjectID]*stakedRec{},
		blobs:       map[chain.ObjectID]*blobRec{},
		byBlobID:    map[encoding.BlobID]map[chain.ObjectID]struct{}{},
		invalid:     map[encoding.BlobID]chain.Cursor{},
		storage:     map[chain.ObjectID]*chain.StorageResource{},
		owners:      map[chain.Address]*owned{},
		pots:        map[uint32]uint64{},
		stored:      map[uint32]uint64{},
		attest:      map[uint32]map[chain.NodeID]chain.Bitmap{},
		recent:      map[chain.Digest]uint64{},
		recentBySec: map[uint64][]chain.Digest{},
		faucetBy:    map[chain.Address]uint64{},
		shared:      map[chain.ObjectID]chain.ObjectID{},
	}
}

// seedOf derives an epoch's challenge seed from the randomness of the block
// that starts it.
func seedOf(epoch uint32, randomness [32]byte) chain.Seed {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], epoch)
	h, _ := blake2b.New256(nil)
	h.Write([]byte("walrus-go/epoch-seed"))
	h.Write(b[:])
	h.Write(randomness[:])
	var s chain.Seed
	h.Sum(s[:0])
	return s
}

// genesisState builds the state of a genesis (after EnsureDefaults and
// Validate): epoch 1, its committee from the genesis nodes' stake, funded
// accounts. Genesis objects derive their IDs from the chain ID.
func genesisState(g *Genesis) (*state, error) {
	code, err := encoding.NewParams(g.NShards)
	if err != nil {
		return nil, err
	}
	s := newState(params{
		chainID:  g.Hash(),
		n:        g.NShards,
		code:     code,
		epochMs:  uint64(time.Duration(g.EpochDuration) / time.Millisecond),
		maxAhead: g.MaxEpochsAhead,
		minStake: g.MinStake,
	})
	if g.Faucet != nil {
		s.p.faucet = *g.Faucet
	}
	s.timeMs = uint64(g.Time.UnixMilli())
	s.lastHash = s.p.chainID
	s.epoch = 1
	s.phase = chain.PhaseActive
	s.epochStartMs = s.timeMs
	s.storagePrice, s.writePrice = g.StoragePrice, g.WritePrice
	s.seeds[1] = seedOf(1, g.Seed)
	s.txDigest = chain.Digest(s.p.chainID)
	for _, a := range g.Accounts {
		s.balances[a.Address] += a.Balance
		s.minted += a.Balance
	}
	for _, gn := range g.Nodes {
		id := s.newObjectID()
		n := &nodeRec{
			info: chain.NodeInfo{
				ID: id, Operator: gn.Operator, Name: gn.Name, PeerID: gn.PeerID,
				Addresses: slices.Clone(gn.Addresses), PublicKey: gn.PublicKey,
				Commission: gn.Commission, NextCommission: gn.Commission,
				StoragePriceVote: gn.StoragePriceVote, WritePriceVote: gn.WritePriceVote, Capacity: gn.Capacity,
			},
			active: gn.Stake, shares: gn.Stake,
			pending: map[uint32]uint64{}, activating: map[uint32][]chain.ObjectID{}, withdrawing: map[uint32][]chain.ObjectID{},
		}
		s.nodes[id] = n
		s.keys[gn.PublicKey] = id
		s.peers[gn.PeerID] = id
		sid := s.newObjectID()
		s.staked[sid] = &stakedRec{
			obj:    chain.StakedWAL{ID: sid, Owner: gn.Operator, NodeID: id, Principal: gn.Stake, ActivationEpoch: 1, State: chain.StakeStaked},
			shares: gn.Stake,
		}
		s.own(gn.Operator).staked[sid] = struct{}{}
		s.minted += gn.Stake
	}
	com, err := s.selectCommittee(1, nil)
	if err != nil {
		return nil, err
	}
	s.committees[1] = com
	s.events = nil
	return s, nil
}

// newObjectID returns the ID of the next object the current transaction
// creates.
func (s *state) newObjectID() chain.ObjectID {
	id := chain.DeriveObjectID(s.txDigest, s.txIndex)
	s.txIndex++
	return id
}

func (s *state) own(a chain.Address) *owned {
	o := s.owners[a]
	if o == nil {
		o = &owned{blobs: map[chain.ObjectID]struct{}{}, storage: map[chain.ObjectID]struct{}{}, staked: map[chain.ObjectID]struct{}{}}
		s.owners[a] = o
	}
	return o
}

// emit appends an event of the current block and transaction.
func (s *state) emit(ev chain.Event) chain.Cursor {
	s.eventSeq++
	ev.Cursor = chain.Cursor{Seq: s.eventSeq}
	ev.Height = s.height
	ev.TxDigest = s.txDigest
	if ev.Epoch == 0 {
		ev.Epoch = s.epoch
	}
	s.events = append(s.events, ev)
	return ev.Cursor
}

// canPay checks that a can pay amount.
func (s *state) canPay(a chain.Address, amount uint64) error {
	if b := s.balances[a]; b < amount {
		return &chain.InsufficientBalanceError{Address: a, Balance: b, Need: amount}
	}
	return nil
}

// pay moves amount from a's balance (checked by canPay) into nothing; the
// caller credits it elsewhere.
func (s *state) pay(a chain.Address, amount uint64) {
	s.balances[a] -= amount
	if s.balances[a] == 0 {
		delete(s.balances, a)
	}
}

// credit adds amount to a's balance.
func (s *state) credit(a chain.Address, amount uint64) {
	if amount > 0 {
		s.balances[a] += amount
	}
}

// poolValue converts pool shares to WAL at the pool's rate.
func poolValue(n *nodeRec, shares uint64) uint64 {
	if n.shares == 0 {
		return 0
	}
	return mulDiv(shares, n.active, n.shares)
}

// mulDiv returns a·b/c rounded down; a·b/c must fit in a uint64 (it does
// whenever a ≤ c or b ≤ c).
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// pendingTotal sums a pool's pending stake.
func (n *nodeRec) pendingTotal() uint64 {
	var t uint64
	for _, v := range n.pending {
		t += v
	}
	return t
}

// totalStake is the WAL staked with all pools, pending stake included.
func (s *state) totalStake() uint64 {
	var t uint64
	for _, n := range s.nodes {
		t += n.active + n.pendingTotal()
	}
	return t
}

// ---- reads -------------------------------------------------------------

func (s *state) systemState() chain.SystemState {
	return chain.SystemState{
		ChainID:        s.p.chainID,
		Epoch:          s.epoch,
		Phase:          s.phase,
		NShards:        s.p.n,
		StoragePrice:   s.storagePrice,
		WritePrice:     s.writePrice,
		UnitSize:       chain.StorageUnitSize,
		EpochDuration:  time.Duration(s.p.epochMs) * time.Millisecond,
		EpochStart:     time.UnixMilli(int64(s.epochStartMs)).UTC(),
		MaxEpochsAhead: s.p.maxAhead,
		TotalStake:     s.totalStake(),
		FaucetLimit:    s.p.faucet.PerAccount,
		FaucetLeft:     s.p.faucet.Total - s.faucetMinted,
	}
}

func (s *state) committee(epoch uint32) (*chain.Committee, error) {
	if epoch == 0 {
		epoch = s.epoch
	}
	c, ok := s.committees[epoch]
	if !ok {
		return nil, fmt.Errorf("%w %d (current epoch %d)", chain.ErrNoCommittee, epoch, s.epoch)
	}
	out := c.Clone()
	for i := range out.Members {
		m := &out.Members[i]
		if n, ok := s.nodes[m.NodeID]; ok {
			m.Name, m.PeerID, m.Addresses = n.info.Name, n.info.PeerID, slices.Clone(n.info.Addresses)
		}
	}
	return out, nil
}

func (s *state) nodeInfo(id chain.NodeID) (chain.NodeInfo, error) {
	n, ok := s.nodes[id]
	if !ok {
		return chain.NodeInfo{}, fmt.Errorf("%w: %s", chain.ErrUnknownNode, id)
	}
	info := n.info
	info.Addresses = slices.Clone(info.Addresses)
	if info.NextPublicKey != nil {
		k := *info.NextPublicKey
		info.NextPublicKey = &k
	}
	info.Stake = n.active
	info.PendingStake = n.pendingTotal()
	for _, e := range sortedKeys(n.pending) {
		info.PendingByEpoch = append(info.PendingByEpoch, chain.EpochAmount{Epoch: e, Amount: n.pending[e]})
	}
	for _, e := range sortedKeys(n.withdrawing) {
		var v uint64
		for _, id := range n.withdrawing[e] {
			v += s.stakedValue(s.staked[id]).Value
		}
		info.WithdrawingByEpoch = append(info.WithdrawingByEpoch, chain.EpochAmount{Epoch: e, Amount: v})
	}
	info.CommissionAccrued = n.commission
	return info, nil
}

func (s *state) nodeHistory(id chain.NodeID) ([]chain.NodeEpoch, error) {
	n, ok := s.nodes[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrUnknownNode, id)
	}
	return slices.Clone(n.history), nil
}

func (s *state) nodeList() []chain.NodeInfo {
	ids := slices.SortedFunc(maps.Keys(s.nodes), cmpID)
	out := make([]chain.NodeInfo, 0, len(ids))
	for _, id := range ids {
		info, _ := s.nodeInfo(id)
		out = append(out, info)
	}
	return out
}

func cmpID(a, b chain.ObjectID) int { return bytes.Compare(a[:], b[:]) }

func (s *state) blobObject(id chain.ObjectID) (chain.BlobObject, error) {
	b, ok := s.blobs[id]
	if !ok {
		return chain.BlobObject{}, fmt.Errorf("%w: blob object %s", chain.ErrNotFound, id)
	}
	return copyBlob(b.obj), nil
}

func copyBlob(o chain.BlobObject) chain.BlobObject {
	if o.CertifiedEpoch != nil {
		e := *o.CertifiedEpoch
		o.CertifiedEpoch = &e
	}
	return o
}

func (s *state) ownedList(a chain.Address, pick func(*owned) map[chain.ObjectID]struct{}) []chain.ObjectID {
	o := s.owners[a]
	if o == nil {
		return nil
	}
	return slices.SortedFunc(maps.Keys(pick(o)), cmpID)
}

func (s *state) blobObjects(a chain.Address) []chain.BlobObject {
	var out []chain.BlobObject
	for _, id := range s.ownedList(a, func(o *owned) map[chain.ObjectID]struct{} { return o.blobs }) {
		out = append(out, copyBlob(s.blobs[id].obj))
	}
	return out
}

func (s *state) storageResources(a chain.Address) []chain.StorageResource {
	var out []chain.StorageResource
	for _, id := range s.ownedList(a, func(o *owned) map[chain.ObjectID]struct{} { return o.storage }) {
		out = append(out, *s.storage[id])
	}
	return out
}

func (s *state) stakedValue(r *stakedRec) chain.StakedWAL {
	o := r.obj
	switch {
	case r.settled:
		o.Value = r.withdrawable
	case r.shares > 0:
		o.Value = poolValue(s.nodes[o.NodeID], r.shares)
	default:
		o.Value = o.Principal
	}
	return o
}

func (s *state) stakedList(a chain.Address) []chain.StakedWAL {
	var out []chain.StakedWAL
	for _, id := range s.ownedList(a, func(o *owned) map[chain.ObjectID]struct{} { return o.staked }) {
		out = append(out, s.stakedValue(s.staked[id]))
	}
	return out
}

// blobStatus aggregates the live objects of a blob ID (see chain.BlobStatus).
func (s *state) blobStatus(id encoding.BlobID) chain.BlobStatus {
	if ev, ok := s.invalid[id]; ok {
		return chain.BlobStatus{Kind: chain.BlobInvalid, Event: &ev}
	}
	var st chain.BlobStatus
	var best *blobRec
	for oid := range s.byBlobID[id] {
		b := s.blobs[oid]
		if b.obj.Storage.EndEpoch <= s.epoch {
			continue // expired
		}
		if ce := b.obj.CertifiedEpoch; ce != nil && (st.InitialCertifiedEpoch == nil || *ce < *st.InitialCertifiedEpoch) {
			e := *ce
			st.InitialCertifiedEpoch = &e
		}
		if b.obj.Deletable {
			st.Deletable.Registered++
			if b.obj.IsCertified() {
				st.Deletable.Certified++
			}
			continue
		}
		if best == nil || betterBlob(b, best) {
			best = b
		}
	}
	switch {
	case best != nil:
		st.Kind = chain.BlobPermanent
		st.EndEpoch = best.obj.Storage.EndEpoch
		st.IsCertified = best.obj.IsCertified()
		ev := best.regEvent
		if st.IsCertified {
			ev = best.certEvent
		}
		st.Event = &ev
	case st.Deletable.Registered > 0:
		st.Kind = chain.BlobDeletable
	default:
		st.Kind = chain.BlobNonexistent
	}
	return st
}

// betterBlob orders permanent objects for the status: certified first, then
// the later end epoch, then the smaller ID (for determinism).
func betterBlob(a, b *blobRec) bool {
	if a.obj.IsCertified() != b.obj.IsCertified() {
		return a.obj.IsCertified()
	}
	if a.obj.Storage.EndEpoch != b.obj.Storage.EndEpoch {
		return a.obj.Storage.EndEpoch > b.obj.Storage.EndEpoch
	}
	return cmpID(a.obj.ID, b.obj.ID) < 0
}

func (s *state) epochSeed(epoch uint32) (chain.Seed, error) {
	seed, ok := s.seeds[epoch]
	if !ok {
		return chain.Seed{}, fmt.Errorf("%w: seed of epoch %d (current %d)", chain.ErrNotFound, epoch, s.epoch)
	}
	return seed, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }
