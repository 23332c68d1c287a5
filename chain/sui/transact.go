package sui

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/block-vision/sui-go-sdk/models"

	"github.com/walrus-go/walrus/chain"
)

// SUIType is the coin type gas is paid in.
const SUIType = "0x2::sui::SUI"

// selectCoins picks coins, largest first, until they hold need (at most
// MaxCoins). It returns *chain.InsufficientBalanceError when they cannot.
func selectCoins(coins []coin, need uint64, owner chain.Address) ([]ObjectRef, error) {
	coins = slices.Clone(coins)
	slices.SortStableFunc(coins, func(a, b coin) int { return cmp.Compare(b.Balance, a.Balance) })
	var refs []ObjectRef
	var sum uint64
	for _, c := range coins {
		if sum >= need && len(refs) > 0 {
			break
		}
		if len(refs) == MaxCoins {
			break
		}
		refs = append(refs, c.Ref)
		sum += c.Balance
	}
	if sum < need || len(refs) == 0 {
		return nil, &chain.InsufficientBalanceError{Address: owner, Balance: sum, Need: need}
	}
	return refs, nil
}

// walCoins selects the signer's WAL coins to pay need FROST.
func (c *Chain) walCoins(ctx context.Context, owner chain.Address, need uint64) ([]ObjectRef, error) {
	coins, err := c.rpc.coins(ctx, owner, c.cfg.WALType, 10*MaxCoins)
	if err != nil {
		return nil, err
	}
	return selectCoins(coins, need, owner)
}

// executed is the outcome of a transaction.
type executed struct {
	receipt chain.TxReceipt
	created []models.ObjectChange
}

// createdOf returns the IDs of created objects whose type ends in suffix.
func (x *executed) createdOf(suffix string) []chain.ObjectID {
	var out []chain.ObjectID
	for _, oc := range x.created {
		if strings.HasSuffix(oc.ObjectType, suffix) {
			if id, err := chain.ParseObjectID(normalizeHex(oc.ObjectId)); err == nil {
				out = append(out, id)
			}
		}
	}
	return out
}

// execute selects gas, signs the transaction and executes it, waiting for
// local execution. A failed execution returns its mapped error.
func (c *Chain) execute(ctx context.Context, s chain.Signer, b *builder) (*executed, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := checkSigner(s); err != nil {
		return nil, err
	}
	sender := s.Address()
	price, err := c.rpc.gasPrice(ctx)
	if err != nil {
		return nil, err
	}
	gasCoins, err := c.rpc.coins(ctx, sender, SUIType, 10*MaxCoins)
	if err != nil {
		return nil, err
	}
	// Gas coins must not also be inputs.
	gasCoins = slices.DeleteFunc(gasCoins, func(g coin) bool { _, used := b.objects[g.Ref.ID]; return used })
	payment, err := selectCoins(gasCoins, c.cfg.GasBudget, sender)
	if err != nil {
		return nil, fmt.Errorf("sui: gas: %w", err)
	}
	txb, err := b.txBytes(sender, Gas{Payment: payment, Price: price, Budget: c.cfg.GasBudget})
	if err != nil {
		return nil, err
	}
	digest := TxDigest(txb)
	sig := Sign(s, txb)
	switch n := len(s.Sign(nil)); {
	case n == 0:
		return nil, fmt.Errorf("sui: %w", chain.ErrUnsigned)
	case n != ed25519.SignatureSize:
		return nil, fmt.Errorf("sui: signature of %d bytes: %w", n, chain.ErrBadSignature)
	}
	var r executeResponse
	opts := map[string]bool{"showEffects": true, "showEvents": true, "showObjectChanges": true}
	if err := c.rpc.call(ctx, &r, "sui_executeTransactionBlock", encodeB64(txb), []string{sig}, opts, "WaitForLocalExecution"); err != nil {
		return nil, err
	}
	if r.Digest != DigestString(digest) {
		return nil, fmt.Errorf("sui: executed digest %s, signed %s: %w", r.Digest, DigestString(digest), chain.ErrUnavailable)
	}
	if r.Effects.Status.Status != "success" {
		return nil, ExecutionError(r.Effects.Status.Error)
	}
	x := &executed{receipt: chain.TxReceipt{Digest: digest}}
	if h, err := strconv.ParseUint(r.Checkpoint, 10, 64); err == nil {
		x.receipt.Height = h
	}
	for _, ev := range r.Events {
		e, ok, err := c.convert(ev)
		if err != nil {
			return nil, err
		}
		if ok {
			e.Cursor = chain.Cursor{Token: cursorToken(ev.ID)}
			x.receipt.Events = append(x.receipt.Events, e)
		}
	}
	for _, oc := range r.ObjectChanges {
		if oc.Type == "created" {
			x.created = append(x.created, oc)
		}
	}
	return x, nil
}

