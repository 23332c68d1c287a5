package chain

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/walrus-go/walrus/encoding"
)

// Cursor is a position in the event stream. Events are numbered from 1 in
// the order they happened; the Cursor of an event resumes the stream after
// it, and the zero Cursor starts from the beginning. Cursors of one chain
// compare by Seq. Token carries what a backend needs to resume besides Seq
// (none for the local chain); treat it as opaque.
//
// Its text form is the decimal Seq, followed by "." and Token when there is
// one; store it to resume after a restart.
type Cursor struct {
	Seq   uint64 `json:"seq"`
	Token string `json:"token,omitempty"`
}

// Less reports whether c is before d in the stream.
func (c Cursor) Less(d Cursor) bool { return c.Seq < d.Seq }

// IsZero reports whether c is the start of the stream.
func (c Cursor) IsZero() bool { return c.Seq == 0 && c.Token == "" }

// String returns the text form.
func (c Cursor) String() string {
	s := strconv.FormatUint(c.Seq, 10)
	if c.Token != "" {
		s += "." + c.Token
	}
	return s
}

// MaxCursorTokenLen bounds a cursor's token.
const MaxCursorTokenLen = 256

// ParseCursor parses the text form of a cursor. The empty string is the zero
// Cursor.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) > 20+1+MaxCursorTokenLen {
		return Cursor{}, fmt.Errorf("%w: cursor too long", ErrInvalidArgument)
	}
	num, tok, _ := strings.Cut(s, ".")
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil || (len(num) > 1 && num[0] == '0') {
		return Cursor{}, fmt.Errorf("%w: bad cursor %q", ErrInvalidArgument, s)
	}
	return Cursor{Seq: seq, Token: tok}, nil
}

// MarshalText implements encoding.TextMarshaler.
func (c Cursor) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Cursor) UnmarshalText(b []byte) error {
	v, err := ParseCursor(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// EventKind is the type of an event.
type EventKind uint8

// The kinds of events. The fields each kind sets are listed; all events set
// Cursor, Kind, Epoch, Height and TxDigest (zero for events the chain emits
// on its own at epoch transitions).
const (
	// EventBlobRegistered: BlobID, ObjectID, Size, EncodingType, EndEpoch,
	// Deletable, Owner.
	EventBlobRegistered EventKind = 1
	// EventBlobCertified: BlobID, ObjectID, EndEpoch, Deletable, Owner.
	EventBlobCertified EventKind = 2
	// EventBlobDeleted: BlobID, ObjectID, EndEpoch, WasCertified, Owner.
	EventBlobDeleted EventKind = 3
	// EventBlobExtended: BlobID, ObjectID, EndEpoch (the new one),
	// Deletable, Owner.
	EventBlobExtended EventKind = 4
	// EventInvalidBlobID: BlobID.
	EventInvalidBlobID EventKind = 5
	// EventEpochChangeStart: Epoch is the new epoch; its committee and
	// shard assignment are Committee(Epoch). Nodes sync newly assigned
	// shards, then report EpochSyncDone.
	EventEpochChangeStart EventKind = 6
	// EventEpochChangeDone: Epoch; nodes holding a quorum of shards synced.
	EventEpochChangeDone EventKind = 7
	// EventCommitteeSelected: the committee and shard assignment of epoch
	// NextEpoch are chosen (Committee(NextEpoch)); emitted at the midpoint
	// of Epoch.
	EventCommitteeSelected EventKind = 8
	// EventEpochSyncDone: NodeID reported sync done for Epoch.
	EventEpochSyncDone EventKind = 9
	// EventNodeRegistered: NodeID, Owner (the operator).
	EventNodeRegistered EventKind = 10
	// EventNodeUpdated: NodeID.
	EventNodeUpdated EventKind = 11
	// EventStaked: ObjectID (staked WAL), NodeID, Amount, Owner,
	// NextEpoch (activation epoch).
	EventStaked EventKind = 12
	// EventWithdrawalRequested: ObjectID, NodeID, Owner, NextEpoch
	// (withdrawal epoch).
	EventWithdrawalRequested EventKind = 13
	// EventWithdrawn: ObjectID, NodeID, Amount, Owner.
	EventWithdrawn EventKind = 14
	// EventRewardsDistributed: NodeID, Amount (the node's rewards for
	// Epoch, the epoch that ends, commission included), Burned (what it
	// forfeited); both 0 when its challenges were unproven and the reward
	// carried over. Emitted for every member when the epoch had fees.
	EventRewardsDistributed EventKind = 15
	// EventAttestation: NodeID submitted its attestation for Epoch.
	EventAttestation EventKind = 16
	// EventCommissionCollected: NodeID's operator Owner collected Amount.
	EventCommissionCollected EventKind = 17
)

var eventNames = map[EventKind]string{
	EventBlobRegistered:      "BlobRegistered",
	EventBlobCertified:       "BlobCertified",
	EventBlobDeleted:         "BlobDeleted",
	EventBlobExtended:        "BlobExtended",
	EventInvalidBlobID:       "InvalidBlobID",
	EventEpochChangeStart:    "EpochChangeStart",
	EventEpochChangeDone:     "EpochChangeDone",
	EventCommitteeSelected:   "CommitteeSelected",
	EventEpochSyncDone:       "EpochSyncDone",
	EventNodeRegistered:      "NodeRegistered",
	EventNodeUpdated:         "NodeUpdated",
	EventStaked:              "Staked",
	EventWithdrawalRequested: "WithdrawalRequested",
	EventWithdrawn:           "Withdrawn",
	EventRewardsDistributed:  "RewardsDistributed",
	EventAttestation:         "Attestation",
	EventCommissionCollected: "CommissionCollected",
}

// String returns the kind's name, as Walrus names its events.
func (k EventKind) String() string {
	if n, ok := eventNames[k]; ok {
		return n
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EventKind) UnmarshalText(b []byte) error {
	for kind, n := range eventNames {
		if n == string(b) {
			*k = kind
			return nil
		}
	}
	return fmt.Errorf("%w: unknown event kind %q", ErrInvalidArgument, b)
}

// Event is one entry of the event stream. It carries enough that a storage
// node can act on it without another read; which fields are set depends on
// Kind (see the EventKind constants). Values are copies.
type Event struct {
	Cursor Cursor    `json:"cursor"`
	Kind   EventKind `json:"kind"`
	// Epoch is the epoch the event happened in (for EpochChangeStart, the
	// new epoch).
	Epoch uint32 `json:"epoch"`
	// Height is the block that holds the event.
	Height   uint64 `json:"height"`
	TxDigest Digest `json:"txDigest,omitzero"`

	BlobID       encoding.BlobID       `json:"blobId,omitzero"`
	ObjectID     ObjectID              `json:"objectId,omitzero"`
	Size         uint64                `json:"size,omitempty"`
	EncodingType encoding.EncodingType `json:"encodingType,omitempty"`
	EndEpoch     uint32                `json:"endEpoch,omitempty"`
	Deletable    bool                  `json:"deletable,omitempty"`
	WasCertified bool                  `json:"wasCertified,omitempty"`
	Owner        Address               `json:"owner,omitzero"`
	NodeID       NodeID                `json:"nodeId,omitzero"`
	Amount       uint64                `json:"amount,omitempty"`
	Burned       uint64                `json:"burned,omitempty"`
	NextEpoch    uint32                `json:"nextEpoch,omitempty"`
}
