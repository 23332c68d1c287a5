package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

var (
	// ErrBlobNotFound is returned by Read, Status and Delete for a blob the
	// network does not store: the chain has no live object of it (never
	// registered, expired, deleted, or marked invalid), or it is registered
	// but no node knows its metadata. The message says which.
	ErrBlobNotFound = errors.New("client: blob not found")
	// ErrBlobInvalid is returned by Read and Status for a blob ID the chain
	// marked invalid: its writer encoded it inconsistently, the nodes proved
	// it, and no data is served for it. It also matches ErrBlobNotFound
	// (the network stores nothing for it), so callers that only tell
	// found from not found keep working.
	ErrBlobInvalid error = blobInvalid{}
	// ErrNotEnoughSlivers is returned by Read when too few nodes answered
	// with verified slivers (or metadata) to decode the blob: more than f
	// shards' nodes are down or lying. It is temporary; retrying later may
	// succeed. The error is a *NotEnoughSliversError naming the nodes.
	ErrNotEnoughSlivers = errors.New("client: not enough slivers")
	// ErrQuorumNotReached is returned by Store when the nodes that
	// confirmed a blob hold fewer than n − f shards. The blob is registered
	// (and paid for) but not certified. The error is a *QuorumError naming
	// each node that failed and why.
	ErrQuorumNotReached = errors.New("client: quorum of confirmations not reached")
	// ErrInvalidOptions is returned for options that make no sense: zero
	// epochs, a negative limit, both permanent and deletable, a missing
	// chain.
	ErrInvalidOptions = errors.New("client: invalid options")
	// ErrNoWallet is returned by operations that send transactions (Store,
	// Delete, Extend, ...) on a Client built without a Signer.
	ErrNoWallet = errors.New("client: no wallet configured")
	// ErrNotOwned is returned by Delete for a blob ID of which the wallet
	// owns no deletable object.
	ErrNotOwned = errors.New("client: no deletable blob object owned by the wallet")
	// ErrBlobTooLarge is encoding.ErrBlobTooLarge: a blob over the codec's
	// maximum for the network's shard count, or over Config.MaxBlobSize.
	ErrBlobTooLarge = encoding.ErrBlobTooLarge
	// ErrInconsistentBlob is encoding.ErrInconsistentBlob: slivers that
	// each verify do not form one codeword. No data is returned.
	ErrInconsistentBlob = encoding.ErrInconsistentBlob
)

// NodeFailure is one storage node's failure during a store or a read.
type NodeFailure struct {
	Name   string
	NodeID chain.NodeID
	PeerID string
	// Shards is the number of shards the node holds.
	Shards int
	Err    error
}

func (f NodeFailure) Error() string {
	return fmt.Sprintf("node %q (%s, %d shards): %v", f.Name, f.NodeID, f.Shards, f.Err)
}

func (f NodeFailure) Unwrap() error { return f.Err }

// QuorumError reports a store whose confirmations did not reach a quorum.
// It matches ErrQuorumNotReached.
type QuorumError struct {
	BlobID encoding.BlobID
	Epoch  uint32
	// Shards is the number of shards held by the nodes that confirmed;
	// Need is n − f.
	Shards, Need int
	// Failures are the nodes that did not confirm, in committee order.
	Failures []NodeFailure
}

func (e *QuorumError) Error() string {
	return fmt.Sprintf("client: blob %s: confirmations from nodes holding %d shards, need %d (epoch %d)%s",
		e.BlobID, e.Shards, e.Need, e.Epoch, listFailures(e.Failures))
}

// Is makes errors.Is(err, ErrQuorumNotReached) true.
func (e *QuorumError) Is(target error) bool { return target == ErrQuorumNotReached }

// NotEnoughSliversError reports a read that could not collect enough
// verified slivers (or any verified metadata). It matches
// ErrNotEnoughSlivers.
type NotEnoughSliversError struct {
	BlobID encoding.BlobID
	// Have verified slivers; Need is the number decoding needs (rows).
	// Both are 0 when no metadata could be had.
	Have, Need int
	// What failed: "metadata", "slivers", or "recovery" (rebuilding a
	// primary sliver from recovery symbols: Have and Need count symbols).
	Stage    string
	Failures []NodeFailure
}

func (e *NotEnoughSliversError) Error() string {
	if e.Stage == "metadata" {
		return fmt.Sprintf("client: blob %s: no node served verifiable metadata%s", e.BlobID, listFailures(e.Failures))
	}
	if e.Stage == "recovery" {
		return fmt.Sprintf("client: blob %s: %d verified recovery symbols for a primary sliver, need %d%s", e.BlobID, e.Have, e.Need, listFailures(e.Failures))
	}
	return fmt.Sprintf("client: blob %s: %d verified primary slivers, need %d%s", e.BlobID, e.Have, e.Need, listFailures(e.Failures))
}

// Is makes errors.Is(err, ErrNotEnoughSlivers) true.
func (e *NotEnoughSliversError) Is(target error) bool { return target == ErrNotEnoughSlivers }

// maxListedFailures bounds the failures an error message lists (the error
// value keeps them all).
const maxListedFailures = 10

func listFailures(fs []NodeFailure) string {
	if len(fs) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; %d nodes failed:", len(fs))
	for i, f := range fs {
		if i == maxListedFailures {
			fmt.Fprintf(&b, " … and %d more", len(fs)-i)
			break
		}
		b.WriteString(" ")
		b.WriteString(f.Error())
		if i < len(fs)-1 {
			b.WriteString(";")
		}
	}
	return b.String()
}

// blobInvalid is ErrBlobInvalid's type: an error that also matches
// ErrBlobNotFound.
type blobInvalid struct{}

func (blobInvalid) Error() string { return "client: blob ID marked invalid (inconsistently encoded)" }

// Is makes errors.Is(ErrBlobInvalid, ErrBlobNotFound) true.
func (blobInvalid) Is(target error) bool { return target == ErrBlobNotFound }
