package main

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/walrus-go/walrus/chain"
)

// Amounts of WAL on the command line.
//
// Every flag that takes an amount (stake --amount, get-wal --amount,
// node register --stake) reads it the same way, with parseAmount:
//
//	1.5        1.5 WAL: a decimal number of WAL, up to 9 decimals
//	1.5wal     the same, with the unit spelled out (case-insensitive)
//	1500000000frost
//	           FROST, the smallest unit (1 WAL = 10^9 FROST): a whole number
//
// A space may stand between the number and the unit when the argument is
// quoted ("1.5 WAL"). Output prints amounts as formatAmount does: WAL with
// FROST in parentheses ("1.5 WAL (1500000000 FROST)"); JSON output gives
// amounts in FROST, as whole numbers, as Walrus's does.
//
// Walrus's own CLI takes FROST in stake --amount; here a bare number is WAL,
// so a FROST amount needs its "frost" suffix.

// errInvalidAmount marks every error of parseAmount (errors.Is).
var errInvalidAmount = errors.New("invalid amount")

// AmountError is the error of an amount that does not parse: Input is what
// was given and Reason what is wrong with it. It matches errInvalidAmount.
type AmountError struct {
	Input  string
	Reason string
}

func (e *AmountError) Error() string {
	return fmt.Sprintf("invalid amount %q: %s (give WAL, e.g. 1.5, or FROST with a suffix, e.g. 1500000000frost)", e.Input, e.Reason)
}

// Is makes errors.Is(err, errInvalidAmount) hold.
func (e *AmountError) Is(target error) bool { return target == errInvalidAmount }

// walDecimals is how many decimals a WAL amount can have: FROST are whole.
const walDecimals = 9

// parseAmount parses an amount of WAL (see the grammar above) and returns it
// in FROST. Zero parses; a command that needs a positive amount checks.
func parseAmount(s string) (uint64, error) {
	bad := func(reason string) (uint64, error) { return 0, &AmountError{Input: s, Reason: reason} }
	num := strings.TrimSpace(s)
	frost := false
	lower := strings.ToLower(num)
	switch {
	case strings.HasSuffix(lower, "frost"):
		frost, num = true, num[:len(num)-len("frost")]
	case strings.HasSuffix(lower, "wal"):
		num = num[:len(num)-len("wal")]
	}
	num = strings.TrimSpace(num)
	if num == "" {
		return bad("no number")
	}
	whole, frac, hasPoint := strings.Cut(num, ".")
	if !allDigits(whole) || (hasPoint && !allDigits(frac)) {
		return bad("not a decimal number")
	}
	if frost {
		if hasPoint {
			return bad("FROST are whole; use WAL for fractions")
		}
		v, err := strconv.ParseUint(whole, 10, 64)
		if err != nil {
			return bad("too large")
		}
		return v, nil
	}
	if len(frac) > walDecimals {
		return bad("more than 9 decimals (1 FROST is 0.000000001 WAL)")
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return bad("too large")
	}
	hi, v := bits.Mul64(w, chain.FrostPerWAL)
	if hi != 0 {
		return bad("too large")
	}
	if frac != "" {
		f, _ := strconv.ParseUint(frac+strings.Repeat("0", walDecimals-len(frac)), 10, 64)
		var carry uint64
		if v, carry = bits.Add64(v, f, 0); carry != 0 {
			return bad("too large")
		}
	}
	return v, nil
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// amountValue is a pflag.Value of one amount, parsed by parseAmount.
type amountValue struct{ frost *uint64 }

func newAmountValue(p *uint64, def uint64) *amountValue {
	*p = def
	return &amountValue{p}
}

func (a *amountValue) Set(s string) error {
	v, err := parseAmount(s)
	if err != nil {
		return err
	}
	*a.frost = v
	return nil
}

func (a *amountValue) String() string {
	if a.frost == nil {
		return "0"
	}
	return formatWAL(*a.frost)
}

func (a *amountValue) Type() string { return "WAL" }

// amountsValue is a pflag.Value of a list of amounts: repeated flags or
// comma-separated values.
type amountsValue struct {
	frost   *[]uint64
	changed bool
}

func (a *amountsValue) Set(s string) error {
	if !a.changed {
		*a.frost = nil
		a.changed = true
	}
	for _, part := range strings.Split(s, ",") {
		v, err := parseAmount(part)
		if err != nil {
			return err
		}
		*a.frost = append(*a.frost, v)
	}
	return nil
}

func (a *amountsValue) String() string {
	if a.frost == nil {
		return ""
	}
	parts := make([]string, len(*a.frost))
	for i, v := range *a.frost {
		parts[i] = formatWAL(v)
	}
	return strings.Join(parts, ",")
}

func (a *amountsValue) Type() string { return "WAL" }

// formatWAL shows FROST as WAL with up to nine decimals: "1.5".
func formatWAL(frost uint64) string {
	s := fmt.Sprintf("%d.%09d", frost/chain.FrostPerWAL, frost%chain.FrostPerWAL)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// formatAmount shows FROST as WAL and FROST: "1.5 WAL (1500000000 FROST)".
func formatAmount(frost uint64) string {
	return fmt.Sprintf("%s WAL (%d FROST)", formatWAL(frost), frost)
}

// formatBPS shows basis points as a percentage: 1234 is "12.34".
func formatBPS(bps uint16) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%02d", bps/100, bps%100), "0"), ".")
}
