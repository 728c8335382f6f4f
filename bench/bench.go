package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

// Options selects the model and the tests of a Run.
type Options struct {
	// Path is a GGUF file or Hugging Face directory; "" is the embedded
	// model.
	Path string
	// Prompts lists prompt-processing test lengths (pp); zeros are skipped.
	Prompts []int
	// Gens lists generation test lengths (tg); zeros are skipped.
	Gens []int
	// Reps is the number of timed repetitions of each test (≥ 1).
	Reps int
	// Threads is the CPU thread count (≤ 0: all cores).
	Threads int
	// Context is the KV cache size in positions (0: the longest test).
	Context int
	// NoMmap reads the weights into memory instead of memory-mapping them.
	NoMmap bool
	// ExactBF16 sets model.Native.ExactBF16 on the native backend (an
	// error with another backend).
	ExactBF16 bool
	// F16Cache sets model.Native.F16Cache on the native backend (a float16
	// KV cache; an error with another backend).
	F16Cache bool
	// OpProfile, where set, is given to model.Native.Profile: it times
	// every op of the decoding passes, warm-ups included (an error with
	// another backend).
	OpProfile *model.OpProfile
	// Seed seeds the random token ids (the same seed gives the same ids).
	Seed uint64
	// Progress, when set, is called before each test starts.
	Progress func(test string, rep, reps int)
	// Backend runs the model (nil: the native CPU backend with Threads
	// threads). Run closes it.
	Backend model.Backend
}

// threadsOf is the CPU thread count of a backend that has one (0 if not).
func threadsOf(be model.Backend) int {
	if t, ok := be.(interface{ Threads() int }); ok {
		return t.Threads()
	}
	return 0
}

// ModelInfo describes the loaded model.
type ModelInfo struct {
	Filename   string
	Arch       string
	WeightType string
	Size       int64 // bytes of tensor data
	Params     int64 // elements of all tensors
	Vocab      int
	Threads    int
	Backend    string // the backend's name ("native", "gomlx-go", "xla", ...)
	Context    int
	KVBytes    int64  // bytes of the KV cache
	KVType     string // its element type: "f32" or "f16"
	UseMmap    bool
	LoadTime   time.Duration // weights.Open + model.Load
}

// Type is a llama-bench style model description: "arch size type".
func (m ModelInfo) Type() string {
	return fmt.Sprintf("%s %s %s", m.Arch, paramLabel(m.Params), m.WeightType)
}

func paramLabel(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%dM", (n+5e5)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%dK", (n+500)/1e3)
	}
	return fmt.Sprint(n)
}

// Test is the outcome of one test (ppN or tgN).
type Test struct {
	Prompt, Gen int             // tokens processed: Prompt for pp, Gen for tg
	Samples     []time.Duration // one per repetition
	// PeakRSS is the process's peak resident set size during the test (its
	// high-water mark reset at the test's start where the OS allows; 0
	// where unknown).
	PeakRSS int64
	// PeakRSSReset says whether the high-water mark was reset before the
	// test (otherwise PeakRSS covers the process so far).
	PeakRSSReset bool
	Time         time.Time // when the test started
	// Partial marks a test stopped (by ctx) before all its repetitions ran.
	Partial bool
}

// Name is llama-bench's test name: "pp512", "tg128".
func (t Test) Name() string {
	if t.Prompt > 0 {
		return fmt.Sprintf("pp%d", t.Prompt)
	}
	return fmt.Sprintf("tg%d", t.Gen)
}

func (t Test) tokens() int { return t.Prompt + t.Gen }

// TokensPerSecond returns each repetition's throughput.
func (t Test) TokensPerSecond() []float64 {
	out := make([]float64, len(t.Samples))
	for i, d := range t.Samples {
		out[i] = float64(t.tokens()) / d.Seconds()
	}
	return out
}

// MeanStd returns the mean and sample standard deviation (n-1; 0 for one
// sample) of xs.
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// Report is a Run's outcome.
type Report struct {
	Model ModelInfo
	Tests []Test
}

