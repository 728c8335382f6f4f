//go:build unix

package tokenizer

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time (the machine may be
// shared, so wall-clock times can mislead).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return time.Since(processStart)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var processStart = time.Now()
