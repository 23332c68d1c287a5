package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/encoding"
)

// The crash test: the test binary runs itself as a child process (TestCrashChild,
// switched on by crashDirEnv) that writes sliver pairs, deletes blobs and
// commits transactions in a loop; the parent kills it with SIGKILL at a random
// moment, reopens the store and checks that every write is whole or absent,
// and that every write the child saw succeed is there.
const (
	crashDirEnv   = "WALRUS_STORE_CRASH_DIR"   // the store's directory; set only in the child
	crashBaseEnv  = "WALRUS_STORE_CRASH_BASE"  // the first op number of this child
	crashItersEnv = "WALRUS_STORE_CRASH_ITERS" // iterations of TestCrashAtomicity (default 3)
	// crashVlogEnv, set in a child, logs every sliver in segments of
	// crashVlogSegment bytes and runs sliver log collections without pause
	// (TestCrashAtomicityVlog).
	crashVlogEnv     = "WALRUS_STORE_CRASH_VLOG"
	crashVlogSegment = 1 << 20

	crashN = 100 // shards of the generated pairs: rows 34, cols 67

	// crashOpsPerIter spaces the op numbers of successive children.
	crashOpsPerIter = 1 << 20
	// crashTxOffset is where a child's transaction numbers start, after its
	// pair ops.
	crashTxOffset = 1 << 19
	// crashChildTimeout ends a child that no parent killed.
	crashChildTimeout = 60 * time.Second
)

// crashOp is op k of the crash test, a pure function of k: the pairs of 1 to 4
// shards of a blob whose ID starts with k, with symbols of 2 to 2,048 bytes
// (slivers of up to 134 KiB, as a 4.5 MiB blob at n = 100 has).
func crashOp(k uint64) (encoding.BlobID, []ShardPair) {
	r := rand.New(rand.NewPCG(k, 0xc0ffee))
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], k)
	data := rand.NewChaCha8(seed) // fast enough for MiBs under -race
	var id encoding.BlobID
	binary.BigEndian.PutUint64(id[:8], k)
	for i := 8; i < len(id); i++ {
		id[i] = byte(r.Uint32())
	}
	params, _ := encoding.NewParams(crashN)
	sz := []int{2, 64, 512, 2048}[r.IntN(4)]
	used := map[int]bool{}
	pairs := make([]ShardPair, 1+r.IntN(4))
	for i := range pairs {
		p := r.IntN(crashN)
		for used[p] {
			p = (p + 1) % crashN
		}
		used[p] = true
		fill := func(n int) []byte {
			b := make([]byte, n)
			_, _ = data.Read(b)
			return b
		}
		pairs[i] = ShardPair{
			Shard: uint16(id.ShardForPair(p, crashN)),
			Pair: encoding.SliverPair{
				Primary:   encoding.Sliver{Axis: encoding.Primary, Index: uint16(p), SymbolSize: uint16(sz), Data: fill(params.Cols * sz)},
				Secondary: encoding.Sliver{Axis: encoding.Secondary, Index: uint16(crashN - 1 - p), SymbolSize: uint16(sz), Data: fill(params.Rows * sz)},
			},
		}
	}
	return id, pairs
}

// crashOptions are the options of the crash test's stores: synced writes, and
// small memtables, so that the children flush (and get killed flushing) and the
// WAL replayed on reopen stays short.
func crashOptions(t testing.TB) Options {
	o := Options{Logger: testLogger(t), MemTableSize: 4 << 20}
	if os.Getenv(crashVlogEnv) != "" {
		o.MinLoggedSliver, o.SliverSegmentSize = MinMinLoggedSliver, crashVlogSegment
	}
	return o
}

var crashOps sync.Map // op number → crashOpResult, in the parent

type crashOpResult struct {
	id    encoding.BlobID
	pairs []ShardPair
}

// cachedCrashOp is crashOp, computed once per op in the parent.
func cachedCrashOp(k uint64) (encoding.BlobID, []ShardPair) {
	if v, ok := crashOps.Load(k); ok {
		r := v.(crashOpResult)
		return r.id, r.pairs
	}
	id, pairs := crashOp(k)
	crashOps.Store(k, crashOpResult{id, pairs})
	return id, pairs
}

// crashTxID is the blob whose record transaction k writes.
func crashTxID(k uint64) encoding.BlobID {
	var id encoding.BlobID
	binary.BigEndian.PutUint64(id[:8], k)
	id[31] = 0x7e
	return id
}

