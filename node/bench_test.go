package node_test

import (
	"fmt"
	"testing"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/p2p"
)

// BenchmarkNodeSlivers measures sliver put and get through one real node
// over loopback libp2p: a one-node committee holds every shard, so a put
// carries all 2n slivers of a blob in one request (each verified against the
// metadata, then written in one synced Pebble batch) and a get reads them all
// back. MB/s counts sliver bytes; cpu-ms/op is the whole process's CPU time
// (client and node, and the node's Pebble flushes as they happen).
func BenchmarkNodeSlivers(b *testing.B) {
	const blobs = 8
	for _, shape := range []struct{ n, size int }{{10, 1 << 20}, {100, 16 << 20}} {
		n, size := shape.n, shape.size
		b.Run(fmt.Sprintf("n=%d/blob=%dMiB", n, size>>20), func(b *testing.B) {
			e := newEnv(b, nettest.Options{Nodes: 1, Shards: n})
			encs := make([]*encoding.EncodedBlob, blobs)
			for i := range encs {
				encs[i], _ = e.register(randomBytes(size, uint64(i)), 2, false)
			}
			var total int64
			for _, s := range e.slivers(e.committee(), encs[0], 0) {
				total += int64(len(s.Data))
			}
			b.Run("put", func(b *testing.B) {
				b.SetBytes(total)
				cpu0 := cpuTime()
				for i := range b.N {
					e.send(encs[i%blobs], 0)
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
			})
			for _, enc := range encs {
				e.send(enc, 0)
			}
			idx := make([]uint16, n)
			for i := range idx {
				idx[i] = uint16(i)
			}
			b.Run("get", func(b *testing.B) {
				b.SetBytes(total)
				cpu0 := cpuTime()
				defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op") }()
				for i := range b.N {
					enc := encs[i%blobs]
					for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
						size, _ := p2p.SliverSize(enc.Metadata, axis)
						res, err := e.p2p.GetSlivers(e.ctx, e.pid(0), enc.BlobID, axis, idx, size)
						if err != nil || len(res) != n || res[0].Err != nil {
							b.Fatalf("get: %v", err)
						}
					}
				}
			})
		})
	}
}
