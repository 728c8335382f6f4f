package tokenizer

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestConcurrentEncode: a Tokenizer is safe for concurrent use (run with
// -race).
func TestConcurrentEncode(t *testing.T) {
	toks := tinyTokenizers(t)
	texts := append([]string{}, fuzzTexts...)
	for i := range 50 {
		texts = append(texts, fmt.Sprintf("the and in %d é 小明 %s", i, texts[i%len(fuzzTexts)]))
	}
	for name, tok := range toks {
		want := make([][]int, len(texts))
		for i, s := range texts {
			want[i] = tok.Encode(s, true)
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 200 {
					i := (g*31 + k) % len(texts)
					if got := tok.Encode(texts[i], true); !slices.Equal(got, want[i]) {
						t.Errorf("%s: concurrent Encode(%q) = %v, want %v", name, texts[i], got, want[i])
						return
					}
					tok.Decode(want[i])
				}
			}()
		}
		wg.Wait()
	}
}

func TestLoadDetectsKinds(t *testing.T) {
	for _, p := range []string{
		"models/stories260K/stories260K.gguf",
		"tokenizers/llama2-spm/tokenizer.model",
		"tokenizers/llama2-spm",
		"tokenizers/gpt2",
		"tokenizers/gpt2/encoder.json",
		"tokenizers/mistral/tokenizer.json",
	} {
		path := needShared(t, p)
		tok, err := Load(path)
		if err != nil {
			t.Errorf("Load(%s): %v", p, err)
			continue
		}
		if tok.VocabSize() < 256 || tok.Decode(tok.Encode("Hello world", false)) != "Hello world" {
			t.Errorf("Load(%s): vocab %d, round trip %q", p, tok.VocabSize(), tok.Decode(tok.Encode("Hello world", false)))
		}
	}
}
