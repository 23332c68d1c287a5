//go:build !linux

package main

import "os"

// preallocate does nothing here; see prealloc_linux.go.
func preallocate(*os.File, int64) {}
