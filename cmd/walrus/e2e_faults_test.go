package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/node"
)

// The fault suite: the network of separate processes through the faults a
// storage network meets, each followed by its repair, and at the end every
// certified blob reads byte-identical:
//
//   - stores while f nodes' shards are down (a node killed with SIGKILL),
//     and the node's recovery of what it missed once it is back;
//   - bit flips in a stopped node's Pebble tables: its scrubber excises the
//     damaged table and recovery rebuilds what it held, after which the node
//     serves every blob with enough others down that reads depend on it;
//   - a wiped data directory, rebuilt by recovery;
//   - (make e2e) kill -9 of a node, of the client and of the chain in the
//     middle of stores;
//   - (make e2e) a new node taking most of the stake, which then serves
//     every blob with the others down.
//
// TestE2EFaults is the short version (make test); TestE2ELongFaults runs it
// with more and larger blobs, the kill -9 faults and the new node (make e2e).

// faultNetwork is a process network with the blobs stored so far.
type faultNetwork struct {
	*procNetwork
	codec *encoding.Codec
	chain *local.Client
	ids   []string
	blobs [][]byte
}

// storeHTTP stores data through the daemon and records it.
func (fn *faultNetwork) storeHTTP(data []byte) string {
	fn.t.Helper()
	resp, body := httpDo(fn.t, http.MethodPut, fn.daemonURL+"/v1/blobs?epochs=20", bytes.NewReader(data))
	for try := 1; resp.StatusCode == http.StatusServiceUnavailable && try < 3; try++ {
		// With a node down there is no slack: a node that has not yet
		// seen the registration refuses the slivers. The user retries.
		fn.t.Logf("storing %d bytes, try %d: %d %s", len(data), try, resp.StatusCode, body)
		time.Sleep(time.Second)
		resp, body = httpDo(fn.t, http.MethodPut, fn.daemonURL+"/v1/blobs?epochs=20", bytes.NewReader(data))
	}
	if resp.StatusCode != 200 {
		fn.t.Fatalf("storing %d bytes: %d %s", len(data), resp.StatusCode, body)
	}
	var res map[string]any
	if err := json.Unmarshal(body, &res); err != nil {
		fn.t.Fatal(err)
	}
	id := blobIDOf(fn.t, res)
	fn.ids, fn.blobs = append(fn.ids, id), append(fn.blobs, data)
	return id
}

