package node

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/store"
)

// Scrubbing.
//
// The scrubber re-reads everything the node stores, in the background, at a
// bounded rate, in passes. A pass has two phases:
//
//  1. tables: every block of every live Pebble table is read from disk, past
//     the block cache, and its checksum checked (store.VerifyTable). This
//     finds damage in data that no read would touch (older versions, blocks
//     a compaction will need);
//  2. pairs: every sliver pair of every shard the node holds is read, its
//     envelope checksum checked, and both slivers verified against the blob's
//     metadata (the sliver hash of the metadata). A pair that fails is
//     deleted and rebuilt through recovery.
//
// A damaged table (found by phase 1, by any read of the node, or by a
// compaction) is excised as a whole (store.Excise): the table leaves the
// database, so that compactions go on, and what it held is rebuilt: the pairs
// through recovery, the metadata fetched from peers. The position in the pass
// is persisted (DataDir/scrub.json), so a restarted node resumes the pass.

// Defaults and bounds of the scrub settings.
const (
	// DefaultScrubRate is the bytes per second the scrubber reads: a node of
	// 1 TB is scrubbed about every 8 days, at a small share of a disk's
	// bandwidth.
	DefaultScrubRate = 16 << 20
	// MinScrubRate is the smallest positive ScrubRate.
	MinScrubRate = 64 << 10
	// DefaultScrubInterval is the least time from the start of one pass to
	// the start of the next.
	DefaultScrubInterval = 24 * time.Hour

	// scrubPage is the pairs read per step of the pairs phase.
	scrubPage = 32
	// scrubSaveEvery is how often the cursor is persisted while a pass runs.
	scrubSaveEvery = 2 * time.Second
	// scrubPendingMax bounds the dropped pairs whose rebuild the scrubber
	// follows (for the repaired count); past it, drops are counted only.
	scrubPendingMax = 1 << 16
	// scrubRecheck is how long a dropped pair may stay missing before the
	// scrubber asks recovery for it again.
	scrubRecheck = 30 * time.Second
	// scrubExciseRetry is the wait after a failed excision.
	scrubExciseRetry = 10 * time.Second
	// maxStartExcisions bounds the rounds of checks and excisions at start.
	maxStartExcisions = 8
	// scrubLostKept bounds the descriptions of lost ranges Status keeps.
	scrubLostKept = 16
	// scrubCursorFile is the cursor's file in DataDir.
	scrubCursorFile = "scrub.json"
)

// Phases of a scrub pass, in ScrubStatus.Phase and the cursor.
const (
	scrubTables = "tables"
	scrubPairs  = "pairs"
	scrubIdle   = "idle"
)

// scrubDefaults fills in the scrub settings of c (EnsureDefaults).
func (c *Config) scrubDefaults() {
	if c.ScrubRate == 0 {
		c.ScrubRate = DefaultScrubRate
	}
	if c.ScrubInterval == 0 {
		c.ScrubInterval = DefaultScrubInterval
	}
}

// validateScrub reports the invalid scrub settings of c (Validate).
func (c *Config) validateScrub() []string {
	var bad []string
	if c.ScrubRate >= 0 && c.ScrubRate < MinScrubRate {
		bad = append(bad, fmt.Sprintf("scrub_rate (%d) must be ≥ %d bytes/s, or negative to turn scrubbing off", c.ScrubRate, MinScrubRate))
	}
	if c.ScrubInterval < 0 {
		bad = append(bad, fmt.Sprintf("scrub_interval (%s) must be ≥ 0", c.ScrubInterval))
	}
	return bad
}

