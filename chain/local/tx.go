package local

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/fardream/go-bcs/bcs"
	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Tx is a transaction: who sends it, a nonce and an expiry that make it
// unique and bound how long the chain must remember it, and one call. Its
// BCS encoding is what is signed and hashed.
type Tx struct {
	Sender chain.Address `json:"sender"`
	// Nonce is random; it tells apart otherwise equal transactions.
	Nonce uint64 `json:"nonce"`
	// Expiry is the block time (Unix milliseconds) from which the
	// transaction can no longer execute; at most MaxTxTTL after the block
	// that executes it.
	Expiry uint64 `json:"expiry"`
	Call   Call   `json:"call"`
}

// Call is the operation of a transaction: exactly one field is set. It is a
// BCS enum; the order of the fields is part of the format.
type Call struct {
	RequestWAL        *RequestWALCall        `json:"requestWal,omitempty"`
	TransferWAL       *TransferWALCall       `json:"transferWal,omitempty"`
	RegisterNode      *RegisterNodeCall      `json:"registerNode,omitempty"`
	UpdateNode        *UpdateNodeCall        `json:"updateNode,omitempty"`
	Stake             *StakeCall             `json:"stake,omitempty"`
	RequestWithdrawal *RequestWithdrawalCall `json:"requestWithdrawal,omitempty"`
	Withdraw          *WithdrawCall          `json:"withdraw,omitempty"`
	ReserveStorage    *ReserveStorageCall    `json:"reserveStorage,omitempty"`
	RegisterBlob      *RegisterBlobCall      `json:"registerBlob,omitempty"`
	CertifyBlob       *CertifyBlobCall       `json:"certifyBlob,omitempty"`
	DeleteBlob        *DeleteBlobCall        `json:"deleteBlob,omitempty"`
	ExtendBlob        *ExtendBlobCall        `json:"extendBlob,omitempty"`
	InvalidateBlob    *InvalidateBlobCall    `json:"invalidateBlob,omitempty"`
	SubmitAttestation *SubmitAttestationCall `json:"submitAttestation,omitempty"`
	EpochSyncDone     *EpochSyncDoneCall     `json:"epochSyncDone,omitempty"`
	CollectCommission *CollectCommissionCall `json:"collectCommission,omitempty"`
	// Blob attributes.
	SetBlobAttribute         *SetBlobAttributeCall         `json:"setBlobAttribute,omitempty"`
	RemoveBlobAttributePairs *RemoveBlobAttributePairsCall `json:"removeBlobAttributePairs,omitempty"`
	RemoveBlobAttribute      *RemoveBlobAttributeCall      `json:"removeBlobAttribute,omitempty"`
	// Shared blobs.
	ShareBlob        *ShareBlobCall        `json:"shareBlob,omitempty"`
	FundSharedBlob   *FundSharedBlobCall   `json:"fundSharedBlob,omitempty"`
	ExtendSharedBlob *ExtendSharedBlobCall `json:"extendSharedBlob,omitempty"`
}

// IsBcsEnum marks Call as a BCS enum.
func (Call) IsBcsEnum() {}

// set lists which fields are set, in order.
func (c *Call) set() []bool {
	return []bool{
		c.RequestWAL != nil, c.TransferWAL != nil, c.RegisterNode != nil, c.UpdateNode != nil,
		c.Stake != nil, c.RequestWithdrawal != nil, c.Withdraw != nil, c.ReserveStorage != nil,
		c.RegisterBlob != nil, c.CertifyBlob != nil, c.DeleteBlob != nil, c.ExtendBlob != nil,
		c.InvalidateBlob != nil, c.SubmitAttestation != nil, c.EpochSyncDone != nil, c.CollectCommission != nil,
		c.SetBlobAttribute != nil, c.RemoveBlobAttributePairs != nil, c.RemoveBlobAttribute != nil,
		c.ShareBlob != nil, c.FundSharedBlob != nil, c.ExtendSharedBlob != nil,
	}
}

// count returns how many fields are set.
func (c *Call) count() int {
	n := 0
	for _, set := range c.set() {
		if set {
			n++
		}
	}
	return n
}

// kinds is the number of kinds of calls.
func (c *Call) kinds() int { return len(c.set()) }

