package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// preallocate reserves size bytes of disk for f, without changing its
// length (FALLOC_FL_KEEP_SIZE). Besides failing early on a full disk, it
// spares the rename of a fully written temporary file over an existing one
// a synchronous flush: ext4 (auto_da_alloc) writes out a replacing file's
// delayed-allocation blocks at the rename, about 50 ms for 64 MiB, and a
// file whose blocks are allocated has none. Best effort: an error (a file
// system without fallocate) is ignored, and the writes allocate as usual.
func preallocate(f *os.File, size int64) {
	if size > 0 {
		_ = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, size)
	}
}
