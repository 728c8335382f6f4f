package goformer

import (
	"fmt"

	"github.com/goformer/goformer/model"
)

// This file gives schedulers that batch many sequences themselves (the
// goformer serve command's continuous batching) access to the model's
// forward pass, with the same locking as the Model's own generations.

// NewBatchCache allocates a KV cache of seqs independent sequences (slots)
// of Info().Context positions each, for use with Forward. Which positions
// of each slot are valid is the caller's bookkeeping.
func (m *Model) NewBatchCache(seqs int) (model.Cache, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend == nil {
		return nil, ErrClosed
	}
	if seqs <= 0 {
		return nil, fmt.Errorf("batch cache: need at least one sequence, got %d", seqs)
	}
	return m.backend.NewCache(m.net.Config().CacheSpec(m.context, seqs))
}

// Forward runs one forward pass of b over cache (from NewBatchCache) and
// appends the logits of the rows b.Outputs lists (Vocab values per output,
// in that order) to dst[:0]. It holds the model's lock for the pass, so it
// never overlaps another generation on m. Token ids are checked against
// the vocabulary and positions against the cache.
func (m *Model) Forward(cache model.Cache, b *model.Batch, dst []float32) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend == nil {
		return dst[:0], ErrClosed
	}
	vocab := m.net.Config().Vocab
	spec := cache.Spec()
	seqs := max(spec.Sequences, 1)
	for i, id := range b.Tokens {
		if id < 0 || id >= vocab {
			return dst[:0], fmt.Errorf("forward: token id %d outside the vocabulary of %d", id, vocab)
		}
		if p := b.Positions[i]; p < 0 || p >= spec.Context {
			return dst[:0], fmt.Errorf("forward: position %d outside the context of %d", p, spec.Context)
		}
		if s := b.Seq(i); s < 0 || s >= seqs {
			return dst[:0], fmt.Errorf("forward: sequence %d of %d", s, seqs)
		}
	}
	logits, err := m.backend.Forward(cache, b, m.net.Forward)
	if err != nil {
		return dst[:0], err
	}
	return append(dst[:0], logits...), nil
}
