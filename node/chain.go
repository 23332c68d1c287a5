package node

import (
	"context"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Chain is what a storage node needs of a chain backend: the system state
// and committees it serves in, the registered nodes (to find its own
// registration), the event stream it follows, and the transactions it sends.
// chain.Chain implementations (chain/local, its HTTP client) satisfy it; the
// node never closes it.
type Chain interface {
	SystemState(ctx context.Context) (chain.SystemState, error)
	Committee(ctx context.Context, epoch uint32) (*chain.Committee, error)
	Node(ctx context.Context, id chain.NodeID) (chain.NodeInfo, error)
	Nodes(ctx context.Context) ([]chain.NodeInfo, error)
	Events(ctx context.Context, after chain.Cursor, limit int, wait time.Duration) ([]chain.Event, error)
	EpochSyncDone(ctx context.Context, s chain.Signer, node chain.NodeID, epoch uint32) (chain.TxReceipt, error)
	// Storage challenges (challenge.go).
	EpochSeed(ctx context.Context, epoch uint32) (chain.Seed, error)
	SubmitAttestation(ctx context.Context, s chain.Signer, att chain.Attestation) (chain.TxReceipt, error)
	// BlobStatus and InvalidateBlob: a node that proves a blob
	// inconsistent submits the invalid-blob certificate (inconsistency.go).
	BlobStatus(ctx context.Context, id encoding.BlobID) (chain.BlobStatus, error)
	InvalidateBlob(ctx context.Context, s chain.Signer, cert *chain.Certificate) (chain.TxReceipt, error)
}

var _ Chain = chain.Chain(nil)