// readAll reads every stored blob through the daemon and checks each is
// byte-identical.
func (fn *faultNetwork) readAll(what string) {
	fn.t.Helper()
	for k, id := range fn.ids {
		resp, err := http.Get(fn.daemonURL + "/v1/blobs/" + id)
		if err != nil {
			fn.t.Fatalf("%s: reading blob %d: %v", what, k, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, fn.blobs[k]) {
			fn.t.Fatalf("%s: blob %d (%s): status %d, %d of %d bytes, %v", what, k, id, resp.StatusCode, len(body), len(fn.blobs[k]), err)
		}
	}
}

// committee returns the current committee's shards by node process.
func (fn *faultNetwork) shards() map[int][]uint16 {
	fn.t.Helper()
	com, err := fn.chain.Committee(context.Background(), 0)
	if err != nil {
		fn.t.Fatal(err)
	}
	return shardsOf(fn.t, com)
}

// editConfig changes node i's config file (the node stopped).
func (fn *faultNetwork) editConfig(i int, edit func(c *node.Config)) {
	fn.t.Helper()
	c, err := node.LoadConfig(fn.nodeCfgs[i])
	if err != nil {
		fn.t.Fatal(err)
	}
	edit(c)
	if err := node.WriteConfig(fn.nodeCfgs[i], c); err != nil {
		fn.t.Fatal(err)
	}
}

// dataDir is node i's data directory.
func (fn *faultNetwork) dataDir(i int) string {
	c, err := node.LoadConfig(fn.nodeCfgs[i])
	if err != nil {
		fn.t.Fatal(err)
	}
	return c.DataDir
}

// waitMetric waits until node i's counter reaches want.
func (fn *faultNetwork) waitMetric(i int, name string, want float64, timeout time.Duration) {
	fn.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := fn.nodeMetric(i, name)
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			fn.t.Fatalf("node %d: %s = %v after %s, want ≥ %v", i, name, got, timeout, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dependOn stops enough other nodes that reads need node i's primary
// slivers (the rest hold fewer than a decoding needs), reads every blob,
// and starts the others again.
func (fn *faultNetwork) dependOn(i int, what string) {
	fn.t.Helper()
	held := fn.shards()
	need := fn.codec.Params().Rows
	if len(held[i]) == 0 {
		fn.t.Fatalf("node %d holds no shard", i)
	}
	var others []int
	for k := range held {
		if k != i {
			others = append(others, k)
		}
	}
	slices.SortFunc(others, func(a, b int) int { return len(held[a]) - len(held[b]) })
	up, sum := []int{i}, 0
	var down []int
	for _, k := range others {
		if sum+len(held[k]) < need && sum+len(held[k])+len(held[i]) >= need {
			up, sum = append(up, k), sum+len(held[k])
		} else {
			down = append(down, k)
		}
	}
	if sum+len(held[i]) < need {
		fn.t.Fatalf("nodes %v hold %d shards, fewer than the %d a read needs", up, sum+len(held[i]), need)
	}
	fn.t.Logf("%s: reading with only nodes %v up (%d shards without node %d, %d needed)", what, up, sum, i, need)
	for _, k := range down {
		if err := fn.stop(fmt.Sprintf("node-%d", k), syscall.SIGTERM); err != nil {
			fn.t.Fatalf("stopping node %d: %v", k, err)
		}
	}
	fn.readAll(what + fmt.Sprintf(" (only nodes %v up)", up))
	for _, k := range down {
		fn.startNode(k)
	}
}

// flipSlivers stops node i, flips a bit in one sliver of each of the given
// blobs that it holds, in its Pebble tables on disk, and returns how many
// tables it changed (the node left stopped).
func (fn *faultNetwork) flipSlivers(i int, blobs []int) int {
	fn.t.Helper()
	name := fmt.Sprintf("node-%d", i)
	// A restart writes the WAL's data into tables (Pebble flushes what it
	// replays); the flips go into the tables.
	if err := fn.stop(name, syscall.SIGTERM); err != nil {
		fn.t.Fatal(err)
	}
	fn.startNode(i)
	if err := fn.stop(name, syscall.SIGTERM); err != nil {
		fn.t.Fatal(err)
	}
	shards := fn.shards()[i]
	// Slivers live in the tables, or in Pebble's blob files when the store
	// separates large values.
	var files []string
	for _, pat := range []string{"*.sst", "*.blob"} {
		m, err := filepath.Glob(filepath.Join(fn.dataDir(i), "db", pat))
		if err != nil {
			fn.t.Fatal(err)
		}
		files = append(files, m...)
	}
	n := fn.codec.Params().N
	changed := 0
	for j, k := range blobs {
		enc, err := fn.codec.Encode(fn.blobs[k])
		if err != nil {
			fn.t.Fatal(err)
		}
		pair := enc.Pair(enc.BlobID.PairForShard(int(shards[j%len(shards)]), n))
		sl := pair.Primary
		if j%2 == 1 {
			sl = pair.Secondary
		}
		at := len(sl.Data) / 3
		needle := sl.Data[at : at+64]
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				fn.t.Fatal(err)
			}
			if x := bytes.Index(b, needle); x >= 0 {
				b[x+9] ^= 0x08
				if err := os.WriteFile(p, b, 0o644); err != nil {
					fn.t.Fatal(err)
				}
				changed++
			}
		}
	}
	return changed
}

// waitScrubRepaired waits until node i's scrubber has dropped damaged pairs
// (excising a damaged table, or failing a sliver's check) and every pair it
// dropped is stored again, and returns its status.
func (fn *faultNetwork) waitScrubRepaired(i int, timeout time.Duration) *node.ScrubStatus {
	fn.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := fn.nodeHealth(i).Scrub
		// Damage in a table is excised (its pairs dropped); damage in a
		// blob file is found by the pair checks (the pair dropped).
		if st != nil && st.ExcisedTables+st.PairsDropped > 0 && st.AwaitingRepair == 0 && st.PairsRepaired >= st.PairsDropped {
			return st
		}
		if time.Now().After(deadline) {
			fn.t.Fatalf("node %d not repaired after %s: scrub status %+v", i, timeout, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitFullPass waits until one whole scrub pass of node i verifies want
// pairs: every pair it should hold is stored and checks against its
// metadata (an excision that lost the pair markers drops no pair it can
// count; recovery rebuilds them after the node replays the chain's events).
func (fn *faultNetwork) waitFullPass(i, want int, timeout time.Duration) {
	fn.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *node.ScrubStatus
	for {
		st := fn.nodeHealth(i).Scrub
		if st != nil && st.Phase == "idle" {
			if last != nil && st.Passes == last.Passes+1 {
				if got := int(st.PairsVerified - last.PairsVerified); got == want {
					return
				}
			}
			if last == nil || st.Passes != last.Passes {
				last = st
			}
		}
		if time.Now().After(deadline) {
			fn.t.Fatalf("node %d: no scrub pass verified its %d pairs in %s (last %+v)", i, want, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultSuite runs the faults on a fresh network; sizes are the blobs stored
// before the faults, and each later store adds one of extra bytes.
func faultSuite(t *testing.T, sizes []int, extra int, long bool) {
	epoch := time.Hour
	if long {
		epoch = 30 * time.Second // the new node's stake counts from an epoch change
	}
	nw := startNetwork(t, 4, 10, epoch, "--max-body-size", fmt.Sprint(8<<10))
	codec, err := encoding.New(10)
	if err != nil {
		t.Fatal(err)
	}
	fn := &faultNetwork{procNetwork: nw, codec: codec, chain: nw.chainClient()}
	began := time.Now()
	for k, size := range sizes {
		fn.storeHTTP(e2eBlob(size, uint64(500+k)))
	}
	held := fn.shards()
	seed := uint64(600)
	next := func() []byte { seed++; return e2eBlob(extra+int(seed%7)*1000, seed) }

	// f nodes' shards down: node 0 killed, stores go on with the others;
	// back, it recovers what it missed.
	if err := nw.stop("node-0", os.Kill); err == nil {
		t.Fatal("kill -9 did not kill node 0")
	}
	missed := 2
	for range missed {
		fn.storeHTTP(next())
	}
	nw.startNode(0)
	fn.waitMetric(0, "sliver_pairs_recovered_total", float64(missed*len(held[0])), 120*time.Second)
	t.Logf("%s: node 0 recovered the %d pairs it missed", time.Since(began).Round(time.Millisecond), missed*len(held[0]))
	if long {
		fn.dependOn(0, "after node 0's recovery")
	}

	// Bit flips in node 1's tables while it is stopped.
	const victim = 1
	if changed := fn.flipSlivers(victim, []int{0, len(fn.ids) - 1}); changed == 0 {
		t.Fatal("the slivers' bytes are in no file of node 1's store")
	}
	fn.editConfig(victim, func(c *node.Config) { c.ScrubRate, c.ScrubInterval = 1<<30, time.Second })
	start := time.Now()
	nw.startNode(victim)
	st := fn.waitScrubRepaired(victim, 120*time.Second)
	t.Logf("%s: node %d repaired its flipped tables in %s: %d tables damaged, %d excised, %d pairs dropped and rebuilt (last in %.2fs), %d metadata fetched, %d B verified, lost %v",
		time.Since(began).Round(time.Millisecond), victim, time.Since(start).Round(time.Millisecond), st.DamagedTables, st.ExcisedTables, st.PairsDropped, st.LastRepairSeconds,
		st.MetadataFetched, st.BytesVerified, st.Lost)
	fn.waitFullPass(victim, len(fn.ids)*len(held[victim]), 120*time.Second)
	for name, want := range map[string]uint64{"scrub_excised_tables_total": st.ExcisedTables, "scrub_pairs_repaired_total": st.PairsRepaired} {
		if got := fn.nodeMetric(victim, name); uint64(got) < want {
			t.Errorf("node %d: %s = %v, status says %d", victim, name, got, want)
		}
	}
	fn.dependOn(victim, "after node 1's scrub")

	// A wiped data directory: node 2 rebuilds everything by recovery.
	const wiped = 2
	if err := nw.stop("node-2", syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(fn.dataDir(wiped), "db")); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	nw.startNode(wiped)
	fn.waitMetric(wiped, "sliver_pairs_recovered_total", float64(len(fn.ids)*len(held[wiped])), 180*time.Second)
	t.Logf("%s: node %d rebuilt %d pairs of a wiped store in %s", time.Since(began).Round(time.Millisecond), wiped, len(fn.ids)*len(held[wiped]), time.Since(start).Round(time.Millisecond))
	if long {
		fn.dependOn(wiped, "after node 2's rebuild")
	}

	if long {
		killMidStore(t, fn, next)
		newNodeTakesStake(t, fn)
	}
	fn.readAll("at the end")
	t.Logf("%s: %d certified blobs read byte-identical at the end", time.Since(began).Round(time.Millisecond), len(fn.ids))
}

// killMidStore kills (SIGKILL) a node, the client and the chain while
// stores are in flight; every store that reported success reads back, and
// the network stores again once the chain is back.
func killMidStore(t *testing.T, fn *faultNetwork, next func() []byte) {
	files := t.TempDir()
	// Blobs near the largest n = 10 allows, so that a store lasts long
	// enough to be cut.
	big := func() []byte { b := next(); return append(b, e2eBlob(1_800_000-len(b), uint64(len(b)))...) }
	// A node killed while a store is in flight: the store succeeds with
	// the others.
	data := big()
	done := make(chan string, 1)
	go func() {
		out, errOut, err := fn.try("store", writeFile(t, files, data), "--epochs", "20", "--json")
		if err != nil {
			out = "ERROR " + errOut
		}
		done <- out
	}()
	time.Sleep(150 * time.Millisecond)
	if err := fn.stop("node-3", os.Kill); err == nil {
		t.Fatal("kill -9 did not kill node 3")
	}
	out := <-done
	if strings.HasPrefix(out, "ERROR") {
		t.Fatalf("store with node 3 killed mid-way: %s", out)
	}
	var res []map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("store printed %q", out)
	}
	fn.ids, fn.blobs = append(fn.ids, blobIDOf(t, res[0])), append(fn.blobs, data)
	fn.startNode(3)

	// The client killed mid-store: nothing half-done is certified, and the
	// same file stores afterwards.
	data = big()
	path := writeFile(t, files, data)
	fn.start("client", "store", path, "--epochs", "20")
	time.Sleep(300 * time.Millisecond)
	_ = fn.stop("client", os.Kill)
	id, _ := fn.storeCLI(path, "--epochs", "20")
	fn.ids, fn.blobs = append(fn.ids, id), append(fn.blobs, data)

	// The chain killed while a store is in flight, and started again: the
	// store may fail; once the chain is back, stores succeed and the nodes
	// follow it again.
	data = big()
	go func() {
		_, _, err := fn.try("store", writeFile(t, files, data), "--epochs", "20")
		done <- fmt.Sprint(err)
	}()
	time.Sleep(150 * time.Millisecond)
	if err := fn.stop("chain", os.Kill); err == nil {
		t.Fatal("kill -9 did not kill the chain")
	}
	t.Logf("store with the chain killed mid-way: %s", <-done)
	fn.start("chain", "chain", "serve", "--dir", filepath.Join(fn.dir, "chain"), "--addr", strings.TrimPrefix(fn.chainURL, "http://"),
		"--genesis", filepath.Join(fn.dir, "genesis.yaml"))
	fn.waitHTTP(fn.chainURL + "/v1/system")
	fn.storeHTTP(next())
	for k := range 4 {
		if v := fn.nodeMetric(k, "chain_errors_total"); v == 0 {
			t.Logf("node %d saw no chain error while the chain was down", k)
		}
	}
}

// newNodeTakesStake registers a fifth node with more stake than the other
// four together: from the next committee it holds most shards, pulled from
// their previous holders, and then serves every blob with the others down.
func newNodeTakesStake(t *testing.T, fn *faultNetwork) {
	i := len(fn.nodeCfgs)
	dir := filepath.Join(fn.dir, fmt.Sprintf("node-%d", i))
	fn.run("node", "init", "--dir", dir, "--name", fmt.Sprintf("e2e-%d", i),
		"--listen", "/ip4/"+freeAddrTCP(t), "--admin-addr", freeAddr(t), "--chain-url", fn.chainURL)
	fn.nodeCfgs = append(fn.nodeCfgs, filepath.Join(dir, "node.yaml"))
	// The wallet operates it: it has the WAL to stake.
	fn.editConfig(i, func(c *node.Config) { c.AccountKeyFile = filepath.Join(fn.dir, "wallet.key") })
	fn.run("node", "register", "--config", fn.nodeCfgs[i], "--stake", "5000")
	fn.startNode(i)
	com := fn.waitCommittee(fn.chain, 120*time.Second, "the new node to hold most shards", func(com *chain.Committee) bool {
		return len(shardsOf(t, com)[i]) > com.NShards/2
	})
	t.Logf("epoch %d: the new node %d holds shards %v", com.Epoch, i, shardsOf(t, com)[i])
	fn.waitSynced(i, com.Epoch, 120*time.Second)
	fn.dependOn(i, "after the new node's shard sync")
}

// TestE2EFaults is the short fault suite (make test).
func TestE2EFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with real processes")
	}
	faultSuite(t, []int{40_000, 150_000, 300_000}, 20_000, false)
}

// TestE2ELongFaults is the fault suite with more and larger blobs and the
// kill -9 faults (make e2e; WALRUS_E2E_LONG=1).
func TestE2ELongFaults(t *testing.T) {
	if os.Getenv("WALRUS_E2E_LONG") == "" {
		t.Skip("set WALRUS_E2E_LONG=1 (make e2e) for the long fault suite")
	}
	var sizes []int
	for k := range 12 {
		sizes = append(sizes, 10_000+(k*211_000)%1_800_000) // n = 10 caps a blob at 1.83 MB
	}
	faultSuite(t, sizes, 500_000, true)
}
