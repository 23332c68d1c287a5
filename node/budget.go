package node

import (
	"errors"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/p2p"
)

// ErrIntakeFull is returned (with p2p.ErrBusy, the code a requester sees)
// for metadata or a sliver the intake cannot hold: the peer that sent it
// has used its share of Config.MaxBufferedBytesPerPeer, or the node its
// Config.MaxBufferedBytes. Nothing is held for it; the requester may try
// again once the node has stored or dropped what it holds.
var ErrIntakeFull = errors.New("node: intake memory full")

// budget is the intake's memory account. Every byte of metadata or sliver
// the intake holds in memory — the slivers of a sliver/put request in
// progress, and what waits in the pending buffer for a registration or a
// pair's other half — is reserved here before it is held, against the peer
// that sent it and against the node's total; what does not fit is refused
// with ErrIntakeFull. It is safe for concurrent use.
type budget struct {
	max, maxPerPeer int64
	onChange        func(total int64) // called with mu held; may be nil

	mu      sync.Mutex
	total   int64
	perPeer map[peer.ID]int64
}

func newBudget(max, maxPerPeer int64, onChange func(int64)) *budget {
	return &budget{max: max, maxPerPeer: maxPerPeer, onChange: onChange, perPeer: make(map[peer.ID]int64)}
}

// reserve reserves n bytes for p, or returns an error matching
// ErrIntakeFull and p2p.ErrBusy, reserving nothing.
func (b *budget) reserve(p peer.ID, n int64) error {
	if n <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.perPeer[p]+n > b.maxPerPeer:
		return fmt.Errorf("%w: %w: %d more bytes would pass the %d this peer may have held (it holds %d)",
			p2p.ErrBusy, ErrIntakeFull, n, b.maxPerPeer, b.perPeer[p])
	case b.total+n > b.max:
		return fmt.Errorf("%w: %w: %d more bytes would pass the node's %d (it holds %d)",
			p2p.ErrBusy, ErrIntakeFull, n, b.max, b.total)
	}
	b.perPeer[p] += n
	b.total += n
	b.changed()
	return nil
}

// release returns n bytes reserved for p.
func (b *budget) release(p peer.ID, n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.perPeer[p] -= n; b.perPeer[p] <= 0 {
		delete(b.perPeer, p)
	}
	b.total -= n
	b.changed()
}

// full reports whether p could not reserve a byte more.
func (b *budget) full(p peer.ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.perPeer[p] >= b.maxPerPeer || b.total >= b.max
}

// used returns the bytes reserved in total.
func (b *budget) used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// usedBy returns the bytes reserved for p.
func (b *budget) usedBy(p peer.ID) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.perPeer[p]
}

func (b *budget) changed() {
	if b.onChange != nil {
		b.onChange(b.total)
	}
}
