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
