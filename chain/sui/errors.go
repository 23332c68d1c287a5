package sui

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/walrus-go/walrus/chain"
)

// ErrNotAvailable is returned for what our chain.Chain has and Walrus's
// Move package does not: storage-challenge attestations and epoch seeds
// (DESIGN.md §7), a faucet. Where it is a chain.Chain method's answer, the
// error also matches chain.ErrInvalidArgument, so that callers that only
// know the chain sentinels see a request the chain refuses.
var ErrNotAvailable = errors.New("sui: not available on Sui (Walrus's Move package has no such thing)")

func notAvailable(what string) error {
	return fmt.Errorf("%w: %s (%w)", ErrNotAvailable, what, chain.ErrInvalidArgument)
}

// AbortError is a Move abort in a transaction's execution: the module and
// the abort code, mapped to the chain sentinel it means (errors.Is).
type AbortError struct {
	Module   string // "blob", "staking_pool", "balance", ...
	Function string // as the RPC names it, may be empty
	Code     uint64
	Command  int // index of the PTB command, -1 if unknown
	// Name is the abort constant's name in the Move source ("ENotCertified").
	Name     string
	sentinel error
}

func (e *AbortError) Error() string {
	return fmt.Sprintf("sui: Move abort %s (code %d) in %s::%s, command %d: %v", e.Name, e.Code, e.Module, e.Function, e.Command, e.sentinel)
}

// Unwrap returns the chain sentinel the abort means.
func (e *AbortError) Unwrap() error { return e.sentinel }

type abortKey struct {
	module string
	code   uint64
}

type abortInfo struct {
	name string
	err  error
}

