package daemon

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRequestClient(t *testing.T) {
	d := &Daemon{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.7:5000", nil, "192.0.2.7"},
		{"192.0.2.7:5000", []string{"203.0.113.9"}, "192.0.2.7"}, // not a proxy: its header is not believed
		{"[2001:db8:1:2:3:4:5:6]:80", nil, "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:80", nil, "192.0.2.7"},
		{"10.1.2.3:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:80", []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"},             // the client may forge what comes first
		{"10.1.2.3:80", []string{"203.0.113.9, 10.9.9.9"}, "203.0.113.9"},                 // through two proxies
		{"10.1.2.3:80", []string{"198.51.100.1", "203.0.113.9, 10.9.9.9"}, "203.0.113.9"}, // several headers
		{"10.1.2.3:80", []string{"garbage"}, "10.1.2.3"},
		{"10.1.2.3:80", nil, "10.1.2.3"},
		{"[::1]:80", []string{"2001:db8::1"}, "2001:db8::/64"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := d.requestClient(r); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func FuzzParseReadQuery(f *testing.F) {
	for _, s := range []string{"", "strict_consistency_check=true", "skip_consistency_check=true&strict_consistency_check=true", "x=1", "%zz", "strict_consistency_check=true&strict_consistency_check=false"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseReadQuery(raw)
		if err != nil {
			if err.code != 400 || err.reason == "" || err.message == "" {
				t.Fatalf("%q: error %+v", raw, err)
			}
			return
		}
		if q.Strict && q.Skip {
			t.Fatalf("%q: strict and skip accepted", raw)
		}
	})
}
