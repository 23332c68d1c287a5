package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/walrus-go/walrus/chain"
)

// transactor implements the transactions of chain.Chain on top of a submit
// function: it builds each transaction, signs it with the caller's Signer,
// and submits it. The in-process Chain and the HTTP Client share it, so both
// send the same signed bytes through the same checks.
type transactor struct {
	// submit executes a signed transaction and waits for its outcome.
	submit func(ctx context.Context, st *SignedTx) (txResult, error)
	// now returns the chain's current time, which expiries count from.
	now func(ctx context.Context) (time.Time, error)
	// resync, if set, is called after ErrTxExpired: the caller's idea of
	// the chain's time was off. The transaction is then signed again once.
	resync func()
}

func (t *transactor) do(ctx context.Context, s chain.Signer, call Call) (txResult, error) {
	for attempt := 0; ; attempt++ {
		now, err := t.now(ctx)
		if err != nil {
			return txResult{}, err
		}
		tx := Tx{
			Sender: s.Address(),
			Nonce:  rand.Uint64(),
			Expiry: uint64(now.Add(DefaultTxTTL).UnixMilli()),
			Call:   call,
		}
		st, err := Sign(tx, s)
		if err != nil {
			return txResult{}, err
		}
		res, err := t.submit(ctx, st)
		if errors.Is(err, chain.ErrTxExpired) && t.resync != nil && attempt == 0 {
			t.resync()
			continue
		}
		return res, err
	}
}

func (t *transactor) RequestWAL(ctx context.Context, s chain.Signer, amount uint64) (chain.TxReceipt, error) {
	res, err := t.do(ctx, s, Call{RequestWAL: &RequestWALCall{Amount: amount}})
	return res.Receipt, err
}

func (t *transactor) TransferWAL(ctx context.Context, s chain.Signer, to chain.Address, amount uint64) (chain.TxReceipt, error) {
	res, err := t.do(ctx, s, Call{TransferWAL: &TransferWALCall{To: to, Amount: amount}})
	return res.Receipt, err
}

func (t *transactor) RegisterNode(ctx context.Context, s chain.Signer, args chain.RegisterNodeArgs) (chain.NodeInfo, error) {
	res, err := t.do(ctx, s, Call{RegisterNode: &RegisterNodeCall{Args: args}})
	return deref(res.Node), err
}

func (t *transactor) UpdateNode(ctx context.Context, s chain.Signer, id chain.NodeID, a chain.UpdateNodeArgs) (chain.NodeInfo, error) {
	c := &UpdateNodeCall{
		Node: id, Name: a.Name, PeerID: a.PeerID, PublicKey: a.PublicKey, ProofOfPossession: a.ProofOfPossession,
		Commission: a.Commission, StoragePriceVote: a.StoragePriceVote, WritePriceVote: a.WritePriceVote, Capacity: a.Capacity,
	}
	if a.Addresses != nil {
		c.Addresses = &a.Addresses
	}
	if a.NetworkKeySignature != nil {
		c.NetworkKeySig = &a.NetworkKeySignature
	}
	res, err := t.do(ctx, s, Call{UpdateNode: c})
	return deref(res.Node), err
}

func (t *transactor) Stake(ctx context.Context, s chain.Signer, node chain.NodeID, amount uint64) (chain.StakedWAL, error) {
	res, err := t.do(ctx, s, Call{Stake: &StakeCall{Node: node, Amount: amount}})
	return deref(res.Staked), err
}

func (t *transactor) RequestWithdrawal(ctx context.Context, s chain.Signer, staked chain.ObjectID) (chain.StakedWAL, error) {
	res, err := t.do(ctx, s, Call{RequestWithdrawal: &RequestWithdrawalCall{Staked: staked}})
	return deref(res.Staked), err
}

func (t *transactor) Withdraw(ctx context.Context, s chain.Signer, staked chain.ObjectID) (uint64, error) {
	res, err := t.do(ctx, s, Call{Withdraw: &WithdrawCall{Staked: staked}})
	return res.Amount, err
}

func (t *transactor) ReserveStorage(ctx context.Context, s chain.Signer, size uint64, epochs uint32) (chain.ReserveStorageResult, error) {
	res, err := t.do(ctx, s, Call{ReserveStorage: &ReserveStorageCall{Size: size, Epochs: epochs}})
	return chain.ReserveStorageResult{Storage: deref(res.Storage), Cost: res.Cost, Receipt: res.Receipt}, err
}

func (t *transactor) RegisterBlob(ctx context.Context, s chain.Signer, a chain.RegisterBlobArgs) (chain.RegisterBlobResult, error) {
	res, err := t.do(ctx, s, Call{RegisterBlob: &RegisterBlobCall{
		BlobID: a.BlobID, RootHash: a.RootHash, Size: a.Size, EncodingType: a.EncodingType,
		Epochs: a.Epochs, Deletable: a.Deletable, Owner: a.Owner, Storage: a.Storage,
	}})
	return chain.RegisterBlobResult{Blob: deref(res.Blob), Cost: res.Cost, Receipt: res.Receipt}, err
}

