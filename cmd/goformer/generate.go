package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/model"
)

func cmdGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer generate [flags] PROMPT")
		fs.PrintDefaults()
	}
	modelPath := fs.String("m", "", "model: a .gguf file or a Hugging Face directory (default: the embedded stories260K)")
	pull := fs.Bool("pull", false, "download -m ORG/NAME from the Hugging Face Hub first if it is not in the cache")
	n := fs.Int("n", 128, "tokens to generate at most (-1: until end of generation or a full context)")
	temp := fs.Float64("temperature", 0.8, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 40, "keep the K most likely tokens (0: off)")
	topP := fs.Float64("top-p", 0.9, "nucleus sampling threshold (1: off)")
	seed := fs.Int64("seed", -1, "random seed (-1: random)")
	jsonOut := fs.Bool("json", false, "print one JSON object per token, then a summary object")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-generation tokens")
	threads := fs.Int("t", 0, "CPU threads (0: all cores)")
	backendName := fs.String("backend", "native", backendUsage)
	ctxLen := fs.Int("c", 0, "context length (0: the model's, at most 4096)")
	noMmap := fs.Bool("no-mmap", false, "read the weights into memory instead of memory-mapping them")
	exactBF16 := fs.Bool("exact-bf16", false, exactBF16Usage)
	kvCache := fs.String("kv-cache", "f32", kvCacheUsage)
	llamaGELU := fs.Bool("llamacpp-gelu", false, "compute GELU through llama.cpp's half-precision table (to reproduce its numbers on Gemma, GPT-2, BERT)")
	tokPath := fs.String("tokenizer", "", "tokenizer.json to use instead of the model's")
	minP := fs.Float64("min-p", 0, "drop tokens less likely than this fraction of the most likely (0: off)")
	repeatPenalty := fs.Float64("repeat-penalty", 1, "penalize tokens of the last --repeat-last-n tokens (1: off)")
	repeatLastN := fs.Int("repeat-last-n", 64, "penalty window in tokens (-1: all)")
	presence := fs.Float64("presence-penalty", 0, "subtract from the logits of tokens already present (0: off)")
	frequency := fs.Float64("frequency-penalty", 0, "subtract per occurrence from the logits of tokens already present (0: off)")
	overflow := fs.String("context-overflow", "error", "when the prompt or generation outgrows the context: error, truncate (keep BOS and the most recent tokens) or shift (also shift the context while generating)")
	var stops stringList
	fs.Var(&stops, "stop", "stop at this string (not printed); repeatable")
	logprobs := fs.Int("logprobs", -1, "with --json: report each token's log-probability and the top K alternatives (0: none)")
	echo := fs.Bool("echo", false, "with --json: also print (and score) the prompt tokens first")
	promptIDs := fs.String("prompt-ids", "", "comma-separated token ids to use as the prompt instead of PROMPT text")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	var ids []int
	if *promptIDs != "" {
		if len(pos) != 0 {
			return errors.New("generate: give PROMPT or --prompt-ids, not both")
		}
		for _, f := range strings.Split(*promptIDs, ",") {
			id, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--prompt-ids: %q is not a token id", f)
			}
			ids = append(ids, id)
		}
		pos = []string{""}
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("generate takes one PROMPT argument, got %d", len(pos))
	}
	prompt := pos[0]
	switch {
	case *n == 0 || *n < -1:
		return fmt.Errorf("-n %d: want a positive count or -1", *n)
	case *temp < 0:
		return fmt.Errorf("--temperature %g: must be ≥ 0", *temp)
	case *topK < 0:
		return fmt.Errorf("--top-k %d: must be ≥ 0", *topK)
	case *topP < 0 || *topP > 1:
		return fmt.Errorf("--top-p %g: must be in [0, 1]", *topP)
	case *minP < 0 || *minP > 1:
		return fmt.Errorf("--min-p %g: must be in [0, 1]", *minP)
	case *repeatPenalty <= 0:
		return fmt.Errorf("--repeat-penalty %g: must be > 0", *repeatPenalty)
	case *repeatLastN < -1:
		return fmt.Errorf("--repeat-last-n %d: must be ≥ -1", *repeatLastN)
	}
	for _, s := range stops {
		if s == "" {
			return errors.New("--stop: empty stop string")
		}
	}
	policy, ok := map[string]model.Overflow{"error": model.OverflowError, "truncate": model.OverflowTruncate, "shift": model.OverflowShift}[*overflow]
	if !ok {
		return fmt.Errorf("--context-overflow %q: want error, truncate or shift", *overflow)
	}
	opts := []goformer.Option{goformer.WithThreads(*threads), goformer.WithContext(*ctxLen)}
	if *noMmap {
		opts = append(opts, goformer.WithoutMmap())
	}
	if *llamaGELU {
		opts = append(opts, goformer.WithLlamaCppGELU())
	}
	if *exactBF16 {
		opts = append(opts, goformer.WithExactBF16())
	}
	if opts, err = withKVCache(opts, *kvCache); err != nil {
		return err
	}
	if *tokPath != "" {
		opts = append(opts, goformer.WithTokenizer(*tokPath))
	}
	if *modelPath, err = ensureModel(ctx, *modelPath, *pull, stderr); err != nil {
		return err
	}
	beOpt, err := backendOption(*backendName)
	if err != nil {
		return err
	}
	m, err := goformer.Load(*modelPath, append(opts, beOpt)...)
	if err != nil {
		return err
	}
	defer m.Close()

	s := uint64(*seed)
	if *seed < 0 {
		s = rand.Uint64()
	}
	var st model.Stats
	g := goformer.GenerateOptions{
		MaxTokens: max(*n, 0), Temperature: float32(*temp), TopK: *topK, TopP: float32(*topP),
		Seed: s, IgnoreEOS: *ignoreEOS, Stats: &st,
		Logprobs: *logprobs >= 0, TopLogprobs: max(*logprobs, 0), Echo: *echo,
		MinP: float32(*minP), RepeatPenalty: float32(*repeatPenalty), RepeatLastN: *repeatLastN,
		PresencePenalty: float32(*presence), FrequencyPenalty: float32(*frequency), Stop: stops,
		Overflow: policy,
	}
	if *repeatLastN == 0 {
		g.RepeatPenalty, g.PresencePenalty, g.FrequencyPenalty = 1, 0, 0 // an empty window penalizes nothing
	}
	if ids == nil {
		ids = m.Tokenizer().Encode(prompt, true)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if !*jsonOut && !*echo {
		if *promptIDs != "" {
			prompt = m.Tokenizer().Decode(ids)
		}
		w.WriteString(prompt)
		w.Flush()
	}
	var genErr error
	for tok, err := range m.GenerateIDs(ctx, ids, g) {
		if err != nil {
			genErr = err
			break
		}
		if *jsonOut {
			enc.Encode(jsonToken(tok, g.Logprobs))
		} else {
			w.WriteString(tok.Text)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if genErr != nil && !errors.Is(genErr, context.Canceled) {
		if !*jsonOut {
			w.WriteString("\n")
		}
		return genErr
	}
	if *jsonOut {
		enc.Encode(struct {
			Done       bool    `json:"done"`
			Prompt     int     `json:"prompt_tokens"`
			Generated  int     `json:"generated_tokens"`
			PromptTPS  float64 `json:"prompt_tps"`
			GenTPS     float64 `json:"gen_tps"`
			StopReason string  `json:"stop_reason"`
		}{true, st.PromptTokens, st.GeneratedTokens, st.PromptTPS(), st.GenTPS(), st.StopReason})
	} else {
		w.WriteString("\n")
	}
	w.Flush()
	info := m.Info()
	fmt.Fprintf(stderr, "\n%s: %s %s, %d params, %d threads\n", info.Source, info.Arch, info.WeightType, info.Params, info.Threads)
	fmt.Fprintf(stderr, "prompt:    %5d tokens %10.1f tokens/s\ngenerated: %5d tokens %10.1f tokens/s (stop: %s)\n",
		st.PromptTokens, st.PromptTPS(), st.GeneratedTokens, st.GenTPS(), strings.TrimSpace(st.StopReason))
	return nil
}

type topJSON struct {
	ID      int     `json:"id"`
	Logprob float32 `json:"logprob"`
}

// tokenJSON is one --json line: {"id", "text"}, with --logprobs also
// "logprob" (null for the first echoed prompt token) and "top_logprobs",
// with --echo "prompt": true on prompt tokens.
type tokenJSON struct {
	ID      int       `json:"id"`
	Text    string    `json:"text"`
	Prompt  bool      `json:"prompt,omitempty"`
	Logprob *float32  `json:"logprob,omitempty"`
	Top     []topJSON `json:"top_logprobs,omitempty"`
}

func jsonToken(t goformer.Token, logprobs bool) any {
	j := tokenJSON{ID: t.ID, Text: t.Text, Prompt: t.Prompt}
	if !logprobs {
		return j
	}
	if t.HasLogprob {
		lp := t.Logprob
		j.Logprob = &lp
	}
	j.Top = make([]topJSON, 0, len(t.Top))
	for _, x := range t.Top {
		j.Top = append(j.Top, topJSON{x.ID, x.Logprob})
	}
	// logprob is always present with --logprobs, null where undefined
	return struct {
		ID      int       `json:"id"`
		Text    string    `json:"text"`
		Prompt  bool      `json:"prompt,omitempty"`
		Logprob *float32  `json:"logprob"`
		Top     []topJSON `json:"top_logprobs"`
	}(j)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }
