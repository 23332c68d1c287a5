package chain

import (
	"errors"
	"fmt"
)

// Errors returned by every Chain backend. Each is wrapped with details; test
// with errors.Is. They survive the HTTP transport of chain/local: the client
// returns an error that matches the same sentinel.
var (
	// ErrNotFound is returned by reads for an object, node, blob or epoch
	// the chain does not know.
	ErrNotFound = errors.New("chain: not found")
	// ErrUnknownNode is returned for a node ID (staking pool) that is not
	// registered: staking to it, updating it, reporting for it.
	ErrUnknownNode = errors.New("chain: unknown node")
	// ErrNoCommittee is returned when an epoch has no committee (yet).
	ErrNoCommittee = errors.New("chain: no committee for epoch")

	// ErrUnsigned is returned for a transaction without a signature.
	ErrUnsigned = errors.New("chain: transaction not signed")
	// ErrBadSignature is returned for a signature that does not verify, or
	// whose key is not the sender's.
	ErrBadSignature = errors.New("chain: bad signature")
	// ErrTxExpired is returned for a transaction past its expiry, or whose
	// expiry lies too far ahead.
	ErrTxExpired = errors.New("chain: transaction expired")
	// ErrDuplicateTx is returned for a transaction that was already executed.
	ErrDuplicateTx = errors.New("chain: duplicate transaction")
	// ErrInvalidArgument is returned for a malformed transaction or argument:
	// a bad ID, a zero amount, a name too long, and so on.
	ErrInvalidArgument = errors.New("chain: invalid argument")
	// ErrTooLarge is returned for a request over a size limit.
	ErrTooLarge = errors.New("chain: too large")

	// ErrInsufficientBalance is returned when an account cannot pay.
	ErrInsufficientBalance = errors.New("chain: insufficient balance")
	// ErrFaucetDisabled is returned by the faucet on a chain without one.
	ErrFaucetDisabled = errors.New("chain: faucet disabled")
	// ErrFaucetLimit is returned for a faucet request over the limit.
	ErrFaucetLimit = errors.New("chain: faucet limit exceeded")
	// ErrNotOwner is returned when the sender does not own the object, or
	// does not operate the node, it acts on.
	ErrNotOwner = errors.New("chain: sender is not the owner")

	// ErrDuplicateKey is returned when registering a node whose BLS key is
	// already registered.
	ErrDuplicateKey = errors.New("chain: public key already registered")
	// ErrDuplicatePeerID is returned when registering a node, or updating
	// one, with a peer ID another node has.
	ErrDuplicatePeerID = errors.New("chain: peer ID already registered")
	// ErrInvalidNetworkKeySignature is returned when a node's network key
	// signature does not verify for its peer ID, the sender and the epoch.
	ErrInvalidNetworkKeySignature = errors.New("chain: invalid network key signature")
	// ErrInvalidProofOfPossession is returned when a node's proof of
	// possession does not verify for its key and the sender's address.
	ErrInvalidProofOfPossession = errors.New("chain: invalid proof of possession")
	// ErrStakeNotActive is returned when requesting the withdrawal of stake
	// that is not active yet.
	ErrStakeNotActive = errors.New("chain: stake not active")
	// ErrAlreadyWithdrawing is returned when requesting the withdrawal of
	// stake whose withdrawal was already requested.
	ErrAlreadyWithdrawing = errors.New("chain: withdrawal already requested")
	// ErrNotWithdrawing is returned when withdrawing stake without a prior
	// withdrawal request.
	ErrNotWithdrawing = errors.New("chain: no withdrawal requested")
	// ErrTooEarly is returned when withdrawing stake before its withdrawal
	// epoch.
	ErrTooEarly = errors.New("chain: too early")

	// ErrWrongEpoch is returned for a message, certificate or report for
	// another epoch than the current one.
	ErrWrongEpoch = errors.New("chain: wrong epoch")
	// ErrWrongPhase is returned for a transaction the epoch's phase does not
	// allow, such as reporting sync done outside an epoch change.
	ErrWrongPhase = errors.New("chain: wrong epoch phase")
	// ErrNotInCommittee is returned when a node acts as a committee member
	// of an epoch it is not a member of.
	ErrNotInCommittee = errors.New("chain: node not in committee")

	// ErrBlobIDMismatch is returned when a blob ID does not derive from the
	// given root hash, size and encoding type.
	ErrBlobIDMismatch = errors.New("chain: blob ID does not match its root hash")
	// ErrUnsupportedEncoding is returned for an encoding type other than RS2.
	ErrUnsupportedEncoding = errors.New("chain: unsupported encoding type")
	// ErrBlobTooLarge is returned for a blob larger than the network stores.
	ErrBlobTooLarge = errors.New("chain: blob too large")
	// ErrBlobInvalid is returned when registering or certifying a blob ID
	// that was marked invalid.
	ErrBlobInvalid = errors.New("chain: blob ID marked invalid")
	// ErrBlobExpired is returned when acting on a blob or storage resource
	// past its end epoch.
	ErrBlobExpired = errors.New("chain: blob expired")
	// ErrAlreadyCertified is returned when certifying a certified blob
	// object.
	ErrAlreadyCertified = errors.New("chain: blob already certified")
	// ErrNotCertified is returned when extending a blob that is not
	// certified.
	ErrNotCertified = errors.New("chain: blob not certified")
	// ErrNotDeletable is returned when deleting a permanent blob.
	ErrNotDeletable = errors.New("chain: blob not deletable")
	// ErrTooManyEpochs is returned when storage would end further ahead
	// than the maximum number of epochs ahead, or for zero epochs.
	ErrTooManyEpochs = errors.New("chain: invalid number of epochs")
	// ErrStorageTooSmall is returned when a storage resource is too small,
	// or does not cover the needed epochs.
	ErrStorageTooSmall = errors.New("chain: storage resource too small")

	// ErrInvalidCertificate is returned for a certificate whose message,
	// bitmap or aggregate signature is malformed or does not verify.
	ErrInvalidCertificate = errors.New("chain: invalid certificate")
	// ErrBelowThreshold is returned for a certificate whose signers hold
	// fewer shards than the threshold.
	ErrBelowThreshold = errors.New("chain: certificate below threshold")
	// ErrMalformedMessage is returned for a signed message whose layout does
	// not parse.
	ErrMalformedMessage = errors.New("chain: malformed message")
	// ErrInvalidKey is returned for a key (file) that does not parse.
	ErrInvalidKey = errors.New("chain: invalid key")

	// ErrBusy is returned when the chain's queue of pending transactions
	// is full; retry later.
	ErrBusy = errors.New("chain: busy")
	// ErrClosed is returned by a closed Chain.
	ErrClosed = errors.New("chain: closed")
	// ErrUnavailable is returned when a remote chain cannot be reached or
	// answers with an unexpected failure.
	ErrUnavailable = errors.New("chain: unavailable")
	// ErrCorrupt is returned when persisted chain data fails its checks.
	ErrCorrupt = errors.New("chain: corrupt data")

	// ErrInvalidAttribute is returned for a blob attribute key or value
	// that is empty (keys), too long or not UTF-8, or a transaction with
	// no pairs or keys.
	ErrInvalidAttribute = errors.New("chain: invalid blob attribute")
	// ErrNoAttribute is returned when removing the attribute of a blob
	// object that has none, or a key its attribute lacks.
	ErrNoAttribute = errors.New("chain: no such blob attribute")
	// ErrAttributesUnsupported is returned by a backend that cannot read
	// or write blob attributes.
	ErrAttributesUnsupported = errors.New("chain: blob attributes unsupported by this backend")

	// ErrNotShareable is returned when sharing a deletable blob object.
	ErrNotShareable = errors.New("chain: blob not shareable")
	// ErrSharedBlobsUnsupported is returned by a backend that cannot read
	// or write shared blobs.
	ErrSharedBlobsUnsupported = errors.New("chain: shared blobs unsupported by this backend")
)

