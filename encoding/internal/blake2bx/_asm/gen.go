// Command gen writes blake2bx_amd64.s: multi-buffer Blake2b-256 kernels that
// hash 8 (AVX-512) or 4 (AVX2) messages at once, one message per 64-bit lane.
//
//	cd encoding/internal/blake2bx/_asm && go run . -out ../blake2bx_amd64.s
//
// (go generate in encoding/internal/blake2bx runs it.) It is a separate
// module so that avo stays a development-time dependency.
//
// Both kernels take a pointer to the args struct of blake2bx.go: lanes
// messages prefix ‖ data[l], each of the same length. A message of m = n+1
// bytes is B = ceil(m/128) blocks. The data is read in 128-byte chunks that
// start at the data, not at the message: chunk c holds data bytes
// [128c, 128c+128), and message block c is the previous chunk's last byte
// (the prefix for c = 0) followed by chunk c's first 127 bytes. So with chunk
// words D_k (little endian), message word k of block c is
//
//	M_k = D_k << 8 | D_(k-1) >> 56,  D_(-1) = the previous chunk's D_15
//
// Chunks 0 … B−2 are whole and in bounds (128(B−1) ≤ n). The last chunk
// holds r = n − 128(B−1) ∈ [0, 127] data bytes: the AVX-512 kernel loads it
// with byte masks (masked-out bytes are neither read nor faulted on), the
// AVX2 kernel reads it from zero-padded copies the Go side makes.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Offsets in blake2bx.args; blake2bx's TestArgsLayout checks them.
const (
	offData   = 0   // [8]*byte
	offFull   = 64  // uint64: whole chunks, B−1
	offLength = 72  // uint64: message length n+1, the last block's counter
	offPrefix = 80  // uint64: prefix << 56, the carry into chunk 0
	offMaskLo = 88  // uint64: last chunk's byte mask, bytes 0..63
	offMaskHi = 96  // uint64: bytes 64..127
	offOut    = 104 // [8][32]byte: the digests
	offTails  = 360 // [4][128]byte: AVX2's zero-padded last chunks
)

var iv = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

// paramBlock is h[0]'s tweak: digest length 32, no key, fanout 1, depth 1.
const paramBlock = 0x01010000 | 32

var sigma = [10][16]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// quad is the (a, b, c, d) state indices of G number g (0..7) of a round.
func quad(g int) [4]int {
	if g < 4 {
		return [4]int{g, 4 + g, 8 + g, 12 + g}
	}
	i := g - 4
	return [4]int{i, 4 + (i+1)%4, 8 + (i+2)%4, 12 + (i+3)%4}
}

func main() {
	ConstraintExpr("amd64,gc,!purego,!noasm")

	ivTab := GLOBL("iv", RODATA|NOPTR)
	for i, v := range iv {
		DATA(8*i, U64(v))
	}
	h0 := GLOBL("h0", RODATA|NOPTR)
	DATA(0, U64(iv[0]^paramBlock))

	// AVX2 constants: 32-byte vectors.
	ivVec := GLOBL("ivvec", RODATA|NOPTR)
	for i, v := range iv {
		if i == 0 {
			v ^= paramBlock // only hinit uses word 0 of this table
		}
		for l := range 4 {
			DATA(32*i+8*l, U64(v))
		}
	}
	ivVec0 := GLOBL("ivvec0", RODATA|NOPTR)
	for l := range 4 {
		DATA(8*l, U64(iv[0]))
	}
	rot24 := GLOBL("rot24", RODATA|NOPTR)
	for q := range 4 {
		for i := range 8 {
			DATA(8*q+i, U8((i+3)%8+8*(q%2)))
		}
	}
	rot16 := GLOBL("rot16", RODATA|NOPTR)
	for q := range 4 {
		for i := range 8 {
			DATA(8*q+i, U8((i+2)%8+8*(q%2)))
		}
	}

	avx512(ivTab, h0)
	avx2(ivVec, ivVec0, rot24, rot16)
	Generate()
}

// alignedLocal allocates size bytes of stack aligned to align and puts its
// address in r.
func alignedLocal(size, align int, r Register) {
	m := AllocLocal(size + align)
	LEAQ(m, r)
	ADDQ(Imm(uint64(align-1)), r)
	ANDQ(I8(int8(-align)), r)
}

