package clienttest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Prices of the test chain, in FROST per MiB of encoded length.
const (
	StoragePrice = 100
	WritePrice   = 20
	// FaucetLimit is what one RequestWAL may mint.
	FaucetLimit = 1000 * chain.FrostPerWAL
	// MaxEpochsAhead bounds storage purchases, as on Walrus mainnet.
	MaxEpochsAhead = 53
)

// Chain is an in-memory chain.Chain for tests: the system state, one
// committee, blob objects with Walrus's rules (registration paid from a
// balance, certification only with a valid quorum certificate of the
// current epoch, deletion by the owner of deletable blobs, extension of
// certified ones), balances with a faucet, and staked WAL. It is the chain
// boundary of the client's tests, not a chain: there are no blocks and no
// event stream. Methods it does not implement panic.
//
// It is safe for concurrent use.
type Chain struct {
	chain.Chain // nil: the methods not implemented here panic

	mu        sync.Mutex
	epoch     uint32
	nShards   int
	committee *chain.Committee
	nodes     []chain.NodeInfo
	blobs     map[chain.ObjectID]*chain.BlobObject
	events    map[chain.ObjectID]chain.Cursor // certification events
	balances  map[chain.Address]uint64
	staked    map[chain.ObjectID]*chain.StakedWAL
	seq       uint64
	closed    bool

	// Hooks for tests.
	RegisterHook func(chain.RegisterBlobArgs) error // if set and it fails, RegisterBlob fails
	CertifyHook  func(chain.ObjectID) error         // if set and it fails, CertifyBlob fails
	// Calls counts transactions by name.
	calls map[string]int
}

func newChain(com *chain.Committee, nodes []chain.NodeInfo) *Chain {
	return &Chain{epoch: com.Epoch, nShards: com.NShards, committee: com, nodes: nodes,
		blobs: map[chain.ObjectID]*chain.BlobObject{}, events: map[chain.ObjectID]chain.Cursor{},
		balances: map[chain.Address]uint64{}, staked: map[chain.ObjectID]*chain.StakedWAL{}, calls: map[string]int{}}
}

// Calls returns how many times the named transaction ran successfully
// ("RegisterBlob", "CertifyBlob", ...).
func (c *Chain) Calls(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[name]
}

// Epoch returns the current epoch.
func (c *Chain) Epoch() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// AdvanceEpoch moves to the next epoch with the same members and shards.
func (c *Chain) AdvanceEpoch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	com := c.committee.Clone()
	com.Epoch = c.epoch
	c.committee = com
}

// Fund credits an address.
func (c *Chain) Fund(a chain.Address, amount uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.balances[a] += amount
}

// Blobs returns every blob object, ordered by ID.
func (c *Chain) Blobs() []chain.BlobObject {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []chain.BlobObject
	for _, b := range c.blobs {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b chain.BlobObject) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// registration reports whether a live object of blob id exists, and
// whether one is certified.
func (c *Chain) registration(id encoding.BlobID) (registered, certified bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.blobs {
		if b.BlobID == id && b.EndEpoch() > c.epoch {
			registered = true
			certified = certified || b.IsCertified()
		}
	}
	return registered, certified
}

// registered reports whether a live object of blob id exists (and, if
// obj is set, whether it is that object): what a node checks before it
// confirms.
func (c *Chain) registered(id encoding.BlobID, obj *[32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.blobs {
		if b.BlobID == id && b.EndEpoch() > c.epoch && (obj == nil || b.ID == chain.ObjectID(*obj)) {
			return true
		}
	}
	return false
}

func (c *Chain) check() error {
	if c.closed {
		return chain.ErrClosed
	}
	return nil
}

func (c *Chain) newID() chain.ObjectID {
	c.seq++
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], c.seq)
	return chain.ObjectID(blake2b.Sum256(b[:]))
}

func (c *Chain) state() chain.SystemState {
	return chain.SystemState{Epoch: c.epoch, Phase: chain.PhaseActive, NShards: c.nShards, StoragePrice: StoragePrice,
		WritePrice: WritePrice, UnitSize: chain.StorageUnitSize, MaxEpochsAhead: MaxEpochsAhead, FaucetLimit: FaucetLimit}
}

// SystemState implements chain.Chain. EpochDuration is 0: epochs change
// only with AdvanceEpoch.
func (c *Chain) SystemState(ctx context.Context) (chain.SystemState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state(), c.check()
}

