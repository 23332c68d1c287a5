//go:build !unix

package node_test

func cpuTime() int64 { return 0 }
