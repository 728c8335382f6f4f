//go:build !unix

package weights

import (
	"errors"
	"os"
)

// canMmap is false where this package has no mmap: files are read into
// memory instead.
const canMmap = false

func mmapFile(fh *os.File, size int) ([]byte, func() error, error) {
	return nil, nil, errors.New("mmap not supported on this platform")
}
