package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/p2p"
)

// view is an epoch's committee seen from this node. It is immutable; the
// node replaces it at epoch changes and when the change is done.
type view struct {
	epoch     uint32
	phase     chain.EpochPhase
	committee *chain.Committee
	// index is the node's index in the committee, −1 if not a member.
	index  int
	shards []uint16
	held   map[uint16]bool
	// leaving are the shards the node held in the previous epoch and no
	// longer holds; it keeps serving them while the epoch change is in
	// progress (phase EpochChangeSync), for nodes that sync them.
	leaving map[uint16]bool
}

func (v *view) n() int { return v.committee.NShards }

// holds reports whether the node holds shard s this epoch.
func (v *view) holds(s uint16) bool { return v.held[s] }

// serves reports whether the node serves the slivers of shard s now: it
// holds s, or it held s before and the epoch change is not done.
func (v *view) serves(s uint16) bool {
	return v.held[s] || (v.phase == chain.PhaseSyncing && v.leaving[s])
}

// withPhase returns a copy of v in another phase.
func (v *view) withPhase(p chain.EpochPhase) *view {
	c := *v
	c.phase = p
	return &c
}

// views holds the node's current view and builds new ones from the chain.
// It is safe for concurrent use.
type views struct {
	chain Chain
	self  chain.NodeID
	host  *p2p.Host // learns the members' addresses
	log   *slog.Logger

	mu  sync.Mutex // serializes refreshes
	cur atomic.Pointer[view]
}

// load returns the current view.
func (vs *views) load() *view { return vs.cur.Load() }

// refresh loads the committee of epoch (0: the current one) and the phase,
// makes them the current view and tells the host where the members are.
// Shards held in prev and not in the new committee are leaving.
func (vs *views) refresh(ctx context.Context, epoch uint32, prev *view) (*view, error) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	st, err := vs.chain.SystemState(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: reading system state: %w", err)
	}
	c, err := vs.chain.Committee(ctx, epoch)
	if err != nil {
		return nil, fmt.Errorf("node: reading committee: %w", err)
	}
	phase := st.Phase
	if c.Epoch != st.Epoch {
		// A past epoch (the node catches up on events): its change is done.
		phase = chain.PhaseActive
	}
	v := &view{epoch: c.Epoch, phase: phase, committee: c, index: -1, held: make(map[uint16]bool), leaving: make(map[uint16]bool)}
	if i, ok := c.Index(vs.self); ok {
		v.index = i
		v.shards = slices.Clone(c.Members[i].Shards)
		slices.Sort(v.shards)
		for _, s := range v.shards {
			v.held[s] = true
		}
	}
	if prev != nil && prev.epoch < v.epoch {
		for _, s := range prev.shards {
			if !v.held[s] {
				v.leaving[s] = true
			}
		}
	}
	for _, m := range c.Members {
		if m.NodeID == vs.self {
			continue
		}
		pid, err := p2p.ParsePeerID(m.PeerID)
		if err != nil {
			vs.log.Warn("committee member has a bad peer ID", "node_id", m.NodeID, "err", err)
			continue
		}
		if err := vs.host.SetPeerAddrs(pid, m.Addresses); err != nil {
			vs.log.Warn("committee member has bad addresses", "node_id", m.NodeID, "err", err)
		}
	}
	vs.cur.Store(v)
	return v, nil
}

// setPhase moves the current view of epoch to phase p (no change when the
// view is of another epoch).
func (vs *views) setPhase(epoch uint32, p chain.EpochPhase) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if v := vs.cur.Load(); v.epoch == epoch && v.phase != p {
		vs.cur.Store(v.withPhase(p))
	}
}

// signal wakes the goroutines waiting for something to happen (pairs
// stored). It is safe for concurrent use.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

// wait returns a channel closed at the next notify.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// notify wakes every waiter.
func (s *signal) notify() {
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}
