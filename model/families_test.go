package model_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/synth"
	"github.com/goformer/goformer/weights"
)

const sharedTokenizers = "../../shared/tokenizers"

// synthCache holds the synthetic checkpoints written so far in this test
// process (arch/dtype → paths), so tests share them.
var synthCache = struct {
	sync.Mutex
	dir   string
	paths map[string][2]string
}{paths: map[string][2]string{}}

func TestMain(m *testing.M) {
	code := m.Run()
	if synthCache.dir != "" {
		os.RemoveAll(synthCache.dir)
	}
	os.Exit(code)
}

// synthPair writes (once per process) the tiny synthetic checkpoint of arch
// in both formats and returns their paths.
func synthPair(t *testing.T, arch string, dt weights.DType) (hf, gguf string) {
	t.Helper()
	if _, err := os.Stat(sharedTokenizers); err != nil {
		t.Skipf("shared tokenizers not found at %s: %v", sharedTokenizers, err)
	}
	c := &synthCache
	c.Lock()
	defer c.Unlock()
	key := arch + "/" + dt.String()
	if p, ok := c.paths[key]; ok {
		return p[0], p[1]
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "goformer-synth-")
		if err != nil {
			t.Fatal(err)
		}
		c.dir = d
	}
	dir := filepath.Join(c.dir, arch+"-"+dt.String())
	hf, gguf = filepath.Join(dir, "hf"), filepath.Join(dir, "model.gguf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, out := range []struct{ path, format string }{{hf, "hf"}, {gguf, "gguf"}} {
		o := synth.Options{Arch: arch, Shape: "tiny", DType: dt, Format: out.format, Tokenizers: sharedTokenizers, Seed: 1}
		if err := synth.Write(out.path, o); err != nil {
			t.Fatalf("synth %s %s: %v", arch, out.format, err)
		}
	}
	c.paths[key] = [2]string{hf, gguf}
	return hf, gguf
}

func loadPath(t *testing.T, path string) (model.Model, *model.Native) {
	t.Helper()
	return loadPathWith(t, path, nil)
}

// loadPathWith is loadPath with setup applied to the backend before the
// weights are bound (nil: none).
func loadPathWith(t *testing.T, path string, setup func(*model.Native)) (model.Model, *model.Native) {
	t.Helper()
	f, err := weights.Open(path, weights.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	be := model.NewNative(2)
	t.Cleanup(func() { be.Close() })
	if setup != nil {
		setup(be)
	}
	m, err := model.Load(f, be)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return m, be
}

// testPrompt is a fixed token sequence inside every tokenizer's vocabulary,
// longer than the tiny shapes' sliding windows and Phi-3's original context.
func testPrompt(vocab, n int) []int {
	p := make([]int, n)
	x := uint32(12345)
	for i := range p {
		x = x*1664525 + 1013904223
		p[i] = 3 + int(x>>8)%(min(vocab, 30000)-3)
	}
	return p
}

func evalAll(t *testing.T, m model.Model, be *model.Native, prompt []int) []float32 {
	t.Helper()
	s, err := model.NewSession(m, be, 64)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.EvalAll(context.Background(), prompt)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out...)
}

// bf16Arches also run in BF16: one per kind of conversion (permuted Q/K,
// 1 + w norms, fused projections, transposed Conv1D).
var bf16Arches = map[string]bool{"llama": true, "gemma3": true, "phi3": true, "gpt2": true}

var decoderArches = []string{"llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "gpt2"}

// TestFamiliesHFEqualsGGUF loads the same random weights from a Hugging Face
// directory and from a GGUF file (with llama.cpp's conversions: permuted
// Llama Q/K, Gemma's 1 + w norms, transposed GPT-2 Conv1D, fused Phi-3
// projections) and requires equal logits at every position.
func TestFamiliesHFEqualsGGUF(t *testing.T) {
	for _, arch := range decoderArches {
		for _, dt := range []weights.DType{weights.F32, weights.BF16} {
			if dt == weights.BF16 && !bf16Arches[arch] {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", arch, dt), func(t *testing.T) {
				t.Parallel()
				hf, gguf := synthPair(t, arch, dt)
				mh, bh := loadPath(t, hf)
				mg, bg := loadPath(t, gguf)
				if mh.Config().Vocab != mg.Config().Vocab {
					t.Fatalf("vocab %d vs %d", mh.Config().Vocab, mg.Config().Vocab)
				}
				prompt := testPrompt(mh.Config().Vocab, 40)
				a, b := evalAll(t, mh, bh, prompt), evalAll(t, mg, bg, prompt)
				var worst float64
				for i := range a {
					worst = max(worst, math.Abs(float64(a[i]-b[i])))
				}
				if worst > 1e-5 {
					t.Errorf("max |logit difference| %.3g > 1e-5", worst)
				}
				top1 := meanTop1(a, mh.Config().Vocab)
				t.Logf("max diff %.2g, mean top-1 probability %.3f (uniform %.2g)", worst, top1, 1/float64(mh.Config().Vocab))
				if top1 < 0.1 {
					t.Errorf("mean top-1 probability %.3f: distributions too flat to compare engines", top1)
				}
			})
		}
	}
}

