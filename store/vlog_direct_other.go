//go:build !linux

package store

import "github.com/cockroachdb/pebble/v2/vfs"

// setDirect reports that direct I/O is not used here.
func setDirect(vfs.File) bool { return false }
