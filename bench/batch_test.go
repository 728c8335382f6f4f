package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goformer/goformer/bench/internal/synthfile"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

// batchModel returns a qwen2.5-0.5b-shaped Q8_0 GGUF: $GOFORMER_BENCH_MODEL,
// or one written into a temporary directory.
func batchModel(b *testing.B) string {
	if p := os.Getenv("GOFORMER_BENCH_MODEL"); p != "" {
		return p
	}
	s, _ := synthfile.ShapeByName("qwen2.5-0.5b")
	vocab := "../../shared/peer-vocab"
	if _, err := os.Stat(filepath.Join(vocab, s.VocabFile)); err != nil {
		b.Skipf("needs %s for the tokenizer metadata: %v", filepath.Join(vocab, s.VocabFile), err)
	}
	p := filepath.Join(b.TempDir(), "qwen2.5-0.5b-q8_0.gguf")
	if err := synthfile.Write(p, s, weights.Q8_0, vocab, 1); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBatchDecode measures aggregate decode throughput of N sequences
// advancing together (one forward pass per step for all of them) on a
// qwen2.5-0.5b-shaped model; compare tok/s of batch=8 with batch=1.
func BenchmarkBatchDecode(b *testing.B) {
	path := batchModel(b)
	f, err := weights.Open(path, weights.Options{NoMmap: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	be := model.NewNative(0)
	defer be.Close()
	m, err := model.Load(f, be)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			mu, err := model.NewMulti(m, be, 256, n)
			if err != nil {
				b.Fatal(err)
			}
			in := make([]model.Input, n)
			for i := range in {
				in[i] = model.Input{Seq: i, Tokens: []int{1000 + i, 2000 + i, 3000 + i, 4000 + i}}
			}
			if _, err := mu.Step(ctx, in); err != nil { // short prompts
				b.Fatal(err)
			}
			steps := 0
			start := time.Now()
			for b.Loop() {
				for i := range in {
					in[i].Tokens = []int{5000 + steps + i}
				}
				if _, err := mu.Step(ctx, in); err != nil {
					b.Fatal(err)
				}
				steps++
				if len(mu.Tokens(0)) >= mu.Context() {
					for i := range n {
						mu.Truncate(i, 4)
					}
				}
			}
			b.ReportMetric(float64(steps*n)/time.Since(start).Seconds(), "tok/s")
		})
	}
}
