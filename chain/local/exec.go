package local

import (
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// MaxNodes bounds the registered nodes: registration is free, so this keeps
// a local chain's state small.
const MaxNodes = 10_000

// txResult is what executing a transaction yields; the HTTP server sends it
// as JSON.
type txResult struct {
	Receipt chain.TxReceipt        `json:"receipt"`
	Node    *chain.NodeInfo        `json:"node,omitempty"`
	Staked  *chain.StakedWAL       `json:"staked,omitempty"`
	Amount  uint64                 `json:"amount,omitempty"`
	Cost    uint64                 `json:"cost,omitempty"`
	Storage *chain.StorageResource `json:"storage,omitempty"`
	Blob    *chain.BlobObject      `json:"blob,omitempty"`
	Shared  *chain.SharedBlob      `json:"shared,omitempty"`
}

// beginBlock starts a block: it sets the height and time, forgets executed
// digests past their expiry, and runs the time-driven transitions.
func (s *state) beginBlock(height, timeMs uint64, randomness [32]byte) {
	s.height = height
	s.timeMs = max(s.timeMs, timeMs)
	s.txDigest, s.txIndex = chain.Digest{}, 0
	s.events = nil
	for _, sec := range sortedKeys(s.recentBySec) {
		if sec*1000+999 >= s.timeMs {
			break
		}
		for _, d := range s.recentBySec[sec] {
			if s.recent[d] <= s.timeMs {
				delete(s.recent, d)
			}
		}
		delete(s.recentBySec, sec)
	}
	s.advanceTime(randomness)
}

// endBlock completes the header of the block being built, whose
// transactions had the given digests and outcomes, and returns its hash.
func (s *state) endBlock(b *Block, txs []txEntry) chain.Digest {
	b.Header.TxRoot = txRoot(txs)
	b.Header.EventsRoot = eventsRoot(s.events)
	s.lastHash = b.Header.Hash()
	return s.lastHash
}

// applyTx executes one transaction, with digest d, of the block being
// built. The caller has checked its signature (SignedTx.verify); the log
// replayed at Open need not be checked again. inBlock reports whether the
// transaction belongs in the block: it does when it passed the expiry and
// duplicate checks, whether it then succeeded or failed. A transaction that
// fails changes nothing but the digests remembered: once in a block, its
// digest is remembered until its expiry, as a successful one's.
func (s *state) applyTx(st *SignedTx, d chain.Digest) (res txResult, inBlock bool, err error) {
	tx := &st.Tx
	if tx.Expiry <= s.timeMs {
		return txResult{}, false, fmt.Errorf("%w: expiry %d is not after the block time %d", chain.ErrTxExpired, tx.Expiry, s.timeMs)
	}
	if tx.Expiry > s.timeMs+uint64(MaxTxTTL/time.Millisecond) {
		return txResult{}, false, fmt.Errorf("%w: expiry %d is more than %v after the block time %d", chain.ErrTxExpired, tx.Expiry, MaxTxTTL, s.timeMs)
	}
	if _, dup := s.recent[d]; dup {
		return txResult{}, false, fmt.Errorf("%w: %s", chain.ErrDuplicateTx, d)
	}
	s.recent[d] = tx.Expiry
	s.recentBySec[tx.Expiry/1000] = append(s.recentBySec[tx.Expiry/1000], d)
	s.txDigest, s.txIndex = d, 0
	evStart, seqStart := len(s.events), s.eventSeq
	res, err = s.dispatch(tx)
	if err != nil {
		// Handlers check before they change anything; events are the
		// only thing to undo should one emit before failing.
		s.events, s.eventSeq = s.events[:evStart], seqStart
		return txResult{}, true, err
	}
	res.Receipt = chain.TxReceipt{Digest: d, Height: s.height, Epoch: s.epoch, Events: slices.Clone(s.events[evStart:])}
	return res, true, nil
}

func (s *state) dispatch(tx *Tx) (txResult, error) {
	c, from := &tx.Call, tx.Sender
	switch {
	case c.RequestWAL != nil:
		return s.requestWAL(from, c.RequestWAL)
	case c.TransferWAL != nil:
		return s.transferWAL(from, c.TransferWAL)
	case c.RegisterNode != nil:
		return s.registerNode(from, &c.RegisterNode.Args)
	case c.UpdateNode != nil:
		return s.updateNode(from, c.UpdateNode)
	case c.Stake != nil:
		return s.stake(from, c.Stake)
	case c.RequestWithdrawal != nil:
		return s.requestWithdrawal(from, c.RequestWithdrawal)
	case c.Withdraw != nil:
		return s.withdraw(from, c.Withdraw)
	case c.ReserveStorage != nil:
		return s.reserveStorage(from, c.ReserveStorage)
	case c.RegisterBlob != nil:
		return s.registerBlob(from, c.RegisterBlob)
	case c.CertifyBlob != nil:
		return s.certifyBlob(c.CertifyBlob)
	case c.DeleteBlob != nil:
		return s.deleteBlob(from, c.DeleteBlob)
	case c.ExtendBlob != nil:
		return s.extendBlob(from, c.ExtendBlob)
	case c.InvalidateBlob != nil:
		return s.invalidateBlob(c.InvalidateBlob)
	case c.SubmitAttestation != nil:
		return s.submitAttestation(from, c.SubmitAttestation)
	case c.EpochSyncDone != nil:
		return s.epochSyncDone(from, c.EpochSyncDone)
	case c.CollectCommission != nil:
		return s.collectCommission(from, c.CollectCommission)
	case c.SetBlobAttribute != nil:
		return s.setBlobAttribute(from, c.SetBlobAttribute)
	case c.RemoveBlobAttributePairs != nil:
		return s.removeBlobAttributePairs(from, c.RemoveBlobAttributePairs)
	case c.RemoveBlobAttribute != nil:
		return s.removeBlobAttribute(from, c.RemoveBlobAttribute)
	case c.ShareBlob != nil:
		return s.shareBlob(from, c.ShareBlob)
	case c.FundSharedBlob != nil:
		return s.fundSharedBlob(from, c.FundSharedBlob)
	case c.ExtendSharedBlob != nil:
		return s.extendSharedBlob(from, c.ExtendSharedBlob)
	}
	return txResult{}, fmt.Errorf("%w: transaction without a call", chain.ErrInvalidArgument)
}

// ---- WAL ---------------------------------------------------------------

// requestWAL mints from the faucet: within what the account may still get
// and what the pool has left.
func (s *state) requestWAL(from chain.Address, c *RequestWALCall) (txResult, error) {
	f := s.p.faucet
	mine := s.faucetBy[from]
	switch {
	case f.Total == 0:
		return txResult{}, chain.ErrFaucetDisabled
	case c.Amount == 0:
		return txResult{}, fmt.Errorf("%w: zero amount", chain.ErrInvalidArgument)
	case c.Amount > f.PerAccount-mine:
		return txResult{}, fmt.Errorf("%w: %d FROST requested; %s may get %d in all and got %d", chain.ErrFaucetLimit, c.Amount, from, f.PerAccount, mine)
	case c.Amount > f.Total-s.faucetMinted:
		return txResult{}, fmt.Errorf("%w: %d FROST requested; the faucet has %d left", chain.ErrFaucetLimit, c.Amount, f.Total-s.faucetMinted)
	case s.minted+c.Amount < s.minted || s.balances[from]+c.Amount < c.Amount:
		return txResult{}, fmt.Errorf("%w: WAL supply would overflow", chain.ErrTooLarge)
	}
	s.credit(from, c.Amount)
	s.minted += c.Amount
	s.faucetMinted += c.Amount
	s.faucetBy[from] = mine + c.Amount
	return txResult{Amount: c.Amount}, nil
}

func (s *state) transferWAL(from chain.Address, c *TransferWALCall) (txResult, error) {
	if c.Amount == 0 || c.To.IsZero() {
		return txResult{}, fmt.Errorf("%w: transfer needs a recipient and a positive amount", chain.ErrInvalidArgument)
	}
	if err := s.canPay(from, c.Amount); err != nil {
		return txResult{}, err
	}
	s.pay(from, c.Amount)
	s.credit(c.To, c.Amount)
	return txResult{Amount: c.Amount}, nil
}

// ---- nodes and staking -------------------------------------------------

func (s *state) registerNode(from chain.Address, a *chain.RegisterNodeArgs) (txResult, error) {
	if err := checkNodeMeta(a.Name, a.PeerID, a.Addresses, a.Commission); err != nil {
		return txResult{}, fmt.Errorf("%w: %v", chain.ErrInvalidArgument, err)
	}
	if len(s.nodes) >= MaxNodes {
		return txResult{}, fmt.Errorf("%w: %d nodes registered already", chain.ErrTooLarge, MaxNodes)
	}
	if err := s.checkNewKey(from, a.PublicKey, a.ProofOfPossession); err != nil {
		return txResult{}, err
	}
	if err := s.checkNewPeer(from, a.PeerID, a.NetworkKeySignature, chain.ObjectID{}); err != nil {
		return txResult{}, err
	}
	id := s.newObjectID()
	n := &nodeRec{
		info: chain.NodeInfo{
			ID: id, Operator: from, Name: a.Name, PeerID: a.PeerID, Addresses: slices.Clone(a.Addresses),
			PublicKey: a.PublicKey, Commission: a.Commission, NextCommission: a.Commission,
			StoragePriceVote: a.StoragePriceVote, WritePriceVote: a.WritePriceVote, Capacity: a.Capacity,
			RegisteredEpoch: s.epoch,
		},
		pending: map[uint32]uint64{}, activating: map[uint32][]chain.ObjectID{}, withdrawing: map[uint32][]chain.ObjectID{},
	}
	if n.info.StoragePriceVote == 0 {
		n.info.StoragePriceVote = s.storagePrice
	}
	if n.info.WritePriceVote == 0 {
		n.info.WritePriceVote = s.writePrice
	}
	if n.info.Capacity == 0 {
		n.info.Capacity = DefaultCapacity
	}
	s.nodes[id] = n
	s.keys[a.PublicKey] = id
	s.peers[a.PeerID] = id
	s.emit(chain.Event{Kind: chain.EventNodeRegistered, NodeID: id, Owner: from})
	info, _ := s.nodeInfo(id)
	return txResult{Node: &info}, nil
}

// checkNewKey checks a key to register: valid, not registered, with a
// proof of possession for the sender and the current epoch.
func (s *state) checkNewKey(from chain.Address, pk chain.BLSPublicKey, pop chain.BLSSignature) error {
	if _, dup := s.keys[pk]; dup {
		return fmt.Errorf("%w: %s", chain.ErrDuplicateKey, pk)
	}
	if err := pk.Validate(); err != nil {
		return fmt.Errorf("%w: %w", chain.ErrInvalidArgument, err)
	}
	return chain.VerifyProofOfPossession(pk, s.epoch, from, pop)
}

// checkNewPeer checks a peer ID to register for node self (zero for a new
// node): an Ed25519 peer ID (checkNodeMeta parsed it) that no other node
// has, with its network key's signature for the sender and the current
// epoch.
func (s *state) checkNewPeer(from chain.Address, peerID string, sig []byte, self chain.NodeID) error {
	if other, dup := s.peers[peerID]; dup && other != self {
		return fmt.Errorf("%w: %s is node %s's", chain.ErrDuplicatePeerID, peerID, other)
	}
	return chain.VerifyNetworkKeySignature(peerID, s.epoch, from, sig)
}

// operated returns a node the sender operates.
func (s *state) operated(from chain.Address, id chain.NodeID) (*nodeRec, error) {
	n, ok := s.nodes[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", chain.ErrUnknownNode, id)
	}
	if n.info.Operator != from {
		return nil, fmt.Errorf("%w: %s does not operate node %s", chain.ErrNotOwner, from, id)
	}
	return n, nil
}

func (s *state) updateNode(from chain.Address, c *UpdateNodeCall) (txResult, error) {
	n, err := s.operated(from, c.Node)
	if err != nil {
		return txResult{}, err
	}
	info := n.info
	if c.Name != nil {
		info.Name = *c.Name
	}
	if c.PeerID != nil {
		info.PeerID = *c.PeerID
	}
	if c.Addresses != nil {
		info.Addresses = slices.Clone(*c.Addresses)
	}
	commission := info.NextCommission
	if c.Commission != nil {
		commission = *c.Commission
	}
	if err := checkNodeMeta(info.Name, info.PeerID, info.Addresses, commission); err != nil {
		return txResult{}, fmt.Errorf("%w: %v", chain.ErrInvalidArgument, err)
	}
	newPeer := c.PeerID != nil && *c.PeerID != n.info.PeerID
	if newPeer {
		var sig []byte
		if c.NetworkKeySig != nil {
			sig = *c.NetworkKeySig
		}
		if err := s.checkNewPeer(from, info.PeerID, sig, c.Node); err != nil {
			return txResult{}, err
		}
	}
	if c.PublicKey != nil {
		if c.ProofOfPossession == nil {
			return txResult{}, fmt.Errorf("%w: a new public key needs its proof of possession", chain.ErrInvalidProofOfPossession)
		}
		if err := s.checkNewKey(from, *c.PublicKey, *c.ProofOfPossession); err != nil {
			return txResult{}, err
		}
	}
	// Checks done; apply.
	if newPeer {
		delete(s.peers, n.info.PeerID)
		s.peers[info.PeerID] = c.Node
	}
	if c.PublicKey != nil {
		if info.NextPublicKey != nil {
			delete(s.keys, *info.NextPublicKey)
		}
		k := *c.PublicKey
		info.NextPublicKey = &k
		s.keys[k] = c.Node
	}
	info.NextCommission = commission
	if c.StoragePriceVote != nil {
		info.StoragePriceVote = *c.StoragePriceVote
	}
	if c.WritePriceVote != nil {
		info.WritePriceVote = *c.WritePriceVote
	}
	if c.Capacity != nil {
		info.Capacity = *c.Capacity
	}
	n.info = info
	s.emit(chain.Event{Kind: chain.EventNodeUpdated, NodeID: c.Node, Owner: from})
	out, _ := s.nodeInfo(c.Node)
	return txResult{Node: &out}, nil
}

// nextActivation is the first epoch that stake added or withdrawn now takes
// effect in: the next one, or the one after once the next committee is
// selected.
func (s *state) nextActivation() uint32 {
	if s.phase == chain.PhaseNextSelected {
		return s.epoch + 2
	}
	return s.epoch + 1
}

func (s *state) stake(from chain.Address, c *StakeCall) (txResult, error) {
	n, ok := s.nodes[c.Node]
	if !ok {
		return txResult{}, fmt.Errorf("%w: staking with %s", chain.ErrUnknownNode, c.Node)
	}
	if c.Amount < s.p.minStake {
		return txResult{}, fmt.Errorf("%w: stake of %d FROST, minimum %d", chain.ErrInvalidArgument, c.Amount, s.p.minStake)
	}
	if err := s.canPay(from, c.Amount); err != nil {
		return txResult{}, err
	}
	a := s.nextActivation()
	s.pay(from, c.Amount)
	n.pending[a] += c.Amount
	id := s.newObjectID()
	n.activating[a] = append(n.activating[a], id)
	r := &stakedRec{obj: chain.StakedWAL{ID: id, Owner: from, NodeID: c.Node, Principal: c.Amount, ActivationEpoch: a, State: chain.StakeStaked}}
	s.staked[id] = r
	s.own(from).staked[id] = struct{}{}
	s.emit(chain.Event{Kind: chain.EventStaked, ObjectID: id, NodeID: c.Node, Amount: c.Amount, Owner: from, NextEpoch: a})
	v := s.stakedValue(r)
	return txResult{Staked: &v}, nil
}

// ownedStake returns a staked WAL object the sender owns.
func (s *state) ownedStake(from chain.Address, id chain.ObjectID) (*stakedRec, error) {
	r, ok := s.staked[id]
	if !ok {
		return nil, fmt.Errorf("%w: staked WAL %s", chain.ErrNotFound, id)
	}
	if r.obj.Owner != from {
		return nil, fmt.Errorf("%w: staked WAL %s", chain.ErrNotOwner, id)
	}
	return r, nil
}

func (s *state) requestWithdrawal(from chain.Address, c *RequestWithdrawalCall) (txResult, error) {
	r, err := s.ownedStake(from, c.Staked)
	if err != nil {
		return txResult{}, err
	}
	if r.obj.State == chain.StakeWithdrawing {
		return txResult{}, fmt.Errorf("%w: withdrawable from epoch %d", chain.ErrAlreadyWithdrawing, r.obj.WithdrawEpoch)
	}
	w := s.nextActivation()
	if a := r.obj.ActivationEpoch; a > s.epoch {
		// Pending: withdrawable at once unless the committee of its
		// activation epoch counted it; then it leaves the epoch after.
		if !s.counted(r) {
			return txResult{}, fmt.Errorf("%w: activates in epoch %d, now %d; withdraw it at once", chain.ErrStakeNotActive, a, s.epoch)
		}
		w = a + 1
	}
	n := s.nodes[r.obj.NodeID]
	r.obj.State, r.obj.WithdrawEpoch = chain.StakeWithdrawing, w
	n.withdrawing[w] = append(n.withdrawing[w], c.Staked)
	s.emit(chain.Event{Kind: chain.EventWithdrawalRequested, ObjectID: c.Staked, NodeID: r.obj.NodeID, Owner: from, NextEpoch: w})
	v := s.stakedValue(r)
	return txResult{Staked: &v}, nil
}

func (s *state) withdraw(from chain.Address, c *WithdrawCall) (txResult, error) {
	r, err := s.ownedStake(from, c.Staked)
	if err != nil {
		return txResult{}, err
	}
	if r.obj.State == chain.StakeStaked && r.obj.ActivationEpoch > s.epoch && !s.counted(r) {
		return s.withdrawPending(from, r)
	}
	if r.obj.State != chain.StakeWithdrawing {
		return txResult{}, fmt.Errorf("%w: request the withdrawal of %s first", chain.ErrNotWithdrawing, c.Staked)
	}
	if !r.settled {
		return txResult{}, fmt.Errorf("%w: withdrawable from epoch %d, now %d", chain.ErrTooEarly, r.obj.WithdrawEpoch, s.epoch)
	}
	s.credit(from, r.withdrawable)
	delete(s.staked, c.Staked)
	delete(s.own(from).staked, c.Staked)
	s.emit(chain.Event{Kind: chain.EventWithdrawn, ObjectID: c.Staked, NodeID: r.obj.NodeID, Amount: r.withdrawable, Owner: from})
	return txResult{Amount: r.withdrawable}, nil
}

// counted reports whether pending stake is counted by a selected committee:
// that of its activation epoch, with its node a member.
func (s *state) counted(r *stakedRec) bool {
	com := s.committees[r.obj.ActivationEpoch]
	if com == nil {
		return false
	}
	_, in := com.Index(r.obj.NodeID)
	return in
}

// withdrawPending pays back pending stake that no committee counts.
func (s *state) withdrawPending(from chain.Address, r *stakedRec) (txResult, error) {
	n, a, id := s.nodes[r.obj.NodeID], r.obj.ActivationEpoch, r.obj.ID
	n.pending[a] -= r.obj.Principal
	if n.pending[a] == 0 {
		delete(n.pending, a)
	}
	n.activating[a] = slices.DeleteFunc(n.activating[a], func(x chain.ObjectID) bool { return x == id })
	if len(n.activating[a]) == 0 {
		delete(n.activating, a)
	}
	s.credit(from, r.obj.Principal)
	delete(s.staked, id)
	delete(s.own(from).staked, id)
	s.emit(chain.Event{Kind: chain.EventWithdrawn, ObjectID: id, NodeID: r.obj.NodeID, Amount: r.obj.Principal, Owner: from})
	return txResult{Amount: r.obj.Principal}, nil
}

func (s *state) collectCommission(from chain.Address, c *CollectCommissionCall) (txResult, error) {
	n, err := s.operated(from, c.Node)
	if err != nil {
		return txResult{}, err
	}
	amount := n.commission
	n.commission = 0
	s.credit(from, amount)
	s.emit(chain.Event{Kind: chain.EventCommissionCollected, NodeID: c.Node, Amount: amount, Owner: from})
	return txResult{Amount: amount}, nil
}

// ---- storage and blobs -------------------------------------------------

// buyStorage charges from for size bytes of encoded length over the epochs
// [start, start+epochs) at the current price and books the fees into those
// epochs' reward pots; it changes nothing when it fails. It returns the cost.
func (s *state) buyStorage(from chain.Address, size uint64, start, epochs uint32) (uint64, error) {
	if err := s.checkEnd(uint64(start) + uint64(epochs)); err != nil {
		return 0, err
	}
	perEpoch, _, err := s.unitPrices(size)
	if err != nil {
		return 0, err
	}
	cost, err := mulChecked(perEpoch, uint64(epochs))
	if err != nil {
		return 0, err
	}
	if err := s.canPay(from, cost); err != nil {
		return 0, err
	}
	s.pay(from, cost)
	s.payStorage(perEpoch, start, start+epochs)
	s.store(size, start, start+epochs)
	return cost, nil
}

// store counts size bytes of encoded length as stored in epochs [from, to).
func (s *state) store(size uint64, from, to uint32) {
	for e := from; e < to; e++ {
		s.stored[e] = satAdd(s.stored[e], size)
	}
}

func satAdd(a, b uint64) uint64 {
	if sum, carry := bits.Add64(a, b, 0); carry == 0 {
		return sum
	}
	return ^uint64(0)
}

// unitPrices returns the per-epoch and write prices of an encoded length at
// the current prices.
func (s *state) unitPrices(encLen uint64) (perEpoch, write uint64, err error) {
	units := chain.StorageUnits(encLen)
	h1, perEpoch := bits.Mul64(units, s.storagePrice)
	h2, write := bits.Mul64(units, s.writePrice)
	if h1 != 0 || h2 != 0 {
		return 0, 0, fmt.Errorf("%w: cost overflows", chain.ErrTooLarge)
	}
	return perEpoch, write, nil
}

// checkEnd checks storage ending at end, bought now.
func (s *state) checkEnd(end uint64) error {
	if end <= uint64(s.epoch) || end-uint64(s.epoch) > uint64(s.p.maxAhead) {
		return fmt.Errorf("%w: storage must end 1 to %d epochs after the current %d, not at %d", chain.ErrTooManyEpochs, s.p.maxAhead, s.epoch, end)
	}
	return nil
}

// payStorage credits perEpoch to the reward pots of epochs [from, to).
func (s *state) payStorage(perEpoch uint64, from, to uint32) {
	if perEpoch == 0 {
		return
	}
	for e := from; e < to; e++ {
		s.pots[e] += perEpoch
	}
}

func addChecked(a, b uint64) (uint64, error) {
	sum, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return 0, fmt.Errorf("%w: cost overflows", chain.ErrTooLarge)
	}
	return sum, nil
}