// Run loads the model and runs the prompt-processing tests, then the
// generation tests, the way llama-bench does: tokenization and sampling are
// left out; each test is warmed up once and then timed Reps times.
//
//   - ppN evaluates N random token ids from an empty cache in one Eval (in
//     forward passes of at most 512 tokens, as a Session does); the logits of
//     the last token are computed.
//   - tgN evaluates N random token ids one at a time from an empty cache,
//     computing the logits after each.
//
// When ctx is cancelled during the tests, Run returns the report of the tests
// finished so far (the current one marked Partial if a repetition finished)
// together with the error.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Reps < 1 {
		return nil, fmt.Errorf("bench: %d repetitions, want at least 1", o.Reps)
	}
	longest := 0
	for _, n := range append(append([]int(nil), o.Prompts...), o.Gens...) {
		if n < 0 {
			return nil, fmt.Errorf("bench: negative test length %d", n)
		}
		longest = max(longest, n)
	}
	if longest == 0 {
		return nil, errors.New("bench: no test: every -p and -n length is 0")
	}
	n := o.Context
	if n == 0 {
		n = longest
	}
	if n < longest {
		return nil, fmt.Errorf("bench: context %d is shorter than the longest test (%d tokens)", n, longest)
	}

	start := time.Now()
	var (
		f   *weights.File
		err error
	)
	if o.Path == "" {
		f, err = weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	} else {
		f, err = weights.Open(o.Path, weights.Options{NoMmap: o.NoMmap})
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	be := o.Backend
	if be == nil {
		be = model.NewNative(o.Threads)
	}
	defer be.Close()
	if o.ExactBF16 {
		n, ok := be.(*model.Native)
		if !ok {
			return nil, fmt.Errorf("bench: ExactBF16 needs the native backend, not %s", be.Name())
		}
		n.ExactBF16 = true
	}
	if o.F16Cache {
		n, ok := be.(*model.Native)
		if !ok {
			return nil, fmt.Errorf("bench: F16Cache needs the native backend, not %s", be.Name())
		}
		n.F16Cache = true
	}
	if o.OpProfile != nil {
		n, ok := be.(*model.Native)
		if !ok {
			return nil, fmt.Errorf("bench: an op profile needs the native backend, not %s", be.Name())
		}
		n.Profile = o.OpProfile
	}
	m, err := model.Load(f, be)
	if err != nil {
		return nil, err
	}
	load := time.Since(start)

	cfg := m.Config()
	if cfg.Vocab <= 0 {
		return nil, fmt.Errorf("bench: %s: model reports a vocabulary of %d tokens", f.Path, cfg.Vocab)
	}
	s, err := model.NewSession(m, be, n)
	if err != nil {
		return nil, err
	}
	kvType, kvElem := "f32", int64(4) // the cache's element type and size
	if o.F16Cache {
		kvType, kvElem = "f16", 2
	}
	info := ModelInfo{
		Filename:   filepath.Base(f.Path),
		Arch:       cfg.Arch,
		WeightType: cfg.WeightTyp,
		Vocab:      cfg.Vocab,
		Threads:    threadsOf(be),
		Backend:    be.Name(),
		Context:    n,
		KVBytes:    2 * kvElem * int64(cfg.Layers) * int64(n) * int64(cfg.KVHeads*cfg.HeadDim),
		KVType:     kvType,
		UseMmap:    o.Path != "" && !o.NoMmap && mmapSupported,
		LoadTime:   load,
	}
	for _, t := range f.Tensors {
		info.Size += int64(len(t.Data))
		info.Params += int64(t.Elements())
	}
	if arch, ok := f.Meta.String("general.architecture"); ok {
		info.Arch = arch
	}
	rep := &Report{Model: info}

	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	ids := func(k int) []int {
		out := make([]int, k)
		for i := range out {
			out[i] = rng.IntN(cfg.Vocab)
		}
		return out
	}
	pp := func(tokens []int) (time.Duration, error) {
		s.Reset()
		t0 := time.Now()
		_, err := s.Eval(ctx, tokens)
		return time.Since(t0), err
	}
	tg := func(tokens []int) (time.Duration, error) {
		s.Reset()
		t0 := time.Now()
		for _, id := range tokens {
			if _, err := s.Eval(ctx, []int{id}); err != nil {
				return 0, err
			}
		}
		return time.Since(t0), nil
	}
	type spec struct {
		prompt, gen int
	}
	var specs []spec
	for _, p := range o.Prompts {
		if p > 0 {
			specs = append(specs, spec{prompt: p})
		}
	}
	for _, g := range o.Gens {
		if g > 0 {
			specs = append(specs, spec{gen: g})
		}
	}
	for _, sp := range specs {
		t := Test{Prompt: sp.prompt, Gen: sp.gen, Time: time.Now()}
		run, warm := pp, sp.prompt
		if sp.gen > 0 {
			run, warm = tg, 1
		}
		runtime.GC()
		t.PeakRSSReset = resetPeakRSS()
		if o.Progress != nil {
			o.Progress(t.Name(), 0, o.Reps)
		}
		if _, err := run(ids(warm)); err != nil {
			if ctx.Err() != nil {
				return rep, fmt.Errorf("bench: %s warm-up: %w", t.Name(), err)
			}
			return nil, fmt.Errorf("bench: %s warm-up: %w", t.Name(), err)
		}
		for r := range o.Reps {
			if o.Progress != nil {
				o.Progress(t.Name(), r+1, o.Reps)
			}
			d, err := run(ids(t.tokens()))
			if err != nil {
				if ctx.Err() != nil {
					// Stopped: keep what finished, so the caller can
					// still report it.
					if len(t.Samples) > 0 {
						t.Partial, t.PeakRSS = true, peakRSS()
						rep.Tests = append(rep.Tests, t)
					}
					return rep, fmt.Errorf("bench: %s: %w", t.Name(), err)
				}
				return nil, fmt.Errorf("bench: %s: %w", t.Name(), err)
			}
			t.Samples = append(t.Samples, d)
		}
		t.PeakRSS = peakRSS()
		rep.Tests = append(rep.Tests, t)
	}
	return rep, nil
}

// ParseList parses a comma-separated list of non-negative integers, as
// llama-bench's -p and -n take.
func ParseList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a non-negative integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}
