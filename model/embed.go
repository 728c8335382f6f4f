package model

import (
	"errors"
	"fmt"
	"math"
)

// Embed runs an encoder over tokens (one text, special tokens included) and
// returns its pooled, L2-normalized embedding. It allocates a cache of
// len(tokens) positions for the call.
func Embed(m Model, be Backend, tokens []int) ([]float32, error) {
	enc, ok := m.(Encoder)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an embedding (encoder) model", ErrUnsupported, m.Config().Arch)
	}
	if len(tokens) == 0 {
		return nil, errors.New("embed: no tokens")
	}
	cfg := m.Config()
	if len(tokens) > cfg.Context {
		return nil, fmt.Errorf("%w: %d tokens, the model takes at most %d", ErrContextFull, len(tokens), cfg.Context)
	}
	cache, err := be.NewCache(cfg.CacheSpec(len(tokens), 1))
	if err != nil {
		return nil, err
	}
	b := &Batch{Tokens: tokens, Positions: make([]int, len(tokens))}
	for i := range tokens {
		b.Positions[i] = i
	}
	switch enc.Pooling() {
	case PoolCLS:
		b.Outputs = []int{0}
	case PoolMean:
		b.Outputs = b.Positions
	default:
		return nil, fmt.Errorf("%w: pooling %v", ErrUnsupported, enc.Pooling())
	}
	states, err := be.Forward(cache, b, m.Forward)
	if err != nil {
		return nil, err
	}
	d := cfg.Embed
	if len(states) != len(b.Outputs)*d {
		return nil, fmt.Errorf("embed: %d values for %d rows of %d", len(states), len(b.Outputs), d)
	}
	out := make([]float32, d)
	sum := make([]float64, d)
	for r := range len(b.Outputs) {
		for j, v := range states[r*d : (r+1)*d] {
			sum[j] += float64(v)
		}
	}
	var norm float64
	for j := range sum {
		sum[j] /= float64(len(b.Outputs))
		norm += sum[j] * sum[j]
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		norm = 1
	}
	for j := range out {
		out[j] = float32(sum[j] / norm)
	}
	return out, nil
}
