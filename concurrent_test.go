package goformer_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/goformer/goformer"
)

// TestConcurrentUse shares one Model between goroutines that generate,
// chat, batch and tokenize at once (run with -race): each gets the text it
// would get alone.
func TestConcurrentUse(t *testing.T) {
	m, err := goformer.Load("")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	gen := func(prompt string) string {
		var b strings.Builder
		for tok, err := range m.Generate(context.Background(), prompt, goformer.GenerateOptions{MaxTokens: 20, Temperature: 0.7, Seed: 5}) {
			if err != nil {
				t.Error(err)
				return ""
			}
			b.WriteString(tok.Text)
		}
		return b.String()
	}
	prompts := []string{"Once upon a time", "Lily saw a cat", "Tom and Max"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		want[i] = gen(p)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := g % len(prompts)
			switch g % 4 {
			case 0, 1:
				if got := gen(prompts[i]); got != want[i] {
					t.Errorf("goroutine %d: %q, alone %q", g, got, want[i])
				}
			case 2:
				for _, err := range m.GenerateBatch(context.Background(), prompts, goformer.GenerateOptions{MaxTokens: 5}) {
					if err != nil {
						t.Error(err)
					}
				}
			case 3:
				if ids := m.Tokenizer().Encode(prompts[i], true); len(ids) < 2 {
					t.Errorf("Encode gave %v", ids)
				}
			}
		}()
	}
	wg.Wait()
}
