package chain

// Shared blobs are Walrus's shared_blob::SharedBlob: a shared object that
// wraps a permanent blob object and holds WAL funds, a "tip jar" anyone
// may add to (FundSharedBlob) and anyone may spend on extending the
// wrapped blob (ExtendSharedBlob), so that the blob can be kept alive by
// whoever cares for it. Sharing a blob object takes it from its owner for
// good: nobody owns, deletes or annotates a wrapped blob.
//
// Walrus's Move module allows any blob to be shared; its CLI and SDK refuse
// deletable ones ("deletable blobs cannot be shared"), and so does this
// chain, since a wrapped blob can never be deleted.

// SharedBlob is a shared blob object: the blob object it wraps, and its
// funds in FROST.
type SharedBlob struct {
	ID    ObjectID   `json:"id"`
	Blob  BlobObject `json:"blob"`
	Funds uint64     `json:"funds"`
}

// ExtendSharedBlobResult is the outcome of ExtendSharedBlob: the shared
// blob after the extension, and the cost taken from its funds.
type ExtendSharedBlobResult struct {
	Shared  SharedBlob `json:"sharedBlob"`
	Cost    uint64     `json:"cost"`
	Receipt TxReceipt  `json:"receipt"`
}
