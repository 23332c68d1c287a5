package p2p

import (
	"math/bits"
	"runtime"
	"sync"
	"unsafe"
	"weak"
)

// Buffers of large sliver/put and sliver/get frames are recycled: a node
// receives each sliver into a fresh buffer and keeps it until its pair is
// written, and the Go runtime zeroes every such allocation that reuses heap
// memory (7% of a devnet node's CPU in a 64 MiB store: 2 MB frames, 75 MB
// per node); a reader's fresh buffers cost a page fault per 4 KiB instead.
// A sink that is done with a sliver's bytes, or a reader with those of a
// sliver GetSlivers returned, hands them back with RecycleSliver; a buffer
// never handed back is collected as usual.

const (
	// minPooledFrame and maxPooledFrame bound the buffers recycled: below,
	// zeroing costs little; above, a pooled buffer would hold much memory.
	minPooledFrame = 256 << 10
	maxPooledFrame = MaxSliverFrameSize + ownedAlign
	// poolClassBits sets the size classes: 2^poolClassBits per doubling,
	// so a buffer is at most 1/16 larger than asked for.
	poolClassBits = 4
)

var (
	// framePools holds a pool per size class (class size → *sync.Pool).
	framePools sync.Map
	// lent maps the address of the data a buffer was lent for (see
	// lendFrame) to a weak pointer to the buffer: a buffer no one hands
	// back is collected, and a cleanup then drops its entry.
	lent sync.Map
)

// lentBuffer is an entry of lent.
type lentBuffer struct {
	buf  weak.Pointer[byte]
	size int
}

// frameBufferSize is the capacity frameBuffer(n) returns.
func frameBufferSize(n int) int {
	if n < minPooledFrame || n > maxPooledFrame {
		return n
	}
	return poolClass(n)
}

// poolClass rounds n up to its size class.
func poolClass(n int) int {
	shift := max(bits.Len(uint(n))-1-poolClassBits, 0)
	return (n + 1<<shift - 1) >> shift << shift
}

// frameBuffer returns a buffer of at least n bytes (its capacity is what it
// holds): recycled if one of its class is free, else new.
func frameBuffer(n int) []byte {
	if n < minPooledFrame || n > maxPooledFrame {
		return make([]byte, n)
	}
	c := poolClass(n)
	if p, ok := framePools.Load(c); ok {
		if b, ok := p.(*sync.Pool).Get().(*[]byte); ok {
			return (*b)[:c]
		}
	}
	return make([]byte, c)
}

// lendFrame records that buf, from frameBuffer, holds data (within it), so
// that RecycleSliver(data) returns buf to its pool.
func lendFrame(buf, data []byte) {
	c := cap(buf)
	if c < minPooledFrame || c > maxPooledFrame || c != poolClass(c) || len(data) == 0 {
		return
	}
	type entry struct {
		key uintptr
		lb  lentBuffer
	}
	p := unsafe.SliceData(buf[:1])
	e := entry{addr(data), lentBuffer{buf: weak.Make(p), size: c}}
	lent.Store(e.key, e.lb)
	// Collected without being handed back: its entry goes (unless the
	// address has been lent again since).
	runtime.AddCleanup(p, func(e entry) { lent.CompareAndDelete(e.key, e.lb) }, e)
}

// RecycleSliver hands back the buffer that a sliver/put sink received
// data in (the Data of an encoding.Sliver passed to SliverSink.PutSliver),
// or that Client.GetSlivers read a sliver's Data into, for the frames after
// it: the caller must hold no reference to data, nor to anything of the
// same buffer, after the call. Data of any other origin is ignored, and so
// is a second call.
func RecycleSliver(data []byte) {
	if len(data) == 0 {
		return
	}
	v, ok := lent.LoadAndDelete(addr(data))
	if !ok {
		return
	}
	lb := v.(lentBuffer)
	p := lb.buf.Value()
	if p == nil {
		return
	}
	putFrameBuffer(unsafe.Slice(p, lb.size))
}

// putFrameBuffer returns buf, from frameBuffer and referenced no more, to
// its pool; other buffers (nil, or not of a pooled class) are left to the
// collector.
func putFrameBuffer(buf []byte) {
	c := cap(buf)
	if c < minPooledFrame || c > maxPooledFrame || c != poolClass(c) {
		return
	}
	buf = buf[:c]
	pool, _ := framePools.LoadOrStore(c, &sync.Pool{})
	pool.(*sync.Pool).Put(&buf)
}
