//go:build unix

package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on the file name under dir (the same
// kind of lock Python's filelock takes on huggingface_hub's .locks files),
// waiting until it is free or ctx is done. The returned function releases it.
func lockFile(ctx context.Context, dir *os.Root, name string) (func(), error) {
	path := filepath.Join(dir.Name(), name)
	if fi, err := dir.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("lock file %s is not a regular file: %w", path, ErrUnsafePath)
	}
	f, err := dir.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
