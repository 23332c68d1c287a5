package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/node"
)

// ManualClock is a clock that moves only when told: the chain stamps its
// blocks with it, so epochs change when a test says. It is safe for
// concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock at start (zero: the current time, to the
// millisecond).
func NewManualClock(start time.Time) *ManualClock {
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Millisecond)
	}
	return &ManualClock{t: start}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *ManualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t if t is later.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}

// errNotYet is what a waited-for condition returns while it does not hold.
var errNotYet = errors.New("not yet")

// waitFor polls cond until it returns nil, ctx ends, or DefaultWaitTimeout
// passes when ctx has no deadline. The error names what was waited for and
// cond's last error.
func waitFor(ctx context.Context, what string, cond func() error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultWaitTimeout)
		defer cancel()
	}
	delay := 5 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("network: waiting for %s: %w (last: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// AdvanceEpoch ends the current epoch on a network with a ManualClock: it
// waits until the epoch's change is done (nodes holding a quorum of shards
// reported sync done), moves the clock to the epoch's end (the next
// committee is selected on the way, at the midpoint), makes the chain build
// the blocks that are due, and waits until every running node has moved to
// the new epoch. It returns the new epoch.
func (nw *Network) AdvanceEpoch(ctx context.Context) (uint32, error) {
	if nw.Clock == nil {
		return 0, ErrNoClock
	}
	st, err := nw.WaitChangeDone(ctx)
	if err != nil {
		return 0, err
	}
	nw.Clock.Set(st.EpochStart.Add(st.EpochDuration))
	if err := nw.Chain.Tick(ctx); err != nil {
		return 0, err
	}
	now, err := nw.Chain.SystemState(ctx)
	if err != nil {
		return 0, err
	}
	if now.Epoch != st.Epoch+1 {
		return 0, fmt.Errorf("network: epoch %d after advancing from %d", now.Epoch, st.Epoch)
	}
	return now.Epoch, nw.WaitEpoch(ctx, now.Epoch)
}

// AdvanceToMidpoint moves a ManualClock to the current epoch's midpoint,
// after its change is done, so that the next epoch's committee is selected
// now: stake added after it counts only from the epoch after next.
func (nw *Network) AdvanceToMidpoint(ctx context.Context) error {
	if nw.Clock == nil {
		return ErrNoClock
	}
	st, err := nw.WaitChangeDone(ctx)
	if err != nil {
		return err
	}
	nw.Clock.Set(st.EpochStart.Add(st.EpochDuration / 2))
	return nw.Chain.Tick(ctx)
}

// WaitChangeDone waits until the current epoch's change is done (its phase
// is past EpochChangeSync) and returns the system state.
func (nw *Network) WaitChangeDone(ctx context.Context) (chain.SystemState, error) {
	var st chain.SystemState
	err := waitFor(ctx, "the epoch change to be done", func() error {
		var err error
		if st, err = nw.Chain.SystemState(ctx); err != nil {
			return err
		}
		if st.Phase == chain.PhaseSyncing {
			return fmt.Errorf("%w: epoch %d is syncing", errNotYet, st.Epoch)
		}
		return nil
	})
	return st, err
}

// WaitEpoch waits until every running node works in epoch (or later).
func (nw *Network) WaitEpoch(ctx context.Context, epoch uint32) error {
	return waitFor(ctx, fmt.Sprintf("the nodes to reach epoch %d", epoch), func() error {
		for _, n := range nw.running() {
			if e := n.run.Status(ctx).Epoch; e < epoch {
				return fmt.Errorf("%w: node %d is in epoch %d", errNotYet, n.Index, e)
			}
		}
		return nil
	})
}

// WaitHeld waits until every running member of the current committee among
// nodes (all when none are given) stores its sliver pairs of blob id, and
// metadata.
func (nw *Network) WaitHeld(ctx context.Context, id encoding.BlobID, nodes ...int) error {
	return waitFor(ctx, fmt.Sprintf("the nodes to hold blob %s", id), func() error {
		for _, n := range nw.running(nodes...) {
			missing, err := n.run.MissingShards(ctx, id)
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				return fmt.Errorf("%w: node %d lacks shards %v", errNotYet, n.Index, missing)
			}
		}
		return nil
	})
}

// runningView is a node and its current run.
type runningView struct {
	*Node
	run *node.Node
}

// running returns the running nodes among indices (all when none given).
func (nw *Network) running(indices ...int) []runningView {
	nw.mu.Lock()
	nodes := slices.Clone(nw.Nodes)
	nw.mu.Unlock()
	var out []runningView
	for _, n := range nodes {
		if len(indices) > 0 && !slices.Contains(indices, n.Index) {
			continue
		}
		if r := n.Running(); r != nil {
			out = append(out, runningView{Node: n, run: r})
		}
	}
	return out
}
