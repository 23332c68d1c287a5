package chain

import (
	"fmt"

	gbls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Committee is the set of storage nodes of an epoch and the shards each
// holds. Members are ordered by node ID; a member's index is its bit in
// certificate bitmaps. Every shard in [0, NShards) is held by exactly one
// member.
//
// A Committee is read-only once built; its methods are safe for concurrent
// use.
type Committee struct {
	Epoch   uint32   `json:"epoch"`
	NShards int      `json:"nShards"`
	Members []Member `json:"members"`

	keys keyCache
}

// Member is a storage node in a committee.
type Member struct {
	NodeID    NodeID       `json:"nodeId"`
	Name      string       `json:"name"`
	PeerID    string       `json:"peerId"`
	Addresses []string     `json:"addresses"`
	PublicKey BLSPublicKey `json:"publicKey"`
	// Shards are the shard indices the member holds, ascending.
	Shards []uint16 `json:"shards"`
	// Stake is the WAL (FROST) the committee was selected with.
	Stake uint64 `json:"stake"`
}

// F is the number of faulty shards tolerated: ⌊(n−1)/3⌋.
func (c *Committee) F() int { return (c.NShards - 1) / 3 }

// QuorumShards is n − f: the shards a certificate's signers must hold.
func (c *Committee) QuorumShards() int { return c.NShards - c.F() }

// ValidityShards is f + 1: shards that include at least one honest holder.
func (c *Committee) ValidityShards() int { return c.F() + 1 }

// Index returns the index of a node in the committee.
func (c *Committee) Index(id NodeID) (int, bool) {
	for i := range c.Members {
		if c.Members[i].NodeID == id {
			return i, true
		}
	}
	return -1, false
}

// MemberForShard returns the index of the member holding shard s, or false
// if no member does.
func (c *Committee) MemberForShard(s uint16) (int, bool) {
	for i := range c.Members {
		for _, t := range c.Members[i].Shards {
			if t == s {
				return i, true
			}
		}
	}
	return -1, false
}

// ShardOwners returns, for each shard, the index of the member holding it
// (−1 for none).
func (c *Committee) ShardOwners() []int {
	out := make([]int, c.NShards)
	for i := range out {
		out[i] = -1
	}
	for i := range c.Members {
		for _, s := range c.Members[i].Shards {
			if int(s) < c.NShards {
				out[s] = i
			}
		}
	}
	return out
}

// ShardCount returns how many shards the given members hold together.
// Indices outside the committee count nothing; duplicates count once.
func (c *Committee) ShardCount(members ...int) int {
	seen := make(map[int]bool, len(members))
	n := 0
	for _, i := range members {
		if i >= 0 && i < len(c.Members) && !seen[i] {
			seen[i] = true
			n += len(c.Members[i].Shards)
		}
	}
	return n
}

// Weight returns the shards held by the members set in a bitmap.
func (c *Committee) Weight(b Bitmap) int {
	n := 0
	for i := range c.Members {
		if b.Has(i) {
			n += len(c.Members[i].Shards)
		}
	}
	return n
}

// Validate checks the committee's invariants: a valid shard count, members
// ordered by node ID without duplicates, each holding at least one shard,
// every shard held exactly once, valid public keys.
func (c *Committee) Validate() error {
	if c.NShards < 1 || c.NShards > 1<<16 {
		return fmt.Errorf("%w: committee of %d shards", ErrInvalidArgument, c.NShards)
	}
	if len(c.Members) == 0 {
		return nil
	}
	held := make([]bool, c.NShards)
	for i := range c.Members {
		m := &c.Members[i]
		if i > 0 && !idLess(c.Members[i-1].NodeID, m.NodeID) {
			return fmt.Errorf("%w: committee members not ordered by node ID at %d", ErrInvalidArgument, i)
		}
		if len(m.Shards) == 0 {
			return fmt.Errorf("%w: member %s holds no shard", ErrInvalidArgument, m.NodeID)
		}
		for _, s := range m.Shards {
			if int(s) >= c.NShards || held[s] {
				return fmt.Errorf("%w: shard %d out of range or held twice", ErrInvalidArgument, s)
			}
			held[s] = true
		}
		if err := m.PublicKey.Validate(); err != nil {
			return fmt.Errorf("member %s: %w", m.NodeID, err)
		}
	}
	for s, ok := range held {
		if !ok {
			return fmt.Errorf("%w: shard %d has no holder", ErrInvalidArgument, s)
		}
	}
	return nil
}

// idLess orders IDs bytewise.
func idLess(a, b ObjectID) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// points returns the members' parsed public keys, parsing them once.
func (c *Committee) points() ([]*gbls.G1Affine, error) {
	if p := c.keys.pts.Load(); p != nil {
		return *p, nil
	}
	pts := make([]*gbls.G1Affine, len(c.Members))
	for i := range c.Members {
		p, err := c.Members[i].PublicKey.point()
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		pts[i] = p
	}
	c.keys.pts.Store(&pts)
	return pts, nil
}

// Clone returns a deep copy of the committee.
func (c *Committee) Clone() *Committee {
	out := &Committee{Epoch: c.Epoch, NShards: c.NShards, Members: make([]Member, len(c.Members))}
	for i, m := range c.Members {
		m.Addresses = append([]string(nil), m.Addresses...)
		m.Shards = append([]uint16(nil), m.Shards...)
		out.Members[i] = m
	}
	return out
}
