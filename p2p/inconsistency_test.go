package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walrus-go/walrus/encoding"
)

// proofHandler is a memHandler that verifies inconsistency proofs with a
// real codec and "signs" what it attests.
type proofHandler struct {
	*memHandler
	codec    *encoding.Codec
	epoch    uint32
	accepted atomic.Int64 // headers accepted
	attested atomic.Int64 // proofs that verified
}

func (h *proofHandler) AcceptInconsistency(_ context.Context, req InconsistencyRequest) error {
	h.mu.Lock()
	md := h.metadata[req.BlobID]
	h.mu.Unlock()
	if md == nil {
		return fmt.Errorf("%w: blob %s", ErrNotFound, req.BlobID)
	}
	s, _ := h.codec.Params().SymbolSize(md.UnencodedLength)
	if req.Epoch != h.epoch || int(req.Count) != h.codec.Params().ProofSymbols(encoding.Axis(req.Axis)) || int(req.SymbolSize) != s {
		return fmt.Errorf("%w: header %+v does not fit the blob", ErrInvalid, req)
	}
	h.accepted.Add(1)
	return nil
}

func (h *proofHandler) AttestInconsistency(_ context.Context, req InconsistencyRequest, pr *encoding.InconsistencyProof) (Attestation, error) {
	h.mu.Lock()
	md := h.metadata[req.BlobID]
	h.mu.Unlock()
	if err := h.codec.VerifyInconsistencyProof(md, pr); err != nil {
		return Attestation{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h.attested.Add(1)
	return Attestation{Message: append([]byte("invalid "), req.BlobID[:]...), Signature: bytes.Repeat([]byte{7}, 96)}, nil
}

// forgedProof encodes a blob, alters primary sliver n−1 and commits to it
// (the attack), and returns the forged metadata, its blob ID and a proof
// for secondary sliver n−1; and a consistent "proof" of an honest blob.
func forgedProof(t testing.TB, n int) (c *encoding.Codec, md *encoding.Metadata, id encoding.BlobID, pr *encoding.InconsistencyProof,
	honestMD *encoding.Metadata, honest *encoding.InconsistencyProof) {
	t.Helper()
	c, eb := testBlob(t, n, 2000, 11)
	p := c.Params()
	bad := eb.Primary[p.N-1]
	bad.Data = bytes.Clone(bad.Data)
	bad.Data[0] ^= 1
	root, err := c.SliverRoot(&bad)
	if err != nil {
		t.Fatal(err)
	}
	forged := *eb.Metadata
	forged.Hashes = append([]encoding.SliverPairHashes(nil), forged.Hashes...)
	forged.Hashes[p.N-1].Primary = root
	var syms, hsyms []encoding.RecoverySymbol
	for i := range p.N {
		held := eb.Primary[i]
		if i == p.N-1 {
			held = bad
		}
		s, err := c.RecoverySymbols(&forged, &held, []int{p.N - 1})
		if err != nil {
			t.Fatal(err)
		}
		syms = append(syms, s...)
		h, err := c.RecoverySymbols(eb.Metadata, &eb.Primary[i], []int{p.N - 1})
		if err != nil {
			t.Fatal(err)
		}
		hsyms = append(hsyms, h...)
	}
	pr, err = c.NewInconsistencyProof(&forged, encoding.Secondary, p.N-1, syms)
	if err != nil {
		t.Fatal(err)
	}
	honest = &encoding.InconsistencyProof{Axis: encoding.Secondary, Index: uint16(p.N - 1), Symbols: hsyms[:p.Rows]}
	return c, &forged, forged.BlobID(), pr, eb.Metadata, honest
}

func TestInconsistencyPut(t *testing.T) {
	c, md, id, pr, honestMD, honest := forgedProof(t, 10)
	n := &testNet{node: newTestHost(t), chost: newTestHost(t), handler: newMemHandler()}
	h := &proofHandler{memHandler: n.handler, codec: c, epoch: 5}
	h.metadata[id] = md
	h.metadata[honestMD.BlobID()] = honestMD
	n.server = NewServer(n.node, h, WithServerLogger(quiet))
	t.Cleanup(func() { n.server.Close() })
	introduce(t, n.chost, n.node, "/tcp/")
	n.client = NewClient(n.chost, WithClientLogger(quiet))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	a, err := n.client.PutInconsistencyProof(ctx, n.node.ID(), id, 5, pr)
	if err != nil {
		t.Fatalf("a valid proof: %v", err)
	}
	if want := append([]byte("invalid "), id[:]...); !bytes.Equal(a.Message, want) || len(a.Signature) != 96 {
		t.Fatalf("attestation %q / %d bytes, want %q and 96", a.Message, len(a.Signature), want)
	}

	cases := []struct {
		name     string
		id       encoding.BlobID
		epoch    uint32
		pr       *encoding.InconsistencyProof
		want     error
		accepted bool // the header passes, the symbols are read
	}{
		{"consistent blob", honestMD.BlobID(), 5, honest, ErrInvalid, true},
		{"unknown blob", encoding.BlobID{1}, 5, pr, ErrNotFound, false},
		{"other epoch", id, 6, pr, ErrInvalid, false},
		{"too few symbols", id, 5, &encoding.InconsistencyProof{Axis: pr.Axis, Index: pr.Index, Symbols: pr.Symbols[1:]}, ErrInvalid, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.accepted.Load()
			_, err := n.client.PutInconsistencyProof(ctx, n.node.ID(), tc.id, tc.epoch, tc.pr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got := h.accepted.Load() - before; got != map[bool]int64{false: 0, true: 1}[tc.accepted] {
				t.Fatalf("%d headers accepted, want accepted = %v", got, tc.accepted)
			}
		})
	}
	if got := h.attested.Load(); got != 1 {
		t.Fatalf("%d proofs attested, want 1", got)
	}

	// Raw requests: a symbols frame other than the header announced.
	req := InconsistencyRequest{BlobID: id, Epoch: 5, Axis: uint8(pr.Axis), Index: pr.Index, Count: uint32(len(pr.Symbols)),
		SymbolSize: uint32(len(pr.Symbols[0].Data))}
	short := inconsistencySymbols{Symbols: make(bcsVec[bcsRecoverySymbol], len(pr.Symbols)-1)}
	for i := range short.Symbols {
		short.Symbols[i] = bcsRecoverySymbol(pr.Symbols[i])
	}
	long := bytes.Repeat([]byte{0}, InconsistencyFrameLen(int(req.Count), int(req.SymbolSize))+1)
	raws := []struct {
		name    string
		payload []byte
		want    ErrorCode
	}{
		{"fewer symbols than announced", append(frameOf(encodeBCS(&req)), frameOf(encodeBCS(&short))...), CodeInvalid},
		{"symbols frame over the announced size", append(frameOf(encodeBCS(&req)), frameOf(long)...), CodeTooLarge},
		{"count over the frame cap", frameOf(encodeBCS(&InconsistencyRequest{BlobID: id, Axis: 1, Count: 4000,
			SymbolSize: encoding.MaxSymbolSize})), CodeTooLarge},
		{"bad axis", frameOf(encodeBCS(&InconsistencyRequest{BlobID: id, Axis: 2, Count: 1, SymbolSize: 2})), CodeInvalid},
	}
	for _, tc := range raws {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := rawExchange(ctx, n.chost, n.node.ID(), ProtocolInconsistencyPut, tc.payload, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := remoteCode(t, oneResponse(t, raw)); got != tc.want {
				t.Fatalf("code %v, want %v", got, tc.want)
			}
		})
	}
}

// TestInconsistencyNotServed: a Server whose handler verifies no proofs does
// not speak the protocol.
func TestInconsistencyNotServed(t *testing.T) {
	_, _, id, pr, _, _ := forgedProof(t, 10)
	n := newTestNet(t, nil, nil)
	if _, err := n.client.PutInconsistencyProof(t.Context(), n.node.ID(), id, 5, pr); err == nil {
		t.Fatal("a server without an InconsistencyHandler answered")
	}
}

func TestProofSlots(t *testing.T) {
	var s proofSlots
	a, b := newTestHost(t).ID(), newTestHost(t).ID()
	if !s.take(a) || s.take(a) {
		t.Fatalf("per-peer cap %d not kept", MaxInconsistencyProofsPerPeer)
	}
	if !s.take(b) {
		t.Fatal("a second peer refused")
	}
	s.give(a)
	if !s.take(a) {
		t.Fatal("a slot given back is not taken again")
	}
	var many proofSlots
	taken := 0
	for range MaxInconsistencyProofsInFlight + 2 {
		if many.take(newTestHost(t).ID()) {
			taken++
		}
	}
	if taken != MaxInconsistencyProofsInFlight {
		t.Fatalf("%d proofs in flight, cap %d", taken, MaxInconsistencyProofsInFlight)
	}
}

func FuzzInconsistencyRequest(f *testing.F) {
	fuzzStruct(f, &InconsistencyRequest{BlobID: blobID1, Epoch: 2, Axis: 1, Index: 9, Count: 4, SymbolSize: 4})
}

func FuzzInconsistencySymbols(f *testing.F) {
	req := InconsistencyRequest{BlobID: blobID1, Axis: uint8(encoding.Primary), Index: 1, Count: 2, SymbolSize: 4}
	f.Add(encodeBCS(&inconsistencySymbols{Symbols: bcsVec[bcsRecoverySymbol]{seedSymbol(), seedSymbol()}}))
	f.Fuzz(func(t *testing.T, in []byte) {
		pr, err := decodeInconsistencySymbols(&req, in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		w := inconsistencySymbols{Symbols: make(bcsVec[bcsRecoverySymbol], len(pr.Symbols))}
		for i := range pr.Symbols {
			w.Symbols[i] = bcsRecoverySymbol(pr.Symbols[i])
		}
		if out := encodeBCS(&w); !bytes.Equal(out, in) {
			t.Fatalf("round trip: in %x, out %x", in, out)
		}
		if len(pr.Symbols) != int(req.Count) {
			t.Fatalf("%d symbols decoded, header says %d", len(pr.Symbols), req.Count)
		}
	})
}

func FuzzAttestationResponse(f *testing.F) {
	fuzzResult(f, &confirmationWire{Message: []byte("invalid"), Signature: bytes.Repeat([]byte{7}, 96)})
}

// TestInconsistencyRequestLayout pins the header's wire form (doc.go).
func TestInconsistencyRequestLayout(t *testing.T) {
	req := InconsistencyRequest{BlobID: encoding.BlobID{0xaa, 31: 0xbb}, Epoch: 0x01020304, Axis: 1, Index: 0x0506,
		Count: 0x0708090a, SymbolSize: 0x0b0c0d0e}
	want := append(append([]byte{0xaa}, make([]byte, 30)...), 0xbb,
		0x04, 0x03, 0x02, 0x01, // epoch
		0x01,       // axis
		0x06, 0x05, // index
		0x0a, 0x09, 0x08, 0x07, // count
		0x0e, 0x0d, 0x0c, 0x0b) // symbol size
	if got := encodeBCS(&req); !bytes.Equal(got, want) {
		t.Fatalf("layout %x, want %x", got, want)
	}
	sym := bcsRecoverySymbol(seedSymbol())
	body := encodeBCS(&inconsistencySymbols{Symbols: bcsVec[bcsRecoverySymbol]{sym}})
	if wantBody := append([]byte{1}, (*encoding.RecoverySymbol)(&sym).MarshalBCS()...); !bytes.Equal(body, wantBody) {
		t.Fatalf("symbols frame %x, want ULEB128 count then encoding's RecoverySymbol BCS %x", body, wantBody)
	}
}