// receiptEpoch fills the receipt's Walrus epoch.
func (c *Chain) receiptEpoch(ctx context.Context, r *chain.TxReceipt) {
	if st, err := c.readState(ctx); err == nil {
		r.Epoch = st.staking.Epoch
	}
}

// ownedRef reads an object's current reference, checking the owner.
func (c *Chain) ownedRef(ctx context.Context, id chain.ObjectID, owner chain.Address, suffix string) (object, error) {
	o, ok, err := c.rpc.getObject(ctx, id)
	if err != nil {
		return o, err
	}
	if !ok || !strings.HasSuffix(o.Type, suffix) {
		return o, fmt.Errorf("sui: object %s: %w", id, chain.ErrNotFound)
	}
	if o.Owner != owner {
		return o, fmt.Errorf("sui: object %s is not owned by %s: %w", id, owner, chain.ErrNotOwner)
	}
	return o, nil
}

// nodeCap finds the StorageNodeCap of node owned by the signer.
func (c *Chain) nodeCap(ctx context.Context, owner chain.Address, node chain.NodeID) (ObjectRef, error) {
	objs, err := c.rpc.ownedObjects(ctx, owner, c.typeName("storage_node", "StorageNodeCap"), MaxOwned)
	if err != nil {
		return ObjectRef{}, err
	}
	for _, o := range objs {
		cp, err := DecodeStorageNodeCap(o.BCS)
		if err != nil {
			return ObjectRef{}, err
		}
		if cp.NodeID == node {
			return o.Ref, nil
		}
	}
	if _, err := c.Node(ctx, node); err != nil {
		return ObjectRef{}, err
	}
	return ObjectRef{}, fmt.Errorf("sui: %s holds no StorageNodeCap of node %s: %w", owner, node, chain.ErrNotOwner)
}

