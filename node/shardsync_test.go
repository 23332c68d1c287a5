package node_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
	"github.com/walrus-go/walrus/p2p"
)

// metric reads one of node i's Prometheus counters (walrus_node_<name>)
// from its admin server.
func (e *env) metric(i int, name string) float64 {
	e.t.Helper()
	run := e.nw.Nodes[i].Running()
	if run == nil {
		e.t.Fatalf("node %d is not running", i)
	}
	resp, err := http.Get("http://" + run.AdminAddr() + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "walrus_node_"+name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatal(err)
			}
			return f
		}
	}
	e.t.Fatalf("node %d has no metric %s", i, name)
	return 0
}

// syncConfig makes shard sync quick to give up on a holder: a test of a
// slow holder waits seconds, not minutes.
func syncConfig(_ int, c *node.Config) {
	c.ShardSyncTimeout = 2 * time.Second
	c.ShardSyncAttempts = 2
}

// storeSet stores count blobs of size bytes through a client and waits
// until every node holds them.
func (e *env) storeSet(c *client.Client, count, size int) ([]encoding.BlobID, [][]byte) {
	e.t.Helper()
	var ids []encoding.BlobID
	var blobs [][]byte
	for i := range count {
		b := nettest.Blob(size+i, uint32(500+i))
		res, err := c.Store(e.ctx, b, storeOpts(20))
		if err != nil {
			e.t.Fatal(err)
		}
		ids, blobs = append(ids, res.BlobID()), append(blobs, b)
	}
	for _, id := range ids {
		if err := e.nw.WaitHeld(e.ctx, id); err != nil {
			e.t.Fatal(err)
		}
	}
	return ids, blobs
}

// shardBytes is the sliver bytes of shard's pairs of the blobs.
func (e *env) shardBytes(blobs [][]byte, shard uint16) int {
	e.t.Helper()
	total := 0
	for _, b := range blobs {
		enc, err := e.codec.Encode(b)
		if err != nil {
			e.t.Fatal(err)
		}
		p := enc.Pair(enc.BlobID.PairForShard(int(shard), e.codec.Params().N))
		total += len(p.Primary.Data) + len(p.Secondary.Data)
	}
	return total
}

// shardMove is a shard a committee change moves.
type shardMove struct {
	shard    uint16
	from, to int    // node indices
	epoch    uint32 // the epoch it moves at
}

// planMove stakes 1 WAL with a node holding the fewest shards of the
// genesis committee (4 equal stakes: shards 3, 3, 2, 2), which at the next
// change takes exactly one shard from a node holding three (D'Hondt), moves
// the clock to the midpoint, where the next committee is chosen, and
// returns the move it makes. The epoch has not changed yet.
func (e *env) planMove() shardMove {
	e.t.Helper()
	return e.planMoveWith(e.leastShards(), chain.FrostPerWAL)
}

