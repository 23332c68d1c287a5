package sui

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Defaults and limits of Config.
const (
	// DefaultGasBudget is the gas budget of a transaction, in MIST (0.1 SUI).
	DefaultGasBudget = 100_000_000
	// DefaultRequestTimeout bounds one JSON-RPC call.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultPollInterval is how often Events polls while it waits.
	DefaultPollInterval = time.Second
	// DefaultMaxResponseBytes bounds one JSON-RPC response.
	DefaultMaxResponseBytes = 16 << 20
	// MaxCoins is the most coins one transaction merges to pay (WAL) or
	// uses for gas (SUI); Sui allows 256 gas coins.
	MaxCoins = 200
	// MaxNodes bounds the staking pools Nodes reads.
	MaxNodes = 2000
	// MaxOwned bounds the objects of one type an owner-listing reads.
	MaxOwned = 10_000
	// MaxIndexedBlobs bounds the blob objects the BlobStatus index keeps.
	MaxIndexedBlobs = 1_000_000
	// MaxEventsPerCall bounds Events' limit (Sui pages are 50 events).
	MaxEventsPerCall = 1000
)

// Config selects a deployment of Walrus's Move package on a Sui network.
// The key that signs is not here: every chain.Chain method takes its
// chain.Signer (a client context's wallet, a node's operator key).
type Config struct {
	// RPCURL is the Sui full node's JSON-RPC endpoint.
	RPCURL string `yaml:"rpcUrl" json:"rpcUrl"`
	// Package is the Walrus package ID transactions call (the latest
	// version of the package).
	Package string `yaml:"package" json:"package"`
	// TypePackage is the package ID Move types and events are named by:
	// the package's first version. Empty means Package.
	TypePackage string `yaml:"typePackage,omitempty" json:"typePackage,omitempty"`
	// System and Staking are the IDs of the shared walrus::system::System
	// and walrus::staking::Staking objects.
	System  string `yaml:"system" json:"system"`
	Staking string `yaml:"staking" json:"staking"`
	// WALType is the coin type of WAL ("0x…::wal::WAL").
	WALType string `yaml:"walType" json:"walType"`
	// GasBudget is each transaction's budget in MIST.
	GasBudget uint64 `yaml:"gasBudget,omitempty" json:"gasBudget,omitempty"`
	// RequestTimeout bounds one JSON-RPC call; PollInterval paces Events
	// while it waits; MaxResponseBytes bounds one response.
	RequestTimeout   time.Duration `yaml:"requestTimeout,omitempty" json:"requestTimeout,omitempty"`
	PollInterval     time.Duration `yaml:"pollInterval,omitempty" json:"pollInterval,omitempty"`
	MaxResponseBytes int64         `yaml:"maxResponseBytes,omitempty" json:"maxResponseBytes,omitempty"`
	// HTTPClient, when set, makes the calls (tests).
	HTTPClient *http.Client `yaml:"-" json:"-"`
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.TypePackage == "" {
		c.TypePackage = c.Package
	}
	if c.GasBudget == 0 {
		c.GasBudget = DefaultGasBudget
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
}

// Validate checks the configuration (after EnsureDefaults).
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("sui config: %w: "+format, append([]any{chain.ErrInvalidArgument}, args...)...))
	}
	if u, err := url.Parse(c.RPCURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("rpcUrl %q is not an http(s) URL", c.RPCURL)
	}
	for name, v := range map[string]string{"package": c.Package, "typePackage": c.TypePackage, "system": c.System, "staking": c.Staking} {
		if _, err := chain.ParseObjectID(normalizeHex(v)); err != nil {
			bad("%s %q is not an object ID", name, v)
		}
	}
	if parts := strings.Split(c.WALType, "::"); len(parts) != 3 || parts[1] != "wal" || parts[2] != "WAL" {
		bad("walType %q is not <package>::wal::WAL", c.WALType)
	} else if _, err := chain.ParseObjectID(normalizeHex(parts[0])); err != nil {
		bad("walType %q: bad package", c.WALType)
	}
	return errors.Join(errs...)
}

// Chain is chain.Chain over Sui JSON-RPC and Walrus's Move package. It is
// safe for concurrent use.
type Chain struct {
	cfg      Config
	rpc      *rpcClient
	calls    calls
	typePkg  chain.ObjectID
	chainID  chain.Digest
	closed   chan struct{}
	closeOne sync.Once

	// txMu serializes a sender's transactions: its coins are read, spent
	// and changed by each.
	txMu sync.Mutex

	idxMu sync.Mutex
	idx   blobIndex
}

