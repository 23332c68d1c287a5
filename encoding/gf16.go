package encoding

import "sync"

// GF(2^16) arithmetic in the representation of Leopard-RS, which both
// klauspost/reedsolomon (WithLeopardGF16) and Walrus's reed-solomon-simd use:
// elements are written in a Cantor basis, and the evaluation point of shard
// position i is the element whose representation is i. The low-rate column
// decoder and the pure-Go Leopard encoder (leopard.go) use it.
//
// A 64-byte chunk of a shard holds 32 elements: the low bytes in bytes 0..31
// and the high bytes in bytes 32..63.

const (
	gfBits    = 16
	gfOrder   = 1 << gfBits
	gfModulus = gfOrder - 1
	gfPoly    = 0x1002D
)

var (
	gfOnce sync.Once
	gfLog  *[gfOrder]uint16
	gfExp  *[gfOrder]uint16
)

// gfInit builds the log and exp tables exactly as Leopard-RS does: an LFSR
// over the polynomial, then a change to the Cantor basis.
func gfInit() {
	gfOnce.Do(func() {
		cantor := [gfBits]uint16{
			0x0001, 0xACCA, 0x3C0E, 0x163E,
			0xC582, 0xED2E, 0x914C, 0x4012,
			0x6C98, 0x10D8, 0x6A72, 0xB900,
			0xFDB8, 0xFB34, 0xFF38, 0x991E,
		}
		exp, log := new([gfOrder]uint16), new([gfOrder]uint16)
		state := 1
		for i := range uint16(gfModulus) {
			exp[state] = i
			state <<= 1
			if state >= gfOrder {
				state ^= gfPoly
			}
		}
		exp[0] = gfModulus
		for i := range gfBits {
			width := 1 << i
			for j := range width {
				log[j+width] = log[j] ^ cantor[i]
			}
		}
		for i := range gfOrder {
			log[i] = exp[log[i]]
		}
		for i := range gfOrder {
			exp[log[i]] = uint16(i)
		}
		exp[gfModulus] = exp[0]
		gfLog, gfExp = log, exp
	})
}

// gfMul multiplies two field elements.
func gfMul(a, b uint16) uint16 {
	if a == 0 || b == 0 {
		return 0
	}
	s := uint32(gfLog[a]) + uint32(gfLog[b])
	s = (s & gfModulus) + s>>gfBits
	return gfExp[s]
}

// gfInv returns the multiplicative inverse of a non-zero element.
func gfInv(a uint16) uint16 {
	return gfExp[(gfModulus-uint32(gfLog[a]))%gfModulus]
}

// gfMulTable multiplies by a constant: c·x = lo[x&0xff] ^ hi[x>>8].
type gfMulTable struct {
	lo, hi [256]uint16
}

// newMulTable builds the table for c. Multiplication by c is GF(2)-linear in
// the bits of x, so each table is the XOR span of c times the bit elements.
func newMulTable(c uint16, t *gfMulTable) {
	var lo, hi [8]uint16
	for b := range 8 {
		lo[b] = gfMul(c, 1<<b)
		hi[b] = gfMul(c, 1<<(b+8))
	}
	t.lo[0], t.hi[0] = 0, 0
	for x := 1; x < 256; x++ {
		low := x & -x
		b := bitIndex8(low)
		t.lo[x] = t.lo[x^low] ^ lo[b]
		t.hi[x] = t.hi[x^low] ^ hi[b]
	}
}

func bitIndex8(x int) int {
	i := 0
	for x > 1 {
		x >>= 1
		i++
	}
	return i
}

// mulAdd computes dst ^= c·src over chunk-laid-out shards (len a multiple of
// 64).
func (t *gfMulTable) mulAdd(dst, src []byte) {
	for len(src) >= 64 && len(dst) >= 64 {
		sl, sh := src[:32], src[32:64]
		dl, dh := dst[:32:32], dst[32:64:64]
		for i := range 32 {
			p := t.lo[sl[i]] ^ t.hi[sh[i]]
			dl[i] ^= byte(p)
			dh[i] ^= byte(p >> 8)
		}
		src, dst = src[64:], dst[64:]
	}
}
