//go:build !noasm && !appengine && !gccgo && !nopshufb && !purego

package encoding

import (
	"math/bits"
	"runtime"
	"sync"
	"unsafe" // go:linkname, and the tables' memory

	"github.com/klauspost/cpuid/v2"
	_ "github.com/klauspost/reedsolomon" // the tables below are its own
)

// klauspost/reedsolomon v1.14.2 builds three tables for its GF(2^16) code
// the first time a process makes one (leopard.go, initConstants): the 64
// MiB mul16LUTs, the 8 MiB multiply256LUT and the 2 MiB GFNI matrices. The
// first is read only by its pure-Go reference kernels, which it runs only on
// CPUs without AVX2 (galois_amd64.go); building it was about 100 ms of one core and half of
// the CPU of a `walrus read` of 64 MiB (pprof: initMul16LUT 250 ms of 580
// ms). On CPUs with AVX2 we run its initialisation ourselves, through its
// own sync.Once, and leave mul16LUTs unbuilt; the other tables are built by
// a copy of its code. Everywhere else klauspost initialises itself.
//
// These names reach into klauspost's internals, so they are pinned to the
// version in go.mod: another version that renames them fails to link, and
// TestGoldenVectors and TestKlauspostTablesMatch check what is built.

//go:linkname klauspostInitOnce github.com/klauspost/reedsolomon.initOnce
var klauspostInitOnce sync.Once

//go:linkname klauspostLogLUT github.com/klauspost/reedsolomon.logLUT
var klauspostLogLUT *[1 << 16]uint16

//go:linkname klauspostExpLUT github.com/klauspost/reedsolomon.expLUT
var klauspostExpLUT *[1 << 16]uint16

//go:linkname klauspostMultiply256LUT github.com/klauspost/reedsolomon.multiply256LUT
var klauspostMultiply256LUT *[1 << 16][8 * 16]byte

//go:linkname klauspostGFNIMatrices github.com/klauspost/reedsolomon.gf2p811dMulMatrices16
var klauspostGFNIMatrices *[1 << 16][4]uint64

//go:linkname klauspostInitLUTs github.com/klauspost/reedsolomon.initLUTs
func klauspostInitLUTs()

//go:linkname klauspostInitFFTSkew github.com/klauspost/reedsolomon.initFFTSkew
func klauspostInitFFTSkew()

// klauspostLeanInit, when this CPU lets klauspost skip its reference
// kernels, initialises klauspost's GF(2^16) tables without mul16LUTs. It is
// called before the first klauspost code of the process is made; a second
// call does nothing.
func klauspostLeanInit() {
	if !cpuid.CPU.Supports(cpuid.SSSE3, cpuid.AVX2) {
		return // klauspost's own initialisation, with its reference tables
	}
	klauspostInitOnce.Do(func() {
		klauspostInitLUTs()
		klauspostInitFFTSkew()
		t256, gfni := klauspostTableMemory()
		if !cpuid.CPU.Has(cpuid.GFNI) {
			gfni = nil
		}
		buildKlauspostTables(t256, gfni)
		klauspostMultiply256LUT = t256
		if gfni != nil {
			klauspostGFNIMatrices = gfni
		}
	})
}

// klauspostTableParts is how many goroutines build the tables at most:
// they are needed at a process's first encode or verification, and the
// cores are otherwise idle then.
const klauspostTableParts = 4

// buildKlauspostTables fills multiply256LUT t256 and, unless nil, the GFNI
// matrices gfni, a range of logarithms per core.
func buildKlauspostTables(t256 *[1 << 16][8 * 16]byte, gfni *[1 << 16][4]uint64) {
	parts := max(1, min(runtime.GOMAXPROCS(0), klauspostTableParts))
	var wg sync.WaitGroup
	for part := range parts {
		lo, hi := part*len(t256)/parts, (part+1)*len(t256)/parts
		wg.Go(func() {
			buildMultiply256LUT(t256, lo, hi)
			if gfni != nil {
				buildGFNIMatrices(gfni, lo, hi)
			}
		})
	}
	wg.Wait()
}

// capL3 lowers the L3 size klauspost reads (cpuid) to 2×L2 where it
// reports more than 16×L2: a virtual machine's view of its host's cache (480
// MiB against 2 MiB of L2 on the machine this was measured on), shared with
// every other tenant. klauspost cuts a GF(2^16) encode into chunks that fill
// 2/3 of the L3 with its work shards, so that it took whole 29 KB shards
// (n = 100, 64 MiB); with 4 MiB, 22 KB chunks. A devnet's CPU per 64 MiB CLI
// store fell by about 20 ms of 730 (st.sh, two alternating runs of 6).
func capL3() { cpuid.CPU.Cache.L3 = cappedL3(cpuid.CPU.Cache.L2, cpuid.CPU.Cache.L3) }