// aborts maps every abort code of Walrus's package (contracts/walrus/sources,
// the E* constants) and of the Sui framework modules a transaction of ours
// can abort in to the chain sentinel a caller acts on. Codes not listed map
// to chain.ErrInvalidArgument.
var aborts = map[abortKey]abortInfo{
	// system.move, staking.move
	{"system", 0}:  {"EInvalidMigration", chain.ErrUnavailable},
	{"system", 1}:  {"EWrongVersion", chain.ErrUnavailable},
	{"system", 2}:  {"EZeroExtractSize", chain.ErrInvalidArgument},
	{"staking", 0}: {"EInvalidMigration", chain.ErrUnavailable},
	{"staking", 1}: {"EWrongVersion", chain.ErrUnavailable},
	{"staking", 2}: {"EDeprecatedFunction", chain.ErrInvalidArgument},
	// system/system_state_inner.move
	{"system_state_inner", 0}:  {"EInvalidMaxEpochsAhead", chain.ErrTooManyEpochs},
	{"system_state_inner", 1}:  {"EStorageExceeded", chain.ErrTooLarge},
	{"system_state_inner", 2}:  {"EInvalidEpochsAhead", chain.ErrTooManyEpochs},
	{"system_state_inner", 3}:  {"EInvalidIdEpoch", chain.ErrWrongEpoch},
	{"system_state_inner", 4}:  {"EIncorrectCommittee", chain.ErrWrongEpoch},
	{"system_state_inner", 5}:  {"EInvalidAccountingEpoch", chain.ErrWrongEpoch},
	{"system_state_inner", 6}:  {"EIncorrectAttestation", chain.ErrInvalidArgument},
	{"system_state_inner", 7}:  {"ERepeatedAttestation", chain.ErrInvalidArgument},
	{"system_state_inner", 8}:  {"ENotCommitteeMember", chain.ErrNotInCommittee},
	{"system_state_inner", 9}:  {"EIncorrectDenyListSequence", chain.ErrInvalidArgument},
	{"system_state_inner", 10}: {"EIncorrectDenyListNode", chain.ErrInvalidArgument},
	{"system_state_inner", 11}: {"EInvalidResourceSize", chain.ErrInvalidArgument},
	{"system_state_inner", 12}: {"EInvalidStartEpoch", chain.ErrWrongEpoch},
	// system/storage_resource.move, storage_accounting.move
	{"storage_resource", 0}:   {"EInvalidEpoch", chain.ErrInvalidArgument},
	{"storage_resource", 1}:   {"EIncompatibleEpochs", chain.ErrStorageTooSmall},
	{"storage_resource", 2}:   {"EIncompatibleAmount", chain.ErrStorageTooSmall},
	{"storage_resource", 3}:   {"EInvalidEpochRange", chain.ErrTooManyEpochs},
	{"storage_accounting", 0}: {"ETooFarInFuture", chain.ErrTooManyEpochs},
	// system/blob.move
	{"blob", 0}:  {"ENotCertified", chain.ErrNotCertified},
	{"blob", 1}:  {"EBlobNotDeletable", chain.ErrNotDeletable},
	{"blob", 2}:  {"EResourceBounds", chain.ErrBlobExpired},
	{"blob", 3}:  {"EResourceSize", chain.ErrStorageTooSmall},
	{"blob", 5}:  {"EAlreadyCertified", chain.ErrAlreadyCertified},
	{"blob", 6}:  {"EInvalidBlobId", chain.ErrBlobIDMismatch},
	{"blob", 7}:  {"EDuplicateMetadata", chain.ErrInvalidArgument},
	{"blob", 8}:  {"EMissingMetadata", chain.ErrNoAttribute},
	{"blob", 9}:  {"EInvalidBlobPersistenceType", chain.ErrInvalidCertificate},
	{"blob", 10}: {"EInvalidBlobObject", chain.ErrInvalidCertificate},
	// system/bls_aggregate.move
	{"bls_aggregate", 0}: {"EInvalidBitmap", chain.ErrInvalidCertificate},
	{"bls_aggregate", 1}: {"ESigVerification", chain.ErrInvalidCertificate},
	{"bls_aggregate", 2}: {"ENotEnoughStake", chain.ErrBelowThreshold},
	{"bls_aggregate", 3}: {"EIncorrectCommittee", chain.ErrWrongEpoch},
	// system/messages.move
	{"messages", 0}: {"EIncorrectAppId", chain.ErrMalformedMessage},
	{"messages", 1}: {"EIncorrectEpoch", chain.ErrWrongEpoch},
	{"messages", 2}: {"EInvalidMsgType", chain.ErrMalformedMessage},
	{"messages", 3}: {"EIncorrectIntentVersion", chain.ErrMalformedMessage},
	{"messages", 4}: {"EInvalidBlobPersistenceType", chain.ErrMalformedMessage},
	{"messages", 5}: {"ENotDeletable", chain.ErrMalformedMessage},
	{"messages", 6}: {"EInvalidKeyLength", chain.ErrMalformedMessage},
	// system/encoding.move
	{"encoding", 0}: {"EInvalidEncodingType", chain.ErrUnsupportedEncoding},
	// staking/staking_inner.move
	{"staking_inner", 0}:  {"EWrongEpochState", chain.ErrWrongPhase},
	{"staking_inner", 1}:  {"EInvalidSyncEpoch", chain.ErrWrongEpoch},
	{"staking_inner", 2}:  {"EDuplicateSyncDone", chain.ErrWrongPhase},
	{"staking_inner", 3}:  {"ENoStake", chain.ErrInvalidArgument},
	{"staking_inner", 4}:  {"ENotInCommittee", chain.ErrNotInCommittee},
	{"staking_inner", 5}:  {"ECommitteeSelected", chain.ErrWrongPhase},
	{"staking_inner", 6}:  {"ENextCommitteeIsEmpty", chain.ErrNoCommittee},
	{"staking_inner", 7}:  {"EInvalidNodeWeight", chain.ErrInvalidArgument},
	{"staking_inner", 8}:  {"EPoolNotFound", chain.ErrUnknownNode},
	{"staking_inner", 9}:  {"EZeroNodeWeight", chain.ErrInvalidArgument},
	{"staking_inner", 10}: {"EIncorrectNodeOrder", chain.ErrInvalidArgument},
	// staking/staking_pool.move
	{"staking_pool", 0}:  {"EPoolAlreadyUpdated", chain.ErrWrongEpoch},
	{"staking_pool", 1}:  {"ECalculationError", chain.ErrInvalidArgument},
	{"staking_pool", 2}:  {"EIncorrectEpochAdvance", chain.ErrWrongEpoch},
	{"staking_pool", 3}:  {"EPoolNotEmpty", chain.ErrInvalidArgument},
	{"staking_pool", 4}:  {"EInvalidProofOfPossession", chain.ErrInvalidProofOfPossession},
	{"staking_pool", 5}:  {"EPoolAlreadyWithdrawing", chain.ErrAlreadyWithdrawing},
	{"staking_pool", 6}:  {"EPoolIsNotActive", chain.ErrUnknownNode},
	{"staking_pool", 7}:  {"EZeroStake", chain.ErrInvalidArgument},
	{"staking_pool", 8}:  {"ENotStaked", chain.ErrAlreadyWithdrawing},
	{"staking_pool", 9}:  {"EIncorrectPoolId", chain.ErrUnknownNode},
	{"staking_pool", 10}: {"ENotWithdrawing", chain.ErrNotWithdrawing},
	{"staking_pool", 11}: {"EWithdrawEpochNotReached", chain.ErrTooEarly},
	{"staking_pool", 12}: {"EActivationEpochNotReached", chain.ErrStakeNotActive},
	{"staking_pool", 13}: {"EWithdrawDirectly", chain.ErrStakeNotActive},
	{"staking_pool", 14}: {"EIncorrectCommissionRate", chain.ErrInvalidArgument},
	{"staking_pool", 15}: {"EAuthorizationFailure", chain.ErrNotOwner},
	{"staking_pool", 16}: {"EInvalidNetworkAddressLength", chain.ErrInvalidArgument},
	{"staking_pool", 17}: {"EInvalidNameLength", chain.ErrInvalidArgument},
	{"staking_pool", 18}: {"EZeroShares", chain.ErrInvalidArgument},
	// staking/staked_wal.move
	{"staked_wal", 0}: {"ENotWithdrawing", chain.ErrNotWithdrawing},
	{"staked_wal", 1}: {"EMetadataMismatch", chain.ErrInvalidArgument},
	{"staked_wal", 2}: {"EInvalidAmount", chain.ErrInvalidArgument},
	{"staked_wal", 6}: {"EAlreadyWithdrawing", chain.ErrAlreadyWithdrawing},
	{"staked_wal", 7}: {"EStakeBelowThreshold", chain.ErrInvalidArgument},
	// staking/storage_node.move, committee.move, pending_values.move
	{"storage_node", 0}:   {"EInvalidNetworkPublicKey", chain.ErrInvalidArgument},
	{"committee", 0}:      {"EInvalidShardAssignment", chain.ErrInvalidArgument},
	{"pending_values", 0}: {"EMissingEpochValue", chain.ErrInvalidArgument},
	{"pending_values", 1}: {"EReduceValueTooLarge", chain.ErrInvalidArgument},
	// Sui framework: paying more than a coin holds.
	{"balance", 1}: {"EOverflow", chain.ErrTooLarge},
	{"balance", 2}: {"ENotEnough", chain.ErrInsufficientBalance},
	{"coin", 0}:    {"EBadWitness", chain.ErrInvalidArgument},
	{"coin", 1}:    {"EInvalidArg", chain.ErrInvalidArgument},
	{"coin", 2}:    {"ENotEnough", chain.ErrInsufficientBalance},
	// Sui framework: removing a blob attribute key that is not there.
	{"vec_map", 1}: {"EKeyDoesNotExist", chain.ErrNoAttribute},
}