// Committee implements chain.Chain.
func (c *Chain) Committee(ctx context.Context, epoch uint32) (*chain.Committee, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return nil, err
	}
	if epoch != 0 && epoch != c.epoch {
		return nil, fmt.Errorf("%w: %d", chain.ErrNoCommittee, epoch)
	}
	return c.committee.Clone(), nil
}

// Nodes implements chain.Chain.
func (c *Chain) Nodes(ctx context.Context) ([]chain.NodeInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes), c.check()
}

// BlobStatus implements chain.Chain.
func (c *Chain) BlobStatus(ctx context.Context, id encoding.BlobID) (chain.BlobStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return chain.BlobStatus{}, err
	}
	var st chain.BlobStatus
	var best *chain.BlobObject
	for _, b := range c.blobs {
		if b.BlobID != id || b.EndEpoch() <= c.epoch {
			continue
		}
		if b.CertifiedEpoch != nil && (st.InitialCertifiedEpoch == nil || *b.CertifiedEpoch < *st.InitialCertifiedEpoch) {
			e := *b.CertifiedEpoch
			st.InitialCertifiedEpoch = &e
		}
		if b.Deletable {
			st.Deletable.Registered++
			if b.IsCertified() {
				st.Deletable.Certified++
			}
			if st.Kind == chain.BlobNonexistent {
				st.Kind = chain.BlobDeletable
			}
			continue
		}
		st.Kind = chain.BlobPermanent
		if best == nil || (b.IsCertified() && !best.IsCertified()) ||
			(b.IsCertified() == best.IsCertified() && b.EndEpoch() > best.EndEpoch()) {
			best = b
		}
	}
	if best != nil {
		st.EndEpoch, st.IsCertified = best.EndEpoch(), best.IsCertified()
		if ev, ok := c.events[best.ID]; ok {
			st.Event = &ev
		}
	}
	return st, nil
}

// BlobObject implements chain.Chain.
func (c *Chain) BlobObject(ctx context.Context, id chain.ObjectID) (chain.BlobObject, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return chain.BlobObject{}, err
	}
	b, ok := c.blobs[id]
	if !ok {
		return chain.BlobObject{}, fmt.Errorf("%w: blob object %s", chain.ErrNotFound, id)
	}
	return *b, nil
}

// BlobObjects implements chain.Chain.
func (c *Chain) BlobObjects(ctx context.Context, owner chain.Address) ([]chain.BlobObject, error) {
	var out []chain.BlobObject
	for _, b := range c.Blobs() {
		if b.Owner == owner {
			out = append(out, b)
		}
	}
	return out, nil
}

// Balance implements chain.Chain.
func (c *Chain) Balance(ctx context.Context, a chain.Address) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.balances[a], c.check()
}

func signerOK(s chain.Signer) error {
	msg := []byte("clienttest")
	if !ed25519.Verify(s.PublicKey(), msg, s.Sign(msg)) || chain.AddressOf(s.PublicKey()) != s.Address() {
		return chain.ErrBadSignature
	}
	return nil
}

