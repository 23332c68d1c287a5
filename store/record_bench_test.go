package store

import "testing"

// BenchmarkUnmarshalRecord measures the blob record decoder, with the
// largest record (MaxObjectIDs object IDs) and a typical one.
func BenchmarkUnmarshalRecord(b *testing.B) {
	for _, n := range []int{1, MaxObjectIDs} {
		rec := fullRecord()
		rec.ObjectIDs = make([]ObjectID, n)
		enc := marshalRecord(&rec)
		b.Run(map[int]string{1: "ids=1", MaxObjectIDs: "ids=1024"}[n], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unmarshalRecord(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
