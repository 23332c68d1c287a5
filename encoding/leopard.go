package encoding

import (
	"crypto/subtle"
	"math/bits"
	"sync"
	"sync/atomic"
)

// A pure-Go Leopard GF(2^16) encoder, the same transform as klauspost's
// leopardFF16.encode (and reed-solomon-simd's), element for element.
//
// Why: klauspost builds 74 MB of multiplication tables the first time a
// process creates a GF(2^16) code, about 150 ms on one core of the machine
// this was written on. For a small blob (1 KiB at n = 1000 is one element
// per symbol) that is most of the whole encode, and every CLI command that
// encodes or verifies pays it. This encoder needs only the log/exp tables and
// Leopard's FFT skew table (a few ms), and is fast enough while the work is
// small. Codes use it while the process has not built klauspost's tables and
// the work fits in rsSmallBudget; after that, klauspost (see smallRS).
//
// Shards use klauspost's layout: 64-byte chunks, low bytes of 32 elements
// then their high bytes. TestLeopardMatchesKlauspost pins the equivalence.

var (
	leoOnce sync.Once
	// leoSkew is Leopard's FFT skew table (klauspost's fftSkew), as logs.
	leoSkew *[gfModulus]uint16
)

func leoInit() {
	leoOnce.Do(func() {
		gfInit()
		var temp [gfBits - 1]uint16
		for i := 1; i < gfBits; i++ {
			temp[i-1] = uint16(1 << i)
		}
		skew := new([gfModulus]uint16)
		for m := range gfBits - 1 {
			step := 1 << (m + 1)
			skew[1<<m-1] = 0
			for i := m; i < gfBits-1; i++ {
				s := 1 << (i + 1)
				for j := 1<<m - 1; j < s; j += step {
					skew[j+s] = skew[j] ^ temp[i]
				}
			}
			temp[m] = gfModulus - gfLog[leoMulLog(temp[m], gfLog[temp[m]^1])]
			for i := m + 1; i < gfBits-1; i++ {
				sum := leoAddMod(gfLog[temp[i]^1], temp[m])
				temp[i] = leoMulLog(temp[i], sum)
			}
		}
		for i := range skew {
			skew[i] = gfLog[skew[i]]
		}
		leoSkew = skew
	})
}

// leoAddMod adds logs modulo 2^16−1, partially reduced (the result may be
// the modulus itself, which gfExp maps like 0).
func leoAddMod(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>gfBits)
}

// leoMulLog multiplies a by the element whose log is logB.
func leoMulLog(a, logB uint16) uint16 {
	if a == 0 {
		return 0
	}
	return gfExp[leoAddMod(gfLog[a], logB)]
}

// leoMulAdd computes x ^= y·exp(logM) over chunk-laid-out shards.
func leoMulAdd(x, y []byte, logM uint16) {
	log, exp := gfLog, gfExp
	for len(x) >= 64 && len(y) >= 64 {
		yl, yh := y[:32:32], y[32:64:64]
		xl, xh := x[:32:32], x[32:64:64]
		for i := range 32 {
			v := uint16(yl[i]) | uint16(yh[i])<<8
			if v == 0 {
				continue
			}
			s := uint32(log[v]) + uint32(logM)
			p := exp[uint16(s+s>>gfBits)]
			xl[i] ^= byte(p)
			xh[i] ^= byte(p >> 8)
		}
		x, y = x[64:], y[64:]
	}
}

// leoXor computes y ^= x.
func leoXor(x, y []byte) { subtle.XORBytes(y, y, x) }

// leoIFFT2 is the inverse butterfly: y ^= x, then x ^= y·exp(logM); a log
// of gfModulus stands for multiplication by zero.
func leoIFFT2(x, y []byte, logM uint16) {
	leoXor(x, y)
	if logM != gfModulus {
		leoMulAdd(x, y, logM)
	}
}

// leoFFT2 is the forward butterfly: x ^= y·exp(logM), then y ^= x.
func leoFFT2(x, y []byte, logM uint16) {
	if logM != gfModulus {
		leoMulAdd(x, y, logM)
	}
	leoXor(x, y)
}

func leoIFFT4(w [][]byte, dist int, m01, m23, m02 uint16) {
	leoIFFT2(w[0], w[dist], m01)
	leoIFFT2(w[2*dist], w[3*dist], m23)
	leoIFFT2(w[0], w[2*dist], m02)
	leoIFFT2(w[dist], w[3*dist], m02)
}

func leoFFT4(w [][]byte, dist int, m01, m23, m02 uint16) {
	leoFFT2(w[0], w[2*dist], m02)
	leoFFT2(w[dist], w[3*dist], m02)
	leoFFT2(w[0], w[dist], m01)
	leoFFT2(w[2*dist], w[3*dist], m23)
}

