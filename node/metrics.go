package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the node's Prometheus metrics, on a registry of its own so
// that several nodes can run in one process (the devnet).
type metrics struct {
	reg *prometheus.Registry

	epoch, shards, buffered, eventSeq prometheus.Gauge

	pairsStored, bytesStored, rejected, sliversServed, symbolsServed, symbolsFromLeaves,
	confirmations, pairsRecovered, recoveryQueued, recoveryFailed,
	gcDeleted, shardsDropped, chainErrors, liarsCaught, replays prometheus.Counter

	// Shard sync (shardsync.go) and the bytes recovery receives.
	syncPairs, syncBytes, syncFallbacks, syncRecovered, syncServedPairs, syncServedBytes,
	recoveryBytes prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	g := func(name, help string) prometheus.Gauge {
		v := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "walrus", Subsystem: "node", Name: name, Help: help})
		m.reg.MustRegister(v)
		return v
	}
	c := func(name, help string) prometheus.Counter {
		v := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "walrus", Subsystem: "node", Name: name, Help: help})
		m.reg.MustRegister(v)
		return v
	}
	m.epoch = g("epoch", "Current epoch as the node sees it.")
	m.shards = g("shards", "Shards the node holds this epoch.")
	m.buffered = g("buffered_bytes", "Bytes of metadata and slivers the intake holds in memory: requests in progress and the buffer (reserved before they are held).")
	m.eventSeq = g("event_cursor", "Sequence number of the last chain event applied.")
	m.pairsStored = c("sliver_pairs_stored_total", "Sliver pairs stored from clients.")
	m.bytesStored = c("sliver_bytes_stored_total", "Sliver bytes stored from clients.")
	m.rejected = c("slivers_rejected_total", "Slivers rejected because they fail verification.")
	m.sliversServed = c("slivers_served_total", "Slivers served.")
	m.symbolsServed = c("recovery_symbols_served_total", "Recovery symbols served.")
	m.symbolsFromLeaves = c("recovery_symbols_from_leaves_total", "Recovery symbols served from kept leaf hashes, their sliver not expanded.")
	m.confirmations = c("confirmations_signed_total", "Storage confirmations signed.")
	m.pairsRecovered = c("sliver_pairs_recovered_total", "Sliver pairs rebuilt from peers' recovery symbols.")
	m.recoveryQueued = c("recoveries_queued_total", "Blobs queued for recovery.")
	m.recoveryFailed = c("recoveries_failed_total", "Blobs whose recovery failed after every attempt.")
	m.gcDeleted = c("gc_blobs_deleted_total", "Expired blobs deleted.")
	m.shardsDropped = c("shards_dropped_total", "Shards whose slivers were deleted after the node stopped holding them.")
	m.chainErrors = c("chain_errors_total", "Failed reads of the chain's event stream.")
	m.replays = c("event_replays_total", "Replays of the chain's events from the start, after an excision lost records written from them.")
	m.liarsCaught = c("liars_caught_total", "Peers caught serving metadata or recovery symbols that do not verify, by recovery (each dropped for the rest of that blob's recovery).")
	m.syncPairs = c("shard_sync_pairs_total", "Sliver pairs stored from a shard's previous holder (shard sync).")
	m.syncBytes = c("shard_sync_bytes_total", "Sliver and metadata bytes received over shard sync.")
	m.syncFallbacks = c("shard_sync_fallbacks_total", "Shard syncs that left the previous holder (down, slow or lying) for recovery.")
	m.syncRecovered = c("shard_sync_recovered_pairs_total", "Sliver pairs of newly assigned shards rebuilt by recovery instead of shard sync.")
	m.syncServedPairs = c("shard_sync_served_pairs_total", "Sliver pairs served to new holders over shard sync.")
	m.syncServedBytes = c("shard_sync_served_bytes_total", "Sliver bytes served to new holders over shard sync.")
	m.recoveryBytes = c("recovery_bytes_total", "Recovery symbol bytes (data and proofs) received from peers.")
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// setView records the epoch and shards of a new view.
func (m *metrics) setView(v *view) {
	m.epoch.Set(float64(v.epoch))
	m.shards.Set(float64(len(v.shards)))
}
