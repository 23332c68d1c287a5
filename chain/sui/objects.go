package sui

import "github.com/walrus-go/walrus/chain"

// The Move objects of Walrus's package, field for field in declaration
// order (their BCS layout). Each has a Decode function for the bytes the RPC
// returns (bounded, strict: no trailing bytes) and an Encode method, which
// the test server uses and the vector tests check byte for byte.

// EpochValue is an entry of a VecMap<u32, u64> (Walrus's PendingValues).
type EpochValue struct {
	Epoch uint32
	Value uint64
}

// Versioned is the outer System or Staking object: its inner state lives in
// a dynamic field of id keyed by Version (u64).
type Versioned struct {
	ID           chain.ObjectID
	Version      uint64
	PackageID    chain.ObjectID
	NewPackageID *chain.ObjectID
}

func (v *Versioned) read(r *reader) {
	v.ID, v.Version, v.PackageID = r.addr(), r.u64(), r.addr()
	if r.option() {
		id := chain.ObjectID(r.addr())
		v.NewPackageID = &id
	}
}

func (v *Versioned) write(w *writer) {
	w.addr(v.ID)
	w.u64(v.Version)
	w.addr(v.PackageID)
	w.option(v.NewPackageID != nil)
	if v.NewPackageID != nil {
		w.addr(*v.NewPackageID)
	}
}

// DecodeVersioned decodes a walrus::system::System or
// walrus::staking::Staking object.
func DecodeVersioned(b []byte) (Versioned, error) {
	var v Versioned
	r := newReader(b)
	v.read(r)
	return v, r.done("System/Staking")
}

// Encode returns the BCS of v.
func (v Versioned) Encode() []byte { var w writer; v.write(&w); return w.b }

// BlsMember is a member of the system's BlsCommittee.
type BlsMember struct {
	PublicKey []byte // compressed G1, 48 bytes
	Weight    uint16 // shards held
	NodeID    chain.NodeID
}

// BlsCommittee is walrus::bls_aggregate::BlsCommittee: the committee that
// signs certificates. Bit i of a certificate's bitmap is Members[i].
type BlsCommittee struct {
	Members            []BlsMember
	NShards            uint16
	Epoch              uint32
	TotalAggregatedKey []byte
}

func (c *BlsCommittee) read(r *reader) {
	n := r.length(1 + 2 + 32)
	c.Members = make([]BlsMember, 0, n)
	for range n {
		c.Members = append(c.Members, BlsMember{PublicKey: r.bytes(), Weight: r.u16(), NodeID: r.addr()})
	}
	c.NShards, c.Epoch, c.TotalAggregatedKey = r.u16(), r.u32(), r.bytes()
}

func (c *BlsCommittee) write(w *writer) {
	w.uleb(uint64(len(c.Members)))
	for _, m := range c.Members {
		w.bytes(m.PublicKey)
		w.u16(m.Weight)
		w.addr(m.NodeID)
	}
	w.u16(c.NShards)
	w.u32(c.Epoch)
	w.bytes(c.TotalAggregatedKey)
}

// FutureAccounting is one epoch of the storage accounting ring buffer.
type FutureAccounting struct {
	Epoch        uint32
	UsedCapacity uint64
	Rewards      uint64
}

// EventBlob is walrus::event_blob::EventBlob.
type EventBlob struct {
	BlobID           [32]byte
	EndingCheckpoint uint64
}

// EventBlobWeight is an entry of EventBlobCertificationState's weights.
type EventBlobWeight struct {
	Blob   EventBlob
	Weight uint16
}

// SystemStateInnerV1 is walrus::system_state_inner::SystemStateInnerV1.
type SystemStateInnerV1 struct {
	Committee         BlsCommittee
	TotalCapacitySize uint64
	UsedCapacitySize  uint64
	StoragePrice      uint64
	WritePrice        uint64
	AccountingIndex   uint32
	AccountingLength  uint32 // max epochs ahead
	Accounting        []FutureAccounting
	LatestEventBlob   *EventBlob
	EventBlobWeights  []EventBlobWeight
	DenyListSizes     chain.ObjectID
}

