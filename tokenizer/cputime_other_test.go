//go:build !unix

package tokenizer

import "time"

var processStart = time.Now()

// cpuTime falls back to wall-clock time where CPU time is not available.
func cpuTime() time.Duration { return time.Since(processStart) }
