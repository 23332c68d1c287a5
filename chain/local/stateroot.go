package local

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// The canonical serialization of the state: every field, maps as lists
// sorted by key, in BCS's primitive encodings (little-endian integers,
// ULEB128 lengths, 0/1 option and bool bytes). The state root is its
// Blake2b-256, so two states are equal exactly when their roots are; a
// snapshot (see snapshot.go) is the serialization itself, read back by the
// same code. One function per type visits the fields in order, writing or
// reading (codec), so that the two directions cannot drift apart. Indexes
// derived from other fields (blobs by blob ID, digests by expiry second)
// are left out and rebuilt on reading. It is written by hand rather than
// through go-bcs because reflection over every 32-byte ID costs more than
// the hashing.

// codec writes to w, or reads from r when w is nil. Reading stops at the
// first error (err), after which every value read is zero.
type codec struct {
	w   io.Writer
	r   []byte
	err error
	buf [binary.MaxVarintLen64]byte
}

func (c *codec) reading() bool { return c.w == nil }

func (c *codec) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: state: "+format, append([]any{chain.ErrCorrupt}, args...)...)
	}
}

// take returns the next n bytes read, or nil after an error.
func (c *codec) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n > len(c.r) {
		c.fail("%d bytes left, %d needed", len(c.r), n)
		return nil
	}
	b := c.r[:n:n]
	c.r = c.r[n:]
	return b
}

func (c *codec) raw(b []byte) {
	if c.reading() {
		if src := c.take(len(b)); src != nil {
			copy(b, src)
		}
		return
	}
	c.w.Write(b)
}

// The primitives. Writing never stores into the value: readers share the
// state under a read lock while its root is computed.

func (c *codec) u8(v *uint8) {
	if c.reading() {
		if b := c.take(1); b != nil {
			*v = b[0]
		}
		return
	}
	c.w.Write([]byte{*v})
}

func (c *codec) u16(v *uint16) {
	if c.reading() {
		if b := c.take(2); b != nil {
			*v = binary.LittleEndian.Uint16(b)
		}
		return
	}
	c.w.Write(binary.LittleEndian.AppendUint16(c.buf[:0], *v))
}

func (c *codec) u32(v *uint32) {
	if c.reading() {
		if b := c.take(4); b != nil {
			*v = binary.LittleEndian.Uint32(b)
		}
		return
	}
	c.w.Write(binary.LittleEndian.AppendUint32(c.buf[:0], *v))
}

func (c *codec) u64(v *uint64) {
	if c.reading() {
		if b := c.take(8); b != nil {
			*v = binary.LittleEndian.Uint64(b)
		}
		return
	}
	c.w.Write(binary.LittleEndian.AppendUint64(c.buf[:0], *v))
}

// int codes a non-negative int as a u32.
func (c *codec) int(v *int) {
	x := uint32(*v)
	c.u32(&x)
	if c.reading() {
		*v = int(x)
	}
}

// u8As codes a uint8-based type.
func u8As[T ~uint8](c *codec, v *T) {
	x := uint8(*v)
	c.u8(&x)
	if c.reading() {
		*v = T(x)
	}
}

func (c *codec) boolean(v *bool) {
	var b uint8
	if *v {
		b = 1
	}
	c.u8(&b)
	if !c.reading() {
		return
	}
	if b > 1 {
		c.fail("bool byte %d", b)
	}
	*v = b == 1
}

// count codes a length. On reading it is bounded by the bytes left, at
// least one per element, so that no allocation exceeds the input.
func (c *codec) count(n int) int {
	if !c.reading() {
		c.w.Write(binary.AppendUvarint(c.buf[:0], uint64(n)))
		return n
	}
	if c.err != nil {
		return 0
	}
	v, k := binary.Uvarint(c.r)
	if k <= 0 {
		c.fail("bad length")
		return 0
	}
	c.r = c.r[k:]
	if v > uint64(len(c.r)) {
		c.fail("length %d over the %d bytes left", v, len(c.r))
		return 0
	}
	return int(v)
}

func (c *codec) bytes(b *[]byte) {
	n := c.count(len(*b))
	if c.reading() {
		*b = bytes.Clone(c.take(n))
		return
	}
	c.w.Write(*b)
}

