package server

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/goformer/goformer/model"
)

// BenchmarkBatching measures the scheduler alone (no HTTP): 16 concurrent
// generations of 64 tokens on stories260K through 1 or 4 slots. Compare
// the tok/s of the two sub-benchmarks of one run.
func BenchmarkBatching(b *testing.B) {
	for _, slots := range []int{1, 4} {
		b.Run(fmt.Sprintf("slots=%d", slots), func(b *testing.B) {
			m := loadModel(b)
			s, err := New(m, Config{Slots: slots, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			prompt := m.Tokenizer().Encode("Once upon a time", true)
			tokens := 0
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				var mu sync.Mutex
				for c := range 16 {
					wg.Go(func() {
						j := newJob(context.Background(), genRequest{prompt: prompt, maxTokens: 64, ignoreEOS: true,
							sampler: model.SamplerOptions{Temperature: 0.8, Seed: uint64(c + 1)}})
						if err := s.sched.submit(j); err != nil {
							b.Error(err)
							return
						}
						var evs []event
						for {
							<-j.notify
							evs = j.take(evs)
							if n := len(evs); n > 0 && evs[n-1].done {
								if evs[n-1].err != nil {
									b.Error(evs[n-1].err)
								}
								mu.Lock()
								tokens += evs[n-1].generated
								mu.Unlock()
								return
							}
						}
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(float64(s.metrics.batchTokens.Load())/float64(s.metrics.passes.Load()), "tokens/pass")
		})
	}
}
