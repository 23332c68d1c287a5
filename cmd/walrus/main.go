// Command walrus is the one binary of the network: storage node, client,
// publisher/aggregator daemon, local chain and one-command devnet.
//
// This package only assembles cobra commands: each command builds a config,
// calls into the packages that do the work, and prints the result.
//
// The environment variable WALRUS_CPUPROFILE, set to a path, makes any
// command write a CPU profile of the whole process there (go tool pprof):
// for measuring a CLI command as its user runs it. WALRUS_LOG_LEVEL (debug,
// info, warn, error; default warn) sets the level of a client command's log
// on stderr (or RUST_LOG, as Walrus reads it): at debug the client logs the
// timings of a store's steps.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names the file the process's CPU profile is written to.
const cpuProfileEnv = "WALRUS_CPUPROFILE"

func main() {
	stop := startCPUProfile(os.Getenv(cpuProfileEnv))
	code := execute(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// startCPUProfile starts a CPU profile into path (none if path is empty)
// and returns what stops it. A profile that cannot start is reported on
// stderr; the command runs anyway.
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "walrus: %s: %v\n", cpuProfileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "walrus: %s: %v\n", cpuProfileEnv, err)
		}
	}
}
