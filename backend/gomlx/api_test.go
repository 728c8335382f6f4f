package gomlx_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/backend/gomlx"
)

// TestGoformerAPI: the public API on gomlx-go (goformer.WithBackend) gives
// the native backend's greedy text, for one prompt and for a batch of
// prompts generated together (continuous batching over cache slots, as the
// server does).
func TestGoformerAPI(t *testing.T) {
	prompts := []string{"Once upon a time", "The little dog", "Lily and Tom went to the park"}
	run := func(be *gomlx.Backend) []string {
		var opts []goformer.Option
		if be != nil {
			opts = append(opts, goformer.WithBackend(be))
		}
		m, err := goformer.Load("", opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		o := goformer.GenerateOptions{MaxTokens: 12, IgnoreEOS: true}
		var out []string
		one := ""
		for tok, err := range m.Generate(context.Background(), prompts[0], o) {
			if err != nil {
				t.Fatal(err)
			}
			one += fmt.Sprint(tok.ID, " ")
		}
		out = append(out, one)
		batch := make([]string, len(prompts))
		for bt, err := range m.GenerateBatch(context.Background(), prompts, o) {
			if err != nil {
				t.Fatal(err)
			}
			if !bt.Done {
				batch[bt.Seq] += fmt.Sprint(bt.ID, " ")
			}
		}
		return append(out, batch...)
	}
	want := run(nil)
	be, err := gomlx.NewGo()
	if err != nil {
		t.Fatal(err)
	}
	got := run(be)
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("output %d: native %q, gomlx-go %q", i, want[i], got[i])
		}
	}
	t.Logf("%q", got)
}
