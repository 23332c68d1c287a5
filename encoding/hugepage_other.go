//go:build !linux

package encoding

// adviseHuge does nothing here (see hugepage_linux.go).
func adviseHuge([]byte) {}