// avx512 emits hash8AVX512: 8 lanes in zmm registers.
//
// Registers: Z0–Z15 the working state v, Z16–Z23 the chaining value h,
// Z24 the carry (previous chunk's last word), Z25/Z26 temporaries. The
// message words M_0..M_15 live in a 64-byte-aligned stack area.
func avx512(ivTab, h0 Mem) {
	TEXT("hash8AVX512", 0, "func(a *byte)")
	Doc("hash8AVX512 hashes the 8 messages of a into a.out. It needs AVX-512 F and BW.")
	a, end, off, msg, p := RAX, RBX, RSI, RDI, RCX
	Load(Param("a"), a)
	alignedLocal(16*64+2*8, 64, msg)
	tSlot := Mem{Base: msg, Disp: 16 * 64}
	fSlot := Mem{Base: msg, Disp: 16*64 + 8}
	M := func(k int) Mem { return Mem{Base: msg, Disp: 64 * k} }
	z := func(i int) VecPhysical { return zmm[i] }

	MOVQ(Mem{Base: a, Disp: offFull}, end)
	SHLQ(U8(7), end)
	XORQ(off, off)
	Comment("h = IV, h[0] ^= parameter block")
	VPBROADCASTQ(h0, z(16))
	for i := 1; i < 8; i++ {
		VPBROADCASTQ(ivTab.Offset(8*i), z(16+i))
	}
	VPBROADCASTQ(Mem{Base: a, Disp: offPrefix}, z(24))

	// load fills M from the chunk at offset off of every lane; masked loads
	// for the last chunk.
	load := func(masked bool) {
		for half := range 2 {
			for l := range 8 {
				MOVQ(Mem{Base: a, Disp: offData + 8*l}, p)
				src := Mem{Base: p, Index: off, Scale: 1, Disp: 64 * half}
				if masked {
					VMOVDQU8_Z(src, [2]Op{K1, K2}[half], z(l))
				} else {
					VMOVDQU64(src, z(l))
				}
			}
			transpose8(z)
			// Z8..Z15 now hold chunk words 8·half+0..7 of all lanes.
			shiftWords(zmm[8:16], z(24), z(25), z(26), func(k int, v VecPhysical) {
				VPORQ(z(26), z(25), z(25))
				VMOVDQA64(z(25), M(8*half+k))
			})
			VMOVDQA64(z(15), z(24))
		}
	}

	blockLoop("avx512", a, off, end, p, tSlot, fSlot, func() {
		KMOVQ(Mem{Base: a, Disp: offMaskLo}, K1)
		KMOVQ(Mem{Base: a, Disp: offMaskHi}, K2)
	}, load)
	for i := range 8 {
		VMOVDQA64(z(16+i), z(i))
	}
	for i := range 4 {
		VPBROADCASTQ(ivTab.Offset(8*i), z(8+i))
	}
	VPBROADCASTQ(tSlot, z(12))
	VPBROADCASTQ(ivTab.Offset(8*4), z(25))
	VPXORQ(z(25), z(12), z(12))
	VPBROADCASTQ(ivTab.Offset(8*5), z(13))
	VPBROADCASTQ(fSlot, z(14))
	VPBROADCASTQ(ivTab.Offset(8*6), z(25))
	VPXORQ(z(25), z(14), z(14))
	VPBROADCASTQ(ivTab.Offset(8*7), z(15))

	for r := range 12 {
		s := sigma[r%10]
		Commentf("round %d", r)
		for half := range 2 {
			var q [4][4]int
			var mx, my [4]Mem
			for j := range 4 {
				g := 4*half + j
				q[j] = quad(g)
				mx[j], my[j] = M(s[2*g]), M(s[2*g+1])
			}
			A := func(j int) VecPhysical { return z(q[j][0]) }
			B := func(j int) VecPhysical { return z(q[j][1]) }
			C := func(j int) VecPhysical { return z(q[j][2]) }
			D := func(j int) VecPhysical { return z(q[j][3]) }
			each := func(f func(j int)) {
				for j := range 4 {
					f(j)
				}
			}
			// G's two halves: rotations 32, 24 with M[x], then 16, 63 with M[y].
			for _, st := range []struct {
				m      [4]Mem
				rd, rb uint8
			}{{mx, 32, 24}, {my, 16, 63}} {
				each(func(j int) { VPADDQ(st.m[j], A(j), A(j)) })
				each(func(j int) { VPADDQ(B(j), A(j), A(j)) })
				each(func(j int) { VPXORQ(A(j), D(j), D(j)) })
				each(func(j int) { VPRORQ(U8(st.rd), D(j), D(j)) })
				each(func(j int) { VPADDQ(D(j), C(j), C(j)) })
				each(func(j int) { VPXORQ(C(j), B(j), B(j)) })
				each(func(j int) { VPRORQ(U8(st.rb), B(j), B(j)) })
			}
		}
	}
	Comment("h ^= v[0..7] ^ v[8..15]")
	for i := range 8 {
		VPTERNLOGQ(U8(0x96), z(8+i), z(i), z(16+i))
	}
	CMPQ(fSlot, U8(0))
	JE(LabelRef("avx512_loop"))

	Comment("Write lane l's h[0..3] to out[l].")
	// Z0 = (h0,h1) of lanes 0,2,4,6 as 128-bit blocks; Z1 the same for
	// lanes 1,3,5,7; Z2/Z3 likewise for (h2,h3).
	VPUNPCKLQDQ(z(17), z(16), z(0))
	VPUNPCKHQDQ(z(17), z(16), z(1))
	VPUNPCKLQDQ(z(19), z(18), z(2))
	VPUNPCKHQDQ(z(19), z(18), z(3))
	for k := range 4 {
		for j, src := range []int{0, 2, 1, 3} {
			VEXTRACTI32X4(U8(k), z(src), Mem{Base: a, Disp: offOut + 64*k + 16*j})
		}
	}
	VZEROUPPER()
	RET()
}

