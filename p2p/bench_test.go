package p2p

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/walrus-go/walrus/encoding"
)

// benchHandler serves slivers from memory and takes them without keeping
// them, so that the benchmarks measure the transport: framing, TLS, yamux
// or QUIC, loopback.
type benchHandler struct {
	slivers []encoding.Sliver
	taken   atomic.Int64 // bytes
}

func (h *benchHandler) PutMetadata(context.Context, encoding.BlobID, *encoding.Metadata) error {
	return ErrNotFound
}

func (h *benchHandler) GetMetadata(context.Context, encoding.BlobID) (*encoding.Metadata, error) {
	return nil, ErrNotFound
}

func (h *benchHandler) PutSlivers(context.Context, encoding.BlobID, int) (SliverSink, error) {
	return benchSink{h}, nil
}

type benchSink struct{ h *benchHandler }

func (s benchSink) PutSliver(_ context.Context, sl encoding.Sliver) error {
	s.h.taken.Add(int64(len(sl.Data)))
	return nil
}
func (s benchSink) Commit(context.Context) error { return nil }
func (s benchSink) Abort()                       {}

func (h *benchHandler) GetSliver(_ context.Context, _ encoding.BlobID, _ encoding.Axis, index uint16) (encoding.Sliver, error) {
	return h.slivers[index], nil
}

func (h *benchHandler) GetConfirmation(context.Context, ConfirmationRequest) (Confirmation, error) {
	return Confirmation{}, ErrNotFound
}

func (h *benchHandler) GetRecoverySymbols(context.Context, encoding.BlobID, encoding.Axis, []uint16) ([]encoding.RecoverySymbol, error) {
	return nil, ErrNotFound
}

func (h *benchHandler) GetStatus(context.Context, encoding.BlobID) (BlobStatus, error) {
	return BlobStatus{}, nil
}

// benchShapes are the requests benchmarked: 16 slivers (the slivers of eight
// shards of one blob) of 64 KiB, 1 MiB and 4 MiB.
var benchShapes = []struct {
	name    string
	slivers int
	size    int
}{
	{"total=1MiB", 16, 64 << 10},
	{"total=16MiB", 16, 1 << 20},
	{"total=64MiB", 16, 4 << 20},
}

func benchSetup(b *testing.B, transport string, count, size int) (*Client, *Host, []encoding.Sliver, []uint16) {
	b.Helper()
	node, chost := newTestHost(b), newTestHost(b)
	slivers := make([]encoding.Sliver, count)
	idx := make([]uint16, count)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for i := range slivers {
		slivers[i] = encoding.Sliver{Axis: encoding.Primary, Index: uint16(i), SymbolSize: 2, Data: data}
		idx[i] = uint16(i)
	}
	srv := NewServer(node, &benchHandler{slivers: slivers}, WithServerLogger(quiet))
	b.Cleanup(func() { srv.Close() })
	introduce(b, chost, node, transport)
	return NewClient(chost, WithClientLogger(quiet)), node, slivers, idx
}

func BenchmarkPutSlivers(b *testing.B) {
	for _, transport := range []string{"/tcp/", "/quic-v1"} {
		for _, shape := range benchShapes {
			b.Run(fmt.Sprintf("transport=%s/%s", strings.Trim(transport, "/"), shape.name), func(b *testing.B) {
				c, node, slivers, _ := benchSetup(b, transport, shape.slivers, shape.size)
				ctx := context.Background()
				// Warm up: connect, identify, grow the windows.
				if _, err := c.PutSlivers(ctx, node.ID(), blobID1, slivers); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(shape.slivers * shape.size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					rej, err := c.PutSlivers(ctx, node.ID(), blobID1, slivers)
					if err != nil || len(rej) > 0 {
						b.Fatal(rej, err)
					}
				}
			})
		}
	}
}

func BenchmarkGetSlivers(b *testing.B) {
	for _, transport := range []string{"/tcp/", "/quic-v1"} {
		for _, shape := range benchShapes {
			b.Run(fmt.Sprintf("transport=%s/%s", strings.Trim(transport, "/"), shape.name), func(b *testing.B) {
				c, node, _, idx := benchSetup(b, transport, shape.slivers, shape.size)
				ctx := context.Background()
				if _, err := c.GetSlivers(ctx, node.ID(), blobID1, encoding.Primary, idx, shape.size); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(shape.slivers * shape.size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					res, err := c.GetSlivers(ctx, node.ID(), blobID1, encoding.Primary, idx, shape.size)
					if err != nil || res[len(res)-1].Err != nil || len(res[0].Sliver.Data) != shape.size {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