// errorCodes gives each sentinel a stable, transport-independent name.
var errorCodes = []struct {
	err  error
	code string
}{
	{ErrNotFound, "not-found"},
	{ErrUnknownNode, "unknown-node"},
	{ErrNoCommittee, "no-committee"},
	{ErrUnsigned, "unsigned"},
	{ErrBadSignature, "bad-signature"},
	{ErrTxExpired, "tx-expired"},
	{ErrDuplicateTx, "duplicate-tx"},
	{ErrInvalidArgument, "invalid-argument"},
	{ErrTooLarge, "too-large"},
	{ErrInsufficientBalance, "insufficient-balance"},
	{ErrFaucetDisabled, "faucet-disabled"},
	{ErrFaucetLimit, "faucet-limit"},
	{ErrNotOwner, "not-owner"},
	{ErrDuplicateKey, "duplicate-key"},
	{ErrDuplicatePeerID, "duplicate-peer-id"},
	{ErrInvalidNetworkKeySignature, "invalid-network-key-signature"},
	{ErrInvalidProofOfPossession, "invalid-proof-of-possession"},
	{ErrStakeNotActive, "stake-not-active"},
	{ErrAlreadyWithdrawing, "already-withdrawing"},
	{ErrNotWithdrawing, "not-withdrawing"},
	{ErrTooEarly, "too-early"},
	{ErrWrongEpoch, "wrong-epoch"},
	{ErrWrongPhase, "wrong-phase"},
	{ErrNotInCommittee, "not-in-committee"},
	{ErrBlobIDMismatch, "blob-id-mismatch"},
	{ErrUnsupportedEncoding, "unsupported-encoding"},
	{ErrBlobTooLarge, "blob-too-large"},
	{ErrBlobInvalid, "blob-invalid"},
	{ErrBlobExpired, "blob-expired"},
	{ErrAlreadyCertified, "already-certified"},
	{ErrNotCertified, "not-certified"},
	{ErrNotDeletable, "not-deletable"},
	{ErrTooManyEpochs, "invalid-epochs"},
	{ErrStorageTooSmall, "storage-too-small"},
	{ErrInvalidCertificate, "invalid-certificate"},
	{ErrBelowThreshold, "below-threshold"},
	{ErrMalformedMessage, "malformed-message"},
	{ErrInvalidKey, "invalid-key"},
	{ErrBusy, "busy"},
	{ErrClosed, "closed"},
	{ErrUnavailable, "unavailable"},
	{ErrCorrupt, "corrupt"},
	{ErrInvalidAttribute, "invalid-attribute"},
	{ErrNoAttribute, "no-attribute"},
	{ErrAttributesUnsupported, "attributes-unsupported"},
	{ErrNotShareable, "not-shareable"},
	{ErrSharedBlobsUnsupported, "shared-blobs-unsupported"},
}

