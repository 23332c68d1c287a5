package local

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/encoding"
)

// model drives a state machine with random transactions, valid and
// invalid, building blocks as the producer does.
type model struct {
	t      *testing.T
	rnd    *rand.Rand
	net    *chaintest.Network
	g      *Genesis
	st     *state
	blocks []*Block
	// Open block.
	cur *Block
	txs []txEntry

	actors []*chain.AccountKey
	nodes  map[chain.NodeID]*chaintest.Node // known node keys
	ok     map[string]int                   // successes per operation
	failed map[string]int
}

func newModel(t *testing.T, seed uint64) *model {
	net := chaintest.NewNetwork(seed, 40, 30, 20, 10)
	g := genesisOf(net)
	g.EnsureDefaults()
	g.Time = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	g.Seed = chain.Seed{byte(seed)}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := genesisState(g)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{
		t: t, rnd: rand.New(rand.NewPCG(seed, 7)), net: net, g: g, st: st,
		nodes: map[chain.NodeID]*chaintest.Node{}, ok: map[string]int{}, failed: map[string]int{},
	}
	m.actors = append(m.actors, net.Client, chaintest.NewAccount(seed+1000), chaintest.NewAccount(seed+1001))
	for _, n := range net.Nodes {
		m.actors = append(m.actors, n.Operator)
		m.nodes[st.keys[n.Key.PublicKey()]] = n
	}
	m.newBlock(0)
	return m
}

// closeBlock ends the open block.
func (m *model) closeBlock() {
	if m.cur != nil {
		m.st.endBlock(m.cur, m.txs)
		m.blocks = append(m.blocks, m.cur)
		m.cur = nil
	}
}

// newBlock closes the open block (if any) and opens one dt later.
func (m *model) newBlock(dt time.Duration) {
	m.closeBlock()
	var rnd [32]byte
	for i := range rnd {
		rnd[i] = byte(m.rnd.Uint32())
	}
	m.cur = &Block{Header: BlockHeader{Height: m.st.height + 1, Prev: m.st.lastHash, Randomness: rnd}}
	m.txs = nil
	m.st.beginBlock(m.cur.Header.Height, m.st.timeMs+uint64(dt/time.Millisecond), rnd)
	m.cur.Header.TimeMs = m.st.timeMs
}

// submit signs and applies a transaction; sometimes it garbles the
// signature first. A failure must leave the state root unchanged.
func (m *model) submit(name string, s *chain.AccountKey, call Call) (txResult, error) {
	tx := Tx{Sender: s.Address(), Nonce: m.rnd.Uint64(), Expiry: m.st.timeMs + 60_000, Call: call}
	stx, err := Sign(tx, s)
	if err != nil {
		m.t.Fatal(err)
	}
	switch m.rnd.IntN(20) {
	case 0:
		stx.Signature = nil
	case 1:
		stx.Signature[5] ^= 1
	case 2:
		stx.Tx.Sender = m.actors[m.rnd.IntN(len(m.actors))].Address()
	}
	before := m.st.root()
	d, _, err := stx.verify()
	var res txResult
	inBlock := false
	if err == nil {
		res, inBlock, err = m.st.applyTx(stx, d)
	}
	if inBlock {
		m.cur.Txs = append(m.cur.Txs, BlockTx{Tx: *stx, Error: outcomeCode(err)})
		m.txs = append(m.txs, txEntry{d, outcomeCode(err)})
	}
	if err != nil {
		if code := chain.ErrorCode(err); code == "" {
			m.t.Fatalf("%s failed with an untyped error: %v", name, err)
		}
		// A failure changes nothing but the digests remembered.
		exp, remembered := m.st.recent[d]
		if inBlock {
			if !remembered {
				m.t.Fatalf("%s failed in a block and its digest is forgotten", name)
			}
			delete(m.st.recent, d)
		}
		after := m.st.root()
		if inBlock {
			m.st.recent[d] = exp
		}
		if after != before {
			m.t.Fatalf("%s failed (%v) but changed the state", name, err)
		}
		m.failed[name]++
		return res, err
	}
	m.ok[name]++
	return res, nil
}

func (m *model) actor() *chain.AccountKey { return m.actors[m.rnd.IntN(len(m.actors))] }

