package chain

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/bits"
	"time"

	"github.com/walrus-go/walrus/encoding"
)

// FrostPerWAL is the number of FROST in one WAL.
const FrostPerWAL = 1_000_000_000

// StorageUnitSize is the unit storage is priced in: 1 MiB of encoded length.
const StorageUnitSize = 1 << 20

// Chain is a chain backend: reads of the system, committees, nodes, blobs,
// balances and stake; the ordered event stream; and the transactions of the
// Walrus protocol. Every transaction is signed by the given Signer inside the
// backend, which then checks the signature as any other transaction's.
//
// Errors match the sentinels of this package (errors.Is). A transaction that
// fails changes nothing. When ctx ends while a transaction is being
// submitted, it may still execute; read its effects to find out.
//
// Implementations are safe for concurrent use.
type Chain interface {
	// SystemState returns the current epoch, its phase, the shard count,
	// prices and epoch timing.
	SystemState(ctx context.Context) (SystemState, error)
	// Committee returns the committee of an epoch: the current one, a past
	// one, or the next one once it is selected (ErrNoCommittee before). Epoch
	// 0 means the current epoch.
	Committee(ctx context.Context, epoch uint32) (*Committee, error)
	// Node returns a registered node (ErrUnknownNode if none).
	Node(ctx context.Context, id NodeID) (NodeInfo, error)
	// Nodes returns every registered node, ordered by ID.
	Nodes(ctx context.Context) ([]NodeInfo, error)
	// BlobStatus returns the status of a blob ID aggregated over all its
	// blob objects, as Walrus's BlobStatus. It returns a Nonexistent status,
	// not an error, for an unknown blob ID.
	BlobStatus(ctx context.Context, id encoding.BlobID) (BlobStatus, error)
	// BlobObject returns a blob object (ErrNotFound if none, also after
	// deletion). An expired object stays readable for a while: a backend
	// may prune it later (chain/local: ExpiredRetention epochs after its
	// end epoch).
	BlobObject(ctx context.Context, id ObjectID) (BlobObject, error)
	// BlobObjects returns the blob objects owned by an address, expired ones
	// included until pruned (see BlobObject), ordered by ID.
	BlobObjects(ctx context.Context, owner Address) ([]BlobObject, error)
	// StorageResources returns the unattached storage resources owned by an
	// address, ordered by ID.
	StorageResources(ctx context.Context, owner Address) ([]StorageResource, error)
	// Balance returns an address's WAL balance in FROST (0 for an unknown
	// address).
	Balance(ctx context.Context, addr Address) (uint64, error)
	// StakedWAL returns the staked WAL objects owned by an address, ordered by
	// ID.
	StakedWAL(ctx context.Context, owner Address) ([]StakedWAL, error)
	// NodeHistory returns what happened to a node in the last epochs it
	// was a committee member of, oldest first: its shards, the verdict of
	// its storage challenges and what it earned (see NodeEpoch). A backend
	// keeps a bounded number of epochs (chain/local: NodeHistoryEpochs).
	// ErrUnknownNode for an unknown node.
	NodeHistory(ctx context.Context, id NodeID) ([]NodeEpoch, error)
	// EpochSeed returns the random seed of an epoch for storage challenges
	// (DESIGN.md §7). It exists from the epoch's start and cannot be
	// predicted before; ErrNotFound for a future epoch.
	EpochSeed(ctx context.Context, epoch uint32) (Seed, error)
	// Events returns up to limit events after the cursor, in order. When
	// there are none, it waits up to wait for the next ones and returns an
	// empty slice if none came. The zero Cursor starts from the first event.
	// Resume with the Cursor of the last event returned.
	Events(ctx context.Context, after Cursor, limit int, wait time.Duration) ([]Event, error)

	// RequestWAL mints amount FROST to the signer's account from the local
	// faucet (ErrFaucetDisabled where there is none; ErrFaucetLimit past
	// what the account may get in all, SystemState.FaucetLimit, or what
	// the faucet has left, SystemState.FaucetLeft).
	RequestWAL(ctx context.Context, s Signer, amount uint64) (TxReceipt, error)
	// TransferWAL moves amount FROST from the signer to another address.
	TransferWAL(ctx context.Context, s Signer, to Address, amount uint64) (TxReceipt, error)
	// RegisterNode registers a storage node operated by the signer and
	// creates its staking pool. It takes part in committees once staked.
	RegisterNode(ctx context.Context, s Signer, args RegisterNodeArgs) (NodeInfo, error)
	// UpdateNode changes a node's metadata; the signer must operate it.
	UpdateNode(ctx context.Context, s Signer, id NodeID, args UpdateNodeArgs) (NodeInfo, error)
	// Stake stakes amount FROST of the signer with a node's pool. The stake
	// becomes active next epoch, or the one after once the next committee
	// is selected.
	Stake(ctx context.Context, s Signer, node NodeID, amount uint64) (StakedWAL, error)
	// RequestWithdrawal starts withdrawing staked WAL owned by the signer;
	// it can be withdrawn from the returned object's WithdrawEpoch. Stake
	// that is active, or pending but counted by the committee of its
	// activation epoch (selected, with the node in it), can be requested;
	// other pending stake gives ErrStakeNotActive: Withdraw takes it at
	// once.
	RequestWithdrawal(ctx context.Context, s Signer, staked ObjectID) (StakedWAL, error)
	// Withdraw pays out staked WAL and returns the amount paid: stake whose
	// withdrawal epoch has come, rewards included, or, at once, pending
	// stake that no selected committee counts yet (its principal), as
	// Walrus's withdraw_stake. Other stake gives ErrNotWithdrawing or
	// ErrTooEarly.
	Withdraw(ctx context.Context, s Signer, staked ObjectID) (uint64, error)
	// CollectCommission pays a node's accrued commission
	// (NodeInfo.CommissionAccrued) to its operator, who must sign, and
	// returns the amount: 0 when none accrued.
	CollectCommission(ctx context.Context, s Signer, node NodeID) (uint64, error)
	// ReserveStorage buys a storage resource of size bytes (of encoded
	// length) for the given number of epochs from the current one.
	ReserveStorage(ctx context.Context, s Signer, size uint64, epochs uint32) (ReserveStorageResult, error)
	// RegisterBlob registers a blob, paying for its storage (unless args
	// name a storage resource to use) and for the write.
	RegisterBlob(ctx context.Context, s Signer, args RegisterBlobArgs) (RegisterBlobResult, error)
	// CertifyBlob certifies a registered blob object with a certificate of
	// the current epoch's committee at quorum. Anyone holding the
	// certificate may submit it.
	CertifyBlob(ctx context.Context, s Signer, blob ObjectID, cert *Certificate) (CertifyBlobResult, error)
	// DeleteBlob deletes a deletable blob object owned by the signer and
	// returns its storage resource to the signer.
	DeleteBlob(ctx context.Context, s Signer, blob ObjectID) (DeleteBlobResult, error)
	// ExtendBlob extends a certified blob object owned by the signer by the
	// given number of epochs, paying for them.
	ExtendBlob(ctx context.Context, s Signer, blob ObjectID, epochs uint32) (ExtendBlobResult, error)
	// InvalidateBlob marks a blob ID invalid with a certificate of the
	// current committee on an invalid-blob-ID message at validity (f + 1).
	InvalidateBlob(ctx context.Context, s Signer, cert *Certificate) (TxReceipt, error)
	// SubmitAttestation records a committee member's storage-challenge
	// attestation for the current epoch; the signer must operate the node.
	SubmitAttestation(ctx context.Context, s Signer, att Attestation) (TxReceipt, error)
	// EpochSyncDone reports that a node has synced the shards it holds in
	// epoch; the signer must operate the node. The epoch change is done
	// once the reporters hold a quorum of shards.
	EpochSyncDone(ctx context.Context, s Signer, node NodeID, epoch uint32) (TxReceipt, error)

	// BlobAttribute returns a blob object's attribute (see attributes.go),
	// nil when it has none; ErrNotFound for an unknown object.
	BlobAttribute(ctx context.Context, blob ObjectID) (*BlobAttribute, error)
	// SetBlobAttribute inserts or updates pairs, in order, in the
	// attribute of a blob object owned by the signer, creating the
	// attribute if it has none (Walrus's insert_or_update_metadata_pair).
	SetBlobAttribute(ctx context.Context, s Signer, blob ObjectID, pairs []AttributePair) (TxReceipt, error)
	// RemoveBlobAttributePairs removes keys from the attribute of a blob
	// object owned by the signer (remove_metadata_pair): ErrNoAttribute if
	// it has no attribute or lacks one of them, and then nothing changes.
	RemoveBlobAttributePairs(ctx context.Context, s Signer, blob ObjectID, keys []string) (TxReceipt, error)
	// RemoveBlobAttribute removes the whole attribute of a blob object
	// owned by the signer (take_metadata): ErrNoAttribute if it has none.
	RemoveBlobAttribute(ctx context.Context, s Signer, blob ObjectID) (TxReceipt, error)

	// SharedBlob returns a shared blob object (see shared.go); ErrNotFound
	// for an unknown one.
	SharedBlob(ctx context.Context, id ObjectID) (SharedBlob, error)
	// ShareBlob wraps a permanent blob object owned by the signer into a
	// new shared blob, funded with funds FROST from the signer's balance
	// (Walrus's shared_blob::new, or new_funded when funds > 0).
	// ErrNotShareable for a deletable blob object.
	ShareBlob(ctx context.Context, s Signer, blob ObjectID, funds uint64) (SharedBlob, error)
	// FundSharedBlob adds amount FROST (> 0) from the signer's balance to a
	// shared blob's funds (shared_blob::fund); anyone may fund.
	FundSharedBlob(ctx context.Context, s Signer, shared ObjectID, amount uint64) (SharedBlob, error)
	// ExtendSharedBlob extends the blob a shared blob wraps by epochs,
	// paying from the shared blob's funds (shared_blob::extend); anyone may
	// extend. ErrInsufficientBalance when the funds do not cover it.
	ExtendSharedBlob(ctx context.Context, s Signer, shared ObjectID, epochs uint32) (ExtendSharedBlobResult, error)

	// Close releases the backend. Calls after Close return ErrClosed.
	Close() error
}