func mulChecked(a, b uint64) (uint64, error) {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return 0, fmt.Errorf("%w: cost overflows", chain.ErrTooLarge)
	}
	return lo, nil
}

func (s *state) reserveStorage(from chain.Address, c *ReserveStorageCall) (txResult, error) {
	if c.Size == 0 {
		return txResult{}, fmt.Errorf("%w: zero storage size", chain.ErrInvalidArgument)
	}
	cost, err := s.buyStorage(from, c.Size, s.epoch, c.Epochs)
	if err != nil {
		return txResult{}, err
	}
	res := &chain.StorageResource{ID: s.newObjectID(), StartEpoch: s.epoch, EndEpoch: s.epoch + c.Epochs, Size: c.Size}
	s.storage[res.ID] = res
	s.own(from).storage[res.ID] = struct{}{}
	out := *res
	return txResult{Storage: &out, Cost: cost}, nil
}

func (s *state) registerBlob(from chain.Address, c *RegisterBlobCall) (txResult, error) {
	if c.EncodingType != encoding.RS2 {
		return txResult{}, fmt.Errorf("%w: %d", chain.ErrUnsupportedEncoding, c.EncodingType)
	}
	if c.Size > s.p.code.MaxBlobSize() {
		return txResult{}, fmt.Errorf("%w: %d bytes, the maximum for %d shards is %d", chain.ErrBlobTooLarge, c.Size, s.p.n, s.p.code.MaxBlobSize())
	}
	if id := encoding.ComputeBlobID(c.EncodingType, c.Size, c.RootHash); id != c.BlobID {
		return txResult{}, fmt.Errorf("%w: root hash, size %d and encoding give %s, not %s", chain.ErrBlobIDMismatch, c.Size, id, c.BlobID)
	}
	if _, bad := s.invalid[c.BlobID]; bad {
		return txResult{}, fmt.Errorf("%w: %s", chain.ErrBlobInvalid, c.BlobID)
	}
	encLen, err := s.p.code.EncodedLength(c.Size)
	if err != nil {
		return txResult{}, fmt.Errorf("%w: %v", chain.ErrBlobTooLarge, err)
	}
	perEpoch, write, err := s.unitPrices(encLen)
	if err != nil {
		return txResult{}, err
	}
	var res *chain.StorageResource
	var storageCost uint64
	if c.Storage != nil {
		var ok bool
		if res, ok = s.storage[*c.Storage]; !ok {
			return txResult{}, fmt.Errorf("%w: storage resource %s", chain.ErrNotFound, *c.Storage)
		}
		if o := s.owners[from]; o == nil || !has(o.storage, *c.Storage) {
			return txResult{}, fmt.Errorf("%w: storage resource %s", chain.ErrNotOwner, *c.Storage)
		}
		if res.EndEpoch <= s.epoch || res.Size < encLen {
			return txResult{}, fmt.Errorf("%w: %s holds %d bytes until epoch %d; the blob needs %d bytes from epoch %d", chain.ErrStorageTooSmall, res.ID, res.Size, res.EndEpoch, encLen, s.epoch)
		}
	} else {
		if err := s.checkEnd(uint64(s.epoch) + uint64(c.Epochs)); err != nil {
			return txResult{}, err
		}
		if storageCost, err = mulChecked(perEpoch, uint64(c.Epochs)); err != nil {
			return txResult{}, err
		}
	}
	cost, err := addChecked(storageCost, write)
	if err != nil {
		return txResult{}, err
	}
	if err := s.canPay(from, cost); err != nil {
		return txResult{}, err
	}
	// Checks done; apply.
	s.pay(from, cost)
	s.pots[s.epoch] += write
	if res != nil {
		delete(s.storage, res.ID)
		delete(s.own(from).storage, res.ID)
	} else {
		s.payStorage(perEpoch, s.epoch, s.epoch+c.Epochs)
		s.store(encLen, s.epoch, s.epoch+c.Epochs)
		res = &chain.StorageResource{ID: s.newObjectID(), StartEpoch: s.epoch, EndEpoch: s.epoch + c.Epochs, Size: encLen}
	}
	owner := c.Owner
	if owner.IsZero() {
		owner = from
	}
	b := &blobRec{obj: chain.BlobObject{
		ID: s.newObjectID(), BlobID: c.BlobID, Size: c.Size, EncodingType: c.EncodingType,
		RegisteredEpoch: s.epoch, Storage: *res, Deletable: c.Deletable, Owner: owner,
	}}
	s.blobs[b.obj.ID] = b
	set := s.byBlobID[c.BlobID]
	if set == nil {
		set = map[chain.ObjectID]struct{}{}
		s.byBlobID[c.BlobID] = set
	}
	set[b.obj.ID] = struct{}{}
	s.own(owner).blobs[b.obj.ID] = struct{}{}
	b.regEvent = s.emit(chain.Event{
		Kind: chain.EventBlobRegistered, BlobID: c.BlobID, ObjectID: b.obj.ID, Size: c.Size,
		EncodingType: c.EncodingType, EndEpoch: res.EndEpoch, Deletable: c.Deletable, Owner: owner,
	})
	out := copyBlob(b.obj)
	return txResult{Blob: &out, Cost: cost}, nil
}

