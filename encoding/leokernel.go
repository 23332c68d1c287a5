package encoding

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe" // go:linkname, and klauspost's options by address
)

// Leopard's two transforms at any point offset, for the column code's
// shortcut (see colCode.encode): klauspost's Encode only ever evaluates at
// the points [0, m) of a code's own shape, where the column code needs two
// values at points past 2K. The transforms are klauspost's own
// ifftDITEncoder and fftDIT (its GFNI/AVX-512 kernels), reached by name as
// klauspost_tables_amd64.go reaches its tables: pinned to the version in
// go.mod, a rename fails to link, and TestColCodeMatchesDoubling checks the
// results against klauspost's Encode of the doubling codes.

// leoKernel runs Leopard's transforms over shards in klauspost's layout.
// The skew offset off names the points: ifft reads data at points
// [off, off+m) and fft writes the values at points [off, off+mtrunc).
type leoKernel interface {
	// ifft sets work[:m] to the IFFT of data[:mtrunc] zero-padded to m.
	ifft(data [][]byte, mtrunc int, work [][]byte, m, off int)
	// fft evaluates in place the first mtrunc of work[:m].
	fft(work [][]byte, mtrunc, m, off int)
	// chunk is the largest shard length the kernel runs on at once.
	chunk() int
}

// pureKernel is leopard.go's pure-Go transforms.
type pureKernel struct{}

func (pureKernel) ifft(data [][]byte, mtrunc int, work [][]byte, m, off int) {
	leoInit()
	leoIFFTEncoder(data, mtrunc, work, nil, m, leoSkew[off-1:])
}

func (pureKernel) fft(work [][]byte, mtrunc, m, off int) {
	leoInit()
	leoFFT(work, mtrunc, m, leoSkew[off:])
}

func (pureKernel) chunk() int { return 1 << 30 }

//go:linkname klauspostIFFTEncoder github.com/klauspost/reedsolomon.ifftDITEncoder
func klauspostIFFTEncoder(data [][]byte, mtrunc int, work, xorRes [][]byte, m int, skewLUT []uint16, o unsafe.Pointer)

//go:linkname klauspostFFT github.com/klauspost/reedsolomon.fftDIT
func klauspostFFT(work [][]byte, mtrunc, m int, skewLUT []uint16, o unsafe.Pointer)

//go:linkname klauspostFFTSkew github.com/klauspost/reedsolomon.fftSkew
var klauspostFFTSkew *[gfModulus]uint16

// klauspostChunk is the byte range of the shards the column code runs its
// transforms over at once: at most klauspost's maxWorkSize16 (64 KiB, up to
// which its fused first IFFT layer runs), and small enough that the rows
// and 2K work shards of a chunk stay near the core's cache (n = 100: 162
// shards, 2.6 MB). VerifySliver of a secondary sliver, n = 100, 64 MiB:
// 1.18 ms at 64 KiB, 1.09-1.10 at 16 KiB, 1.11-1.13 at 8 KiB.
const klauspostChunk = 16 << 10

// klauspostKernel is klauspost's transforms with the options (CPU features)
// of one of its GF(2^16) codes.
type klauspostKernel struct{ o unsafe.Pointer }

func (k klauspostKernel) ifft(data [][]byte, mtrunc int, work [][]byte, m, off int) {
	klauspostIFFTEncoder(data, mtrunc, work, nil, m, klauspostFFTSkew[off-1:], k.o)
}

func (k klauspostKernel) fft(work [][]byte, mtrunc, m, off int) {
	klauspostFFT(work, mtrunc, m, klauspostFFTSkew[off:], k.o)
}

func (klauspostKernel) chunk() int { return klauspostChunk }

var (
	kernelOnce sync.Once
	kernel     klauspostKernel
	kernelErr  error
)

// klauspostKernels returns klauspost's transforms, building its tables
// through l (any GF(2^16) code) if no code has yet.
func klauspostKernels(l *leopard) (leoKernel, error) {
	kernelOnce.Do(func() {
		enc, err := l.klauspost()
		if err != nil {
			kernelErr = err
			return
		}
		// The options are the unexported field o of its *leopardFF16.
		v := reflect.ValueOf(enc)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct || v.Elem().Type().Name() != "leopardFF16" {
			kernelErr = fmt.Errorf("encoding: klauspost's GF(2^16) code is a %T, not the *leopardFF16 this package reaches into", enc)
			return
		}
		o := v.Elem().FieldByName("o")
		if !o.IsValid() || o.Type().Name() != "options" {
			kernelErr = fmt.Errorf("encoding: klauspost's leopardFF16 has no options field o")
			return
		}
		kernel = klauspostKernel{o: unsafe.Pointer(o.UnsafeAddr())}
	})
	return kernel, kernelErr
}
