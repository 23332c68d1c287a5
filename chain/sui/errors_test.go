package sui

import (
	"errors"
	"fmt"
	"testing"

	"github.com/walrus-go/walrus/chain"
)

// moveAbort renders an abort as Sui's JSON-RPC does in effects.status.error.
func moveAbort(module, fn string, code uint64, cmd int) string {
	return fmt.Sprintf(`MoveAbort(MoveLocation { module: ModuleId { address: 1111111111111111111111111111111111111111111111111111111111111111, name: Identifier("%s") }, function: 5, instruction: 12, function_name: Some("%s") }, %d) in command %d`, module, fn, code, cmd)
}

// TestAbortMapping checks the aborts a client or node can meet, each against
// the sentinel it must match.
func TestAbortMapping(t *testing.T) {
	tests := []struct {
		module string
		code   uint64
		name   string
		want   error
	}{
		{"blob", 0, "ENotCertified", chain.ErrNotCertified},
		{"blob", 1, "EBlobNotDeletable", chain.ErrNotDeletable},
		{"blob", 2, "EResourceBounds", chain.ErrBlobExpired},
		{"blob", 3, "EResourceSize", chain.ErrStorageTooSmall},
		{"blob", 5, "EAlreadyCertified", chain.ErrAlreadyCertified},
		{"blob", 6, "EInvalidBlobId", chain.ErrBlobIDMismatch},
		{"blob", 9, "EInvalidBlobPersistenceType", chain.ErrInvalidCertificate},
		{"blob", 10, "EInvalidBlobObject", chain.ErrInvalidCertificate},
		{"bls_aggregate", 0, "EInvalidBitmap", chain.ErrInvalidCertificate},
		{"bls_aggregate", 1, "ESigVerification", chain.ErrInvalidCertificate},
		{"bls_aggregate", 2, "ENotEnoughStake", chain.ErrBelowThreshold},
		{"bls_aggregate", 3, "EIncorrectCommittee", chain.ErrWrongEpoch},
		{"messages", 0, "EIncorrectAppId", chain.ErrMalformedMessage},
		{"messages", 1, "EIncorrectEpoch", chain.ErrWrongEpoch},
		{"messages", 2, "EInvalidMsgType", chain.ErrMalformedMessage},
		{"messages", 3, "EIncorrectIntentVersion", chain.ErrMalformedMessage},
		{"messages", 4, "EInvalidBlobPersistenceType", chain.ErrMalformedMessage},
		{"messages", 5, "ENotDeletable", chain.ErrMalformedMessage},
		{"messages", 6, "EInvalidKeyLength", chain.ErrMalformedMessage},
		{"encoding", 0, "EInvalidEncodingType", chain.ErrUnsupportedEncoding},
		{"system_state_inner", 0, "EInvalidMaxEpochsAhead", chain.ErrTooManyEpochs},
		{"system_state_inner", 1, "EStorageExceeded", chain.ErrTooLarge},
		{"system_state_inner", 2, "EInvalidEpochsAhead", chain.ErrTooManyEpochs},
		{"system_state_inner", 8, "ENotCommitteeMember", chain.ErrNotInCommittee},
		{"system_state_inner", 11, "EInvalidResourceSize", chain.ErrInvalidArgument},
		{"storage_resource", 1, "EIncompatibleEpochs", chain.ErrStorageTooSmall},
		{"storage_resource", 2, "EIncompatibleAmount", chain.ErrStorageTooSmall},
		{"storage_resource", 3, "EInvalidEpochRange", chain.ErrTooManyEpochs},
		{"storage_accounting", 0, "ETooFarInFuture", chain.ErrTooManyEpochs},
		{"system", 1, "EWrongVersion", chain.ErrUnavailable},
		{"staking", 1, "EWrongVersion", chain.ErrUnavailable},
		{"staking_inner", 0, "EWrongEpochState", chain.ErrWrongPhase},
		{"staking_inner", 1, "EInvalidSyncEpoch", chain.ErrWrongEpoch},
		{"staking_inner", 2, "EDuplicateSyncDone", chain.ErrWrongPhase},
		{"staking_inner", 4, "ENotInCommittee", chain.ErrNotInCommittee},
		{"staking_inner", 8, "EPoolNotFound", chain.ErrUnknownNode},
		{"staking_pool", 4, "EInvalidProofOfPossession", chain.ErrInvalidProofOfPossession},
		{"staking_pool", 5, "EPoolAlreadyWithdrawing", chain.ErrAlreadyWithdrawing},
		{"staking_pool", 6, "EPoolIsNotActive", chain.ErrUnknownNode},
		{"staking_pool", 7, "EZeroStake", chain.ErrInvalidArgument},
		{"staking_pool", 8, "ENotStaked", chain.ErrAlreadyWithdrawing},
		{"staking_pool", 9, "EIncorrectPoolId", chain.ErrUnknownNode},
		{"staking_pool", 10, "ENotWithdrawing", chain.ErrNotWithdrawing},
		{"staking_pool", 11, "EWithdrawEpochNotReached", chain.ErrTooEarly},
		{"staking_pool", 12, "EActivationEpochNotReached", chain.ErrStakeNotActive},
		{"staking_pool", 14, "EIncorrectCommissionRate", chain.ErrInvalidArgument},
		{"staking_pool", 15, "EAuthorizationFailure", chain.ErrNotOwner},
		{"staking_pool", 16, "EInvalidNetworkAddressLength", chain.ErrInvalidArgument},
		{"staking_pool", 17, "EInvalidNameLength", chain.ErrInvalidArgument},
		{"staked_wal", 0, "ENotWithdrawing", chain.ErrNotWithdrawing},
		{"staked_wal", 6, "EAlreadyWithdrawing", chain.ErrAlreadyWithdrawing},
		{"staked_wal", 7, "EStakeBelowThreshold", chain.ErrInvalidArgument},
		{"storage_node", 0, "EInvalidNetworkPublicKey", chain.ErrInvalidArgument},
		{"balance", 2, "ENotEnough", chain.ErrInsufficientBalance},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.module, tt.code), func(t *testing.T) {
			err := ExecutionError(moveAbort(tt.module, "f", tt.code, 2))
			var ae *AbortError
			if !errors.As(err, &ae) {
				t.Fatalf("%v is not an *AbortError", err)
			}
			if ae.Module != tt.module || ae.Code != tt.code || ae.Name != tt.name || ae.Command != 2 || ae.Function != "f" {
				t.Errorf("abort %+v", ae)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("%v does not match %v", err, tt.want)
			}
			if c := chain.ErrorCode(err); c == "" {
				t.Errorf("%v has no chain error code", err)
			}
		})
	}
	// Every code in the table is reachable by the parser and has its name.
	for k, v := range aborts {
		err := ExecutionError(moveAbort(k.module, "g", k.code, 0))
		if !errors.Is(err, v.err) {
			t.Errorf("%s/%d: %v, want %v", k.module, k.code, err, v.err)
		}
	}
}

