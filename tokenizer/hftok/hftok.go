//go:build hftokenizers && cgo

package hftok

import (
	"fmt"

	hf "github.com/daulet/tokenizers"

	"github.com/goformer/goformer/tokenizer"
)

// Tokenizer wraps a Hugging Face tokenizer loaded from tokenizer.json.
type Tokenizer struct {
	t *hf.Tokenizer
}

var _ tokenizer.Codec = (*Tokenizer)(nil)

// FromFile loads a tokenizer.json.
func FromFile(path string) (*Tokenizer, error) {
	t, err := hf.FromFile(path)
	if err != nil {
		return nil, fmt.Errorf("hftok: %s: %w", path, err)
	}
	return &Tokenizer{t: t}, nil
}

// Encode tokenizes text; addSpecial adds the post-processor's special
// tokens (BOS/EOS, [CLS]/[SEP]). Added tokens in the text are always
// matched, as the Rust library does.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	ids, _ := t.t.Encode(text, addSpecial)
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// Decode turns ids back into text, special tokens included.
func (t *Tokenizer) Decode(ids []int) string {
	u := make([]uint32, len(ids))
	for i, id := range ids {
		u[i] = uint32(id)
	}
	return t.t.Decode(u, false)
}

// VocabSize is the vocabulary size including added tokens.
func (t *Tokenizer) VocabSize() int { return int(t.t.VocabSize()) }

// Close frees the Rust tokenizer.
func (t *Tokenizer) Close() error { return t.t.Close() }
