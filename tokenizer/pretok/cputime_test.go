//go:build linux

package pretok

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU returns the CPU time consumed by the calling OS thread (the
// caller must hold runtime.LockOSThread).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestThroughputCPU reports MB per CPU-second (robust to a loaded machine)
// for the hand-written matchers, GGUF pre-tokenizers and regexp2 on the same
// text. Run with PRETOK_THROUGHPUT=1 go test -run ThroughputCPU -v.
func TestThroughputCPU(t *testing.T) {
	if os.Getenv("PRETOK_THROUGHPUT") == "" {
		t.Skip("set PRETOK_THROUGHPUT=1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	text := mixedText(1 << 20)
	dst := make([][2]int, 0, len(text)/2)
	rate := func(s Splitter, minCPU time.Duration) float64 {
		dst = s.Split(text, dst[:0]) // warm up
		c0, n := threadCPU(), 0
		for threadCPU()-c0 < minCPU {
			dst = s.Split(text, dst[:0])
			n++
		}
		return float64(n*len(text)) / 1e6 / (threadCPU() - c0).Seconds()
	}
	for _, h := range handMatchers() {
		t.Logf("hand     %-22s %7.1f MB/s", h.name, rate(h, 300*time.Millisecond))
	}
	for _, name := range []string{"gpt-2", "llama-bpe", "qwen2", "qwen35", "gpt-4o", "deepseek-coder", "deepseek-v3", "falcon", "starcoder", "default", "deepseek-llm"} {
		s, _ := ForGGUFPre(name)
		t.Logf("gguf     %-22s %7.1f MB/s", name, rate(s, 300*time.Millisecond))
	}
	for _, p := range []string{PatternGPT2, PatternLlama3, PatternQwen2, PatternO200k} {
		ref, _ := NewRegexp2(refPattern(p))
		h := known[p]
		hr, rr := rate(h, 300*time.Millisecond), rate(ref, 300*time.Millisecond)
		t.Logf("regexp2  %-22s %7.1f MB/s   hand-written is %.0fx faster", h.name, rr, hr/rr)
	}
}