func (c *codec) str(s *string) {
	if !c.reading() {
		c.count(len(*s))
		io.WriteString(c.w, *s)
		return
	}
	*s = string(c.take(c.count(0)))
}

// option codes whether *p is set, then *p through f.
func option[T any](c *codec, p **T, f func(*T)) {
	set := *p != nil
	c.boolean(&set)
	if !set {
		return
	}
	if *p == nil {
		*p = new(T)
	}
	f(*p)
}

// list codes a slice through f.
func list[T any](c *codec, s *[]T, f func(*T)) {
	n := c.count(len(*s))
	if c.reading() {
		*s = nil
		if n > 0 {
			*s = make([]T, n)
		}
	}
	for i := range n {
		if c.err != nil {
			*s = nil
			return
		}
		f(&(*s)[i])
	}
}

// table codes a map as a list of entries in the order of keys; kv codes one
// entry. On reading, keys must come in strictly ascending order (cmp): the
// encoding of a map is unique.
func table[K comparable, V any](c *codec, m *map[K]V, cmp func(a, b K) int, kv func(*K, *V)) {
	if !c.reading() {
		keys := make([]K, 0, len(*m))
		for k := range *m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, cmp)
		c.count(len(keys))
		for _, k := range keys {
			v := (*m)[k]
			kv(&k, &v)
		}
		return
	}
	n := c.count(0)
	*m = make(map[K]V, n)
	var prev K
	for i := range n {
		var k K
		var v V
		kv(&k, &v)
		if c.err != nil {
			return
		}
		if i > 0 && cmp(prev, k) >= 0 {
			c.fail("map keys out of order")
			return
		}
		prev = k
		(*m)[k] = v
	}
}

// set codes a set of IDs.
func set[K ~[32]byte](c *codec, m *map[K]struct{}) {
	table(c, m, cmp32[K], func(k *K, _ *struct{}) {
		b := [32]byte(*k)
		c.raw(b[:])
		if c.reading() {
			*k = K(b)
		}
	})
}

func cmp32[K ~[32]byte](a, b K) int { return bytes.Compare(a[:], b[:]) }

func cmpU32(a, b uint32) int { return int(int64(a) - int64(b)) }