var _ chain.Chain = (*Chain)(nil)

// Open connects to the RPC and reads the System and Staking objects (their
// shared versions) and the chain identifier.
func Open(ctx context.Context, cfg Config) (*Chain, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.RequestTimeout}
	}
	c := &Chain{cfg: cfg, rpc: &rpcClient{url: cfg.RPCURL, hc: hc, maxResp: cfg.MaxResponseBytes}, closed: make(chan struct{})}
	c.calls.pkg, _ = chain.ParseObjectID(normalizeHex(cfg.Package))
	c.typePkg, _ = chain.ParseObjectID(normalizeHex(cfg.TypePackage))
	sysID, _ := chain.ParseObjectID(normalizeHex(cfg.System))
	stkID, _ := chain.ParseObjectID(normalizeHex(cfg.Staking))
	for _, s := range []struct {
		id  chain.ObjectID
		ref *sharedRef
		typ string
	}{{sysID, &c.calls.system, "::system::System"}, {stkID, &c.calls.staking, "::staking::Staking"}} {
		o, ok, err := c.rpc.getObject(ctx, s.id)
		if err != nil {
			return nil, err
		}
		if !ok || o.Shared == 0 || !strings.HasSuffix(o.Type, s.typ) {
			return nil, fmt.Errorf("sui: %s is not a shared %s object: %w", s.id, s.typ, chain.ErrNotFound)
		}
		*s.ref = sharedRef{ID: s.id, InitialSharedVersion: o.Shared}
	}
	var id string
	if err := c.rpc.call(ctx, &id, "sui_getChainIdentifier"); err != nil {
		return nil, err
	}
	copy(c.chainID[:], id)
	c.idx.init()
	return c, nil
}

// Close releases the backend.
func (c *Chain) Close() error {
	c.closeOne.Do(func() { close(c.closed) })
	return nil
}

func (c *Chain) check() error {
	select {
	case <-c.closed:
		return chain.ErrClosed
	default:
		return nil
	}
}

func (c *Chain) typeName(module, name string) string {
	return c.typePkg.String() + "::" + module + "::" + name
}

// ---- reads -----------------------------------------------------------------

// state is one consistent-enough read of the system and staking objects.
type state struct {
	system  SystemStateInnerV1
	staking StakingInnerV1
}

func (c *Chain) readState(ctx context.Context) (*state, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var st state
	for _, x := range []struct {
		id     chain.ObjectID
		decode func([]byte) error
	}{
		{c.calls.system.ID, func(b []byte) error {
			f, err := DecodeSystemInner(b)
			st.system = f.Value
			return err
		}},
		{c.calls.staking.ID, func(b []byte) error {
			f, err := DecodeStakingInner(b)
			st.staking = f.Value
			return err
		}},
	} {
		o, ok, err := c.rpc.getObject(ctx, x.id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("sui: object %s: %w", x.id, chain.ErrNotFound)
		}
		v, err := DecodeVersioned(o.BCS)
		if err != nil {
			return nil, err
		}
		f, ok, err := c.rpc.dynamicField(ctx, x.id, dynamicFieldName{Type: "u64", Value: strconv.FormatUint(v.Version, 10)})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("sui: inner state of %s (version %d): %w", x.id, v.Version, chain.ErrNotFound)
		}
		if err := x.decode(f.BCS); err != nil {
			return nil, err
		}
	}
	return &st, nil
}

func phaseOf(s EpochState) chain.EpochPhase {
	switch s.Kind {
	case StateEpochChangeSync:
		return chain.PhaseSyncing
	case StateNextParamsSelected:
		return chain.PhaseNextSelected
	}
	return chain.PhaseActive
}

// SystemState reads the system and staking objects. EpochStart is computed
// as first_epoch_start + (epoch − 1) × epoch_duration; TotalStake sums the
// current committee's pools; FaucetLimit is 0 (Sui has no faucet of ours).
func (c *Chain) SystemState(ctx context.Context) (chain.SystemState, error) {
	st, err := c.readState(ctx)
	if err != nil {
		return chain.SystemState{}, err
	}
	s := chain.SystemState{
		ChainID: c.chainID, Epoch: st.staking.Epoch, Phase: phaseOf(st.staking.EpochState), NShards: int(st.staking.NShards),
		StoragePrice: st.system.StoragePrice, WritePrice: st.system.WritePrice, UnitSize: chain.StorageUnitSize,
		EpochDuration:  time.Duration(st.staking.EpochDurationMs) * time.Millisecond,
		MaxEpochsAhead: st.system.AccountingLength,
	}
	if st.staking.Epoch > 0 {
		s.EpochStart = time.UnixMilli(int64(st.staking.FirstEpochStartMs)).Add(time.Duration(st.staking.Epoch-1) * s.EpochDuration).UTC()
	}
	pools, err := c.pools(ctx, st, entryIDs(st.staking.Committee))
	if err != nil {
		return s, err
	}
	for _, p := range pools {
		s.TotalStake += p.WalBalance + sumValues(p.PendingStake)
	}
	return s, nil
}