var zmm = []VecPhysical{
	Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31,
}

// transpose8 transposes the 8×8 qword matrix in Z0..Z7 (row l = lane l) into
// Z8..Z15 (row k = word k of every lane), using Z0..Z7 as scratch.
func transpose8(z func(int) VecPhysical) {
	// t(2i) = unpacklo(r(2i), r(2i+1)), t(2i+1) = unpackhi: into Z8..Z15.
	for i := range 4 {
		VPUNPCKLQDQ(z(2*i+1), z(2*i), z(8+2*i))
		VPUNPCKHQDQ(z(2*i+1), z(2*i), z(8+2*i+1))
	}
	t := func(i int) VecPhysical { return z(8 + i) }
	// u into Z0..Z7: u0,u1 from t0,t2; u2,u3 from t1,t3; u4,u5 from t4,t6;
	// u6,u7 from t5,t7.
	shuf := func(imm uint8, x, y, dst VecPhysical) { VSHUFI64X2(U8(imm), y, x, dst) }
	for i, src := range [4][2]int{{0, 2}, {1, 3}, {4, 6}, {5, 7}} {
		shuf(0x88, t(src[0]), t(src[1]), z(2*i))
		shuf(0xDD, t(src[0]), t(src[1]), z(2*i+1))
	}
	// Words into Z8..Z15: w0,w4 from u0,u4; w2,w6 from u1,u5; w1,w5 from
	// u2,u6; w3,w7 from u3,u7.
	for i, k := range [4]int{0, 2, 1, 3} {
		shuf(0x88, z(i), z(i+4), z(8+k))
		shuf(0xDD, z(i), z(i+4), z(8+k+4))
	}
}

