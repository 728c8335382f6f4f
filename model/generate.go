package model

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
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
// call, or the next forward pass of the backend by another Session). ctx is
// checked between passes.
func (s *Session) Eval(ctx context.Context, tokens []int) ([]float32, error) {
	return s.eval(ctx, tokens, false)
}

// EvalAll is Eval returning the logits after every token: len(tokens) rows
// of Vocab logits, row-major.
func (s *Session) EvalAll(ctx context.Context, tokens []int) ([]float32, error) {
	return s.eval(ctx, tokens, true)
}

func (s *Session) eval(ctx context.Context, tokens []int, all bool) ([]float32, error) {
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
	var logits, rows []float32
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
		b.Outputs = b.Outputs[:0]
		if all {
			for i := range n {
				b.Outputs = append(b.Outputs, i)
			}
		} else {
			b.Outputs = append(b.Outputs, n-1)
		}
		var err error
		logits, err = s.Backend.Forward(s.Cache, b, s.Model.Forward)
		if err != nil {
			return nil, err
		}
		if all {
			rows = append(rows, logits...)
		}
		s.Tokens = append(s.Tokens, tokens[:n]...)
		tokens = tokens[n:]
	}
	if all {
		return rows, nil
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
	// Logprobs reports each token's log-probability under the model (the
	// log-softmax of the raw logits, before temperature or truncation) and
	// the TopLogprobs most likely alternatives.
	Logprobs    bool
	TopLogprobs int
	// Overflow chooses what happens when the prompt does not fit or the
	// context fills during generation: OverflowError (the default) fails
	// for a long prompt and stops generation ("context") when full;
	// OverflowTruncate keeps the first Keep prompt tokens and the most
	// recent ones; OverflowShift does that too and, when the context fills
	// while generating, drops the older half of what follows the first Keep
	// tokens and re-evaluates the rest, so generation goes on.
	Overflow Overflow
	// Keep is the number of leading tokens (e.g. BOS and a system prompt)
	// truncation and shifting never drop.
	Keep int
	// Echo first yields the prompt tokens (Prompt set), scored when
	// Logprobs is on (the first prompt token has no logprob). The whole
	// prompt is then evaluated, without prefix reuse.
	Echo bool
}

// Overflow is a policy for prompts and generations longer than the context.
type Overflow int

const (
	OverflowError Overflow = iota
	OverflowTruncate
	OverflowShift
)

// fitPrompt applies the overflow policy to a prompt, leaving room for
// min(MaxTokens, context/4) generated tokens when truncating.
func (o *GenerateOptions) fitPrompt(prompt []int, context int) ([]int, error) {
	if len(prompt) <= context {
		return prompt, nil
	}
	if o.Overflow == OverflowError {
		return nil, fmt.Errorf("%w: prompt of %d tokens, context of %d", ErrContextFull, len(prompt), context)
	}
	room := context / 4
	if o.MaxTokens > 0 {
		room = min(room, o.MaxTokens)
	}
	keep := min(o.Keep, len(prompt))
	tail := context - room - keep
	if tail < 1 {
		return nil, fmt.Errorf("%w: %d kept tokens leave no room in a context of %d", ErrContextFull, keep, context)
	}
	return append(slices.Clip(prompt[:keep]), prompt[len(prompt)-tail:]...), nil
}

// shift drops the older half of the tokens after the first keep and
// re-evaluates the rest, returning the logits after the last token.
func (s *Session) shift(ctx context.Context, keep int) ([]float32, error) {
	keep = min(keep, len(s.Tokens)-1)
	rest := s.Tokens[keep:]
	kept := append(slices.Clone(s.Tokens[:keep]), rest[len(rest)/2:]...)
	s.Truncate(0)
	return s.Eval(ctx, kept)
}

// Step is one token of a generation.
type Step struct {
	ID      int
	Prompt  bool // an echoed prompt token
	HasProb bool // Logprob is set
	Logprob float32
	Top     []TokenLogprob // the most likely tokens, best first
}

// TokenLogprob is a token with its log-probability.
type TokenLogprob struct {
	ID      int
	Logprob float32
}

