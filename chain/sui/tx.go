package sui

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/block-vision/sui-go-sdk/mystenbcs"
	"github.com/mr-tron/base58"
	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
)

// The BCS of Sui's TransactionData (crates/sui-types/src/transaction.rs),
// as far as this package builds it: programmable transactions of Move
// calls, coin merges and splits, and transfers. The types are encoded with
// sui-go-sdk's mystenbcs (enums are structs of pointers, one set).

// ObjectRef names one version of an owned object.
type ObjectRef struct {
	ID      chain.ObjectID
	Version uint64
	Digest  []byte // 32 bytes; BCS writes it as a vector
}

type sharedRef struct {
	ID                   chain.ObjectID
	InitialSharedVersion uint64
	Mutable              bool
}

type txData struct{ V1 *txDataV1 }

func (txData) IsBcsEnum() {}

type txDataV1 struct {
	Kind       *txKind
	Sender     [32]byte
	Gas        gasData
	Expiration *txExpiration
}

type gasData struct {
	Payment []ObjectRef
	Owner   [32]byte
	Price   uint64
	Budget  uint64
}

type txExpiration struct {
	None  *struct{}
	Epoch *uint64
}

func (txExpiration) IsBcsEnum() {}

type txKind struct{ Programmable *ptb }

func (txKind) IsBcsEnum() {}

type ptb struct {
	Inputs   []*callArg
	Commands []*command
}

type callArg struct {
	Pure   *pureArg
	Object *objectArg
}

func (callArg) IsBcsEnum() {}

type pureArg struct{ Bytes []byte }

type objectArg struct {
	ImmOrOwned *ObjectRef
	Shared     *sharedRef
	Receiving  *ObjectRef
}

func (objectArg) IsBcsEnum() {}

type command struct {
	MoveCall        *moveCall
	TransferObjects *transferObjects
	SplitCoins      *splitCoins
	MergeCoins      *mergeCoins
}

func (command) IsBcsEnum() {}

type moveCall struct {
	Package       [32]byte
	Module        string
	Function      string
	TypeArguments []*typeTag
	Arguments     []*argument
}

type transferObjects struct {
	Objects []*argument
	Address *argument
}

type splitCoins struct {
	Coin    *argument
	Amounts []*argument
}

type mergeCoins struct {
	Destination *argument
	Sources     []*argument
}

type argument struct {
	GasCoin      *struct{}
	Input        *uint16
	Result       *uint16
	NestedResult *nestedResult
}

func (argument) IsBcsEnum() {}

type nestedResult struct{ Cmd, Index uint16 }

// typeTag is Sui's TypeTag; only struct tags are built here.
type typeTag struct {
	Bool, U8, U64, U128, Address, Signer *struct{}
	Vector                               *typeTag
	Struct                               *structTag
}

func (typeTag) IsBcsEnum() {}

type structTag struct {
	Address    [32]byte
	Module     string
	Name       string
	TypeParams []*typeTag
}

// builder assembles a programmable transaction the way @mysten/sui's
// Transaction does: inputs in the order they are first used, object inputs
// once per object ID.
type builder struct {
	p       ptb
	objects map[chain.ObjectID]uint16
}

func newBuilder() *builder { return &builder{objects: map[chain.ObjectID]uint16{}} }

func (b *builder) input(a *callArg) *argument {
	i := uint16(len(b.p.Inputs))
	b.p.Inputs = append(b.p.Inputs, a)
	return &argument{Input: &i}
}

func (b *builder) object(id chain.ObjectID, a *objectArg) *argument {
	if i, ok := b.objects[id]; ok {
		if s := b.p.Inputs[i].Object.Shared; s != nil && a.Shared != nil && a.Shared.Mutable {
			s.Mutable = true
		}
		return &argument{Input: &i}
	}
	b.objects[id] = uint16(len(b.p.Inputs))
	return b.input(&callArg{Object: a})
}

func (b *builder) owned(r ObjectRef) *argument { return b.object(r.ID, &objectArg{ImmOrOwned: &r}) }

func (b *builder) shared(s sharedRef) *argument { return b.object(s.ID, &objectArg{Shared: &s}) }

func (b *builder) pure(v []byte) *argument { return b.input(&callArg{Pure: &pureArg{Bytes: v}}) }