func (s *SystemStateInnerV1) read(r *reader) {
	s.Committee.read(r)
	s.TotalCapacitySize, s.UsedCapacitySize, s.StoragePrice, s.WritePrice = r.u64(), r.u64(), r.u64(), r.u64()
	s.AccountingIndex, s.AccountingLength = r.u32(), r.u32()
	n := r.length(20)
	s.Accounting = make([]FutureAccounting, 0, n)
	for range n {
		s.Accounting = append(s.Accounting, FutureAccounting{Epoch: r.u32(), UsedCapacity: r.u64(), Rewards: r.u64()})
	}
	if r.option() {
		s.LatestEventBlob = &EventBlob{BlobID: r.u256(), EndingCheckpoint: r.u64()}
	}
	n = r.length(42)
	s.EventBlobWeights = make([]EventBlobWeight, 0, n)
	for range n {
		s.EventBlobWeights = append(s.EventBlobWeights, EventBlobWeight{Blob: EventBlob{BlobID: r.u256(), EndingCheckpoint: r.u64()}, Weight: r.u16()})
	}
	s.DenyListSizes = r.addr()
}

func (s *SystemStateInnerV1) write(w *writer) {
	s.Committee.write(w)
	w.u64(s.TotalCapacitySize)
	w.u64(s.UsedCapacitySize)
	w.u64(s.StoragePrice)
	w.u64(s.WritePrice)
	w.u32(s.AccountingIndex)
	w.u32(s.AccountingLength)
	w.uleb(uint64(len(s.Accounting)))
	for _, a := range s.Accounting {
		w.u32(a.Epoch)
		w.u64(a.UsedCapacity)
		w.u64(a.Rewards)
	}
	w.option(s.LatestEventBlob != nil)
	if s.LatestEventBlob != nil {
		w.u256(s.LatestEventBlob.BlobID)
		w.u64(s.LatestEventBlob.EndingCheckpoint)
	}
	w.uleb(uint64(len(s.EventBlobWeights)))
	for _, e := range s.EventBlobWeights {
		w.u256(e.Blob.BlobID)
		w.u64(e.Blob.EndingCheckpoint)
		w.u16(e.Weight)
	}
	w.addr(s.DenyListSizes)
}

// Field is a dynamic field object 0x2::dynamic_field::Field<u64, V>: how
// System and Staking hold their inner state.
type Field[V any] struct {
	ID    chain.ObjectID
	Name  uint64
	Value V
}

// DecodeSystemInner decodes the dynamic field holding the system's inner
// state.
func DecodeSystemInner(b []byte) (Field[SystemStateInnerV1], error) {
	var f Field[SystemStateInnerV1]
	r := newReader(b)
	f.ID, f.Name = r.addr(), r.u64()
	f.Value.read(r)
	return f, r.done("Field<u64, SystemStateInnerV1>")
}

// EncodeSystemInner returns the BCS of the system's inner dynamic field.
func EncodeSystemInner(f Field[SystemStateInnerV1]) []byte {
	var w writer
	w.addr(f.ID)
	w.u64(f.Name)
	f.Value.write(&w)
	return w.b
}

// CommitteeEntry is an entry of walrus::committee::Committee (a
// VecMap<ID, vector<u16>>): a node and the shards it holds.
type CommitteeEntry struct {
	NodeID chain.NodeID
	Shards []uint16
}

func readCommittee(r *reader) []CommitteeEntry {
	n := r.length(33)
	out := make([]CommitteeEntry, 0, n)
	for range n {
		e := CommitteeEntry{NodeID: r.addr()}
		k := r.length(2)
		e.Shards = make([]uint16, 0, k)
		for range k {
			e.Shards = append(e.Shards, r.u16())
		}
		out = append(out, e)
	}
	return out
}

func writeCommittee(w *writer, c []CommitteeEntry) {
	w.uleb(uint64(len(c)))
	for _, e := range c {
		w.addr(e.NodeID)
		w.uleb(uint64(len(e.Shards)))
		for _, s := range e.Shards {
			w.u16(s)
		}
	}
}

// EpochParams is walrus::epoch_parameters::EpochParams.
type EpochParams struct {
	TotalCapacitySize uint64
	StoragePrice      uint64
	WritePrice        uint64
}

// The variants of walrus::staking_inner::EpochState.
const (
	StateEpochChangeSync    = 0 // Value: the weight (shards) that reported sync done
	StateEpochChangeDone    = 1 // Value: timestamp (ms)
	StateNextParamsSelected = 2 // Value: timestamp (ms)
)

// EpochState is walrus::staking_inner::EpochState.
type EpochState struct {
	Kind  int
	Value uint64
}

