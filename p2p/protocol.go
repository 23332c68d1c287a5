package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/walrus-go/walrus/encoding"
)

// Protocol IDs of DESIGN.md §6. They are part of the wire format: a change of
// a message layout gets a new version, never a silent edit.
const (
	ProtocolMetadataPut     protocol.ID = "/walrus/metadata/put/1.0.0"
	ProtocolMetadataGet     protocol.ID = "/walrus/metadata/get/1.0.0"
	ProtocolSliverPut       protocol.ID = "/walrus/sliver/put/1.0.0"
	ProtocolSliverGet       protocol.ID = "/walrus/sliver/get/1.0.0"
	ProtocolConfirmationGet protocol.ID = "/walrus/confirmation/get/1.0.0"
	ProtocolRecoveryGet     protocol.ID = "/walrus/recovery/get/1.0.0"
	ProtocolStatusGet       protocol.ID = "/walrus/status/get/1.0.0"

	// ProtocolChallengeGet carries storage challenges (DESIGN.md §7;
	// challenge.go). A Server serves it when its Handler is a
	// ChallengeHandler.
	ProtocolChallengeGet protocol.ID = "/walrus/challenge/get/1.0.0"
	// ProtocolShardSyncGet moves a shard's sliver pairs to its new holder at
	// an epoch change (DESIGN.md §5, step 7; shardsync.go). A Server serves
	// it when its Handler is a ShardSyncHandler.
	ProtocolShardSyncGet protocol.ID = "/walrus/shard-sync/get/1.0.0"
	// ProtocolSymbolsGet carries a sliver's symbols with their proofs, for
	// reads of part of a row (symbols.go). A Server serves it when its
	// Handler is a SymbolHandler.
	ProtocolSymbolsGet protocol.ID = "/walrus/symbols/get/1.0.0"
)

// protocols is every protocol of this package (ProtocolInconsistencyPut is
// in inconsistency.go): a Server serves some of them, and the resource
// manager leaves them to the peer and system limits (resourceLimits).
// TestServerProtocolsListed keeps it complete.
var protocols = []protocol.ID{ProtocolMetadataPut, ProtocolMetadataGet, ProtocolSliverPut, ProtocolSliverGet,
	ProtocolConfirmationGet, ProtocolRecoveryGet, ProtocolStatusGet, ProtocolChallengeGet, ProtocolShardSyncGet,
	ProtocolSymbolsGet, ProtocolInconsistencyPut}

// ServiceName is the resource-manager service that owns the streams of
// these protocols, on both sides.
const ServiceName = "walrus.p2p"

// Limits of the protocols. Every frame's length prefix is checked against the
// cap of its place in the protocol before a byte of it is allocated.
const (
	// MaxRequestFrameSize caps every request frame except metadata/put's, and
	// every small response: acknowledgements, status, confirmations, errors.
	// The largest legitimate request, a sliver/get for MaxSliversPerRequest
	// indices, is under 200 KiB.
	MaxRequestFrameSize = 1 << 20

	// MaxMetadataFrameSize caps the frames that carry metadata (the
	// metadata/put request and the metadata/get response). Metadata is
	// 66 bytes per shard: 3.2 MB at encoding.MaxShards.
	MaxMetadataFrameSize = 4 << 20

	// MaxSliverFrameSize caps one sliver frame, in both directions. A primary
	// sliver holds cols symbols of up to 65,534 bytes, 43.7 MB at n = 1,000
	// for a blob of the maximum size, so every sliver of every blob fits for
	// n up to about 1,500. A larger sliver is refused with ErrTooLarge.
	MaxSliverFrameSize = 64 << 20

	// MaxRecoveryFrameSize caps a recovery/get response: one symbol (up to
	// 65,534 bytes and a proof) per sliver the node holds, per target.
	MaxRecoveryFrameSize = 64 << 20

	// MaxSliversPerRequest caps the slivers of one sliver/put or sliver/get
	// request: both slivers of every pair, the most one node can hold.
	MaxSliversPerRequest = 2 * encoding.MaxShards

	// MaxRecoveryTargets caps the target slivers of one recovery/get request.
	MaxRecoveryTargets = 256

	// MaxErrorMessageLen caps the message of an error response; a server
	// truncates longer messages (at a UTF-8 boundary).
	MaxErrorMessageLen = 1024
)

// Default timeouts and concurrency of Server and Client (see the options).
const (
	// DefaultRequestTimeout bounds a whole metadata, confirmation,
	// recovery or status exchange.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultTransferTimeout bounds a whole sliver/put or sliver/get
	// exchange, which may move hundreds of megabytes.
	DefaultTransferTimeout = 5 * time.Minute
	// DefaultMaxStreamsPerPeer is how many requests of one peer a Server
	// serves at once; more are answered with ErrBusy.
	DefaultMaxStreamsPerPeer = 64
	// DefaultMaxStreams is how many requests a Server serves at once in
	// total; more are answered with ErrBusy.
	DefaultMaxStreams = 1024

	// DefaultFrameTimeout bounds how long a new stream may take to deliver
	// its whole request frame. Until it has, the stream holds no server
	// slot (it counts only against the per-connection and per-IP caps);
	// past it, the stream is reset. The largest request frame (metadata/put
	// at MaxMetadataFrameSize) takes well under a second on a link of a few
	// MB/s.
	DefaultFrameTimeout = 10 * time.Second
	// DefaultMaxStreamsPerConn is how many streams of one connection a
	// Server holds at once, waiting for their request frame or being
	// served; more are answered with ErrBusy. Peer identities are free, so
	// this and DefaultMaxStreamsPerIP bound what one connection or one
	// address can hold, whatever identities it uses.
	DefaultMaxStreamsPerConn = 128
	// DefaultMaxStreamsPerIP is DefaultMaxStreamsPerConn for all the
	// connections from one IP address (for IPv6, one /64: a host gets a
	// whole /64). It is a quarter of DefaultMaxStreams, so that no single
	// address can take every slot.
	DefaultMaxStreamsPerIP = 256
)

// transferProtocol reports whether p moves slivers, and so runs under the
// transfer timeout rather than the request timeout.
func transferProtocol(p protocol.ID) bool {
	return p == ProtocolSliverPut || p == ProtocolSliverGet || p == ProtocolShardSyncGet || p == ProtocolChallengeGet || p == ProtocolInconsistencyPut
}