func (b *builder) u8(v uint8) *argument   { return b.pure([]byte{v}) }
func (b *builder) u16(v uint16) *argument { return b.pure(binary.LittleEndian.AppendUint16(nil, v)) }
func (b *builder) u32(v uint32) *argument { return b.pure(binary.LittleEndian.AppendUint32(nil, v)) }
func (b *builder) u64(v uint64) *argument { return b.pure(binary.LittleEndian.AppendUint64(nil, v)) }
func (b *builder) bool(v bool) *argument {
	if v {
		return b.u8(1)
	}
	return b.u8(0)
}
func (b *builder) id(v [32]byte) *argument { return b.pure(append([]byte(nil), v[:]...)) }
func (b *builder) bytes(v []byte) *argument {
	var w writer
	w.bytes(v)
	return b.pure(w.b)
}
func (b *builder) string(v string) *argument { return b.bytes([]byte(v)) }

func (b *builder) cmd(c *command) uint16 {
	b.p.Commands = append(b.p.Commands, c)
	return uint16(len(b.p.Commands) - 1)
}

func (b *builder) call(pkg chain.ObjectID, module, fn string, types []*typeTag, args ...*argument) *argument {
	i := b.cmd(&command{MoveCall: &moveCall{Package: pkg, Module: module, Function: fn, TypeArguments: types, Arguments: args}})
	return &argument{Result: &i}
}

func (b *builder) transfer(objs []*argument, to *argument) {
	b.cmd(&command{TransferObjects: &transferObjects{Objects: objs, Address: to}})
}

func (b *builder) split(coin *argument, amount *argument) *argument {
	i := b.cmd(&command{SplitCoins: &splitCoins{Coin: coin, Amounts: []*argument{amount}}})
	return &argument{NestedResult: &nestedResult{Cmd: i}}
}

// wal merges the given WAL coins into the first and returns it.
func (b *builder) wal(coins []ObjectRef) *argument {
	first := b.owned(coins[0])
	if len(coins) > 1 {
		var rest []*argument
		for _, c := range coins[1:] {
			rest = append(rest, b.owned(c))
		}
		b.cmd(&command{MergeCoins: &mergeCoins{Destination: first, Sources: rest}})
	}
	return first
}

// Gas is how a transaction pays for gas.
type Gas struct {
	Payment []ObjectRef
	Price   uint64
	Budget  uint64
}

// bytes returns the BCS of the TransactionData.
func (b *builder) txBytes(sender chain.Address, gas Gas) ([]byte, error) {
	td := &txData{V1: &txDataV1{
		Kind:       &txKind{Programmable: &b.p},
		Sender:     sender,
		Gas:        gasData{Payment: gas.Payment, Owner: sender, Price: gas.Price, Budget: gas.Budget},
		Expiration: &txExpiration{None: &struct{}{}},
	}}
	out, err := mystenbcs.Marshal(td)
	if err != nil {
		return nil, fmt.Errorf("sui: encode transaction: %w", err)
	}
	return out, nil
}

// TxDigest returns a transaction's digest: Blake2b-256 of
// "TransactionData::" ‖ its BCS, as Sui computes it; its text form is
// base58.
func TxDigest(txBytes []byte) [32]byte {
	h, _ := blake2b.New256(nil)
	h.Write([]byte("TransactionData::"))
	h.Write(txBytes)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// DigestString returns the base58 text form of a digest, as Sui shows it.
func DigestString(d [32]byte) string { return base58.Encode(d[:]) }

// ParseDigestString parses a base58 digest.
func ParseDigestString(s string) ([32]byte, error) {
	var d [32]byte
	b, err := base58.Decode(s)
	if err != nil || len(b) != 32 {
		return d, fmt.Errorf("%w: digest %q", chain.ErrInvalidArgument, s)
	}
	copy(d[:], b)
	return d, nil
}

// Sign signs transaction bytes as a Sui wallet does: Ed25519 over
// Blake2b-256 of the intent message (scope 0, version 0, app 0) ‖ bytes. It
// returns the serialized signature flag 0x00 ‖ signature ‖ public key, in
// base64.
func Sign(s chain.Signer, txBytes []byte) string {
	h, _ := blake2b.New256(nil)
	h.Write([]byte{0, 0, 0})
	h.Write(txBytes)
	sig := s.Sign(h.Sum(nil))
	out := make([]byte, 0, 1+len(sig)+32)
	out = append(out, 0x00)
	out = append(out, sig...)
	out = append(out, s.PublicKey()...)
	return base64.StdEncoding.EncodeToString(out)
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