// StakingInnerV1 is walrus::staking_inner::StakingInnerV1.
type StakingInnerV1 struct {
	NShards             uint16
	EpochDurationMs     uint64
	FirstEpochStartMs   uint64
	PoolsID             chain.ObjectID // ObjectTable<ID, StakingPool>
	PoolsSize           uint64
	Epoch               uint32
	ActiveSetID         chain.ObjectID
	NextCommittee       []CommitteeEntry // nil when None
	HasNextCommittee    bool
	Committee           []CommitteeEntry
	PreviousCommittee   []CommitteeEntry
	NextEpochParams     *EpochParams
	EpochState          EpochState
	NextEpochPublicKeys chain.ObjectID
}

func (s *StakingInnerV1) read(r *reader) {
	s.NShards, s.EpochDurationMs, s.FirstEpochStartMs = r.u16(), r.u64(), r.u64()
	s.PoolsID, s.PoolsSize = r.addr(), r.u64()
	s.Epoch, s.ActiveSetID = r.u32(), r.addr()
	if s.HasNextCommittee = r.option(); s.HasNextCommittee {
		s.NextCommittee = readCommittee(r)
	}
	s.Committee = readCommittee(r)
	s.PreviousCommittee = readCommittee(r)
	if r.option() {
		s.NextEpochParams = &EpochParams{r.u64(), r.u64(), r.u64()}
	}
	s.EpochState.Kind = r.variant(3)
	if s.EpochState.Kind == StateEpochChangeSync {
		s.EpochState.Value = uint64(r.u16())
	} else {
		s.EpochState.Value = r.u64()
	}
	s.NextEpochPublicKeys = r.addr()
}

func (s *StakingInnerV1) write(w *writer) {
	w.u16(s.NShards)
	w.u64(s.EpochDurationMs)
	w.u64(s.FirstEpochStartMs)
	w.addr(s.PoolsID)
	w.u64(s.PoolsSize)
	w.u32(s.Epoch)
	w.addr(s.ActiveSetID)
	w.option(s.HasNextCommittee)
	if s.HasNextCommittee {
		writeCommittee(w, s.NextCommittee)
	}
	writeCommittee(w, s.Committee)
	writeCommittee(w, s.PreviousCommittee)
	w.option(s.NextEpochParams != nil)
	if p := s.NextEpochParams; p != nil {
		w.u64(p.TotalCapacitySize)
		w.u64(p.StoragePrice)
		w.u64(p.WritePrice)
	}
	w.variant(s.EpochState.Kind)
	if s.EpochState.Kind == StateEpochChangeSync {
		w.u16(uint16(s.EpochState.Value))
	} else {
		w.u64(s.EpochState.Value)
	}
	w.addr(s.NextEpochPublicKeys)
}

// DecodeStakingInner decodes the dynamic field holding the staking inner
// state.
func DecodeStakingInner(b []byte) (Field[StakingInnerV1], error) {
	var f Field[StakingInnerV1]
	r := newReader(b)
	f.ID, f.Name = r.addr(), r.u64()
	f.Value.read(r)
	return f, r.done("Field<u64, StakingInnerV1>")
}

// EncodeStakingInner returns the BCS of the staking inner dynamic field.
func EncodeStakingInner(f Field[StakingInnerV1]) []byte {
	var w writer
	w.addr(f.ID)
	w.u64(f.Name)
	f.Value.write(&w)
	return w.b
}

// The variants of walrus::staking_pool::PoolState.
const (
	PoolActive      = 0
	PoolWithdrawing = 1 // WithdrawingEpoch set
	PoolWithdrawn   = 2
)

// Authorized is walrus::auth::Authorized: an address or an object (cap).
type Authorized struct {
	IsObject bool
	ID       [32]byte
}

func (a *Authorized) read(r *reader) { a.IsObject = r.variant(2) == 1; a.ID = r.addr() }
func (a Authorized) write(w *writer) {
	if a.IsObject {
		w.variant(1)
	} else {
		w.variant(0)
	}
	w.addr(a.ID)
}

// StorageNodeInfo is walrus::storage_node::StorageNodeInfo.
type StorageNodeInfo struct {
	Name               string
	NodeID             chain.NodeID
	NetworkAddress     string
	PublicKey          []byte
	NextEpochPublicKey []byte // nil when None
	NetworkPublicKey   []byte
	MetadataID         chain.ObjectID
}

