package node_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
	"github.com/walrus-go/walrus/store"
)

// scrubFast scrubs at 1 GiB/s with a new pass every half second.
func scrubFast(_ int, c *node.Config) {
	c.ScrubRate = 1 << 30
	c.ScrubInterval = 500 * time.Millisecond
}

// scrubStatus is node i's scrub status (nil when it is stopped).
func scrubStatus(nw *network.Network, i int) *node.ScrubStatus {
	run := nw.Nodes[i].Running()
	if run == nil {
		return nil
	}
	return run.Status(context.Background()).Scrub
}

// flipInFiles xors 0x20 into a byte of needle wherever it appears in the
// sstables, blob files and sliver log segments of dir, and reports how many
// files it changed.
func flipInFiles(t *testing.T, dir string, needle []byte) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	// Large values (slivers) live in Pebble's blob files (value separation).
	blobFiles, err := filepath.Glob(filepath.Join(dir, "*.blob"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, blobFiles...)
	// Slivers of 32 KiB and more live in the store's sliver log.
	segments, err := filepath.Glob(filepath.Join(dir, "slivers", "*.slv"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, segments...)
	n := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, needle); i >= 0 {
			b[i+7] ^= 0x20
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// TestScrubRepairsBitFlips stores blobs, stops a node, flips bytes of two of
// its slivers in its Pebble tables on disk, and starts it again: the
// scrubber must find the damaged table, excise it, have recovery rebuild
// what it held, and the node must serve every sliver byte-identical; its
// store must compact and verify cleanly afterwards.
func TestScrubRepairsBitFlips(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: scrubFast})
	var blobs []*encoding.EncodedBlob
	for i := range 3 {
		// 400 KB: slivers of some 40 KiB, one to a Pebble block.
		enc, _ := e.storeBlob(randomBytes(400_000, uint64(70+i)), 5, false)
		blobs = append(blobs, enc)
	}
	const victim = 1
	com := e.committee()
	shards := e.shards(com, victim)
	if len(shards) < 2 {
		t.Fatalf("node %d holds shards %v, want 2 or more", victim, shards)
	}
	for _, enc := range blobs {
		if err := e.nw.WaitHeld(e.ctx, enc.BlobID, victim); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(e.nw.Nodes[victim].Config.DataDir, "db")
	// A restart writes the WAL's data into tables (Pebble flushes what it
	// replays).
	if err := e.nw.RestartNode(e.ctx, victim); err != nil {
		t.Fatal(err)
	}
	if err := e.nw.StopNode(victim); err != nil {
		t.Fatal(err)
	}
	primary := blobs[0].Pair(blobs[0].BlobID.PairForShard(int(shards[0]), com.NShards)).Primary
	secondary := blobs[2].Pair(blobs[2].BlobID.PairForShard(int(shards[1]), com.NShards)).Secondary
	flipped := flipInFiles(t, dir, primary.Data[2000:2064]) + flipInFiles(t, dir, secondary.Data[500:564])
	if flipped == 0 {
		t.Fatalf("the slivers' bytes are in no table of %s", dir)
	}
	start := time.Now()
	if err := e.nw.StartNode(e.ctx, victim); err != nil {
		t.Fatal(err)
	}
	var st *node.ScrubStatus
	err := waitUntil(func() error {
		st = scrubStatus(e.nw, victim)
		// Slivers live in Pebble's blob files (value separation): damage
		// there is found by the pair checks (dropped and rebuilt), damage
		// in a table by its block checks (excised).
		if st == nil || st.ExcisedTables+st.PairsDropped < 2 || st.AwaitingRepair > 0 || st.PairsRepaired < st.PairsDropped {
			return fmt.Errorf("%w: scrub status %+v", errNotYet, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("repaired in %s: %d tables damaged, %d excised, %d pairs dropped and rebuilt (last in %.2fs), %d metadata fetched; %d tables and %d B verified",
		time.Since(start).Round(time.Millisecond), st.DamagedTables, st.ExcisedTables, st.PairsDropped, st.LastRepairSeconds,
		st.MetadataFetched, st.TablesVerified, st.BytesVerified)
	if len(st.Lost) > 0 {
		t.Errorf("the excision lost node state: %v", st.Lost)
	}
	for _, enc := range blobs {
		if err := e.nw.WaitHeld(e.ctx, enc.BlobID, victim); err != nil {
			t.Fatal(err)
		}
		e.readBack(enc)
	}
	// A full pass after the repair finds nothing more.
	passes := st.Passes
	err = waitUntil(func() error {
		st = scrubStatus(e.nw, victim)
		if st.Passes < passes+2 {
			return fmt.Errorf("%w: %d passes", errNotYet, st.Passes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.BadSlivers != 0 && st.BadSlivers > st.PairsDropped {
		t.Errorf("bad slivers %d, dropped %d", st.BadSlivers, st.PairsDropped)
	}
	if err := e.nw.StopNode(victim); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(dir, store.Options{Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Compact(e.ctx); err != nil {
		t.Fatalf("Compact of the repaired store: %v", err)
	}
	tables, err := s.Tables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if err := s.VerifyTable(e.ctx, tb, nil); err != nil {
			t.Errorf("VerifyTable of the repaired store: %v", err)
		}
	}
	if d := s.Damaged(); len(d) > 0 {
		t.Errorf("damage left: %v", d)
	}
}

// TestScrubDiskReadErrors makes a node's table reads fail for a while: read
// errors are not damage, so nothing is dropped, and the scrub goes on once
// the disk reads again.
func TestScrubDiskReadErrors(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: scrubFast})
	enc, _ := e.storeBlob(randomBytes(200_000, 90), 5, false)
	const victim = 2
	if err := e.nw.RestartNode(e.ctx, victim); err != nil { // into tables
		t.Fatal(err)
	}
	disk := e.nw.Nodes[victim].Disk
	disk.FailReads(true)
	err := waitUntil(func() error {
		if disk.Injected() < 3 {
			return fmt.Errorf("%w: %d errors injected", errNotYet, disk.Injected())
		}
		return nil
	})
	disk.FailReads(false)
	if err != nil {
		t.Fatal(err)
	}
	passes := scrubStatus(e.nw, victim).Passes
	var st *node.ScrubStatus
	err = waitUntil(func() error {
		st = scrubStatus(e.nw, victim)
		if st.Passes < passes+1 || st.PairsVerified == 0 {
			return fmt.Errorf("%w: %+v", errNotYet, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.PairsDropped != 0 || st.BadSlivers != 0 || st.ExcisedTables != 0 {
		t.Errorf("read errors were taken for damage: %+v", st)
	}
	e.readBack(enc)
}

// TestScrubCursorPersists checks that the scrub position survives a
// restart: the passes counted before it are still counted after.
func TestScrubCursorPersists(t *testing.T) {
	e := newEnv(t, nettest.Options{Nodes: 4, NodeConfig: func(i int, c *node.Config) {
		scrubFast(i, c)
		c.ScrubInterval = time.Hour // one pass, then idle
	}})
	e.storeBlob(randomBytes(50_000, 91), 5, false)
	if err := e.nw.RestartNode(e.ctx, 0); err != nil {
		t.Fatal(err)
	}
	err := waitUntil(func() error {
		if st := scrubStatus(e.nw, 0); st.Passes < 1 {
			return fmt.Errorf("%w: %+v", errNotYet, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.nw.RestartNode(e.ctx, 0); err != nil {
		t.Fatal(err)
	}
	st := scrubStatus(e.nw, 0)
	if st.Passes != 1 || st.Phase != "idle" || st.LastPassAt == "" {
		t.Errorf("after a restart: %+v, want the pass done before it, idle", st)
	}
	b, err := os.ReadFile(filepath.Join(e.nw.Nodes[0].Config.DataDir, "scrub.json"))
	if err != nil || !strings.Contains(string(b), `"passes":1`) {
		t.Errorf("scrub.json = %s, %v", b, err)
	}
}

// TestScrubRepairsWrongSliver stores, in a stopped node's store, a sliver
// whose checksum is right but whose bytes are not the blob's (a bit flipped
// before the store sealed it): the scrubber's check against the metadata
// catches it, drops the pair and recovery rebuilds it.
func TestScrubRepairsWrongSliver(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: scrubFast})
	enc, _ := e.storeBlob(randomBytes(100_000, 92), 5, false)
	const victim = 3
	if err := e.nw.WaitHeld(e.ctx, enc.BlobID, victim); err != nil {
		t.Fatal(err)
	}
	if err := e.nw.StopNode(victim); err != nil {
		t.Fatal(err)
	}
	com := e.committee()
	shard := e.shards(com, victim)[0]
	dir := filepath.Join(e.nw.Nodes[victim].Config.DataDir, "db")
	s, err := store.Open(dir, store.Options{Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	pair := enc.Pair(enc.BlobID.PairForShard(int(shard), com.NShards))
	bad := pair
	bad.Secondary.Data = bytes.Clone(pair.Secondary.Data)
	bad.Secondary.Data[17] ^= 0x01
	if err := s.PutPair(e.ctx, shard, enc.BlobID, bad); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.nw.StartNode(e.ctx, victim); err != nil {
		t.Fatal(err)
	}
	var st *node.ScrubStatus
	err = waitUntil(func() error {
		st = scrubStatus(e.nw, victim)
		if st.BadSlivers == 0 || st.PairsRepaired < st.PairsDropped || st.AwaitingRepair > 0 {
			return fmt.Errorf("%w: %+v", errNotYet, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.BadSlivers != 1 || st.PairsDropped != 1 || st.ExcisedTables != 0 {
		t.Errorf("scrub status %+v, want one bad sliver dropped and rebuilt, no table excised", st)
	}
	e.readBack(enc)
}

// TestScrubConfig checks the scrub settings' defaults and bounds.
func TestScrubConfig(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rate     int64
		interval time.Duration
		bad      string
	}{
		{"defaults", 0, 0, ""},
		{"off", -1, 0, ""},
		{"slowest", node.MinScrubRate, time.Minute, ""},
		{"too slow", node.MinScrubRate - 1, 0, "scrub_rate"},
		{"negative interval", 0, -time.Second, "scrub_interval"},
	} {
		c := node.Config{DataDir: t.TempDir(), ScrubRate: tc.rate, ScrubInterval: tc.interval}
		c.EnsureDefaults()
		err := c.Validate()
		if tc.bad == "" && err != nil || tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("%s: Validate = %v, want an error naming %q", tc.name, err, tc.bad)
		}
		if tc.rate == 0 && (c.ScrubRate != node.DefaultScrubRate || c.ScrubInterval == 0 && tc.interval == 0) {
			t.Errorf("%s: defaults %d, %s", tc.name, c.ScrubRate, c.ScrubInterval)
		}
	}
}

// TestScrubRateBounded runs the scrubber at its slowest rate and checks that
// it reads no faster: at most the rate times the time it ran, plus one read.
func TestScrubRateBounded(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: func(_ int, c *node.Config) {
		c.ScrubRate, c.ScrubInterval = node.MinScrubRate, 100*time.Millisecond
	}})
	e.storeBlob(randomBytes(600_000, 93), 5, false)
	if err := e.nw.RestartNode(e.ctx, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var st *node.ScrubStatus
	err := waitUntil(func() error {
		if st = scrubStatus(e.nw, 0); st.BytesVerified == 0 {
			return fmt.Errorf("%w: nothing verified: %+v", errNotYet, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	st = scrubStatus(e.nw, 0)
	elapsed := time.Since(start)
	const oneRead = 256 << 10
	if limit := uint64(elapsed.Seconds()*node.MinScrubRate) + oneRead; st.BytesVerified > limit {
		t.Errorf("verified %d bytes in %s at %d B/s, more than %d", st.BytesVerified, elapsed, node.MinScrubRate, limit)
	}
	t.Logf("verified %d bytes in %s at a rate of %d B/s", st.BytesVerified, elapsed.Round(time.Millisecond), node.MinScrubRate)
}

// TestScrubReplaysLostRecords flips a byte among a node's object records (the
// records it writes from the chain's events). The excision that takes the
// table out loses records; the node drops them all, replays the chain's
// events from the start and ends with each blob's record exactly as before:
// one registration each (none counted twice), every object record back, its
// pairs kept, and a later deletion on chain still drops the deletable blob.
func TestScrubReplaysLostRecords(t *testing.T) {
	e := newEnv(t, nettest.Options{NodeConfig: scrubFast})
	type stored struct {
		enc *encoding.EncodedBlob
		obj chain.BlobObject
	}
	var blobs []stored
	for i := range 3 {
		enc, obj := e.storeBlob(randomBytes(20_000, uint64(80+i)), 5, i == 2)
		blobs = append(blobs, stored{enc, obj})
	}
	const victim = 1
	for _, b := range blobs {
		if err := e.nw.WaitHeld(e.ctx, b.enc.BlobID, victim); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(e.nw.Nodes[victim].Config.DataDir, "db")
	if err := e.nw.RestartNode(e.ctx, victim); err != nil { // into tables
		t.Fatal(err)
	}
	cursor := e.nw.Nodes[victim].Running().Status(e.ctx).EventCursor
	if err := e.nw.StopNode(victim); err != nil {
		t.Fatal(err)
	}
	if flipInFiles(t, dir, blobs[1].obj.ID[:]) == 0 {
		t.Fatalf("the object record is in no table of %s", dir)
	}
	if err := e.nw.StartNode(e.ctx, victim); err != nil {
		t.Fatal(err)
	}
	var st node.Status
	err := waitUntil(func() error {
		st = e.nw.Nodes[victim].Running().Status(e.ctx)
		if st.EventReplays == 0 || st.Replaying {
			return fmt.Errorf("%w: %d replays, replaying %v, scrub %+v", errNotYet, st.EventReplays, st.Replaying, st.Scrub)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Scrub.ExcisedTables == 0 || len(st.Scrub.Lost) == 0 {
		t.Errorf("scrub status %+v: want an excision that lost records", st.Scrub)
	}
	before, err := chain.ParseCursor(cursor)
	if err != nil {
		t.Fatal(err)
	}
	if after, err := chain.ParseCursor(st.EventCursor); err != nil || after.Less(before) {
		t.Errorf("event cursor %s after the replay (%v), %s before", st.EventCursor, err, cursor)
	}
	if err := e.nw.StopNode(victim); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(dir, store.Options{Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blobs {
		rec, err := s.BlobRecord(e.ctx, b.enc.BlobID)
		if err != nil {
			t.Fatalf("blob %d record after the replay: %v", i, err)
		}
		if regs := rec.PermanentRegistered + rec.DeletableRegistered; regs != 1 || !rec.Certified || rec.EndEpoch != b.obj.EndEpoch() {
			t.Errorf("blob %d record after the replay: %+v, want one certified registration to epoch %d", i, rec, b.obj.EndEpoch())
		}
		if orec, err := s.ObjectRecord(e.ctx, b.enc.BlobID, store.ObjectID(b.obj.ID)); err != nil || orec.Deletable != (i == 2) {
			t.Errorf("blob %d object record after the replay: %+v, %v", i, orec, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.nw.StartNode(e.ctx, victim); err != nil {
		t.Fatal(err)
	}
	// Every pair is back (the excision lost their markers), the deletable
	// blob's too: its deletion below is what drops them.
	for _, b := range blobs {
		if err := e.nw.WaitHeld(e.ctx, b.enc.BlobID, victim); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.nw.Chain.DeleteBlob(e.ctx, e.nw.Wallet, blobs[2].obj.ID); err != nil {
		t.Fatal(err)
	}
	gone := blobs[2].enc.BlobID
	err = waitUntil(func() error {
		missing, err := e.nw.Nodes[victim].Running().MissingShards(e.ctx, gone)
		if err != nil {
			return err
		}
		if len(missing) < len(e.shards(e.committee(), victim)) {
			return fmt.Errorf("%w: the deleted blob still has pairs on node %d", errNotYet, victim)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