// planMoveWith stakes extra FROST with node to and plans the move it makes.
func (e *env) planMoveWith(to int, extra uint64) shardMove {
	e.t.Helper()
	if _, err := e.nw.Chain.Stake(e.ctx, e.nw.Wallet, e.nw.Nodes[to].ID(), extra); err != nil {
		e.t.Fatal(err)
	}
	before := e.committee()
	if err := e.nw.AdvanceToMidpoint(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	next, err := e.nw.Chain.Committee(e.ctx, before.Epoch+1)
	if err != nil {
		e.t.Fatal(err)
	}
	var gained []uint16
	for _, s := range e.shards(next, to) {
		if !slices.Contains(e.shards(before, to), s) {
			gained = append(gained, s)
		}
	}
	if len(gained) != 1 {
		e.t.Fatalf("node %d gains shards %v (holds %v, will hold %v), want exactly one", to, gained, e.shards(before, to), e.shards(next, to))
	}
	i, _ := before.MemberForShard(gained[0])
	from := e.nw.NodeByID(before.Members[i].NodeID)
	return shardMove{shard: gained[0], from: from.Index, to: to, epoch: next.Epoch}
}

// advance ends the epoch: the planned move starts.
func (e *env) advance(mv shardMove) {
	e.t.Helper()
	epoch, err := e.nw.AdvanceEpoch(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if epoch != mv.epoch {
		e.t.Fatalf("advanced to epoch %d, the move is at %d", epoch, mv.epoch)
	}
}

// waitSynced waits until node i holds every blob and syncs no shard, and
// the epoch change is done.
func (e *env) waitSynced(i int, ids []encoding.BlobID) {
	e.t.Helper()
	for _, id := range ids {
		if err := e.nw.WaitHeld(e.ctx, id, i); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := waitUntil(func() error {
		if st := e.nw.Nodes[i].Running().Status(e.ctx); len(st.SyncingShards) > 0 || st.Epoch < e.committee().Epoch {
			return fmt.Errorf("node %d syncs shards %v in epoch %d", i, st.SyncingShards, st.Epoch)
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.nw.WaitChangeDone(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// readers reads every blob over and over with a client until stop, and
// returns the errors and the rounds completed.
func readers(t *testing.T, c *client.Client, ids []encoding.BlobID, blobs [][]byte) (stop func() (errs []error, rounds int)) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var errs []error
	rounds := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for k, id := range ids {
				got, err := c.ReadBlob(ctx, id, client.ReadOptions{})
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("blob %d: %w", k, err))
				} else if !bytes.Equal(got, blobs[k]) {
					errs = append(errs, fmt.Errorf("blob %d reads back different", k))
				}
				mu.Unlock()
			}
			mu.Lock()
			rounds++
			mu.Unlock()
		}
	}()
	return func() ([]error, int) {
		// One more whole round after the change, then stop.
		mu.Lock()
		want := rounds + 1
		mu.Unlock()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			r := rounds
			mu.Unlock()
			if r >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return errs, rounds
	}
}

// TestShardSyncMovesShard: a committee change moves one shard; its new
// holder pulls it from the previous holder over shard sync — the bytes it
// receives are the shard's slivers, not the blobs, and nothing is
// recovered — while every blob reads throughout and a blob written during
// the change goes to the new committee. The previous holder keeps the
// shard until the new holder reports sync done, then deletes it.
func TestShardSyncMovesShard(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: syncConfig})
	c := nettest.Client(t, e.nw)
	ids, blobs := e.storeSet(c, 8, 12_000)
	mv := e.planMove()
	rx0 := e.metric(mv.to, "recovery_bytes_total") // recovered while the set was stored
	stop := readers(t, c, ids, blobs)
	e.advance(mv)

	// A write during the change: stored by the new committee.
	during := nettest.Blob(15_000, 99)
	res, err := c.Store(e.ctx, during, storeOpts(5))
	if err != nil {
		t.Fatalf("a store during the epoch change: %v", err)
	}
	if res.NewlyCreated == nil || res.NewlyCreated.BlobObject.CertifiedEpoch == nil || *res.NewlyCreated.BlobObject.CertifiedEpoch != mv.epoch {
		t.Fatalf("the store during the change: %+v, want certified in epoch %d", res.NewlyCreated, mv.epoch)
	}
	e.waitSynced(mv.to, append(slices.Clone(ids), res.BlobID()))
	errs, rounds := stop()
	if len(errs) > 0 || rounds < 1 {
		t.Fatalf("reads during the change: %d rounds, errors %v", rounds, errs)
	}
	if got := readAll(t, c, res.BlobID()); !bytes.Equal(got, during) {
		t.Fatal("the blob stored during the change reads back different")
	}

	want := e.shardBytes(blobs, mv.shard)
	got := e.metric(mv.to, "shard_sync_bytes_total")
	total := 0
	for _, b := range blobs {
		total += len(b)
	}
	t.Logf("shard %d moved from node %d to node %d: %.0f bytes over shard sync for a shard of %d bytes (blobs: %d bytes)",
		mv.shard, mv.from, mv.to, got, want, total)
	if int(got) != want {
		t.Fatalf("node %d received %.0f bytes over shard sync, want the shard's %d", mv.to, got, want)
	}
	if got := e.metric(mv.to, "shard_sync_pairs_total"); int(got) != len(ids) {
		t.Fatalf("node %d stored %.0f pairs over shard sync, want %d", mv.to, got, len(ids))
	}
	for _, m := range []string{"shard_sync_recovered_pairs_total", "shard_sync_fallbacks_total"} {
		if v := e.metric(mv.to, m); v != 0 {
			t.Errorf("node %d: %s = %v, want 0", mv.to, m, v)
		}
	}
	if v := e.metric(mv.to, "recovery_bytes_total") - rx0; v != 0 {
		t.Errorf("node %d received %v bytes of recovery symbols during the move, want 0", mv.to, v)
	}
	if got := e.metric(mv.from, "shard_sync_served_pairs_total"); int(got) != len(ids) {
		t.Errorf("node %d served %.0f pairs, want %d", mv.from, got, len(ids))
	}
	// The previous holder drops the shard once the new one reported.
	if err := waitUntil(func() error {
		if e.metric(mv.from, "shards_dropped_total") < 1 {
			return errNotYet
		}
		return nil
	}); err != nil {
		t.Fatalf("node %d kept shard %d: %v", mv.from, mv.shard, err)
	}
	if shards := e.storedShards(mv.from, ids[0]); slices.Contains(shards, mv.shard) {
		t.Fatalf("node %d still stores shard %d", mv.from, mv.shard)
	}
	e.readBack(mustEncode(t, e, blobs[0]))
}

func mustEncode(t *testing.T, e *env, b []byte) *encoding.EncodedBlob {
	t.Helper()
	enc, err := e.codec.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// TestShardSyncFallsBack: when the previous holder is down, slow, lies
// about pairs or truncates its responses, the new holder recovers what it
// did not get from all nodes, and holds the whole shard in the end.
func TestShardSyncFallsBack(t *testing.T) {
	for _, tt := range []struct {
		name string
		// fault makes the previous holder (node from) misbehave.
		fault func(e *env, from int)
		// pulled is how many pairs shard sync stores; the rest is
		// recovered.
		pulled int
	}{
		{"holder down", func(e *env, from int) { nettest.Must(t, e.nw.StopNode(from), "stopping node %d", from) }, 0},
		{"holder slow", func(e *env, from int) { e.nw.Nodes[from].Faults.SetDelay(faults.OpShardSync, time.Minute) }, 0},
		{"holder lies about slivers", func(e *env, from int) { e.nw.Nodes[from].Faults.Set(faults.LieSlivers) }, 0},
		{"holder truncates", func(e *env, from int) { e.nw.Nodes[from].Faults.Set(faults.TruncateSync) }, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nettest.Options{NodeConfig: func(_ int, c *node.Config) {
				c.ShardSyncTimeout = time.Second
				c.ShardSyncAttempts = 2
			}})
			c := nettest.Client(t, e.nw)
			ids, blobs := e.storeSet(c, 4, 10_000)
			mv := e.planMove()
			tt.fault(e, mv.from)
			stop := readers(t, c, ids, blobs)
			e.advance(mv)
			e.waitSynced(mv.to, ids)
			errs, rounds := stop()
			if len(errs) > 0 || rounds < 1 {
				t.Fatalf("reads during the change: %d rounds, errors %v", rounds, errs)
			}
			pulled, recovered := e.metric(mv.to, "shard_sync_pairs_total"), e.metric(mv.to, "shard_sync_recovered_pairs_total")
			if int(pulled) != tt.pulled || int(pulled+recovered) != len(ids) {
				t.Fatalf("node %d: %v pairs pulled and %v recovered, want %d pulled of %d", mv.to, pulled, recovered, tt.pulled, len(ids))
			}
			if e.metric(mv.to, "shard_sync_fallbacks_total") != 1 && tt.pulled == 0 {
				t.Errorf("node %d: no fallback counted", mv.to)
			}
			for i := range e.nw.Nodes {
				e.nw.Nodes[i].Faults.Set(faults.Honest)
				e.nw.Nodes[i].Faults.SetDelay(0, 0)
				nettest.Must(t, e.nw.StartNode(e.ctx, i), "starting node %d", i)
			}
			e.readBack(mustEncode(t, e, blobs[0]))
		})
	}
}

