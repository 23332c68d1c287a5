//go:build !noasm && !appengine && !gccgo && !nopshufb && !purego

package encoding

import (
	"testing"
	_ "unsafe" // go:linkname
)

//go:linkname klauspostInitMul16LUT github.com/klauspost/reedsolomon.initMul16LUT
func klauspostInitMul16LUT()

// TestKlauspostTablesMatch checks that the tables klauspostLeanInit builds
// are the ones klauspost's own initMul16LUT builds.
func TestKlauspostTablesMatch(t *testing.T) {
	klauspostLeanInit()
	if klauspostLogLUT == nil || klauspostExpLUT == nil {
		t.Fatal("klauspost's log tables are not built")
	}
	lean256, leanGFNI := klauspostMultiply256LUT, klauspostGFNIMatrices
	if lean256 == nil {
		t.Skip("this CPU has no AVX2: klauspost initialises itself")
	}
	klauspostInitMul16LUT() // replaces the tables with its own
	if *lean256 != *klauspostMultiply256LUT {
		t.Error("multiply256LUT differs from klauspost's")
	}
	if (leanGFNI == nil) != (klauspostGFNIMatrices == nil) {
		t.Fatalf("GFNI matrices built: ours %v, klauspost's %v", leanGFNI != nil, klauspostGFNIMatrices != nil)
	}
	if leanGFNI != nil && *leanGFNI != *klauspostGFNIMatrices {
		t.Error("GFNI matrices differ from klauspost's")
	}
}

func TestCapL3(t *testing.T) {
	for _, tc := range []struct{ l2, l3, want int }{
		{2 << 20, 480 << 20, 4 << 20}, // a VM's view of its host
		{1 << 20, 32 << 20, 2 << 20},
		{2 << 20, 32 << 20, 32 << 20}, // 16×: left alone
		{1 << 20, -1, -1},             // unknown
		{0, 64 << 20, 64 << 20},       // L2 unknown
	} {
		if got := cappedL3(tc.l2, tc.l3); got != tc.want {
			t.Errorf("L2 %d, L3 %d: L3 capped to %d, want %d", tc.l2, tc.l3, got, tc.want)
		}
	}
}

// BenchmarkKlauspostTables is the lean initialisation's two tables, built
// again: part of the start of every process that encodes or verifies.
func BenchmarkKlauspostTables(b *testing.B) {
	klauspostLeanInit()
	for b.Loop() {
		buildKlauspostTables(klauspostTableMemory())
	}
}