// ErrorCode returns the stable name of the first sentinel of this package
// that err matches ("insufficient-balance"), or "" if none does.
func ErrorCode(err error) string {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// ErrorCodes returns the stable names of every sentinel of this package that
// err matches: an invalid certificate whose signature does not verify is
// both "invalid-certificate" and "bad-signature".
func ErrorCodes(err error) []string {
	var out []string
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			out = append(out, c.code)
		}
	}
	return out
}

// ErrorFromCode rebuilds an error received from a remote backend: it has the
// given message and matches the sentinels named by codes. Unknown codes are
// ignored; an error matching none gets ErrUnavailable.
func ErrorFromCode(message string, codes ...string) error {
	e := &remoteError{msg: message}
	for _, code := range codes {
		for _, c := range errorCodes {
			if c.code == code {
				e.sentinels = append(e.sentinels, c.err)
			}
		}
	}
	if len(e.sentinels) == 0 {
		e.sentinels = []error{ErrUnavailable}
	}
	return e
}

type remoteError struct {
	sentinels []error
	msg       string
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.sentinels }

// InsufficientBalanceError reports an account that cannot pay. It matches
// ErrInsufficientBalance.
type InsufficientBalanceError struct {
	Address Address
	Balance uint64
	Need    uint64
}

func (e *InsufficientBalanceError) Error() string {
	return fmt.Sprintf("chain: insufficient balance: %s has %d FROST, needs %d", e.Address, e.Balance, e.Need)
}

// Is makes errors.Is(err, ErrInsufficientBalance) true.
func (e *InsufficientBalanceError) Is(target error) bool { return target == ErrInsufficientBalance }

// ThresholdError reports a certificate whose signers hold too few shards. It
// matches ErrBelowThreshold.
type ThresholdError struct {
	// Shards is the number of shards the signers hold; Need the threshold.
	Shards, Need int
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("chain: certificate below threshold: signers hold %d shards, need %d", e.Shards, e.Need)
}

// Is makes errors.Is(err, ErrBelowThreshold) true.
func (e *ThresholdError) Is(target error) bool { return target == ErrBelowThreshold }