// TestShardSyncResumes: a node restarted in the middle of a shard sync
// resumes from its stored cursor: it pulls the pairs it lacks, not the whole
// shard again.
func TestShardSyncResumes(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: func(i int, c *node.Config) {
		syncConfig(i, c)
		c.ShardSyncBatch = 2
	}})
	c := nettest.Client(t, e.nw)
	ids, _ := e.storeSet(c, 10, 3_000)
	mv := e.planMove()
	// The holder serves a response per 250 ms: 5 responses of 2 pairs.
	e.nw.Nodes[mv.from].Faults.SetDelay(faults.OpShardSync, 250*time.Millisecond)
	e.advance(mv)
	var first float64
	if err := waitUntil(func() error {
		if first = e.metric(mv.to, "shard_sync_pairs_total"); first < 4 {
			return errNotYet
		}
		return nil
	}); err != nil {
		t.Fatalf("node %d does not sync: %v", mv.to, err)
	}
	nettest.Must(t, e.nw.RestartNode(e.ctx, mv.to), "restarting node %d", mv.to)
	e.waitSynced(mv.to, ids)
	again := e.metric(mv.to, "shard_sync_pairs_total") // since the restart
	t.Logf("node %d pulled %.0f pairs, restarted, then pulled %.0f of %d", mv.to, first, again, len(ids))
	if again == 0 || first+again > float64(len(ids)) {
		t.Fatalf("after pulling %.0f pairs and a restart, node %d pulled %.0f more of %d: it started over", first, mv.to, again, len(ids))
	}
	if v := e.metric(mv.to, "shard_sync_recovered_pairs_total"); v != 0 {
		t.Errorf("node %d recovered %v pairs", mv.to, v)
	}
	served := e.nw.Nodes[mv.from].Faults.ShardSyncPairs.Load()
	if served > int64(len(ids))+2 { // at most one response lost to the restart
		t.Errorf("node %d served %d pairs for a shard of %d", mv.from, served, len(ids))
	}
}

