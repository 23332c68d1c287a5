//go:build !unix

package encoding

func cpuTime() int64 { return 0 }
