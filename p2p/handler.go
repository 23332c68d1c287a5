package p2p

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
)

// Handler is what a Server serves: the storage node's side of every protocol
// of this package. It is owned by this package and implemented by the node,
// which adapts its store and chain view to it.
//
// A Server calls a Handler from many goroutines at once; implementations
// must be safe for concurrent use. Each call gets a context that ends with
// the stream's deadline or when the Server closes; RemotePeer tells who is
// asking. A method returns the errors of this package (ErrNotFound,
// ErrNotAssigned, ErrNotRegistered, ErrInvalid, ErrTooLarge, ErrBusy),
// wrapped as it likes; the requester sees them by code and message. Any other
// error is sent as ErrInternal without its text. A panic in a method is
// recovered and sent as ErrInternal.
type Handler interface {
	MetadataHandler
	SliverHandler
	ConfirmationHandler
	RecoveryHandler
	StatusHandler
}

// MetadataHandler serves metadata/put and metadata/get.
type MetadataHandler interface {
	// PutMetadata stores the metadata of blob id. The Server has checked
	// that md hashes to id (md.BlobID() == id); the handler checks the rest
	// (shard count, registration). md is the handler's to keep.
	PutMetadata(ctx context.Context, id encoding.BlobID, md *encoding.Metadata) error
	// GetMetadata returns the metadata of blob id. The Server does not
	// modify it.
	GetMetadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error)
}

// SliverHandler serves sliver/put and sliver/get.
type SliverHandler interface {
	// PutSlivers opens the intake of one sliver/put request: count slivers
	// (1 ≤ count ≤ MaxSliversPerRequest) of blob id, which the Server then
	// hands to the returned sink one by one as they come off the stream. An
	// error refuses the whole request before any sliver is read (for
	// example ErrNotRegistered).
	PutSlivers(ctx context.Context, id encoding.BlobID, count int) (SliverSink, error)
	// GetSliver returns sliver (axis, index) of blob id. The Server calls it
	// once per requested index, in order, writing each sliver out before it
	// asks for the next; an error is reported for that sliver only. The
	// Server does not modify or retain the sliver after writing it.
	GetSliver(ctx context.Context, id encoding.BlobID, axis encoding.Axis, index uint16) (encoding.Sliver, error)
}

// SliverSink takes the slivers of one sliver/put request. The Server calls
// it from one goroutine: PutSliver for each sliver in the order sent, then
// exactly one of Commit (every sliver arrived) or Abort (the request failed
// part-way: bad frame, deadline, reset, Server closing).
type SliverSink interface {
	// PutSliver takes one sliver. An error rejects this sliver only: it is
	// reported to the requester by axis and index, and the request goes on.
	// The sliver's Data is the sink's: the Server allocates it for this
	// sliver alone and neither reuses nor modifies it, so a sink keeps it
	// without copying (and may hand its buffer back with RecycleSliver
	// once done with it). The Server holds the frame's reservation in the
	// stream's memory scope during the call only: a sink that keeps Data
	// accounts for it itself (before the call returns).
	PutSliver(ctx context.Context, s encoding.Sliver) error
	// Commit ends a request whose slivers all arrived. An error fails the
	// whole request (the requester then treats every sliver as not stored).
	Commit(ctx context.Context) error
	// Abort ends a request that failed part-way. Slivers the sink accepted
	// before are the sink's to keep or drop; keeping valid ones loses
	// nothing.
	Abort()
}

// ConfirmationHandler serves confirmation/get.
type ConfirmationHandler interface {
	// GetConfirmation returns the node's signed confirmation that it stores
	// every sliver of req.BlobID that it should. The bytes are opaque to
	// this package.
	GetConfirmation(ctx context.Context, req ConfirmationRequest) (Confirmation, error)
}

// RecoveryHandler serves recovery/get.
type RecoveryHandler interface {
	// GetRecoverySymbols returns, for each target sliver (axis, index in
	// indices), one recovery symbol from every sliver of the other axis the
	// node holds: the symbol at the target's position, with its proof.
	// The Server checks that every symbol comes from the other axis and
	// targets one of indices, and refuses with ErrTooLarge a response over
	// MaxRecoveryFrameSize.
	GetRecoverySymbols(ctx context.Context, id encoding.BlobID, axis encoding.Axis, indices []uint16) ([]encoding.RecoverySymbol, error)
}

// StatusHandler serves status/get.
type StatusHandler interface {
	// GetStatus returns what the node knows of blob id. A blob the node
	// knows nothing of is BlobStatus{State: BlobUnknown, ...}, not an error.
	GetStatus(ctx context.Context, id encoding.BlobID) (BlobStatus, error)
}

type remotePeerKey struct{}

// RemotePeer returns the peer whose request a handler is serving. It reports
// false for a context that does not come from a Server.
func RemotePeer(ctx context.Context) (peer.ID, bool) {
	p, ok := ctx.Value(remotePeerKey{}).(peer.ID)
	return p, ok
}

func withRemotePeer(ctx context.Context, p peer.ID) context.Context {
	return context.WithValue(ctx, remotePeerKey{}, p)
}