// TestShardSyncRefusesOthers: the previous holder serves the moving shard
// to its new holder only: a committee member that was not assigned it (node
// A, with A's own network key) and a stranger are refused, and so are
// requests for a shard the requester holds in no committee.
func TestShardSyncRefusesOthers(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: syncConfig})
	c := nettest.Client(t, e.nw)
	e.storeSet(c, 2, 3_000)
	before := e.committee()
	mv := e.planMove()
	e.advance(mv)
	epoch := mv.epoch
	other := 0
	for other == mv.from || other == mv.to {
		other++
	}
	key := e.nw.Nodes[other].Keys.Network
	h, err := p2p.NewHost(e.ctx, p2p.HostConfig{Key: key, NoListen: true, Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.SetPeerAddrs(e.pid(mv.from), e.nw.Nodes[mv.from].Config.ListenAddrs); err != nil {
		t.Fatal(err)
	}
	member := p2p.NewClient(h)
	for _, tt := range []struct {
		name string
		c    *p2p.Client
		req  p2p.ShardSyncRequest
	}{
		{"a member not assigned the shard", member, p2p.ShardSyncRequest{Epoch: epoch, Shard: mv.shard, Limit: 10}},
		{"a stranger", e.p2p, p2p.ShardSyncRequest{Epoch: epoch, Shard: mv.shard, Limit: 10}},
		{"a past epoch", member, p2p.ShardSyncRequest{Epoch: epoch - 1, Shard: e.shards(before, other)[0], Limit: 10}},
		{"an epoch without a committee", member, p2p.ShardSyncRequest{Epoch: epoch + 1, Shard: e.shards(before, other)[0], Limit: 10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.SyncShard(e.ctx, e.pid(mv.from), tt.req, func(*p2p.ShardSyncPair) error {
				t.Fatal("a pair for a requester not assigned the shard")
				return nil
			})
			if !errors.Is(err, p2p.ErrNotAssigned) {
				t.Fatalf("err = %v, want ErrNotAssigned", err)
			}
		})
	}
	if n := e.metric(mv.from, "shard_sync_served_pairs_total"); n > 2 {
		t.Errorf("node %d served %v pairs", mv.from, n)
	}
}

// TestShardSyncNewNode: a node that joins the committee lacks the metadata
// of the blobs stored before it; it asks for it with the pairs, verifies
// it and keeps it.
func TestShardSyncNewNode(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: syncConfig})
	c := nettest.Client(t, e.nw)
	ids, blobs := e.storeSet(c, 4, 8_000)
	// 700 WAL: D'Hondt gives the newcomer 2 of the 10 shards (4 × 1000
	// and 700: seats at 1000, 700, 500, 350, 333 ...).
	n, err := e.nw.AddNode(e.ctx, 700*chain.FrostPerWAL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.nw.AdvanceEpoch(e.ctx); err != nil {
		t.Fatal(err)
	}
	shards := e.shards(e.committee(), n.Index)
	if len(shards) == 0 {
		t.Fatal("the new node holds no shard")
	}
	e.waitSynced(n.Index, ids)
	want := 0
	for _, s := range shards {
		want += e.shardBytes(blobs, s)
	}
	want += len(ids) * len(shards) * 66 * e.codec.Params().N // the metadata, with every pair
	if got := e.metric(n.Index, "shard_sync_bytes_total"); int(got) != want {
		t.Fatalf("the new node received %.0f bytes over shard sync, want %d (pairs and metadata)", got, want)
	}
	if v := e.metric(n.Index, "shard_sync_recovered_pairs_total"); v != 0 {
		t.Errorf("the new node recovered %v pairs", v)
	}
	nettest.Must(t, e.host.SetPeerAddrs(e.pid(n.Index), n.Config.ListenAddrs), "the new node's addresses")
	for _, id := range ids {
		md, err := e.p2p.GetMetadata(e.ctx, e.pid(n.Index), id, e.codec.Params().N)
		if err != nil || md.BlobID() != id {
			t.Fatalf("the new node's metadata of blob %s: %v", id, err)
		}
	}
}

