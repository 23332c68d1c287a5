// Command walrus is the one binary of the network: storage node, client,
// publisher/aggregator daemon, local chain and one-command devnet.
//
// This package only assembles cobra commands: each command builds a config,
// calls into the packages that do the work, and prints the result.
package main

import (
	"os"
)

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}