// RequestWAL implements chain.Chain.
func (c *Chain) RequestWAL(ctx context.Context, s chain.Signer, amount uint64) (chain.TxReceipt, error) {
	if err := signerOK(s); err != nil {
		return chain.TxReceipt{}, err
	}
	if amount == 0 || amount > FaucetLimit {
		return chain.TxReceipt{}, fmt.Errorf("%w: %d FROST", chain.ErrFaucetLimit, amount)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.balances[s.Address()] += amount
	c.calls["RequestWAL"]++
	return chain.TxReceipt{Epoch: c.epoch}, nil
}

// RegisterBlob implements chain.Chain.
func (c *Chain) RegisterBlob(ctx context.Context, s chain.Signer, args chain.RegisterBlobArgs) (chain.RegisterBlobResult, error) {
	if err := signerOK(s); err != nil {
		return chain.RegisterBlobResult{}, err
	}
	if c.RegisterHook != nil {
		if err := c.RegisterHook(args); err != nil {
			return chain.RegisterBlobResult{}, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(); err != nil {
		return chain.RegisterBlobResult{}, err
	}
	if encoding.ComputeBlobID(args.EncodingType, args.Size, args.RootHash) != args.BlobID {
		return chain.RegisterBlobResult{}, chain.ErrBlobIDMismatch
	}
	if args.Epochs == 0 || args.Epochs > MaxEpochsAhead {
		return chain.RegisterBlobResult{}, fmt.Errorf("%w: %d", chain.ErrTooManyEpochs, args.Epochs)
	}
	st := c.state()
	cost, err := st.RegisterCost(args.Size, args.Epochs)
	if err != nil {
		return chain.RegisterBlobResult{}, err
	}
	if bal := c.balances[s.Address()]; bal < cost {
		return chain.RegisterBlobResult{}, &chain.InsufficientBalanceError{Address: s.Address(), Balance: bal, Need: cost}
	}
	p, _ := st.Params()
	encLen, _ := p.EncodedLength(args.Size)
	c.balances[s.Address()] -= cost
	owner := args.Owner
	if owner.IsZero() {
		owner = s.Address()
	}
	b := &chain.BlobObject{ID: c.newID(), BlobID: args.BlobID, Size: args.Size, EncodingType: args.EncodingType,
		RegisteredEpoch: c.epoch, Deletable: args.Deletable, Owner: owner,
		Storage: chain.StorageResource{ID: c.newID(), StartEpoch: c.epoch, EndEpoch: c.epoch + args.Epochs, Size: encLen}}
	c.blobs[b.ID] = b
	c.calls["RegisterBlob"]++
	return chain.RegisterBlobResult{Blob: *b, Cost: cost, Receipt: chain.TxReceipt{Epoch: c.epoch}}, nil
}

// CertifyBlob implements chain.Chain: the certificate must verify at
// quorum against the current committee and certify this blob (and object,
// for a deletable blob).
func (c *Chain) CertifyBlob(ctx context.Context, s chain.Signer, id chain.ObjectID, cert *chain.Certificate) (chain.CertifyBlobResult, error) {
	if err := signerOK(s); err != nil {
		return chain.CertifyBlobResult{}, err
	}
	if c.CertifyHook != nil {
		if err := c.CertifyHook(id); err != nil {
			return chain.CertifyBlobResult{}, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[id]
	if !ok {
		return chain.CertifyBlobResult{}, chain.ErrNotFound
	}
	if b.IsCertified() {
		return chain.CertifyBlobResult{}, chain.ErrAlreadyCertified
	}
	if _, err := cert.Verify(c.committee, chain.Quorum); err != nil {
		return chain.CertifyBlobResult{}, err
	}
	bc, err := chain.ParseBlobCertification(cert.Message)
	if err != nil {
		return chain.CertifyBlobResult{}, fmt.Errorf("%w: %w", chain.ErrInvalidCertificate, err)
	}
	if bc.BlobID != b.BlobID || bc.Deletable != b.Deletable || (b.Deletable && bc.ObjectID != b.ID) {
		return chain.CertifyBlobResult{}, fmt.Errorf("%w: the certificate is for another blob", chain.ErrInvalidCertificate)
	}
	e := c.epoch
	b.CertifiedEpoch = &e
	c.seq++
	c.events[b.ID] = chain.Cursor{Seq: c.seq}
	c.calls["CertifyBlob"]++
	return chain.CertifyBlobResult{Blob: *b, Receipt: chain.TxReceipt{Epoch: c.epoch}}, nil
}

// DeleteBlob implements chain.Chain.
func (c *Chain) DeleteBlob(ctx context.Context, s chain.Signer, id chain.ObjectID) (chain.DeleteBlobResult, error) {
	if err := signerOK(s); err != nil {
		return chain.DeleteBlobResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[id]
	switch {
	case !ok:
		return chain.DeleteBlobResult{}, chain.ErrNotFound
	case b.Owner != s.Address():
		return chain.DeleteBlobResult{}, chain.ErrNotOwner
	case !b.Deletable:
		return chain.DeleteBlobResult{}, chain.ErrNotDeletable
	case b.EndEpoch() <= c.epoch:
		return chain.DeleteBlobResult{}, chain.ErrBlobExpired
	}
	delete(c.blobs, id)
	c.calls["DeleteBlob"]++
	return chain.DeleteBlobResult{Storage: b.Storage, Receipt: chain.TxReceipt{Epoch: c.epoch}}, nil
}

// ExtendBlob implements chain.Chain.
func (c *Chain) ExtendBlob(ctx context.Context, s chain.Signer, id chain.ObjectID, epochs uint32) (chain.ExtendBlobResult, error) {
	if err := signerOK(s); err != nil {
		return chain.ExtendBlobResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[id]
	switch {
	case !ok:
		return chain.ExtendBlobResult{}, chain.ErrNotFound
	case b.Owner != s.Address():
		return chain.ExtendBlobResult{}, chain.ErrNotOwner
	case !b.IsCertified():
		return chain.ExtendBlobResult{}, chain.ErrNotCertified
	case epochs == 0 || b.Storage.EndEpoch+epochs > c.epoch+MaxEpochsAhead:
		return chain.ExtendBlobResult{}, chain.ErrTooManyEpochs
	}
	cost, err := c.state().StorageCost(b.Storage.Size, epochs)
	if err != nil {
		return chain.ExtendBlobResult{}, err
	}
	if bal := c.balances[s.Address()]; bal < cost {
		return chain.ExtendBlobResult{}, &chain.InsufficientBalanceError{Address: s.Address(), Balance: bal, Need: cost}
	}
	c.balances[s.Address()] -= cost
	b.Storage.EndEpoch += epochs
	c.calls["ExtendBlob"]++
	return chain.ExtendBlobResult{Blob: *b, Cost: cost, Receipt: chain.TxReceipt{Epoch: c.epoch}}, nil
}

// Stake implements chain.Chain: the stake activates next epoch.
func (c *Chain) Stake(ctx context.Context, s chain.Signer, node chain.NodeID, amount uint64) (chain.StakedWAL, error) {
	if err := signerOK(s); err != nil {
		return chain.StakedWAL{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.ContainsFunc(c.nodes, func(n chain.NodeInfo) bool { return n.ID == node }) {
		return chain.StakedWAL{}, chain.ErrUnknownNode
	}
	if amount == 0 {
		return chain.StakedWAL{}, chain.ErrInvalidArgument
	}
	if bal := c.balances[s.Address()]; bal < amount {
		return chain.StakedWAL{}, &chain.InsufficientBalanceError{Address: s.Address(), Balance: bal, Need: amount}
	}
	c.balances[s.Address()] -= amount
	sw := &chain.StakedWAL{ID: c.newID(), Owner: s.Address(), NodeID: node, Principal: amount, ActivationEpoch: c.epoch + 1, Value: amount}
	c.staked[sw.ID] = sw
	c.calls["Stake"]++
	return *sw, nil
}

// StakedWAL implements chain.Chain.
func (c *Chain) StakedWAL(ctx context.Context, owner chain.Address) ([]chain.StakedWAL, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []chain.StakedWAL
	for _, sw := range c.staked {
		if sw.Owner == owner {
			out = append(out, *sw)
		}
	}
	slices.SortFunc(out, func(a, b chain.StakedWAL) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out, nil
}

// RequestWithdrawal implements chain.Chain.
func (c *Chain) RequestWithdrawal(ctx context.Context, s chain.Signer, id chain.ObjectID) (chain.StakedWAL, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sw, ok := c.staked[id]
	switch {
	case !ok:
		return chain.StakedWAL{}, chain.ErrNotFound
	case sw.Owner != s.Address():
		return chain.StakedWAL{}, chain.ErrNotOwner
	case sw.ActivationEpoch > c.epoch:
		return chain.StakedWAL{}, chain.ErrStakeNotActive
	case sw.State == chain.StakeWithdrawing:
		return chain.StakedWAL{}, chain.ErrAlreadyWithdrawing
	}
	sw.State, sw.WithdrawEpoch = chain.StakeWithdrawing, c.epoch+1
	return *sw, nil
}

// Withdraw implements chain.Chain.
func (c *Chain) Withdraw(ctx context.Context, s chain.Signer, id chain.ObjectID) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sw, ok := c.staked[id]
	switch {
	case !ok:
		return 0, chain.ErrNotFound
	case sw.Owner != s.Address():
		return 0, chain.ErrNotOwner
	case sw.State != chain.StakeWithdrawing:
		return 0, chain.ErrNotWithdrawing
	case sw.WithdrawEpoch > c.epoch:
		return 0, chain.ErrTooEarly
	}
	delete(c.staked, id)
	c.balances[sw.Owner] += sw.Value
	return sw.Value, nil
}

// Close implements chain.Chain.
func (c *Chain) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}