func meanTop1(logits []float32, vocab int) float64 {
	var sum float64
	rows := len(logits) / vocab
	lp := make([]float32, vocab)
	for r := range rows {
		model.LogSoftmax(lp, logits[r*vocab:(r+1)*vocab])
		best := float32(math.Inf(-1))
		for _, v := range lp {
			best = max(best, v)
		}
		sum += math.Exp(float64(best))
	}
	return sum / float64(rows)
}

// TestPhi3LongRoPE runs a prompt past Phi-3's original context (256 in the
// tiny shape): the long-RoPE factors then apply to the whole pass, in both
// checkpoint formats alike, and change the early positions' logits.
func TestPhi3LongRoPE(t *testing.T) {
	hf, gguf := synthPair(t, "phi3", weights.F32)
	mh, bh := loadPath(t, hf)
	mg, bg := loadPath(t, gguf)
	vocab := mh.Config().Vocab
	prompt := testPrompt(vocab, 260)
	eval := func(m model.Model, be *model.Native, ids []int) []float32 {
		s, err := model.NewSession(m, be, 300)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.EvalAll(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out...)
	}
	a, b := eval(mh, bh, prompt), eval(mg, bg, prompt)
	var worst float64
	for i := range a {
		worst = max(worst, math.Abs(float64(a[i]-b[i])))
	}
	if worst > 1e-5 {
		t.Errorf("260 tokens: max |logit difference| HF vs GGUF %.3g > 1e-5", worst)
	}
	short := eval(mg, bg, prompt[:20])
	var moved float64
	for i := range short {
		moved = max(moved, math.Abs(float64(short[i]-b[i])))
	}
	if moved < 1e-3 {
		t.Errorf("the first 20 positions' logits moved by only %.3g with long factors", moved)
	}
	t.Logf("HF vs GGUF %.2g; long vs short factors at the first 20 positions: %.3g", worst, moved)
}

// TestBertEmbeddings: the same weights give the same unit-length embedding
// from either format, and attention is bidirectional (the first token's
// state, which CLS pooling returns, depends on later tokens).
func TestBertEmbeddings(t *testing.T) {
	hf, gguf := synthPair(t, "bert", weights.F32)
	mh, bh := loadPath(t, hf)
	mg, bg := loadPath(t, gguf)
	ids := []int{101, 7592, 2088, 2003, 102}
	a, err := model.Embed(mh, bh, ids)
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.Embed(mg, bg, ids)
	if err != nil {
		t.Fatal(err)
	}
	var norm, diff float64
	for i := range a {
		norm += float64(a[i]) * float64(a[i])
		diff = max(diff, math.Abs(float64(a[i]-b[i])))
	}
	if diff > 1e-6 || math.Abs(norm-1) > 1e-5 {
		t.Errorf("HF vs GGUF max difference %.3g, squared norm %.7f", diff, norm)
	}
	cfg, err := synth.Preset("bert", "tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg["synth_pooling"] = "cls"
	path := filepath.Join(t.TempDir(), "cls.gguf")
	if err := synth.Write(path, synth.Options{Arch: "bert", Config: cfg, DType: weights.F32, Format: "gguf", Tokenizers: sharedTokenizers, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	mc, bc := loadPath(t, path)
	x, err := model.Embed(mc, bc, ids)
	if err != nil {
		t.Fatal(err)
	}
	y, err := model.Embed(mc, bc, []int{101, 7592, 2088, 3000, 102})
	if err != nil {
		t.Fatal(err)
	}
	var moved float64
	for i := range x {
		moved = max(moved, math.Abs(float64(x[i]-y[i])))
	}
	if moved < 1e-4 {
		t.Errorf("CLS embedding moved by %.3g when a later token changed: attention is not bidirectional", moved)
	}
	if _, err := model.Embed(mc, bc, nil); err == nil {
		t.Error("embedding no tokens succeeded")
	}
}