// liveBlob returns a blob object that has not expired.
func (s *state) liveBlob(id chain.ObjectID) (*blobRec, error) {
	b, ok := s.blobs[id]
	if !ok {
		return nil, fmt.Errorf("%w: blob object %s", chain.ErrNotFound, id)
	}
	if b.obj.Storage.EndEpoch <= s.epoch {
		return nil, fmt.Errorf("%w: %s ended at epoch %d", chain.ErrBlobExpired, id, b.obj.Storage.EndEpoch)
	}
	return b, nil
}

func (s *state) currentCommittee() (*chain.Committee, error) {
	com := s.committees[s.epoch]
	if com == nil || len(com.Members) == 0 {
		return nil, fmt.Errorf("%w %d", chain.ErrNoCommittee, s.epoch)
	}
	return com, nil
}

func (s *state) certifyBlob(c *CertifyBlobCall) (txResult, error) {
	b, err := s.liveBlob(c.Blob)
	if err != nil {
		return txResult{}, err
	}
	if b.obj.IsCertified() {
		return txResult{}, fmt.Errorf("%w: %s in epoch %d", chain.ErrAlreadyCertified, c.Blob, *b.obj.CertifiedEpoch)
	}
	if _, bad := s.invalid[b.obj.BlobID]; bad {
		return txResult{}, fmt.Errorf("%w: %s", chain.ErrBlobInvalid, b.obj.BlobID)
	}
	msg, err := chain.ParseBlobCertification(c.Certificate.Message)
	if err != nil {
		return txResult{}, fmt.Errorf("%w: %w", chain.ErrInvalidCertificate, err)
	}
	if msg.BlobID != b.obj.BlobID || msg.Deletable != b.obj.Deletable || (msg.Deletable && msg.ObjectID != b.obj.ID) {
		return txResult{}, fmt.Errorf("%w: the certificate is for blob %s (deletable %v, object %s), not object %s", chain.ErrInvalidCertificate, msg.BlobID, msg.Deletable, msg.ObjectID, c.Blob)
	}
	com, err := s.currentCommittee()
	if err != nil {
		return txResult{}, err
	}
	if _, err := c.Certificate.Verify(com, chain.Quorum); err != nil {
		return txResult{}, err
	}
	e := s.epoch
	b.obj.CertifiedEpoch = &e
	b.certEvent = s.emit(chain.Event{
		Kind: chain.EventBlobCertified, BlobID: b.obj.BlobID, ObjectID: b.obj.ID,
		EndEpoch: b.obj.Storage.EndEpoch, Deletable: b.obj.Deletable, Owner: b.obj.Owner,
	})
	out := copyBlob(b.obj)
	return txResult{Blob: &out}, nil
}

