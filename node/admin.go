package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/store"
)

// Status is what /health returns as JSON and the status page shows: who
// the node is, where the chain stands, what it stores, how recovery and
// shard sync go, and its staking pool on chain (stake, commission,
// rewards and the verdicts of its storage challenges).
type Status struct {
	NodeID    string   `json:"nodeId"`
	Name      string   `json:"name"`
	PeerID    string   `json:"peerId"`
	Addresses []string `json:"addresses"`
	Epoch     uint32   `json:"epoch"`
	Phase     string   `json:"phase"`
	Member    bool     `json:"committeeMember"`
	Shards    []uint16 `json:"shards"`
	// SyncingShards are the shards being synced after an epoch change.
	SyncingShards []uint16 `json:"syncingShards"`
	// BufferedB is what the intake holds in memory (Config.MaxBufferedBytes):
	// the slivers of requests in progress and the pending buffer.
	BufferedB   int64  `json:"bufferedBytes"`
	DiskUsageB  uint64 `json:"diskUsageBytes"`
	NShards     int    `json:"nShards"`
	StartedAt   string `json:"startedAt"`
	EventCursor string `json:"eventCursor"`
	// EventReplays counts the replays of the chain's events from the start
	// that rebuilt the records an excision lost (store.Excised.LostRecords);
	// Replaying is true while one runs.
	EventReplays uint64 `json:"eventReplays"`
	Replaying    bool   `json:"replayingEvents"`
	// UptimeSeconds is how long the node has run.
	UptimeSeconds int64 `json:"uptimeSeconds"`

	// Stored counts what the store holds for the shards of this epoch.
	Stored StoredStatus `json:"stored"`
	// Recovery is what recovery and shard sync did since the node started.
	Recovery RecoveryStatus `json:"recovery"`
	// Pool is the node's staking pool on chain; nil when the chain could
	// not be read, and PoolError says why.
	Pool      *PoolStatus `json:"pool,omitempty"`
	PoolError string      `json:"poolError,omitempty"`

	// Challenges are the storage challenges of the current epoch, and
	// LastChallenges the previous epoch's (challenge.go); nil before any.
	Challenges     *ChallengeStatus `json:"challenges,omitempty"`
	LastChallenges *ChallengeStatus `json:"lastChallenges,omitempty"`

	// Scrub progress (the scrubber of stored slivers) goes here.
	// Scrub is the scrubber's progress and the damage it found and
	// repaired (scrub.go).
	Scrub *ScrubStatus `json:"scrub,omitempty"`
}

// StoredStatus counts the sliver pairs of the shards the node holds this
// epoch, and its blobs: the most pairs one of those shards stores (a blob
// has a pair in every shard once the node holds it fully). Counting scans
// the store's pair index, so it is cached (statusCountTTL) and stops at
// statusMaxCount pairs: Truncated is set then and the counts are lower
// bounds.
type StoredStatus struct {
	Blobs       int    `json:"blobs"`
	SliverPairs int    `json:"sliverPairs"`
	Truncated   bool   `json:"truncated,omitempty"`
	CountedAt   string `json:"countedAt,omitempty"`
	Error       string `json:"error,omitempty"`
}

// RecoveryStatus is what recovery and shard sync did since the node
// started (from its metrics).
type RecoveryStatus struct {
	// BlobsQueued were queued for recovery, BlobsFailed failed every
	// attempt; PairsRecovered were rebuilt from peers' symbols.
	BlobsQueued    uint64 `json:"blobsQueued"`
	BlobsFailed    uint64 `json:"blobsFailed"`
	PairsRecovered uint64 `json:"pairsRecovered"`
	// ShardSyncPairs came from a shard's previous holder; ShardSyncFallbacks
	// counts syncs that left it for recovery.
	ShardSyncPairs     uint64 `json:"shardSyncPairs"`
	ShardSyncFallbacks uint64 `json:"shardSyncFallbacks"`
	// PairsStored came from clients; LiarsCaught are peers caught serving
	// data that does not verify.
	PairsStored uint64 `json:"pairsStored"`
	LiarsCaught uint64 `json:"liarsCaught"`
	// BlobsInProgress are queued or being recovered now.
	BlobsInProgress int `json:"blobsInProgress"`
}