func (t *transactor) CertifyBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, cert *chain.Certificate) (chain.CertifyBlobResult, error) {
	if cert == nil {
		return chain.CertifyBlobResult{}, errNilCertificate
	}
	res, err := t.do(ctx, s, Call{CertifyBlob: &CertifyBlobCall{Blob: blob, Certificate: *cert}})
	return chain.CertifyBlobResult{Blob: deref(res.Blob), Receipt: res.Receipt}, err
}

func (t *transactor) DeleteBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID) (chain.DeleteBlobResult, error) {
	res, err := t.do(ctx, s, Call{DeleteBlob: &DeleteBlobCall{Blob: blob}})
	return chain.DeleteBlobResult{Storage: deref(res.Storage), Receipt: res.Receipt}, err
}

func (t *transactor) ExtendBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, epochs uint32) (chain.ExtendBlobResult, error) {
	res, err := t.do(ctx, s, Call{ExtendBlob: &ExtendBlobCall{Blob: blob, Epochs: epochs}})
	return chain.ExtendBlobResult{Blob: deref(res.Blob), Cost: res.Cost, Receipt: res.Receipt}, err
}

func (t *transactor) InvalidateBlob(ctx context.Context, s chain.Signer, cert *chain.Certificate) (chain.TxReceipt, error) {
	if cert == nil {
		return chain.TxReceipt{}, errNilCertificate
	}
	res, err := t.do(ctx, s, Call{InvalidateBlob: &InvalidateBlobCall{Certificate: *cert}})
	return res.Receipt, err
}

func (t *transactor) SubmitAttestation(ctx context.Context, s chain.Signer, att chain.Attestation) (chain.TxReceipt, error) {
	res, err := t.do(ctx, s, Call{SubmitAttestation: &SubmitAttestationCall{Attestation: att}})
	return res.Receipt, err
}

func (t *transactor) EpochSyncDone(ctx context.Context, s chain.Signer, node chain.NodeID, epoch uint32) (chain.TxReceipt, error) {
	res, err := t.do(ctx, s, Call{EpochSyncDone: &EpochSyncDoneCall{Node: node, Epoch: epoch}})
	return res.Receipt, err
}

func (t *transactor) CollectCommission(ctx context.Context, s chain.Signer, node chain.NodeID) (uint64, error) {
	res, err := t.do(ctx, s, Call{CollectCommission: &CollectCommissionCall{Node: node}})
	return res.Amount, err
}

// SetBlobAttribute checks the pairs before signing: a string that is not
// UTF-8 would not survive the JSON of the HTTP transport.
func (t *transactor) SetBlobAttribute(ctx context.Context, s chain.Signer, blob chain.ObjectID, pairs []chain.AttributePair) (chain.TxReceipt, error) {
	if _, err := chain.SetAttributePairs(nil, pairs); err != nil {
		return chain.TxReceipt{}, err
	}
	res, err := t.do(ctx, s, Call{SetBlobAttribute: &SetBlobAttributeCall{Blob: blob, Pairs: pairs}})
	return res.Receipt, err
}

func (t *transactor) RemoveBlobAttributePairs(ctx context.Context, s chain.Signer, blob chain.ObjectID, keys []string) (chain.TxReceipt, error) {
	for _, k := range keys {
		if err := chain.ValidateAttributeKey(k); err != nil {
			return chain.TxReceipt{}, err
		}
	}
	res, err := t.do(ctx, s, Call{RemoveBlobAttributePairs: &RemoveBlobAttributePairsCall{Blob: blob, Keys: keys}})
	return res.Receipt, err
}

func (t *transactor) RemoveBlobAttribute(ctx context.Context, s chain.Signer, blob chain.ObjectID) (chain.TxReceipt, error) {
	res, err := t.do(ctx, s, Call{RemoveBlobAttribute: &RemoveBlobAttributeCall{Blob: blob}})
	return res.Receipt, err
}

var errNilCertificate = fmt.Errorf("%w: nil certificate", chain.ErrInvalidArgument)

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func (t *transactor) ShareBlob(ctx context.Context, s chain.Signer, blob chain.ObjectID, funds uint64) (chain.SharedBlob, error) {
	res, err := t.do(ctx, s, Call{ShareBlob: &ShareBlobCall{Blob: blob, Funds: funds}})
	return deref(res.Shared), err
}

func (t *transactor) FundSharedBlob(ctx context.Context, s chain.Signer, shared chain.ObjectID, amount uint64) (chain.SharedBlob, error) {
	res, err := t.do(ctx, s, Call{FundSharedBlob: &FundSharedBlobCall{Shared: shared, Amount: amount}})
	return deref(res.Shared), err
}

func (t *transactor) ExtendSharedBlob(ctx context.Context, s chain.Signer, shared chain.ObjectID, epochs uint32) (chain.ExtendSharedBlobResult, error) {
	res, err := t.do(ctx, s, Call{ExtendSharedBlob: &ExtendSharedBlobCall{Shared: shared, Epochs: epochs}})
	return chain.ExtendSharedBlobResult{Shared: deref(res.Shared), Cost: res.Cost, Receipt: res.Receipt}, err
}
