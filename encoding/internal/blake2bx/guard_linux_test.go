package blake2bx

import (
	"syscall"
	"testing"
)

// TestGuardPage puts messages right before and after unmapped pages: the
// kernels must read no byte outside a message (the AVX-512 kernel's masked
// loads of the last chunk and its whole-chunk loads alike), or this test
// dies with SIGSEGV.
func TestGuardPage(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 4*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(mem)
	// Pages 0 and 3 are unmapped: a message may start at page 1's first
	// byte or end at page 2's last.
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	if err := syscall.Mprotect(mem[3*page:], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	body := mem[page : 3*page]
	for i := range body {
		body[i] = byte(i * 7)
	}
	for _, n := range []int{0, 1, 2, 63, 64, 65, 126, 127, 128, 129, 302, 1000} {
		for _, lanes := range supportedLanes() {
			msgs := make([][]byte, maxLanes)
			for i := range msgs {
				if i%2 == 0 {
					msgs[i] = body[len(body)-n-i:][:n] // ends near the end
				} else {
					msgs[i] = body[i : i+n] // starts near the start
				}
			}
			msgs[0] = body[len(body)-n:] // ends exactly at the unmapped page
			msgs[1] = body[:n]           // starts exactly after one
			check(t, lanes, 0, msgs)
		}
	}
}
