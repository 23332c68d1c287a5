package encoding

import (
	"bytes"
	"errors"
	"testing"

	"github.com/walrus-go/walrus/encoding/bcs"
)

// TestDecodeErrorsMatchBCS checks that a decoding error of this package
// matches ErrMalformed, bcs.ErrMalformed and the BCS class of the failure.
func TestDecodeErrorsMatchBCS(t *testing.T) {
	s := Sliver{Index: 1, SymbolSize: 2, Data: []byte{1, 2}}
	good := s.MarshalBCS()
	tests := []struct {
		name  string
		err   error
		class error
	}{
		{"sliver truncated", second(UnmarshalSliver(Primary, good[:3])), bcs.ErrTruncated},
		{"sliver trailing", second(UnmarshalSliver(Primary, append(bytes.Clone(good), 0))), bcs.ErrTrailing},
		{"sliver length non-canonical", second(UnmarshalSliver(Primary, append([]byte{0x82, 0x00}, good[1:]...))), bcs.ErrNonCanonical},
		{"metadata version", second(UnmarshalMetadata([]byte{1})), bcs.ErrInvalid},
		{"metadata pair count", second(UnmarshalMetadata(append([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 0xff, 0xff, 0x03))), bcs.ErrTooLarge},
		{"metadata pairs missing", second(UnmarshalMetadata([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 4})), bcs.ErrTruncated},
		{"symbol proof too long", second(UnmarshalRecoverySymbol([]byte{0, 0, 0, 0, 0, 2, 1, 2, 17})), bcs.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, ErrMalformed) || !errors.Is(tt.err, bcs.ErrMalformed) || !errors.Is(tt.err, tt.class) {
				t.Errorf("err = %v; want ErrMalformed, bcs.ErrMalformed and %v", tt.err, tt.class)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

// TestReadInPlace decodes metadata and symbols from one Reader, as p2p does
// inside its messages, and checks that each read consumes exactly its value.
func TestReadInPlace(t *testing.T) {
	c, enc, _ := encodeRandom(t, 4, 100, 1)
	syms, err := c.RecoverySymbols(enc.Metadata, &enc.Secondary[1], []int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0xaa}
	b = append(b, enc.Metadata.MarshalBCS()...)
	b = syms[0].AppendBCS(b)
	b = syms[1].AppendBCS(b)
	b = append(b, 0xbb)

	r := bcs.NewReader(b)
	r.U8("before")
	md, err := ReadMetadata(r)
	if err != nil || !bytes.Equal(md.MarshalBCS(), enc.Metadata.MarshalBCS()) {
		t.Fatalf("ReadMetadata: %v", err)
	}
	for i := range syms {
		got, err := ReadRecoverySymbol(r)
		if err != nil || !bytes.Equal(got.MarshalBCS(), syms[i].MarshalBCS()) {
			t.Fatalf("ReadRecoverySymbol %d: %v", i, err)
		}
	}
	if v := r.U8("after"); v != 0xbb || r.Done() != nil {
		t.Fatalf("after the values: %x, %v", v, r.Done())
	}
}

// FuzzReadInPlace: metadata or a recovery symbol read in place from a larger
// input consumes exactly the bytes that decode alone, and re-encode, to the
// same value.
func FuzzReadInPlace(f *testing.F) {
	c, enc, _ := encodeRandom(f, 4, 100, 2)
	syms, err := c.RecoverySymbols(enc.Metadata, &enc.Primary[2], []int{1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(false, append(enc.Metadata.MarshalBCS(), 1, 2, 3))
	f.Add(true, append(syms[0].MarshalBCS(), syms[0].MarshalBCS()...))
	f.Fuzz(func(t *testing.T, symbol bool, b []byte) {
		r := bcs.NewReader(b)
		var enc []byte
		var err error
		if symbol {
			var s RecoverySymbol
			if s, err = ReadRecoverySymbol(r); err == nil {
				enc = s.MarshalBCS()
			}
		} else {
			var md *Metadata
			if md, err = ReadMetadata(r); err == nil {
				enc = md.MarshalBCS()
			}
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, bcs.ErrMalformed) || r.Err() == nil {
				t.Fatalf("error %v: not ErrMalformed, or not recorded in the reader (%v)", err, r.Err())
			}
			return
		}
		if n := r.Offset(); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("read %d bytes %x, re-encoded %x", n, b[:n], enc)
		}
	})
}

// BenchmarkUnmarshal measures the decoders of this package's BCS layouts:
// metadata for 1,000 shards, a recovery symbol with a full proof, a sliver.
func BenchmarkUnmarshal(b *testing.B) {
	md := &Metadata{EncodingType: RS2, UnencodedLength: 1 << 20, Hashes: make([]SliverPairHashes, 1000)}
	mdb := md.MarshalBCS()
	sym := RecoverySymbol{SourceAxis: Secondary, SourceIndex: 3, TargetIndex: 9, Data: make([]byte, 1024), Proof: make(MerkleProof, MaxProofLen)}
	symb := sym.MarshalBCS()
	sl := Sliver{Axis: Primary, Index: 1, SymbolSize: 2, Data: make([]byte, 1<<16)}
	slb := sl.MarshalBCS()
	b.Run("metadata/n=1000", func(b *testing.B) {
		b.SetBytes(int64(len(mdb)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnmarshalMetadata(mdb); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recovery-symbol", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnmarshalRecoverySymbol(symb); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sliver", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnmarshalSliver(Primary, slb); err != nil {
				b.Fatal(err)
			}
		}
	})
}
