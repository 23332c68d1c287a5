package encoding

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the platforms this
// file builds for (amd64 and arm64 with 4 KiB base pages).
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the whole huge pages inside b with
// transparent huge pages (madvise MADV_HUGEPAGE), where it is configured to
// do so on request (/sys/kernel/mm/transparent_hugepage/enabled: madvise or
// always). For fresh memory the encoder is about to fill, that is one fault
// per 2 MiB instead of one per 4 KiB: a CLI store of 64 MiB took about
// 100,000 of them. Errors are ignored: the advice only saves time.
func adviseHuge(b []byte) {
	if len(b) < 2*hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + hugePage - 1) &^ (hugePage - 1)
	hi := (p + uintptr(len(b))) &^ (hugePage - 1)
	if hi > lo {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_HUGEPAGE)
	}
}
