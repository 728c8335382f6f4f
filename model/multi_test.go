package model_test

import (
	"context"
	"math"
	"testing"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

func loadDefault(t *testing.T) (model.Model, model.Backend) {
	t.Helper()
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	be := model.NewNative(2)
	t.Cleanup(func() { be.Close() })
	m, err := model.Load(f, be)
	if err != nil {
		t.Fatal(err)
	}
	return m, be
}

// TestMultiMatchesSingleSequences runs three sequences of different
// lengths through one batched cache, mixing prefill chunks and decode steps
// in the same passes, and requires the logits a lone Session computes.
func TestMultiMatchesSingleSequences(t *testing.T) {
	m, be := loadDefault(t)
	ctx := context.Background()
	prompts := [][]int{{1, 403, 407, 261, 378}, {1, 300}, {1, 7, 8, 9, 10, 11, 12, 13}}
	follow := [][]int{{290, 291, 292}, {400, 401, 402}, {5, 6, 7}}

	want := make([][][]float32, len(prompts))
	for i, p := range prompts {
		s, err := model.NewSession(m, be, 64)
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.Eval(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = append(want[i], append([]float32(nil), l...))
		for _, id := range follow[i] {
			l, err := s.Eval(ctx, []int{id})
			if err != nil {
				t.Fatal(err)
			}
			want[i] = append(want[i], append([]float32(nil), l...))
		}
	}

	mu, err := model.NewMulti(m, be, 64, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Step 1: prompts of sequences 2 and 0 (slot 1 idle, slot 3 unused).
	// Step 2: sequence 0 decodes while sequence 1's prompt is prefilled.
	// Then all three decode together.
	check := func(seq int, step int, got []float32) {
		t.Helper()
		for j := range got {
			if d := got[j] - want[seq][step][j]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("seq %d step %d logit %d: batched %v, alone %v", seq, step, j, got[j], want[seq][step][j])
			}
		}
	}
	out, err := mu.Step(ctx, []model.Input{{Seq: 2, Tokens: prompts[2]}, {Seq: 0, Tokens: prompts[0]}})
	if err != nil {
		t.Fatal(err)
	}
	check(2, 0, out[0])
	check(0, 0, out[1])
	out, err = mu.Step(ctx, []model.Input{{Seq: 0, Tokens: follow[0][:1]}, {Seq: 1, Tokens: prompts[1]}})
	if err != nil {
		t.Fatal(err)
	}
	check(0, 1, out[0])
	check(1, 0, out[1])
	steps := map[int]int{0: 1, 1: 0, 2: 0}
	for range 2 {
		var in []model.Input
		for seq := range 3 {
			in = append(in, model.Input{Seq: seq, Tokens: []int{follow[seq][steps[seq]]}})
		}
		out, err = mu.Step(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for seq := range 3 {
			steps[seq]++
			check(seq, steps[seq], out[seq])
		}
	}
	if _, err := mu.Step(ctx, []model.Input{{Seq: 4, Tokens: []int{1}}}); err == nil {
		t.Fatal("sequence 4 of 4 accepted")
	}
}

// TestGenerateAllPositionIndependent samples the same prompt at three batch
// positions beside other prompts: each copy must produce the same tokens,
// and the same as a lone Session with the same seed.
func TestGenerateAllPositionIndependent(t *testing.T) {
	m, be := loadDefault(t)
	ctx := context.Background()
	p := []int{1, 403, 407, 261, 378}
	other := []int{1, 300, 301}
	o := model.GenerateOptions{MaxTokens: 40, Sampler: model.SamplerOptions{Temperature: 0.9, TopP: 0.95, TopK: 50, Seed: 1234}}

	s, err := model.NewSession(m, be, 128)
	if err != nil {
		t.Fatal(err)
	}
	var alone []int
	for st, err := range s.Generate(ctx, p, o, nil) {
		if err != nil {
			t.Fatal(err)
		}
		alone = append(alone, st.ID)
	}

	mu, err := model.NewMulti(m, be, 128, 5)
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]int, 5)
	done := map[int]string{}
	for st, err := range mu.GenerateAll(ctx, [][]int{p, other, p, other, p}, o, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if st.Done {
			done[st.Seq] = st.StopReason
			continue
		}
		got[st.Seq] = append(got[st.Seq], st.ID)
	}
	for _, seq := range []int{0, 2, 4} {
		if firstDiffInts(got[seq], alone) >= 0 || len(got[seq]) != len(alone) {
			t.Errorf("slot %d: %v\nalone:  %v", seq, got[seq], alone)
		}
		if done[seq] != "length" {
			t.Errorf("slot %d stopped with %q", seq, done[seq])
		}
	}
}

func firstDiffInts(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestF16CacheNearF32: with Native.F16Cache the cache holds float16 keys and
// values, so the logits move (they differ from the float32 cache's) but
// only by the rounding of keys and values (< 0.02 on stories260K's logits,
// which span about ±15), at every position of the prompt.
func TestF16CacheNearF32(t *testing.T) {
	m, be := loadDefault(t)
	n := be.(*model.Native)
	prompt := []int{1, 403, 407, 261, 378, 300, 7, 8, 9, 10, 11, 12, 13, 290, 291, 292}
	want := evalAll(t, m, n, prompt)
	n.F16Cache = true
	got := evalAll(t, m, n, prompt)
	var worst float64
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	if worst == 0 || worst > 0.02 {
		t.Fatalf("logits with a float16 cache differ from float32's by up to %g, want (0, 0.02]", worst)
	}
	t.Logf("largest logit difference %g", worst)
}
