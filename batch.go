package goformer

import (
	"context"
	"fmt"
	"iter"

	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/tokenizer"
)

// BatchToken is a token of one of the sequences of GenerateBatch.
type BatchToken struct {
	Seq int // index of the prompt
	Token
	// Done marks the end of sequence Seq; StopReason says why ("eog",
	// "length", "context", "stop").
	Done       bool
	StopReason string
}

// GenerateBatch generates continuations of several prompts together: each
// step runs one forward pass for every unfinished sequence, so the weights
// are read once for all of them. Each sequence samples with its own
// generator seeded with o.Seed, so a prompt's text does not depend on the
// others. o.Stats and o.Echo are not used.
func (m *Model) GenerateBatch(ctx context.Context, prompts []string, o GenerateOptions) iter.Seq2[BatchToken, error] {
	ids := make([][]int, len(prompts))
	for i, p := range prompts {
		ids[i] = m.tok.Encode(p, true)
	}
	return m.GenerateBatchIDs(ctx, ids, o)
}

// GenerateBatchIDs is GenerateBatch on token ids.
func (m *Model) GenerateBatchIDs(ctx context.Context, prompts [][]int, o GenerateOptions) iter.Seq2[BatchToken, error] {
	return func(yield func(BatchToken, error) bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.backend == nil {
			yield(BatchToken{}, ErrClosed)
			return
		}
		if len(prompts) == 0 {
			return
		}
		if m.multi == nil || m.multi.Sequences() < len(prompts) {
			m.multi = nil // release the old cache first
			mu, err := model.NewMulti(m.net, m.backend, m.context, len(prompts))
			if err != nil {
				yield(BatchToken{}, err)
				return
			}
			m.multi = mu
		}
		for i, p := range prompts {
			if len(p) > m.context {
				yield(BatchToken{}, fmt.Errorf("%w: prompt %d has %d tokens, context %d", model.ErrContextFull, i, len(p), m.context))
				return
			}
		}
		opts := m.modelOptions(o)
		decs := make([]*tokenizer.StreamDecoder, len(prompts))
		stops := make([]*tokenizer.StopMatcher, len(prompts))
		stopped := make([]bool, len(prompts))
		for i := range prompts {
			decs[i] = m.tok.NewStreamDecoder()
			stops[i] = tokenizer.NewStopMatcher(o.Stop)
		}
		finish := func(seq int, reason string) bool {
			rest, hit := stops[seq].Push(decs[seq].Flush())
			if hit {
				reason = "stop"
			} else {
				rest += stops[seq].Flush()
			}
			if rest != "" && !yield(BatchToken{Seq: seq, Token: Token{ID: -1, Text: rest}}, nil) {
				return false
			}
			return yield(BatchToken{Seq: seq, Done: true, StopReason: reason}, nil)
		}
		live := len(prompts)
		halt := func(seq int) bool { return stopped[seq] }
		for st, err := range m.multi.GenerateAll(ctx, prompts, opts, halt) {
			if err != nil {
				yield(BatchToken{}, err)
				return
			}
			if stopped[st.Seq] {
				continue // ended by a stop string: its "halted" step is not reported
			}
			if st.Done {
				stopped[st.Seq] = true
				live--
				if !finish(st.Seq, st.StopReason) {
					return
				}
				continue
			}
			text, hit := stops[st.Seq].Push(decs[st.Seq].Add(st.ID))
			t := Token{ID: st.ID, Text: text, HasLogprob: st.HasProb, Logprob: st.Logprob, Top: st.Top}
			if !yield(BatchToken{Seq: st.Seq, Token: t}, nil) {
				return
			}
			if hit {
				stopped[st.Seq] = true
				live--
				if !yield(BatchToken{Seq: st.Seq, Done: true, StopReason: "stop"}, nil) {
					return
				}
			}
			if live == 0 {
				return
			}
		}
	}
}