func entryIDs(es []CommitteeEntry) []chain.NodeID {
	ids := make([]chain.NodeID, len(es))
	for i, e := range es {
		ids[i] = e.NodeID
	}
	return ids
}

func sumValues(vs []EpochValue) uint64 {
	var s uint64
	for _, v := range vs {
		s += v.Value
	}
	return s
}

// pool reads a staking pool: a dynamic object field of the pools table.
func (c *Chain) pool(ctx context.Context, st *state, id chain.NodeID) (StakingPool, error) {
	o, ok, err := c.rpc.dynamicField(ctx, st.staking.PoolsID, dynamicFieldName{Type: "0x2::object::ID", Value: id.String()})
	if err != nil {
		return StakingPool{}, err
	}
	if !ok {
		return StakingPool{}, fmt.Errorf("sui: node %s: %w", id, chain.ErrUnknownNode)
	}
	p, err := DecodeStakingPool(o.BCS)
	if err != nil {
		return p, err
	}
	if p.ID != id {
		return p, fmt.Errorf("%w: pool %s read for node %s", ErrDecode, p.ID, id)
	}
	return p, nil
}

func (c *Chain) pools(ctx context.Context, st *state, ids []chain.NodeID) (map[chain.NodeID]StakingPool, error) {
	out := make(map[chain.NodeID]StakingPool, len(ids))
	for _, id := range ids {
		p, err := c.pool(ctx, st, id)
		if err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, nil
}

// Committee returns the current, previous or (once selected) next
// committee; Sui keeps no older ones (ErrNoCommittee). Members are in the
// package's order (by node ID), so bit i of a certificate is member i as
// bls_aggregate reads it. Public keys of the current committee come from
// the system's BlsCommittee; of the others, from the pools (the next
// committee's pending keys where set).
func (c *Chain) Committee(ctx context.Context, epoch uint32) (*chain.Committee, error) {
	st, err := c.readState(ctx)
	if err != nil {
		return nil, err
	}
	cur := st.staking.Epoch
	if epoch == 0 {
		epoch = cur
	}
	var entries []CommitteeEntry
	switch {
	case epoch == cur:
		entries = st.staking.Committee
	case epoch+1 == cur && len(st.staking.PreviousCommittee) > 0:
		entries = st.staking.PreviousCommittee
	case epoch == cur+1 && st.staking.HasNextCommittee:
		entries = st.staking.NextCommittee
	default:
		return nil, fmt.Errorf("sui: epoch %d (current %d): %w", epoch, cur, chain.ErrNoCommittee)
	}
	pools, err := c.pools(ctx, st, entryIDs(entries))
	if err != nil {
		return nil, err
	}
	com := &chain.Committee{Epoch: epoch, NShards: int(st.staking.NShards)}
	for _, e := range entries {
		p := pools[e.NodeID]
		key := p.NodeInfo.PublicKey
		if epoch == cur {
			for _, m := range st.system.Committee.Members {
				if m.NodeID == e.NodeID {
					key = m.PublicKey
				}
			}
		} else if epoch == cur+1 && p.NodeInfo.NextEpochPublicKey != nil {
			key = p.NodeInfo.NextEpochPublicKey
		}
		m := chain.Member{NodeID: e.NodeID, Name: p.NodeInfo.Name, Shards: slices.Clone(e.Shards), Stake: p.WalBalance}
		if epoch == cur+1 {
			// The next committee was selected with the stake active then.
			for _, v := range p.PendingStake {
				if v.Epoch <= epoch {
					m.Stake += v.Value
				}
			}
		}
		if len(key) != chain.BLSPublicKeySize {
			return nil, fmt.Errorf("%w: node %s has a %d-byte public key", ErrDecode, e.NodeID, len(key))
		}
		copy(m.PublicKey[:], key)
		if m.PeerID, m.Addresses, err = DecodeNetworkRecord(p.NodeInfo.NetworkAddress, p.NodeInfo.NetworkPublicKey); err != nil {
			return nil, fmt.Errorf("node %s: %w", e.NodeID, err)
		}
		slices.Sort(m.Shards)
		com.Members = append(com.Members, m)
	}
	if err := com.Validate(); err != nil {
		return nil, fmt.Errorf("%w: committee of epoch %d: %v", ErrDecode, epoch, err)
	}
	return com, nil
}

func nodeInfo(p StakingPool) (chain.NodeInfo, error) {
	n := chain.NodeInfo{
		ID: p.ID, Name: p.NodeInfo.Name, Commission: p.CommissionRate, NextCommission: p.CommissionRate,
		StoragePriceVote: p.StoragePriceVote, WritePriceVote: p.WritePriceVote, Capacity: p.NodeCapacity,
		Stake: p.WalBalance, PendingStake: sumValues(p.PendingStake), RegisteredEpoch: p.ActivationEpoch,
	}
	if !p.GovernanceAuthorized.IsObject {
		n.Operator = p.GovernanceAuthorized.ID
	}
	if k := len(p.PendingCommission); k > 0 {
		n.NextCommission = uint16(p.PendingCommission[k-1].Value)
	}
	if len(p.NodeInfo.PublicKey) != chain.BLSPublicKeySize {
		return n, fmt.Errorf("%w: node %s public key of %d bytes", ErrDecode, p.ID, len(p.NodeInfo.PublicKey))
	}
	copy(n.PublicKey[:], p.NodeInfo.PublicKey)
	if k := p.NodeInfo.NextEpochPublicKey; k != nil {
		if len(k) != chain.BLSPublicKeySize {
			return n, fmt.Errorf("%w: node %s next public key of %d bytes", ErrDecode, p.ID, len(k))
		}
		var nk chain.BLSPublicKey
		copy(nk[:], k)
		n.NextPublicKey = &nk
	}
	var err error
	n.PeerID, n.Addresses, err = DecodeNetworkRecord(p.NodeInfo.NetworkAddress, p.NodeInfo.NetworkPublicKey)
	return n, err
}

// Node reads a node's staking pool.
func (c *Chain) Node(ctx context.Context, id chain.NodeID) (chain.NodeInfo, error) {
	st, err := c.readState(ctx)
	if err != nil {
		return chain.NodeInfo{}, err
	}
	p, err := c.pool(ctx, st, id)
	if err != nil {
		return chain.NodeInfo{}, err
	}
	return nodeInfo(p)
}

// Nodes reads every staking pool (at most MaxNodes), ordered by ID.
func (c *Chain) Nodes(ctx context.Context) ([]chain.NodeInfo, error) {
	st, err := c.readState(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := c.rpc.dynamicFieldIDs(ctx, st.staking.PoolsID, MaxNodes)
	if err != nil {
		return nil, err
	}
	objs, err := c.rpc.multiGet(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []chain.NodeInfo
	for _, o := range objs {
		p, err := DecodeStakingPool(o.BCS)
		if err != nil {
			return nil, err
		}
		n, err := nodeInfo(p)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b chain.NodeInfo) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return out, nil
}

func blobObject(o object) (chain.BlobObject, error) {
	b, err := DecodeBlob(o.BCS)
	if err != nil {
		return chain.BlobObject{}, err
	}
	if b.ID != o.Ref.ID {
		return chain.BlobObject{}, fmt.Errorf("%w: blob %s read for object %s", ErrDecode, b.ID, o.Ref.ID)
	}
	return chain.BlobObject{
		ID: b.ID, BlobID: encoding.BlobID(b.BlobID), Size: b.Size, EncodingType: encoding.EncodingType(b.EncodingType),
		RegisteredEpoch: b.RegisteredEpoch, CertifiedEpoch: b.CertifiedEpoch, Deletable: b.Deletable, Owner: o.Owner,
		Storage: storageResource(b.Storage),
	}, nil
}

func storageResource(s Storage) chain.StorageResource {
	return chain.StorageResource{ID: s.ID, StartEpoch: s.StartEpoch, EndEpoch: s.EndEpoch, Size: s.Size}
}

// BlobObject reads a Blob object.
func (c *Chain) BlobObject(ctx context.Context, id chain.ObjectID) (chain.BlobObject, error) {
	if err := c.check(); err != nil {
		return chain.BlobObject{}, err
	}
	o, ok, err := c.rpc.getObject(ctx, id)
	if err != nil {
		return chain.BlobObject{}, err
	}
	if !ok || !strings.HasSuffix(o.Type, "::blob::Blob") {
		return chain.BlobObject{}, fmt.Errorf("sui: blob object %s: %w", id, chain.ErrNotFound)
	}
	return blobObject(o)
}

// BlobObjects lists the Blob objects an address owns.
func (c *Chain) BlobObjects(ctx context.Context, owner chain.Address) ([]chain.BlobObject, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	objs, err := c.rpc.ownedObjects(ctx, owner, c.typeName("blob", "Blob"), MaxOwned)
	if err != nil {
		return nil, err
	}
	out := make([]chain.BlobObject, 0, len(objs))
	for _, o := range objs {
		b, err := blobObject(o)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b chain.BlobObject) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return out, nil
}

// StorageResources lists the Storage objects an address owns.
func (c *Chain) StorageResources(ctx context.Context, owner chain.Address) ([]chain.StorageResource, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	objs, err := c.rpc.ownedObjects(ctx, owner, c.typeName("storage_resource", "Storage"), MaxOwned)
	if err != nil {
		return nil, err
	}
	out := make([]chain.StorageResource, 0, len(objs))
	for _, o := range objs {
		s, err := DecodeStorage(o.BCS)
		if err != nil {
			return nil, err
		}
		out = append(out, storageResource(s))
	}
	slices.SortFunc(out, func(a, b chain.StorageResource) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return out, nil
}

// Balance returns the address's total WAL.
func (c *Chain) Balance(ctx context.Context, addr chain.Address) (uint64, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	return c.rpc.balance(ctx, addr, c.cfg.WALType)
}

// StakedWAL lists the StakedWal objects an address owns. Value is the
// principal: the rewards accrued are not computed by this backend.
func (c *Chain) StakedWAL(ctx context.Context, owner chain.Address) ([]chain.StakedWAL, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	objs, err := c.rpc.ownedObjects(ctx, owner, c.typeName("staked_wal", "StakedWal"), MaxOwned)
	if err != nil {
		return nil, err
	}
	out := make([]chain.StakedWAL, 0, len(objs))
	for _, o := range objs {
		s, err := DecodeStakedWal(o.BCS)
		if err != nil {
			return nil, err
		}
		out = append(out, stakedWAL(s, o.Owner))
	}
	slices.SortFunc(out, func(a, b chain.StakedWAL) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return out, nil
}

func stakedWAL(s StakedWal, owner chain.Address) chain.StakedWAL {
	w := chain.StakedWAL{ID: s.ID, Owner: owner, NodeID: s.NodeID, Principal: s.Principal, ActivationEpoch: s.ActivationEpoch, Value: s.Principal}
	if s.Withdrawing {
		w.State, w.WithdrawEpoch = chain.StakeWithdrawing, s.WithdrawEpoch
	}
	return w
}

// EpochSeed is not available: storage challenges are ours (DESIGN.md §7),
// not in Walrus's package.
func (c *Chain) EpochSeed(ctx context.Context, epoch uint32) (chain.Seed, error) {
	return chain.Seed{}, notAvailable("epoch seeds for storage challenges")
}

// RequestWAL is not available: WAL on Sui comes from its treasury, not
// from a faucet of ours.
func (c *Chain) RequestWAL(ctx context.Context, s chain.Signer, amount uint64) (chain.TxReceipt, error) {
	return chain.TxReceipt{}, fmt.Errorf("sui: %w", chain.ErrFaucetDisabled)
}

// SubmitAttestation is not available: storage-challenge attestations are
// ours, not in Walrus's package.
func (c *Chain) SubmitAttestation(ctx context.Context, s chain.Signer, att chain.Attestation) (chain.TxReceipt, error) {
	return chain.TxReceipt{}, notAvailable("storage-challenge attestations")
}

// NodeHistory is not available yet: challenge verdicts are ours, and the
// per-epoch rewards of a pool would be read from its exchange rates.
func (c *Chain) NodeHistory(ctx context.Context, id chain.NodeID) ([]chain.NodeEpoch, error) {
	return nil, notAvailable("node histories")
}

// ed25519Signer checks a signer can sign Sui transactions.
func checkSigner(s chain.Signer) error {
	if len(s.PublicKey()) != ed25519.PublicKeySize || chain.AddressOf(s.PublicKey()) != s.Address() {
		return fmt.Errorf("sui: signer's address is not its Ed25519 key's: %w", chain.ErrBadSignature)
	}
	return nil
}
