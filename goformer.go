// Package goformer runs transformer language models in Go: it loads GGUF
// files and Hugging Face directories (safetensors + config.json +
// tokenizer.json), tokenizes, and generates text token by token on
// goformer's own CPU kernels.
//
//	m, err := goformer.Load("model.gguf")
//	if err != nil { ... }
//	defer m.Close()
//	for tok, err := range m.Generate(ctx, "Once upon a time", goformer.GenerateOptions{MaxTokens: 64}) {
//		if err != nil { ... }
//		fmt.Print(tok.Text)
//	}
//
// Load("") loads the small model embedded in the binary (stories260K).
package goformer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/tokenizer"
	"github.com/goformer/goformer/tokenizer/chat"
	"github.com/goformer/goformer/weights"
)

// DefaultContext caps the KV cache of models trained on longer contexts
// unless WithContext asks for more.
const DefaultContext = 4096

// Model is a loaded model with its tokenizer. Its methods are safe for
// concurrent use; generations run one at a time.
type Model struct {
	file    *weights.File
	backend model.Backend
	net     model.Model
	tok     *tokenizer.Tokenizer
	context int
	source  string

	template *chat.Template // nil: the model has no chat template

	mu      sync.Mutex // guards session, multi and the backend
	session *model.Session
	multi   *model.Multi // batched generation, allocated on first use
}

type loadOptions struct {
	threads      int
	context      int
	noMmap       bool
	tokenizer    string
	chatTemplate string
	backend      model.Backend // nil: native
	halfGELU     bool
	exactBF16    bool
	f16Cache     bool
}

// Option configures Load.
type Option func(*loadOptions)

// WithThreads sets the number of CPU threads (default: all cores).
func WithThreads(n int) Option { return func(o *loadOptions) { o.threads = n } }

// WithContext sets the context length (KV cache positions). The default is
// the model's trained context, capped at DefaultContext.
func WithContext(n int) Option { return func(o *loadOptions) { o.context = n } }

// WithoutMmap reads the weights into memory instead of memory-mapping them.
func WithoutMmap() Option { return func(o *loadOptions) { o.noMmap = true } }

// WithTokenizer loads the tokenizer from path (a tokenizer.json) instead of
// from the model.
func WithTokenizer(path string) Option { return func(o *loadOptions) { o.tokenizer = path } }

// WithChatTemplate uses this Jinja chat template instead of the model's.
func WithChatTemplate(source string) Option { return func(o *loadOptions) { o.chatTemplate = source } }

// WithLlamaCppGELU computes GELU (Gemma, GPT-2, BERT) the way llama.cpp's CPU
// backend does, through a half-precision lookup table, instead of exactly:
// log-probabilities then match llama.cpp's on the same file within 1e-3
// rather than 2-3e-3. Only the native CPU backend has it.
func WithLlamaCppGELU() Option { return func(o *loadOptions) { o.halfGELU = true } }

// WithExactBF16 multiplies BF16 weights against the float32 activations
// exactly. By default the native backend rounds the activations of BF16
// matrix products to bfloat16 and uses the CPU's bfloat16 dot products
// (AVX512_BF16), as llama.cpp's CPU backend does: 1.3–1.9× faster on BF16
// files, each product off by up to 2⁻⁸ relatively. Native backend only
// (the others compute BF16 products their own way); CPUs without the
// instructions always run the exact path.
func WithExactBF16() Option { return func(o *loadOptions) { o.exactBF16 = true } }

// WithF16Cache stores the KV cache's keys and values as float16, as
// llama.cpp does by default: half the memory (and half the bytes attention
// reads at long contexts), each key and value rounded once (native backend
// only; see model.Native.F16Cache).
func WithF16Cache() Option { return func(o *loadOptions) { o.f16Cache = true } }

