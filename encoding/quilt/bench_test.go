package quilt

import (
	"fmt"
	"testing"
)

// benchBlobs is k files of size bytes each.
func benchBlobs(k, size int) []Blob {
	out := make([]Blob, k)
	for i := range out {
		out[i] = Blob{Identifier: fmt.Sprintf("file-%04d.bin", i), Data: oracleBytes(size, uint32(i)), Tags: map[string]string{"i": fmt.Sprint(i)}}
	}
	return out
}

// BenchmarkEncode lays k files into a quilt for n = 1000 shards (not the
// RS2 encode of the quilt, which package encoding measures).
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct{ k, size int }{{10, 100 << 10}, {600, 10 << 10}} {
		blobs := benchBlobs(c.k, c.size)
		b.Run(fmt.Sprintf("files=%d/size=%d", c.k, c.size), func(b *testing.B) {
			b.SetBytes(int64(c.k * c.size))
			for b.Loop() {
				if _, err := Encode(blobs, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenAndRead opens a quilt of 600 files at n = 1000 and reads one
// patch by identifier.
func BenchmarkOpenAndRead(b *testing.B) {
	q, err := Encode(benchBlobs(600, 10<<10), 1000)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(10 << 10)
	for b.Loop() {
		o, err := Open(q.Data, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.Blob("file-0300.bin"); err != nil {
			b.Fatal(err)
		}
	}
}
