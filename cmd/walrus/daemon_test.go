package main

import (
	"fmt"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := parseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7", "2001:db8::1/48", "::1"})
	if err != nil || fmt.Sprint(got) != "[10.0.0.0/8 192.0.2.7/32 2001:db8::/48 ::1/128]" {
		t.Fatalf("%v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", ""} {
		if _, err := parseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
