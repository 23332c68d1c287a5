package faults

import (
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// ErrDisk is the error a Disk injects (Pebble's errorfs.ErrInjected).
var ErrDisk = errorfs.ErrInjected

// Disk is a node's real file system (the OS's, or any vfs.FS) that fails
// operations on demand: reads of the store's table files, or every write.
// It is safe for concurrent use.
type Disk struct {
	fs         *errorfs.FS
	failReads  atomic.Bool
	failWrites atomic.Bool
	injected   atomic.Int64
}

// NewDisk wraps base (nil: vfs.Default).
func NewDisk(base vfs.FS) *Disk {
	if base == nil {
		base = vfs.Default
	}
	d := &Disk{}
	d.fs = errorfs.Wrap(base, errorfs.InjectorFunc(d.maybeError))
	return d
}

// FS is the file system to give the node (node.Deps.FS).
func (d *Disk) FS() vfs.FS { return d.fs }

// FailReads makes reads of the store's table files (*.sst, where slivers
// live once flushed) fail from now on, or stop failing.
func (d *Disk) FailReads(on bool) { d.failReads.Store(on) }

// FailWrites makes every write operation fail from now on, or stop failing.
// Pebble treats a failed WAL write as fatal: use it to test that a node
// refuses, loses nothing, and that its shutdown is clean.
func (d *Disk) FailWrites(on bool) { d.failWrites.Store(on) }

// Injected is how many errors the disk has injected.
func (d *Disk) Injected() int64 { return d.injected.Load() }

func (d *Disk) maybeError(op errorfs.Op) error {
	switch op.Kind.ReadOrWrite() {
	case errorfs.OpIsRead:
		if d.failReads.Load() && (op.Kind == errorfs.OpFileRead || op.Kind == errorfs.OpFileReadAt) && strings.HasSuffix(op.Path, ".sst") {
			d.injected.Add(1)
			return ErrDisk
		}
	case errorfs.OpIsWrite:
		if d.failWrites.Load() {
			d.injected.Add(1)
			return ErrDisk
		}
	}
	return nil
}