// TransferWAL splits amount off the signer's WAL coins and sends it.
func (c *Chain) TransferWAL(ctx context.Context, s chain.Signer, to chain.Address, amount uint64) (chain.TxReceipt, error) {
	if amount == 0 || to.IsZero() {
		return chain.TxReceipt{}, fmt.Errorf("%w: transfer of %d to %s", chain.ErrInvalidArgument, amount, to)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	coins, err := c.walCoins(ctx, s.Address(), amount)
	if err != nil {
		return chain.TxReceipt{}, err
	}
	x, err := c.execute(ctx, s, transferWAL(coins, amount, to))
	if err != nil {
		return chain.TxReceipt{}, err
	}
	c.receiptEpoch(ctx, &x.receipt)
	return x.receipt, nil
}

// ReserveStorage calls system::reserve_space.
func (c *Chain) ReserveStorage(ctx context.Context, s chain.Signer, size uint64, epochs uint32) (chain.ReserveStorageResult, error) {
	sys, err := c.SystemState(ctx)
	if err != nil {
		return chain.ReserveStorageResult{}, err
	}
	cost, err := sys.StorageCost(size, epochs)
	if err != nil {
		return chain.ReserveStorageResult{}, err
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	coins, err := c.walCoins(ctx, s.Address(), cost)
	if err != nil {
		return chain.ReserveStorageResult{}, err
	}
	x, err := c.execute(ctx, s, c.calls.reserveSpace(coins, size, epochs, s.Address()))
	if err != nil {
		return chain.ReserveStorageResult{}, err
	}
	out := chain.ReserveStorageResult{Cost: cost, Receipt: x.receipt}
	out.Receipt.Epoch = sys.Epoch
	ids := x.createdOf("::storage_resource::Storage")
	if len(ids) != 1 {
		return out, fmt.Errorf("sui: reserve_space created %d Storage objects: %w", len(ids), chain.ErrUnavailable)
	}
	o, _, err := c.rpc.getObject(ctx, ids[0])
	if err != nil {
		return out, err
	}
	st, err := DecodeStorage(o.BCS)
	if err != nil {
		return out, err
	}
	out.Storage = storageResource(st)
	return out, nil
}

// RegisterBlob reserves storage (or uses args.Storage) and registers the
// blob in one transaction, paying storage and the write fee from the
// signer's WAL.
func (c *Chain) RegisterBlob(ctx context.Context, s chain.Signer, args chain.RegisterBlobArgs) (chain.RegisterBlobResult, error) {
	sys, err := c.SystemState(ctx)
	if err != nil {
		return chain.RegisterBlobResult{}, err
	}
	p, err := sys.Params()
	if err != nil {
		return chain.RegisterBlobResult{}, err
	}
	enc, err := p.EncodedLength(args.Size)
	if err != nil {
		return chain.RegisterBlobResult{}, fmt.Errorf("%w: %v", chain.ErrBlobTooLarge, err)
	}
	cost, err := sys.WriteCost(enc)
	if err != nil {
		return chain.RegisterBlobResult{}, err
	}
	var storage *ObjectRef
	if args.Storage != nil {
		o, err := c.ownedRef(ctx, *args.Storage, s.Address(), "::storage_resource::Storage")
		if err != nil {
			return chain.RegisterBlobResult{}, err
		}
		storage = &o.Ref
	} else {
		if cost, err = sys.RegisterCost(args.Size, args.Epochs); err != nil {
			return chain.RegisterBlobResult{}, err
		}
	}
	owner := args.Owner
	if owner.IsZero() {
		owner = s.Address()
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	coins, err := c.walCoins(ctx, s.Address(), cost)
	if err != nil {
		return chain.RegisterBlobResult{}, err
	}
	ba := blobArgs{BlobID: args.BlobID, RootHash: args.RootHash, Size: args.Size, EncodingType: uint8(args.EncodingType), Deletable: args.Deletable}
	x, err := c.execute(ctx, s, c.calls.registerBlob(coins, storage, enc, args.Epochs, ba, owner))
	if err != nil {
		return chain.RegisterBlobResult{}, err
	}
	out := chain.RegisterBlobResult{Cost: cost, Receipt: x.receipt}
	out.Receipt.Epoch = sys.Epoch
	ids := x.createdOf("::blob::Blob")
	if len(ids) != 1 {
		return out, fmt.Errorf("sui: register_blob created %d Blob objects: %w", len(ids), chain.ErrUnavailable)
	}
	out.Blob, err = c.BlobObject(ctx, ids[0])
	return out, err
}

// CertifyBlob calls system::certify_blob with the certificate's signature,
// bitmap and message (our format is Walrus's).
func (c *Chain) CertifyBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, cert *chain.Certificate) (chain.CertifyBlobResult, error) {
	if cert == nil {
		return chain.CertifyBlobResult{}, fmt.Errorf("%w: no certificate", chain.ErrInvalidCertificate)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	o, ok, err := c.rpc.getObject(ctx, blob)
	if err != nil {
		return chain.CertifyBlobResult{}, err
	}
	if !ok || !strings.HasSuffix(o.Type, "::blob::Blob") {
		return chain.CertifyBlobResult{}, fmt.Errorf("sui: blob object %s: %w", blob, chain.ErrNotFound)
	}
	if o.Owner != s.Address() {
		// Sui lets only an owned object's owner pass it by &mut.
		return chain.CertifyBlobResult{}, fmt.Errorf("sui: blob object %s is owned by %s; only its owner can certify it on Sui: %w", blob, o.Owner, chain.ErrNotOwner)
	}
	x, err := c.execute(ctx, s, c.calls.certifyBlob(o.Ref, cert))
	if err != nil {
		return chain.CertifyBlobResult{}, err
	}
	out := chain.CertifyBlobResult{Receipt: x.receipt}
	c.receiptEpoch(ctx, &out.Receipt)
	out.Blob, err = c.BlobObject(ctx, blob)
	return out, err
}

// DeleteBlob calls system::delete_blob; the storage goes back to the signer.
func (c *Chain) DeleteBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID) (chain.DeleteBlobResult, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	o, err := c.ownedRef(ctx, blob, s.Address(), "::blob::Blob")
	if err != nil {
		return chain.DeleteBlobResult{}, err
	}
	b, err := DecodeBlob(o.BCS)
	if err != nil {
		return chain.DeleteBlobResult{}, err
	}
	x, err := c.execute(ctx, s, c.calls.deleteBlob(o.Ref, s.Address()))
	if err != nil {
		return chain.DeleteBlobResult{}, err
	}
	out := chain.DeleteBlobResult{Storage: storageResource(b.Storage), Receipt: x.receipt}
	c.receiptEpoch(ctx, &out.Receipt)
	return out, nil
}

// ExtendBlob calls system::extend_blob, paying from the signer's WAL.
func (c *Chain) ExtendBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, epochs uint32) (chain.ExtendBlobResult, error) {
	sys, err := c.SystemState(ctx)
	if err != nil {
		return chain.ExtendBlobResult{}, err
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	o, err := c.ownedRef(ctx, blob, s.Address(), "::blob::Blob")
	if err != nil {
		return chain.ExtendBlobResult{}, err
	}
	b, err := DecodeBlob(o.BCS)
	if err != nil {
		return chain.ExtendBlobResult{}, err
	}
	cost, err := sys.StorageCost(b.Storage.Size, epochs)
	if err != nil {
		return chain.ExtendBlobResult{}, err
	}
	coins, err := c.walCoins(ctx, s.Address(), cost)
	if err != nil {
		return chain.ExtendBlobResult{}, err
	}
	x, err := c.execute(ctx, s, c.calls.extendBlob(o.Ref, coins, epochs))
	if err != nil {
		return chain.ExtendBlobResult{}, err
	}
	out := chain.ExtendBlobResult{Cost: cost, Receipt: x.receipt}
	out.Receipt.Epoch = sys.Epoch
	out.Blob, err = c.BlobObject(ctx, blob)
	return out, err
}

// InvalidateBlob calls system::invalidate_blob_id.
func (c *Chain) InvalidateBlob(ctx context.Context, s chain.Signer, cert *chain.Certificate) (chain.TxReceipt, error) {
	if cert == nil {
		return chain.TxReceipt{}, fmt.Errorf("%w: no certificate", chain.ErrInvalidCertificate)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	x, err := c.execute(ctx, s, c.calls.invalidateBlobID(cert))
	if err != nil {
		return chain.TxReceipt{}, err
	}
	c.receiptEpoch(ctx, &x.receipt)
	return x.receipt, nil
}

// RegisterNode calls staking::register_candidate; the StorageNodeCap goes
// to the signer, which then operates the node.
func (c *Chain) RegisterNode(ctx context.Context, s chain.Signer, args chain.RegisterNodeArgs) (chain.NodeInfo, error) {
	if len(args.Name) > MaxNodeNameLen {
		return chain.NodeInfo{}, fmt.Errorf("%w: name of %d bytes, the package allows %d", chain.ErrInvalidArgument, len(args.Name), MaxNodeNameLen)
	}
	na, nk, err := EncodeNetworkRecord(args.PeerID, args.Addresses)
	if err != nil {
		return chain.NodeInfo{}, err
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	x, err := c.execute(ctx, s, c.calls.registerCandidate(candidate{
		Name: args.Name, NetworkAddress: na, PublicKey: args.PublicKey[:], NetworkPublicKey: nk, Proof: args.ProofOfPossession[:],
		Commission: args.Commission, StoragePrice: args.StoragePriceVote, WritePrice: args.WritePriceVote, Capacity: args.Capacity,
	}, s.Address()))
	if err != nil {
		return chain.NodeInfo{}, err
	}
	caps := x.createdOf("::storage_node::StorageNodeCap")
	if len(caps) != 1 {
		return chain.NodeInfo{}, fmt.Errorf("sui: register_candidate created %d caps: %w", len(caps), chain.ErrUnavailable)
	}
	o, _, err := c.rpc.getObject(ctx, caps[0])
	if err != nil {
		return chain.NodeInfo{}, err
	}
	cp, err := DecodeStorageNodeCap(o.BCS)
	if err != nil {
		return chain.NodeInfo{}, err
	}
	return c.Node(ctx, cp.NodeID)
}

// UpdateNode calls the staking setters for the changed fields with the
// signer's StorageNodeCap.
func (c *Chain) UpdateNode(ctx context.Context, s chain.Signer, id chain.NodeID, args chain.UpdateNodeArgs) (chain.NodeInfo, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	cp, err := c.nodeCap(ctx, s.Address(), id)
	if err != nil {
		return chain.NodeInfo{}, err
	}
	var u nodeUpdate
	u.Name, u.Commission, u.StoragePrice, u.WritePrice, u.Capacity = args.Name, args.Commission, args.StoragePriceVote, args.WritePriceVote, args.Capacity
	if args.PeerID != nil || args.Addresses != nil {
		cur, err := c.Node(ctx, id)
		if err != nil {
			return chain.NodeInfo{}, err
		}
		peer, addrs := cur.PeerID, cur.Addresses
		if args.PeerID != nil {
			peer = *args.PeerID
		}
		if args.Addresses != nil {
			addrs = args.Addresses
		}
		na, nk, err := EncodeNetworkRecord(peer, addrs)
		if err != nil {
			return chain.NodeInfo{}, err
		}
		u.NetworkAddress = &na
		if args.PeerID != nil {
			u.NetworkPublicKey = nk
		}
	}
	if args.PublicKey != nil {
		if args.ProofOfPossession == nil {
			return chain.NodeInfo{}, fmt.Errorf("%w: a new public key needs its proof of possession", chain.ErrInvalidProofOfPossession)
		}
		u.PublicKey, u.Proof = args.PublicKey[:], args.ProofOfPossession[:]
	}
	if _, err := c.execute(ctx, s, c.calls.updateNode(cp, u)); err != nil {
		return chain.NodeInfo{}, err
	}
	return c.Node(ctx, id)
}

// Stake splits amount off the signer's WAL and calls
// staking::stake_with_pool.
func (c *Chain) Stake(ctx context.Context, s chain.Signer, node chain.NodeID, amount uint64) (chain.StakedWAL, error) {
	if amount == 0 {
		return chain.StakedWAL{}, fmt.Errorf("%w: zero stake", chain.ErrInvalidArgument)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	coins, err := c.walCoins(ctx, s.Address(), amount)
	if err != nil {
		return chain.StakedWAL{}, err
	}
	x, err := c.execute(ctx, s, c.calls.stakeWithPool(coins, amount, node, s.Address()))
	if err != nil {
		return chain.StakedWAL{}, err
	}
	ids := x.createdOf("::staked_wal::StakedWal")
	if len(ids) != 1 {
		return chain.StakedWAL{}, fmt.Errorf("sui: stake_with_pool created %d StakedWal: %w", len(ids), chain.ErrUnavailable)
	}
	return c.stakedWAL(ctx, ids[0])
}

func (c *Chain) stakedWAL(ctx context.Context, id chain.ObjectID) (chain.StakedWAL, error) {
	o, ok, err := c.rpc.getObject(ctx, id)
	if err != nil {
		return chain.StakedWAL{}, err
	}
	if !ok {
		return chain.StakedWAL{}, fmt.Errorf("sui: staked WAL %s: %w", id, chain.ErrNotFound)
	}
	sw, err := DecodeStakedWal(o.BCS)
	if err != nil {
		return chain.StakedWAL{}, err
	}
	return stakedWAL(sw, o.Owner), nil
}

// RequestWithdrawal calls staking::request_withdraw_stake.
func (c *Chain) RequestWithdrawal(ctx context.Context, s chain.Signer, staked chain.ObjectID) (chain.StakedWAL, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	o, err := c.ownedRef(ctx, staked, s.Address(), "::staked_wal::StakedWal")
	if err != nil {
		return chain.StakedWAL{}, err
	}
	if _, err := c.execute(ctx, s, c.calls.requestWithdrawStake(o.Ref)); err != nil {
		return chain.StakedWAL{}, err
	}
	return c.stakedWAL(ctx, staked)
}

// Withdraw calls staking::withdraw_stake and returns the WAL paid: the
// created coin's balance.
func (c *Chain) Withdraw(ctx context.Context, s chain.Signer, staked chain.ObjectID) (uint64, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	o, err := c.ownedRef(ctx, staked, s.Address(), "::staked_wal::StakedWal")
	if err != nil {
		return 0, err
	}
	x, err := c.execute(ctx, s, c.calls.withdrawStake(o.Ref, s.Address()))
	if err != nil {
		return 0, err
	}
	return c.createdCoinValue(ctx, x)
}

// createdCoinValue reads the balance of the WAL coin a transaction created.
func (c *Chain) createdCoinValue(ctx context.Context, x *executed) (uint64, error) {
	ids := x.createdOf("::coin::Coin<" + c.cfg.WALType + ">")
	if len(ids) != 1 {
		return 0, fmt.Errorf("sui: %d WAL coins created: %w", len(ids), chain.ErrUnavailable)
	}
	o, ok, err := c.rpc.getObject(ctx, ids[0])
	if err != nil || !ok {
		return 0, fmt.Errorf("sui: created coin %s: %w", ids[0], chain.ErrUnavailable)
	}
	// Coin<T> is { id: UID, balance: Balance<T> { value: u64 } }.
	r := newReader(o.BCS)
	r.addr()
	v := r.u64()
	return v, r.done("Coin")
}

// CollectCommission calls staking::collect_commission with the signer's
// StorageNodeCap and returns the WAL paid.
func (c *Chain) CollectCommission(ctx context.Context, s chain.Signer, node chain.NodeID) (uint64, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	cp, err := c.nodeCap(ctx, s.Address(), node)
	if err != nil {
		return 0, err
	}
	x, err := c.execute(ctx, s, c.calls.collectCommission(cp, node, s.Address()))
	if err != nil {
		return 0, err
	}
	return c.createdCoinValue(ctx, x)
}

// EpochSyncDone calls staking::epoch_sync_done with the node's cap.
func (c *Chain) EpochSyncDone(ctx context.Context, s chain.Signer, node chain.NodeID, epoch uint32) (chain.TxReceipt, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	cp, err := c.nodeCap(ctx, s.Address(), node)
	if err != nil {
		return chain.TxReceipt{}, err
	}
	x, err := c.execute(ctx, s, c.calls.epochSyncDone(cp, epoch))
	if err != nil {
		return chain.TxReceipt{}, err
	}
	x.receipt.Epoch = epoch
	return x.receipt, nil
}
