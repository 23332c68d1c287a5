package sui

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/walrus-go/walrus/chain"
)

// ErrDecode is returned for BCS bytes (of an object or event read over RPC)
// that do not parse as the expected Move type. It matches
// chain.ErrUnavailable: the remote chain answered with something
// unexpected.
var ErrDecode = fmt.Errorf("sui: malformed BCS (%w)", chain.ErrUnavailable)

// Bounds on what a decoder accepts from the RPC before allocating. A Move
// object is at most 250 KB on Sui, so no vector in one can be longer.
const (
	// MaxObjectSize bounds the BCS of one object or event.
	MaxObjectSize = 256 << 10
	// MaxVectorLen bounds one BCS vector's length.
	MaxVectorLen = MaxObjectSize
)

// reader reads BCS. The first error sticks: later reads return zero
// values, and err reports it.
type reader struct {
	b   []byte
	err error
}

func newReader(b []byte) *reader {
	r := &reader{b: b}
	if len(b) > MaxObjectSize {
		r.fail("%d bytes, over %d", len(b), MaxObjectSize)
	}
	return r
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrDecode, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("need %d bytes, have %d", n, len(r.b))
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) bool() bool {
	switch v := r.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("bool byte %d", v)
		return false
	}
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// u256 reads a Move u256 (32 bytes little-endian) as the 32 bytes of a blob
// ID: Walrus stores blob IDs and root hashes as u256 of their bytes read
// little-endian, so the BCS bytes are the ID's bytes in order.
func (r *reader) u256() [32]byte {
	var out [32]byte
	copy(out[:], r.take(32))
	return out
}

func (r *reader) addr() [32]byte { return r.u256() }

// uleb reads a canonical ULEB128 length that fits in 32 bits.
func (r *reader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c := r.u8()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if c == 0 && shift > 0 {
				r.fail("non-canonical ULEB128")
				return 0
			}
			if v > math.MaxUint32 {
				r.fail("ULEB128 over 32 bits")
				return 0
			}
			return v
		}
	}
	r.fail("ULEB128 too long")
	return 0
}

// length reads a vector length and checks that at least min bytes per
// element remain, so that no allocation exceeds the input.
func (r *reader) length(minElem int) int {
	n := r.uleb()
	if r.err != nil {
		return 0
	}
	if n > MaxVectorLen || (minElem > 0 && n*uint64(minElem) > uint64(len(r.b))) {
		r.fail("vector of %d elements with %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) bytes() []byte {
	n := r.length(1)
	return append([]byte(nil), r.take(n)...)
}

func (r *reader) string() string {
	b := r.bytes()
	if !utf8.Valid(b) {
		r.fail("string is not UTF-8")
		return ""
	}
	return string(b)
}

// option reads an Option's tag: true when a value follows.
func (r *reader) option() bool {
	switch t := r.u8(); t {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("option tag %d", t)
		return false
	}
}

// variant reads an enum's variant index, which must be below n.
func (r *reader) variant(n int) int {
	v := r.uleb()
	if r.err == nil && v >= uint64(n) {
		r.fail("enum variant %d of %d", v, n)
		return 0
	}
	return int(v)
}

// done returns the sticky error, or one for trailing bytes.
func (r *reader) done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("%s: %w", what, r.err)
	}
	return nil
}

// vecMapU32U64 reads a VecMap<u32, u64> (PendingValues).
func (r *reader) vecMapU32U64() []EpochValue {
	n := r.length(12)
	out := make([]EpochValue, 0, n)
	for range n {
		out = append(out, EpochValue{Epoch: r.u32(), Value: r.u64()})
	}
	return out
}

// writer writes BCS.
type writer struct{ b []byte }

func (w *writer) u8(v uint8) { w.b = append(w.b, v) }
func (w *writer) bool(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}
func (w *writer) u16(v uint16)     { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32)     { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64)     { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) u256(v [32]byte)  { w.b = append(w.b, v[:]...) }
func (w *writer) addr(v [32]byte)  { w.u256(v) }
func (w *writer) uleb(v uint64)    { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) bytes(v []byte)   { w.uleb(uint64(len(v))); w.b = append(w.b, v...) }
func (w *writer) string(v string)  { w.bytes([]byte(v)) }
func (w *writer) option(some bool) { w.bool(some) }
func (w *writer) variant(i int)    { w.uleb(uint64(i)) }

func (w *writer) vecMapU32U64(m []EpochValue) {
	w.uleb(uint64(len(m)))
	for _, e := range m {
		w.u32(e.Epoch)
		w.u64(e.Value)
	}
}
