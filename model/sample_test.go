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

func TestMinP(t *testing.T) {
	// p = 0.5, 0.25, 0.15, 0.1; min-p 0.4 keeps p ≥ 0.2: 0.5 and 0.25 → 2/3, 1/3.
	p := []float64{0.5, 0.25, 0.15, 0.1}
	logits := make([]float32, len(p))
	for i, v := range p {
		logits[i] = float32(math.Log(v))
	}
	near(t, "min-p 0.4", drawMany(SamplerOptions{Temperature: 1, MinP: 0.4, Seed: 6}, logits, 200000),
		[]float64{2.0 / 3, 1.0 / 3, 0, 0}, 0.006)
	// min-p 0.25 keeps p ≥ 0.125: three tokens, 0.5/0.9, 0.25/0.9, 0.15/0.9.
	near(t, "min-p 0.25", drawMany(SamplerOptions{Temperature: 1, MinP: 0.25, Seed: 7}, logits, 200000),
		[]float64{0.5 / 0.9, 0.25 / 0.9, 0.15 / 0.9, 0}, 0.006)
}

func TestPenaltiesAndBias(t *testing.T) {
	// Hand-computed: logits [2, -1, 0.5, 1]; history: token 0 twice, token 1 once.
	// repeat 2: 2→1, -1→-2; frequency 0.25: 1-0.5=0.5, -2-0.25=-2.25;
	// presence 0.5: 0.0, -2.75. Token 3 untouched (1) now wins the argmax.
	o := SamplerOptions{RepeatPenalty: 2, FrequencyPenalty: 0.25, PresencePenalty: 0.5}
	s := NewSampler(o)
	s.Accept(0, 1, 0)
	l := []float32{2, -1, 0.5, 1}
	if got := s.Sample(l); got != 3 {
		t.Fatalf("argmax after penalties = %d, want 3 (logits %v)", got, l)
	}
	want := []float32{0, -2.75, 0.5, 1}
	for i := range want {
		if math.Abs(float64(l[i]-want[i])) > 1e-6 {
			t.Fatalf("penalized logits %v, want %v", l, want)
		}
	}
	// Window: with RepeatLastN 1 only the last token (0) counts.
	s = NewSampler(SamplerOptions{RepeatPenalty: 2, RepeatLastN: 1})
	s.Accept(1, 0)
	l = []float32{2, -1}
	s.Sample(l)
	if l[0] != 1 || l[1] != -1 {
		t.Fatalf("windowed penalty gave %v, want [1 -1]", l)
	}
	// Logit bias: ban the argmax, boost another; distribution at T=1 over
	// equal logits with a +ln(3) bias on token 2 is 1/5, 1/5, 3/5.
	s = NewSampler(SamplerOptions{LogitBias: map[int]float32{0: float32(math.Inf(-1))}})
	if got := s.Sample([]float32{5, 1, 2}); got != 2 {
		t.Fatalf("banned token sampled: %d", got)
	}
	near(t, "bias", drawMany(SamplerOptions{Temperature: 1, Seed: 8, LogitBias: map[int]float32{2: float32(math.Log(3))}},
		[]float32{0, 0, 0}, 200000), []float64{0.2, 0.2, 0.6}, 0.006)
}