// BenchmarkShardMove moves one shard of a blob set to a new holder at an
// epoch change, over shard sync and (the previous holder made unreachable
// for shard sync) over recovery from all nodes, on 4 nodes. The time is
// from the epoch change until the new holder holds the shard; MB/s counts
// the shard's sliver bytes; rx/shard is the bytes the new holder received
// (pairs, or recovery symbols with their proofs) per byte of the shard.
func BenchmarkShardMove(b *testing.B) {
	for _, shape := range []struct {
		n     int
		sizes []int // the blob set: count blobs of each size
		count int
	}{
		{10, []int{16 << 10, 128 << 10, 1 << 20}, 16},
		{100, []int{64 << 10, 1 << 20, 4 << 20}, 8},
	} {
		for _, via := range []string{"sync", "recovery"} {
			b.Run(fmt.Sprintf("n=%d/blobs=%d/via=%s", shape.n, shape.count*len(shape.sizes), via), func(b *testing.B) {
				var rx, shard float64
				for range b.N {
					b.StopTimer()
					r, s := benchShardMove(b, shape.n, shape.sizes, shape.count, via)
					rx, shard = rx+r, shard+s
				}
				b.SetBytes(int64(shard / float64(b.N)))
				b.ReportMetric(rx/shard, "rx/shard")
				b.ReportMetric(rx/float64(b.N), "rx-bytes/op")
			})
		}
	}
}

// benchShardMove runs one move (the timer stopped on entry, running for the
// move) and returns the bytes the new holder received and the shard's size.
func benchShardMove(b *testing.B, n int, sizes []int, count int, via string) (rx, shard float64) {
	e := newEnv(b, nettest.Options{Nodes: 4, Shards: n, NodeConfig: func(_ int, c *node.Config) {
		if via == "recovery" {
			c.ShardSyncTimeout = time.Millisecond
			c.ShardSyncAttempts = 1
		}
	}})
	c := nettest.Client(b, e.nw, func(c *client.Config) { c.TransferTimeout = 5 * time.Minute; c.RequestTimeout = time.Minute })
	var ids []encoding.BlobID
	var blobs [][]byte
	for k := range count {
		for j, size := range sizes {
			blob := nettest.Blob(size, uint32(1000*k+j))
			res, err := c.Store(e.ctx, blob, storeOpts(20))
			if err != nil {
				b.Fatal(err)
			}
			ids, blobs = append(ids, res.BlobID()), append(blobs, blob)
		}
	}
	for _, id := range ids {
		nettest.Must(b, e.nw.WaitHeld(e.ctx, id), "waiting for blob %s", id)
	}
	// 4 equal stakes hold k or kmax shards; the node with k gets one more,
	// and exactly one shard moves to it (D'Hondt), once its k+1-th quotient
	// passes the others' last: stake·(k+1)/kmax, and a WAL.
	com := e.committee()
	to := e.leastShards()
	k, kmax := len(e.shards(com, to)), 0
	for i := range e.nw.Nodes {
		kmax = max(kmax, len(e.shards(com, i)))
	}
	extra := uint64(network.DefaultNodeStake)*uint64(k+1)/uint64(kmax) - network.DefaultNodeStake + chain.FrostPerWAL
	mv := e.planMoveWith(to, extra)
	if via == "recovery" {
		e.nw.Nodes[mv.from].Faults.SetDelay(faults.OpShardSync, time.Hour)
	}
	shard = float64(e.shardBytes(blobs, mv.shard))
	// What the new holder recovered while the set was stored (a client
	// returns at a quorum) is not the move's.
	rx0 := e.metric(mv.to, "recovery_bytes_total")
	b.StartTimer()
	e.advance(mv)
	for {
		st := e.nw.Nodes[mv.to].Running().Status(e.ctx)
		if st.Epoch >= mv.epoch && len(st.SyncingShards) == 0 &&
			e.metric(mv.to, "shard_sync_pairs_total")+e.metric(mv.to, "shard_sync_recovered_pairs_total") >= float64(len(ids)) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	rx = e.metric(mv.to, "shard_sync_bytes_total") + e.metric(mv.to, "recovery_bytes_total") - rx0
	if via == "sync" && e.metric(mv.to, "shard_sync_recovered_pairs_total") != 0 || via == "recovery" && e.metric(mv.to, "shard_sync_pairs_total") != 0 {
		b.Fatalf("the move did not go %s", via)
	}
	return rx, shard
}
