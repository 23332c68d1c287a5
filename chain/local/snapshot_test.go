package local

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/encoding"
)

// fill makes n blocks of one transfer each.
func fill(t *testing.T, c *Chain, net *chaintest.Network, n int) {
	t.Helper()
	to := chaintest.NewAccount(400).Address()
	for range n {
		if _, err := c.TransferWAL(t.Context(), net.Client, to, 1); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotRestart: a restart replays only the blocks after the last
// snapshot: none after Close, fewer than SnapshotInterval after a crash.
func TestSnapshotRestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	net := restartNet()
	g := genesisOf(net)
	cfg := Config{Dir: dir, Genesis: g, NoSync: true, SnapshotInterval: 10}
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, c, net, 25)
	before, _ := c.Head(ctx)
	c.noCloseSnapshot = true // as a crash would
	c.Close()
	if before.Height != 25 {
		t.Fatalf("%d blocks, want one per transaction", before.Height)
	}

	c, err = Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := c.Head(ctx)
	if c.replayed != 5 || c.snapHeight != 20 || after.StateRoot != before.StateRoot {
		t.Fatalf("after a crash: replayed %d blocks (want 5, after the snapshot of block 20), root %s want %s",
			c.replayed, after.StateRoot, before.StateRoot)
	}
	fill(t, c, net, 3)
	before, _ = c.Head(ctx)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	after, _ = c.Head(ctx)
	c.Close()
	if c.replayed != 0 || after.StateRoot != before.StateRoot || after.Height != 28 {
		t.Fatalf("after Close: replayed %d blocks, want 0; head %+v", c.replayed, after)
	}

	// VerifyReplay replays everything and agrees with the snapshot.
	c, err = Open(ctx, Config{Dir: dir, VerifyReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	after, _ = c.Head(ctx)
	c.Close()
	if c.replayed != 28 || after.StateRoot != before.StateRoot {
		t.Fatalf("verified replay: %d blocks, root %s", c.replayed, after.StateRoot)
	}
}

// TestSnapshotChecked: a snapshot that does not decode, or whose last block
// is not the log's, is ignored and the log replayed; one whose content was
// changed (resealed) is found by VerifyReplay.
func TestSnapshotChecked(t *testing.T) {
	ctx := t.Context()
	net := restartNet()
	g := genesisOf(net)
	setup := func() (string, Head) {
		dir := t.TempDir()
		c, err := Open(ctx, Config{Dir: dir, Genesis: g, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		fill(t, c, net, 4)
		h, _ := c.Head(ctx)
		c.Close()
		return dir, h
	}
	reopen := func(dir string, want Head) *Chain {
		t.Helper()
		c, err := Open(ctx, Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if h, _ := c.Head(ctx); h.StateRoot != want.StateRoot {
			t.Fatalf("reopened to another state")
		}
		return c
	}
	// A byte flipped: the checksum fails.
	dir, h := setup()
	flipLastByte(t, dir, keySnapshot)
	if c := reopen(dir, h); c.replayed != 4 {
		t.Errorf("corrupt snapshot: replayed %d blocks, want all 4", c.replayed)
	}
	// Resealed with another last block hash: not of this log.
	dir, h = setup()
	rewriteSnapshot(t, dir, g, func(st *state) { st.lastHash[0] ^= 1 })
	if c := reopen(dir, h); c.replayed != 4 {
		t.Errorf("snapshot of another block: replayed %d blocks, want all 4", c.replayed)
	}
	// Resealed with a balance changed: trusted by default, caught by
	// VerifyReplay.
	dir, _ = setup()
	rewriteSnapshot(t, dir, g, func(st *state) { st.balances[net.Client.Address()]++ })
	if _, err := Open(ctx, Config{Dir: dir, VerifyReplay: true}); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("verified replay of a doctored snapshot: %v", err)
	}
}

// rewriteSnapshot changes the stored snapshot with f and reseals it.
func rewriteSnapshot(t *testing.T, dir string, g *Genesis, f func(*state)) {
	t.Helper()
	d, err := openDB(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	stored, _, err := d.loadMeta()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := genesisState(stored)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := d.get(keySnapshot)
	payload, err := unseal(rec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(gs.p, payload)
	if err != nil {
		t.Fatal(err)
	}
	f(st)
	if err := d.writeSnapshot(seal(st.encodeState()), true); err != nil {
		t.Fatal(err)
	}
}

// TestStateCodec: a state decodes from its serialization to itself, and
// the decoded state goes on exactly as the original.
func TestStateCodec(t *testing.T) {
	t.Parallel()
	m := newModel(t, 11)
	for range 120 {
		m.step()
	}
	m.closeBlock()
	snap := m.st.encodeState()
	n := len(m.blocks)
	m.newBlock(0)
	for range 120 {
		m.step()
	}
	m.closeBlock()
	st, err := decodeState(m.st.p, snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.encodeState(); string(got) != string(snap) {
		t.Fatal("re-encoding a decoded state gives other bytes")
	}
	for _, b := range m.blocks[n:] {
		if err := replayBlock(st, b, true); err != nil {
			t.Fatal(err)
		}
	}
	if st.root() != m.st.root() {
		t.Fatal("the decoded state went on to another state")
	}
	if _, err := decodeState(m.st.p, append(snap, 0)); !errors.Is(err, chain.ErrCorrupt) {
		t.Errorf("trailing byte: %v", err)
	}
	other := m.st.p
	other.chainID[0] ^= 1
	if _, err := decodeState(other, snap); !errors.Is(err, chain.ErrCorrupt) {
		t.Errorf("state of another chain: %v", err)
	}
}

// FuzzDecodeState: arbitrary bytes decode to a state whose serialization
// they are, or fail with ErrCorrupt; never a panic or an allocation larger
// than the input allows.
func FuzzDecodeState(f *testing.F) {
	net := chaintest.NewNetwork(3, 10, 10)
	g := genesisOf(net)
	g.EnsureDefaults()
	g.Time = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	gs, err := genesisState(g)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(gs.encodeState())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(gs.p, b)
		if err != nil {
			if !errors.Is(err, chain.ErrCorrupt) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if string(st.encodeState()) != string(b) {
			t.Fatal("decoded state re-encodes to other bytes")
		}
	})
}

// nextEpochLocal moves c to the next epoch and reports every member synced.
func nextEpochLocal(t *testing.T, c *Chain, clk *manualClock, net *chaintest.Network) {
	t.Helper()
	ctx := t.Context()
	clk.Add(net.EpochDuration)
	must(t, c.Tick(ctx))
	s, err := c.SystemState(ctx)
	must(t, err)
	com, err := c.Committee(ctx, s.Epoch)
	must(t, err)
	for _, m := range com.Members {
		for _, n := range net.Nodes {
			if n.Key.PublicKey() == m.PublicKey {
				_, err := c.EpochSyncDone(ctx, n.Operator, m.NodeID, s.Epoch)
				must(t, err)
			}
		}
	}
}

// TestPruneExpired: blob objects and storage resources stay readable for
// ExpiredRetention epochs after their end epoch, then leave the state.
func TestPruneExpired(t *testing.T) {
	net := restartNet()
	c, clk := openTest(t, genesisOf(net), "")
	ctx := context.Background()
	owner := net.Client
	var root encoding.Hash
	root[0] = 1
	reg, err := c.RegisterBlob(ctx, owner, chain.RegisterBlobArgs{
		BlobID: encoding.ComputeBlobID(encoding.RS2, 100, root), RootHash: root, Size: 100, EncodingType: encoding.RS2, Epochs: 1,
	})
	must(t, err)
	res, err := c.ReserveStorage(ctx, owner, 1000, 1)
	must(t, err)
	long, err := c.ReserveStorage(ctx, owner, 1000, 5)
	must(t, err)
	present := func() (blob, storage bool) {
		_, err := c.BlobObject(ctx, reg.Blob.ID)
		blobs, _ := c.BlobObjects(ctx, owner.Address())
		rs, _ := c.StorageResources(ctx, owner.Address())
		if (err == nil) != (len(blobs) == 1) {
			t.Fatalf("BlobObject and BlobObjects disagree: %v %d", err, len(blobs))
		}
		for _, r := range rs {
			if r.ID == res.Storage.ID {
				storage = true
			}
		}
		if len(rs) == 0 || rs[len(rs)-1].ID != long.Storage.ID && rs[0].ID != long.Storage.ID {
			t.Fatal("the storage that has not ended is gone")
		}
		return err == nil, storage
	}
	// They end at epoch 2 and are pruned when epoch 2 + ExpiredRetention
	// starts.
	for e := uint32(2); e <= 2+ExpiredRetention; e++ {
		nextEpochLocal(t, c, clk, net)
		b, s := present()
		if want := e < 2+ExpiredRetention; b != want || s != want {
			t.Fatalf("epoch %d: blob object present %v, storage present %v, want %v", e, b, s, want)
		}
	}
	if _, err := c.BlobObject(ctx, reg.Blob.ID); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("pruned blob object: %v", err)
	}
	c.mu.RLock()
	_, indexed := c.st.byBlobID[reg.Blob.BlobID]
	c.mu.RUnlock()
	if indexed {
		t.Error("the pruned blob ID is still indexed")
	}
}

// TestPruneKeepsSharedBlobs: a blob object wrapped in a shared blob is not
// pruned once it has expired (the shared blob and its funds stay), and the
// state with it survives a restart from the snapshot.
func TestPruneKeepsSharedBlobs(t *testing.T) {
	net := restartNet()
	dir := t.TempDir()
	c, clk := openTest(t, genesisOf(net), dir)
	ctx := context.Background()
	owner := net.Client
	var root encoding.Hash
	root[0] = 2
	reg, err := c.RegisterBlob(ctx, owner, chain.RegisterBlobArgs{
		BlobID: encoding.ComputeBlobID(encoding.RS2, 100, root), RootHash: root, Size: 100, EncodingType: encoding.RS2, Epochs: 1,
	})
	must(t, err)
	sb, err := c.ShareBlob(ctx, owner, reg.Blob.ID, 5)
	must(t, err)
	for range 2 + ExpiredRetention {
		nextEpochLocal(t, c, clk, net)
	}
	got, err := c.SharedBlob(ctx, sb.ID)
	if err != nil || got.Funds != 5 || got.Blob.ID != reg.Blob.ID {
		t.Fatalf("shared blob after its blob's retention: %+v, %v", got, err)
	}
	if _, err := c.ExtendSharedBlob(ctx, owner, sb.ID, 1); !errors.Is(err, chain.ErrBlobExpired) {
		t.Fatalf("extending an expired shared blob: %v", err)
	}
	if _, err := c.FundSharedBlob(ctx, owner, sb.ID, 1); err != nil {
		t.Fatalf("funding an expired shared blob: %v", err)
	}
	must(t, c.Close())
	c2, _ := openTest(t, genesisOf(net), dir)
	if got, err := c2.SharedBlob(ctx, sb.ID); err != nil || got.Funds != 6 || got.Blob.ID != reg.Blob.ID {
		t.Fatalf("shared blob after a restart: %+v, %v", got, err)
	}
}