func (s *state) deleteBlob(from chain.Address, c *DeleteBlobCall) (txResult, error) {
	b, err := s.liveBlob(c.Blob)
	if err != nil {
		return txResult{}, err
	}
	if b.obj.Owner != from {
		return txResult{}, fmt.Errorf("%w: blob object %s", chain.ErrNotOwner, c.Blob)
	}
	if !b.obj.Deletable {
		return txResult{}, fmt.Errorf("%w: %s is permanent", chain.ErrNotDeletable, c.Blob)
	}
	delete(s.blobs, c.Blob)
	delete(s.byBlobID[b.obj.BlobID], c.Blob)
	if len(s.byBlobID[b.obj.BlobID]) == 0 {
		delete(s.byBlobID, b.obj.BlobID)
	}
	delete(s.own(from).blobs, c.Blob)
	res := b.obj.Storage
	s.storage[res.ID] = &res
	s.own(from).storage[res.ID] = struct{}{}
	s.emit(chain.Event{
		Kind: chain.EventBlobDeleted, BlobID: b.obj.BlobID, ObjectID: c.Blob, EndEpoch: res.EndEpoch,
		WasCertified: b.obj.IsCertified(), Owner: from,
	})
	return txResult{Storage: &res}, nil
}

func (s *state) extendBlob(from chain.Address, c *ExtendBlobCall) (txResult, error) {
	b, err := s.liveBlob(c.Blob)
	if err != nil {
		return txResult{}, err
	}
	if b.obj.Owner != from {
		return txResult{}, fmt.Errorf("%w: blob object %s", chain.ErrNotOwner, c.Blob)
	}
	cost, err := s.extend(b, from, c.Epochs)
	if err != nil {
		return txResult{}, err
	}
	out := copyBlob(b.obj)
	return txResult{Blob: &out, Cost: cost}, nil
}

