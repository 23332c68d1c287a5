package client

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestGraceAfter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		toQuorum time.Duration
		want     time.Duration
	}{
		{"defaults, small store", Config{}, 20 * time.Millisecond, DefaultGracePeriod + 10*time.Millisecond},
		{"defaults, large store", Config{}, 2 * time.Second, DefaultGracePeriod + time.Second},
		{"no factor", Config{GraceFactor: -1}, 2 * time.Second, DefaultGracePeriod},
		{"no grace at all", Config{GracePeriod: -1}, 2 * time.Second, 0},
		{"factor 2", Config{GracePeriod: time.Millisecond, GraceFactor: 2}, time.Second, 2*time.Second + time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.EnsureDefaults()
			if got := cfg.graceAfter(tc.toQuorum); got != tc.want {
				t.Errorf("graceAfter(%v) = %v, want %v", tc.toQuorum, got, tc.want)
			}
		})
	}
}

// TestGraceFactorBounds: Validate names a GraceFactor outside [0,
// MaxGraceFactor] (the config has no Chain either, so the test looks for
// GraceFactor's own complaint).
func TestGraceFactorBounds(t *testing.T) {
	for _, tc := range []struct {
		factor float64
		bad    bool
	}{
		{0.5, false},
		{MaxGraceFactor, false},
		{-1, false}, // none, after EnsureDefaults
		{MaxGraceFactor + 0.1, true},
		{math.NaN(), true},
		{math.Inf(1), true},
	} {
		cfg := Config{GraceFactor: tc.factor}
		cfg.EnsureDefaults()
		err := cfg.Validate()
		if !errors.Is(err, ErrInvalidOptions) {
			t.Fatalf("Validate() = %v, want ErrInvalidOptions (no Chain)", err)
		}
		if got := strings.Contains(err.Error(), "GraceFactor"); got != tc.bad {
			t.Errorf("GraceFactor %v: Validate() = %v; complains of GraceFactor: %v, want %v", tc.factor, err, got, tc.bad)
		}
	}
}