// The calls. Their fields mirror the chain.Chain methods.
type (
	// RequestWALCall mints Amount to the sender (faucet).
	RequestWALCall struct {
		Amount uint64 `json:"amount"`
	}
	// TransferWALCall moves Amount from the sender to To.
	TransferWALCall struct {
		To     chain.Address `json:"to"`
		Amount uint64        `json:"amount"`
	}
	// RegisterNodeCall registers a node operated by the sender.
	RegisterNodeCall struct {
		Args chain.RegisterNodeArgs `json:"args"`
	}
	// UpdateNodeCall changes a node; nil fields stay.
	UpdateNodeCall struct {
		Node              chain.NodeID        `json:"node"`
		Name              *string             `json:"name,omitempty" bcs:"optional"`
		PeerID            *string             `json:"peerId,omitempty" bcs:"optional"`
		NetworkKeySig     *[]byte             `json:"networkKeySignature,omitempty" bcs:"optional"`
		Addresses         *[]string           `json:"addresses,omitempty" bcs:"optional"`
		PublicKey         *chain.BLSPublicKey `json:"publicKey,omitempty" bcs:"optional"`
		ProofOfPossession *chain.BLSSignature `json:"proofOfPossession,omitempty" bcs:"optional"`
		Commission        *uint16             `json:"commissionRate,omitempty" bcs:"optional"`
		StoragePriceVote  *uint64             `json:"storagePriceVote,omitempty" bcs:"optional"`
		WritePriceVote    *uint64             `json:"writePriceVote,omitempty" bcs:"optional"`
		Capacity          *uint64             `json:"nodeCapacity,omitempty" bcs:"optional"`
	}
	// StakeCall stakes Amount with Node's pool.
	StakeCall struct {
		Node   chain.NodeID `json:"node"`
		Amount uint64       `json:"amount"`
	}
	// RequestWithdrawalCall starts withdrawing a staked WAL object.
	RequestWithdrawalCall struct {
		Staked chain.ObjectID `json:"staked"`
	}
	// WithdrawCall pays out a staked WAL object.
	WithdrawCall struct {
		Staked chain.ObjectID `json:"staked"`
	}
	// ReserveStorageCall buys a storage resource.
	ReserveStorageCall struct {
		Size   uint64 `json:"size"`
		Epochs uint32 `json:"epochs"`
	}
	// RegisterBlobCall registers a blob.
	RegisterBlobCall struct {
		BlobID       encoding.BlobID       `json:"blobId"`
		RootHash     encoding.Hash         `json:"rootHash"`
		Size         uint64                `json:"size"`
		EncodingType encoding.EncodingType `json:"encodingType"`
		Epochs       uint32                `json:"epochs"`
		Deletable    bool                  `json:"deletable"`
		Owner        chain.Address         `json:"owner"`
		Storage      *chain.ObjectID       `json:"storage,omitempty" bcs:"optional"`
	}
	// CertifyBlobCall certifies a blob object.
	CertifyBlobCall struct {
		Blob        chain.ObjectID    `json:"blob"`
		Certificate chain.Certificate `json:"certificate"`
	}
	// DeleteBlobCall deletes a deletable blob object.
	DeleteBlobCall struct {
		Blob chain.ObjectID `json:"blob"`
	}
	// ExtendBlobCall extends a blob object.
	ExtendBlobCall struct {
		Blob   chain.ObjectID `json:"blob"`
		Epochs uint32         `json:"epochs"`
	}
	// InvalidateBlobCall marks a blob ID invalid.
	InvalidateBlobCall struct {
		Certificate chain.Certificate `json:"certificate"`
	}
	// SubmitAttestationCall records an attestation.
	SubmitAttestationCall struct {
		Attestation chain.Attestation `json:"attestation"`
	}
	// EpochSyncDoneCall reports a node synced for Epoch.
	EpochSyncDoneCall struct {
		Node  chain.NodeID `json:"node"`
		Epoch uint32       `json:"epoch"`
	}
	// CollectCommissionCall pays Node's accrued commission to its
	// operator.
	// SetBlobAttributeCall inserts or updates Pairs in Blob's attribute.
	SetBlobAttributeCall struct {
		Blob  chain.ObjectID        `json:"blob"`
		Pairs []chain.AttributePair `json:"pairs"`
	}
	// RemoveBlobAttributePairsCall removes Keys from Blob's attribute.
	RemoveBlobAttributePairsCall struct {
		Blob chain.ObjectID `json:"blob"`
		Keys []string       `json:"keys"`
	}
	// RemoveBlobAttributeCall removes Blob's attribute.
	RemoveBlobAttributeCall struct {
		Blob chain.ObjectID `json:"blob"`
	}
	// ShareBlobCall wraps Blob into a new shared blob funded with Funds
	// from the sender.
	ShareBlobCall struct {
		Blob  chain.ObjectID `json:"blob"`
		Funds uint64         `json:"funds"`
	}
	// FundSharedBlobCall adds Amount from the sender to Shared's funds.
	FundSharedBlobCall struct {
		Shared chain.ObjectID `json:"shared"`
		Amount uint64         `json:"amount"`
	}
	// ExtendSharedBlobCall extends the blob Shared wraps by Epochs, paid
	// from Shared's funds.
	ExtendSharedBlobCall struct {
		Shared chain.ObjectID `json:"shared"`
		Epochs uint32         `json:"epochs"`
	}
	CollectCommissionCall struct {
		Node chain.NodeID `json:"node"`
	}
)