// Signer signs transactions for an account. *AccountKey is the usual one.
// Implementations must be safe for concurrent use.
type Signer interface {
	// Address is the account's address; it must be AddressOf(PublicKey()).
	Address() Address
	// PublicKey is the account's Ed25519 public key.
	PublicKey() ed25519.PublicKey
	// Sign signs msg with the account's key.
	Sign(msg []byte) []byte
}

// EpochPhase is where an epoch stands, as Walrus's EpochState.
type EpochPhase uint8

// The phases of an epoch, in order. An epoch starts in PhaseSyncing (nodes
// fetch newly assigned shards), is PhaseActive once nodes holding a quorum of
// shards reported sync done, and PhaseNextSelected from its midpoint on, once
// the next epoch's committee and prices are chosen.
const (
	PhaseSyncing      EpochPhase = 0
	PhaseActive       EpochPhase = 1
	PhaseNextSelected EpochPhase = 2
)

var phaseNames = [...]string{"EpochChangeSync", "EpochChangeDone", "NextParamsSelected"}

// String returns Walrus's name of the phase.
func (p EpochPhase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("EpochPhase(%d)", uint8(p))
}

// MarshalText implements encoding.TextMarshaler.
func (p EpochPhase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *EpochPhase) UnmarshalText(b []byte) error {
	for i, n := range phaseNames {
		if n == string(b) {
			*p = EpochPhase(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown epoch phase %q", ErrInvalidArgument, b)
}

// SystemState is the state of the system object. Values are copies.
type SystemState struct {
	// ChainID identifies the chain (for the local chain: its genesis hash).
	ChainID Digest `json:"chainId"`
	// Epoch is the current epoch; the first is 1.
	Epoch uint32     `json:"epoch"`
	Phase EpochPhase `json:"phase"`
	// NShards is the number of shards n, fixed at genesis.
	NShards int `json:"nShards"`
	// StoragePrice is the price of one StorageUnitSize of encoded length for
	// one epoch, in FROST.
	StoragePrice uint64 `json:"storagePricePerUnit"`
	// WritePrice is the one-time price of writing one StorageUnitSize of
	// encoded length, in FROST.
	WritePrice uint64 `json:"writePricePerUnit"`
	// UnitSize is StorageUnitSize.
	UnitSize uint64 `json:"unitSize"`
	// EpochDuration is the length of an epoch.
	EpochDuration time.Duration `json:"epochDuration"`
	// EpochStart is when the current epoch started.
	EpochStart time.Time `json:"epochStart"`
	// MaxEpochsAhead bounds how far ahead storage can be bought.
	MaxEpochsAhead uint32 `json:"maxEpochsAhead"`
	// TotalStake is the WAL staked with all pools, pending stake included,
	// in FROST.
	TotalStake uint64 `json:"totalStake"`
	// FaucetLimit is the most FROST one account can get from the local
	// faucet over all its requests; 0 means the chain has no faucet.
	// FaucetLeft is what the faucet can still mint, to all accounts.
	FaucetLimit uint64 `json:"faucetLimit"`
	FaucetLeft  uint64 `json:"faucetLeft"`
}

// Params returns the encoding parameters of the network's shard count.
func (s SystemState) Params() (encoding.Params, error) { return encoding.NewParams(s.NShards) }

// StorageUnits is the number of storage units an encoded length occupies:
// ceil(encodedLength / StorageUnitSize).
func StorageUnits(encodedLength uint64) uint64 {
	return encodedLength/StorageUnitSize + min(1, encodedLength%StorageUnitSize)
}

// StorageCost is what reserving encodedLength bytes for epochs costs at
// these prices: units × storage price × epochs. It returns ErrTooLarge on
// overflow.
func (s SystemState) StorageCost(encodedLength uint64, epochs uint32) (uint64, error) {
	return mulChecked(StorageUnits(encodedLength), s.StoragePrice, uint64(epochs))
}

// WriteCost is the one-time write fee for encodedLength bytes:
// units × write price.
func (s SystemState) WriteCost(encodedLength uint64) (uint64, error) {
	return mulChecked(StorageUnits(encodedLength), s.WritePrice)
}

// RegisterCost is what registering a blob of blobSize bytes for epochs costs
// (DESIGN.md §4): storage for its encoded length plus the write fee.
func (s SystemState) RegisterCost(blobSize uint64, epochs uint32) (uint64, error) {
	p, err := s.Params()
	if err != nil {
		return 0, err
	}
	enc, err := p.EncodedLength(blobSize)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBlobTooLarge, err)
	}
	st, err := s.StorageCost(enc, epochs)
	if err != nil {
		return 0, err
	}
	wr, err := s.WriteCost(enc)
	if err != nil {
		return 0, err
	}
	sum, carry := bits.Add64(st, wr, 0)
	if carry != 0 {
		return 0, fmt.Errorf("%w: cost overflows", ErrTooLarge)
	}
	return sum, nil
}

// mulChecked multiplies, failing with ErrTooLarge on overflow.
func mulChecked(xs ...uint64) (uint64, error) {
	p := uint64(1)
	for _, x := range xs {
		hi, lo := bits.Mul64(p, x)
		if hi != 0 {
			return 0, fmt.Errorf("%w: cost overflows", ErrTooLarge)
		}
		p = lo
	}
	return p, nil
}

// Seed is an epoch's random seed for storage challenges.
type Seed [32]byte

// MarshalText implements encoding.TextMarshaler (64 hex digits).
func (s Seed) MarshalText() ([]byte, error) { return Digest(s).MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Seed) UnmarshalText(b []byte) error { return (*Digest)(s).UnmarshalText(b) }

// String returns 64 hex digits.
func (s Seed) String() string { return Digest(s).String() }

// NodeInfo is a registered storage node and its staking pool.
type NodeInfo struct {
	ID NodeID `json:"nodeId"`
	// Operator is the account that registered the node; it signs the
	// node's transactions and receives its commission.
	Operator Address `json:"operator"`
	Name     string  `json:"name"`
	// PeerID is the libp2p peer ID of the node's network key.
	PeerID string `json:"peerId"`
	// Addresses are the node's libp2p multiaddrs.
	Addresses []string `json:"addresses"`
	// PublicKey is the node's BLS protocol key; NextPublicKey, if set,
	// replaces it from the next committee on.
	PublicKey     BLSPublicKey  `json:"publicKey"`
	NextPublicKey *BLSPublicKey `json:"nextPublicKey,omitempty"`
	// Commission is the operator's share of the pool's rewards, in basis
	// points (1/10,000); NextCommission takes effect at the next epoch.
	Commission     uint16 `json:"commissionRate"`
	NextCommission uint16 `json:"nextCommissionRate"`
	// Price votes and capacity, in FROST per unit and bytes.
	StoragePriceVote uint64 `json:"storagePriceVote"`
	WritePriceVote   uint64 `json:"writePriceVote"`
	Capacity         uint64 `json:"nodeCapacity"`
	// Stake is the WAL active in the pool this epoch; PendingStake the WAL
	// that activates in later epochs, and PendingByEpoch the same by
	// activation epoch, ascending. WithdrawingByEpoch is the stake whose
	// withdrawal was requested, by the epoch it leaves the pool in, at the
	// pool's current rate.
	Stake              uint64        `json:"stake"`
	PendingStake       uint64        `json:"pendingStake"`
	PendingByEpoch     []EpochAmount `json:"pendingByEpoch,omitempty"`
	WithdrawingByEpoch []EpochAmount `json:"withdrawingByEpoch,omitempty"`
	// CommissionAccrued is the operator's commission earned and not yet
	// collected (Chain.CollectCommission), in FROST.
	CommissionAccrued uint64 `json:"commissionAccrued"`
	// RegisteredEpoch is the epoch of registration (0 at genesis).
	RegisteredEpoch uint32 `json:"registeredEpoch"`
}

// EpochAmount is an amount of FROST tied to an epoch.
type EpochAmount struct {
	Epoch  uint32 `json:"epoch"`
	Amount uint64 `json:"amount"`
}

// ChallengeVerdict is the outcome of a committee member's storage
// challenges in an epoch.
type ChallengeVerdict uint8

// The verdicts (DESIGN.md §7).
const (
	// VerdictUnproven: the attesters of the epoch held fewer than n − f
	// shards, so nobody's storage was proven (or disproven).
	VerdictUnproven ChallengeVerdict = 0
	// VerdictPassed: attesters holding at least n − f shards marked the
	// node as passing.
	VerdictPassed ChallengeVerdict = 1
	// VerdictFailed: attesters holding at least n − f shards attested, and
	// those that marked the node as passing held fewer than n − f.
	VerdictFailed ChallengeVerdict = 2
)

var verdictNames = [...]string{"unproven", "passed", "failed"}

// String returns "unproven", "passed" or "failed".
func (v ChallengeVerdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("ChallengeVerdict(%d)", uint8(v))
}

// MarshalText implements encoding.TextMarshaler.
func (v ChallengeVerdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *ChallengeVerdict) UnmarshalText(b []byte) error {
	for i, n := range verdictNames {
		if n == string(b) {
			*v = ChallengeVerdict(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown challenge verdict %q", ErrInvalidArgument, b)
}

// NodeEpoch is what happened to a node in an epoch it was a committee
// member of, recorded when the epoch ended.
type NodeEpoch struct {
	Epoch  uint32 `json:"epoch"`
	Shards int    `json:"shards"`
	// Attested says whether the node submitted its own attestation.
	Attested bool `json:"attested"`
	// PassedBy and FailedBy are the shards of the attesters that marked
	// the node as passing, and as not passing.
	PassedBy int              `json:"passedBy"`
	FailedBy int              `json:"failedBy"`
	Verdict  ChallengeVerdict `json:"verdict"`
	// Reward is what the node earned for the epoch, commission included;
	// Commission the operator's part of it; Burned what it forfeited. All
	// in FROST; all 0 for an unproven epoch, whose fees carry over.
	Reward     uint64 `json:"reward"`
	Commission uint64 `json:"commission"`
	Burned     uint64 `json:"burned"`
}

// RegisterNodeArgs describes a node to register. Limits: MaxNodeNameLen,
// MaxNodeAddresses, MaxAddressLen; Commission ≤ MaxCommission. PeerID must
// be the libp2p peer ID of an Ed25519 key (ParsePeerID) that no other node
// has (ErrDuplicatePeerID).
type RegisterNodeArgs struct {
	Name      string       `json:"name"`
	PeerID    string       `json:"peerId"`
	Addresses []string     `json:"addresses"`
	PublicKey BLSPublicKey `json:"publicKey"`
	// ProofOfPossession is the node key's signature on
	// ProofOfPossessionMessage(current epoch, operator address, key).
	ProofOfPossession BLSSignature `json:"proofOfPossession"`
	// NetworkKeySignature is the network key's signature on
	// NetworkKeyMessage(current epoch, operator address, PeerID)
	// (SignNetworkKey): only the holder of a peer ID's key registers it.
	NetworkKeySignature []byte `json:"networkKeySignature"`
	Commission          uint16 `json:"commissionRate"`
	StoragePriceVote    uint64 `json:"storagePriceVote"`
	WritePriceVote      uint64 `json:"writePriceVote"`
	Capacity            uint64 `json:"nodeCapacity"`
}

// UpdateNodeArgs changes a node: nil fields stay as they are. A new public
// key needs its proof of possession and takes effect from the next committee;
// a new peer ID needs its network key's signature (as at registration); a
// new commission takes effect from the next epoch; the rest at once.
type UpdateNodeArgs struct {
	Name                *string       `json:"name,omitempty"`
	PeerID              *string       `json:"peerId,omitempty"`
	NetworkKeySignature []byte        `json:"networkKeySignature,omitempty"`
	Addresses           []string      `json:"addresses,omitempty"`
	PublicKey           *BLSPublicKey `json:"publicKey,omitempty"`
	ProofOfPossession   *BLSSignature `json:"proofOfPossession,omitempty"`
	Commission          *uint16       `json:"commissionRate,omitempty"`
	StoragePriceVote    *uint64       `json:"storagePriceVote,omitempty"`
	WritePriceVote      *uint64       `json:"writePriceVote,omitempty"`
	Capacity            *uint64       `json:"nodeCapacity,omitempty"`
}

// Limits of node metadata.
const (
	MaxNodeNameLen = 64
	// MaxPeerIDLen bounds a peer ID's text; an Ed25519 peer ID, the only
	// kind accepted, has 52 characters.
	MaxPeerIDLen     = 128
	MaxNodeAddresses = 8
	MaxAddressLen    = 256
	// MaxCommission is 100% in basis points.
	MaxCommission = 10_000
)

// StakeState is the state of a staked WAL object.
type StakeState uint8

// The states of staked WAL.
const (
	// StakeStaked: staked, pending until ActivationEpoch, then active.
	StakeStaked StakeState = 0
	// StakeWithdrawing: withdrawal requested; withdrawable from
	// WithdrawEpoch.
	StakeWithdrawing StakeState = 1
)

// String returns "staked" or "withdrawing".
func (s StakeState) String() string {
	switch s {
	case StakeStaked:
		return "staked"
	case StakeWithdrawing:
		return "withdrawing"
	}
	return fmt.Sprintf("StakeState(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s StakeState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *StakeState) UnmarshalText(b []byte) error {
	switch string(b) {
	case "staked":
		*s = StakeStaked
	case "withdrawing":
		*s = StakeWithdrawing
	default:
		return fmt.Errorf("%w: unknown stake state %q", ErrInvalidArgument, b)
	}
	return nil
}

// StakedWAL is WAL staked with a node's pool, as Walrus's StakedWal object.
type StakedWAL struct {
	ID     ObjectID `json:"id"`
	Owner  Address  `json:"owner"`
	NodeID NodeID   `json:"nodeId"`
	// Principal is the FROST staked.
	Principal       uint64     `json:"principal"`
	ActivationEpoch uint32     `json:"activationEpoch"`
	State           StakeState `json:"state"`
	// WithdrawEpoch is the first epoch the stake can be withdrawn in (set
	// when withdrawing).
	WithdrawEpoch uint32 `json:"withdrawEpoch,omitempty"`
	// Value is the stake's current worth, rewards included: its pool
	// shares at the pool's rate, or, once its withdrawal epoch has been
	// reached, the amount Withdraw pays.
	Value uint64 `json:"value"`
}

// StorageResource is storage space for a range of epochs [StartEpoch,
// EndEpoch): unattached, or attached to a blob object.
type StorageResource struct {
	ID         ObjectID `json:"id"`
	StartEpoch uint32   `json:"startEpoch"`
	EndEpoch   uint32   `json:"endEpoch"`
	// Size is in bytes of encoded length.
	Size uint64 `json:"storageSize"`
}

// BlobObject is a blob registered on chain, as Walrus's Blob object. Several
// objects may share a blob ID.
type BlobObject struct {
	ID     ObjectID        `json:"id"`
	BlobID encoding.BlobID `json:"blobId"`
	// Size is the unencoded length.
	Size            uint64                `json:"size"`
	EncodingType    encoding.EncodingType `json:"encodingType"`
	RegisteredEpoch uint32                `json:"registeredEpoch"`
	// CertifiedEpoch is the epoch of certification, nil until certified.
	CertifiedEpoch *uint32         `json:"certifiedEpoch"`
	Storage        StorageResource `json:"storage"`
	Deletable      bool            `json:"deletable"`
	Owner          Address         `json:"owner"`
}

// EndEpoch is the first epoch the blob is no longer stored in.
func (b BlobObject) EndEpoch() uint32 { return b.Storage.EndEpoch }

// IsCertified reports whether the blob object is certified.
func (b BlobObject) IsCertified() bool { return b.CertifiedEpoch != nil }

// RegisterBlobArgs describes a blob to register. The chain re-derives the
// blob ID from RootHash, Size and EncodingType.
type RegisterBlobArgs struct {
	BlobID       encoding.BlobID       `json:"blobId"`
	RootHash     encoding.Hash         `json:"rootHash"`
	Size         uint64                `json:"size"`
	EncodingType encoding.EncodingType `json:"encodingType"`
	// Epochs is how many epochs, from the current one, to store the blob
	// for. Ignored when Storage is set.
	Epochs    uint32 `json:"epochs"`
	Deletable bool   `json:"deletable"`
	// Owner receives the blob object; the zero address means the signer.
	Owner Address `json:"owner"`
	// Storage optionally names an unattached storage resource of the signer
	// to use instead of buying storage; only the write fee is paid then.
	Storage *ObjectID `json:"storage,omitempty"`
}

// TxReceipt describes an executed transaction.
type TxReceipt struct {
	Digest Digest `json:"digest"`
	// Height is the block (checkpoint) that holds the transaction.
	Height uint64 `json:"height"`
	Epoch  uint32 `json:"epoch"`
	// Events are the events the transaction emitted, in order.
	Events []Event `json:"events"`
}

// ReserveStorageResult is the outcome of ReserveStorage.
type ReserveStorageResult struct {
	Storage StorageResource `json:"storage"`
	Cost    uint64          `json:"cost"`
	Receipt TxReceipt       `json:"receipt"`
}

// RegisterBlobResult is the outcome of RegisterBlob.
type RegisterBlobResult struct {
	Blob BlobObject `json:"blobObject"`
	// Cost is the FROST paid: storage (unless a resource was used) and the
	// write fee.
	Cost    uint64    `json:"cost"`
	Receipt TxReceipt `json:"receipt"`
}

// CertifyBlobResult is the outcome of CertifyBlob.
type CertifyBlobResult struct {
	Blob    BlobObject `json:"blobObject"`
	Receipt TxReceipt  `json:"receipt"`
}

// DeleteBlobResult is the outcome of DeleteBlob.
type DeleteBlobResult struct {
	// Storage is the blob's storage resource, returned to the owner.
	Storage StorageResource `json:"storage"`
	Receipt TxReceipt       `json:"receipt"`
}

// ExtendBlobResult is the outcome of ExtendBlob.
type ExtendBlobResult struct {
	Blob    BlobObject `json:"blobObject"`
	Cost    uint64     `json:"cost"`
	Receipt TxReceipt  `json:"receipt"`
}

// Attestation is a committee member's verdict on the storage challenges of
// an epoch: Passed has bit i set when member i answered its challenges.
// Signature is the member's BLS signature on AttestationMessage(Epoch, Node,
// Passed).
type Attestation struct {
	Node      NodeID       `json:"nodeId"`
	Epoch     uint32       `json:"epoch"`
	Passed    Bitmap       `json:"passed"`
	Signature BLSSignature `json:"signature"`
}

// BlobStatusKind says what is known about a blob ID.
type BlobStatusKind uint8

// The kinds of blob status, as Walrus's BlobStatus variants.
const (
	BlobNonexistent BlobStatusKind = 0
	BlobInvalid     BlobStatusKind = 1
	BlobPermanent   BlobStatusKind = 2
	BlobDeletable   BlobStatusKind = 3
)

var statusNames = [...]string{"nonexistent", "invalid", "permanent", "deletable"}

// String returns the lower-case name of the kind.
func (k BlobStatusKind) String() string {
	if int(k) < len(statusNames) {
		return statusNames[k]
	}
	return fmt.Sprintf("BlobStatusKind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k BlobStatusKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *BlobStatusKind) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n == string(b) {
			*k = BlobStatusKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown blob status %q", ErrInvalidArgument, b)
}

// BlobStatus is the status of a blob ID aggregated over its live (not
// deleted, not expired) blob objects, as Walrus's BlobStatus:
//
//   - Nonexistent: no live object.
//   - Invalid: the blob ID was marked invalid; Event is that event.
//   - Permanent: at least one live permanent object. EndEpoch, IsCertified
//     and Event describe the "best" one: certified before uncertified,
//     then the latest end epoch; Event is its certification (or
//     registration) event.
//   - Deletable: only deletable live objects.
//
// InitialCertifiedEpoch is the earliest certification epoch among live
// objects, and Deletable counts the live deletable objects, for every kind
// but Invalid.
type BlobStatus struct {
	Kind                  BlobStatusKind  `json:"status"`
	EndEpoch              uint32          `json:"endEpoch,omitempty"`
	IsCertified           bool            `json:"isCertified,omitempty"`
	InitialCertifiedEpoch *uint32         `json:"initialCertifiedEpoch,omitempty"`
	Event                 *Cursor         `json:"event,omitempty"`
	Deletable             DeletableCounts `json:"deletableCounts"`
}

// DeletableCounts counts live deletable blob objects of a blob ID.
type DeletableCounts struct {
	Registered uint32 `json:"countDeletableTotal"`
	Certified  uint32 `json:"countDeletableCertified"`
}

// IsCertifiedUntil reports whether a permanent object of the blob is
// certified with an end epoch of at least end. Clients use it to
// de-duplicate stores.
func (s BlobStatus) IsCertifiedUntil(end uint32) bool {
	return s.Kind == BlobPermanent && s.IsCertified && s.EndEpoch >= end
}