// ScrubStatus is the scrubber's part of Status.
type ScrubStatus struct {
	Enabled bool `json:"enabled"`
	// RateBps is the configured read rate, bytes per second.
	RateBps int64 `json:"rateBytesPerSecond"`
	// Passes is the number of passes completed (persisted); Phase the
	// current one ("tables", "pairs", "idle") and Position where in it.
	Passes        uint64 `json:"passes"`
	Phase         string `json:"phase"`
	Position      string `json:"position"`
	PassStartedAt string `json:"passStartedAt,omitempty"`
	LastPassAt    string `json:"lastPassAt,omitempty"`
	// Since the node started: tables, pairs and bytes verified.
	TablesVerified uint64 `json:"tablesVerified"`
	PairsVerified  uint64 `json:"pairsVerified"`
	BytesVerified  uint64 `json:"bytesVerified"`
	// Damage found and repaired since the node started: damaged tables
	// noted and excised, slivers that failed their check, pairs dropped
	// (bad slivers and excised tables) and, of those, rebuilt; metadata
	// fetched again.
	DamagedTables   uint64 `json:"damagedTables"`
	ExcisedTables   uint64 `json:"excisedTables"`
	BadSlivers      uint64 `json:"badSlivers"`
	PairsDropped    uint64 `json:"pairsDropped"`
	PairsRepaired   uint64 `json:"pairsRepaired"`
	AwaitingRepair  int    `json:"pairsAwaitingRepair"`
	MetadataFetched uint64 `json:"metadataFetched"`
	// LastRepairSeconds is the time from drop to rebuild of the last pair
	// repaired.
	LastRepairSeconds float64 `json:"lastRepairSeconds"`
	// Lost names key ranges other than slivers and metadata (records, the
	// event cursor) that excised tables lost (the last scrubLostKept).
	Lost []string `json:"lost,omitempty"`
}

// scrubCursor is the persisted position of the scrubber.
type scrubCursor struct {
	Passes        uint64           `json:"passes"`
	Phase         string           `json:"phase"`
	Table         uint64           `json:"table"` // last table verified
	Shard         int              `json:"shard"` // shard of the pairs phase
	After         *encoding.BlobID `json:"after,omitempty"`
	PassStartedAt time.Time        `json:"passStartedAt"`
	LastPassAt    time.Time        `json:"lastPassAt"`
}

// scrubMetrics are the scrubber's Prometheus metrics.
type scrubMetrics struct {
	bytes, tables, pairs, passes, damaged, excised, badSlivers, dropped, repaired, metadata prometheus.Counter
	repairSeconds                                                                           prometheus.Histogram
}

func newScrubMetrics(reg *prometheus.Registry) *scrubMetrics {
	c := func(name, help string) prometheus.Counter {
		v := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "walrus", Subsystem: "node", Name: name, Help: help})
		reg.MustRegister(v)
		return v
	}
	m := &scrubMetrics{
		bytes:      c("scrub_bytes_total", "Bytes the scrubber read and verified (tables and slivers)."),
		tables:     c("scrub_tables_verified_total", "Pebble tables whose every block checksum the scrubber verified."),
		pairs:      c("scrub_pairs_verified_total", "Sliver pairs the scrubber read and verified against their metadata."),
		passes:     c("scrub_passes_total", "Scrub passes completed."),
		damaged:    c("scrub_damaged_tables_total", "Damaged Pebble tables noted (by the scrubber, reads or compactions)."),
		excised:    c("scrub_excised_tables_total", "Damaged Pebble tables excised from the store."),
		badSlivers: c("scrub_bad_slivers_total", "Stored slivers that failed their checksum or their hash in the metadata."),
		dropped:    c("scrub_pairs_dropped_total", "Sliver pairs dropped for rebuilding (bad slivers and excised tables)."),
		repaired:   c("scrub_pairs_repaired_total", "Dropped sliver pairs stored again (rebuilt by recovery)."),
		metadata:   c("scrub_metadata_fetched_total", "Blob metadata fetched again after it was lost or failed its check."),
		repairSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "walrus", Subsystem: "node",
			Name: "scrub_repair_seconds", Help: "Time from the drop of a sliver pair to its rebuild.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}),
	}
	reg.MustRegister(m.repairSeconds)
	return m
}

// scrubber is the node's scrubbing part.
type scrubber struct {
	store    *store.Store
	codec    *encoding.Codec
	views    *views
	recov    *recoverer
	metrics  *scrubMetrics
	log      *slog.Logger
	rate     int64
	interval time.Duration
	path     string
	pace     pacer

	mu        sync.Mutex
	cur       scrubCursor
	st        ScrubStatus
	pending   map[store.PairRef]pendingPair
	saved     time.Time
	exciseErr time.Time // last failed excision
	followed  time.Time // last followPending
	atStart   []store.Excised
	// replay asks the follower to rebuild the records an excision lost
	// (follower.requestReplay).
	replay func()
}

// pendingPair is a dropped pair waiting for its rebuild.
type pendingPair struct{ dropped, asked time.Time }

