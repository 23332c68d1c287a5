package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain/local"
)

func init() { register(newChainCmd) }

// chainCommands holds the constructors of the subcommands of `walrus chain`;
// each subcommand's file adds its own.
var chainCommands []func() *cobra.Command

func newChainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chain",
		Short: "Run the embedded local chain",
	}
	for _, fn := range chainCommands {
		cmd.AddCommand(fn())
	}
	return cmd
}

// chainURLEnv names the environment variable that overrides the default
// --chain of the commands that read the chain.
const chainURLEnv = "WALRUS_CHAIN_URL"

// defaultChainURL is $WALRUS_CHAIN_URL, or the local chain's default address.
func defaultChainURL() string {
	if u := os.Getenv(chainURLEnv); u != "" {
		return u
	}
	return "http://" + local.DefaultAddr
}
