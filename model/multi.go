package model

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Multi holds several independent sequences in one KV cache and advances
// any subset of them in a single forward pass, so their weight reads are
// shared (batched decoding). It is not safe for concurrent use: one
// goroutine (a scheduler) drives it.
type Multi struct {
	Model   Model
	Backend Backend
	Cache   Cache
	tokens  [][]int
	batch   Batch
}

// NewMulti allocates a cache of seqs sequences of n positions each (n = 0:
// the model's trained context).
func NewMulti(m Model, be Backend, n, seqs int) (*Multi, error) {
	if seqs <= 0 {
		return nil, fmt.Errorf("need at least one sequence, got %d", seqs)
	}
	if n <= 0 {
		n = m.Config().Context
	}
	c, err := be.NewCache(m.Config().CacheSpec(n, seqs))
	if err != nil {
		return nil, err
	}
	return &Multi{Model: m, Backend: be, Cache: c, tokens: make([][]int, seqs)}, nil
}

// Sequences is the number of slots.
func (mu *Multi) Sequences() int { return len(mu.tokens) }

// Context is the number of positions of each sequence.
func (mu *Multi) Context() int { return mu.Cache.Spec().Context }

// Tokens returns the tokens held for sequence seq (do not modify).
func (mu *Multi) Tokens(seq int) []int { return mu.tokens[seq] }

// Truncate keeps the first n tokens of sequence seq.
func (mu *Multi) Truncate(seq, n int) {
	if n < len(mu.tokens[seq]) {
		mu.tokens[seq] = mu.tokens[seq][:n]
	}
}

// Input is the new tokens of one sequence for a Step.
type Input struct {
	Seq    int
	Tokens []int
}

// Step appends each input's tokens to its sequence in one forward pass and
// returns, per input, the logits after its last token (valid until the next
// call). Each sequence may appear once.
func (mu *Multi) Step(ctx context.Context, in []Input) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, errors.New("step with no inputs")
	}
	b := &mu.batch
	b.Tokens, b.Positions, b.Seqs, b.Outputs = b.Tokens[:0], b.Positions[:0], b.Seqs[:0], b.Outputs[:0]
	seen := make(map[int]bool, len(in))
	for _, x := range in {
		if x.Seq < 0 || x.Seq >= len(mu.tokens) {
			return nil, fmt.Errorf("sequence %d of %d", x.Seq, len(mu.tokens))
		}
		if seen[x.Seq] {
			return nil, fmt.Errorf("sequence %d given twice in one step", x.Seq)
		}
		seen[x.Seq] = true
		if len(x.Tokens) == 0 {
			return nil, fmt.Errorf("sequence %d: no tokens", x.Seq)
		}
		have := len(mu.tokens[x.Seq])
		if have+len(x.Tokens) > mu.Context() {
			return nil, fmt.Errorf("%w: sequence %d: %d tokens after %d, context %d", ErrContextFull, x.Seq, len(x.Tokens), have, mu.Context())
		}
		for i, t := range x.Tokens {
			b.Tokens = append(b.Tokens, t)
			b.Positions = append(b.Positions, have+i)
			b.Seqs = append(b.Seqs, x.Seq)
		}
		b.Outputs = append(b.Outputs, len(b.Tokens)-1)
	}
	logits, err := mu.Backend.Forward(mu.Cache, b, mu.Model.Forward)
	if err != nil {
		return nil, err
	}
	for _, x := range in {
		mu.tokens[x.Seq] = append(mu.tokens[x.Seq], x.Tokens...)
	}
	vocab := len(logits) / len(in)
	out := make([][]float32, len(in))
	for i := range in {
		out[i] = logits[i*vocab : (i+1)*vocab]
	}
	return out, nil
}

// SeqStep is a step of one sequence in a batched generation.
type SeqStep struct {
	Seq int
	Step
	// Done marks a sequence's end (Step is then empty); StopReason says why.
	Done       bool
	StopReason string
}

// GenerateAll generates continuations of every prompt together, one
// forward pass per step for all unfinished sequences (the prompts are
// prefilled together in the first pass). Prompt i runs in cache slot i, so
// NewMulti must have at least len(prompts) sequences. Every sequence has
// its own sampler seeded with o.Sampler.Seed: a prompt's text does not
// depend on its batch position. halt, when not nil, is asked before each
// step whether a sequence should end (its Done step then says "halted").
func (mu *Multi) GenerateAll(ctx context.Context, prompts [][]int, o GenerateOptions, halt func(seq int) bool) iter.Seq2[SeqStep, error] {
	return func(yield func(SeqStep, error) bool) {
		if len(prompts) > mu.Sequences() {
			yield(SeqStep{}, fmt.Errorf("%d prompts for %d sequences", len(prompts), mu.Sequences()))
			return
		}
		samplers := make([]*Sampler, len(prompts))
		counts := make([]int, len(prompts))
		in := make([]Input, 0, len(prompts))
		for i, p := range prompts {
			if len(p) == 0 {
				yield(SeqStep{}, fmt.Errorf("prompt %d is empty", i))
				return
			}
			mu.Truncate(i, 0)
			samplers[i] = NewSampler(o.Sampler)
			samplers[i].Accept(p...)
			in = append(in, Input{Seq: i, Tokens: p})
		}
		var buf []float32
		for len(in) > 0 {
			logits, err := mu.Step(ctx, in)
			if err != nil {
				yield(SeqStep{}, err)
				return
			}
			next := in[:0]
			for j, x := range in {
				l := logits[j]
				step := Step{}
				if o.Logprobs {
					if buf == nil {
						buf = make([]float32, len(l))
					}
					LogSoftmax(buf, l)
				}
				step.ID = samplers[x.Seq].Sample(l)
				if o.Logprobs {
					o.score(&step, buf)
				}
				reason := ""
				if !o.IgnoreEOS && o.IsEOG != nil && o.IsEOG(step.ID) {
					reason = "eog"
				} else {
					counts[x.Seq]++
					if !yield(SeqStep{Seq: x.Seq, Step: step}, nil) {
						return
					}
					samplers[x.Seq].Accept(step.ID)
					switch {
					case halt != nil && halt(x.Seq):
						reason = "halted"
					case o.MaxTokens > 0 && counts[x.Seq] >= o.MaxTokens:
						reason = "length"
					case len(mu.tokens[x.Seq]) >= mu.Context():
						reason = "context"
					}
				}
				if reason != "" {
					if !yield(SeqStep{Seq: x.Seq, Done: true, StopReason: reason}, nil) {
						return
					}
					continue
				}
				next = append(next, Input{Seq: x.Seq, Tokens: []int{step.ID}})
			}
			in = next
		}
	}
}
