package gomlx_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/goformer/goformer/backend/gomlx"
	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

// pair loads f on the native backend and on gomlx-go.
func pair(t *testing.T, f *weights.File) (mn, mg model.Model, nb *model.Native, gb *gomlx.Backend) {
	t.Helper()
	nb = model.NewNative(2)
	nb.ExactBF16 = true // gomlx multiplies BF16 weights against float32 activations
	t.Cleanup(func() { nb.Close() })
	var err error
	gb, err = gomlx.NewGo()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gb.Close() })
	if mn, err = model.Load(f, nb); err != nil {
		t.Fatal(err)
	}
	if mg, err = model.Load(f, gb); err != nil {
		t.Fatal(err)
	}
	return mn, mg, nb, gb
}

// logprobs runs a prefill of prompt[:split] then decodes the rest one token
// at a time, returning the log-softmax after every token.
func logprobs(t *testing.T, m model.Model, be model.Backend, prompt []int, split, ctxLen int) [][]float32 {
	t.Helper()
	s, err := model.NewSession(m, be, ctxLen)
	if err != nil {
		t.Fatal(err)
	}
	vocab := m.Config().Vocab
	var rows [][]float32
	add := func(logits []float32) {
		for r := 0; r+vocab <= len(logits); r += vocab {
			lp := make([]float32, vocab)
			model.LogSoftmax(lp, logits[r:r+vocab])
			rows = append(rows, lp)
		}
	}
	out, err := s.EvalAll(context.Background(), prompt[:split])
	if err != nil {
		t.Fatalf("%s prefill: %v", be.Name(), err)
	}
	add(out)
	for _, tok := range prompt[split:] {
		out, err := s.Eval(context.Background(), []int{tok})
		if err != nil {
			t.Fatalf("%s decode: %v", be.Name(), err)
		}
		add(out)
	}
	return rows
}

func compare(t *testing.T, want, got [][]float32, tol float64) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d rows vs %d", len(want), len(got))
	}
	var worst float64
	at := 0
	for i := range want {
		for j := range want[i] {
			if d := math.Abs(float64(want[i][j] - got[i][j])); d > worst || math.IsNaN(d) {
				worst, at = d, i
				if math.IsNaN(d) {
					worst = math.Inf(1)
				}
			}
		}
	}
	t.Logf("max |Δ log-probability| %.3g over %d positions", worst, len(want))
	if worst > tol {
		t.Errorf("max |Δ log-probability| %.3g > %g (row %d)", worst, tol, at)
	}
}

func testPrompt(vocab, n int) []int {
	p := make([]int, n)
	x := uint32(777)
	for i := range p {
		x = x*1664525 + 1013904223
		p[i] = 1 + int(x>>8)%(vocab-1)
	}
	return p
}

// TestStoriesLogprobs: the embedded stories260K (a trained Llama) on gomlx-go
// gives the native backend's log-probabilities within 1e-4 at every position
// of a prefill and the decode steps after it.
func TestStoriesLogprobs(t *testing.T) {
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	mn, mg, nb, gb := pair(t, f)
	prompt := testPrompt(mn.Config().Vocab, 20)
	want := logprobs(t, mn, nb, prompt, 13, 64)
	got := logprobs(t, mg, gb, prompt, 13, 64)
	compare(t, want, got, 1e-4)
}

// TestStoriesGreedy: greedy generation on gomlx-go equals native.
func TestStoriesGreedy(t *testing.T) {
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	mn, mg, nb, gb := pair(t, f)
	prompt := []int{1, 403, 407, 261, 378}
	gen := func(m model.Model, be model.Backend) []int {
		s, err := model.NewSession(m, be, 64)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int
		for st, err := range s.Generate(context.Background(), prompt, model.GenerateOptions{MaxTokens: 12, IgnoreEOS: true}, nil) {
			if err != nil {
				t.Fatalf("%s: %v", be.Name(), err)
			}
			ids = append(ids, st.ID)
		}
		return ids
	}
	want, got := gen(mn, nb), gen(mg, gb)
	if len(want) != 12 || !slices.Equal(want, got) {
		t.Fatalf("greedy ids differ:\nnative   %v\ngomlx-go %v", want, got)
	}
	t.Logf("greedy %v", got)
}

// TestProgramsBounded: compiled programs are keyed by shape buckets, so a
// prefill and a hundred decode steps compile four programs (one prefill,
// decode at cache prefixes 32, 64 and 128), and a second session reuses
// them all.
func TestProgramsBounded(t *testing.T) {
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	_, mg, _, gb := pair(t, f)
	for range 2 {
		s, err := model.NewSession(mg, gb, 256)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Eval(context.Background(), testPrompt(512, 20)); err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			if _, err := s.Eval(context.Background(), []int{1 + i}); err != nil {
				t.Fatal(err)
			}
		}
		if n := gb.Programs(); n != 4 {
			t.Fatalf("%d compiled programs, want 4", n)
		}
	}
}

// TestBadBatch: invalid batches are errors naming the problem, and leave
// the cache usable.
func TestBadBatch(t *testing.T) {
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	_, mg, _, gb := pair(t, f)
	c, err := gb.NewCache(mg.Config().CacheSpec(16, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    model.Batch
		want string
	}{
		{model.Batch{Tokens: []int{1, 2}, Positions: []int{0}, Outputs: []int{0}}, "2 tokens and 1 positions"},
		{model.Batch{Tokens: []int{1}, Positions: []int{16}, Outputs: []int{0}}, "position 16 outside the context of 16"},
		{model.Batch{Tokens: []int{1}, Positions: []int{0}, Seqs: []int{1}, Outputs: []int{0}}, "sequence 1 outside"},
		{model.Batch{Tokens: []int{1}, Positions: []int{0}, Outputs: []int{3}}, "output row 3 of 1"},
		{model.Batch{Tokens: []int{1, 9999}, Positions: []int{0, 1}, Outputs: []int{0}}, "token id 9999 outside the vocabulary of 512"},
	} {
		_, err := gb.Forward(c, &tc.b, mg.Forward)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("batch %+v: error %v, want %q", tc.b, err, tc.want)
		}
	}
	if _, err := gb.Forward(c, &model.Batch{Tokens: []int{1}, Positions: []int{0}, Outputs: []int{0}}, mg.Forward); err != nil {
		t.Fatalf("good batch after bad ones: %v", err)
	}
}