// PoolStatus is the node's staking pool as the chain records it. Amounts in
// FROST.
type PoolStatus struct {
	ActiveStake  uint64 `json:"activeStake"`
	PendingStake uint64 `json:"pendingStake"`
	// PendingByEpoch is the pending stake by the epoch it activates in;
	// WithdrawingByEpoch the stake leaving by the epoch it leaves in.
	PendingByEpoch     []chain.EpochAmount `json:"pendingByEpoch,omitempty"`
	WithdrawingByEpoch []chain.EpochAmount `json:"withdrawingByEpoch,omitempty"`
	// CommissionRate and NextCommissionRate are in basis points.
	CommissionRate     uint16 `json:"commissionRate"`
	NextCommissionRate uint16 `json:"nextCommissionRate"`
	CommissionAccrued  uint64 `json:"commissionAccrued"`
	StoragePriceVote   uint64 `json:"storagePriceVote"`
	WritePriceVote     uint64 `json:"writePriceVote"`
	Capacity           uint64 `json:"nodeCapacity"`
	// Epochs are the chain's records of the node's last committee epochs
	// (chain.NodeHistory), oldest first; nil where the chain keeps none.
	// The counts and sums are over them.
	Epochs             []chain.NodeEpoch `json:"epochs"`
	ChallengesPassed   int               `json:"challengesPassed"`
	ChallengesFailed   int               `json:"challengesFailed"`
	ChallengesUnproven int               `json:"challengesUnproven"`
	RewardsEarned      uint64            `json:"rewardsEarned"`
	Burned             uint64            `json:"burned"`
}

// Bounds of the status's work, so that polling /health costs the node
// little.
const (
	// statusCountTTL is how long stored counts are reused;
	// statusCountMinGap the least time between two counts, when the
	// node's metrics show that what it holds changed.
	statusCountTTL    = 30 * time.Second
	statusCountMinGap = time.Second
	// statusMaxCount bounds the pairs one count scans.
	statusMaxCount = 1 << 20
	// statusPoolTTL is how long the pool read from the chain is reused.
	statusPoolTTL = 5 * time.Second
	// statusChainTimeout bounds the chain reads of one status.
	statusChainTimeout = 3 * time.Second
)

// historian is the chain's per-epoch record of nodes, which chain.Chain
// has and the node's Chain interface does not need.
type historian interface {
	NodeHistory(ctx context.Context, id chain.NodeID) ([]chain.NodeEpoch, error)
}

// statusCache holds the costly parts of Status between calls.
type statusCache struct {
	mu        sync.Mutex
	stored    StoredStatus
	storedAt  time.Time
	storedKey string
	pool      *PoolStatus
	poolErr   string
	poolAt    time.Time
}

// operatorStatus fills what Status adds for operators: uptime, stored
// counts, recovery and the pool. Called by Node.Status.
func (n *Node) operatorStatus(ctx context.Context, st *Status) {
	if !n.started.IsZero() {
		st.UptimeSeconds = int64(time.Since(n.started) / time.Second)
	}
	m := n.metrics
	st.Recovery = RecoveryStatus{
		BlobsQueued: counterValue(m.recoveryQueued), BlobsFailed: counterValue(m.recoveryFailed),
		PairsRecovered: counterValue(m.pairsRecovered), ShardSyncPairs: counterValue(m.syncPairs),
		ShardSyncFallbacks: counterValue(m.syncFallbacks), PairsStored: counterValue(m.pairsStored),
		LiarsCaught: counterValue(m.liarsCaught),
	}
	if n.sync != nil && n.sync.recov != nil {
		st.Recovery.BlobsInProgress = n.sync.recov.inProgress()
	}
	c := &n.statusCache
	c.mu.Lock()
	defer c.mu.Unlock()
	// Recount when the TTL is over, or sooner (statusCountMinGap) when
	// what the node holds may have changed.
	key := fmt.Sprint(st.Epoch, st.Shards, st.Recovery.PairsStored, st.Recovery.PairsRecovered, st.Recovery.ShardSyncPairs,
		counterValue(m.gcDeleted), counterValue(m.shardsDropped))
	age := time.Since(c.storedAt)
	if c.storedAt.IsZero() || age > statusCountTTL || (c.storedKey != key && age > statusCountMinGap) {
		c.stored = countStored(ctx, n.store, st.Shards, statusMaxCount)
		c.storedAt, c.storedKey = time.Now(), key
		c.stored.CountedAt = c.storedAt.UTC().Format(time.RFC3339)
	}
	st.Stored = c.stored
	if c.poolAt.IsZero() || time.Since(c.poolAt) > statusPoolTTL {
		cctx, cancel := context.WithTimeout(ctx, statusChainTimeout)
		c.pool, c.poolErr = readPool(cctx, n.deps.Chain, n.nodeID)
		cancel()
		c.poolAt = time.Now()
	}
	st.Pool, st.PoolError = c.pool, c.poolErr
}

