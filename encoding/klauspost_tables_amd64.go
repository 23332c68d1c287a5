//go:build !noasm && !appengine && !gccgo && !nopshufb && !purego

package encoding

import (
	"sync"
	_ "unsafe" // go:linkname

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
		buildMultiply256LUT()
		if cpuid.CPU.Has(cpuid.GFNI) {
			buildGFNIMatrices()
		}
	})
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

// buildMultiply256LUT is the SSSE3/AVX2 part of klauspost's initMul16LUT.
func buildMultiply256LUT() {
	t := &[1 << 16][8 * 16]byte{}
	for logM := range t {
		shift := 0
		for i := range 4 {
			prodLo := t[logM][i*16 : i*16+16]
			prodHi := t[logM][4*16+i*16 : 4*16+i*16+16]
			for x := range prodLo {
				prod := gfMulLog(uint16(x<<shift), uint16(logM))
				prodLo[x] = byte(prod)
				prodHi[x] = byte(prod >> 8)
			}
			shift += 4
		}
	}
	klauspostMultiply256LUT = t
}

// buildGFNIMatrices is the GFNI part of klauspost's initMul16LUT.
func buildGFNIMatrices() {
	t := &[1 << 16][4]uint64{}
	for logM := range t {
		var a, b, c, d uint64
		for inputBit := range 8 {
			lo := gfMulLog(uint16(1)<<inputBit, uint16(logM))
			hi := gfMulLog(uint16(1)<<(inputBit+8), uint16(logM))
			for outputBit := range 8 {
				pos := uint64(1) << ((7-outputBit)*8 + inputBit)
				if (byte(lo)>>outputBit)&1 == 1 {
					a |= pos
				}
				if (byte(lo>>8)>>outputBit)&1 == 1 {
					c |= pos
				}
				if (byte(hi)>>outputBit)&1 == 1 {
					b |= pos
				}
				if (byte(hi>>8)>>outputBit)&1 == 1 {
					d |= pos
				}
			}
		}
		t[logM] = [4]uint64{a, b, c, d}
	}
	klauspostGFNIMatrices = t
}
