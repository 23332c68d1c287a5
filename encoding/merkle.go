package encoding

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/encoding/internal/blake2bx"
)

// Hash is a Blake2b-256 digest: a Merkle node, a sliver hash, a blob ID.
type Hash [32]byte

// Domain separation prefixes of the Merkle tree. Part of the format.
const (
	leafPrefix  = 0x00
	innerPrefix = 0x01
)

// ErrInvalidProof is returned when a Merkle proof does not verify.
var ErrInvalidProof = errors.New("encoding: invalid merkle proof")

// emptyNode stands in for the missing right sibling of a level with an odd
// number of nodes. It is 32 zero bytes and is not hashed.
var emptyNode Hash

// LeafHash returns the Merkle leaf hash of data: Blake2b-256(0x00 ‖ data).
func LeafHash(data []byte) Hash {
	var buf [1 + 256]byte
	if len(data) <= 256 {
		buf[0] = leafPrefix
		copy(buf[1:], data)
		return blake2b.Sum256(buf[:1+len(data)])
	}
	h, _ := blake2b.New256(nil)
	h.Write([]byte{leafPrefix})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// leafHasher computes leaf hashes of symbols of one size, several at a time
// (blake2bx), and answers all-zero symbols (the padding of every blob smaller
// than its matrix, and everything the codes derive from it) from a cache. It
// is not safe for concurrent use.
type leafHasher struct {
	size int
	// zt is the zero tree of the current size.
	zt zeroTree
	b  blake2bx.Batch
}

func (h *leafHasher) reset(size int) {
	h.b.Flush()
	if h.zt != nil && h.size == size {
		return
	}
	h.size = size
	h.zt = newZeroTree(size)
	h.b.Reset(leafPrefix, size)
}

// add queues LeafHash(data) for dst; len(data) must be the size given to
// reset. dst is written, at the latest, by flush; data must not change
// until then.
func (h *leafHasher) add(dst *Hash, data []byte) {
	if allZero(data) {
		*dst = h.zt[0]
		return
	}
	h.b.Add((*[32]byte)(dst), data)
}

// allZero reports whether b holds only zeros: short inputs a word at a time,
// long ones against a zero block (memequal stops at the first difference).
// Symbols of real data mostly stop at their first word, tested inline: the
// call to memequal cost 3% of a 64 MiB metadata computation at n = 1000.
func allZero(b []byte) bool {
	if len(b) >= 8 && binary.LittleEndian.Uint64(b) != 0 {
		return false
	}
	if len(b) < 32 {
		for len(b) >= 8 {
			if binary.LittleEndian.Uint64(b) != 0 {
				return false
			}
			b = b[8:]
		}
		for _, x := range b {
			if x != 0 {
				return false
			}
		}
		return true
	}
	for len(b) > 0 {
		n := min(len(b), len(zeroBlock))
		if !bytes.Equal(b[:n], zeroBlock[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

var zeroBlock [4096]byte

// flush writes every queued leaf hash.
func (h *leafHasher) flush() { h.b.Flush() }

// zeroTree holds the roots of complete Merkle trees over all-zero symbols of
// one size: zt[h] is the root of such a tree of height h (zt[0] the leaf).
type zeroTree []Hash

// maxTreeHeight covers trees of up to 2^17 leaves, more than MaxShards.
const maxTreeHeight = 17

func newZeroTree(size int) zeroTree {
	zt := make(zeroTree, maxTreeHeight+1)
	zt[0] = LeafHash(make([]byte, size))
	for h := 1; h < len(zt); h++ {
		zt[h] = innerHash(&zt[h-1], &zt[h-1])
	}
	return zt
}

// nodeHasher computes the inner levels of Merkle trees, hashing the nodes of
// a level, of many trees at once, several at a time (blake2bx). It is not
// safe for concurrent use.
type nodeHasher struct {
	b     blake2bx.Batch
	buf   []Hash
	tails []Hash
}

// forest computes `levels` levels of count trees at once: src holds each
// tree's width nodes of one level, tree after tree, and out receives the
// count·w nodes `levels` levels up (w = width halved, rounded up, `levels`
// times). A level of odd width pairs its last node with the empty node, also
// when it is the only one: so the levels of a tree's part that starts at a
// multiple of 2^levels and ends the tree are those of the whole tree. If zt
// is not nil, src is at height h0 and the parent of two roots of zero
// subtrees is taken from zt instead of hashed. src is left unchanged; out
// must not overlap it.
func (nh *nodeHasher) forest(src []Hash, width, levels int, zt zeroTree, h0 int, out []Hash) {
	count := len(src) / width
	if levels == 0 {
		copy(out, src)
		return
	}
	// Levels alternate between two regions of buf, never overlapping the
	// level they are computed from.
	half := count * ((width + 1) / 2)
	if cap(nh.buf) < 2*half {
		nh.buf = make([]Hash, 2*half)
	}
	if cap(nh.tails) < 2*count {
		nh.tails = make([]Hash, 2*count)
	}
	regions := [2][]Hash{nh.buf[:half], nh.buf[half : 2*half]}
	cur, w := src, width
	for lv := range levels {
		nw := (w + 1) / 2
		dst := regions[lv%2][:count*nw]
		if lv == levels-1 {
			dst = out[:count*nw]
		}
		nh.b.Reset(innerPrefix, 2*len(Hash{}))
		for t := range count {
			seg, next := cur[t*w:(t+1)*w], dst[t*nw:(t+1)*nw]
			for i := range w / 2 {
				l, r := &seg[2*i], &seg[2*i+1]
				if zt != nil && *l == zt[h0+lv] && *r == zt[h0+lv] {
					next[i] = zt[h0+lv+1]
					continue
				}
				nh.b.Add((*[32]byte)(&next[i]), unsafe.Slice(&l[0], 2*len(Hash{})))
			}
			if w%2 == 1 {
				pair := nh.tails[2*t : 2*t+2]
				pair[0], pair[1] = seg[w-1], emptyNode
				nh.b.Add((*[32]byte)(&next[w/2]), unsafe.Slice(&pair[0][0], 2*len(Hash{})))
			}
		}
		nh.b.Flush()
		cur, w = dst, nw
	}
}

// root returns the root of the tree over leaves, which it leaves unchanged;
// zt as for forest.
func (nh *nodeHasher) root(leaves []Hash, zt zeroTree) Hash {
	if len(leaves) == 0 {
		return emptyNode
	}
	var r [1]Hash
	nh.forest(leaves, len(leaves), merkleDepth(len(leaves)), zt, 0, r[:])
	return r[0]
}

// innerHash returns Blake2b-256(0x01 ‖ left ‖ right).
func innerHash(left, right *Hash) Hash {
	var buf [65]byte
	buf[0] = innerPrefix
	copy(buf[1:33], left[:])
	copy(buf[33:], right[:])
	return blake2b.Sum256(buf[:])
}

// MerkleRoot returns the root of the Merkle tree over the given leaf hashes.
// The root of no leaves is 32 zero bytes. (leaves is left unchanged; earlier
// versions used it as scratch, so callers must not rely on its content.)
func MerkleRoot(leaves []Hash) Hash {
	var nh nodeHasher
	return nh.root(leaves, nil)
}

// MerkleTree is a complete Merkle tree kept for building proofs. It is
// immutable after construction and safe for concurrent use.
type MerkleTree struct {
	// levels[0] are the leaf hashes; the last level holds the root.
	levels [][]Hash
}

// NewMerkleTree builds the tree over the given leaf hashes. It keeps leaves.
func NewMerkleTree(leaves []Hash) *MerkleTree {
	t := &MerkleTree{levels: [][]Hash{leaves}}
	var nh nodeHasher
	level := leaves
	for len(level) > 1 {
		next := make([]Hash, (len(level)+1)/2)
		nh.forest(level, len(level), 1, nil, 0, next)
		t.levels = append(t.levels, next)
		level = next
	}
	return t
}

// Root returns the tree's root.
func (t *MerkleTree) Root() Hash {
	last := t.levels[len(t.levels)-1]
	if len(last) == 0 {
		return emptyNode
	}
	return last[0]
}

// Proof returns the sibling path of leaf i, from the leaf level up. A missing
// sibling is 32 zero bytes.
func (t *MerkleTree) Proof(i int) (MerkleProof, error) {
	if i < 0 || i >= len(t.levels[0]) {
		return nil, fmt.Errorf("encoding: merkle proof for leaf %d of %d", i, len(t.levels[0]))
	}
	path := make(MerkleProof, 0, len(t.levels)-1)
	for _, level := range t.levels[:len(t.levels)-1] {
		sib := i ^ 1
		if sib < len(level) {
			path = append(path, level[sib])
		} else {
			path = append(path, emptyNode)
		}
		i >>= 1
	}
	return path, nil
}

// MerkleProof is the sibling path from a leaf to the root.
type MerkleProof []Hash

// merkleDepth is the length of a proof in a tree of n leaves: ceil(log2 n).
func merkleDepth(n int) int {
	d := 0
	for w := 1; w < n; w <<= 1 {
		d++
	}
	return d
}

// Verify checks that leaf (the leaf's hash) sits at index i of a tree of n
// leaves with the given root. It returns ErrInvalidProof, wrapped with the
// reason, when it does not.
func (p MerkleProof) Verify(root Hash, leaf Hash, i, n int) error {
	if i < 0 || i >= n {
		return fmt.Errorf("%w: leaf index %d out of range for %d leaves", ErrInvalidProof, i, n)
	}
	if len(p) != merkleDepth(n) {
		return fmt.Errorf("%w: path has %d nodes, a tree of %d leaves needs %d", ErrInvalidProof, len(p), n, merkleDepth(n))
	}
	cur := leaf
	width := n
	for _, sib := range p {
		if i&1 == 0 {
			if i+1 >= width && sib != emptyNode {
				return fmt.Errorf("%w: non-empty sibling past the end of a level", ErrInvalidProof)
			}
			cur = innerHash(&cur, &sib)
		} else {
			cur = innerHash(&sib, &cur)
		}
		i >>= 1
		width = (width + 1) / 2
	}
	if cur != root {
		return fmt.Errorf("%w: root mismatch", ErrInvalidProof)
	}
	return nil
}
