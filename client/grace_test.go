package client

import (
	"errors"
	"math"
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

func TestGraceFactorBounds(t *testing.T) {
	for _, f := range []float64{MaxGraceFactor + 0.1, math.NaN(), math.Inf(1)} {
		cfg := Config{Chain: Chain(nil), GraceFactor: f}
		cfg.EnsureDefaults()
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("GraceFactor %v: Validate() = %v, want ErrInvalidOptions", f, err)
		}
	}
}