func (m *model) amount() uint64 {
	switch m.rnd.IntN(8) {
	case 0:
		return 0
	case 1:
		return m.rnd.Uint64N(10)
	case 2:
		return m.rnd.Uint64() // far too much
	}
	return m.rnd.Uint64N(100 * chain.FrostPerWAL)
}

// ownerOr returns the account that owns an object, usually, or a random one.
func (m *model) ownerOr(owner chain.Address) *chain.AccountKey {
	if m.rnd.IntN(4) > 0 {
		for _, a := range m.actors {
			if a.Address() == owner {
				return a
			}
		}
	}
	return m.actor()
}

func (m *model) stakedOwner(id chain.ObjectID) *chain.AccountKey {
	if r := m.st.staked[id]; r != nil {
		return m.ownerOr(r.obj.Owner)
	}
	return m.actor()
}

func (m *model) blobOwner(id chain.ObjectID) *chain.AccountKey {
	if b := m.st.blobs[id]; b != nil {
		return m.ownerOr(b.obj.Owner)
	}
	return m.actor()
}

func (m *model) nodeID() chain.NodeID {
	ids := sortedIDs(m.st.nodes)
	if m.rnd.IntN(10) == 0 {
		return chain.NodeID{byte(m.rnd.Uint32())}
	}
	return ids[m.rnd.IntN(len(ids))]
}

func pick[V any](r *rand.Rand, m map[chain.ObjectID]V) chain.ObjectID {
	ids := sortedIDs(m)
	if len(ids) == 0 || r.IntN(10) == 0 {
		return chain.ObjectID{byte(r.Uint32())}
	}
	return ids[r.IntN(len(ids))]
}

