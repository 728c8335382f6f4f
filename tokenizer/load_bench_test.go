package tokenizer

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func benchLoad(b *testing.B, dir string) {
	p := needShared(b, filepath.Join("tokenizers", dir, "tokenizer.json"))
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "tokenizer_config.json"))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		if _, err := FromJSON(data, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-c0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the process's user+system CPU time (the machine may be
// shared, so wall-clock times can mislead).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoadQwen3 loads the 11 MB Qwen3 tokenizer.json (target < 300 ms).
func BenchmarkLoadQwen3(b *testing.B)  { benchLoad(b, "qwen3") }
func BenchmarkLoadLlama3(b *testing.B) { benchLoad(b, "llama3") }
func BenchmarkLoadGemma3(b *testing.B) { benchLoad(b, "gemma3") }