// Load opens a model: a .gguf file, a Hugging Face model directory, or ""
// for the embedded default model.
func Load(path string, opts ...Option) (*Model, error) {
	var o loadOptions
	for _, f := range opts {
		f(&o)
	}
	var (
		f   *weights.File
		err error
	)
	if path == "" {
		f, err = weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
		if o.context == 0 {
			o.context = defaultmodel.Context
		}
	} else {
		f, err = weights.Open(path, weights.Options{NoMmap: o.noMmap})
	}
	if err != nil {
		if o.backend != nil {
			o.backend.Close()
		}
		return nil, err
	}
	m, err := load(f, path, &o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

func load(f *weights.File, path string, o *loadOptions) (*Model, error) {
	var tok *tokenizer.Tokenizer
	var err error
	switch {
	case o.tokenizer != "":
		tok, err = tokenizer.FromFile(o.tokenizer)
	case f.Format == weights.FormatGGUF:
		tok, err = tokenizer.FromGGUF(f.Meta)
		if err != nil {
			err = fmt.Errorf("%s: %w", f.Path, err)
		}
	default:
		tok, err = loadHFTokenizer(path)
	}
	if err != nil {
		if o.backend != nil {
			o.backend.Close()
		}
		return nil, err
	}
	be := o.backend
	if be == nil {
		be = model.NewNative(o.threads)
	}
	if o.halfGELU || o.exactBF16 || o.f16Cache { // numerics options of the native backend
		n, ok := be.(*model.Native)
		if !ok {
			be.Close()
			opt := "WithLlamaCppGELU"
			switch {
			case o.halfGELU:
			case o.exactBF16:
				opt = "WithExactBF16"
			default:
				opt = "WithF16Cache"
			}
			return nil, fmt.Errorf("%s: the %s backend does not have it (native backend only)", opt, be.Name())
		}
		n.HalfGELU, n.ExactBF16, n.F16Cache = o.halfGELU, o.exactBF16, o.f16Cache
	}
	net, err := model.Load(f, be)
	if err != nil {
		be.Close()
		return nil, err
	}
	cfg := net.Config()
	if tok.VocabSize() > cfg.Vocab {
		be.Close()
		return nil, fmt.Errorf("%s: tokenizer has %d tokens but the model only %d", f.Path, tok.VocabSize(), cfg.Vocab)
	}
	n := o.context
	if n <= 0 {
		n = min(cfg.Context, DefaultContext)
	}
	m := &Model{file: f, backend: be, net: net, tok: tok, context: n, source: f.Path}
	if err := m.loadChatTemplate(o.chatTemplate); err != nil {
		be.Close()
		return nil, err
	}
	return m, nil
}

func loadHFTokenizer(dir string) (*tokenizer.Tokenizer, error) {
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	p := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("%s: no tokenizer.json beside the model (pass a tokenizer explicitly): %w", dir, err)
	}
	return tokenizer.FromFile(p)
}

// Close releases the weights (unmapping them) and the worker threads.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend == nil {
		return nil
	}
	m.backend.Close()
	m.backend, m.session, m.multi = nil, nil, nil
	return m.file.Close()
}

// Info describes a loaded model.
type Info struct {
	Source     string // path, or the embedded model's name
	Arch       string
	Params     int64
	WeightType string
	Context    int // KV cache positions in use
	Threads    int // CPU threads of the native backend
	Config     model.Config
}

// Info describes the model.
func (m *Model) Info() Info {
	c := m.net.Config()
	info := Info{Source: m.source, Arch: c.Arch, Params: c.Params, WeightType: c.WeightTyp, Context: m.context, Config: c}
	if n, ok := m.backend.(interface{ Threads() int }); ok {
		info.Threads = n.Threads()
	}
	return info
}

// Tokenizer is the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// GenerateOptions controls Generate. The zero value samples with
// temperature 0 (greedy) until end of generation or a full context.
type GenerateOptions struct {
	MaxTokens   int     // generated tokens at most (0: no limit but the context)
	Temperature float32 // 0: greedy
	TopK        int     // 0: off
	TopP        float32 // 0 or 1: off
	Seed        uint64  // same seed and options, same text
	IgnoreEOS   bool    // keep going past end-of-generation tokens
	// Logprobs reports each token's log-probability (log-softmax of the raw
	// logits) and the TopLogprobs most likely alternatives.
	Logprobs    bool
	TopLogprobs int
	// Echo first yields the prompt's tokens (Token.Prompt), scored when
	// Logprobs is set; the first prompt token has no logprob.
	Echo bool
	// Stop ends the generation at the first occurrence of any of these
	// strings in the generated text; the stop string itself is not
	// emitted (text that might begin one is held back until it cannot).
	Stop []string
	// Sampling beyond temperature/top-k/top-p (see model.SamplerOptions).
	MinP             float32
	RepeatPenalty    float32 // 1 or 0: off
	RepeatLastN      int     // penalty window (0: 64, -1: all)
	PresencePenalty  float32
	FrequencyPenalty float32
	LogitBias        map[int]float32
	// Overflow: what to do when the prompt or the generation outgrows the
	// context — model.OverflowError (default), OverflowTruncate (keep the
	// first Keep tokens and the most recent ones) or OverflowShift (also
	// shift the context while generating). Keep 0 keeps a leading BOS.
	Overflow model.Overflow
	Keep     int
	// Stats, when not nil, receives token counts and timings.
	Stats *model.Stats
}

