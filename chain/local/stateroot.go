package local

import (
	"encoding/binary"
	"hash"
	"slices"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
)

// The state root is Blake2b-256 over a canonical serialization of the whole
// state: every field, maps as lists sorted by key, in BCS's primitive
// encodings (little-endian integers, ULEB128 lengths, 0/1 option tags). Two
// states are equal exactly when their roots are; tests compare a replayed
// state with the one that wrote the log. It is written by hand rather than
// through go-bcs because reflection over every 32-byte ID costs more than
// the hashing.
type rootWriter struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func (w *rootWriter) u8(v uint8)   { w.h.Write([]byte{v}) }
func (w *rootWriter) u16(v uint16) { w.h.Write(binary.LittleEndian.AppendUint16(w.buf[:0], v)) }
func (w *rootWriter) u32(v uint32) { w.h.Write(binary.LittleEndian.AppendUint32(w.buf[:0], v)) }
func (w *rootWriter) u64(v uint64) { w.h.Write(binary.LittleEndian.AppendUint64(w.buf[:0], v)) }
func (w *rootWriter) len(n int)    { w.h.Write(binary.AppendUvarint(w.buf[:0], uint64(n))) }
func (w *rootWriter) fixed(b []byte) {
	w.h.Write(b)
}
func (w *rootWriter) bytes(b []byte) { w.len(len(b)); w.h.Write(b) }
func (w *rootWriter) str(s string)   { w.len(len(s)); w.h.Write([]byte(s)) }
func (w *rootWriter) boolean(b bool) {
	if b {
		w.u8(1)
	} else {
		w.u8(0)
	}
}
func (w *rootWriter) strs(ss []string) {
	w.len(len(ss))
	for _, s := range ss {
		w.str(s)
	}
}
func (w *rootWriter) ids(ids []chain.ObjectID) {
	w.len(len(ids))
	for _, id := range ids {
		w.fixed(id[:])
	}
}
func (w *rootWriter) cursor(c chain.Cursor) { w.u64(c.Seq); w.str(c.Token) }

func (w *rootWriter) committee(c *chain.Committee) {
	w.u32(c.Epoch)
	w.u32(uint32(c.NShards))
	w.len(len(c.Members))
	for _, m := range c.Members {
		w.fixed(m.NodeID[:])
		w.str(m.Name)
		w.str(m.PeerID)
		w.strs(m.Addresses)
		w.fixed(m.PublicKey[:])
		w.len(len(m.Shards))
		for _, s := range m.Shards {
			w.u16(s)
		}
		w.u64(m.Stake)
	}
}

func (w *rootWriter) storage(r *chain.StorageResource) {
	w.fixed(r.ID[:])
	w.u32(r.StartEpoch)
	w.u32(r.EndEpoch)
	w.u64(r.Size)
}

func (w *rootWriter) amounts(m map[uint32]uint64) {
	w.len(len(m))
	for _, e := range sortedKeys(m) {
		w.u32(e)
		w.u64(m[e])
	}
}

func (w *rootWriter) idLists(m map[uint32][]chain.ObjectID) {
	w.len(len(m))
	for _, e := range sortedKeys(m) {
		w.u32(e)
		w.ids(m[e])
	}
}

func (w *rootWriter) node(n *nodeRec) {
	i := &n.info
	w.fixed(i.ID[:])
	w.fixed(i.Operator[:])
	w.str(i.Name)
	w.str(i.PeerID)
	w.strs(i.Addresses)
	w.fixed(i.PublicKey[:])
	w.boolean(i.NextPublicKey != nil)
	if i.NextPublicKey != nil {
		w.fixed(i.NextPublicKey[:])
	}
	w.u16(i.Commission)
	w.u16(i.NextCommission)
	w.u64(i.StoragePriceVote)
	w.u64(i.WritePriceVote)
	w.u64(i.Capacity)
	w.u32(i.RegisteredEpoch)
	w.u64(n.active)
	w.u64(n.shares)
	w.amounts(n.pending)
	w.idLists(n.activating)
	w.idLists(n.withdrawing)
	w.u64(n.commission)
	w.len(len(n.history))
	for _, h := range n.history {
		w.u32(h.Epoch)
		w.u32(uint32(h.Shards))
		w.boolean(h.Attested)
		w.u32(uint32(h.PassedBy))
		w.u32(uint32(h.FailedBy))
		w.u8(uint8(h.Verdict))
		w.u64(h.Reward)
		w.u64(h.Commission)
		w.u64(h.Burned)
	}
}

