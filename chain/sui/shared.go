package sui

import (
	"context"
	"fmt"

	"github.com/walrus-go/walrus/chain"
)

// SharedBlob, ShareBlob, FundSharedBlob and ExtendSharedBlob give
// chain.ErrSharedBlobsUnsupported. Walrus's package has the calls
// (shared_blob::new, new_funded, fund, extend, and the SharedBlob object to
// read); building them here waits for golden vectors from Mysten's SDK
// (testdata/vectors), as the metadata calls had.
func (c *Chain) SharedBlob(ctx context.Context, id chain.ObjectID) (chain.SharedBlob, error) {
	return chain.SharedBlob{}, errShared
}

// ShareBlob: see SharedBlob.
func (c *Chain) ShareBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, funds uint64) (chain.SharedBlob, error) {
	return chain.SharedBlob{}, errShared
}

// FundSharedBlob: see SharedBlob.
func (c *Chain) FundSharedBlob(ctx context.Context, s chain.Signer, shared chain.ObjectID, amount uint64) (chain.SharedBlob, error) {
	return chain.SharedBlob{}, errShared
}

// ExtendSharedBlob: see SharedBlob.
func (c *Chain) ExtendSharedBlob(ctx context.Context, s chain.Signer, shared chain.ObjectID, epochs uint32) (chain.ExtendSharedBlobResult, error) {
	return chain.ExtendSharedBlobResult{}, errShared
}

var errShared = fmt.Errorf("%w: the Sui adapter does not build Walrus's shared_blob calls yet", chain.ErrSharedBlobsUnsupported)
