package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/walrus-go/walrus/chain"
)

// epochArg is Walrus's choice of a blob's lifetime: --epochs N|max,
// --end-epoch E or --earliest-expiry-time T, at most one of them. None
// means defaultEpochs (Walrus requires one).
type epochArg struct {
	epochs   string
	endEpoch uint32
	expiry   string
}

// defaultEpochs is the lifetime of a store that names none.
const defaultEpochs = 1

func (a *epochArg) register(f *pflag.FlagSet) {
	f.StringVar(&a.epochs, "epochs", "", fmt.Sprintf(`number of epochs to store the blobs for, from the current one, or "max" (default %d)`, defaultEpochs))
	f.Uint32Var(&a.endEpoch, "end-epoch", 0, "the epoch the blobs expire at (exclusive); after the current one")
	f.StringVar(&a.expiry, "earliest-expiry-time", "", `the blobs live at least until this time, RFC 3339 ("2026-03-20T15:00:00Z") or "2026-03-20 15:00:00" (UTC)`)
}

// errEpochArg is returned for an --epochs, --end-epoch or
// --earliest-expiry-time that does not fit.
var errEpochArg = errors.New("invalid lifetime")

// check validates the flags alone, before the chain is asked.
func (a *epochArg) check() error {
	n := 0
	for _, set := range []bool{a.epochs != "", a.endEpoch != 0, a.expiry != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w: give at most one of --epochs, --end-epoch and --earliest-expiry-time", errEpochArg)
	}
	if a.epochs != "" && a.epochs != "max" {
		v, err := strconv.ParseUint(a.epochs, 10, 32)
		if err != nil || v == 0 {
			return fmt.Errorf("%w: --epochs %q: want a number of epochs, at least 1, or max", errEpochArg, a.epochs)
		}
	}
	if a.expiry != "" {
		if _, err := parseExpiry(a.expiry); err != nil {
			return err
		}
	}
	return nil
}

// parseExpiry parses Walrus's --earliest-expiry-time: RFC 3339, or the
// same without a zone (UTC), with a space or a T.
func parseExpiry(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: --earliest-expiry-time %q: want RFC 3339, e.g. 2026-03-20T15:00:00Z", errEpochArg, s)
}

// epochsAhead turns the flags into a number of epochs from the current one,
// as Walrus's CLI does: "max" is the chain's maximum; an end epoch must be
// after the current epoch; an expiry time counts whole epochs from the
// current epoch's start, plus one.
func (a *epochArg) epochsAhead(st *chain.SystemState, now time.Time) (uint32, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	var n uint32
	switch {
	case a.epochs == "max":
		return st.MaxEpochsAhead, nil
	case a.epochs != "":
		v, _ := strconv.ParseUint(a.epochs, 10, 32)
		n = uint32(v)
	case a.endEpoch != 0:
		if a.endEpoch <= st.Epoch {
			return 0, fmt.Errorf("%w: --end-epoch %d is not after the current epoch %d", errEpochArg, a.endEpoch, st.Epoch)
		}
		n = a.endEpoch - st.Epoch
	case a.expiry != "":
		t, _ := parseExpiry(a.expiry)
		if !t.After(now) || !t.After(st.EpochStart) {
			return 0, fmt.Errorf("%w: --earliest-expiry-time %s is not in the future", errEpochArg, t.Format(time.RFC3339))
		}
		if st.EpochDuration <= 0 {
			return 0, fmt.Errorf("%w: the chain reports no epoch duration", errEpochArg)
		}
		k := uint64(t.Sub(st.EpochStart)/st.EpochDuration) + 1
		if k > uint64(^uint32(0)) {
			return 0, fmt.Errorf("%w: --earliest-expiry-time is too far in the future", errEpochArg)
		}
		n = uint32(k)
	default:
		n = defaultEpochs
	}
	if st.MaxEpochsAhead != 0 && n > st.MaxEpochsAhead {
		return 0, fmt.Errorf("%w: blobs can only be stored for up to %d epochs ahead; %d epochs were requested", errEpochArg, st.MaxEpochsAhead, n)
	}
	return n, nil
}
