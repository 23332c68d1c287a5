package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"runtime/debug"
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
		Version:       walrusVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("walrus {{.Version}}\n")
	// The client flags are global, as in Walrus's CLI: `walrus --json info`
	// and `walrus info --json` are the same. Each command that uses them
	// also declares them itself (clientFlags.register); a command's own
	// flag shadows the root's, so the value lands in the command wherever
	// it stands on the line. The root's declarations let cobra find the
	// subcommand past a flag that takes a value (`walrus --config F store`).
	var global clientFlags
	global.registerOn(root.PersistentFlags())
	for _, fn := range commands {
		root.AddCommand(fn())
	}
	return root
}

// version is set at link time (-ldflags "-X main.version=v1.2.3"); without
// it, the module's version or VCS revision is shown.
var version = ""

func walrusVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" && (v == "" || v == "(devel)") {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return "0.0.0-" + rev + dirty
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

// execute runs the command line and returns the process exit code. SIGINT and
// SIGTERM cancel the command's context.
func execute(args []string, stdout, stderr io.Writer) int {
	return executeIO(args, nil, stdout, stderr)
}

// executeIO is execute with standard input (nil: the process's).
func executeIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	resolved.flags = nil
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if stdin != nil {
		root.SetIn(stdin)
	}
	if err := root.ExecuteContext(ctx); err != nil {
		if resolved.flags != nil {
			err = resolved.flags.explain(resolved.chain, err)
		}
		fmt.Fprintln(stderr, "Error:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}