// avx2 emits hash4AVX2: 4 lanes in ymm registers.
//
// There are only 16 registers for 16 state words and temporaries, so the
// state rows a (Y0–Y3), b (Y4–Y7) and d (Y8–Y11) stay in registers and row
// c lives on the stack; Y12–Y15 are temporaries. h and the message words are
// on the stack too.
func avx2(ivVec, ivVec0, rot24, rot16 Mem) {
	TEXT("hash4AVX2", 0, "func(a *byte)")
	Doc("hash4AVX2 hashes the first 4 messages of a into a.out. It needs AVX2.")
	a, end, off, st, p := RAX, RBX, RSI, RDI, RCX
	Load(Param("a"), a)
	// Stack area: M (16×32) | h (8×32) | c (4×32) | carry (32) | t | f.
	alignedLocal(512+256+128+32+16, 32, st)
	M := func(k int) Mem { return Mem{Base: st, Disp: 32 * k} }
	H := func(i int) Mem { return Mem{Base: st, Disp: 512 + 32*i} }
	Cm := func(i int) Mem { return Mem{Base: st, Disp: 768 + 32*i} }
	carry := Mem{Base: st, Disp: 896}
	tSlot := Mem{Base: st, Disp: 928}
	fSlot := Mem{Base: st, Disp: 936}
	y := func(i int) VecPhysical { return ymm[i] }

	MOVQ(Mem{Base: a, Disp: offFull}, end)
	SHLQ(U8(7), end)
	XORQ(off, off)
	Comment("h = IV, h[0] ^= parameter block")
	for i := range 8 {
		VMOVDQU(ivVec.Offset(32*i), y(0))
		VMOVDQU(y(0), H(i))
	}
	VPBROADCASTQ(Mem{Base: a, Disp: offPrefix}, y(0))
	VMOVDQU(y(0), carry)

	// load fills M from the chunk at offset off of every lane (whole
	// chunks), or from the tails.
	load := func(tail bool) {
		VMOVDQU(carry, y(12))
		for q := range 4 {
			for l := range 4 {
				var src Mem
				if tail {
					src = Mem{Base: a, Disp: offTails + 128*l + 32*q}
				} else {
					MOVQ(Mem{Base: a, Disp: offData + 8*l}, p)
					src = Mem{Base: p, Index: off, Scale: 1, Disp: 32 * q}
				}
				VMOVDQU(src, y(l))
			}
			transpose4()
			shiftWords(ymm[8:12], y(12), y(13), y(14), func(k int, v VecPhysical) {
				VPOR(y(14), y(13), y(13))
				VMOVDQU(y(13), M(4*q+k))
			})
			VMOVDQA(y(11), y(12))
		}
		VMOVDQU(y(12), carry)
	}

	blockLoop("avx2", a, off, end, p, tSlot, fSlot, func() {}, load)
	for i := range 8 {
		VMOVDQU(H(i), y(i))
	}
	VMOVDQU(ivVec0, y(12))
	VMOVDQU(y(12), Cm(0))
	for i := 1; i < 4; i++ {
		VMOVDQU(ivVec.Offset(32*i), y(12))
		VMOVDQU(y(12), Cm(i))
	}
	VPBROADCASTQ(tSlot, y(8))
	VPXOR(ivVec.Offset(32*4), y(8), y(8))
	VMOVDQU(ivVec.Offset(32*5), y(9))
	VPBROADCASTQ(fSlot, y(10))
	VPXOR(ivVec.Offset(32*6), y(10), y(10))
	VMOVDQU(ivVec.Offset(32*7), y(11))

	for r := range 12 {
		s := sigma[r%10]
		Commentf("round %d", r)
		for half := range 2 {
			var A, B, D, T [4]VecPhysical
			var C, mx, my [4]Mem
			for j := range 4 {
				g := 4*half + j
				q := quad(g)
				A[j], B[j], C[j], D[j] = y(q[0]), y(q[1]), Cm(q[2]-8), y(q[3]-4)
				T[j] = y(12 + j)
				mx[j], my[j] = M(s[2*g]), M(s[2*g+1])
			}
			each := func(f func(j int)) {
				for j := range 4 {
					f(j)
				}
			}
			each(func(j int) { VPADDQ(mx[j], A[j], A[j]) })
			each(func(j int) { VPADDQ(B[j], A[j], A[j]) })
			each(func(j int) { VPXOR(A[j], D[j], D[j]) })
			each(func(j int) { VPSHUFD(U8(0xB1), D[j], D[j]) })
			each(func(j int) { VPADDQ(C[j], D[j], T[j]) })
			each(func(j int) { VMOVDQU(T[j], C[j]) })
			each(func(j int) { VPXOR(T[j], B[j], B[j]) })
			each(func(j int) { VPSHUFB(rot24, B[j], B[j]) })
			each(func(j int) { VPADDQ(my[j], A[j], A[j]) })
			each(func(j int) { VPADDQ(B[j], A[j], A[j]) })
			each(func(j int) { VPXOR(A[j], D[j], D[j]) })
			each(func(j int) { VPSHUFB(rot16, D[j], D[j]) })
			each(func(j int) { VPADDQ(D[j], T[j], T[j]) })
			each(func(j int) { VMOVDQU(T[j], C[j]) })
			each(func(j int) { VPXOR(T[j], B[j], B[j]) })
			each(func(j int) { VPSRLQ(U8(63), B[j], T[j]) })
			each(func(j int) { VPADDQ(B[j], B[j], B[j]) })
			each(func(j int) { VPOR(T[j], B[j], B[j]) })
		}
	}
	Comment("h ^= v[0..7] ^ v[8..15]")
	for i := range 4 {
		VPXOR(Cm(i), y(i), y(12))
		VPXOR(H(i), y(12), y(12))
		VMOVDQU(y(12), H(i))
	}
	for i := 4; i < 8; i++ {
		VPXOR(y(i+4), y(i), y(12))
		VPXOR(H(i), y(12), y(12))
		VMOVDQU(y(12), H(i))
	}
	CMPQ(fSlot, U8(0))
	JE(LabelRef("avx2_loop"))

	Comment("Write lane l's h[0..3] to out[l].")
	for i := range 4 {
		VMOVDQU(H(i), y(i))
	}
	transpose4()
	for l := range 4 {
		VMOVDQU(y(8+l), Mem{Base: a, Disp: offOut + 32*l})
	}
	VZEROUPPER()
	RET()
}

