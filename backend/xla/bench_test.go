package xla_test

import (
	"context"
	"os"
	"testing"

	"github.com/goformer/goformer/backend/gomlx"
	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

// benchModel opens GOFORMER_BENCH_MODEL (a GGUF file or HF directory, e.g.
// from 'goformer synth --arch llama --shape llama3.2-1b --dtype bf16'), or
// the embedded stories260K.
func benchModel(b *testing.B) *weights.File {
	b.Helper()
	var f *weights.File
	var err error
	if p := os.Getenv("GOFORMER_BENCH_MODEL"); p != "" {
		f, err = weights.Open(p, weights.Options{})
	} else {
		f, err = weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func backends(b *testing.B) map[string]func(b *testing.B) model.Backend {
	return map[string]func(b *testing.B) model.Backend{
		"native": func(b *testing.B) model.Backend {
			nb := model.NewNative(0)
			b.Cleanup(func() { nb.Close() })
			return nb
		},
		"xla":      func(b *testing.B) model.Backend { return openXLA(b, gomlx.Options{}) },
		"xla-bf16": func(b *testing.B) model.Backend { return openXLA(b, gomlx.Options{BF16Matmul: true}) },
	}
}

// BenchmarkDecode: one token per op after a 32-token prompt (tokens/s is
// ops/s), on the native backend and on the plugin in GOFORMER_XLA_PLUGIN
// (float32 products, and bfloat16 products with bf16 weights), in the same
// process, so their ratio is the figure to report.
func BenchmarkDecode(b *testing.B) {
	f := benchModel(b)
	for _, name := range []string{"native", "xla", "xla-bf16"} {
		b.Run(name, func(b *testing.B) {
			be := backends(b)[name](b)
			m, err := model.Load(f, be)
			if err != nil {
				b.Fatal(err)
			}
			const ctxLen, prompt = 1024, 32
			s, err := model.NewSession(m, be, ctxLen)
			if err != nil {
				b.Fatal(err)
			}
			vocab := m.Config().Vocab
			tok := func(i int) int { return 1 + (i*7919)%(vocab-1) }
			fill := func() {
				s.Reset()
				ids := make([]int, prompt)
				for i := range ids {
					ids[i] = tok(i)
				}
				if _, err := s.Eval(context.Background(), ids); err != nil {
					b.Fatal(err)
				}
			}
			fill()
			if _, err := s.Eval(context.Background(), []int{tok(99)}); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if len(s.Tokens) >= ctxLen {
					b.StopTimer()
					fill()
					b.StartTimer()
				}
				if _, err := s.Eval(context.Background(), []int{tok(i)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPrefill: a 512-token prompt per op into an empty cache.
func BenchmarkPrefill(b *testing.B) {
	f := benchModel(b)
	for _, name := range []string{"native", "xla", "xla-bf16"} {
		b.Run(name, func(b *testing.B) {
			be := backends(b)[name](b)
			m, err := model.Load(f, be)
			if err != nil {
				b.Fatal(err)
			}
			const n = 512
			s, err := model.NewSession(m, be, n)
			if err != nil {
				b.Fatal(err)
			}
			vocab := m.Config().Vocab
			ids := make([]int, n)
			for i := range ids {
				ids[i] = 1 + (i*7919)%(vocab-1)
			}
			run := func() {
				s.Reset()
				if _, err := s.Eval(context.Background(), ids); err != nil {
					b.Fatal(err)
				}
			}
			run() // compile
			b.ResetTimer()
			for range b.N {
				run()
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
