// Package p2p is the network layer between storage nodes and their clients:
// the libp2p host and its identity, the request/response protocols of
// DESIGN.md §6, their framing and messages, a Server that serves them by
// calling a Handler, and a Client that asks them.
//
// # Host
//
// NewHost starts a libp2p host with the node's Ed25519 network key
// (LoadOrCreateKey keeps it in a 0600 file), TCP and QUIC listeners, TLS 1.3
// (and Noise) security, yamux, and explicit connection-manager and
// resource-manager limits (Limits; libp2p's defaults throttle a storage
// node). Host.AddPeer records a committee member's peer ID and multiaddrs.
// NewServer serves a Handler (the node's side of every protocol) on a host;
// NewClient asks peers from one. Example runs a node and a client on
// 127.0.0.1: a Server over a small Handler, and a Client that stores and
// reads a blob's metadata.
//
// # Protocols
//
// One stream per request. Every protocol ID is versioned; these constants
// are part of the wire format and a layout change gets a new version:
//
//	/walrus/metadata/put/1.0.0      metadata of a blob → ack
//	/walrus/metadata/get/1.0.0      blob ID → metadata
//	/walrus/sliver/put/1.0.0        header, then one frame per sliver → ack with per-sliver failures
//	/walrus/sliver/get/1.0.0        blob ID, axis, indices → one frame per sliver
//	/walrus/confirmation/get/1.0.0  blob ID, epoch, object ID → signed confirmation (opaque)
//	/walrus/recovery/get/1.0.0      blob ID, target axis, target indices → recovery symbols
//	/walrus/status/get/1.0.0        blob ID → status
//	/walrus/challenge/get/1.0.0     epoch, shards → one frame per shard: the shard's storage-challenge response
//	/walrus/shard-sync/get/1.0.0    epoch, shard, cursor, limit → a frame per sliver pair, then the next cursor
//	/walrus/inconsistency/put/1.0.0 header, then an inconsistency proof's symbols → signed invalid-blob attestation (opaque)
//
// A node holds many shards, so one sliver/put or sliver/get carries all the
// slivers of one blob that the node holds, never one stream per sliver.
//
// shard-sync/get is the one protocol whose answer depends on who asks: a
// node that gains a shard at an epoch change pulls it from the previous
// holder, which serves it only to the node the committee of the request's
// epoch assigns it to (the requester is known by its authenticated peer ID,
// RemotePeer). The pairs stream a frame each, in blob-ID order; a response
// ends at its limit (or MaxShardSyncResponseBytes) with the cursor to ask
// again from, so that a sync resumes where it stopped, after a restart too.
// Metadata comes with the pairs only when asked for: a node that was in the
// committee before has it, and it outweighs a small blob's pair at large n.
//
// # Framing
//
// A stream carries frames:
//
//	frame  = ULEB128(len(payload)) ‖ payload
//
// The length prefix is BCS's ULEB128 (a uvarint): minimal and at most 5
// bytes. Its value is checked against
// the cap of the frame's place (MaxRequestFrameSize, MaxMetadataFrameSize,
// MaxSliverFrameSize, MaxRecoveryFrameSize, MaxShardSyncFrameSize) and the frame's memory is
// reserved in the stream's resource scope before the payload is allocated.
// The requester writes its frames and closes its side for writing; the
// responder writes its frames and closes the stream. A responder that cannot
// answer resets the stream.
//
// # Messages
//
// Payloads are BCS. Structs with several fields are encoded with go-bcs;
// the layouts of package encoding (metadata, sliver, recovery symbol) are
// encoding's own and appear in place. Decoding is strict, through the
// project's BCS reader (package encoding/bcs): no trailing bytes, canonical
// forms only, every length capped and bounded by the frame before anything
// is allocated. testdata/wire holds the exact bytes of every message and of
// whole sliver streams as annotated hex; TestGolden checks the encoders and
// decoders against them, and "go test ./p2p -run TestGolden -update"
// rewrites them, so that a change of format is a diff to review. In the layouts below,
// blob_id is 32 bytes, string and vector<T> are ULEB128(count) ‖ elements,
// Option<T> is 0x00 | 0x01 ‖ T, and integers are little-endian.
//
//	Result<T> = 0x00 ‖ T | 0x01 ‖ Error           (BCS enum)
//	Error     = code u8 ‖ message string          (ErrorCode; UTF-8, ≤ MaxErrorMessageLen bytes)
//
//	metadata/put   request   blob_id ‖ Metadata (encoding's BCS)
//	               response  Result<()>
//	metadata/get   request   blob_id
//	               response  Result<Metadata>
//	sliver/put     header    blob_id ‖ count u32          (1 ≤ count ≤ MaxSliversPerRequest)
//	               count ×   axis u8 ‖ Sliver             (≤ MaxSliverFrameSize each)
//	               response  Result<vector<(axis u8 ‖ index u16 ‖ Error)>>   (the slivers refused)
//	sliver/get     request   blob_id ‖ axis u8 ‖ vector<u16> indices   (distinct)
//	               response  one frame per index, in order: Result<Sliver>
//	confirmation/get request blob_id ‖ epoch u32 ‖ Option<[32]u8> object_id
//	               response  Result<vector<u8> message ‖ vector<u8> signature>
//	recovery/get   request   blob_id ‖ axis u8 ‖ vector<u16> indices   (targets; distinct, ≤ MaxRecoveryTargets)
//	               response  Result<vector<RecoverySymbol>>   (encoding's BCS each)
//	status/get     request   blob_id
//	               response  Result<epoch u32 ‖ state u8 ‖ end_epoch u32 ‖
//	                         has_metadata bool ‖ shards u32 ‖ stored_slivers u32>
//	shard-sync/get request   epoch u32 ‖ shard u16 ‖ Option<blob_id> after ‖ limit u32 ‖ with_metadata bool
//	               response  pair frames in increasing blob-ID order, then an End or Err frame
//	                         (each ≤ MaxShardSyncFrameSize, at most limit pairs):
//	                 Pair    0x00 ‖ blob_id ‖ Option<Metadata> ‖ Sliver primary ‖ Sliver secondary
//	                 Err     0x01 ‖ Error                        (the same bytes as every error response)
//	                 End     0x02 ‖ Option<blob_id> next ‖ more bool
//	inconsistency/put request frame 1: blob_id ‖ epoch u32 ‖ axis u8 ‖ index u16 ‖ count u32 ‖ symbol_size u32
//	                          frame 2: vector<RecoverySymbol>   (exactly count; read once the handler accepts frame 1)
//	               response  Result<vector<u8> message ‖ vector<u8> signature>   (inconsistency.go)
//
//	challenge/get  request   epoch u32 ‖ vector<u16> shards          (distinct, ≤ MaxChallengeShards)
//	               response  one frame per shard, in order (each ≤ MaxChallengeFrameSize):
//	                         0x00 ‖ proofs.Response's BCS | 0x01 ‖ Error
//
//	Sliver = ULEB128(len(data)) ‖ data ‖ symbol_size u16 ‖ index u16   (Walrus's SliverData)
//	axis   = 0 primary | 1 secondary;  state = BlobState
//
// # Errors
//
// A Handler returns ErrNotFound, ErrNotAssigned, ErrNotRegistered,
// ErrInvalid, ErrTooLarge or ErrBusy (wrapped as it likes); the Server sends
// the code and message, and the Client returns an error that matches the
// same sentinel (a *RemoteError inside a *RequestError). A frame over its
// cap is answered with ErrTooLarge, a truncated or undecodable one with
// ErrInvalid, and nothing of it reaches the Handler. Failures of the
// transport are ErrUnavailable or ErrTimeout; a peer whose answer breaks the
// protocol is ErrProtocol.
//
// # Limits
//
// Frame caps, MaxSliversPerRequest, MaxRecoveryTargets, MaxShardSyncLimit,
// MaxShardSyncResponseBytes and MaxErrorMessageLen are constants of the
// protocol. Deadlines per stream
// (WithServerRequestTimeout, WithServerTransferTimeout, WithRequestTimeout,
// WithTransferTimeout), concurrent requests per peer and in total
// (WithMaxStreamsPerPeer, WithMaxStreams) and the libp2p resource limits
// (Limits) are options.
//
// Peer identities are free, so a Server also bounds what one connection and
// one address hold (WithMaxStreamsPerConn, WithMaxStreamsPerIP), and a
// request takes a slot only once its request frame has arrived, within
// WithServerFrameTimeout: streams that send nothing cannot lock out those
// that do.
//
// A Client is told what an answer can weigh: GetSlivers the size of a
// sliver (SliverSize, from the metadata), GetRecoverySymbols the symbol
// size and how many slivers the peer may hold, GetMetadata the shard count.
// A frame over that is refused from its length prefix, before it is
// allocated, as ErrProtocol (and ErrFrameTooLarge): a lying peer cannot make
// its requester hold more than an honest answer would.
package p2p
