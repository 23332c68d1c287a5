package sui

import (
	"fmt"

	"github.com/walrus-go/walrus/chain"
)

// DecodedTx is a programmable transaction decoded from its BCS: what a
// Sui node (or the test server, chain/sui/suitest) reads from
// sui_executeTransactionBlock. Only the parts this package builds decode:
// Pure and object inputs; MoveCall, TransferObjects, SplitCoins and
// MergeCoins commands.
type DecodedTx struct {
	Sender   chain.Address
	Gas      Gas
	Inputs   []TxInput
	Commands []TxCommand
}

// TxInput is an input: Pure bytes, an owned object, or a shared object.
type TxInput struct {
	Pure   []byte
	Object *ObjectRef
	Shared *SharedObject
}

// SharedObject is a shared object input.
type SharedObject struct {
	ID                   chain.ObjectID
	InitialSharedVersion uint64
	Mutable              bool
}

// The kinds of TxArg.
const (
	ArgGasCoin      = 0
	ArgInput        = 1
	ArgResult       = 2
	ArgNestedResult = 3
)

// TxArg is a command argument.
type TxArg struct {
	Kind  int
	Index uint16 // input or command index
	Sub   uint16 // NestedResult's result index
}

// The kinds of TxCommand.
const (
	CmdMoveCall        = 0
	CmdTransferObjects = 1
	CmdSplitCoins      = 2
	CmdMergeCoins      = 3
)

// TxCommand is a command. Args are a MoveCall's arguments, TransferObjects'
// objects then the address, SplitCoins' coin then amounts, MergeCoins'
// destination then sources.
type TxCommand struct {
	Kind     int
	Package  chain.ObjectID
	Module   string
	Function string
	TypeArgs int
	Args     []TxArg
}

// MaxTxSize is Sui's limit on a transaction's bytes.
const MaxTxSize = 128 << 10

// DecodeTransaction decodes TransactionData V1 bytes.
func DecodeTransaction(b []byte) (*DecodedTx, error) {
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("%w: transaction of %d bytes", ErrDecode, len(b))
	}
	r := newReader(b)
	tx := &DecodedTx{}
	r.variant(1) // TransactionData::V1
	r.variant(1) // TransactionKind::ProgrammableTransaction
	n := r.length(2)
	for range n {
		var in TxInput
		switch r.variant(2) {
		case 0:
			in.Pure = r.bytes()
		case 1:
			switch r.variant(3) {
			case 0, 2:
				ref := readRef(r)
				in.Object = &ref
			case 1:
				in.Shared = &SharedObject{ID: r.addr(), InitialSharedVersion: r.u64(), Mutable: r.bool()}
			}
		}
		tx.Inputs = append(tx.Inputs, in)
	}
	n = r.length(2)
	for range n {
		var c TxCommand
		c.Kind = r.variant(4)
		switch c.Kind {
		case CmdMoveCall:
			c.Package, c.Module, c.Function = r.addr(), r.string(), r.string()
			k := r.length(1)
			for range k {
				skipTypeTag(r, 0)
			}
			c.TypeArgs = k
			c.Args = readArgs(r, r.length(1))
		case CmdTransferObjects, CmdMergeCoins:
			if c.Kind == CmdMergeCoins {
				c.Args = readArgs(r, 1)
				c.Args = append(c.Args, readArgs(r, r.length(1))...)
			} else {
				c.Args = readArgs(r, r.length(1))
				c.Args = append(c.Args, readArgs(r, 1)...)
			}
		case CmdSplitCoins:
			c.Args = readArgs(r, 1)
			c.Args = append(c.Args, readArgs(r, r.length(1))...)
		}
		tx.Commands = append(tx.Commands, c)
	}
	tx.Sender = r.addr()
	k := r.length(41)
	for range k {
		tx.Gas.Payment = append(tx.Gas.Payment, readRef(r))
	}
	if owner := chain.Address(r.addr()); r.err == nil && owner != tx.Sender {
		r.fail("gas owner %s is not the sender", owner)
	}
	tx.Gas.Price, tx.Gas.Budget = r.u64(), r.u64()
	if r.variant(2) == 1 {
		r.u64()
	}
	if err := r.done("TransactionData"); err != nil {
		return nil, err
	}
	return tx, nil
}

func readRef(r *reader) ObjectRef {
	ref := ObjectRef{ID: r.addr(), Version: r.u64(), Digest: r.bytes()}
	if r.err == nil && len(ref.Digest) != 32 {
		r.fail("object digest of %d bytes", len(ref.Digest))
	}
	return ref
}

func readArgs(r *reader, n int) []TxArg {
	out := make([]TxArg, 0, n)
	for range n {
		a := TxArg{Kind: r.variant(4)}
		switch a.Kind {
		case ArgInput, ArgResult:
			a.Index = r.u16()
		case ArgNestedResult:
			a.Index, a.Sub = r.u16(), r.u16()
		}
		out = append(out, a)
	}
	return out
}

// maxTypeDepth bounds nested type tags.
const maxTypeDepth = 8

func skipTypeTag(r *reader, depth int) {
	if depth > maxTypeDepth {
		r.fail("type tag nested deeper than %d", maxTypeDepth)
		return
	}
	switch r.variant(11) {
	case 6: // vector
		skipTypeTag(r, depth+1)
	case 7: // struct
		r.addr()
		r.string()
		r.string()
		k := r.length(1)
		for range k {
			skipTypeTag(r, depth+1)
		}
	}
}
