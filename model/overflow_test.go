package model_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/goformer/goformer/model"
)

func TestOverflowPolicies(t *testing.T) {
	m, be := loadDefault(t)
	ctx := context.Background()
	prompt := []int{1}
	for i := range 40 {
		prompt = append(prompt, 300+i)
	}
	s, err := model.NewSession(m, be, 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range s.Generate(ctx, prompt, model.GenerateOptions{MaxTokens: 4}, nil) {
		if !errors.Is(err, model.ErrContextFull) {
			t.Fatalf("default policy: err = %v, want ErrContextFull", err)
		}
		break
	}

	// Truncate: BOS kept, then the most recent tokens, room for 4 new ones.
	var st model.Stats
	n := 0
	for _, err := range s.Generate(ctx, prompt, model.GenerateOptions{MaxTokens: 4, Overflow: model.OverflowTruncate, Keep: 1}, &st) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	want := append([]int{1}, prompt[len(prompt)-27:]...)
	if n != 4 || !slices.Equal(s.Tokens[:28], want) {
		t.Fatalf("truncated session holds %v (generated %d), want prefix %v", s.Tokens, n, want)
	}

	// Shift: 100 tokens in a context of 32; the context never overflows and
	// after each shift the cache equals a fresh evaluation of what is kept.
	s.Reset()
	n = 0
	for _, err := range s.Generate(ctx, prompt[:10], model.GenerateOptions{MaxTokens: 100, Overflow: model.OverflowShift, Keep: 1, IgnoreEOS: true}, &st) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if len(s.Tokens) > 32 || s.Tokens[0] != 1 {
			t.Fatalf("after %d tokens the session holds %d tokens starting %v", n, len(s.Tokens), s.Tokens[:1])
		}
	}
	if n != 100 || st.StopReason != "length" {
		t.Fatalf("generated %d tokens, stop %q; want 100, length", n, st.StopReason)
	}
	// The cache after shifting matches a fresh session on the same tokens.
	toks := slices.Clone(s.Tokens)
	a, err := s.Eval(ctx, []int{5})
	if err != nil {
		t.Fatal(err)
	}
	a = slices.Clone(a)
	f, _ := model.NewSession(m, be, 32)
	b, err := f.Eval(ctx, append(toks, 5))
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-4 || d < -1e-4 {
			t.Fatalf("logit %d after shifting: %v, fresh %v", i, a[i], b[i])
		}
	}
}