// At package initialisation, before any goroutine of this package reads
// cpuid.CPU (klauspost reads it on every encode).
func init() { capL3() }

// cappedL3 is the L3 size capL3 leaves klauspost to see.
func cappedL3(l2, l3 int) int {
	if l2 > 0 && l3 > 16*l2 {
		return 2 * l2
	}
	return l3
}

// gfMulLog is klauspost's mulLog: a times the element whose logarithm is
// logB.
func gfMulLog(a, logB uint16) uint16 {
	if a == 0 {
		return 0
	}
	sum := uint(klauspostLogLUT[a]) + uint(logB)
	return klauspostExpLUT[uint16(sum+sum>>16)]
}

// klauspostTableMemory returns fresh memory for the two tables, 10 MiB
// backed by huge pages where the kernel gives them (MakeBuffer): filling
// 4 KiB pages was most of their cost, one fault per 4 KiB.
func klauspostTableMemory() (*[1 << 16][8 * 16]byte, *[1 << 16][4]uint64) {
	const n256, nGFNI = 1 << 16 * 8 * 16, 1 << 16 * 4 * 8
	buf := MakeBuffer(n256 + nGFNI)
	return (*[1 << 16][8 * 16]byte)(unsafe.Pointer(&buf[0])), (*[1 << 16][4]uint64)(unsafe.Pointer(&buf[n256]))
}

// klauspostBasis returns the products of the 16 unit elements 1<<b by the
// element whose logarithm is logM. Multiplication by a constant is linear
// over GF(2), so they determine both tables below: building each entry from
// them by XOR, rather than by a gfMulLog per table byte as klauspost does,
// took the two tables from 20 ms of one core to 10 (BenchmarkKlauspostTables),
// a cost every CLI process that encodes or verifies pays.
func klauspostBasis(logM uint16) (p [16]uint16) {
	for b := range p {
		p[b] = gfMulLog(uint16(1)<<b, logM)
	}
	return p
}

// buildMultiply256LUT is the SSSE3/AVX2 part of klauspost's initMul16LUT:
// for each nibble position i (shift 4i) and nibble x, the product of
// x<<4i, low bytes then high bytes.
func buildMultiply256LUT(t *[1 << 16][8 * 16]byte, lo, hi int) {
	for logM := lo; logM < hi; logM++ {
		p := klauspostBasis(uint16(logM))
		row := &t[logM]
		for i := range 4 {
			// prod[x] for x < 2^j is set before bit j doubles them.
			var prod [16]uint16
			prod[1] = p[4*i]
			for j, half := 1, 2; j < 4; j, half = j+1, half*2 {
				for x := range half {
					prod[half+x] = prod[x] ^ p[4*i+j]
				}
			}
			low, high := (*[16]byte)(row[i*16:]), (*[16]byte)(row[4*16+i*16:])
			for x, v := range prod {
				low[x], high[x] = byte(v), byte(v>>8)
			}
		}
	}
}

// buildGFNIMatrices is the GFNI part of klauspost's initMul16LUT: four 8×8
// bit matrices (GF2P8AFFINEQB's layout) mapping the low and high input
// bytes to the low and high output bytes.
func buildGFNIMatrices(t *[1 << 16][4]uint64, lo, hi int) {
	for logM := lo; logM < hi; logM++ {
		p := klauspostBasis(uint16(logM))
		// in[h][o]: byte b is output byte o of the image of input bit 8h+b.
		var in [2][2]uint64
		for b := range 8 {
			for h := range 2 {
				in[h][0] |= uint64(byte(p[8*h+b])) << (8 * b)
				in[h][1] |= uint64(byte(p[8*h+b]>>8)) << (8 * b)
			}
		}
		t[logM] = [4]uint64{gfniMatrix(in[0][0]), gfniMatrix(in[1][0]), gfniMatrix(in[0][1]), gfniMatrix(in[1][1])}
	}
}

// gfniMatrix turns x, whose byte i is the image of input bit i, into the
// matrix GF2P8AFFINEQB reads: byte 7−o holds output bit o of each input
// bit's image, input bit i at bit i. That is the 8×8 bit transpose of x
// (Hacker's Delight's transpose8) with its bytes reversed.
func gfniMatrix(x uint64) uint64 {
	t := (x ^ x>>7) & 0x00AA00AA00AA00AA
	x ^= t ^ t<<7
	t = (x ^ x>>14) & 0x0000CCCC0000CCCC
	x ^= t ^ t<<14
	t = (x ^ x>>28) & 0x00000000F0F0F0F0
	x ^= t ^ t<<28
	return bits.ReverseBytes64(x)
}