func cmpStr(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

func (c *codec) id(id *chain.ObjectID) { c.raw(id[:]) }

func (c *codec) ids(ids *[]chain.ObjectID) { list(c, ids, c.id) }

func (c *codec) strs(ss *[]string) { list(c, ss, c.str) }

func (c *codec) cursor(cur *chain.Cursor) { c.u64(&cur.Seq); c.str(&cur.Token) }

func (c *codec) amounts(m *map[uint32]uint64) {
	table(c, m, cmpU32, func(e *uint32, v *uint64) { c.u32(e); c.u64(v) })
}

func (c *codec) idLists(m *map[uint32][]chain.ObjectID) {
	table(c, m, cmpU32, func(e *uint32, v *[]chain.ObjectID) { c.u32(e); c.ids(v) })
}

func (c *codec) committee(com **chain.Committee) {
	if *com == nil {
		*com = &chain.Committee{}
	}
	m := *com
	c.u32(&m.Epoch)
	c.int(&m.NShards)
	list(c, &m.Members, func(mem *chain.Member) {
		c.id(&mem.NodeID)
		c.str(&mem.Name)
		c.str(&mem.PeerID)
		c.strs(&mem.Addresses)
		c.raw(mem.PublicKey[:])
		list(c, &mem.Shards, c.u16)
		c.u64(&mem.Stake)
	})
}

func (c *codec) storage(r *chain.StorageResource) {
	c.id(&r.ID)
	c.u32(&r.StartEpoch)
	c.u32(&r.EndEpoch)
	c.u64(&r.Size)
}

func (c *codec) nodeEpoch(h *chain.NodeEpoch) {
	c.u32(&h.Epoch)
	c.int(&h.Shards)
	c.boolean(&h.Attested)
	c.int(&h.PassedBy)
	c.int(&h.FailedBy)
	u8As(c, &h.Verdict)
	c.u64(&h.Reward)
	c.u64(&h.Commission)
	c.u64(&h.Burned)
}

func (c *codec) node(p **nodeRec) {
	if *p == nil {
		*p = &nodeRec{}
	}
	n := *p
	i := &n.info
	c.id(&i.ID)
	c.raw(i.Operator[:])
	c.str(&i.Name)
	c.str(&i.PeerID)
	c.strs(&i.Addresses)
	c.raw(i.PublicKey[:])
	option(c, &i.NextPublicKey, func(k *chain.BLSPublicKey) { c.raw(k[:]) })
	c.u16(&i.Commission)
	c.u16(&i.NextCommission)
	c.u64(&i.StoragePriceVote)
	c.u64(&i.WritePriceVote)
	c.u64(&i.Capacity)
	c.u32(&i.RegisteredEpoch)
	c.u64(&n.active)
	c.u64(&n.shares)
	c.amounts(&n.pending)
	c.idLists(&n.activating)
	c.idLists(&n.withdrawing)
	c.u64(&n.commission)
	list(c, &n.history, c.nodeEpoch)
}

func (c *codec) staked(p **stakedRec) {
	if *p == nil {
		*p = &stakedRec{}
	}
	r := *p
	o := &r.obj
	c.id(&o.ID)
	c.raw(o.Owner[:])
	c.id(&o.NodeID)
	c.u64(&o.Principal)
	c.u32(&o.ActivationEpoch)
	u8As(c, &o.State)
	c.u32(&o.WithdrawEpoch)
	c.u64(&r.shares)
	c.u64(&r.withdrawable)
	c.boolean(&r.settled)
}

func (c *codec) blob(p **blobRec) {
	if *p == nil {
		*p = &blobRec{}
	}
	b := *p
	o := &b.obj
	c.id(&o.ID)
	c.raw(o.BlobID[:])
	c.u64(&o.Size)
	u8As(c, &o.EncodingType)
	c.u32(&o.RegisteredEpoch)
	option(c, &o.CertifiedEpoch, c.u32)
	c.storage(&o.Storage)
	c.boolean(&o.Deletable)
	c.raw(o.Owner[:])
	c.cursor(&b.regEvent)
	c.cursor(&b.certEvent)
	c.boolean(&b.hasAttrs)
	list(c, &b.attrs, func(p *chain.AttributePair) { c.str(&p.Key); c.str(&p.Value) })
}

func (c *codec) owned(p **owned) {
	if *p == nil {
		*p = &owned{}
	}
	o := *p
	set(c, &o.blobs)
	set(c, &o.storage)
	set(c, &o.staked)
}

// state codes everything but the parameters, which come from the genesis
// (their chain ID is coded first, to be checked).
func (c *codec) state(s *state) {
	chainID := s.p.chainID
	c.raw(chainID[:])
	if c.reading() && chainID != s.p.chainID {
		c.fail("of chain %s, not %s", chainID, s.p.chainID)
		return
	}
	c.u64(&s.height)
	c.u64(&s.timeMs)
	c.raw(s.lastHash[:])
	c.u64(&s.eventSeq)
	c.u32(&s.epoch)
	u8As(c, &s.phase)
	c.u64(&s.epochStartMs)
	c.u64(&s.storagePrice)
	c.u64(&s.writePrice)
	c.u64(&s.nextStorage)
	c.u64(&s.nextWrite)
	table(c, &s.committees, cmpU32, func(e *uint32, com **chain.Committee) { c.u32(e); c.committee(com) })
	table(c, &s.syncDone, cmp32, func(id *chain.NodeID, done *bool) { c.id(id); c.boolean(done) })
	table(c, &s.seeds, cmpU32, func(e *uint32, seed *chain.Seed) { c.u32(e); c.raw(seed[:]) })
	table(c, &s.balances, cmp32, func(a *chain.Address, v *uint64) { c.raw(a[:]); c.u64(v) })
	table(c, &s.nodes, cmp32, func(id *chain.NodeID, n **nodeRec) { c.id(id); c.node(n) })
	table(c, &s.keys, func(a, b chain.BLSPublicKey) int { return bytes.Compare(a[:], b[:]) },
		func(k *chain.BLSPublicKey, id *chain.NodeID) { c.raw(k[:]); c.id(id) })
	table(c, &s.peers, cmpStr, func(p *string, id *chain.NodeID) { c.str(p); c.id(id) })
	table(c, &s.staked, cmp32, func(id *chain.ObjectID, r **stakedRec) { c.id(id); c.staked(r) })
	table(c, &s.blobs, cmp32, func(id *chain.ObjectID, b **blobRec) { c.id(id); c.blob(b) })
	table(c, &s.invalid, cmp32, func(id *encoding.BlobID, cur *chain.Cursor) { c.raw(id[:]); c.cursor(cur) })
	table(c, &s.storage, cmp32, func(id *chain.ObjectID, r **chain.StorageResource) {
		c.id(id)
		if *r == nil {
			*r = &chain.StorageResource{}
		}
		c.storage(*r)
	})
	// Ownership of unattached storage lives only in the index.
	table(c, &s.owners, cmp32, func(a *chain.Address, o **owned) { c.raw(a[:]); c.owned(o) })
	c.amounts(&s.pots)
	c.amounts(&s.stored)
	table(c, &s.attest, cmpU32, func(e *uint32, m *map[chain.NodeID]chain.Bitmap) {
		c.u32(e)
		table(c, m, cmp32, func(id *chain.NodeID, bm *chain.Bitmap) { c.id(id); c.bytes((*[]byte)(bm)) })
	})
	table(c, &s.recent, cmp32, func(d *chain.Digest, exp *uint64) { c.raw(d[:]); c.u64(exp) })
	c.u64(&s.faucetMinted)
	table(c, &s.faucetBy, cmp32, func(a *chain.Address, v *uint64) { c.raw(a[:]); c.u64(v) })
	c.u64(&s.minted)
	c.u64(&s.burned)
	table(c, &s.shared, cmp32, func(id, blob *chain.ObjectID) { c.id(id); c.id(blob) })
}

// root returns the state root: Blake2b-256 of the canonical serialization.
func (s *state) root() chain.Digest {
	h, _ := blake2b.New256(nil)
	(&codec{w: h}).state(s)
	var d chain.Digest
	h.Sum(d[:0])
	return d
}

// encodeState returns the canonical serialization.
func (s *state) encodeState() []byte {
	var buf bytes.Buffer
	(&codec{w: &buf}).state(s)
	return buf.Bytes()
}

// decodeState reads a serialization made by encodeState for the chain of
// params p, rebuilding the derived indexes. It checks that the input is
// exactly the canonical serialization of the state it decodes to (nothing
// after it, keys in order, so that re-encoding gives the same bytes).
func decodeState(p params, b []byte) (*state, error) {
	s := newState(p)
	c := &codec{r: b}
	c.state(s)
	if c.err == nil && len(c.r) > 0 {
		c.fail("%d bytes after the state", len(c.r))
	}
	if c.err != nil {
		return nil, c.err
	}
	for id, blob := range s.blobs {
		set := s.byBlobID[blob.obj.BlobID]
		if set == nil {
			set = map[chain.ObjectID]struct{}{}
			s.byBlobID[blob.obj.BlobID] = set
		}
		set[id] = struct{}{}
	}
	for d, exp := range s.recent {
		s.recentBySec[exp/1000] = append(s.recentBySec[exp/1000], d)
	}
	for _, ds := range s.recentBySec {
		slices.SortFunc(ds, cmp32)
	}
	// Pointers and maps the rules expect to exist.
	for _, n := range s.nodes {
		if n.pending == nil || n.activating == nil || n.withdrawing == nil {
			return nil, fmt.Errorf("%w: state: node %s lacks its maps", chain.ErrCorrupt, n.info.ID)
		}
	}
	for id := range s.storage {
		if s.storage[id] == nil {
			return nil, fmt.Errorf("%w: state: storage %s is nil", chain.ErrCorrupt, id)
		}
	}
	for id, blob := range s.shared {
		if b := s.blobs[blob]; b == nil || !s.wrapped(b) {
			return nil, fmt.Errorf("%w: state: shared blob %s does not wrap blob object %s", chain.ErrCorrupt, id, blob)
		}
	}
	return s, nil
}