// newScrubber builds the node's scrubber (inert until run).
func (n *Node) newScrubber(codec *encoding.Codec, recov *recoverer, atStart []store.Excised) *scrubber {
	sc := &scrubber{store: n.store, codec: codec, views: n.views, recov: recov, metrics: newScrubMetrics(n.metrics.reg),
		log: n.log.With("part", "scrub"), rate: n.cfg.ScrubRate, interval: n.cfg.ScrubInterval,
		path: filepath.Join(n.cfg.DataDir, scrubCursorFile), pending: map[store.PairRef]pendingPair{}, atStart: atStart}
	sc.pace.rate = float64(sc.rate)
	sc.st = ScrubStatus{Enabled: sc.rate > 0, RateBps: max(sc.rate, 0), Phase: scrubIdle}
	sc.load()
	return sc
}

// status returns a copy of the scrubber's status.
func (sc *scrubber) status() *ScrubStatus {
	if sc == nil {
		return nil
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	st := sc.st
	st.Passes, st.Phase = sc.cur.Passes, sc.cur.Phase
	st.AwaitingRepair = len(sc.pending)
	st.Lost = slices.Clone(sc.st.Lost)
	switch sc.cur.Phase {
	case scrubTables:
		st.Position = fmt.Sprintf("after table %06d", sc.cur.Table)
	case scrubPairs:
		st.Position = fmt.Sprintf("shard %d", sc.cur.Shard)
		if sc.cur.After != nil {
			st.Position += " after blob " + sc.cur.After.String()
		}
	}
	if !sc.cur.PassStartedAt.IsZero() {
		st.PassStartedAt = sc.cur.PassStartedAt.UTC().Format(time.RFC3339)
	}
	if !sc.cur.LastPassAt.IsZero() {
		st.LastPassAt = sc.cur.LastPassAt.UTC().Format(time.RFC3339)
	}
	return &st
}

// update changes the status under the lock.
func (sc *scrubber) update(fn func(st *ScrubStatus)) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	fn(&sc.st)
}

// run scrubs until ctx ends. Damage is repaired whether or not scrubbing is
// on: a damaged table that stays in the store wedges its compactions.
func (sc *scrubber) run(ctx context.Context) {
	for _, res := range sc.atStart {
		sc.excised(ctx, res, 0)
	}
	notify, _ := sc.store.DamageNoted()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	noted := int64(0)
	for ctx.Err() == nil {
		if _, n := sc.store.DamageNoted(); n > noted {
			sc.metrics.damaged.Add(float64(n - noted))
			sc.update(func(st *ScrubStatus) { st.DamagedTables += uint64(n - noted) })
			noted = n
		}
		sc.repairDamage(ctx)
		if time.Since(sc.followed) >= time.Second {
			sc.followPending(ctx)
			sc.followed = time.Now()
		}
		busy := false
		if sc.rate > 0 {
			var err error
			busy, err = sc.step(ctx)
			if err != nil && ctx.Err() == nil {
				sc.log.Warn("scrub step failed; retrying", "err", err)
				busy = false
			}
			sc.save(false)
		}
		if busy {
			continue
		}
		select {
		case <-ctx.Done():
		case <-notify:
		case <-tick.C:
		}
	}
	sc.save(true)
}

// step does one bounded piece of the pass and reports whether there is more
// to do right away.
func (sc *scrubber) step(ctx context.Context) (bool, error) {
	sc.mu.Lock()
	cur := sc.cur
	sc.mu.Unlock()
	switch cur.Phase {
	case scrubTables:
		return true, sc.stepTables(ctx, cur)
	case scrubPairs:
		return true, sc.stepPairs(ctx, cur)
	}
	if !cur.PassStartedAt.IsZero() && time.Since(cur.PassStartedAt) < sc.interval {
		return false, nil
	}
	sc.setCursor(func(c *scrubCursor) {
		c.Phase, c.Table, c.Shard, c.After, c.PassStartedAt = scrubTables, 0, 0, nil, time.Now()
	})
	sc.log.Debug("scrub pass started", "pass", cur.Passes+1)
	return true, nil
}

func (sc *scrubber) setCursor(fn func(c *scrubCursor)) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	fn(&sc.cur)
}