// extend extends a live blob object by epochs, payer paying; it changes
// nothing when it fails.
func (s *state) extend(b *blobRec, payer chain.Address, epochs uint32) (uint64, error) {
	if !b.obj.IsCertified() {
		return 0, fmt.Errorf("%w: %s", chain.ErrNotCertified, b.obj.ID)
	}
	if _, bad := s.invalid[b.obj.BlobID]; bad {
		return 0, fmt.Errorf("%w: %s", chain.ErrBlobInvalid, b.obj.BlobID)
	}
	end := b.obj.Storage.EndEpoch
	if epochs == 0 {
		return 0, fmt.Errorf("%w: extension by zero epochs", chain.ErrTooManyEpochs)
	}
	cost, err := s.buyStorage(payer, b.obj.Storage.Size, end, epochs)
	if err != nil {
		return 0, err
	}
	b.obj.Storage.EndEpoch = end + epochs
	s.emit(chain.Event{
		Kind: chain.EventBlobExtended, BlobID: b.obj.BlobID, ObjectID: b.obj.ID,
		EndEpoch: b.obj.Storage.EndEpoch, Deletable: b.obj.Deletable, Owner: b.obj.Owner,
	})
	return cost, nil
}

func (s *state) invalidateBlob(c *InvalidateBlobCall) (txResult, error) {
	_, id, err := chain.ParseInvalidBlobMessage(c.Certificate.Message)
	if err != nil {
		return txResult{}, fmt.Errorf("%w: %w", chain.ErrInvalidCertificate, err)
	}
	com, err := s.currentCommittee()
	if err != nil {
		return txResult{}, err
	}
	if _, err := c.Certificate.Verify(com, chain.Validity); err != nil {
		return txResult{}, err
	}
	if _, done := s.invalid[id]; !done {
		s.invalid[id] = s.emit(chain.Event{Kind: chain.EventInvalidBlobID, BlobID: id})
	}
	return txResult{}, nil
}

