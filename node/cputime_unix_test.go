//go:build unix

package node_test

import "syscall"

// cpuTime is the process's user and system CPU time in nanoseconds. On a
// machine shared with other work, CPU time per op varies far less than wall
// time; benchmarks report both.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