func TestExecutionErrorOther(t *testing.T) {
	tests := []struct {
		status string
		want   error
	}{
		{"InsufficientGas", chain.ErrInsufficientBalance},
		{"InsufficientCoinBalance in command 1", chain.ErrInsufficientBalance},
		{"Transaction needs to be rebuilt because object 0xabc version 0x3 is not available for consumption", chain.ErrBusy},
		{"MoveAbort(garbage", chain.ErrInvalidArgument},
		{`MoveAbort(MoveLocation { module: ModuleId { address: 11, name: Identifier("blob") }, function: 1, instruction: 2, function_name: None }, 99)`, chain.ErrInvalidArgument},
	}
	for _, tt := range tests {
		if err := ExecutionError(tt.status); !errors.Is(err, tt.want) {
			t.Errorf("%q: %v, want %v", tt.status, err, tt.want)
		}
	}
	if !errors.Is(notAvailable("x"), ErrNotAvailable) || !errors.Is(notAvailable("x"), chain.ErrInvalidArgument) {
		t.Error("notAvailable does not match its sentinels")
	}
}

// TestRenderAbort round-trips each sentinel the package can abort with.
func TestRenderAbort(t *testing.T) {
	for _, want := range []error{chain.ErrNotCertified, chain.ErrNotDeletable, chain.ErrBlobExpired, chain.ErrAlreadyCertified,
		chain.ErrBelowThreshold, chain.ErrInvalidCertificate, chain.ErrWrongEpoch, chain.ErrInsufficientBalance, chain.ErrNotOwner,
		chain.ErrUnknownNode, chain.ErrTooEarly, chain.ErrStakeNotActive, chain.ErrNotWithdrawing, chain.ErrAlreadyWithdrawing,
		chain.ErrInvalidProofOfPossession, chain.ErrWrongPhase, chain.ErrTooManyEpochs, chain.ErrInvalidArgument} {
		s, ok := RenderAbort(fmt.Errorf("x: %w", want), chain.ObjectID{1})
		if !ok {
			t.Errorf("%v: no abort", want)
			continue
		}
		if err := ExecutionError(s); !errors.Is(err, want) {
			t.Errorf("%v rendered %q, read back %v", want, s, err)
		}
	}
	if _, ok := RenderAbort(chain.ErrBlobInvalid, chain.ObjectID{}); ok {
		t.Error("ErrBlobInvalid has no abort in Walrus's package")
	}
}
