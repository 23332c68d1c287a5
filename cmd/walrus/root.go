package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/walrus-go/walrus/encoding"
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

// hyphenBlobIDs moves arguments that are blob IDs starting with "-" (a
// base64url ID may) behind a "--", so that cobra takes them as arguments
// and not as flags, as Walrus's CLI (clap's allow_hyphen_values) does:
// `walrus read -Xy…` works. A blob ID that is a flag's value stays.
func hyphenBlobIDs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	var keep, moved []string
	for i, a := range args {
		if a == "--" {
			keep = append(keep, args[i:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' {
			if _, err := encoding.ParseBlobID(a); err == nil && !takesValue(cmd, keep) {
				moved = append(moved, a)
				continue
			}
		}
		keep = append(keep, a)
	}
	if len(moved) == 0 {
		return args
	}
	if slices.Contains(keep, "--") {
		i := slices.Index(keep, "--")
		return slices.Concat(keep[:i+1], moved, keep[i+1:])
	}
	return slices.Concat(keep, []string{"--"}, moved)
}

// takesValue reports whether the last of before is a flag of cmd that
// takes the next argument as its value.
func takesValue(cmd *cobra.Command, before []string) bool {
	if len(before) == 0 {
		return false
	}
	last := before[len(before)-1]
	if !strings.HasPrefix(last, "-") || strings.Contains(last, "=") {
		return false
	}
	name := strings.TrimLeft(last, "-")
	var f *pflag.Flag
	if strings.HasPrefix(last, "--") {
		f = cmd.Flags().Lookup(name)
	} else if len(name) == 1 {
		f = cmd.Flags().ShorthandLookup(name)
	}
	if f == nil {
		f = cmd.InheritedFlags().Lookup(name)
	}
	return f != nil && f.NoOptDefVal == ""
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
	return executeCtx(ctx, args, stdin, stdout, stderr)
}

// executeCtx is executeIO under ctx (its end is a Ctrl-C).
func executeCtx(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	resolved.flags = nil
	root := newRootCmd()
	root.SetArgs(hyphenBlobIDs(root, args))
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
