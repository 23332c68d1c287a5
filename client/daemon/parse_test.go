package daemon

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"
)

func TestParseRange(t *testing.T) {
	cases := []struct {
		h     string
		size  int64
		want  byteRange
		ok    bool
		unsat bool
	}{
		{"", 10, byteRange{}, false, false},
		{"bytes=0-0", 10, byteRange{0, 1}, true, false},
		{"bytes=0-9", 10, byteRange{0, 10}, true, false},
		{"bytes=0-99", 10, byteRange{0, 10}, true, false},
		{"bytes=3-", 10, byteRange{3, 7}, true, false},
		{"bytes=-3", 10, byteRange{7, 3}, true, false},
		{"bytes=-30", 10, byteRange{0, 10}, true, false},
		{"bytes= 2 - 4 ", 10, byteRange{2, 3}, true, false},
		{"bytes=10-", 10, byteRange{}, false, true},
		{"bytes=0-", 0, byteRange{}, false, true},
		{"bytes=-1", 0, byteRange{}, false, true},
		{"bytes=-0", 10, byteRange{}, false, true},
		{"bytes=5-2", 10, byteRange{}, false, false},
		{"bytes=1-2,4-5", 10, byteRange{}, false, false},
		{"bytes=+1-2", 10, byteRange{}, false, false},
		{"bytes=1", 10, byteRange{}, false, false},
		{"bytes=-", 10, byteRange{}, false, false},
		{"bytes=99999999999999999999-", 10, byteRange{}, false, false},
		{"chunks=0-1", 10, byteRange{}, false, false},
	}
	for _, tc := range cases {
		got, ok, err := parseRange(tc.h, tc.size)
		if got != tc.want || ok != tc.ok || (err != nil) != tc.unsat {
			t.Errorf("parseRange(%q, %d) = %v, %v, %v; want %v, %v, unsatisfiable %v", tc.h, tc.size, got, ok, err, tc.want, tc.ok, tc.unsat)
		}
	}
}

// FuzzParseRange checks that a parsed range always lies inside the blob
// and that a single well-formed range round-trips.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=3-", "bytes=1-2,3-4", "bytes=9-1", "bytes= 1 - 2"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		r, ok, err := parseRange(h, size)
		if err != nil && ok {
			t.Fatalf("%q: both ok and unsatisfiable", h)
		}
		if !ok {
			return
		}
		if r.Start < 0 || r.Length < 1 || r.Start+r.Length > size {
			t.Fatalf("parseRange(%q, %d) = %+v: outside the blob", h, size, r)
		}
		again, ok2, err2 := parseRange(fmt.Sprintf("bytes=%d-%d", r.Start, r.Start+r.Length-1), size)
		if !ok2 || err2 != nil || again != r {
			t.Fatalf("round trip of %+v: %+v, %v, %v", r, again, ok2, err2)
		}
	})
}

