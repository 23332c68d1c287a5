package sui

import (
	"fmt"

	"github.com/walrus-go/walrus/chain"
)

// MoveEvent is a decoded event of Walrus's walrus::events module. Which
// fields are set depends on Type, as in the Move struct of that name.
type MoveEvent struct {
	Type         string // the struct name: "BlobRegistered", ...
	Epoch        uint32 // NextEpoch for EpochParametersSelected
	BlobID       [32]byte
	Size         uint64
	EncodingType uint8
	EndEpoch     uint32
	Deletable    bool
	ObjectID     chain.ObjectID
	IsExtension  bool
	WasCertified bool
	Shards       []uint16
}

// The events of walrus::events this package reads. Others (deny lists,
// upgrades, prices, storage pools) are skipped by the event follower.
var knownEvents = map[string]bool{
	"BlobRegistered": true, "BlobCertified": true, "BlobDeleted": true, "InvalidBlobID": true,
	"EpochChangeStart": true, "EpochChangeDone": true, "EpochParametersSelected": true, "ShardsReceived": true,
}

// DecodeEvent decodes the BCS of a walrus::events event of the named type.
func DecodeEvent(typ string, b []byte) (MoveEvent, error) {
	e := MoveEvent{Type: typ}
	r := newReader(b)
	switch typ {
	case "BlobRegistered":
		e.Epoch, e.BlobID, e.Size, e.EncodingType, e.EndEpoch, e.Deletable, e.ObjectID = r.u32(), r.u256(), r.u64(), r.u8(), r.u32(), r.bool(), r.addr()
	case "BlobCertified":
		e.Epoch, e.BlobID, e.EndEpoch, e.Deletable, e.ObjectID, e.IsExtension = r.u32(), r.u256(), r.u32(), r.bool(), r.addr(), r.bool()
	case "BlobDeleted":
		e.Epoch, e.BlobID, e.EndEpoch, e.ObjectID, e.WasCertified = r.u32(), r.u256(), r.u32(), r.addr(), r.bool()
	case "InvalidBlobID":
		e.Epoch, e.BlobID = r.u32(), r.u256()
	case "EpochChangeStart", "EpochChangeDone", "EpochParametersSelected":
		e.Epoch = r.u32()
	case "ShardsReceived":
		e.Epoch = r.u32()
		n := r.length(2)
		e.Shards = make([]uint16, 0, n)
		for range n {
			e.Shards = append(e.Shards, r.u16())
		}
	default:
		return e, fmt.Errorf("%w: unknown event type %q", ErrDecode, typ)
	}
	return e, r.done(typ)
}

// Encode returns the BCS of e as its Move type.
func (e MoveEvent) Encode() []byte {
	var w writer
	switch e.Type {
	case "BlobRegistered":
		w.u32(e.Epoch)
		w.u256(e.BlobID)
		w.u64(e.Size)
		w.u8(e.EncodingType)
		w.u32(e.EndEpoch)
		w.bool(e.Deletable)
		w.addr(e.ObjectID)
	case "BlobCertified":
		w.u32(e.Epoch)
		w.u256(e.BlobID)
		w.u32(e.EndEpoch)
		w.bool(e.Deletable)
		w.addr(e.ObjectID)
		w.bool(e.IsExtension)
	case "BlobDeleted":
		w.u32(e.Epoch)
		w.u256(e.BlobID)
		w.u32(e.EndEpoch)
		w.addr(e.ObjectID)
		w.bool(e.WasCertified)
	case "InvalidBlobID":
		w.u32(e.Epoch)
		w.u256(e.BlobID)
	case "EpochChangeStart", "EpochChangeDone", "EpochParametersSelected":
		w.u32(e.Epoch)
	case "ShardsReceived":
		w.u32(e.Epoch)
		w.uleb(uint64(len(e.Shards)))
		for _, s := range e.Shards {
			w.u16(s)
		}
	}
	return w.b
}
