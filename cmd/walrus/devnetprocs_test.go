package main

import (
	"runtime"
	"testing"
)

// TestDevnetProcs checks that the devnet raises GOMAXPROCS to its node
// count, never lowers it, and leaves a GOMAXPROCS the user set alone.
func TestDevnetProcs(t *testing.T) {
	saved := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(saved)
	t.Setenv("GOMAXPROCS", "")
	devnetProcs(saved + 2)
	if got := runtime.GOMAXPROCS(0); got != saved+2 {
		t.Errorf("GOMAXPROCS %d after devnetProcs(%d), want %d", got, saved+2, saved+2)
	}
	devnetProcs(1)
	if got := runtime.GOMAXPROCS(0); got != saved+2 {
		t.Errorf("devnetProcs(1) lowered GOMAXPROCS to %d", got)
	}
	runtime.GOMAXPROCS(saved)
	t.Setenv("GOMAXPROCS", "1")
	devnetProcs(saved + 5)
	if got := runtime.GOMAXPROCS(0); got != saved {
		t.Errorf("with GOMAXPROCS set, devnetProcs changed it to %d", got)
	}
}