// Token is one generated token and the text it completes. Text may be empty
// while a multi-byte character is still incomplete. A last Token with ID -1
// may carry the bytes of a character left incomplete at the end (as U+FFFD).
type Token struct {
	ID     int
	Text   string
	Prompt bool // an echoed prompt token
	// HasLogprob tells whether Logprob is set (with Logprobs, for every
	// token but the first echoed prompt token).
	HasLogprob bool
	Logprob    float32
	Top        []model.TokenLogprob
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("goformer: model is closed")

// Generate encodes prompt (adding BOS as the tokenizer asks) and streams
// the generated tokens.
func (m *Model) Generate(ctx context.Context, prompt string, o GenerateOptions) iter.Seq2[Token, error] {
	return m.GenerateIDs(ctx, m.tok.Encode(prompt, true), o)
}

func (m *Model) modelOptions(o GenerateOptions) model.GenerateOptions {
	return model.GenerateOptions{
		MaxTokens: o.MaxTokens,
		Sampler: model.SamplerOptions{
			Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP, MinP: o.MinP, Seed: o.Seed,
			RepeatPenalty: o.RepeatPenalty, RepeatLastN: o.RepeatLastN,
			PresencePenalty: o.PresencePenalty, FrequencyPenalty: o.FrequencyPenalty, LogitBias: o.LogitBias,
		},
		IsEOG:       m.tok.IsEOG,
		IgnoreEOS:   o.IgnoreEOS,
		Logprobs:    o.Logprobs,
		TopLogprobs: o.TopLogprobs,
		Echo:        o.Echo,
		Overflow:    o.Overflow,
		Keep:        o.Keep,
	}
}

// GenerateIDs streams the tokens generated after the prompt token ids.
func (m *Model) GenerateIDs(ctx context.Context, prompt []int, o GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.backend == nil {
			yield(Token{}, ErrClosed)
			return
		}
		if m.session == nil {
			s, err := model.NewSession(m.net, m.backend, m.context)
			if err != nil {
				yield(Token{}, err)
				return
			}
			m.session = s
		}
		for _, id := range prompt {
			if id < 0 || id >= m.net.Config().Vocab {
				yield(Token{}, fmt.Errorf("prompt token id %d outside the vocabulary of %d", id, m.net.Config().Vocab))
				return
			}
		}
		dec := m.tok.NewStreamDecoder()
		opts := m.modelOptions(o)
		if opts.Keep == 0 && len(prompt) > 0 && prompt[0] == m.tok.BOS() {
			opts.Keep = 1
		}
		pdec := m.tok.NewStreamDecoder()
		stats := o.Stats
		if stats == nil {
			stats = new(model.Stats)
		}
		stop := tokenizer.NewStopMatcher(o.Stop)
		stopped := false
		for st, err := range m.session.Generate(ctx, prompt, opts, stats) {
			if err != nil {
				yield(Token{}, err)
				return
			}
			t := Token{ID: st.ID, Prompt: st.Prompt, HasLogprob: st.HasProb, Logprob: st.Logprob, Top: st.Top}
			if st.Prompt {
				t.Text = pdec.Add(st.ID)
			} else {
				t.Text, stopped = stop.Push(dec.Add(st.ID))
			}
			if !yield(t, nil) {
				return
			}
			if stopped {
				break // the generator records "cancelled"; overwritten below
			}
		}
		if stopped {
			stats.StopReason = "stop"
			return
		}
		rest, stopped := stop.Push(dec.Flush())
		if stopped {
			stats.StopReason = "stop"
		} else {
			rest += stop.Flush()
		}
		if rest != "" {
			yield(Token{ID: -1, Text: rest}, nil)
		}
	}
}
