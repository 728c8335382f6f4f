//go:build unix

package weights

import (
	"os"
	"syscall"
)

const canMmap = true

// mmapFile maps size bytes of fh read-only. The mapping outlives fh.
func mmapFile(fh *os.File, size int) ([]byte, func() error, error) {
	data, err := syscall.Mmap(int(fh.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
