package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// hostileInputs returns inputs of about n bytes that are worst cases for
// naive tokenizers.
func hostileInputs(n int) map[string]string {
	rng := rand.New(rand.NewPCG(7, 7))
	letters := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	for b.Len() < n {
		b.WriteByte(letters[rng.IntN(len(letters))])
	}
	noSpaces := b.String()
	marks := "a" + strings.Repeat("\u0301\u0323\u0308", n/6)
	return map[string]string{
		"no-spaces":      noSpaces,
		"repeated-char":  strings.Repeat("a", n),
		"repeated-space": strings.Repeat(" ", n),
		"combining-runs": marks,
		"repeated-cjk":   strings.Repeat("界", n/3),
		"digits":         strings.Repeat("1234567890", n/10),
	}
}

// TestHostileLinear encodes each hostile input at two sizes and fails if
// the time grows much faster than the size (quadratic behaviour would
// grow 16x for 4x the input).
func TestHostileLinear(t *testing.T) {
	const small, large = 32 << 10, 128 << 10
	smallIn, largeIn := hostileInputs(small), hostileInputs(large)
	for _, name := range goldenTokenizers {
		tok := goldenTok(t, name)
		for kind := range smallIn {
			measure := func(s string) time.Duration {
				best := time.Duration(1 << 62)
				for range 2 {
					c0 := cpuTime()
					tok.Encode(s, false)
					best = min(best, cpuTime()-c0)
				}
				return best
			}
			ts := measure(smallIn[kind])
			tl := measure(largeIn[kind])
			// 4x the input: allow up to 10x the time (n log n and noise),
			// with a floor for tiny timings.
			if tl > 10*ts && tl > 100*time.Millisecond {
				t.Errorf("%s %s: %v for %d KB, %v for %d KB: not linear", name, kind, ts, small>>10, tl, large>>10)
			}
			t.Logf("%s %-15s %8v %8v", name, kind, ts, tl)
		}
	}
}
