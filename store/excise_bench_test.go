package store

import (
	"testing"
)

// benchTables writes 64 MiB of sliver pairs (200 KiB each), flushed into
// tables, and returns the store and its tables.
func benchTables(b *testing.B) (*Store, []Table) {
	b.Helper()
	s, _ := openTest(b, Options{DisableSync: true})
	const sz = 2048
	primary, secondary := benchPairData(sz)
	for i := range uint64(64 << 20 / (101 * sz)) {
		id, pairs := benchBlob(i, 1, primary, secondary, sz)
		if err := s.PutPairs(bg, id, pairs); err != nil {
			b.Fatal(err)
		}
	}
	// Compacted, so that no background compaction replaces the tables
	// while they are read.
	if err := s.Compact(bg); err != nil {
		b.Fatal(err)
	}
	tables, err := s.Tables()
	if err != nil {
		b.Fatal(err)
	}
	return s, tables
}

// BenchmarkVerifyTable measures the scrubber's first phase: every block of
// every table read from disk (the page cache, here) and its checksum checked.
// MB/s counts table bytes.
func BenchmarkVerifyTable(b *testing.B) {
	s, tables := benchTables(b)
	var size int64
	for _, t := range tables {
		size += int64(t.Size)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		for _, t := range tables {
			if err := s.VerifyTable(bg, t, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkExcise measures the excision of a whole healthy store's key range
// (everything salvaged and ingested again): the cost of repairing a damaged
// table, per byte it holds. MB/s counts table bytes.
func BenchmarkExcise(b *testing.B) {
	s, tables := benchTables(b)
	var size int64
	for _, t := range tables {
		size += int64(t.Size)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		res, err := s.Excise(bg, Damage{Start: []byte{SchemaVersion}, End: []byte{SchemaVersion + 1}, File: "bench"})
		if err != nil || len(res.Pairs) != 0 || len(res.Lost) != 0 {
			b.Fatalf("Excise = %+v, %v", res, err)
		}
	}
}