// LogSoftmax writes log-probabilities of logits into out (float64 sums).
func LogSoftmax(out, logits []float32) {
	m := logits[0]
	for _, v := range logits {
		m = max(m, v)
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v - m))
	}
	lse := float32(math.Log(sum)) + m
	for i, v := range logits {
		out[i] = v - lse
	}
}

// TopLogprobs returns the k highest entries of logprobs, best first (ties:
// lower id first).
func TopLogprobs(logprobs []float32, k int) []TokenLogprob {
	k = min(k, len(logprobs))
	top := make([]TokenLogprob, 0, k+1)
	for id, lp := range logprobs {
		if len(top) == k && (k == 0 || lp <= top[k-1].Logprob) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return top[i].Logprob < lp })
		top = slices.Insert(top, i, TokenLogprob{id, lp})
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

// score sets dst's log-probabilities from logprobs, the log-softmax of the
// logits that predicted dst.ID.
func (o *GenerateOptions) score(dst *Step, logprobs []float32) {
	dst.HasProb, dst.Logprob = true, logprobs[dst.ID]
	if o.TopLogprobs > 0 {
		dst.Top = TopLogprobs(logprobs, o.TopLogprobs)
	}
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
func (s *Session) Generate(ctx context.Context, prompt []int, o GenerateOptions, st *Stats) iter.Seq2[Step, error] {
	if st == nil {
		st = new(Stats)
	}
	return func(yield func(Step, error) bool) {
		*st = Stats{PromptTokens: len(prompt)}
		fail := func(err error) {
			st.StopReason = "error"
			if ctx.Err() != nil {
				st.StopReason = "cancelled"
			}
			yield(Step{}, err)
		}
		if len(prompt) == 0 {
			fail(errors.New("empty prompt: at least one token (e.g. BOS) is needed"))
			return
		}
		prompt, err := o.fitPrompt(prompt, s.Context())
		if err != nil {
			fail(err)
			return
		}
		keep := commonPrefix(s.Tokens, prompt)
		if keep == len(prompt) {
			keep-- // the last prompt token must be evaluated for its logits
		}
		if o.Echo {
			keep = 0
		}
		s.Truncate(keep)
		st.CachedTokens = keep
		t0 := time.Now()
		var logits []float32
		var buf []float32
		if o.Echo {
			var rows []float32
			if rows, err = s.EvalAll(ctx, prompt); err != nil {
				fail(err)
				return
			}
			st.PromptDuration = time.Since(t0)
			vocab := len(rows) / len(prompt)
			buf = make([]float32, vocab)
			for i, id := range prompt {
				step := Step{ID: id, Prompt: true}
				if i > 0 && o.Logprobs {
					LogSoftmax(buf, rows[(i-1)*vocab:i*vocab])
					o.score(&step, buf)
				}
				if !yield(step, nil) {
					st.StopReason = "cancelled"
					return
				}
			}
			logits = rows[(len(prompt)-1)*vocab:]
		} else {
			if logits, err = s.Eval(ctx, prompt[keep:]); err != nil {
				fail(err)
				return
			}
			st.PromptDuration = time.Since(t0)
			buf = make([]float32, len(logits))
		}
		smp := NewSampler(o.Sampler)
		smp.Accept(prompt...)
		var t1 time.Time
		var step Step
		for {
			if o.Logprobs {
				// score before sampling: the sampler rescales logits in place
				LogSoftmax(buf, logits)
			}
			id := smp.Sample(logits)
			step = Step{ID: id}
			if o.Logprobs {
				o.score(&step, buf)
			}
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
			if !yield(step, nil) {
				st.StopReason = "cancelled"
				return
			}
			smp.Accept(id)
			switch {
			case o.MaxTokens > 0 && st.GeneratedTokens >= o.MaxTokens:
				st.StopReason = "length"
				return
			case len(s.Tokens) >= s.Context() && o.Overflow != OverflowShift:
				st.StopReason = "context"
				return
			case len(s.Tokens) >= s.Context():
				if _, err = s.shift(ctx, o.Keep); err != nil {
					fail(err)
					return
				}
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