// countStored counts the pairs of shards, up to limit, and the
// blobs as the most pairs one shard stores: a blob the node holds has a
// pair in each of its shards once complete, so no set of blob IDs is kept.
func countStored(ctx context.Context, s *store.Store, shards []uint16, limit int) StoredStatus {
	var out StoredStatus
	for _, sh := range shards {
		var after *encoding.BlobID
		inShard := 0
		for {
			if out.SliverPairs >= limit {
				out.Truncated = true
				return out
			}
			page := min(store.MaxPageLimit, limit-out.SliverPairs)
			ids, err := s.ShardBlobs(ctx, sh, store.Page{After: after, Limit: page})
			if err != nil {
				out.Error = err.Error()
				return out
			}
			inShard += len(ids)
			out.SliverPairs += len(ids)
			out.Blobs = max(out.Blobs, inShard)
			if len(ids) < page {
				break
			}
			after = &ids[len(ids)-1]
		}
	}
	return out
}

// readPool reads the node's pool and history from the chain.
func readPool(ctx context.Context, c Chain, id chain.NodeID) (*PoolStatus, string) {
	info, err := c.Node(ctx, id)
	if err != nil {
		return nil, err.Error()
	}
	p := &PoolStatus{
		ActiveStake: info.Stake, PendingStake: info.PendingStake, PendingByEpoch: info.PendingByEpoch,
		WithdrawingByEpoch: info.WithdrawingByEpoch, CommissionRate: info.Commission, NextCommissionRate: info.NextCommission,
		CommissionAccrued: info.CommissionAccrued, StoragePriceVote: info.StoragePriceVote, WritePriceVote: info.WritePriceVote,
		Capacity: info.Capacity,
	}
	h, ok := c.(historian)
	if !ok {
		return p, ""
	}
	hist, err := h.NodeHistory(ctx, id)
	if err != nil {
		if errors.Is(err, chain.ErrInvalidArgument) { // a backend that keeps none (Sui)
			return p, ""
		}
		return p, "node history: " + err.Error()
	}
	p.Epochs = hist
	if p.Epochs == nil {
		p.Epochs = []chain.NodeEpoch{}
	}
	for _, e := range hist {
		switch e.Verdict {
		case chain.VerdictPassed:
			p.ChallengesPassed++
		case chain.VerdictFailed:
			p.ChallengesFailed++
		default:
			p.ChallengesUnproven++
		}
		p.RewardsEarned += e.Reward
		p.Burned += e.Burned
	}
	return p, ""
}

// counterValue reads a Prometheus counter.
func counterValue(c prometheus.Counter) uint64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil || m.Counter == nil {
		return 0
	}
	return uint64(m.Counter.GetValue())
}

// The status page's formatters: binary sizes, WAL, FROST, counts, basis
// points, shard ranges, durations and pending stake.
var statusFuncs = template.FuncMap{
	"bytes": func(n any) string {
		var v uint64
		switch x := n.(type) {
		case uint64:
			v = x
		case int64:
			v = uint64(max(x, 0))
		case int:
			v = uint64(max(x, 0))
		}
		return humanSize(v)
	},
	"wal":   formatWAL,
	"frost": func(f uint64) string { return groupDigits(fmt.Sprint(f)) + " FROST" },
	"count": func(n any) string { return groupDigits(fmt.Sprint(n)) },
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
	"pending": formatPending,
	"add":     func(a, b int) int { return a + b },
	"plural": func(n any, noun string) string {
		s := fmt.Sprint(n)
		if s != "1" {
			noun += "s"
		}
		return groupDigits(s) + " " + noun
	},
	"bps": func(b uint16) string {
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%02d", b/100, b%100), "0"), ".") + "%"
	},
	"shards": FormatShards,
	"uptime": formatUptime,
}

