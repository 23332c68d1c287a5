package client

import (
	"context"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Chain is what a client needs of a chain backend: the system state and
// committee it talks to, blob status and objects, and the transactions of
// the blob lifecycle. chain.Chain implementations (chain/local, its HTTP
// client) satisfy it; the client never closes it.
type Chain interface {
	SystemState(ctx context.Context) (chain.SystemState, error)
	Committee(ctx context.Context, epoch uint32) (*chain.Committee, error)
	BlobStatus(ctx context.Context, id encoding.BlobID) (chain.BlobStatus, error)
	BlobObject(ctx context.Context, id chain.ObjectID) (chain.BlobObject, error)
	BlobObjects(ctx context.Context, owner chain.Address) ([]chain.BlobObject, error)
	RegisterBlob(ctx context.Context, s chain.Signer, args chain.RegisterBlobArgs) (chain.RegisterBlobResult, error)
	CertifyBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, cert *chain.Certificate) (chain.CertifyBlobResult, error)
	DeleteBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID) (chain.DeleteBlobResult, error)
	ExtendBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, epochs uint32) (chain.ExtendBlobResult, error)
	BlobAttribute(ctx context.Context, blob chain.ObjectID) (*chain.BlobAttribute, error)
	SetBlobAttribute(ctx context.Context, s chain.Signer, blob chain.ObjectID, pairs []chain.AttributePair) (chain.TxReceipt, error)
	RemoveBlobAttributePairs(ctx context.Context, s chain.Signer, blob chain.ObjectID, keys []string) (chain.TxReceipt, error)
	RemoveBlobAttribute(ctx context.Context, s chain.Signer, blob chain.ObjectID) (chain.TxReceipt, error)
	SharedBlob(ctx context.Context, id chain.ObjectID) (chain.SharedBlob, error)
	ShareBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, funds uint64) (chain.SharedBlob, error)
	FundSharedBlob(ctx context.Context, s chain.Signer, shared chain.ObjectID, amount uint64) (chain.SharedBlob, error)
	ExtendSharedBlob(ctx context.Context, s chain.Signer, shared chain.ObjectID, epochs uint32) (chain.ExtendSharedBlobResult, error)
}

var _ Chain = chain.Chain(nil)