// blockLoop emits the loop over blocks both kernels share: every whole
// chunk with counter off+128 and no final flag, then the last chunk (after
// beforeTail) with the message length and the final flag, each followed by
// the compression the caller emits next under label name_compress. The
// compression ends with "CMPQ fSlot, $0; JE name_loop".
func blockLoop(name string, a, off, end, p Register, tSlot, fSlot Mem, beforeTail func(), load func(tail bool)) {
	Label(name + "_loop")
	CMPQ(off, end)
	JE(LabelRef(name + "_tail"))
	load(false)
	ADDQ(U32(128), off)
	MOVQ(off, tSlot)
	MOVQ(U32(0), fSlot)
	JMP(LabelRef(name + "_compress"))

	Label(name + "_tail")
	beforeTail()
	load(true)
	MOVQ(Mem{Base: a, Disp: offLength}, p)
	MOVQ(p, tSlot)
	MOVQ(I32(-1), fSlot)

	Label(name + "_compress")
}

// transpose4 transposes the 4×4 qword matrix in Y0..Y3 into Y8..Y11, using
// Y4..Y7 as scratch.
func transpose4() {
	y := func(i int) VecPhysical { return ymm[i] }
	VPUNPCKLQDQ(y(1), y(0), y(4))
	VPUNPCKHQDQ(y(1), y(0), y(5))
	VPUNPCKLQDQ(y(3), y(2), y(6))
	VPUNPCKHQDQ(y(3), y(2), y(7))
	VPERM2I128(U8(0x20), y(6), y(4), y(8))
	VPERM2I128(U8(0x20), y(7), y(5), y(9))
	VPERM2I128(U8(0x31), y(6), y(4), y(10))
	VPERM2I128(U8(0x31), y(7), y(5), y(11))
}

// shiftWords turns chunk words D_k into message words D_k << 8 | D_(k-1) >>
// 56 (D_(-1) in carry): it leaves the two halves in t1 and t2 and calls or
// to combine and store message word k.
func shiftWords(words []VecPhysical, carry, t1, t2 VecPhysical, or func(k int, v VecPhysical)) {
	for k, w := range words {
		prev := carry
		if k > 0 {
			prev = words[k-1]
		}
		VPSLLQ(U8(8), w, t1)
		VPSRLQ(U8(56), prev, t2)
		or(k, w)
	}
}

var ymm = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
