package encoding

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/crypto/blake2b"
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

// leafHasher computes leaf hashes of symbols of one size without
// allocating, and answers all-zero symbols (the padding of every blob smaller
// than its matrix, and everything the codes derive from it) from a cache. It
// is not safe for concurrent use.
type leafHasher struct {
	buf  []byte
	zero []byte
	// zt is the zero tree of the current size.
	zt zeroTree
}

func (h *leafHasher) reset(size int) {
	if h.zt != nil && len(h.zero) == size {
		return
	}
	if cap(h.buf) < 1+size {
		h.buf = make([]byte, 1+size)
		h.zero = make([]byte, size)
	}
	h.buf = h.buf[:1+size]
	h.zero = h.zero[:size]
	h.buf[0] = leafPrefix
	h.zt = newZeroTree(size)
}

// sum returns LeafHash(data); len(data) must be the size given to reset.
func (h *leafHasher) sum(data []byte) Hash {
	if bytes.Equal(data, h.zero) {
		return h.zt[0]
	}
	copy(h.buf[1:], data)
	return blake2b.Sum256(h.buf[:1+len(data)])
}

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

// merkleRootZ is MerkleRoot that takes the parent of two zero subtrees from
// zt instead of hashing it. leaves is scratch.
func merkleRootZ(leaves []Hash, zt zeroTree) Hash {
	if len(leaves) == 0 {
		return emptyNode
	}
	level := leaves
	for h := 0; len(level) > 1; h++ {
		next := level[:(len(level)+1)/2]
		for i := range next {
			l := &level[2*i]
			if 2*i+1 >= len(level) {
				next[i] = innerHash(l, &emptyNode)
			} else if r := &level[2*i+1]; *l == zt[h] && *r == zt[h] {
				next[i] = zt[h+1]
			} else {
				next[i] = innerHash(l, r)
			}
		}
		level = next
	}
	return level[0]
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
// The root of no leaves is 32 zero bytes. leaves is used as scratch space and
// holds garbage on return.
func MerkleRoot(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return emptyNode
	}
	level := leaves
	for len(level) > 1 {
		next := level[:(len(level)+1)/2]
		for i := range next {
			l := &level[2*i]
			r := &emptyNode
			if 2*i+1 < len(level) {
				r = &level[2*i+1]
			}
			next[i] = innerHash(l, r)
		}
		level = next
	}
	return level[0]
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
	level := leaves
	for len(level) > 1 {
		next := make([]Hash, (len(level)+1)/2)
		for i := range next {
			r := &emptyNode
			if 2*i+1 < len(level) {
				r = &level[2*i+1]
			}
			next[i] = innerHash(&level[2*i], r)
		}
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