// formatUptime shows seconds as the two largest units: "42 s",
// "3 min 5 s", "4 h 12 min", "2 d 3 h".
func formatUptime(s int64) string {
	s = max(s, 0)
	units := []struct {
		name string
		secs int64
	}{{"d", 86400}, {"h", 3600}, {"min", 60}, {"s", 1}}
	for i, u := range units {
		if s < u.secs && u.secs > 1 {
			continue
		}
		out := fmt.Sprintf("%d %s", s/u.secs, u.name)
		if i+1 < len(units) {
			if r := s % u.secs / units[i+1].secs; r > 0 {
				out += fmt.Sprintf(" %d %s", r, units[i+1].name)
			}
		}
		return out
	}
	return "0 s"
}

// formatPending shows pending stake with the epochs it activates in:
// "250 WAL, active from epoch 3", or "300 WAL: 250 WAL active from epoch
// 3, 50 WAL from epoch 4".
func formatPending(total uint64, by []chain.EpochAmount) string {
	out := formatWAL(total)
	switch {
	case len(by) == 1 && by[0].Amount == total:
		return fmt.Sprintf("%s, active from epoch %d", out, by[0].Epoch)
	case len(by) > 0:
		for i, e := range by {
			sep, what := ", ", "from"
			if i == 0 {
				sep, what = ": ", "active from"
			}
			out += fmt.Sprintf("%s%s %s epoch %d", sep, formatWAL(e.Amount), what, e.Epoch)
		}
	}
	return out
}