// ---- committee members -------------------------------------------------

// member returns a node the sender operates and its index in the current
// committee.
func (s *state) member(from chain.Address, id chain.NodeID, epoch uint32) (*chain.Committee, int, error) {
	if _, err := s.operated(from, id); err != nil {
		return nil, 0, err
	}
	if epoch != s.epoch {
		return nil, 0, fmt.Errorf("%w: epoch %d, current %d", chain.ErrWrongEpoch, epoch, s.epoch)
	}
	com := s.committees[s.epoch]
	i, ok := com.Index(id)
	if !ok {
		return nil, 0, fmt.Errorf("%w: %s in epoch %d", chain.ErrNotInCommittee, id, s.epoch)
	}
	return com, i, nil
}

func (s *state) submitAttestation(from chain.Address, c *SubmitAttestationCall) (txResult, error) {
	a := &c.Attestation
	com, i, err := s.member(from, a.Node, a.Epoch)
	if err != nil {
		return txResult{}, err
	}
	if s.phase == chain.PhaseSyncing {
		return txResult{}, fmt.Errorf("%w: attestations for epoch %d are taken once its epoch change is done", chain.ErrWrongPhase, s.epoch)
	}
	n := len(com.Members)
	if len(a.Passed) != (n+7)/8 || (n%8 != 0 && a.Passed[len(a.Passed)-1]>>(n%8) != 0) {
		return txResult{}, fmt.Errorf("%w: attestation bitmap does not fit a committee of %d", chain.ErrInvalidArgument, n)
	}
	if _, done := s.attest[s.epoch][a.Node]; done {
		return txResult{}, fmt.Errorf("%w: %s already attested epoch %d", chain.ErrInvalidArgument, a.Node, s.epoch)
	}
	if err := com.Members[i].PublicKey.Verify(chain.AttestationMessage(a.Epoch, a.Node, a.Passed), a.Signature); err != nil {
		return txResult{}, err
	}
	if s.attest[s.epoch] == nil {
		s.attest[s.epoch] = map[chain.NodeID]chain.Bitmap{}
	}
	s.attest[s.epoch][a.Node] = slices.Clone(a.Passed)
	s.emit(chain.Event{Kind: chain.EventAttestation, NodeID: a.Node, Owner: from})
	return txResult{}, nil
}

