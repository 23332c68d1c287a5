package chain

import (
	"fmt"
)

// Certificate is a message signed by committee members holding enough
// shards: the message, the aggregate of their BLS signatures on it, and the
// bitmap of who signed (bit i = committee member i).
//
// A Certificate is a plain value; it is not safe for concurrent mutation.
type Certificate struct {
	Message   []byte       `json:"message"`
	Signature BLSSignature `json:"signature"`
	Signers   Bitmap       `json:"signers"`
}

// Threshold is how many shards a certificate's signers must hold.
type Threshold uint8

// The two thresholds of DESIGN.md §3.
const (
	// Quorum: n − f shards (blob certification, sync).
	Quorum Threshold = iota
	// Validity: f + 1 shards (invalid blob and similar claims).
	Validity
)

// String returns "quorum" or "validity".
func (t Threshold) String() string {
	if t == Validity {
		return "validity"
	}
	return "quorum"
}

// shards returns the threshold's shard count for a committee.
func (t Threshold) shards(c *Committee) int {
	if t == Validity {
		return c.ValidityShards()
	}
	return c.QuorumShards()
}

// NewCertificate aggregates the signatures of committee members on msg;
// sigs maps member index to signature. It does not verify the signatures:
// call Verify, or verify each before.
func NewCertificate(c *Committee, msg []byte, sigs map[int]BLSSignature) (*Certificate, error) {
	if len(sigs) == 0 {
		return nil, fmt.Errorf("%w: no signatures", ErrInvalidArgument)
	}
	bm := NewBitmap(len(c.Members))
	list := make([]BLSSignature, 0, len(sigs))
	for i, s := range sigs {
		if i < 0 || i >= len(c.Members) {
			return nil, fmt.Errorf("%w: signer %d outside a committee of %d", ErrInvalidArgument, i, len(c.Members))
		}
		bm.Set(i)
		list = append(list, s)
	}
	agg, err := AggregateSignatures(list)
	if err != nil {
		return nil, err
	}
	return &Certificate{Message: append([]byte(nil), msg...), Signature: agg, Signers: bm}, nil
}

// Verify checks the certificate against the committee of its epoch: the
// message parses and is for c.Epoch (ErrWrongEpoch), the bitmap fits the
// committee, the signers hold at least the threshold's shards
// (*ThresholdError, matching ErrBelowThreshold), and the aggregate signature
// verifies against the signers' keys (ErrInvalidCertificate). It returns the
// parsed message.
func (cert *Certificate) Verify(c *Committee, t Threshold) (Message, error) {
	m, err := ParseMessage(cert.Message)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrInvalidCertificate, err)
	}
	if m.Epoch != c.Epoch {
		return Message{}, fmt.Errorf("%w: certificate of epoch %d, committee of epoch %d", ErrWrongEpoch, m.Epoch, c.Epoch)
	}
	if err := cert.Signers.check(len(c.Members)); err != nil {
		return Message{}, err
	}
	if w, need := c.Weight(cert.Signers), t.shards(c); w < need {
		return Message{}, &ThresholdError{Shards: w, Need: need}
	}
	all, err := c.points()
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrInvalidCertificate, err)
	}
	var pts = all[:0:0]
	for i := range c.Members {
		if cert.Signers.Has(i) {
			pts = append(pts, all[i])
		}
	}
	if err := verifyAggregatePoints(pts, cert.Message, cert.Signature); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrInvalidCertificate, err)
	}
	return m, nil
}
