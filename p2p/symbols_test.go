package p2p

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/walrus-go/walrus/encoding"
)

// TestGetSymbols asks a node for symbols of a stored sliver's expansion:
// they arrive in the order asked, are the sliver's own bytes where the
// position is a systematic one, and verify against the metadata; bad
// requests and handlers are refused with a typed error.
func TestGetSymbols(t *testing.T) {
	n := newTestNet(t, nil, nil)
	codec, eb := storeTestBlob(t, n, 10, 10000, 21)
	ctx, p, c := t.Context(), n.node.ID(), n.client
	sl := eb.Primary[3]
	s := int(sl.SymbolSize)
	positions := []uint16{5, 1, 9, 2} // 9 is past cols: a parity symbol
	syms, err := c.GetSymbols(ctx, p, eb.BlobID, encoding.Primary, 3, positions, s)
	if err != nil {
		t.Fatal(err)
	}
	for k, sym := range syms {
		if err := codec.VerifyRecoverySymbol(eb.Metadata, &sym); err != nil {
			t.Fatalf("symbol at %d: %v", positions[k], err)
		}
		if pos := int(positions[k]); pos < sl.NumSymbols() && !bytes.Equal(sym.Data, sl.Symbol(pos)) {
			t.Fatalf("symbol at %d is not the sliver's", pos)
		}
	}

	tests := []struct {
		name      string
		axis      encoding.Axis
		index     uint16
		positions []uint16
		size      int
		want      error
		sent      bool // the request reached the node
	}{
		{"not stored", encoding.Primary, 200, []uint16{1}, s, ErrNotFound, true},
		{"no positions", encoding.Primary, 3, nil, s, ErrInvalid, false},
		{"a position twice", encoding.Primary, 3, []uint16{1, 1}, s, ErrInvalid, false},
		{"too many positions", encoding.Primary, 3, make([]uint16, MaxSymbolsPerRequest+1), s, ErrTooLarge, false},
		{"symbol size 0", encoding.Primary, 3, []uint16{1}, 0, ErrInvalid, false},
		{"axis 2", 2, 3, []uint16{1}, s, ErrInvalid, false},
		{"position past n", encoding.Primary, 3, []uint16{10}, s, ErrInvalid, true},
		{"another symbol size", encoding.Primary, 3, []uint16{1}, s + 2, ErrProtocol, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.handler.calls.Load()
			_, err := c.GetSymbols(ctx, p, eb.BlobID, tt.axis, tt.index, tt.positions, tt.size)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if sent := n.handler.calls.Load() > before; sent != tt.sent {
				t.Fatalf("request reached the handler: %v, want %v", sent, tt.sent)
			}
		})
	}

	// A handler that answers with symbols of another sliver is refused by
	// the Server, not passed on.
	t.Run("handler answers another sliver", func(t *testing.T) {
		node := newTestHost(t)
		other, _ := codec.RecoverySymbols(eb.Metadata, &eb.Primary[4], []int{1})
		srv := NewServer(node, symbolsOnly{newMemHandler(), other}, WithServerLogger(quiet))
		defer srv.Close()
		introduce(t, n.chost, node, "/tcp/")
		if _, err := c.GetSymbols(ctx, node.ID(), eb.BlobID, encoding.Primary, 3, []uint16{1}, s); !errors.Is(err, ErrInternal) {
			t.Fatalf("err = %v, want ErrInternal", err)
		}
	})
	t.Run("handler without symbols", func(t *testing.T) {
		node := newTestHost(t)
		srv := NewServer(node, struct{ Handler }{newMemHandler()}, WithServerLogger(quiet))
		defer srv.Close()
		introduce(t, n.chost, node, "/tcp/")
		if _, err := c.GetSymbols(ctx, node.ID(), eb.BlobID, encoding.Primary, 3, []uint16{1}, s); !errors.Is(err, ErrNotSupported) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrNotSupported and ErrUnavailable", err)
		}
	})
}

// symbolsOnly is a handler whose GetSymbols returns fixed symbols.
type symbolsOnly struct {
	*memHandler
	syms []encoding.RecoverySymbol
}

func (h symbolsOnly) GetSymbols(context.Context, encoding.BlobID, encoding.Axis, uint16, []uint16) ([]encoding.RecoverySymbol, error) {
	return h.syms, nil
}

// TestGetSymbolsLies checks that the client refuses answers that do not
// match its request, from a peer that writes them straight to the stream.
func TestGetSymbolsLies(t *testing.T) {
	codec, eb := testBlob(t, 10, 3000, 22)
	syms, err := codec.RecoverySymbols(eb.Metadata, &eb.Primary[3], []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	s := int(eb.Primary[3].SymbolSize)
	answer := func(syms ...encoding.RecoverySymbol) func(network.Stream) {
		return func(st network.Stream) {
			resp := recoveryResponse{}
			for _, sym := range syms {
				resp.Symbols = append(resp.Symbols, bcsRecoverySymbol(sym))
			}
			writeFrame(st, encodeOK(&resp))
		}
	}
	big := syms[0]
	big.Data = make([]byte, 8<<10)
	tests := []struct {
		name  string
		serve func(network.Stream)
		want  error
	}{
		{"in another order", answer(syms[1], syms[0]), ErrProtocol},
		{"one missing", answer(syms[0]), ErrProtocol},
		{"one more", answer(syms[0], syms[1], syms[1]), ErrProtocol},
		{"larger than asked", answer(big, big), ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNet(t, nil, nil)
			lyingPeer(t, n, ProtocolSymbolsGet, tt.serve)
			_, err := n.client.GetSymbols(t.Context(), n.node.ID(), eb.BlobID, encoding.Primary, 3, []uint16{1, 2}, s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
