package goformer

import (
	"context"
	"fmt"

	"github.com/goformer/goformer/model"
)

// Embedder reports whether the model computes sentence embeddings (an
// encoder family such as BERT).
func (m *Model) Embedder() bool {
	_, ok := m.net.(model.Encoder)
	return ok
}

// Embed returns one L2-normalized embedding per text (pooled as the model
// says: mean or CLS), and the number of tokens read. Texts are tokenized
// with the tokenizer's special tokens ([CLS]/[SEP]).
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, int, error) {
	if !m.Embedder() {
		return nil, 0, fmt.Errorf("%s: %w: %s is not an embedding model", m.source, model.ErrUnsupported, m.net.Config().Arch)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend == nil {
		return nil, 0, ErrClosed
	}
	out := make([][]float32, len(texts))
	n := 0
	for i, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		ids := m.tok.Encode(text, true)
		if len(ids) > m.context {
			return nil, 0, fmt.Errorf("%w: input %d has %d tokens, context %d", model.ErrContextFull, i, len(ids), m.context)
		}
		v, err := model.Embed(m.net, m.backend, ids)
		if err != nil {
			return nil, 0, fmt.Errorf("input %d: %w", i, err)
		}
		out[i] = v
		n += len(ids)
	}
	return out, n, nil
}
