package node_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
)

// getAdmin GETs a path of node i's admin server and returns the body.
func (e *env) getAdmin(i int, path string) string {
	e.t.Helper()
	resp, err := http.Get("http://" + e.nw.Nodes[i].Running().AdminAddr() + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return string(b)
}

// TestStatusPage: /health and the status page show what an operator
// needs: the blobs and sliver pairs stored, the shards, uptime, recovery,
// and the pool on chain (active stake, pending stake with its activation
// epoch, commission), in human units on the page.
func TestStatusPage(t *testing.T) {
	e := newEnv(t, challengeOptions(0))
	com := e.committee()
	// The node with the fewest shards (at most f): the others' attestations
	// can prove it failed.
	x := 0
	for i := range e.nw.Nodes {
		if len(e.shards(com, i)) < len(e.shards(com, x)) {
			x = i
		}
	}
	n0 := e.nw.Nodes[x]
	shards := e.shards(com, x)
	if _, err := e.nw.Chain.Stake(e.ctx, e.nw.Wallet, n0.ID(), 5*chain.FrostPerWAL/2); err != nil {
		t.Fatal(err)
	}
	e.storeBlob(nettest.Blob(30_000, 3), 3, false)
	e.storeBlob(nettest.Blob(20_000, 4), 3, true)
	m, _ := com.Index(n0.ID())

	// The counts and the pool are cached for a while: poll.
	var st node.Status
	deadline := time.Now().Add(30 * time.Second)
	for {
		st = node.Status{}
		if err := json.Unmarshal([]byte(e.getAdmin(x, "/health")), &st); err != nil {
			t.Fatal(err)
		}
		if (st.Stored.Blobs == 2 && st.Pool != nil && st.Pool.PendingStake > 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st.Stored.Blobs != 2 || st.Stored.SliverPairs != 2*len(shards) || st.Stored.Truncated || st.Stored.Error != "" {
		t.Errorf("stored %+v; want 2 blobs, %d pairs", st.Stored, 2*len(shards))
	}
	if st.Recovery.PairsStored != uint64(2*len(shards)) || st.Recovery.BlobsFailed != 0 {
		t.Errorf("recovery %+v", st.Recovery)
	}
	if st.UptimeSeconds < 0 || st.StartedAt == "" || len(st.Shards) != len(shards) || !st.Member {
		t.Errorf("status %+v", st)
	}
	p := st.Pool
	if p == nil {
		t.Fatalf("no pool: %q", st.PoolError)
	}
	if p.ActiveStake != com.Members[m].Stake || p.PendingStake != 2_500_000_000 || len(p.PendingByEpoch) != 1 ||
		p.PendingByEpoch[0] != (chain.EpochAmount{Epoch: 2, Amount: 2_500_000_000}) || p.CommissionAccrued != 0 ||
		p.Epochs == nil || len(p.Epochs) != 0 || p.ChallengesPassed+p.ChallengesFailed+p.ChallengesUnproven != 0 || p.RewardsEarned != 0 {
		t.Errorf("pool %+v", p)
	}

	page := e.getAdmin(x, "/")
	for _, want := range []string{
		"Storage node " + n0.Name(), n0.ID().String(),
		"<td>blobs</td><td>2</td>", "<td>sliver pairs</td><td>" + itoa(2*len(shards)) + "</td>",
		"pending stake</td><td>2.5 WAL, active from epoch 2</td>", "<td>committee member</td><td>yes</td>",
		"<td>recovering now</td><td>0 blobs</td>",
		"active stake</td><td>" + walString(com.Members[m].Stake),
		"0 passed, 0 failed, 0 unproven in the last 0 epochs",
		"sliver pairs stored from clients</td><td>" + itoa(2*len(shards)),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q:\n%s", want, page)
		}
	}
	if !strings.Contains(page, " KiB") && !strings.Contains(page, " MiB") {
		t.Errorf("status page shows no human sizes:\n%s", page)
	}

	// Epoch 1 passes; then the node forgets everything (faults.Forget), so
	// that the others fail it in epoch 2: once that epoch ends, its status
	// shows the failed challenge, no reward for it and what it forfeited.
	waitAttested(t, e.nw, 1)
	n0.Faults.Set(faults.Forget)
	for _, ep := range []uint32{2, 3} {
		if _, err := e.nw.AdvanceEpoch(e.ctx); err != nil {
			t.Fatal(err)
		}
		if ep == 2 {
			waitAttested(t, e.nw, 2)
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		st = node.Status{}
		if err := json.Unmarshal([]byte(e.getAdmin(x, "/health")), &st); err != nil {
			t.Fatal(err)
		}
		if (st.Pool != nil && len(st.Pool.Epochs) == 2) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	p = st.Pool
	if p == nil || len(p.Epochs) != 2 || p.ChallengesFailed != 1 || p.ChallengesPassed != 1 || p.Burned == 0 ||
		p.Epochs[0].Verdict != chain.VerdictPassed || p.RewardsEarned != p.Epochs[0].Reward || p.RewardsEarned == 0 ||
		p.Epochs[1].Verdict != chain.VerdictFailed || p.Epochs[1].Reward != 0 || p.Epochs[1].Burned != p.Burned || p.PendingStake != 0 ||
		p.ActiveStake != com.Members[m].Stake+2_500_000_000+p.RewardsEarned {
		t.Fatalf("pool after a failed epoch: %+v", p)
	}
	page = e.getAdmin(x, "/")
	for _, want := range []string{"1 passed, 1 failed, 0 unproven in the last 2 epochs", "<h2>Storage challenges of epoch ", "<td>own shards proven</td>", `class="bad">failed`, strings.TrimSuffix(formatFrost(p.RewardsEarned), " WAL") + " WAL earned, " + strings.TrimSuffix(formatFrost(p.Burned), " WAL") + " WAL burned"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q:\n%s", want, page)
		}
	}
}

// formatFrost shows FROST as WAL as the page does, with thousands
// separators.
func formatFrost(frost uint64) string {
	s := thousands(frost/chain.FrostPerWAL) + "." + strings.TrimRight(strconv.FormatUint(frost%chain.FrostPerWAL+chain.FrostPerWAL, 10)[1:], "0")
	return strings.TrimSuffix(s, ".") + " WAL"
}

// thousands writes n with a comma every three digits.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

// walString is how the page shows whole WAL amounts.
func walString(frost uint64) string {
	return thousands(frost/chain.FrostPerWAL) + " WAL"
}
