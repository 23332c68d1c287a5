package p2p

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

func TestReadFrameLen(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want int
		err  error
	}{
		{"zero", "00", 10, 0, nil},
		{"one byte", "7f", 200, 127, nil},
		{"two bytes", "8001", 200, 128, nil},
		{"at the cap", "ac02", 300, 300, nil},
		{"over the cap", "ad02", 300, 0, ErrFrameTooLarge},
		{"64 MiB", "80808020", MaxSliverFrameSize, MaxSliverFrameSize, nil},
		{"64 MiB + 1", "81808020", MaxSliverFrameSize, 0, ErrFrameTooLarge},
		{"huge", "ffffffff0f", MaxSliverFrameSize, 0, ErrFrameTooLarge},
		{"longer than 5 bytes", "ffffffffff01", 1 << 30, 0, ErrFrameTooLarge},
		{"non-minimal", "8000", 10, 0, ErrMalformed},
		{"non-minimal 3 bytes", "818000", 10, 0, ErrMalformed},
		{"empty stream", "", 10, 0, io.EOF},
		{"ends inside the prefix", "80", 10, 0, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFrameLen(bytes.NewReader(unhex(t, tt.in)), tt.max)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// countingScope is a memoryScope that records reservations and can refuse.
type countingScope struct {
	reserved, peak, limit int
}

func (s *countingScope) ReserveMemory(n int, _ uint8) error {
	if s.limit > 0 && s.reserved+n > s.limit {
		return errors.New("limit")
	}
	s.reserved += n
	s.peak = max(s.peak, s.reserved)
	return nil
}

func (s *countingScope) ReleaseMemory(n int) { s.reserved -= n }

func TestFrameReader(t *testing.T) {
	stream := func(payloads ...[]byte) []byte {
		var b bytes.Buffer
		for _, p := range payloads {
			if err := writeFrame(&b, p); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	big := bytes.Repeat([]byte{7}, 100000)

	t.Run("frames in order", func(t *testing.T) {
		sc := &countingScope{}
		f := newFrameReader(bytes.NewReader(stream([]byte("a"), big, nil, []byte("zz"))), sc)
		for i, want := range [][]byte{[]byte("a"), big, {}, []byte("zz")} {
			got, err := f.next(len(big), false)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("frame %d: got %d bytes, %v", i, len(got), err)
			}
		}
		if _, err := f.next(10, false); !errors.Is(err, ErrTruncated) {
			t.Fatalf("after the last frame: err = %v, want ErrTruncated", err)
		}
		if sc.reserved != 0 || sc.peak != len(big) {
			t.Errorf("reserved %d at the end (want 0), peak %d (want %d)", sc.reserved, sc.peak, len(big))
		}
	})
	t.Run("reuse keeps one buffer and its reservation", func(t *testing.T) {
		sc := &countingScope{}
		f := newFrameReader(bytes.NewReader(stream(big, []byte("abc"))), sc)
		first, err := f.next(len(big), true)
		if err != nil || !bytes.Equal(first, big) {
			t.Fatal(err)
		}
		second, err := f.next(len(big), true)
		if err != nil || string(second) != "abc" || &second[0] != &first[0] {
			t.Fatalf("second frame %q (%v) is not in the first one's buffer", second, err)
		}
		if sc.reserved != len(big) {
			t.Errorf("reserved %d while reusing, want %d", sc.reserved, len(big))
		}
		f.release()
		if sc.reserved != 0 {
			t.Errorf("reserved %d after release", sc.reserved)
		}
	})
	t.Run("over the cap allocates nothing", func(t *testing.T) {
		sc := &countingScope{}
		f := newFrameReader(bytes.NewReader(stream(big)), sc)
		if _, err := f.next(len(big)-1, false); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("err = %v, want ErrFrameTooLarge", err)
		}
		if sc.peak != 0 {
			t.Errorf("reserved %d bytes for a frame over the cap", sc.peak)
		}
	})
	t.Run("truncated payload", func(t *testing.T) {
		s := stream(big)
		f := newFrameReader(bytes.NewReader(s[:len(s)-1]), nil)
		if _, err := f.next(len(big), false); !errors.Is(err, ErrTruncated) {
			t.Fatalf("err = %v, want ErrTruncated", err)
		}
	})
	t.Run("memory refused is busy", func(t *testing.T) {
		sc := &countingScope{limit: 1000}
		f := newFrameReader(bytes.NewReader(stream(big)), sc)
		if _, err := f.next(len(big), false); !errors.Is(err, ErrBusy) {
			t.Fatalf("err = %v, want ErrBusy", err)
		}
	})
	t.Run("I/O errors pass through", func(t *testing.T) {
		boom := errors.New("boom")
		f := newFrameReader(io.MultiReader(bytes.NewReader([]byte{5, 1}), errReader{boom}), nil)
		if _, err := f.next(10, false); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestNextOwned checks that nextOwned gives each frame a buffer of its own,
// which later frames do not overwrite, and holds its reservation until the
// next call or release.
func TestNextOwned(t *testing.T) {
	var in bytes.Buffer
	writeFrame(&in, bytes.Repeat([]byte{1}, 100))
	writeFrame(&in, bytes.Repeat([]byte{2}, 50))
	sc := &countingScope{}
	fr := newFrameReader(&in, sc)
	a, err := fr.nextOwned(1000)
	if err != nil || len(a) != 100 || sc.reserved != 100 {
		t.Fatalf("first frame: %d bytes, %v, %d reserved", len(a), err, sc.reserved)
	}
	b, err := fr.nextOwned(1000)
	if err != nil || len(b) != 50 || sc.reserved != 50 {
		t.Fatalf("second frame: %d bytes, %v, %d reserved", len(b), err, sc.reserved)
	}
	if !bytes.Equal(a, bytes.Repeat([]byte{1}, 100)) {
		t.Fatal("the second frame overwrote the first's buffer")
	}
	fr.release()
	if sc.reserved != 0 {
		t.Fatalf("%d bytes reserved after release", sc.reserved)
	}
	if _, err := fr.nextOwned(1000); !errors.Is(err, ErrTruncated) {
		t.Fatalf("past the end: %v, want ErrTruncated", err)
	}
	sc.limit = 10
	in.Reset()
	writeFrame(&in, make([]byte, 11))
	if _, err := newFrameReader(&in, sc).nextOwned(1000); !errors.Is(err, ErrBusy) {
		t.Fatalf("over the scope's limit: %v, want ErrBusy", err)
	}
}

// TestNextOwnedAligned checks that nextOwnedAligned places a sliver/put
// frame's data at an aligned address, reads the frame whole, and reserves
// the buffer's slack too; frames under ownedAlign get a plain buffer.
func TestNextOwnedAligned(t *testing.T) {
	for _, dataLen := range []int{100, ownedAlign, 16382, 16384, 2<<20 + 6} {
		sl := encoding.Sliver{Axis: encoding.Primary, Index: 7, SymbolSize: 2, Data: make([]byte, dataLen)}
		for i := range sl.Data {
			sl.Data[i] = byte(i * 7)
		}
		payload := sl.AppendBCS([]byte{byte(sl.Axis)})
		var in bytes.Buffer
		writeFrame(&in, payload)
		sc := &countingScope{}
		fr := newFrameReader(&in, sc)
		b, err := fr.nextOwnedAligned(MaxSliverFrameSize, sliverPutDataAt)
		if err != nil || !bytes.Equal(b, payload) {
			t.Fatalf("data of %d bytes: frame read back %v (%d bytes of %d)", dataLen, err, len(b), len(payload))
		}
		got, err := decodeSliverPutFrame(b)
		if err != nil || !bytes.Equal(got.Data, sl.Data) {
			t.Fatalf("data of %d bytes: decoded %v", dataLen, err)
		}
		aligned := addr(got.Data)%ownedAlign == 0
		wantRes := len(b)
		if len(b) >= ownedAlign {
			wantRes = frameBufferSize(len(b) + ownedAlign)
			if !aligned {
				t.Errorf("data of %d bytes at %#x, not aligned", dataLen, addr(got.Data))
			}
		}
		if sc.reserved != wantRes {
			t.Errorf("data of %d bytes: %d reserved, want %d", dataLen, sc.reserved, wantRes)
		}
		// A pooled buffer is lent for the sliver's data, as decoded.
		_, isLent := lent.Load(addr(got.Data))
		if pooled := frameBufferSize(len(b)+ownedAlign) >= minPooledFrame; isLent != pooled {
			t.Errorf("data of %d bytes: lent %v, want %v", dataLen, isLent, pooled)
		}
		RecycleSliver(got.Data)
		if _, ok := lent.Load(addr(got.Data)); ok {
			t.Errorf("data of %d bytes: still lent after RecycleSliver", dataLen)
		}
		fr.release()
	}
}

// TestSliverPutDataAt checks the data offset around the lengths where the
// ULEB128 prefix grows.
func TestSliverPutDataAt(t *testing.T) {
	for _, tc := range []struct{ dataLen, at int }{
		{0, 2}, {1, 2}, {127, 2}, {128, 3}, {16383, 3}, {16384, 4}, {1<<21 - 1, 4}, {1 << 21, 5},
	} {
		n := 1 + len(bcs.AppendLength(nil, tc.dataLen)) + tc.dataLen + 4
		if got := sliverPutDataAt(n); got != tc.at {
			t.Errorf("data of %d bytes (frame %d): at %d, want %d", tc.dataLen, n, got, tc.at)
		}
	}
	for n := range 6 {
		if got := sliverPutDataAt(n); got != -1 {
			t.Errorf("frame of %d bytes: at %d, want -1", n, got)
		}
	}
}
