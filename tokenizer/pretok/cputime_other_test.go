//go:build !linux

package pretok

import "time"

var t0 = time.Now()

// threadCPU falls back to wall time where per-thread CPU time is not read.
func threadCPU() time.Duration { return time.Since(t0) }