// TestCrashChild is the child of TestCrashAtomicity; it skips unless crashDirEnv
// is set. It prints one line per event to stdout, each with one write:
//
//	ack K    op K's pairs are stored (PutPairs returned nil)
//	dbeg K   DeleteBlob of op K's blob starts
//	del K    DeleteBlob of op K's blob returned nil
//	tx K     the transaction writing record K and cursor K committed
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child of TestCrashAtomicity only")
	}
	base, err := strconv.ParseUint(os.Getenv(crashBaseEnv), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", crashBaseEnv, err)
	}
	s, err := Open(dir, crashOptions(t))
	if err != nil {
		t.Fatalf("child Open: %v", err)
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
	}
	ctx, cancel := context.WithTimeout(bg, crashChildTimeout)
	defer cancel()
	fail := func(err error) {
		say("error %v", err)
		os.Exit(3)
	}
	var wg sync.WaitGroup
	const writers = 2
	for w := range uint64(writers) {
		wg.Go(func() {
			for i := uint64(0); ctx.Err() == nil; i++ {
				k := base + w + writers*i
				id, pairs := crashOp(k)
				if err := s.PutPairs(ctx, id, pairs); err != nil {
					fail(err)
				}
				say("ack %d", k)
				// Every fifth op deletes the blob of an op written three
				// rounds before (by this writer, so its ack is printed).
				if i%5 == 4 {
					old := k - 3*writers
					oldID, _ := crashOp(old)
					say("dbeg %d", old)
					if err := s.DeleteBlob(ctx, oldID); err != nil {
						fail(err)
					}
					say("del %d", old)
				}
			}
		})
	}
	if os.Getenv(crashVlogEnv) != "" {
		// Collections, each after a seal, so that kills land in their
		// moves and segment removals too.
		wg.Go(func() {
			for ctx.Err() == nil {
				s.vlog.seal()
				if _, err := s.CollectSlivers(ctx); err != nil && ctx.Err() == nil {
					fail(err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for k := base + crashTxOffset; ctx.Err() == nil; k++ {
			err := s.Update(ctx, func(tx *Tx) error {
				if err := tx.PutBlobRecord(crashTxID(k), BlobRecord{EndEpoch: uint32(k), RegisteredEpoch: 1}); err != nil {
					return err
				}
				return tx.SetEventCursor(binary.BigEndian.AppendUint64(nil, k))
			})
			if err != nil {
				fail(err)
			}
			say("tx %d", k)
		}
	})
	wg.Wait()
	t.Fatal("child was not killed")
}

// crashLog is what the parent learned from a child's output.
type crashLog struct {
	acked, delBegun, deleted map[uint64]bool
	txs                      []uint64
}

func TestCrashAtomicity(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	iters := 3
	if testing.Short() {
		iters = 2
	}
	crashAtomicity(t, iters, nil, nil)
}

// crashAtomicity runs iters children (iters from crashItersEnv if set) with
// env added to their environment, killing each, and checks the store after
// each kill, by verifyCrash and then check if not nil.
func crashAtomicity(t *testing.T, iters int, env []string, check func(t *testing.T, dir string, all crashLog)) {
	if v := os.Getenv(crashItersEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", crashItersEnv, v)
		}
		iters = n
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	all := crashLog{acked: map[uint64]bool{}, delBegun: map[uint64]bool{}, deleted: map[uint64]bool{}}
	for it := range iters {
		base := uint64(it+1) * crashOpsPerIter
		// Kill after 4 to 24 acknowledged ops, then 0 to 3 ms more: the
		// child writes without pause, so the kill lands inside a batch, a
		// WAL sync or a transaction more often than not.
		minAcks := 4 + rng.IntN(21)
		delay := time.Duration(rng.IntN(3000)) * time.Microsecond
		log := runCrashChild(t, dir, base, minAcks, delay, env...)
		for k := range log.acked {
			all.acked[k] = true
		}
		for k := range log.delBegun {
			all.delBegun[k] = true
		}
		for k := range log.deleted {
			all.deleted[k] = true
		}
		verifyCrash(t, dir, base, all, log.txs)
		if check != nil && !t.Failed() {
			check(t, dir, all)
		}
		t.Logf("iteration %d: killed after %d acks (+%v): %d ops acked, %d deletes, %d transactions",
			it, minAcks, delay, len(log.acked), len(log.deleted), len(log.txs))
		if t.Failed() {
			return
		}
	}
}

// runCrashChild runs a child writing from op base, with env added to its
// environment, kills it once it has acknowledged minAcks ops and delay has
// passed, and returns what it printed.
func runCrashChild(t *testing.T, dir string, base uint64, minAcks int, delay time.Duration, env ...string) crashLog {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashBaseEnv+"="+strconv.FormatUint(base, 10))
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log := crashLog{acked: map[uint64]bool{}, delBegun: map[uint64]bool{}, deleted: map[uint64]bool{}}
	var lines []string
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		verb, num, _ := strings.Cut(line, " ")
		k, perr := strconv.ParseUint(num, 10, 64)
		switch {
		case verb == "error" || perr != nil:
			t.Errorf("child: %s", line)
		case verb == "ack":
			log.acked[k] = true
		case verb == "dbeg":
			log.delBegun[k] = true
		case verb == "del":
			log.deleted[k] = true
		case verb == "tx":
			log.txs = append(log.txs, k)
		}
		if !killed && len(log.acked) >= minAcks {
			time.Sleep(delay)
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
			// Keep reading: lines the child wrote before the kill are
			// facts about the store too.
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill (%v) after %d lines; stderr:\n%s", err, len(lines), stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys() == nil || ee.ProcessState.String() != "signal: killed" {
		t.Fatalf("child did not die of SIGKILL: %v; stderr:\n%s", err, stderr.String())
	}
	return log
}

// verifyCrash reopens the store and checks every op it holds, and every op the
// children acknowledged.
func verifyCrash(t *testing.T, dir string, base uint64, log crashLog, txs []uint64) {
	t.Helper()
	s, err := Open(dir, crashOptions(t))
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()

	// Every marker and sliver in the store belongs to an op; collect them.
	found := map[uint64]bool{}
	for _, tag := range []byte{tagSliver, tagShardPair, tagBlobShard} {
		p := prefix(tag)
		err := s.scan(bg, s.db, p, prefixEnd(p), func(key, _ []byte) (bool, error) {
			ki, err := parseKey(key)
			if err != nil {
				return false, err
			}
			k := binary.BigEndian.Uint64(ki.blobID[:8])
			if id, _ := cachedCrashOp(k); id != ki.blobID {
				t.Errorf("%s is no op's", describeKey(key))
			}
			found[k] = true
			return true, nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
	}
	for k := range log.acked {
		if !log.delBegun[k] && !found[k] {
			t.Errorf("op %d was acknowledged, not deleted, and is missing", k)
		}
	}
	for k := range found {
		if log.deleted[k] {
			t.Errorf("op %d was deleted and is back", k)
		}
		checkCrashOp(t, s, k)
	}
	checkInvariant(t, s)

	// Transactions: the cursor names the last committed one; its record and
	// those of all before it in this child are stored, none after it.
	if len(txs) == 0 {
		return
	}
	c, err := s.EventCursor(bg)
	if err != nil || len(c) != 8 {
		t.Fatalf("event cursor = %x, %v", c, err)
	}
	last := binary.BigEndian.Uint64(c)
	if last < txs[len(txs)-1] {
		t.Errorf("cursor at tx %d, but tx %d was acknowledged", last, txs[len(txs)-1])
	}
	first := base + crashTxOffset
	for k := first; k <= last+3; k++ {
		rec, err := s.BlobRecord(bg, crashTxID(k))
		switch {
		case k <= last && (err != nil || rec.EndEpoch != uint32(k)):
			t.Errorf("tx %d (cursor at %d): record %+v, %v", k, last, rec, err)
		case k > last && !errors.Is(err, ErrNotFound):
			t.Errorf("tx %d is past the cursor (%d) but its record is stored: %v", k, last, err)
		}
	}
	exp, err := s.ExpiredAt(bg, uint32(last), &Expiry{EndEpoch: uint32(first) - 1, BlobID: blobID(0xff)}, MaxPageLimit)
	if err != nil || len(exp) != int(last-first+1) {
		t.Errorf("expiry index holds %d entries of this child (%v), want %d", len(exp), err, last-first+1)
	}
}

// checkCrashOp checks that op k is stored whole: every pair's slivers, byte for
// byte, and markers, and no shard of its blob beyond them.
func checkCrashOp(t *testing.T, s *Store, k uint64) {
	t.Helper()
	id, pairs := cachedCrashOp(k)
	var want []uint16
	for _, sp := range pairs {
		want = append(want, sp.Shard)
		for _, w := range []encoding.Sliver{sp.Pair.Primary, sp.Pair.Secondary} {
			got, err := s.Sliver(bg, sp.Shard, id, w.Axis)
			if err != nil || !sliverEqual(got, w) {
				t.Errorf("op %d is partial: shard %d %s sliver: %v (equal=%v)", k, sp.Shard, w.Axis, err, err == nil && sliverEqual(got, w))
			}
		}
		if ok, err := s.HasPair(bg, sp.Shard, id); !ok || err != nil {
			t.Errorf("op %d is partial: no marker of shard %d (%v)", k, sp.Shard, err)
		}
	}
	got, err := s.StoredShards(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("op %d: shards %v stored, want %v", k, got, want)
	}
}