// stepTables verifies the next table.
func (sc *scrubber) stepTables(ctx context.Context, cur scrubCursor) error {
	tables, err := sc.store.Tables()
	if err != nil {
		return err
	}
	i, _ := slices.BinarySearchFunc(tables, cur.Table+1, func(t store.Table, num uint64) int { return cmp.Compare(t.Num, num) })
	if i == len(tables) {
		sc.setCursor(func(c *scrubCursor) { c.Phase, c.Shard, c.After = scrubPairs, 0, nil })
		return nil
	}
	t := tables[i]
	err = sc.store.VerifyTable(ctx, t, sc.read)
	switch {
	case errors.Is(err, store.ErrCorrupt):
		// Noted as damage: the next turn of run excises it.
	case errors.Is(err, store.ErrNotFound):
		// Compacted away meanwhile: its data is in newer tables.
	case err != nil:
		return err
	default:
		sc.metrics.tables.Inc()
		sc.update(func(st *ScrubStatus) { st.TablesVerified++ })
	}
	sc.setCursor(func(c *scrubCursor) { c.Table = t.Num })
	return nil
}

// stepPairs verifies the next page of pairs.
func (sc *scrubber) stepPairs(ctx context.Context, cur scrubCursor) error {
	shards := slices.Clone(sc.views.load().shards)
	slices.Sort(shards)
	i, _ := slices.BinarySearchFunc(shards, cur.Shard, func(s uint16, t int) int { return cmp.Compare(int(s), t) })
	if i == len(shards) {
		now := time.Now()
		sc.setCursor(func(c *scrubCursor) {
			c.Passes++
			c.Phase, c.Shard, c.After, c.LastPassAt = scrubIdle, 0, nil, now
		})
		sc.metrics.passes.Inc()
		sc.save(true)
		sc.log.Info("scrub pass done", "pass", cur.Passes+1, "took", now.Sub(cur.PassStartedAt).Round(time.Millisecond))
		return nil
	}
	shard := shards[i]
	after := cur.After
	if int(shard) != cur.Shard {
		after = nil
	}
	ids, err := sc.store.ShardBlobs(ctx, shard, store.Page{After: after, Limit: scrubPage})
	if err != nil && !errors.Is(err, store.ErrCorrupt) {
		return err
	}
	for _, id := range ids {
		if err := sc.scrubPair(ctx, shard, id); err != nil {
			return err
		}
		sc.setCursor(func(c *scrubCursor) { c.Shard, c.After = int(shard), &id })
	}
	if err != nil || len(ids) < scrubPage {
		// The shard is done (a corrupt marker is a damaged table, which
		// is excised; the next pass reads the rest).
		sc.setCursor(func(c *scrubCursor) { c.Shard, c.After = int(shard)+1, nil })
	}
	return nil
}

// read waits until n more bytes fit the rate, and counts them as verified.
func (sc *scrubber) read(ctx context.Context, n int) error {
	if err := sc.pace.wait(ctx, n); err != nil {
		return err
	}
	sc.metrics.bytes.Add(float64(n))
	sc.update(func(st *ScrubStatus) { st.BytesVerified += uint64(n) })
	return nil
}

// scrubPair verifies the pair of blob id on shard, dropping it for recovery
// if a sliver fails.
func (sc *scrubber) scrubPair(ctx context.Context, shard uint16, id encoding.BlobID) error {
	md, err := sc.metadata(ctx, id)
	if err != nil || md == nil {
		return err
	}
	nn := sc.codec.Params().N
	pair := id.PairForShard(int(shard), nn)
	bad := ""
	for _, want := range []struct {
		axis  encoding.Axis
		index int
	}{{encoding.Primary, pair}, {encoding.Secondary, nn - 1 - pair}} {
		sl, err := sc.store.Sliver(ctx, shard, id, want.axis)
		if errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrNotFound) {
			bad = err.Error()
			break
		}
		if err != nil {
			return err
		}
		if err := sc.read(ctx, len(sl.Data)); err != nil {
			return err
		}
		if int(sl.Index) != want.index {
			bad = fmt.Sprintf("%s sliver has index %d, want %d", want.axis, sl.Index, want.index)
			break
		}
		if err := sc.codec.VerifySliver(md, &sl); err != nil {
			bad = err.Error()
			break
		}
	}
	sc.metrics.pairs.Inc()
	sc.update(func(st *ScrubStatus) { st.PairsVerified++ })
	if bad == "" {
		return nil
	}
	sc.log.Error("stored sliver pair failed its check; dropping it for recovery", "blob_id", id, "shard", shard, "err", bad)
	sc.metrics.badSlivers.Inc()
	if err := sc.store.DeletePair(ctx, shard, id); err != nil {
		sc.update(func(st *ScrubStatus) { st.BadSlivers++ })
		return err
	}
	sc.dropped(ctx, []store.PairRef{{Shard: shard, BlobID: id}}, 1)
	return nil
}

