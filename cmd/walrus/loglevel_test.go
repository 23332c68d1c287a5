package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestCLILoggerLevel: client commands log warnings by default, and what
// $WALRUS_LOG_LEVEL asks for (debug shows a store's timings); a level that
// does not parse is named and the default kept.
func TestCLILoggerLevel(t *testing.T) {
	t.Setenv("RUST_LOG", "")
	for _, c := range []struct {
		env          string
		debug, warns bool
		complaint    bool
	}{
		{"", false, true, false},
		{"debug", true, true, false},
		{"error", false, false, false},
		{"loud", false, true, true},
	} {
		t.Setenv(logLevelEnv, c.env)
		var out bytes.Buffer
		cmd := &cobra.Command{}
		cmd.SetErr(&out)
		log := cliLogger(cmd)
		if got := log.Enabled(context.Background(), slog.LevelDebug); got != c.debug {
			t.Errorf("%s=%q: debug enabled %v, want %v", logLevelEnv, c.env, got, c.debug)
		}
		if got := log.Enabled(context.Background(), slog.LevelWarn); got != c.warns {
			t.Errorf("%s=%q: warn enabled %v, want %v", logLevelEnv, c.env, got, c.warns)
		}
		if got := strings.Contains(out.String(), logLevelEnv); got != c.complaint {
			t.Errorf("%s=%q: stderr %q", logLevelEnv, c.env, out.String())
		}
	}
}
