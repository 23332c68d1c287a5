//go:build race

package blake2bx

import (
	"runtime"
	"unsafe"
)

// The kernels are assembly, which the race detector does not see: Batch
// reports their reads of each message itself.
const raceEnabled = true

func raceRead(p *byte, n int) {
	if n > 0 {
		runtime.RaceReadRange(unsafe.Pointer(p), n)
	}
}
