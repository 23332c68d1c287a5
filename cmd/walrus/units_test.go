package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
		bad  string // a part of the reason, for input that must fail
	}{
		{in: "1", want: chain.FrostPerWAL},
		{in: "1.5", want: 1_500_000_000},
		{in: "0.000000001", want: 1},
		{in: "0", want: 0},
		{in: "1000", want: 1000 * chain.FrostPerWAL},
		{in: "1.5wal", want: 1_500_000_000},
		{in: "1.5 WAL", want: 1_500_000_000},
		{in: " 2Wal ", want: 2 * chain.FrostPerWAL},
		{in: "1500000000frost", want: 1_500_000_000},
		{in: "7 FROST", want: 7},
		{in: "18446744073709551615frost", want: math.MaxUint64},
		{in: "18446744073.709551615", want: math.MaxUint64},
		{in: "", bad: "no number"},
		{in: "wal", bad: "no number"},
		{in: "frost", bad: "no number"},
		{in: "abc", bad: "not a decimal"},
		{in: "-1", bad: "not a decimal"},
		{in: "+1", bad: "not a decimal"},
		{in: "1e9", bad: "not a decimal"},
		{in: "1.2.3", bad: "not a decimal"},
		{in: ".5", bad: "not a decimal"},
		{in: "1.", bad: "not a decimal"},
		{in: "1,5", bad: "not a decimal"},
		{in: "0x10", bad: "not a decimal"},
		{in: "1.5frost", bad: "FROST are whole"},
		{in: "0.0000000001", bad: "more than 9 decimals"},
		{in: "18446744074", bad: "too large"},
		{in: "18446744073.709551616", bad: "too large"},
		{in: "18446744073709551616frost", bad: "too large"},
		{in: "1 sui", bad: "not a decimal"},
	}
	for _, tc := range cases {
		got, err := parseAmount(tc.in)
		if tc.bad != "" {
			var ae *AmountError
			if !errors.As(err, &ae) || !errors.Is(err, errInvalidAmount) || ae.Input != tc.in || !strings.Contains(ae.Reason, tc.bad) {
				t.Errorf("parseAmount(%q) = %d, %v; want an AmountError about %q", tc.in, got, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		// What formatWAL prints parses back to the same amount.
		if back, err := parseAmount(formatWAL(got)); err != nil || back != got {
			t.Errorf("parseAmount(formatWAL(%d)) = %d, %v", got, back, err)
		}
	}
}

func TestFormatters(t *testing.T) {
	for in, want := range map[uint64]string{0: "0", 1: "0.000000001", chain.FrostPerWAL: "1", 1_500_000_000: "1.5"} {
		if got := formatWAL(in); got != want {
			t.Errorf("formatWAL(%d) = %q, want %q", in, got, want)
		}
	}
	if got := formatAmount(1_500_000_000); got != "1.5 WAL (1500000000 FROST)" {
		t.Errorf("formatAmount = %q", got)
	}
	for in, want := range map[uint16]string{0: "0", 1000: "10", 1234: "12.34", 10_000: "100", 5: "0.05"} {
		if got := formatBPS(in); got != want {
			t.Errorf("formatBPS(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestAmountsValue(t *testing.T) {
	var got []uint64
	v := &amountsValue{frost: &got}
	got = []uint64{chain.FrostPerWAL} // the default, replaced by the first Set
	if err := v.Set("1.5,2frost"); err != nil {
		t.Fatal(err)
	}
	if err := v.Set("3"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != 1_500_000_000 || got[1] != 2 || got[2] != 3*chain.FrostPerWAL {
		t.Fatalf("amounts %v", got)
	}
	if v.String() != "1.5,0.000000002,3" {
		t.Errorf("String() = %q", v.String())
	}
	if err := v.Set("1,x"); !errors.Is(err, errInvalidAmount) {
		t.Errorf("bad list element: %v", err)
	}
}

// FuzzParseAmount: whatever parses, formats back to the same amount, and
// what fails fails with an AmountError.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1", "1.5", "0.000000001", "1500000000frost", "2 WAL", "18446744073.709551615", "1e9", "-1", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseAmount(s)
		if err != nil {
			var ae *AmountError
			if !errors.As(err, &ae) || !errors.Is(err, errInvalidAmount) {
				t.Fatalf("parseAmount(%q): untyped error %v", s, err)
			}
			return
		}
		back, err := parseAmount(formatWAL(v))
		if err != nil || back != v {
			t.Fatalf("parseAmount(%q) = %d; formatWAL gives %q, which parses to %d, %v", s, v, formatWAL(v), back, err)
		}
		if frost, err := parseAmount(strconv.FormatUint(v, 10) + "frost"); err != nil || frost != v {
			t.Fatalf("%d frost parses to %d, %v", v, frost, err)
		}
	})
}