// metadata returns the stored metadata of a blob, fetching it again from
// peers when it is missing or fails its check; nil when no peer has it.
func (sc *scrubber) metadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	md, err := sc.store.Metadata(ctx, id)
	if err == nil {
		if verr := md.Verify(id, sc.codec.Params().N); verr == nil {
			return md, nil
		} else {
			err = fmt.Errorf("%w: %v", store.ErrCorrupt, verr)
		}
	}
	if errors.Is(err, store.ErrCorrupt) {
		sc.log.Error("stored metadata failed its check; fetching it again", "blob_id", id, "err", err)
		if err := sc.store.DropMetadata(ctx, id); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return sc.fetchMetadata(ctx, id), nil
}

// fetchMetadata fetches and stores a blob's metadata from peers (recovery's
// fetch); nil when none has it.
func (sc *scrubber) fetchMetadata(ctx context.Context, id encoding.BlobID) *encoding.Metadata {
	md, err := sc.recov.metadata(ctx, id, newLiars())
	if err != nil {
		sc.log.Warn("fetching lost metadata failed", "blob_id", id, "err", err)
		return nil
	}
	sc.metrics.metadata.Inc()
	sc.update(func(st *ScrubStatus) { st.MetadataFetched++ })
	return md
}

// repairDamage excises the damaged tables and starts the rebuild of what
// they lost.
func (sc *scrubber) repairDamage(ctx context.Context) {
	damage := sc.store.Damaged()
	if len(damage) == 0 || time.Since(sc.exciseErr) < scrubExciseRetry {
		return
	}
	for _, d := range damage {
		start := time.Now()
		res, err := sc.store.Excise(ctx, d)
		if err != nil {
			if ctx.Err() == nil {
				sc.log.Error("excising a damaged table failed; retrying", "file", d.File, "err", err)
				sc.exciseErr = time.Now()
			}
			return
		}
		sc.excised(ctx, res, time.Since(start))
	}
}

// excised counts an excision and starts the rebuild of what it lost.
func (sc *scrubber) excised(ctx context.Context, res store.Excised, took time.Duration) {
	sc.metrics.excised.Inc()
	sc.update(func(st *ScrubStatus) {
		st.ExcisedTables++
		st.Lost = append(st.Lost, res.Lost...)
		if len(st.Lost) > scrubLostKept {
			st.Lost = st.Lost[len(st.Lost)-scrubLostKept:]
		}
	})
	sc.log.Warn("damaged table excised; rebuilding what it held", "file", res.Damage.File, "cause", res.Damage.Cause,
		"pairs", len(res.Pairs), "metadata", len(res.Metadata), "kept", res.Kept, "took", took.Round(time.Millisecond))
	for _, id := range res.Metadata {
		if rec, found, err := blobRecord(ctx, sc.store, id); err == nil && found && live(rec, sc.views.load().epoch) {
			sc.fetchMetadata(ctx, id)
		}
	}
	sc.dropped(ctx, res.Pairs, 0)
	if res.LostRecords && sc.replay != nil {
		sc.replay()
	}
	if len(res.Lost) > 0 {
		sc.log.Error("an excised table lost node state; the scan for missing pairs runs again", "lost", res.Lost)
		sc.recov.scan(ctx)
	}
}

// repairAtStart checks the node's state in the store (store.CheckState)
// before the parts read it, and excises the damaged tables it finds: a node
// whose state sits in a corrupt block would otherwise fail to start. The
// scrubber rebuilds what the excisions lost once it runs.
func (n *Node) repairAtStart(ctx context.Context) ([]store.Excised, error) {
	var out []store.Excised
	for range maxStartExcisions {
		err := n.store.CheckState(ctx)
		if err == nil || !errors.Is(err, store.ErrCorrupt) {
			return out, err
		}
		damage := n.store.Damaged()
		if len(damage) == 0 {
			// A value that fails its own checksum: its reader handles it.
			n.log.Warn("corrupt value in the node's state", "err", err)
			return out, nil
		}
		for _, d := range damage {
			res, err := n.store.Excise(ctx, d)
			if err != nil {
				return out, err
			}
			n.log.Warn("damaged table excised at start", "file", d.File, "pairs", len(res.Pairs), "metadata", len(res.Metadata), "lost", res.Lost)
			out = append(out, res)
		}
	}
	return out, nil
}