// StakingPool is walrus::staking_pool::StakingPool, a storage node's pool.
type StakingPool struct {
	ID                    chain.NodeID
	State                 int
	WithdrawingEpoch      uint32
	StoragePriceVote      uint64
	WritePriceVote        uint64
	NodeCapacity          uint64
	NodeInfo              StorageNodeInfo
	ActivationEpoch       uint32
	LatestEpoch           uint32
	WalBalance            uint64
	NumShares             uint64
	PendingSharesWithdraw []EpochValue
	PreActiveWithdrawals  []EpochValue
	PendingCommission     []EpochValue
	CommissionRate        uint16
	ExchangeRatesID       chain.ObjectID
	ExchangeRatesSize     uint64
	PendingStake          []EpochValue
	RewardsPool           uint64
	Commission            uint64
	CommissionReceiver    Authorized
	GovernanceAuthorized  Authorized
	ExtraFieldsID         chain.ObjectID
	ExtraFieldsSize       uint64
}

// DecodeStakingPool decodes a StakingPool object.
func DecodeStakingPool(b []byte) (StakingPool, error) {
	var p StakingPool
	r := newReader(b)
	p.ID = r.addr()
	if p.State = r.variant(3); p.State == PoolWithdrawing {
		p.WithdrawingEpoch = r.u32()
	}
	p.StoragePriceVote, p.WritePriceVote, p.NodeCapacity = r.u64(), r.u64(), r.u64()
	ni := &p.NodeInfo
	ni.Name, ni.NodeID, ni.NetworkAddress, ni.PublicKey = r.string(), r.addr(), r.string(), r.bytes()
	if r.option() {
		ni.NextEpochPublicKey = r.bytes()
	}
	ni.NetworkPublicKey, ni.MetadataID = r.bytes(), r.addr()
	p.ActivationEpoch, p.LatestEpoch, p.WalBalance, p.NumShares = r.u32(), r.u32(), r.u64(), r.u64()
	p.PendingSharesWithdraw, p.PreActiveWithdrawals, p.PendingCommission = r.vecMapU32U64(), r.vecMapU32U64(), r.vecMapU32U64()
	p.CommissionRate = r.u16()
	p.ExchangeRatesID, p.ExchangeRatesSize = r.addr(), r.u64()
	p.PendingStake = r.vecMapU32U64()
	p.RewardsPool, p.Commission = r.u64(), r.u64()
	p.CommissionReceiver.read(r)
	p.GovernanceAuthorized.read(r)
	p.ExtraFieldsID, p.ExtraFieldsSize = r.addr(), r.u64()
	return p, r.done("StakingPool")
}

// Encode returns the BCS of p.
func (p StakingPool) Encode() []byte {
	var w writer
	w.addr(p.ID)
	w.variant(p.State)
	if p.State == PoolWithdrawing {
		w.u32(p.WithdrawingEpoch)
	}
	w.u64(p.StoragePriceVote)
	w.u64(p.WritePriceVote)
	w.u64(p.NodeCapacity)
	ni := p.NodeInfo
	w.string(ni.Name)
	w.addr(ni.NodeID)
	w.string(ni.NetworkAddress)
	w.bytes(ni.PublicKey)
	w.option(ni.NextEpochPublicKey != nil)
	if ni.NextEpochPublicKey != nil {
		w.bytes(ni.NextEpochPublicKey)
	}
	w.bytes(ni.NetworkPublicKey)
	w.addr(ni.MetadataID)
	w.u32(p.ActivationEpoch)
	w.u32(p.LatestEpoch)
	w.u64(p.WalBalance)
	w.u64(p.NumShares)
	w.vecMapU32U64(p.PendingSharesWithdraw)
	w.vecMapU32U64(p.PreActiveWithdrawals)
	w.vecMapU32U64(p.PendingCommission)
	w.u16(p.CommissionRate)
	w.addr(p.ExchangeRatesID)
	w.u64(p.ExchangeRatesSize)
	w.vecMapU32U64(p.PendingStake)
	w.u64(p.RewardsPool)
	w.u64(p.Commission)
	p.CommissionReceiver.write(&w)
	p.GovernanceAuthorized.write(&w)
	w.addr(p.ExtraFieldsID)
	w.u64(p.ExtraFieldsSize)
	return w.b
}

// Storage is walrus::storage_resource::Storage.
type Storage struct {
	ID         chain.ObjectID
	StartEpoch uint32
	EndEpoch   uint32
	Size       uint64
}

func (s *Storage) read(r *reader) {
	s.ID, s.StartEpoch, s.EndEpoch, s.Size = r.addr(), r.u32(), r.u32(), r.u64()
}
func (s Storage) write(w *writer) {
	w.addr(s.ID)
	w.u32(s.StartEpoch)
	w.u32(s.EndEpoch)
	w.u64(s.Size)
}