func (s *state) epochSyncDone(from chain.Address, c *EpochSyncDoneCall) (txResult, error) {
	com, _, err := s.member(from, c.Node, c.Epoch)
	if err != nil {
		return txResult{}, err
	}
	if s.syncDone[c.Node] {
		return txResult{}, nil
	}
	s.syncDone[c.Node] = true
	s.emit(chain.Event{Kind: chain.EventEpochSyncDone, NodeID: c.Node, Owner: from})
	if s.phase != chain.PhaseSyncing {
		return txResult{}, nil
	}
	w := 0
	for id := range s.syncDone {
		if i, ok := com.Index(id); ok {
			w += len(com.Members[i].Shards)
		}
	}
	if w >= com.QuorumShards() {
		s.phase = chain.PhaseActive
		s.emit(chain.Event{Kind: chain.EventEpochChangeDone})
	}
	return txResult{}, nil
}

func has(m map[chain.ObjectID]struct{}, id chain.ObjectID) bool {
	_, ok := m[id]
	return ok
}

// ---- blob attributes ----------------------------------------------------

// ownedBlob returns a blob object the sender owns, expired or not (as a
// Walrus Blob object, it stays the owner's to annotate until pruned).
func (s *state) ownedBlob(from chain.Address, id chain.ObjectID) (*blobRec, error) {
	b, ok := s.blobs[id]
	if !ok {
		return nil, fmt.Errorf("%w: blob object %s", chain.ErrNotFound, id)
	}
	if b.obj.Owner != from {
		return nil, fmt.Errorf("%w: blob object %s", chain.ErrNotOwner, id)
	}
	return b, nil
}

