package main

import "syscall"

// hugeBuffer returns size bytes of anonymous memory advised for transparent
// huge pages (as goformer reads weights into with --no-mmap), or nil.
func hugeBuffer(size int) []byte {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	return b
}
