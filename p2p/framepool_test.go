package p2p

import (
	"runtime"
	"testing"
	"time"

	"github.com/walrus-go/walrus/encoding"
)

func TestPoolClass(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{1, 1}, {16, 16}, {17, 17}, {31, 31}, {32, 32}, {33, 34}, {minPooledFrame, minPooledFrame},
		{minPooledFrame + 1, minPooledFrame + minPooledFrame/16}, {2<<20 + 4096, 2<<20 + 2<<20/16},
	} {
		if got := poolClass(tc.n); got != tc.want {
			t.Errorf("poolClass(%d) = %d, want %d", tc.n, got, tc.want)
		}
		if got := poolClass(tc.n); got < tc.n || got > tc.n+tc.n/16 {
			t.Errorf("poolClass(%d) = %d: not within 1/16 above", tc.n, got)
		}
	}
	if got := frameBufferSize(minPooledFrame - 1); got != minPooledFrame-1 {
		t.Errorf("frameBufferSize below the pooled sizes = %d", got)
	}
}

// TestRecycleSliver checks that a buffer handed back serves the next frame
// of its class, that other data and second calls are ignored, and that a
// buffer never handed back leaves no entry once collected.
func TestRecycleSliver(t *testing.T) {
	const n = 1<<20 + 100
	// sync.Pool keeps per-P caches, and under the race detector drops a
	// quarter of what it is given: allow a few tries.
	reused := false
	for range 50 {
		buf := frameBuffer(n)
		if cap(buf) != frameBufferSize(n) {
			t.Fatalf("frameBuffer(%d) holds %d bytes, want %d", n, cap(buf), frameBufferSize(n))
		}
		data := buf[4096 : 4096+n-200]
		lendFrame(buf, data)
		RecycleSliver(make([]byte, 10)) // another origin
		RecycleSliver(data)
		RecycleSliver(data) // a second call
		if _, ok := lent.Load(addr(data)); ok {
			t.Fatal("a recycled buffer is still lent")
		}
		if got := frameBuffer(n); addr(got) == addr(buf) {
			reused = true
			break
		}
	}
	if !reused {
		t.Error("a recycled buffer never served the next frame of its class")
	}
	// Lent and dropped: collected, its entry goes.
	key := func() uintptr {
		b := make([]byte, frameBufferSize(n)) // not from the pool: collected
		lendFrame(b, b[100:])
		return addr(b[100:])
	}()
	if _, ok := lent.Load(key); !ok {
		t.Fatal("a lent buffer has no entry")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if _, ok := lent.Load(key); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry of a buffer dropped without being handed back stays")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGetSliversLent checks that the slivers GetSlivers returns (of the
// sizes pooled) sit in lent frame buffers, which RecycleSliver hands back,
// and that their bytes are the slivers sent.
func TestGetSliversLent(t *testing.T) {
	n := newTestNet(t, nil, nil)
	_, eb := storeTestBlob(t, n, 10, 1500<<10, 3)
	ctx, p, c := t.Context(), n.node.ID(), n.client
	size := len(eb.Primary[0].Data)
	if size < minPooledFrame {
		t.Fatalf("slivers of %d bytes are not pooled (from %d): the test wants larger ones", size, minPooledFrame)
	}
	res, err := c.GetSlivers(ctx, p, eb.BlobID, encoding.Primary, []uint16{4, 1}, size)
	if err != nil {
		t.Fatal(err)
	}
	for i, idx := range []uint16{4, 1} {
		data := res[i].Sliver.Data
		if res[i].Err != nil || !sameSliver(res[i].Sliver, eb.Primary[idx]) {
			t.Fatalf("result %d is not primary sliver %d (err %v)", i, idx, res[i].Err)
		}
		if _, ok := lent.Load(addr(data)); !ok {
			t.Fatalf("primary sliver %d is not in a lent buffer", idx)
		}
		RecycleSliver(data)
		if _, ok := lent.Load(addr(data)); ok {
			t.Fatalf("primary sliver %d is still lent after RecycleSliver", idx)
		}
	}
}