// leoIFFTEncoder is klauspost's ifftDITEncoder: work[:m] = IFFT of data[:mtrunc]
// zero-padded to m, then xorRes[:m] ^= work[:m] if xorRes is not nil.
func leoIFFTEncoder(data [][]byte, mtrunc int, work, xorRes [][]byte, m int, skew []uint16) {
	for i := range mtrunc {
		copy(work[i], data[i])
	}
	for i := mtrunc; i < m; i++ {
		clear(work[i])
	}
	dist, dist4 := 1, 4
	for ; dist4 <= m; dist, dist4 = dist4, dist4<<2 {
		for r := 0; r < mtrunc; r += dist4 {
			iend := r + dist
			m01, m02, m23 := skew[iend], skew[iend+dist], skew[iend+2*dist]
			for i := r; i < iend; i++ {
				leoIFFT4(work[i:], dist, m01, m23, m02)
			}
		}
	}
	if dist < m { // one layer left: dist = m/2
		logM := skew[dist]
		for i := range dist {
			leoIFFT2(work[i], work[i+dist], logM)
		}
	}
	if xorRes != nil {
		for i := range m {
			leoXor(work[i], xorRes[i])
		}
	}
}

// leoFFT is klauspost's fftDIT over work[:m], for the first mtrunc outputs.
func leoFFT(work [][]byte, mtrunc, m int, skew []uint16) {
	dist4, dist := m, m>>2
	for ; dist != 0; dist4, dist = dist, dist>>2 {
		for r := 0; r < mtrunc; r += dist4 {
			iend := r + dist
			m01, m02, m23 := skew[iend-1], skew[iend+dist-1], skew[iend+2*dist-1]
			for i := r; i < iend; i++ {
				leoFFT4(work[i:], dist, m01, m23, m02)
			}
		}
	}
	if dist4 == 2 {
		for r := 0; r < mtrunc; r += 2 {
			leoFFT2(work[r], work[r+1], skew[r])
		}
	}
}

// leoEncode fills shards[k:k+p] with the parity of shards[:k], exactly as
// klauspost's Leopard (k, p) code does. All shards have one length, a
// multiple of 64. scratch provides the work shards beyond the parity ones.
func leoEncode(k, p int, shards [][]byte, scratch *leoScratch) {
	leoInit()
	m := leoCeilPow2(p)
	size := len(shards[0])
	work := scratch.work(p, 2*m, size)
	copy(work, shards[k:k+p])
	skew := leoSkew[m-1:]
	data := shards[:k]
	leoIFFTEncoder(data, min(k, m), work, nil, m, skew)
	if m < k {
		i := m
		for ; i+m <= k; i += m {
			leoIFFTEncoder(data[i:], m, work[m:], work, m, skew[i:])
		}
		if last := k % m; last != 0 {
			leoIFFTEncoder(data[i:], last, work[m:], work, m, skew[i:])
		}
	}
	leoFFT(work, p, m, leoSkew[:])
}

func leoCeilPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// leoScratch holds the work shards of leoEncode.
type leoScratch struct {
	buf []byte
	sh  [][]byte
}

// work returns count shard slots of size bytes; slots [first, count) get
// scratch memory, the first are for the caller to fill.
func (s *leoScratch) work(first, count, size int) [][]byte {
	need := (count - first) * size
	if cap(s.buf) < need {
		s.buf = make([]byte, need)
	}
	if cap(s.sh) < count {
		s.sh = make([][]byte, count)
	}
	sh := s.sh[:count]
	for i := first; i < count; i++ {
		o := (i - first) * size
		sh[i] = s.buf[o : o+size : o+size]
	}
	return sh
}

// leoCost estimates the element operations of leoEncode(k, p) on shards of
// size bytes: each pass over the m work shards is m·log2(m) butterflies.
func leoCost(k, p, size int) int64 {
	m := leoCeilPow2(p)
	passes := (k+m-1)/m + 1
	return int64(passes) * int64(m) * int64(max(bits.Len(uint(m))-1, 1)) * int64(size/2)
}

// rsSmallBudget bounds the work (leoCost) a process does with the pure-Go
// encoder before it builds klauspost's tables: about 100 ms of one core.
// The tables cost 45-100 ms since klauspostLeanInit (270-360 ms before); a
// budget of 16 << 20 measured no faster for 256 KiB and 1 MiB blob-ids.
const rsSmallBudget = 48 << 20

var (
	// klauspostReady is set once this process has built a klauspost GF(2^16)
	// code, and with it the tables every later one shares.
	klauspostReady atomic.Bool
	// smallLeft is what is left of rsSmallBudget.
	smallLeft atomic.Int64
)

func init() { smallLeft.Store(rsSmallBudget) }

// rsMode overrides the choice of encoder, for tests.
type rsMode uint8

const (
	rsAuto      rsMode = iota // smallRS decides
	rsPureGo                  // always the pure-Go encoder
	rsKlauspost               // always klauspost
)

// smallRS reports whether work of the given cost should use the pure-Go
// encoder: the codec's mode says so, or klauspost's tables are not built yet
// and the budget still covers it. A true answer in auto mode uses up that
// much of the budget.
func (c *Codec) smallRS(cost int64) bool {
	switch c.rs {
	case rsPureGo:
		return true
	case rsKlauspost:
		return false
	}
	return smallRS(cost)
}

func smallRS(cost int64) bool {
	if klauspostReady.Load() {
		return false
	}
	if smallLeft.Add(-cost) >= 0 {
		return true
	}
	return false
}
