package gomlx_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/goformer/goformer/backend/gomlx"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/synth"
	"github.com/goformer/goformer/weights"
)

const sharedTokenizers = "../../../shared/tokenizers"

// synthFile writes synth's tiny checkpoint of arch as GGUF and opens it.
func synthFile(t *testing.T, arch string, dt weights.DType) *weights.File {
	t.Helper()
	if _, err := os.Stat(sharedTokenizers); err != nil {
		t.Skipf("shared tokenizers not found at %s: %v", sharedTokenizers, err)
	}
	path := filepath.Join(t.TempDir(), "model.gguf")
	o := synth.Options{Arch: arch, Shape: "tiny", DType: dt, Format: "gguf", Tokenizers: sharedTokenizers, Seed: 3}
	if err := synth.Write(path, o); err != nil {
		t.Fatalf("synth %s: %v", arch, err)
	}
	f, err := weights.Open(path, weights.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestFamiliesLogprobs: for every family synth writes, the tiny random
// checkpoint on gomlx-go gives the native backend's log-probabilities within
// 1e-4 at every position of a prefill followed by decode steps. The prompt
// is longer than the tiny shapes' sliding windows. Matrices are F32, and
// BF16 and F16 for Llama (bf16 stays bf16 on the device, f16 becomes f32 on
// simplego, which has no float16; the conversion is the same code for every
// family). The pure-Go engine is slow on the large vocabularies, so
// the prompt stays short.
func TestFamiliesLogprobs(t *testing.T) {
	for _, arch := range synth.Arches {
		if arch == "bert" {
			continue // an encoder: TestBertStates
		}
		dts := []weights.DType{weights.F32}
		if arch == "llama" {
			dts = append(dts, weights.BF16, weights.F16)
		}
		for _, dt := range dts {
			t.Run(fmt.Sprintf("%s/%s", arch, dt), func(t *testing.T) {
				t.Parallel()
				f := synthFile(t, arch, dt)
				mn, mg, nb, gb := pair(t, f)
				vocab := min(mn.Config().Vocab, 30000)
				prompt := testPrompt(vocab, 24)
				want := logprobs(t, mn, nb, prompt, 18, 32)
				got := logprobs(t, mg, gb, prompt, 18, 32)
				compare(t, want, got, 1e-4)
			})
		}
	}
}

// TestBertStates: BERT's non-causal encoder gives the native hidden states
// within 1e-4.
func TestBertStates(t *testing.T) {
	f := synthFile(t, "bert", weights.F32)
	mn, mg, nb, gb := pair(t, f)
	prompt := testPrompt(min(mn.Config().Vocab, 30000), 11)
	a, err := model.Embed(mn, nb, prompt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.Embed(mg, gb, prompt)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, [][]float32{a}, [][]float32{b}, 1e-4)
}

// TestMultiSequences: batched generation over several cache slots (a batch
// mixing sequences, written by masked select) equals native.
func TestMultiSequences(t *testing.T) {
	f := synthFile(t, "qwen2", weights.F32)
	mn, mg, nb, gb := pair(t, f)
	prompts := [][]int{testPrompt(1000, 9), testPrompt(2000, 5)[2:], testPrompt(3000, 13)[6:]}
	run := func(m model.Model, be model.Backend) [][]int {
		mu, err := model.NewMulti(m, be, 48, len(prompts))
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]int, len(prompts))
		in := make([]model.Input, len(prompts))
		for i, p := range prompts {
			in[i] = model.Input{Seq: i, Tokens: p}
		}
		for range 6 {
			logits, err := mu.Step(context.Background(), in)
			if err != nil {
				t.Fatalf("%s: %v", be.Name(), err)
			}
			for i := range in {
				id := model.Greedy(logits[i])
				out[i] = append(out[i], id)
				in[i] = model.Input{Seq: i, Tokens: []int{id}}
			}
		}
		return out
	}
	want, got := run(mn, nb), run(mg, gb)
	for i := range want {
		if !slices.Equal(want[i], got[i]) {
			t.Errorf("sequence %d: native %v, gomlx-go %v", i, want[i], got[i])
		}
	}
	t.Logf("%v", got)
}