// SignedTx is a transaction and its signature in Sui's serialized form:
// flag 0x00 (Ed25519) ‖ signature(64) ‖ public key(32).
type SignedTx struct {
	Tx        Tx     `json:"tx"`
	Signature []byte `json:"signature"`
}

// Transaction limits.
const (
	// MaxTxSize bounds a transaction's BCS encoding and its JSON body.
	MaxTxSize = 64 << 10
	// SignatureSize is the size of a serialized signature.
	SignatureSize = 1 + ed25519.SignatureSize + ed25519.PublicKeySize
	// signatureFlagEd25519 is Sui's flag for Ed25519.
	signatureFlagEd25519 = 0x00
)

// txDigestPrefix and txIntent follow Sui: the digest hashes
// "TransactionData::" ‖ BCS, the signature signs Blake2b-256 of the intent
// (transaction data, version 0, app Sui) ‖ BCS.
var (
	txDigestPrefix = []byte("TransactionData::")
	txIntent       = []byte{0, 0, 0}
)

// Encode returns the transaction's BCS encoding.
func (tx *Tx) Encode() ([]byte, error) {
	if n := tx.Call.count(); n != 1 {
		return nil, fmt.Errorf("%w: transaction has %d calls, want 1", chain.ErrInvalidArgument, n)
	}
	var buf bytes.Buffer
	if err := bcs.NewEncoder(&buf).Encode(tx); err != nil {
		return nil, fmt.Errorf("%w: encoding transaction: %v", chain.ErrInvalidArgument, err)
	}
	if buf.Len() > MaxTxSize {
		return nil, fmt.Errorf("%w: transaction of %d bytes, over %d", chain.ErrTooLarge, buf.Len(), MaxTxSize)
	}
	return buf.Bytes(), nil
}

// digestOf returns the digest of an encoded transaction.
func digestOf(enc []byte) chain.Digest {
	h, _ := blake2b.New256(nil)
	h.Write(txDigestPrefix)
	h.Write(enc)
	var d chain.Digest
	h.Sum(d[:0])
	return d
}

// signingMessage returns what the sender signs for an encoded transaction.
func signingMessage(enc []byte) []byte {
	h, _ := blake2b.New256(nil)
	h.Write(txIntent)
	h.Write(enc)
	return h.Sum(nil)
}

// Sign encodes and signs a transaction with s. A signer that returns no
// signature makes an unsigned transaction, which the chain refuses.
func Sign(tx Tx, s chain.Signer) (*SignedTx, error) {
	enc, err := tx.Encode()
	if err != nil {
		return nil, err
	}
	raw := s.Sign(signingMessage(enc))
	if len(raw) == 0 {
		return &SignedTx{Tx: tx}, nil // a signer that does not sign: unsigned
	}
	sig := make([]byte, 0, SignatureSize)
	sig = append(sig, signatureFlagEd25519)
	sig = append(sig, raw...)
	sig = append(sig, s.PublicKey()...)
	return &SignedTx{Tx: tx, Signature: sig}, nil
}

// verify checks the signature and returns the transaction's digest and
// encoding: ErrUnsigned without a signature, ErrBadSignature for one that is
// malformed, by another key than the sender's, or that does not verify.
func (st *SignedTx) verify() (chain.Digest, []byte, error) {
	enc, err := st.Tx.Encode()
	if err != nil {
		return chain.Digest{}, nil, err
	}
	d := digestOf(enc)
	if len(st.Signature) == 0 {
		return d, enc, fmt.Errorf("%w: transaction %s", chain.ErrUnsigned, d)
	}
	if len(st.Signature) != SignatureSize || st.Signature[0] != signatureFlagEd25519 {
		return d, enc, fmt.Errorf("%w: want a %d-byte Ed25519 signature with flag 0", chain.ErrBadSignature, SignatureSize)
	}
	pub := ed25519.PublicKey(st.Signature[1+ed25519.SignatureSize:])
	if chain.AddressOf(pub) != st.Tx.Sender {
		return d, enc, fmt.Errorf("%w: signing key is not the sender %s's", chain.ErrBadSignature, st.Tx.Sender)
	}
	if !ed25519.Verify(pub, signingMessage(enc), st.Signature[1:1+ed25519.SignatureSize]) {
		return d, enc, fmt.Errorf("%w: signature does not verify", chain.ErrBadSignature)
	}
	return d, enc, nil
}