// dropped follows dropped pairs to their rebuild and asks recovery for them;
// bad of them were dropped for a bad sliver. The status counts them and the
// drops in one step, so that no reader sees a bad sliver not yet dropped.
func (sc *scrubber) dropped(ctx context.Context, pairs []store.PairRef, bad uint64) {
	if len(pairs) == 0 {
		return
	}
	now := time.Now()
	sc.metrics.dropped.Add(float64(len(pairs)))
	ids := map[encoding.BlobID]bool{}
	sc.mu.Lock()
	sc.st.PairsDropped += uint64(len(pairs))
	sc.st.BadSlivers += bad
	for _, p := range pairs {
		if len(sc.pending) < scrubPendingMax {
			sc.pending[p] = pendingPair{dropped: now, asked: now}
		}
		ids[p.BlobID] = true
	}
	sc.mu.Unlock()
	for id := range ids {
		sc.recov.check(ctx, id)
	}
}

// followPending counts the dropped pairs stored again, and asks recovery
// again for those missing for a while. A pair the node no longer holds, or
// of a blob no longer live, is forgotten.
func (sc *scrubber) followPending(ctx context.Context) {
	sc.mu.Lock()
	refs := make([]store.PairRef, 0, len(sc.pending))
	for p := range sc.pending {
		refs = append(refs, p)
	}
	sc.mu.Unlock()
	v := sc.views.load()
	again := map[encoding.BlobID]bool{}
	for _, p := range refs {
		has, err := sc.store.HasPair(ctx, p.Shard, p.BlobID)
		if err != nil {
			continue
		}
		sc.mu.Lock()
		pp := sc.pending[p]
		switch {
		case has:
			d := time.Since(pp.dropped)
			delete(sc.pending, p)
			sc.st.PairsRepaired++
			sc.st.LastRepairSeconds = d.Seconds()
			sc.metrics.repaired.Inc()
			sc.metrics.repairSeconds.Observe(d.Seconds())
		case !v.holds(p.Shard):
			delete(sc.pending, p)
		case time.Since(pp.asked) > scrubRecheck:
			pp.asked = time.Now()
			sc.pending[p] = pp
			again[p.BlobID] = true
		}
		sc.mu.Unlock()
	}
	for id := range again {
		if rec, found, err := blobRecord(ctx, sc.store, id); err == nil && (!found || !live(rec, v.epoch)) {
			sc.forget(id)
			continue
		}
		sc.recov.check(ctx, id)
	}
}

// forget stops following the dropped pairs of a blob.
func (sc *scrubber) forget(id encoding.BlobID) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for p := range sc.pending {
		if p.BlobID == id {
			delete(sc.pending, p)
		}
	}
}

// load reads the persisted cursor; a missing or unreadable one starts a pass
// from the beginning.
func (sc *scrubber) load() {
	var c scrubCursor
	b, err := os.ReadFile(sc.path)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	switch {
	case err == nil && (c.Phase == scrubTables || c.Phase == scrubPairs || c.Phase == scrubIdle):
	case errors.Is(err, os.ErrNotExist):
		c = scrubCursor{Phase: scrubIdle}
	default:
		sc.log.Warn("scrub cursor unreadable; starting a pass from the beginning", "path", sc.path, "err", err)
		c = scrubCursor{Phase: scrubIdle}
	}
	sc.mu.Lock()
	sc.cur = c
	sc.mu.Unlock()
}

// save persists the cursor, at most every scrubSaveEvery unless now.
func (sc *scrubber) save(now bool) {
	sc.mu.Lock()
	if !now && time.Since(sc.saved) < scrubSaveEvery {
		sc.mu.Unlock()
		return
	}
	sc.saved = time.Now()
	b, err := json.Marshal(sc.cur)
	sc.mu.Unlock()
	if err == nil {
		tmp := sc.path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, sc.path)
		}
	}
	if err != nil {
		sc.log.Warn("saving the scrub cursor failed", "err", err)
	}
}

// pacer spreads reads so that they average rate bytes per second.
type pacer struct {
	rate float64
	mu   sync.Mutex
	next time.Time
}

// wait returns once a read of n bytes fits the rate (at once when the rate
// is not positive).
func (p *pacer) wait(ctx context.Context, n int) error {
	if p.rate <= 0 {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return sleepCtx(ctx, d)
	}
	return nil
}