// TestPhi3LongRoPE: a batch crossing Phi-3's original context (256 in the
// tiny shape) switches to the long-RoPE factors; gomlx-go agrees with native
// there too. The batch starts at position 250 of an empty cache (both
// backends hold zero keys and values below it).
func TestPhi3LongRoPE(t *testing.T) {
	f := synthFile(t, "phi3", weights.F32)
	mn, mg, nb, gb := pair(t, f)
	vocab := mn.Config().Vocab
	run := func(m model.Model, be model.Backend) [][]float32 {
		c, err := be.NewCache(m.Config().CacheSpec(272, 1))
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]float32
		for _, b := range []*model.Batch{
			{Tokens: testPrompt(vocab, 6), Positions: []int{250, 251, 252, 253, 254, 255}, Outputs: []int{0, 1, 2, 3, 4, 5}},
			{Tokens: testPrompt(vocab, 8)[2:], Positions: []int{256, 257, 258, 259, 260, 261}, Outputs: []int{0, 1, 2, 3, 4, 5}},
			{Tokens: []int{7}, Positions: []int{262}, Outputs: []int{0}},
		} {
			out, err := be.Forward(c, b, m.Forward)
			if err != nil {
				t.Fatalf("%s: %v", be.Name(), err)
			}
			for r := 0; r < len(out); r += vocab {
				lp := make([]float32, vocab)
				model.LogSoftmax(lp, out[r:r+vocab])
				rows = append(rows, lp)
			}
		}
		return rows
	}
	compare(t, run(mn, nb), run(mg, gb), 1e-4)
}

// TestBF16Matmul: with bfloat16 products (the fast GPU option) a bf16
// Llama stays near native: the log-probability of native's most likely
// token moves by less than 0.5 and the greedy choice agrees at three
// positions in four or more. The bounds are loose on purpose: bfloat16
// results (logits included) carry 8 significant bits, which on this tiny
// model's large logits moves log-probabilities by ~0.2. Exact agreement is
// the default mode's job; this catches a broken conversion.
func TestBF16Matmul(t *testing.T) {
	f := synthFile(t, "llama", weights.BF16)
	nb := model.NewNative(2)
	nb.ExactBF16 = true // the reference: exact products
	defer nb.Close()
	eng, err := backends.NewWithConfig("go:ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	gb := gomlx.New(eng, gomlx.Options{BF16Matmul: true})
	defer gb.Close()
	mn, err := model.Load(f, nb)
	if err != nil {
		t.Fatal(err)
	}
	mg, err := model.Load(f, gb)
	if err != nil {
		t.Fatal(err)
	}
	prompt := testPrompt(30000, 24)
	want := logprobs(t, mn, nb, prompt, 18, 32)
	got := logprobs(t, mg, gb, prompt, 18, 32)
	var worstAll, worstTop float64
	same := 0
	for i := range want {
		for j := range want[i] {
			worstAll = max(worstAll, math.Abs(float64(want[i][j]-got[i][j])))
		}
		top := model.Greedy(want[i])
		worstTop = max(worstTop, math.Abs(float64(want[i][top]-got[i][top])))
		if model.Greedy(got[i]) == top {
			same++
		}
	}
	t.Logf("bf16 products: |Δ log-probability| of native's top token ≤ %.3g (any token ≤ %.3g), same greedy token at %d of %d positions",
		worstTop, worstAll, same, len(want))
	if worstTop > 0.5 || same < len(want)*3/4 {
		t.Errorf("bf16 products drift too far: top-token |Δ| %.3g, greedy agreement %d/%d", worstTop, same, len(want))
	}
}
