package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
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

// BenchmarkLoadQwen3 loads the 11 MB Qwen3 tokenizer.json (target < 300 ms).
func BenchmarkLoadQwen3(b *testing.B)  { benchLoad(b, "qwen3") }
func BenchmarkLoadLlama3(b *testing.B) { benchLoad(b, "llama3") }
func BenchmarkLoadGemma3(b *testing.B) { benchLoad(b, "gemma3") }
