package blake2bx

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"golang.org/x/crypto/blake2b"
)

// TestArgsLayout pins the offsets _asm/gen.go compiles into the kernels.
func TestArgsLayout(t *testing.T) {
	var a args
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"data", unsafe.Offsetof(a.data), 0},
		{"full", unsafe.Offsetof(a.full), 64},
		{"length", unsafe.Offsetof(a.length), 72},
		{"prefix", unsafe.Offsetof(a.prefix), 80},
		{"maskLo", unsafe.Offsetof(a.maskLo), 88},
		{"maskHi", unsafe.Offsetof(a.maskHi), 96},
		{"out", unsafe.Offsetof(a.out), 104},
		{"tails", unsafe.Offsetof(a.tails), 360},
	} {
		if f.got != f.want {
			t.Errorf("args.%s at offset %d, the kernels expect %d", f.name, f.got, f.want)
		}
	}
}

func want(prefix byte, m []byte) [Size]byte {
	return blake2b.Sum256(append([]byte{prefix}, m...))
}

// check hashes msgs (all of one length) through a Batch of the given lane
// count and compares every digest with x/crypto's.
func check(t testing.TB, lanes int, prefix byte, msgs [][]byte) {
	t.Helper()
	var b Batch
	b.lanes = lanes
	n := 0
	if len(msgs) > 0 {
		n = len(msgs[0])
	}
	b.Reset(prefix, n)
	got := make([][Size]byte, len(msgs))
	for i, m := range msgs {
		b.Add(&got[i], m)
	}
	b.Flush()
	for i, m := range msgs {
		if w := want(prefix, m); got[i] != w {
			t.Fatalf("lanes %d, prefix %#x, %d messages of %d bytes: message %d: got %x, want %x",
				lanes, prefix, len(msgs), n, i, got[i], w)
		}
	}
}

func randMsgs(rng *rand.Rand, count, n int) [][]byte {
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = make([]byte, n)
		for j := range msgs[i] {
			msgs[i][j] = byte(rng.Uint32())
		}
	}
	return msgs
}

// TestDigests compares every kernel with x/crypto for every data length up
// to four blocks and beyond, at every fill of a batch.
func TestDigests(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{}
	for n := range 4*BlockSize + 3 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1000, 4095, 4096, 65534, 65535)
	for _, lanes := range supportedLanes() {
		t.Run(fmt.Sprintf("lanes=%d", lanes), func(t *testing.T) {
			for _, n := range lengths {
				count := 1 + rng.IntN(2*maxLanes+2)
				if n > 1000 {
					count = maxLanes + 1
				}
				check(t, lanes, byte(rng.Uint32()), randMsgs(rng, count, n))
			}
			// Every batch fill, at lengths with a whole and a partial last block.
			for _, n := range []int{0, 64, 127, 302} {
				for count := range 2*maxLanes + 1 {
					check(t, lanes, 0x01, randMsgs(rng, count, n))
				}
			}
		})
	}
}

// TestSharedInputs hashes messages that alias each other, as the leaves and
// inner nodes of a Merkle tree do, with digests written over inputs only
// after Flush.
func TestSharedInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	buf := randMsgs(rng, 1, 64*20)[0]
	for _, lanes := range supportedLanes() {
		msgs := make([][]byte, 19)
		for i := range msgs {
			msgs[i] = buf[64*i : 64*i+64]
		}
		check(t, lanes, 0x01, msgs)
		// Overlapping, unaligned messages.
		for i := range msgs {
			msgs[i] = buf[3*i+1 : 3*i+1+300]
		}
		check(t, lanes, 0x00, msgs)
	}
}

// TestResetReuse reuses one Batch across lengths: the AVX2 tails must not
// keep bytes of a longer earlier length.
func TestResetReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, lanes := range supportedLanes() {
		var b Batch
		b.lanes = lanes
		for _, n := range []int{300, 2, 127, 0, 129, 64} {
			msgs := randMsgs(rng, 5, n)
			b.Reset(7, n)
			got := make([][Size]byte, len(msgs))
			for i, m := range msgs {
				b.Add(&got[i], m)
			}
			b.Flush()
			for i, m := range msgs {
				if got[i] != want(7, m) {
					t.Fatalf("lanes %d, n %d, message %d: wrong digest", lanes, n, i)
				}
			}
		}
	}
}

func TestAddWrongLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Add of a message of another length did not panic")
		}
	}()
	var b Batch
	b.Reset(0, 10)
	var d [Size]byte
	b.Add(&d, make([]byte, 11))
}

// FuzzDigests is the differential fuzz test: any data, cut into messages of
// one length, hashed by every kernel, against x/crypto.
func FuzzDigests(f *testing.F) {
	f.Add(byte(0), uint16(302), uint8(9), []byte("seed"))
	f.Add(byte(1), uint16(64), uint8(8), []byte{})
	f.Add(byte(0xff), uint16(127), uint8(3), []byte{1, 2, 3})
	f.Add(byte(0), uint16(0), uint8(1), []byte{})
	f.Fuzz(func(t *testing.T, prefix byte, n uint16, count uint8, seed []byte) {
		length := int(n) % 2048
		msgs := make([][]byte, int(count)%(2*maxLanes+2))
		for i := range msgs {
			m := make([]byte, length)
			for j := range m {
				if len(seed) > 0 {
					m[j] = seed[(i*length+j)%len(seed)] ^ byte(i)
				} else {
					m[j] = byte(i + j)
				}
			}
			msgs[i] = m
		}
		for _, lanes := range supportedLanes() {
			check(t, lanes, prefix, msgs)
		}
	})
}

func BenchmarkBatch(b *testing.B) {
	for _, n := range []int{2, 64, 302, 1024} {
		for _, lanes := range supportedLanes() {
			b.Run(fmt.Sprintf("len=%d/lanes=%d", n+1, lanes), func(b *testing.B) {
				msgs := randMsgs(rand.New(rand.NewPCG(1, 1)), 64, n)
				out := make([][Size]byte, len(msgs))
				var bt Batch
				bt.lanes = lanes
				bt.Reset(0, n)
				b.SetBytes(int64(len(msgs) * (n + 1)))
				b.ReportAllocs()
				for range b.N {
					for i, m := range msgs {
						bt.Add(&out[i], m)
					}
					bt.Flush()
				}
			})
		}
		b.Run(fmt.Sprintf("len=%d/x-crypto", n+1), func(b *testing.B) {
			msgs := randMsgs(rand.New(rand.NewPCG(1, 1)), 64, n)
			buf := make([]byte, n+1)
			b.SetBytes(int64(len(msgs) * (n + 1)))
			b.ReportAllocs()
			for range b.N {
				for _, m := range msgs {
					copy(buf[1:], m)
					_ = blake2b.Sum256(buf)
				}
			}
		})
	}
}

var _ = bytes.Equal