// cert signs msg by random committee members.
func (m *model) cert(msg []byte) *chain.Certificate {
	com := m.st.committees[m.st.epoch]
	sigs := map[int]chain.BLSSignature{}
	for i, mem := range com.Members {
		if m.rnd.IntN(3) > 0 {
			for _, n := range m.nodes {
				if n.Key.PublicKey() == mem.PublicKey {
					sigs[i] = n.Key.Sign(msg)
				}
			}
		}
	}
	if len(sigs) == 0 {
		return &chain.Certificate{Message: msg, Signers: chain.NewBitmap(len(com.Members))}
	}
	c, err := chain.NewCertificate(com, msg, sigs)
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

func (m *model) epochArg() uint32 {
	if m.rnd.IntN(5) == 0 {
		return m.st.epoch - 1
	}
	return m.st.epoch
}

// step runs one random operation.
func (m *model) step() {
	r := m.rnd
	switch op := r.IntN(26); op {
	case 0:
		m.submit("faucet", m.actor(), Call{RequestWAL: &RequestWALCall{Amount: m.amount()}})
	case 1:
		m.submit("transfer", m.actor(), Call{TransferWAL: &TransferWALCall{To: m.actor().Address(), Amount: m.amount()}})
	case 2, 3:
		m.submit("stake", m.actor(), Call{Stake: &StakeCall{Node: m.nodeID(), Amount: m.amount()}})
	case 4:
		id := pick(r, m.st.staked)
		m.submit("request-withdrawal", m.stakedOwner(id), Call{RequestWithdrawal: &RequestWithdrawalCall{Staked: id}})
	case 5:
		id := pick(r, m.st.staked)
		m.submit("withdraw", m.stakedOwner(id), Call{Withdraw: &WithdrawCall{Staked: id}})
	case 6:
		m.submit("reserve", m.actor(), Call{ReserveStorage: &ReserveStorageCall{Size: r.Uint64N(1 << 24), Epochs: uint32(r.IntN(MaxEpochsAheadForTest + 2))}})
	case 7, 8:
		var root encoding.Hash
		root[0] = byte(r.IntN(8))
		size := r.Uint64N(1 << 20)
		c := &RegisterBlobCall{
			BlobID: encoding.ComputeBlobID(encoding.RS2, size, root), RootHash: root, Size: size, EncodingType: encoding.RS2,
			Epochs: uint32(r.IntN(MaxEpochsAheadForTest + 2)), Deletable: r.IntN(2) == 0,
		}
		if r.IntN(8) == 0 {
			c.Size++
		}
		if r.IntN(4) == 0 {
			id := pick(r, m.st.storage)
			c.Storage = &id
		}
		m.submit("register", m.actor(), Call{RegisterBlob: c})
	case 9, 10:
		id := pick(r, m.st.blobs)
		b := m.st.blobs[id]
		msg := chain.BlobCertification{Epoch: m.epochArg()}
		if b != nil {
			msg.BlobID, msg.Deletable, msg.ObjectID = b.obj.BlobID, b.obj.Deletable, b.obj.ID
		}
		m.submit("certify", m.actor(), Call{CertifyBlob: &CertifyBlobCall{Blob: id, Certificate: *m.cert(msg.Message())}})
	case 11:
		id := pick(r, m.st.blobs)
		m.submit("delete", m.blobOwner(id), Call{DeleteBlob: &DeleteBlobCall{Blob: id}})
	case 12:
		id := pick(r, m.st.blobs)
		m.submit("extend", m.blobOwner(id), Call{ExtendBlob: &ExtendBlobCall{Blob: id, Epochs: uint32(r.IntN(4))}})
	case 13:
		if r.IntN(4) == 0 {
			var id encoding.BlobID
			if b := m.st.blobs[pick(r, m.st.blobs)]; b != nil {
				id = b.obj.BlobID
			}
			m.submit("invalidate", m.actor(), Call{InvalidateBlob: &InvalidateBlobCall{Certificate: *m.cert(chain.InvalidBlobMessage(m.epochArg(), id))}})
		}
	case 14:
		id := m.nodeID()
		s := m.actor()
		if n, ok := m.nodes[id]; ok && r.IntN(4) > 0 {
			s = n.Operator
		}
		m.submit("sync-done", s, Call{EpochSyncDone: &EpochSyncDoneCall{Node: id, Epoch: m.epochArg()}})
	case 15:
		if r.IntN(3) == 0 {
			key, _ := chain.GenerateBLSKey(nil)
			nk := chaintest.NewNetworkKey(nil)
			s := m.actor()
			peer := nk.PeerID()
			if r.IntN(4) == 0 {
				peer = m.net.Nodes[0].PeerID // taken
			}
			sig, _ := chain.SignNetworkKey(nk, m.epochArg(), s.Address(), nk.PeerID())
			res, err := m.submit("register-node", s, Call{RegisterNode: &RegisterNodeCall{Args: chain.RegisterNodeArgs{
				Name: "n", PeerID: peer, PublicKey: key.PublicKey(), ProofOfPossession: key.ProofOfPossession(m.epochArg(), s.Address()),
				NetworkKeySignature: sig, Commission: uint16(r.IntN(12_000)),
			}}})
			if err == nil {
				m.nodes[res.Node.ID] = &chaintest.Node{Operator: s, Key: key}
			}
		}
	case 16:
		// Every member reports: epochs move on.
		for _, mem := range m.st.committees[m.st.epoch].Members {
			if n, ok := m.nodes[mem.NodeID]; ok {
				m.submit("sync-done", n.Operator, Call{EpochSyncDone: &EpochSyncDoneCall{Node: mem.NodeID, Epoch: m.st.epoch}})
			}
		}
	case 17:
		// A member attests: random verdicts, sometimes for another epoch.
		com := m.st.committees[m.st.epoch]
		if len(com.Members) == 0 {
			break
		}
		mem := com.Members[r.IntN(len(com.Members))]
		n, ok := m.nodes[mem.NodeID]
		if !ok {
			break
		}
		bm := chain.NewBitmap(len(com.Members))
		for i := range com.Members {
			if r.IntN(5) > 0 {
				bm.Set(i)
			}
		}
		e := m.epochArg()
		m.submit("attest", n.Operator, Call{SubmitAttestation: &SubmitAttestationCall{Attestation: chain.Attestation{
			Node: mem.NodeID, Epoch: e, Passed: bm, Signature: n.Key.Sign(chain.AttestationMessage(e, mem.NodeID, bm)),
		}}})
	case 18:
		id := m.nodeID()
		s := m.actor()
		if n, ok := m.nodes[id]; ok && r.IntN(4) > 0 {
			s = n.Operator
		}
		m.submit("collect-commission", s, Call{CollectCommission: &CollectCommissionCall{Node: id}})
	case 19, 20:
		// Blob attributes: set, remove keys (some missing), remove all;
		// sometimes by another account, sometimes over the limits.
		id := pick(r, m.st.blobs)
		s := m.blobOwner(id)
		if r.IntN(5) == 0 {
			s = m.actor()
		}
		key := func() string { return fmt.Sprint("k", r.IntN(8)) }
		switch r.IntN(3) {
		case 0:
			pairs := make([]chain.AttributePair, 1+r.IntN(4))
			for i := range pairs {
				n := r.IntN(32)
				if r.IntN(8) == 0 {
					n = r.IntN(chain.MaxAttributeValueLen + 2)
				}
				pairs[i] = chain.AttributePair{Key: key(), Value: strings.Repeat("v", n)}
			}
			m.submit("set-attribute", s, Call{SetBlobAttribute: &SetBlobAttributeCall{Blob: id, Pairs: pairs}})
		case 1:
			m.submit("remove-attribute-pairs", s, Call{RemoveBlobAttributePairs: &RemoveBlobAttributePairsCall{Blob: id, Keys: []string{key()}}})
		default:
			m.submit("remove-attribute", s, Call{RemoveBlobAttribute: &RemoveBlobAttributeCall{Blob: id}})
		}
	case 21, 22, 23:
		// Shared blobs: share (sometimes another's, deletable or unknown
		// blobs), fund and extend by anyone, sometimes beyond the funds.
		switch r.IntN(3) {
		case 0:
			id := pick(r, m.st.blobs)
			s := m.blobOwner(id)
			if r.IntN(5) == 0 {
				s = m.actor()
			}
			m.submit("share", s, Call{ShareBlob: &ShareBlobCall{Blob: id, Funds: uint64(r.IntN(3)) * m.amount()}})
			if r.IntN(2) == 0 {
				break
			}
			fallthrough
		case 1:
			m.submit("fund-shared", m.actor(), Call{FundSharedBlob: &FundSharedBlobCall{Shared: pick(r, m.st.shared), Amount: m.amount()}})
		default:
			m.submit("extend-shared", m.actor(), Call{ExtendSharedBlob: &ExtendSharedBlobCall{Shared: pick(r, m.st.shared), Epochs: uint32(r.IntN(4))}})
		}
	default:
		m.newBlock(time.Duration(r.Int64N(int64(m.net.EpochDuration))))
	}
	m.check()
}

// MaxEpochsAheadForTest is the conformance network's maximum.
const MaxEpochsAheadForTest = chaintest.MaxEpochsAhead

// check asserts the invariants: balances never wrap below zero, WAL is
// created only by the faucet and genesis and destroyed only by burning, and
// the total stake is the sum of the pools, whose shares and pending stake are
// their objects'.
func (m *model) check() {
	st := m.st
	for id, b := range st.blobs {
		a := chain.BlobAttribute{Pairs: b.attrs}
		keys := map[string]bool{}
		for _, p := range b.attrs {
			keys[p.Key] = true
		}
		if !b.hasAttrs && len(b.attrs) > 0 || len(b.attrs) > chain.MaxAttributePairs || a.Size() > chain.MaxAttributeSize || len(keys) != len(b.attrs) {
			m.t.Fatalf("blob object %s has attribute %v (present %v), over the limits or with a repeated key", id, b.attrs, b.hasAttrs)
		}
	}
	for id, blob := range st.shared {
		b := st.blobs[blob]
		if b == nil || b.obj.Owner != chain.Address(id) || b.obj.Deletable || !st.wrapped(b) {
			m.t.Fatalf("shared blob %s wraps %s: %+v", id, blob, b)
		}
		if o := st.owners[chain.Address(id)]; o != nil {
			m.t.Fatalf("shared blob %s owns objects: %+v", id, o)
		}
		for a, o := range st.owners {
			if has(o.blobs, blob) {
				m.t.Fatalf("the blob %s wrapped in %s is owned by %s", blob, id, a)
			}
		}
	}
	var held uint64
	add := func(what string, v uint64) {
		if held+v < held {
			m.t.Fatalf("%s: WAL total overflows (a balance went negative?)", what)
		}
		held += v
	}
	for a, b := range st.balances {
		if b > st.minted {
			m.t.Fatalf("balance of %s is %d, more than ever minted (%d): it went negative", a, b, st.minted)
		}
		add("balance", b)
	}
	var pools uint64
	for id, n := range st.nodes {
		add("pool", n.active)
		add("commission", n.commission)
		if len(n.history) > NodeHistoryEpochs {
			m.t.Fatalf("node %s keeps %d epochs of history", id, len(n.history))
		}
		add("pending", n.pendingTotal())
		pools += n.active + n.pendingTotal()
		var shares uint64
		pending := map[uint32]uint64{}
		for _, r := range st.staked {
			if r.obj.NodeID != id {
				continue
			}
			if !r.settled {
				shares += r.shares
			}
			if r.obj.ActivationEpoch > st.epoch {
				pending[r.obj.ActivationEpoch] += r.obj.Principal
			}
		}
		if shares != n.shares {
			m.t.Fatalf("pool %s has %d shares, its objects %d", id, n.shares, shares)
		}
		for e, v := range n.pending {
			if pending[e] != v {
				m.t.Fatalf("pool %s: %d pending for epoch %d, its objects %d", id, v, e, pending[e])
			}
		}
	}
	for _, r := range st.staked {
		if r.settled {
			add("withdrawable", r.withdrawable)
		}
	}
	for _, v := range st.pots {
		add("pot", v)
	}
	if held != st.minted-st.burned {
		m.t.Fatalf("WAL held %d, minted %d, burned %d: %d created or destroyed", held, st.minted, st.burned, int64(held-(st.minted-st.burned)))
	}
	// stored[e] is the encoded length of the storage resources covering e.
	covering := map[uint32]uint64{}
	cover := func(r chain.StorageResource) {
		for e := max(r.StartEpoch, st.epoch); e < r.EndEpoch; e++ {
			covering[e] += r.Size
		}
	}
	for _, r := range st.storage {
		cover(*r)
	}
	for _, b := range st.blobs {
		cover(b.obj.Storage)
	}
	for e, v := range st.stored {
		if e >= st.epoch && covering[e] != v {
			m.t.Fatalf("epoch %d: %d bytes stored, its storage resources hold %d", e, v, covering[e])
		}
	}
	for e, v := range covering {
		if st.stored[e] != v {
			m.t.Fatalf("epoch %d: storage resources hold %d bytes, %d counted stored", e, v, st.stored[e])
		}
	}
	if got := st.systemState().TotalStake; got != pools {
		m.t.Fatalf("total stake %d, sum of pools %d", got, pools)
	}
	var infos uint64
	for _, info := range st.nodeList() {
		infos += info.Stake + info.PendingStake
	}
	if infos != pools {
		m.t.Fatalf("nodes report %d staked, pools hold %d", infos, pools)
	}
}

// TestPropertyRandomTransactions runs random sequences of valid and invalid
// transactions, checks the invariants after each, and replays the blocks to
// the same state.
func TestPropertyRandomTransactions(t *testing.T) {
	steps := 300
	if testing.Short() {
		steps = 100
	}
	var mu sync.Mutex
	ok := map[string]int{}
	t.Cleanup(func() {
		if testing.Short() {
			return // too few steps for every kind to succeed
		}
		// Across the seeds, every kind of transaction succeeded sometimes.
		for _, op := range []string{"faucet", "transfer", "stake", "request-withdrawal", "withdraw", "reserve",
			"register", "certify", "delete", "extend", "invalidate", "sync-done", "register-node", "attest", "collect-commission",
			"share", "fund-shared", "extend-shared"} {
			if ok[op] == 0 {
				t.Errorf("no %s succeeded: %v", op, ok)
			}
		}
	})
	for seed := range uint64(3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			m := newModel(t, seed)
			for range steps {
				m.step()
			}
			m.closeBlock()
			// Replaying the blocks rebuilds the same state.
			st, err := genesisState(m.g)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range m.blocks {
				if err := replayBlock(st, b, true); err != nil {
					t.Fatal(err)
				}
			}
			if st.root() != m.st.root() {
				t.Fatal("replay reached another state")
			}
			if m.st.epoch < 3 {
				t.Errorf("only reached epoch %d", m.st.epoch)
			}
			t.Logf("epoch %d, ok %v, failed %v", m.st.epoch, m.ok, m.failed)
			mu.Lock()
			for k, v := range m.ok {
				ok[k] += v
			}
			mu.Unlock()
		})
	}
}
