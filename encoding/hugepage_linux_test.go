package encoding

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// vmFlags returns the VmFlags of the mapping of /proc/self/smaps that holds
// address a.
func vmFlags(t *testing.T, a uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = lo <= a && a < hi
			continue
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.Fields(v)
		}
	}
	t.Fatalf("no mapping holds %#x", a)
	return nil
}

// TestMakeBufferHugePages checks that MakeBuffer's large buffers are zeroed
// and advised for huge pages (the mapping's VmFlags say hg). (A small one
// is not advised itself, but may reuse memory that was.)
func TestMakeBufferHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skip("transparent huge pages are off here")
	}
	for _, tc := range []struct {
		n    int
		huge bool
	}{{2*hugePage - 1, false}, {4 * hugePage, true}, {32<<20 + 123, true}} {
		b := MakeBuffer(tc.n)
		if len(b) != tc.n {
			t.Fatalf("MakeBuffer(%d) has %d bytes", tc.n, len(b))
		}
		for i := 0; i < len(b); i += 4096 {
			if b[i] != 0 {
				t.Fatalf("MakeBuffer(%d)[%d] = %d", tc.n, i, b[i])
			}
		}
		mid := uintptr(unsafe.Pointer(&b[len(b)/2]))
		hg := false
		for _, f := range vmFlags(t, mid) {
			hg = hg || f == "hg"
		}
		if tc.huge && !hg {
			t.Errorf("MakeBuffer(%d): advised for huge pages = %v, want %v", tc.n, hg, tc.huge)
		}
	}
}
