package model

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
)

// ErrContextFull is returned when a prompt does not fit in the context.
var ErrContextFull = errors.New("prompt does not fit in the context")

// Session is one sequence's state: a model, its backend and a KV cache
// holding the tokens evaluated so far. A Session is not safe for concurrent
// use.
type Session struct {
	Model   Model
	Backend Backend
	Cache   Cache
	// Tokens are the tokens whose keys and values are in Cache.
	Tokens []int
	// MaxBatch bounds the tokens per forward pass during prefill (0: 512).
	MaxBatch int
	batch    Batch
}

// NewSession allocates a KV cache of n positions (0: the model's trained
// context).
func NewSession(m Model, be Backend, n int) (*Session, error) {
	if n <= 0 {
		n = m.Config().Context
	}
	c, err := be.NewCache(m.Config().CacheSpec(n, 1))
	if err != nil {
		return nil, err
	}
	return &Session{Model: m, Backend: be, Cache: c}, nil
}

// Context is the number of positions the session holds.
func (s *Session) Context() int { return s.Cache.Spec().Context }

// Reset forgets every token.
func (s *Session) Reset() { s.Truncate(0) }

// Truncate keeps the first n tokens.
func (s *Session) Truncate(n int) {
	if n < len(s.Tokens) {
		s.Tokens = s.Tokens[:n]
	}
}

// Eval appends tokens to the sequence in forward passes of at most MaxBatch
// tokens and returns the logits after the last one (valid until the next
// call). ctx is checked between passes.
func (s *Session) Eval(ctx context.Context, tokens []int) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("eval of no tokens")
	}
	if len(s.Tokens)+len(tokens) > s.Context() {
		return nil, fmt.Errorf("%w: %d tokens after %d cached, context %d", ErrContextFull, len(tokens), len(s.Tokens), s.Context())
	}
	mb := s.MaxBatch
	if mb <= 0 {
		mb = 512
	}
	var logits []float32
	for len(tokens) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(len(tokens), mb)
		b := &s.batch
		b.Tokens = tokens[:n]
		b.Positions = b.Positions[:0]
		for i := range n {
			b.Positions = append(b.Positions, len(s.Tokens)+i)
		}
		b.Outputs = append(b.Outputs[:0], n-1)
		var err error
		logits, err = s.Backend.Forward(s.Cache, b, s.Model.Forward)
		if err != nil {
			return nil, err
		}
		s.Tokens = append(s.Tokens, tokens[:n]...)
		tokens = tokens[n:]
	}
	return logits, nil
}

// GenerateOptions controls a generation.
type GenerateOptions struct {
	// MaxTokens bounds the generated tokens (0: until end of generation or
	// the context is full).
	MaxTokens int
	Sampler   SamplerOptions
	// IsEOG reports end-of-generation tokens (nil: none).
	IsEOG func(id int) bool
	// IgnoreEOS keeps generating past end-of-generation tokens.
	IgnoreEOS bool
}

// Stats describes a finished or running generation.
type Stats struct {
	PromptTokens    int // tokens of the prompt
	CachedTokens    int // prompt tokens reused from the cache
	GeneratedTokens int
	PromptDuration  time.Duration // prefill time
	GenDuration     time.Duration // time from the first to the last generated token
	// StopReason is "eog", "length" (MaxTokens), "context", "cancelled" or
	// "error".
	StopReason string
}

// PromptTPS is prefill throughput in tokens per second.
func (st *Stats) PromptTPS() float64 {
	return rate(st.PromptTokens-st.CachedTokens, st.PromptDuration)
}

// GenTPS is generation throughput in tokens per second; the first token is
// produced by the prefill and not counted.
func (st *Stats) GenTPS() float64 { return rate(st.GeneratedTokens-1, st.GenDuration) }

func rate(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Generate evaluates prompt (reusing the longest prefix already in the
// cache) and yields generated token ids as they are sampled. st, when not
// nil, is filled in as the generation runs. The sequence stops early when
// the consumer stops iterating or ctx is cancelled (yielding ctx.Err()).
func (s *Session) Generate(ctx context.Context, prompt []int, o GenerateOptions, st *Stats) iter.Seq2[int, error] {
	if st == nil {
		st = new(Stats)
	}
	return func(yield func(int, error) bool) {
		*st = Stats{PromptTokens: len(prompt)}
		fail := func(err error) {
			st.StopReason = "error"
			if ctx.Err() != nil {
				st.StopReason = "cancelled"
			}
			yield(0, err)
		}
		if len(prompt) == 0 {
			fail(errors.New("empty prompt: at least one token (e.g. BOS) is needed"))
			return
		}
		if len(prompt) > s.Context() {
			fail(fmt.Errorf("%w: prompt of %d tokens, context of %d", ErrContextFull, len(prompt), s.Context()))
			return
		}
		keep := commonPrefix(s.Tokens, prompt)
		if keep == len(prompt) {
			keep-- // the last prompt token must be evaluated for its logits
		}
		s.Truncate(keep)
		st.CachedTokens = keep
		t0 := time.Now()
		logits, err := s.Eval(ctx, prompt[keep:])
		if err != nil {
			fail(err)
			return
		}
		st.PromptDuration = time.Since(t0)
		smp := NewSampler(o.Sampler)
		var t1 time.Time
		for {
			id := smp.Sample(logits)
			if st.GeneratedTokens == 0 {
				t1 = time.Now()
			}
			st.GeneratedTokens++
			st.GenDuration = time.Since(t1)
			if !o.IgnoreEOS && o.IsEOG != nil && o.IsEOG(id) {
				st.GeneratedTokens--
				st.StopReason = "eog"
				return
			}
			if !yield(id, nil) {
				st.StopReason = "cancelled"
				return
			}
			switch {
			case o.MaxTokens > 0 && st.GeneratedTokens >= o.MaxTokens:
				st.StopReason = "length"
				return
			case len(s.Tokens) >= s.Context():
				st.StopReason = "context"
				return
			}
			if logits, err = s.Eval(ctx, []int{id}); err != nil {
				fail(err)
				return
			}
			st.GenDuration = time.Since(t1)
		}
	}
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
