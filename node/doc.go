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
// large request writes its complete pairs as it goes). Data for a blob whose
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
// garbage-collects expired blobs, recovers newly assigned shards and reports
// sync done.
//
// # Recovery
//
// When a blob is certified and the node lacks pairs of it (it was down, or a
// client did not send them), background workers rebuild them from recovery
// symbols of the other committee members and of the node's own slivers.
//
// # Lifecycle
//
// New is inert; Run starts the store, the libp2p host and server, the event
// follower, the recovery workers and the admin HTTP server (/health,
// /metrics, a status page), and on shutdown stops them in reverse order.
package node
