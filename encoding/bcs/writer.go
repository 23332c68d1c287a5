package bcs

import (
	"encoding/binary"
	"fmt"
)

// AppendU8 appends a u8.
func AppendU8(b []byte, v uint8) []byte { return append(b, v) }

// AppendU16 appends a u16.
func AppendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

// AppendU32 appends a u32.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendU64 appends a u64.
func AppendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// AppendBool appends a bool, or an option's tag (true: the value follows).
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendULEB128 appends v in ULEB128 form: an enum's variant index, or a
// length (see AppendLength).
func AppendULEB128(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// ULEB128Len is the length of v's ULEB128 form: 1 to MaxULEB128Len bytes.
func ULEB128Len(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// AppendLength appends the length of a sequence of n elements. It panics if
// n is negative or over MaxSequenceLength: no value of this project has such
// a sequence, and writing one would be a bug.
func AppendLength(b []byte, n int) []byte {
	return AppendULEB128(b, checkLength(n))
}

// LengthLen is the length of AppendLength's form of n.
func LengthLen(n int) int { return ULEB128Len(checkLength(n)) }

func checkLength(n int) uint32 {
	if n < 0 || n > MaxSequenceLength {
		panic(fmt.Sprintf("bcs: sequence length %d out of range", n))
	}
	return uint32(n)
}

// AppendBytes appends a byte string (vector<u8>): its length, then v.
func AppendBytes(b, v []byte) []byte { return append(AppendLength(b, len(v)), v...) }

// AppendString appends a string: its length, then its bytes. s should be
// UTF-8; a Reader rejects a string that is not.
func AppendString(b []byte, s string) []byte { return append(AppendLength(b, len(s)), s...) }