// DecodeStorage decodes a Storage object.
func DecodeStorage(b []byte) (Storage, error) {
	var s Storage
	r := newReader(b)
	s.read(r)
	return s, r.done("Storage")
}

// Encode returns the BCS of s.
func (s Storage) Encode() []byte { var w writer; s.write(&w); return w.b }

// Blob is walrus::blob::Blob.
type Blob struct {
	ID              chain.ObjectID
	RegisteredEpoch uint32
	BlobID          [32]byte
	Size            uint64
	EncodingType    uint8
	CertifiedEpoch  *uint32
	Storage         Storage
	Deletable       bool
}

// DecodeBlob decodes a Blob object.
func DecodeBlob(b []byte) (Blob, error) {
	var o Blob
	r := newReader(b)
	o.ID, o.RegisteredEpoch, o.BlobID, o.Size, o.EncodingType = r.addr(), r.u32(), r.u256(), r.u64(), r.u8()
	if r.option() {
		e := r.u32()
		o.CertifiedEpoch = &e
	}
	o.Storage.read(r)
	o.Deletable = r.bool()
	return o, r.done("Blob")
}

// Encode returns the BCS of o.
func (o Blob) Encode() []byte {
	var w writer
	w.addr(o.ID)
	w.u32(o.RegisteredEpoch)
	w.u256(o.BlobID)
	w.u64(o.Size)
	w.u8(o.EncodingType)
	w.option(o.CertifiedEpoch != nil)
	if o.CertifiedEpoch != nil {
		w.u32(*o.CertifiedEpoch)
	}
	o.Storage.write(&w)
	w.bool(o.Deletable)
	return w.b
}

// StakedWal is walrus::staked_wal::StakedWal.
type StakedWal struct {
	ID              chain.ObjectID
	Withdrawing     bool
	WithdrawEpoch   uint32
	NodeID          chain.NodeID
	Principal       uint64
	ActivationEpoch uint32
}

// DecodeStakedWal decodes a StakedWal object.
func DecodeStakedWal(b []byte) (StakedWal, error) {
	var s StakedWal
	r := newReader(b)
	s.ID = r.addr()
	if s.Withdrawing = r.variant(2) == 1; s.Withdrawing {
		s.WithdrawEpoch = r.u32()
	}
	s.NodeID, s.Principal, s.ActivationEpoch = r.addr(), r.u64(), r.u32()
	return s, r.done("StakedWal")
}

// Encode returns the BCS of s.
func (s StakedWal) Encode() []byte {
	var w writer
	w.addr(s.ID)
	if s.Withdrawing {
		w.variant(1)
		w.u32(s.WithdrawEpoch)
	} else {
		w.variant(0)
	}
	w.addr(s.NodeID)
	w.u64(s.Principal)
	w.u32(s.ActivationEpoch)
	return w.b
}

// EventBlobAttestation is walrus::event_blob::EventBlobAttestation.
type EventBlobAttestation struct {
	Checkpoint uint64
	Epoch      uint32
}

// StorageNodeCap is walrus::storage_node::StorageNodeCap: the capability
// its holder operates a node with.
type StorageNodeCap struct {
	ID                       chain.ObjectID
	NodeID                   chain.NodeID
	LastEpochSyncDone        uint32
	LastEventBlobAttestation *EventBlobAttestation
	DenyListRoot             [32]byte
	DenyListSequence         uint64
	DenyListSize             uint64
}

// DecodeStorageNodeCap decodes a StorageNodeCap object.
func DecodeStorageNodeCap(b []byte) (StorageNodeCap, error) {
	var c StorageNodeCap
	r := newReader(b)
	c.ID, c.NodeID, c.LastEpochSyncDone = r.addr(), r.addr(), r.u32()
	if r.option() {
		c.LastEventBlobAttestation = &EventBlobAttestation{Checkpoint: r.u64(), Epoch: r.u32()}
	}
	c.DenyListRoot, c.DenyListSequence, c.DenyListSize = r.u256(), r.u64(), r.u64()
	return c, r.done("StorageNodeCap")
}

// Encode returns the BCS of c.
func (c StorageNodeCap) Encode() []byte {
	var w writer
	w.addr(c.ID)
	w.addr(c.NodeID)
	w.u32(c.LastEpochSyncDone)
	w.option(c.LastEventBlobAttestation != nil)
	if a := c.LastEventBlobAttestation; a != nil {
		w.u64(a.Checkpoint)
		w.u32(a.Epoch)
	}
	w.u256(c.DenyListRoot)
	w.u64(c.DenyListSequence)
	w.u64(c.DenyListSize)
	return w.b
}
