package kernels

import (
	"syscall"
	"testing"
)

// guardedCopy returns a copy of b that ends where an inaccessible page
// begins, so that a kernel reading past the end of its input faults
// instead of reading whatever lies beyond (the mapping is released when
// the test ends).
func guardedCopy(t *testing.T, b []byte) []byte {
	t.Helper()
	page := syscall.Getpagesize()
	n := (len(b) + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, n+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[n:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	g := mem[n-len(b) : n : n]
	copy(g, b)
	return g
}
