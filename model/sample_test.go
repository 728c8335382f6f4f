package model

import (
	"math"
	"testing"
)

func TestGreedyFirstOnTies(t *testing.T) {
	if got := Greedy([]float32{1, 3, 3, 2}); got != 1 {
		t.Fatalf("Greedy = %d, want 1", got)
	}
	s := NewSampler(SamplerOptions{Temperature: 0, Seed: 7})
	if got := s.Sample([]float32{-1, 0.5, 0.2}); got != 1 {
		t.Fatalf("temperature 0 sampled %d, want argmax 1", got)
	}
}

// drawMany returns the empirical distribution of n draws.
func drawMany(o SamplerOptions, logits []float32, n int) []float64 {
	s := NewSampler(o)
	counts := make([]float64, len(logits))
	buf := make([]float32, len(logits))
	for range n {
		copy(buf, logits)
		counts[s.Sample(buf)]++
	}
	for i := range counts {
		counts[i] /= float64(n)
	}
	return counts
}

func near(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s: P(%d) = %.4f, want %.4f (±%.3f); all: %v", name, i, got[i], want[i], tol, got)
		}
	}
}

func TestSamplerDistributions(t *testing.T) {
	// logits ln(p) for p = 0.5, 0.25, 0.15, 0.1: softmax gives back p.
	p := []float64{0.5, 0.25, 0.15, 0.1}
	logits := make([]float32, len(p))
	for i, v := range p {
		logits[i] = float32(math.Log(v))
	}
	const n = 200000
	const tol = 0.006
	near(t, "T=1", drawMany(SamplerOptions{Temperature: 1, Seed: 1}, logits, n), p, tol)

	// T=0.5 squares the probabilities: 0.25, 0.0625, 0.0225, 0.01 (sum 0.345).
	near(t, "T=0.5", drawMany(SamplerOptions{Temperature: 0.5, Seed: 2}, logits, n),
		[]float64{0.25 / 0.345, 0.0625 / 0.345, 0.0225 / 0.345, 0.01 / 0.345}, tol)

	// top-k 2 keeps 0.5 and 0.25, renormalized to 2/3 and 1/3.
	near(t, "top-k 2", drawMany(SamplerOptions{Temperature: 1, TopK: 2, Seed: 3}, logits, n),
		[]float64{2.0 / 3, 1.0 / 3, 0, 0}, tol)

	// top-p 0.7: cumulative 0.5, 0.75 > 0.7 → keep the first two.
	near(t, "top-p 0.7", drawMany(SamplerOptions{Temperature: 1, TopP: 0.7, Seed: 4}, logits, n),
		[]float64{2.0 / 3, 1.0 / 3, 0, 0}, tol)

	// top-p 0.8: 0.5, 0.75, 0.9 > 0.8 → keep three: 0.5/0.9, 0.25/0.9, 0.15/0.9.
	near(t, "top-p 0.8", drawMany(SamplerOptions{Temperature: 1, TopP: 0.8, Seed: 5}, logits, n),
		[]float64{0.5 / 0.9, 0.25 / 0.9, 0.15 / 0.9, 0}, tol)
}

func TestSamplerSeedDeterminism(t *testing.T) {
	logits := []float32{0.1, 0.3, 0.2, 0.25, 0.05, 0.4}
	run := func(seed uint64) []int {
		s := NewSampler(SamplerOptions{Temperature: 1.3, TopK: 5, TopP: 0.95, Seed: seed})
		var out []int
		buf := make([]float32, len(logits))
		for range 64 {
			copy(buf, logits)
			out = append(out, s.Sample(buf))
		}
		return out
	}
	a, b, c := run(9), run(9), run(10)
	if firstDiffInts(a, b) >= 0 {
		t.Fatal("same seed gave different tokens")
	}
	if firstDiffInts(a, c) < 0 {
		t.Fatal("different seeds gave identical 64-token runs")
	}
}

func firstDiffInts(a, b []int) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