// AbortSentinel returns the chain sentinel a Move abort of module with code
// maps to, and the abort constant's name ("" if unknown).
//
//lint:ignore ST1008 the sentinel is the result, its name a detail beside it
func AbortSentinel(module string, code uint64) (error, string) {
	if a, ok := aborts[abortKey{module, code}]; ok {
		return a.err, a.name
	}
	return chain.ErrInvalidArgument, ""
}

// abortRE matches the MoveAbort execution error as Sui's JSON-RPC renders
// it in effects.status.error:
//
//	MoveAbort(MoveLocation { module: ModuleId { address: 11…11, name:
//	Identifier("blob") }, function: 5, instruction: 12, function_name:
//	Some("certify_with_certified_msg") }, 5) in command 1
var abortRE = regexp.MustCompile(`MoveAbort\(MoveLocation \{ module: ModuleId \{ address: [0-9a-fA-Fx]+, name: Identifier\("([A-Za-z0-9_]+)"\) \}, function: \d+, instruction: \d+, function_name: (?:Some\("([A-Za-z0-9_]+)"\)|None) \}, (\d+)\)(?: in command (\d+))?`)

// ExecutionError maps a failed transaction's effects.status.error to a
// typed error: a Move abort to an *AbortError, Sui's own execution
// failures (gas, coin balance, object versions) to their sentinels.
func ExecutionError(status string) error {
	if m := abortRE.FindStringSubmatch(status); m != nil {
		code, err := strconv.ParseUint(m[3], 10, 64)
		if err == nil {
			e := &AbortError{Module: m[1], Function: m[2], Code: code, Command: -1}
			if m[4] != "" {
				e.Command, _ = strconv.Atoi(m[4])
			}
			e.sentinel, e.Name = AbortSentinel(e.Module, e.Code)
			return e
		}
	}
	switch {
	case strings.HasPrefix(status, "InsufficientGas"), strings.HasPrefix(status, "InsufficientCoinBalance"):
		return fmt.Errorf("sui: %s: %w", status, chain.ErrInsufficientBalance)
	case strings.Contains(status, "is not available for consumption"), strings.Contains(status, "ObjectVersionUnavailableForConsumption"):
		// Another transaction used the object first; the caller may retry.
		return fmt.Errorf("sui: %s: %w", status, chain.ErrBusy)
	}
	return fmt.Errorf("sui: transaction failed: %s: %w", status, chain.ErrInvalidArgument)
}

