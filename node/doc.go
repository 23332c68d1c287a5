// Package node is the storage node: it keeps the sliver pairs of the shards
// it holds in a Pebble store, serves them and their metadata, recovery
// symbols and storage confirmations over libp2p (it implements p2p.Handler),
// and follows the chain.
//
// # Intake
//
// Metadata is accepted when it hashes to its blob ID; slivers when they
// belong to a shard the node holds in the current committee and verify
// against the metadata. Complete pairs are written in one synced batch (a
// large request writes its complete pairs as it goes, each write running
// while the next slivers arrive and are verified; the request is answered
// once all its writes are synced). A sliver is kept in the buffer its frame
// was read into, not copied. Data for a blob whose
// registration the node has not seen yet waits in an in-memory buffer for at
// most Config.BufferTTL; the registration event moves it to the store.
//
// Every byte the intake holds in memory — the slivers of requests in
// progress and the buffer — is reserved first, against the peer that sent it
// (Config.MaxBufferedBytesPerPeer) and the node's total
// (Config.MaxBufferedBytes); what does not fit is refused with p2p.ErrBusy
// (ErrIntakeFull), and a sliver sent twice in one request with
// p2p.ErrInvalid. /health and the walrus_node_buffered_bytes metric report
// the bytes held.
//
// # Confirmations
//
// The node signs a blob-certification message (DESIGN.md §3) with its BLS
// protocol key only when it stores a pair for every shard it holds. A
// request waits up to Config.ConfirmationWait for slivers still arriving.
//
// # Chain events
//
// The node applies the chain's events in order from a cursor kept in the
// store; each event's effect and the cursor advance commit together, so a
// restart resumes exactly after the last applied event. Registrations,
// certifications, extensions, deletions and invalidations update the blob's
// record; an epoch change loads the new committee, sets shard states,
// garbage-collects expired blobs, syncs newly assigned shards and reports
// sync done.
//
// # Shard sync
//
// A shard the node gains at an epoch change is pulled from its holder in the
// previous committee over shard-sync/get, in blob-ID order, each pair
// verified against the metadata before it is stored with a cursor, so that a
// restart resumes the sync. A holder that is down, slow or lies is left, and
// what is left is recovered from all nodes. A shard the node loses is served
// over shard sync to its new holder until that node reports sync done or the
// next epoch starts, then deleted. shardsync.go has the details;
// Config.ShardSync* the limits.
//
// # Recovery
//
// When a blob is certified and the node lacks pairs of it (it was down, or a
// client did not send them), background workers rebuild them from recovery
// symbols of the other committee members and of the node's own slivers.
//
// # Storage challenges
//
// Every epoch the node proves that it holds its shards and checks that the
// other committee members hold theirs (DESIGN.md §7; package proofs has the
// derivation and formats, challenge.go the node's side). The epoch's blob set
// is fixed when the node applies EpochChangeStart, from its records (kept in
// DataDir/challenge-set for restarts); once the change is done the node
// proves its own shards (each once, after its sync; a sampled sliver it lacks
// is recovered first) and serves the responses over challenge/get to the
// members only, challenges every other member (all its shards in one
// request, each response capped at its known size), retries a member that
// fails until Config.ChallengeWindow has passed (at most half the epoch), and
// submits one attestation signed with its protocol key: a bit per member that
// passed every shard, its own when it proved all of its. Status.Challenges
// and the walrus_node_challenge_* metrics report what happened.
//
// # Lifecycle
//
// New is inert; Run starts the store, the libp2p host and server, the event
// follower, the recovery workers and the admin HTTP server (/health,
// /metrics, a status page), and on shutdown stops them in reverse order.
package node