func (s *state) setBlobAttribute(from chain.Address, c *SetBlobAttributeCall) (txResult, error) {
	b, err := s.ownedBlob(from, c.Blob)
	if err != nil {
		return txResult{}, err
	}
	pairs, err := chain.SetAttributePairs(b.attrs, c.Pairs)
	if err != nil {
		return txResult{}, err
	}
	b.hasAttrs, b.attrs = true, pairs
	return txResult{}, nil
}

func (s *state) removeBlobAttributePairs(from chain.Address, c *RemoveBlobAttributePairsCall) (txResult, error) {
	b, err := s.ownedBlob(from, c.Blob)
	if err != nil {
		return txResult{}, err
	}
	if !b.hasAttrs {
		return txResult{}, fmt.Errorf("%w: blob object %s has no attribute", chain.ErrNoAttribute, c.Blob)
	}
	pairs, err := chain.RemoveAttributePairs(b.attrs, c.Keys)
	if err != nil {
		return txResult{}, err
	}
	b.attrs = pairs
	return txResult{}, nil
}

func (s *state) removeBlobAttribute(from chain.Address, c *RemoveBlobAttributeCall) (txResult, error) {
	b, err := s.ownedBlob(from, c.Blob)
	if err != nil {
		return txResult{}, err
	}
	if !b.hasAttrs {
		return txResult{}, fmt.Errorf("%w: blob object %s has no attribute", chain.ErrNoAttribute, c.Blob)
	}
	b.hasAttrs, b.attrs = false, nil
	return txResult{}, nil
}

// blobAttribute returns a blob object's attribute, nil if it has none.
func (s *state) blobAttribute(id chain.ObjectID) (*chain.BlobAttribute, error) {
	b, ok := s.blobs[id]
	if !ok {
		return nil, fmt.Errorf("%w: blob object %s", chain.ErrNotFound, id)
	}
	if !b.hasAttrs {
		return nil, nil
	}
	return &chain.BlobAttribute{Pairs: append([]chain.AttributePair{}, b.attrs...)}, nil
}

// ---- shared blobs ---------------------------------------------------------

// wrapped reports whether a blob object is wrapped in a shared blob.
func (s *state) wrapped(b *blobRec) bool {
	id, ok := s.shared[chain.ObjectID(b.obj.Owner)]
	return ok && id == b.obj.ID
}

// sharedBlob returns a shared blob as chain.SharedBlob, and its wrapped
// blob's record.
func (s *state) sharedBlob(id chain.ObjectID) (chain.SharedBlob, *blobRec, error) {
	blob, ok := s.shared[id]
	if !ok {
		return chain.SharedBlob{}, nil, fmt.Errorf("%w: shared blob %s", chain.ErrNotFound, id)
	}
	b := s.blobs[blob] // wrapped blobs are never pruned
	return chain.SharedBlob{ID: id, Blob: copyBlob(b.obj), Funds: s.balances[chain.Address(id)]}, b, nil
}

func (s *state) shareBlob(from chain.Address, c *ShareBlobCall) (txResult, error) {
	b, err := s.liveBlob(c.Blob)
	if err != nil {
		return txResult{}, err
	}
	if b.obj.Owner != from {
		return txResult{}, fmt.Errorf("%w: blob object %s", chain.ErrNotOwner, c.Blob)
	}
	if b.obj.Deletable {
		return txResult{}, fmt.Errorf("%w: %s is deletable", chain.ErrNotShareable, c.Blob)
	}
	if err := s.canPay(from, c.Funds); err != nil {
		return txResult{}, err
	}
	id := s.newObjectID()
	s.pay(from, c.Funds)
	s.credit(chain.Address(id), c.Funds)
	s.disown(from, func(o *owned) { delete(o.blobs, c.Blob) })
	b.obj.Owner = chain.Address(id)
	s.shared[id] = c.Blob
	out, _, err := s.sharedBlob(id)
	return txResult{Shared: &out}, err
}

func (s *state) fundSharedBlob(from chain.Address, c *FundSharedBlobCall) (txResult, error) {
	if c.Amount == 0 {
		return txResult{}, fmt.Errorf("%w: funding needs a positive amount", chain.ErrInvalidArgument)
	}
	if _, _, err := s.sharedBlob(c.Shared); err != nil {
		return txResult{}, err
	}
	if err := s.canPay(from, c.Amount); err != nil {
		return txResult{}, err
	}
	if _, err := addChecked(s.balances[chain.Address(c.Shared)], c.Amount); err != nil {
		return txResult{}, err
	}
	s.pay(from, c.Amount)
	s.credit(chain.Address(c.Shared), c.Amount)
	out, _, err := s.sharedBlob(c.Shared)
	return txResult{Shared: &out}, err
}

func (s *state) extendSharedBlob(from chain.Address, c *ExtendSharedBlobCall) (txResult, error) {
	_, b, err := s.sharedBlob(c.Shared)
	if err != nil {
		return txResult{}, err
	}
	if b.obj.Storage.EndEpoch <= s.epoch {
		return txResult{}, fmt.Errorf("%w: %s ended at epoch %d", chain.ErrBlobExpired, b.obj.ID, b.obj.Storage.EndEpoch)
	}
	cost, err := s.extend(b, chain.Address(c.Shared), c.Epochs)
	if err != nil {
		return txResult{}, err
	}
	out, _, err := s.sharedBlob(c.Shared)
	return txResult{Shared: &out, Cost: cost}, err
}