func TestParseStoreQueryDefaults(t *testing.T) {
	cases := []struct {
		raw       string
		deletable bool
		epochs    uint32
		force     bool
	}{
		{"", true, 1, false},
		{"epochs=7", true, 7, false},
		{"permanent=true", false, 1, false},
		{"permanent=false", true, 1, false},
		// As Walrus: deletable is the default, deletable=false alone
		// changes nothing, and both false is deletable.
		{"deletable=false", true, 1, false},
		{"deletable=false&permanent=false", true, 1, false},
		{"deletable=false&permanent=true", false, 1, false},
		{"deletable=true&permanent=false", true, 1, false},
		{"force=true&epochs=2", true, 2, true},
		// Accepted as Walrus accepts them.
		{"encoding_type=RS2&reuse_resources=true&share=false&quilt_version=v1", true, 1, false},
		{"reuse_resources=false&quilt_version=V1", true, 1, false},
		{"quilt_version=1", true, 1, false},
	}
	for _, tc := range cases {
		q, err := parseStoreQuery(tc.raw, 1, true)
		if err != nil || q.Deletable != tc.deletable || q.Epochs != tc.epochs || q.Force != tc.force {
			t.Errorf("%q: %+v, %v", tc.raw, q, err)
		}
	}
	if q, err := parseStoreQuery("send_object_to=0x"+fmt.Sprintf("%064x", 5), 1, true); err != nil || q.Owner[31] != 5 {
		t.Errorf("send_object_to: %+v, %v", q, err)
	}
	if q, err := parseStoreQuery("share=true&permanent=true", 1, true); err != nil || !q.Share || q.Deletable || !q.options().Share {
		t.Errorf("share=true&permanent=true: %+v, %v", q, err)
	}
	if q, err := parseStoreQuery("share=true", 1, false); err != nil || !q.Share {
		t.Errorf("share=true under a permanent default: %+v, %v", q, err)
	}
	if q, _ := parseStoreQuery("", 3, false); q.Deletable || q.Epochs != 3 {
		t.Errorf("configured defaults not applied: %+v", q)
	}
	if q, _ := parseStoreQuery("deletable=true", 1, false); !q.Deletable {
		t.Errorf("deletable=true under a permanent default: %+v", q)
	}
	addr := "0x" + fmt.Sprintf("%064x", 5)
	for raw, reason := range map[string]string{
		"permanent=true&deletable=true":           ReasonConflictingOptions,
		"share=true":                              ReasonConflictingOptions,
		"share=true&deletable=true":               ReasonConflictingOptions,
		"share=true&send_object_to=" + addr:       ReasonInvalidQuery,
		"send_object_to=" + addr + "&share=false": ReasonInvalidQuery,
		"share=false&share=true":                  ReasonInvalidQuery,
		"encoding_type=RedStuffRaptorQ":           ReasonInvalidQuery,
		"quilt_version=v2":                        ReasonInvalidQuery,
		"reuse_resources=1":                       ReasonInvalidQuery,
		"epochs=0":                                ReasonInvalidEpochs,
	} {
		if _, err := parseStoreQuery(raw, 1, true); err == nil || err.code != 400 || err.reason != reason {
			t.Errorf("%q: %+v, want 400 %s", raw, err, reason)
		}
	}
}

func TestParseReadQuery(t *testing.T) {
	cases := []struct {
		raw          string
		strict, skip bool
		reason       string
	}{
		{"", false, false, ""},
		{"strict_consistency_check=true", true, false, ""},
		{"skip_consistency_check=true", false, true, ""},
		{"strict_consistency_check=false&skip_consistency_check=true", false, true, ""},
		{"strict_consistency_check=true&skip_consistency_check=true", false, false, ReasonInvalidConsistency},
		{"strict_consistency_check=yes", false, false, ReasonInvalidQuery},
		{"strict_consistency_check=true&strict_consistency_check=true", false, false, ReasonInvalidQuery},
		{"v=2", false, false, ReasonInvalidQuery},
	}
	for _, tc := range cases {
		q, err := parseReadQuery(tc.raw)
		switch {
		case tc.reason != "" && (err == nil || err.code != 400 || err.reason != tc.reason):
			t.Errorf("%q: %+v, want 400 %s", tc.raw, err, tc.reason)
		case tc.reason == "" && (err != nil || q.Strict != tc.strict || q.Skip != tc.skip):
			t.Errorf("%q: %+v, %v", tc.raw, q, err)
		}
	}
}

// FuzzParseStoreQuery checks that any query either fails with a 400 or
// gives options that survive a round trip through their canonical query.
func FuzzParseStoreQuery(f *testing.F) {
	for _, s := range []string{"", "epochs=3", "permanent=true&deletable=true", "force=true", "x=1", "epochs=1&epochs=2", "send_object_to=0x00", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseStoreQuery(raw, 1, true)
		if err != nil {
			if err.code != 400 || err.reason == "" || err.message == "" {
				t.Fatalf("%q: error %+v", raw, err)
			}
			return
		}
		if q.Epochs == 0 {
			t.Fatalf("%q: zero epochs accepted", raw)
		}
		v := url.Values{"epochs": {strconv.FormatUint(uint64(q.Epochs), 10)}, "permanent": {strconv.FormatBool(!q.Deletable)}, "force": {strconv.FormatBool(q.Force)}}
		if !q.Owner.IsZero() {
			v.Set("send_object_to", q.Owner.String())
		}
		again, err := parseStoreQuery(v.Encode(), 1, true)
		if err != nil || again != q {
			t.Fatalf("%q: %+v does not round-trip: %+v, %v", raw, q, again, err)
		}
	})
}
