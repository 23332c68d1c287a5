package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// commands holds the constructors of the top-level commands. Each command's
// file adds its own in an init function, so that adding a command touches one
// file.
var commands []func() *cobra.Command

func register(fn func() *cobra.Command) { commands = append(commands, fn) }

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "walrus",
		Short:         "A decentralized, erasure-coded blob store (Walrus-compatible)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, fn := range commands {
		root.AddCommand(fn())
	}
	return root
}

// execute runs the command line and returns the process exit code. SIGINT and
// SIGTERM cancel the command's context.
func execute(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}
