package bench

import (
	"context"
	"testing"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

func session(b *testing.B, threads int) *model.Session {
	b.Helper()
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		b.Fatal(err)
	}
	be := model.NewNative(threads)
	b.Cleanup(func() { be.Close() })
	m, err := model.Load(f, be)
	if err != nil {
		b.Fatal(err)
	}
	s, err := model.NewSession(m, be, defaultmodel.Context)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkPrefill measures prompt processing of 128 tokens in one pass on
// the embedded model (tokens/s reported as tok/s).
func BenchmarkPrefill(b *testing.B) {
	s := session(b, 0)
	prompt := make([]int, 128)
	for i := range prompt {
		prompt[i] = 3 + i%500
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		s.Reset()
		if _, err := s.Eval(ctx, prompt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(prompt)*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkDecode measures one-token decode steps at growing positions.
func BenchmarkDecode(b *testing.B) {
	s := session(b, 0)
	ctx := context.Background()
	tokens := 0
	b.ResetTimer()
	for b.Loop() {
		if len(s.Tokens) >= s.Context() {
			s.Reset()
		}
		if _, err := s.Eval(ctx, []int{1 + tokens%500}); err != nil {
			b.Fatal(err)
		}
		tokens++
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
}
