package client

import (
	"strconv"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// The types of this file are the JSON forms of Walrus's publisher and CLI
// (camelCase, as Walrus's serde output), so that existing Walrus HTTP
// clients parse our answers unchanged.

// StoreResult is the outcome of a store: exactly one of NewlyCreated,
// AlreadyCertified or DryRun is set. Its JSON form is Walrus's
// BlobStoreResult: {"newlyCreated":{...}} or {"alreadyCertified":{...}}.
type StoreResult struct {
	NewlyCreated     *NewlyCreated     `json:"newlyCreated,omitempty"`
	AlreadyCertified *AlreadyCertified `json:"alreadyCertified,omitempty"`
	// DryRun is set by a dry run (StoreOptions.DryRun), which neither pays
	// nor sends anything.
	DryRun *DryRunResult `json:"dryRun,omitempty"`
}

// BlobID returns the blob ID of the stored blob, whichever the outcome.
func (r *StoreResult) BlobID() encoding.BlobID {
	switch {
	case r.NewlyCreated != nil:
		return r.NewlyCreated.BlobObject.BlobID
	case r.AlreadyCertified != nil:
		return r.AlreadyCertified.BlobID
	case r.DryRun != nil:
		return r.DryRun.BlobID
	}
	return encoding.BlobID{}
}

// EndEpoch returns the first epoch the blob is no longer stored in.
func (r *StoreResult) EndEpoch() uint32 {
	switch {
	case r.NewlyCreated != nil:
		return r.NewlyCreated.BlobObject.Storage.EndEpoch
	case r.AlreadyCertified != nil:
		return r.AlreadyCertified.EndEpoch
	}
	return 0
}

// NewlyCreated is a store that registered and certified a new blob object.
type NewlyCreated struct {
	BlobObject        BlobObject        `json:"blobObject"`
	ResourceOperation ResourceOperation `json:"resourceOperation"`
	// Cost is the FROST paid: storage and the write fee.
	Cost uint64 `json:"cost"`
	// SharedBlobObject is the shared blob the new object was wrapped in
	// (StoreOptions.Share), as Walrus's shared_blob_object; absent if none.
	SharedBlobObject *chain.ObjectID `json:"sharedBlobObject,omitempty"`
}

// AlreadyCertified is a store that found the blob certified (permanent)
// until at least the wanted epoch, and paid nothing.
type AlreadyCertified struct {
	BlobID encoding.BlobID `json:"blobId"`
	// Event is the certification event of the blob; Object the owned
	// blob object, when the certification was found through it.
	Event    *EventID        `json:"event,omitempty"`
	Object   *chain.ObjectID `json:"object,omitempty"`
	EndEpoch uint32          `json:"endEpoch"`
}

// EventID names an event on chain, as Walrus's (Sui's) EventID. For the
// local chain TxDigest is empty and EventSeq is the event's sequence number.
type EventID struct {
	TxDigest string `json:"txDigest"`
	EventSeq string `json:"eventSeq"`
}

func eventID(c *chain.Cursor) *EventID {
	if c == nil {
		return nil
	}
	return &EventID{TxDigest: c.Token, EventSeq: strconv.FormatUint(c.Seq, 10)}
}

// ResourceOperation says how the storage of a new blob object was had.
// Only registerFromScratch happens today.
type ResourceOperation struct {
	RegisterFromScratch *RegisterFromScratch `json:"registerFromScratch,omitempty"`
}

// RegisterFromScratch is storage bought for the blob.
type RegisterFromScratch struct {
	EncodedLength uint64 `json:"encodedLength"`
	EpochsAhead   uint32 `json:"epochsAhead"`
}

// DryRunResult is what a store would do: the blob ID, the encoded length
// storage is paid for, and what it would cost.
type DryRunResult struct {
	BlobID          encoding.BlobID `json:"blobId"`
	UnencodedLength uint64          `json:"unencodedSize"`
	EncodedLength   uint64          `json:"encodedSize"`
	StorageCost     uint64          `json:"storageCost"`
	// AlreadyCertified reports that the store would be de-duplicated.
	AlreadyCertified bool `json:"alreadyCertified"`
}

// BlobObject is a blob object in Walrus's JSON form: the encoding type as
// a name ("RS2"), the storage resource nested.
type BlobObject struct {
	ID              chain.ObjectID        `json:"id"`
	RegisteredEpoch uint32                `json:"registeredEpoch"`
	BlobID          encoding.BlobID       `json:"blobId"`
	Size            uint64                `json:"size"`
	EncodingType    string                `json:"encodingType"`
	CertifiedEpoch  *uint32               `json:"certifiedEpoch"`
	Storage         chain.StorageResource `json:"storage"`
	Deletable       bool                  `json:"deletable"`
}

// NewBlobObject converts a chain blob object to Walrus's JSON form.
func NewBlobObject(o chain.BlobObject) BlobObject {
	return BlobObject{
		ID:              o.ID,
		RegisteredEpoch: o.RegisteredEpoch,
		BlobID:          o.BlobID,
		Size:            o.Size,
		EncodingType:    encodingName(o.EncodingType),
		CertifiedEpoch:  o.CertifiedEpoch,
		Storage:         o.Storage,
		Deletable:       o.Deletable,
	}
}

func encodingName(t encoding.EncodingType) string {
	if t == encoding.RS2 {
		return "RS2"
	}
	return "Unknown(" + strconv.Itoa(int(t)) + ")"
}
