//go:build amd64 && gc && !purego && !noasm

package blake2bx

import "golang.org/x/sys/cpu"

//go:generate sh -c "cd _asm && go run . -out ../blake2bx_amd64.s"

// hash8AVX512 hashes the 8 lanes of a into a.out. It needs AVX-512 F and BW.
//
//go:noescape
func hash8AVX512(a *args)

// hash4AVX2 hashes lanes 0..3 of a into a.out. It needs AVX2.
//
//go:noescape
func hash4AVX2(a *args)

var (
	hasAVX512    = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW
	hasAVX2      = cpu.X86.HasAVX2
	defaultLanes = lanesFor(hasAVX512, hasAVX2)
)

func lanesFor(avx512, avx2 bool) int {
	switch {
	case avx512:
		return 8
	case avx2:
		return 4
	}
	return 1
}

// supportedLanes lists the lane counts this CPU can run, for tests.
func supportedLanes() []int {
	l := []int{1}
	if hasAVX2 {
		l = append(l, 4)
	}
	if hasAVX512 {
		l = append(l, 8)
	}
	return l
}

func callKernel(lanes int, a *args) {
	if lanes == 8 {
		hash8AVX512(a)
	} else {
		hash4AVX2(a)
	}
}
