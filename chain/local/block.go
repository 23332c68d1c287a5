package local

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fardream/go-bcs/bcs"
	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
)

// BlockHeader commits to a block. Its hash, Blake2b-256 of its BCS
// encoding, is the next block's Prev; the first block's Prev is the chain ID.
type BlockHeader struct {
	Height uint64 `json:"height"`
	// TimeMs is the block time (Unix milliseconds); it never decreases.
	TimeMs uint64       `json:"timeMs"`
	Prev   chain.Digest `json:"prev"`
	// TxRoot commits to the block's transactions and their outcomes
	// (txRoot); EventsRoot is Blake2b-256 of the BCS of its events.
	TxRoot     chain.Digest `json:"txRoot"`
	EventsRoot chain.Digest `json:"eventsRoot"`
	// Randomness is drawn by the block producer; the block that starts an
	// epoch derives the epoch's challenge seed from it.
	Randomness [32]byte `json:"randomness"`
}

// Block is a header and the transactions it executed, in order: those that
// succeeded and those that failed after passing the signature, expiry and
// duplicate checks. A failed transaction changes nothing but is recorded,
// so that its digest is remembered until its expiry like any other's: the
// same signed bytes cannot execute later (once the sender can pay, say).
type Block struct {
	Header BlockHeader
	Txs    []BlockTx
}

// BlockTx is a transaction of a block and its outcome.
type BlockTx struct {
	Tx SignedTx
	// Error is "" for a transaction that succeeded, else the
	// chain.ErrorCode of its failure ("failed" if it has none).
	Error string
}

// outcomeCode is what BlockTx.Error records for a transaction's outcome.
func outcomeCode(err error) string {
	if err == nil {
		return ""
	}
	if c := chain.ErrorCode(err); c != "" {
		return c
	}
	return "failed"
}

// Hash returns the header's hash.
func (h *BlockHeader) Hash() chain.Digest {
	var buf bytes.Buffer
	if err := bcs.NewEncoder(&buf).Encode(h); err != nil {
		panic("local: encoding a block header: " + err.Error())
	}
	return chain.Digest(blake2b.Sum256(buf.Bytes()))
}

// txEntry is what a block header commits to for one transaction.
type txEntry struct {
	digest chain.Digest
	code   string // BlockTx.Error
}

// txRoot is Blake2b-256 over the block's transactions, in order: digest(32)
// ‖ ULEB128(len) ‖ outcome code (empty for success).
func txRoot(txs []txEntry) chain.Digest {
	h, _ := blake2b.New256(nil)
	var buf [binary.MaxVarintLen64]byte
	for _, t := range txs {
		h.Write(t.digest[:])
		h.Write(binary.AppendUvarint(buf[:0], uint64(len(t.code))))
		h.Write([]byte(t.code))
	}
	var out chain.Digest
	h.Sum(out[:0])
	return out
}

func eventsRoot(evs []chain.Event) chain.Digest {
	h, _ := blake2b.New256(nil)
	if err := bcs.NewEncoder(h).Encode(evs); err != nil {
		panic("local: encoding events: " + err.Error())
	}
	var out chain.Digest
	h.Sum(out[:0])
	return out
}

// Records in the database are a Blake2b-256 checksum of the payload followed
// by the payload, so that corruption is found before decoding.
func seal(payload []byte) []byte {
	sum := blake2b.Sum256(payload)
	return append(sum[:], payload...)
}

func unseal(rec []byte) ([]byte, error) {
	if len(rec) < 32 {
		return nil, fmt.Errorf("%w: record of %d bytes", chain.ErrCorrupt, len(rec))
	}
	if sum := blake2b.Sum256(rec[32:]); !bytes.Equal(sum[:], rec[:32]) {
		return nil, fmt.Errorf("%w: record checksum mismatch", chain.ErrCorrupt)
	}
	return rec[32:], nil
}

func encodeBlock(b *Block) ([]byte, error) {
	var buf bytes.Buffer
	if err := bcs.NewEncoder(&buf).Encode(b); err != nil {
		return nil, err
	}
	return seal(buf.Bytes()), nil
}

// decodeBlock decodes a sealed block. The checksum is verified first: the
// BCS decoder trusts length prefixes, so it only ever sees bytes this
// package wrote.
func decodeBlock(rec []byte) (*Block, error) {
	payload, err := unseal(rec)
	if err != nil {
		return nil, err
	}
	var b Block
	if err := bcs.UnmarshalAll(payload, &b); err != nil {
		return nil, fmt.Errorf("%w: block: %v", chain.ErrCorrupt, err)
	}
	return &b, nil
}

func encodeEvent(ev *chain.Event) []byte {
	b, _ := json.Marshal(ev)
	return seal(b)
}

func decodeEvent(rec []byte) (chain.Event, error) {
	payload, err := unseal(rec)
	if err != nil {
		return chain.Event{}, err
	}
	var ev chain.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return chain.Event{}, fmt.Errorf("%w: event: %v", chain.ErrCorrupt, err)
	}
	return ev, nil
}
