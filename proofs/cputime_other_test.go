//go:build !unix

package proofs

func cpuTime() int64 { return 0 }
