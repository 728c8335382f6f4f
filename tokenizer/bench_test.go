package tokenizer

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	corpusOnce sync.Once
	corpusText string
)

// benchCorpus returns a few MB of mixed English prose and source code: the
// Go distribution's documentation and net/http sources (always present
// with a Go toolchain), falling back to generated text.
func benchCorpus(tb testing.TB) string {
	corpusOnce.Do(func() {
		var b strings.Builder
		root := runtime.GOROOT()
		var files []string
		for _, pat := range []string{"doc/*.html", "doc/*.md", "src/net/http/*.go", "src/strings/*.go", "src/fmt/*.go"} {
			m, _ := filepath.Glob(filepath.Join(root, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err == nil {
				b.Write(data)
				b.WriteByte('\n')
			}
		}
		if b.Len() < 1<<20 {
			words := strings.Fields("the quick brown fox jumps over the lazy dog while func main() { fmt.Println(\"hello, world\") } returns 42 errors, and we're done")
			for i := 0; b.Len() < 4<<20; i++ {
				b.WriteString(words[i*7%len(words)])
				b.WriteByte(" \n\t"[i%3])
			}
		}
		corpusText = b.String()
	})
	return corpusText
}

func benchEncode(b *testing.B, tok *Tokenizer) {
	text := benchCorpus(b)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	c0 := cpuTime()
	n := 0
	for range b.N {
		n = len(tok.Encode(text, false))
	}
	b.ReportMetric(float64(len(text))*float64(b.N)/1e6/(cpuTime()-c0).Seconds(), "cpu-MB/s")
	b.ReportMetric(float64(len(text))/float64(n), "bytes/token")
}

// BenchmarkEncodeLlama3 encodes a large mixed English/code text with the
// Llama 3 tokenizer (target >= 10 MB/s single-threaded).
func BenchmarkEncodeLlama3(b *testing.B) { benchEncode(b, goldenTok(b, "llama3")) }
func BenchmarkEncodeQwen3(b *testing.B)  { benchEncode(b, goldenTok(b, "qwen3")) }
func BenchmarkEncodeGPT2(b *testing.B)   { benchEncode(b, goldenTok(b, "gpt2")) }
func BenchmarkEncodeMistral(b *testing.B) {
	benchEncode(b, goldenTok(b, "mistral"))
}
func BenchmarkEncodeBERT(b *testing.B)      { benchEncode(b, goldenTok(b, "bert-uncased")) }
func BenchmarkEncodeLlama2SPM(b *testing.B) { benchEncode(b, goldenTok(b, "llama2-spm")) }

var (
	tokCacheMu sync.Mutex
	tokCache   = map[string]*Tokenizer{}
)

// goldenTok loads (once per test binary) a shared tokenizer directory.
func goldenTok(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	dir := needShared(tb, filepath.Join("tokenizers", name))
	tokCacheMu.Lock()
	defer tokCacheMu.Unlock()
	if t, ok := tokCache[name]; ok {
		return t
	}
	t, err := Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tokCache[name] = t
	return t
}

// TestWriteBenchCorpus writes the benchmark corpus to the file named by
// GOFORMER_BENCH_CORPUS (for comparing with other implementations).
func TestWriteBenchCorpus(t *testing.T) {
	p := os.Getenv("GOFORMER_BENCH_CORPUS")
	if p == "" {
		t.Skip("set GOFORMER_BENCH_CORPUS=path to write the benchmark corpus")
	}
	if err := os.WriteFile(p, []byte(benchCorpus(t)), 0o644); err != nil {
		t.Fatal(err)
	}
}