func (w *rootWriter) staked(r *stakedRec) {
	o := &r.obj
	w.fixed(o.ID[:])
	w.fixed(o.Owner[:])
	w.fixed(o.NodeID[:])
	w.u64(o.Principal)
	w.u32(o.ActivationEpoch)
	w.u8(uint8(o.State))
	w.u32(o.WithdrawEpoch)
	w.u64(r.shares)
	w.u64(r.withdrawable)
	w.boolean(r.settled)
}

func (w *rootWriter) blob(b *blobRec) {
	o := &b.obj
	w.fixed(o.ID[:])
	w.fixed(o.BlobID[:])
	w.u64(o.Size)
	w.u8(uint8(o.EncodingType))
	w.u32(o.RegisteredEpoch)
	w.boolean(o.CertifiedEpoch != nil)
	if o.CertifiedEpoch != nil {
		w.u32(*o.CertifiedEpoch)
	}
	w.storage(&o.Storage)
	w.boolean(o.Deletable)
	w.fixed(o.Owner[:])
	w.cursor(b.regEvent)
	w.cursor(b.certEvent)
}

func sorted32[K ~[32]byte, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return cmpID(chain.ObjectID(a), chain.ObjectID(b)) })
	return keys
}

// root returns the state root.
func (s *state) root() chain.Digest {
	h, _ := blake2b.New256(nil)
	w := &rootWriter{h: h}
	w.fixed(s.p.chainID[:])
	w.u64(s.height)
	w.u64(s.timeMs)
	w.fixed(s.lastHash[:])
	w.u64(s.eventSeq)
	w.u32(s.epoch)
	w.u8(uint8(s.phase))
	w.u64(s.epochStartMs)
	w.u64(s.storagePrice)
	w.u64(s.writePrice)
	w.u64(s.nextStorage)
	w.u64(s.nextWrite)
	w.len(len(s.committees))
	for _, e := range sortedKeys(s.committees) {
		w.committee(s.committees[e])
	}
	w.ids(sorted32(s.syncDone))
	w.len(len(s.seeds))
	for _, e := range sortedKeys(s.seeds) {
		w.u32(e)
		seed := s.seeds[e]
		w.fixed(seed[:])
	}
	w.len(len(s.balances))
	for _, a := range sorted32(s.balances) {
		w.fixed(a[:])
		w.u64(s.balances[a])
	}
	w.len(len(s.nodes))
	for _, id := range sorted32(s.nodes) {
		w.node(s.nodes[id])
	}
	keys := make([]chain.BLSPublicKey, 0, len(s.keys))
	for k := range s.keys {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b chain.BLSPublicKey) int { return slices.Compare(a[:], b[:]) })
	w.len(len(keys))
	for _, k := range keys {
		id := s.keys[k]
		w.fixed(k[:])
		w.fixed(id[:])
	}
	peers := sortedKeys(s.peers)
	w.len(len(peers))
	for _, p := range peers {
		id := s.peers[p]
		w.str(p)
		w.fixed(id[:])
	}
	w.len(len(s.staked))
	for _, id := range sorted32(s.staked) {
		w.staked(s.staked[id])
	}
	w.len(len(s.blobs))
	for _, id := range sorted32(s.blobs) {
		w.blob(s.blobs[id])
	}
	w.len(len(s.invalid))
	for _, id := range sorted32(s.invalid) {
		w.fixed(id[:])
		w.cursor(s.invalid[id])
	}
	w.len(len(s.storage))
	for _, id := range sorted32(s.storage) {
		w.storage(s.storage[id])
	}
	// Ownership of unattached storage lives only in the index.
	owners := sorted32(s.owners)
	w.len(len(owners))
	for _, a := range owners {
		w.fixed(a[:])
		o := s.owners[a]
		w.ids(sorted32(o.blobs))
		w.ids(sorted32(o.storage))
		w.ids(sorted32(o.staked))
	}
	w.amounts(s.pots)
	w.amounts(s.stored)
	w.len(len(s.attest))
	for _, e := range sortedKeys(s.attest) {
		w.u32(e)
		w.len(len(s.attest[e]))
		for _, id := range sorted32(s.attest[e]) {
			w.fixed(id[:])
			w.bytes(s.attest[e][id])
		}
	}
	w.len(len(s.recent))
	for _, d := range sorted32(s.recent) {
		w.fixed(d[:])
		w.u64(s.recent[d])
	}
	w.u64(s.faucetMinted)
	w.len(len(s.faucetBy))
	for _, a := range sorted32(s.faucetBy) {
		w.fixed(a[:])
		w.u64(s.faucetBy[a])
	}
	w.u64(s.minted)
	w.u64(s.burned)
	var d chain.Digest
	h.Sum(d[:0])
	return d
}