// groupDigits puts thousands separators in the integer part of a decimal:
// "12345.5" is "12,345.5".
func groupDigits(s string) string {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// humanSize shows a byte count with a binary unit: "12.5 MiB".
func humanSize(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// formatWAL shows FROST as WAL: "1.5 WAL", "10,000 WAL".
func formatWAL(frost uint64) string {
	s := fmt.Sprintf("%d.%09d", frost/chain.FrostPerWAL, frost%chain.FrostPerWAL)
	return groupDigits(strings.TrimSuffix(strings.TrimRight(s, "0"), ".")) + " WAL"
}

// FormatShards shows ascending shard indices as ranges: "0-3, 7" ("none"
// for none).
func FormatShards(s []uint16) string {
	if len(s) == 0 {
		return "none"
	}
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(s[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

var statusPage = template.Must(template.New("status").Funcs(statusFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>walrus node {{.Name}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{padding:2px 12px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
td:first-child{color:#555;white-space:nowrap}h2{margin-top:1.5em}.bad{color:#b00}code{font-size:.9em}</style></head>
<body><h1>Storage node {{.Name}}</h1>
<table>
<tr><td>node ID</td><td><code>{{.NodeID}}</code></td></tr>
<tr><td>peer ID</td><td><code>{{.PeerID}}</code></td></tr>
<tr><td>addresses</td><td>{{range .Addresses}}<code>{{.}}</code><br>{{end}}</td></tr>
<tr><td>up</td><td>{{uptime .UptimeSeconds}} (since {{.StartedAt}})</td></tr>
<tr><td>epoch</td><td>{{.Epoch}} ({{.Phase}})</td></tr>
<tr><td>committee member</td><td>{{yesno .Member}}</td></tr>
<tr><td>shards</td><td>{{len .Shards}} of {{.NShards}}: {{shards .Shards}}</td></tr>
<tr><td>syncing shards</td><td>{{shards .SyncingShards}}</td></tr>
<tr><td>event cursor</td><td>{{.EventCursor}}</td></tr>
</table>

<h2>Storage</h2>
<table>
<tr><td>blobs</td><td>{{count .Stored.Blobs}}{{if .Stored.Truncated}}+ (count stopped){{end}}</td></tr>
<tr><td>sliver pairs</td><td>{{count .Stored.SliverPairs}}{{if .Stored.Truncated}}+{{end}}</td></tr>
{{with .Stored.Error}}<tr><td>count error</td><td class="bad">{{.}}</td></tr>{{end}}
<tr><td>disk usage</td><td>{{bytes .DiskUsageB}}</td></tr>
<tr><td>buffered in memory</td><td>{{bytes .BufferedB}}</td></tr>
</table>

<h2>Recovery and shard sync</h2>
<table>
<tr><td>recovering now</td><td>{{plural .Recovery.BlobsInProgress "blob"}}{{if .SyncingShards}}; shards {{shards .SyncingShards}} syncing{{end}}</td></tr>
<tr><th colspan="2">since the node started</th></tr>
<tr><td>sliver pairs stored from clients</td><td>{{count .Recovery.PairsStored}}</td></tr>
<tr><td>blobs queued for recovery</td><td>{{count .Recovery.BlobsQueued}}</td></tr>
<tr><td>sliver pairs recovered</td><td>{{count .Recovery.PairsRecovered}}</td></tr>
<tr><td>recoveries failed</td><td{{if .Recovery.BlobsFailed}} class="bad"{{end}}>{{count .Recovery.BlobsFailed}}</td></tr>
<tr><td>sliver pairs from shard sync</td><td>{{count .Recovery.ShardSyncPairs}} ({{plural .Recovery.ShardSyncFallbacks "sync"}} fell back to recovery)</td></tr>
<tr><td>lying peers caught</td><td>{{count .Recovery.LiarsCaught}}</td></tr>
</table>

{{with .Challenges}}<h2>Storage challenges of epoch {{.Epoch}}</h2>
<table>
<tr><td>own shards proven</td><td>{{len .Proven}} of {{len .Proven | add (len .Unproven)}}{{with .Unproven}}; <span class="bad">unproven: {{shards .}}</span>{{end}} ({{plural .BlobSet "blob"}} sampled)</td></tr>
<tr><td>attested</td><td>{{yesno .Attested}}{{with .AttestError}} <span class="bad">({{.}})</span>{{end}}</td></tr>
{{if .Members}}<tr><td>other members</td><td>{{range $i, $m := .Members}}{{if $i}}, {{end}}<span{{if eq .Verdict "failed"}} class="bad"{{end}} title="{{.NodeID}}">#{{.Index}} {{.Verdict}}</span>{{end}}</td></tr>{{end}}
</table>{{end}}

<h2>Stake and rewards</h2>
{{with .PoolError}}<p class="bad">chain: {{.}}</p>{{end}}
{{with .Pool}}<table>
<tr><td>active stake</td><td>{{wal .ActiveStake}}</td></tr>
<tr><td>pending stake</td><td>{{pending .PendingStake .PendingByEpoch}}</td></tr>
{{if .WithdrawingByEpoch}}<tr><td>withdrawing</td><td>{{range $i, $e := .WithdrawingByEpoch}}{{if $i}}, {{end}}{{wal .Amount}} leaves in epoch {{.Epoch}}{{end}}</td></tr>{{end}}
<tr><td>commission</td><td>{{bps .CommissionRate}} (next epoch {{bps .NextCommissionRate}}); accrued {{wal .CommissionAccrued}}</td></tr>
<tr><td>price votes</td><td>storage {{frost .StoragePriceVote}} per MiB per epoch, write {{frost .WritePriceVote}} per MiB</td></tr>
<tr><td>capacity</td><td>{{bytes .Capacity}}</td></tr>
<tr><td>challenges</td><td>{{.ChallengesPassed}} passed, {{.ChallengesFailed}} failed, {{.ChallengesUnproven}} unproven in the last {{plural (len .Epochs) "epoch"}}</td></tr>
<tr><td>rewards</td><td>{{wal .RewardsEarned}} earned, {{wal .Burned}} burned in those epochs</td></tr>
</table>
{{if .Epochs}}<h3>Last epochs</h3><table>
<tr><th>epoch</th><th>shards</th><th>attested</th><th>passed by</th><th>failed by</th><th>verdict</th><th>reward</th><th>commission</th><th>burned</th></tr>
{{range .Epochs}}<tr><td>{{.Epoch}}</td><td>{{.Shards}}</td><td>{{yesno .Attested}}</td><td>{{.PassedBy}} shards</td><td>{{.FailedBy}} shards</td><td{{if eq .Verdict.String "failed"}} class="bad"{{end}}>{{.Verdict}}</td><td>{{wal .Reward}}</td><td>{{wal .Commission}}</td><td>{{wal .Burned}}</td></tr>
{{end}}</table>{{end}}{{end}}
<p><a href="/metrics">metrics</a> · <a href="/health">health (JSON)</a></p></body></html>
`))

// admin is the node's admin HTTP server: /health (Status as JSON),
// /metrics (Prometheus) and a status page.
type admin struct {
	addr    string
	status  func(context.Context) Status
	metrics *metrics
	log     *slog.Logger
}

// start listens and serves until the returned stop function is called; it
// returns the address it listens on.
func (a *admin) start() (addr string, stop func() error, err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.status(r.Context()))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := statusPage.Execute(w, a.status(r.Context())); err != nil {
			a.log.Warn("status page", "err", err)
		}
	})
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return "", nil, fmt.Errorf("node: admin address: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server failed", "err", err)
		}
	}()
	return ln.Addr().String(), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}, nil
}
