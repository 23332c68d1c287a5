package local

import (
	"slices"

	"github.com/fardream/go-bcs/bcs"
	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// The state root is Blake2b-256 of the BCS encoding of canonical, the whole
// state as sorted lists. Two states are equal exactly when their roots are;
// tests compare a replayed state with the one that wrote the log.
type canonical struct {
	ChainID                  chain.Digest
	Height, TimeMs           uint64
	LastHash                 chain.Digest
	EventSeq                 uint64
	Epoch                    uint32
	Phase                    uint8
	EpochStartMs             uint64
	StoragePrice, WritePrice uint64
	NextStorage, NextWrite   uint64
	Committees               []*chain.Committee
	SyncDone                 []chain.NodeID
	Seeds                    []seedEntry
	Balances                 []balanceEntry
	Nodes                    []nodeEntry
	Keys                     []keyEntry
	Staked                   []stakedEntry
	Blobs                    []blobEntry
	Invalid                  []invalidEntry
	Storage                  []chain.StorageResource
	StorageOwners            []ownerEntry
	Pots                     []amountEntry
	Attestations             []attestEntry
	Recent                   []recentEntry
	Minted, Burned           uint64
}

type (
	seedEntry struct {
		Epoch uint32
		Seed  chain.Seed
	}
	balanceEntry struct {
		Address chain.Address
		Amount  uint64
	}
	amountEntry struct {
		Epoch  uint32
		Amount uint64
	}
	idsEntry struct {
		Epoch uint32
		IDs   []chain.ObjectID
	}
	nodeEntry struct {
		Info                    chain.NodeInfo
		Next                    *chain.BLSPublicKey `bcs:"optional"`
		Active, Shares          uint64
		Pending                 []amountEntry
		Activating, Withdrawing []idsEntry
	}
	keyEntry struct {
		Key  chain.BLSPublicKey
		Node chain.NodeID
	}
	stakedEntry struct {
		Obj                  chain.StakedWAL
		Shares, Withdrawable uint64
		Settled              bool
	}
	blobEntry struct {
		Obj                 chain.BlobObject
		Certified           *uint32 `bcs:"optional"`
		RegEvent, CertEvent chain.Cursor
	}
	invalidEntry struct {
		BlobID encoding.BlobID
		Event  chain.Cursor
	}
	ownerEntry struct {
		ID    chain.ObjectID
		Owner chain.Address
	}
	attestEntry struct {
		Epoch  uint32
		Node   chain.NodeID
		Passed []byte
	}
	recentEntry struct {
		Digest chain.Digest
		Expiry uint64
	}
)

func cmpBytes32[T ~[32]byte](a, b T) int { return cmpID(chain.ObjectID(a), chain.ObjectID(b)) }

func amounts(m map[uint32]uint64) []amountEntry {
	var out []amountEntry
	for _, e := range sortedKeys(m) {
		out = append(out, amountEntry{e, m[e]})
	}
	return out
}

func idLists(m map[uint32][]chain.ObjectID) []idsEntry {
	var out []idsEntry
	for _, e := range sortedKeys(m) {
		out = append(out, idsEntry{e, m[e]})
	}
	return out
}

// canonicalize lists the state in canonical order.
func (s *state) canonicalize() *canonical {
	c := &canonical{
		ChainID: s.p.chainID, Height: s.height, TimeMs: s.timeMs, LastHash: s.lastHash, EventSeq: s.eventSeq,
		Epoch: s.epoch, Phase: uint8(s.phase), EpochStartMs: s.epochStartMs,
		StoragePrice: s.storagePrice, WritePrice: s.writePrice, NextStorage: s.nextStorage, NextWrite: s.nextWrite,
		Minted: s.minted, Burned: s.burned,
	}
	for _, e := range sortedKeys(s.committees) {
		c.Committees = append(c.Committees, s.committees[e])
	}
	for id := range s.syncDone {
		c.SyncDone = append(c.SyncDone, id)
	}
	slices.SortFunc(c.SyncDone, cmpID)
	for _, e := range sortedKeys(s.seeds) {
		c.Seeds = append(c.Seeds, seedEntry{e, s.seeds[e]})
	}
	for a, v := range s.balances {
		c.Balances = append(c.Balances, balanceEntry{a, v})
	}
	slices.SortFunc(c.Balances, func(x, y balanceEntry) int { return cmpBytes32(x.Address, y.Address) })
	for _, id := range sortedIDs(s.nodes) {
		n := s.nodes[id]
		info := n.info
		next := info.NextPublicKey
		info.NextPublicKey = nil
		c.Nodes = append(c.Nodes, nodeEntry{
			Info: info, Next: next, Active: n.active, Shares: n.shares,
			Pending: amounts(n.pending), Activating: idLists(n.activating), Withdrawing: idLists(n.withdrawing),
		})
	}
	for k, id := range s.keys {
		c.Keys = append(c.Keys, keyEntry{k, id})
	}
	slices.SortFunc(c.Keys, func(x, y keyEntry) int { return slices.Compare(x.Key[:], y.Key[:]) })
	for _, id := range sortedIDs(s.staked) {
		r := s.staked[id]
		c.Staked = append(c.Staked, stakedEntry{r.obj, r.shares, r.withdrawable, r.settled})
	}
	for _, id := range sortedIDs(s.blobs) {
		b := s.blobs[id]
		obj := b.obj
		cert := obj.CertifiedEpoch
		obj.CertifiedEpoch = nil
		c.Blobs = append(c.Blobs, blobEntry{obj, cert, b.regEvent, b.certEvent})
	}
	for id, ev := range s.invalid {
		c.Invalid = append(c.Invalid, invalidEntry{id, ev})
	}
	slices.SortFunc(c.Invalid, func(x, y invalidEntry) int { return cmpBytes32(x.BlobID, y.BlobID) })
	for _, id := range sortedIDs(s.storage) {
		c.Storage = append(c.Storage, *s.storage[id])
	}
	for a, o := range s.owners {
		for id := range o.storage {
			c.StorageOwners = append(c.StorageOwners, ownerEntry{id, a})
		}
	}
	slices.SortFunc(c.StorageOwners, func(x, y ownerEntry) int { return cmpID(x.ID, y.ID) })
	c.Pots = amounts(s.pots)
	for _, e := range sortedKeys(s.attest) {
		for _, id := range sortedIDs(s.attest[e]) {
			c.Attestations = append(c.Attestations, attestEntry{e, id, s.attest[e][id]})
		}
	}
	for d, exp := range s.recent {
		c.Recent = append(c.Recent, recentEntry{d, exp})
	}
	slices.SortFunc(c.Recent, func(x, y recentEntry) int { return cmpBytes32(x.Digest, y.Digest) })
	return c
}

// root returns the state root.
func (s *state) root() chain.Digest {
	h, _ := blake2b.New256(nil)
	if err := bcs.NewEncoder(h).Encode(s.canonicalize()); err != nil {
		panic("local: encoding the state: " + err.Error()) // every field is encodable
	}
	var d chain.Digest
	h.Sum(d[:0])
	return d
}