// RenderAbort renders err, a chain error, as the MoveAbort status string a
// Sui node would give for the abort of Walrus's package that means the
// same (the inverse of ExecutionError; the test server uses it). It
// prefers a specific sentinel over ErrInvalidArgument; ok is false when no
// abort maps to err.
func RenderAbort(err error, pkg chain.ObjectID) (status string, ok bool) {
	keys := make([]abortKey, 0, len(aborts))
	for k := range aborts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b abortKey) int {
		if c := strings.Compare(a.module, b.module); c != 0 {
			return c
		}
		return cmp.Compare(a.code, b.code)
	})
	var fallback *abortKey
	for _, k := range keys {
		s := aborts[k].err
		if !errors.Is(err, s) {
			continue
		}
		if s == chain.ErrInvalidArgument || s == chain.ErrUnavailable {
			if fallback == nil {
				kk := k
				fallback = &kk
			}
			continue
		}
		return renderAbort(k, pkg), true
	}
	if fallback != nil {
		return renderAbort(*fallback, pkg), true
	}
	return "", false
}

func renderAbort(k abortKey, pkg chain.ObjectID) string {
	return fmt.Sprintf(`MoveAbort(MoveLocation { module: ModuleId { address: %x, name: Identifier("%s") }, function: 0, instruction: 0, function_name: Some("f") }, %d) in command 0`, pkg[:], k.module, k.code)
}
