// Package synth writes synthetic checkpoints: random weights in the layout
// of a real model family, with a real tokenizer, as a GGUF file or as a
// Hugging Face directory (config.json, model.safetensors, tokenizer.json).
//
// Real weights cannot be downloaded in goformer's test environments, yet
// every family must be checked against independent engines. Random weights
// with the same config, names and layout serve as well for that as trained
// ones, provided the next-token distributions are peaked (the initialization
// below is scaled for that), so that engines that differ produce visibly
// different log-probabilities.
//
// The same Options write the same weights in either format: each tensor's
// values come from a generator seeded by Options.Seed and the tensor's
// Hugging Face name, and the GGUF writer converts them as llama.cpp's
// converter does (Llama query/key rows permuted to the interleaved RoPE
// layout, Gemma norms stored as 1 + w, GPT-2 Conv1D weights transposed).
package synth

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/goformer/goformer/weights"
)

// Options say what to write.
type Options struct {
	// Arch is the family: llama, mistral, qwen2, qwen3, gemma2, gemma3,
	// phi3, gpt2 or bert.
	Arch string
	// Shape names a preset (see Shapes); ignored when Config is set.
	Shape string
	// Config is a Hugging Face config.json to use instead of a preset
	// (Preset returns one to edit). Keys starting with "synth_" are synth's
	// own and not written out: synth_tokenizer names the shared tokenizer
	// directory to use, synth_pooling ("mean" or "cls") a BERT model's
	// pooling.
	Config map[string]any
	// DType of the matrices: F32, BF16, F16, or (GGUF only) Q8_0, Q4_0, Q4_K, Q6_K.
	DType weights.DType
	// Format is "gguf" or "hf".
	Format string
	// Tokenizers is the directory of the shared tokenizers
	// (../shared/tokenizers).
	Tokenizers string
	// Seed selects the random weights.
	Seed uint64
}

// Arches lists the families synth writes.
var Arches = []string{"llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "gpt2", "bert"}

// Write writes the checkpoint to path: a .gguf file, or a directory for the
// Hugging Face format.
func Write(path string, o Options) error {
	a, err := newArch(o)
	if err != nil {
		return err
	}
	tok, err := loadTokenizer(o.Tokenizers, a.tokenizer)
	if err != nil {
		return err
	}
	if v, ok := a.cfg["vocab_size"]; !ok || v == nil {
		a.cfg["vocab_size"] = len(tok.tokens)
	}
	vocab := toInt(a.cfg["vocab_size"])
	if vocab < len(tok.tokens) {
		return fmt.Errorf("synth: vocab_size %d is smaller than the %s tokenizer's %d tokens", vocab, a.tokenizer, len(tok.tokens))
	}
	specs, err := a.tensors()
	if err != nil {
		return err
	}
	switch o.Format {
	case "hf", "":
		return writeHF(path, o, a, tok, specs)
	case "gguf":
		return writeGGUF(path, o, a, tok, specs)
	}
	return fmt.Errorf("synth: format %q (want gguf or hf)", o.Format)
}

// spec is one tensor in Hugging Face naming and layout.
type spec struct {
	name  string
	shape []int
	mean  float64 // values are mean + std·N(0,1)
	std   float64
}

func (s spec) elements() int {
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	return n
}

// values generates the tensor's float32 values, deterministically from the
// seed and the name. Large tensors are filled in parallel, each chunk from
// its own stream.
func (s spec) values(seed uint64) []float32 {
	h := fnv.New64a()
	h.Write([]byte(s.name))
	key := h.Sum64()
	out := make([]float32, s.elements())
	const chunk = 1 << 16
	n := (len(out) + chunk - 1) / chunk
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for c := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := rand.New(rand.NewPCG(seed^key, uint64(c)))
			part := out[c*chunk : min((c+1)*chunk, len(out))]
			for i := range part {
				part[i] = float32(s.mean + s.std*r.NormFloat64())
			}
		}()
	}
	wg.Wait()
	return out
}

// arch is one family's synthetic model: its config and tensors.
type arch struct {
	name      string // synth arch
	hfArch    string // config "architectures"
	ggufArch  string
	tokenizer string // directory under Tokenizers
	cfg       map[string]any
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func newArch(o Options) (*arch, error) {
	a := &arch{name: o.Arch}
	switch o.Arch {
	case "llama":
		a.hfArch, a.ggufArch, a.tokenizer = "LlamaForCausalLM", "llama", "llama3"
	case "mistral":
		a.hfArch, a.ggufArch, a.tokenizer = "MistralForCausalLM", "llama", "mistral"
	case "qwen2":
		a.hfArch, a.ggufArch, a.tokenizer = "Qwen2ForCausalLM", "qwen2", "qwen3"
	case "qwen3":
		a.hfArch, a.ggufArch, a.tokenizer = "Qwen3ForCausalLM", "qwen3", "qwen3"
	case "gemma2":
		a.hfArch, a.ggufArch, a.tokenizer = "Gemma2ForCausalLM", "gemma2", "gemma3"
	case "gemma3":
		a.hfArch, a.ggufArch, a.tokenizer = "Gemma3ForCausalLM", "gemma3", "gemma3"
	case "phi3":
		a.hfArch, a.ggufArch, a.tokenizer = "Phi3ForCausalLM", "phi3", "mistral"
	case "gpt2":
		a.hfArch, a.ggufArch, a.tokenizer = "GPT2LMHeadModel", "gpt2", "gpt2"
	case "bert":
		a.hfArch, a.ggufArch, a.tokenizer = "BertModel", "bert", "bert-uncased"
	default:
		return nil, fmt.Errorf("synth: unknown arch %q (known: %s)", o.Arch, strings.Join(Arches, ", "))
	}
	if o.Config != nil {
		a.cfg = map[string]any{}
		for k, v := range o.Config {
			a.cfg[k] = v
		}
	} else {
		shape := o.Shape
		if shape == "" {
			shape = "tiny"
		}
		cfg, tok, err := preset(o.Arch, shape)
		if err != nil {
			return nil, err
		}
		a.cfg = cfg
		if tok != "" {
			a.tokenizer = tok
		}
	}
	if t, ok := a.cfg["synth_tokenizer"].(string); ok {
		a.tokenizer = t
	}
	a.cfg["architectures"] = []any{a.hfArch}
	return a, nil
}

// i reads an integer config value (0 if absent).
func (a *arch) i(key string) int { return toInt(a.cfg[key]) }

func (a *arch) f(key string, def float64) float64 {
	if v, ok := a.cfg[key]; ok && v != nil {
		return toFloat(v)
	}
	return def
}

func (a *arch) tied() bool {
	t, ok := a.cfg["tie_word_embeddings"].(bool)
	if !ok {
		return a.name == "gemma2" || a.name == "gemma3" || a.name == "gpt2"
	}
	return t
}

// tensors lists the family's tensors with their initialization. Matrices
// are N(0, 1/in) so activations keep their scale; the output head (or tied
// embeddings) is N(0, (4/sqrt(hidden))²) so that logits spread with a
// standard deviation near 4 after the final norm, which makes next-token
// distributions peaked; norm weights are near 1 and biases small.
func (a *arch) tensors() ([]spec, error) {
	var out []spec
	add := func(name string, mean, std float64, shape ...int) {
		for _, d := range shape {
			if d <= 0 {
				panic(fmt.Sprintf("synth: tensor %s has shape %v", name, shape))
			}
		}
		out = append(out, spec{name: name, shape: shape, mean: mean, std: std})
	}
	mat := func(name string, rows, cols int) { add(name, 0, 1/math.Sqrt(float64(cols)), rows, cols) }
	norm := func(name string, n int) { add(name, 1, 0.1, n) }
	bias := func(name string, n int) { add(name, 0, 0.1, n) }
	vocab := a.i("vocab_size")
	switch a.name {
	case "gpt2":
		e, l, ctx := a.i("n_embd"), a.i("n_layer"), a.i("n_positions")
		f := a.i("n_inner")
		if f == 0 {
			f = 4 * e
		}
		if e == 0 || l == 0 || ctx == 0 || vocab == 0 {
			return nil, fmt.Errorf("synth: gpt2 config needs n_embd, n_layer, n_positions, vocab_size")
		}
		add("wte.weight", 0, 4/math.Sqrt(float64(e)), vocab, e)
		add("wpe.weight", 0, 0.3, ctx, e)
		for i := range l {
			p := fmt.Sprintf("h.%d.", i)
			norm(p+"ln_1.weight", e)
			bias(p+"ln_1.bias", e)
			add(p+"attn.c_attn.weight", 0, 1/math.Sqrt(float64(e)), e, 3*e) // Conv1D: [in, out]
			bias(p+"attn.c_attn.bias", 3*e)
			add(p+"attn.c_proj.weight", 0, 1/math.Sqrt(float64(e)), e, e)
			bias(p+"attn.c_proj.bias", e)
			norm(p+"ln_2.weight", e)
			bias(p+"ln_2.bias", e)
			add(p+"mlp.c_fc.weight", 0, 1/math.Sqrt(float64(e)), e, f)
			bias(p+"mlp.c_fc.bias", f)
			add(p+"mlp.c_proj.weight", 0, 1/math.Sqrt(float64(f)), f, e)
			bias(p+"mlp.c_proj.bias", e)
		}
		norm("ln_f.weight", e)
		bias("ln_f.bias", e)
		return out, nil
	case "bert":
		e, l, f, ctx := a.i("hidden_size"), a.i("num_hidden_layers"), a.i("intermediate_size"), a.i("max_position_embeddings")
		types := max(a.i("type_vocab_size"), 1)
		if e == 0 || l == 0 || f == 0 || ctx == 0 || vocab == 0 {
			return nil, fmt.Errorf("synth: bert config needs hidden_size, num_hidden_layers, intermediate_size, max_position_embeddings, vocab_size")
		}
		add("embeddings.word_embeddings.weight", 0, 1, vocab, e)
		add("embeddings.position_embeddings.weight", 0, 0.5, ctx, e)
		add("embeddings.token_type_embeddings.weight", 0, 0.5, types, e)
		norm("embeddings.LayerNorm.weight", e)
		bias("embeddings.LayerNorm.bias", e)
		for i := range l {
			p := fmt.Sprintf("encoder.layer.%d.", i)
			for _, x := range []string{"query", "key", "value"} {
				mat(p+"attention.self."+x+".weight", e, e)
				bias(p+"attention.self."+x+".bias", e)
			}
			mat(p+"attention.output.dense.weight", e, e)
			bias(p+"attention.output.dense.bias", e)
			norm(p+"attention.output.LayerNorm.weight", e)
			bias(p+"attention.output.LayerNorm.bias", e)
			mat(p+"intermediate.dense.weight", f, e)
			bias(p+"intermediate.dense.bias", f)
			mat(p+"output.dense.weight", e, f)
			bias(p+"output.dense.bias", e)
			norm(p+"output.LayerNorm.weight", e)
			bias(p+"output.LayerNorm.bias", e)
		}
		return out, nil
	}
	// Decoders in the Llama naming.
	e, l, f := a.i("hidden_size"), a.i("num_hidden_layers"), a.i("intermediate_size")
	heads := a.i("num_attention_heads")
	kvHeads := a.i("num_key_value_heads")
	if kvHeads == 0 {
		kvHeads = heads
	}
	if e == 0 || l == 0 || f == 0 || heads == 0 || vocab == 0 {
		return nil, fmt.Errorf("synth: %s config needs hidden_size, num_hidden_layers, intermediate_size, num_attention_heads, vocab_size", a.name)
	}
	hd := a.i("head_dim")
	if hd == 0 {
		hd = e / heads
	}
	q, kv := heads*hd, kvHeads*hd
	gemma := a.name == "gemma2" || a.name == "gemma3"
	outStd := 4 / math.Sqrt(float64(e))
	embStd := 1.0
	if a.tied() {
		embStd = outStd
	}
	if gemma {
		// The embeddings are multiplied by sqrt(hidden): keep them about as
		// large as one layer's contribution.
		embStd = outStd
	}
	add("model.embed_tokens.weight", 0, embStd, vocab, e)
	gnorm := func(name string, n int, mean float64) {
		if gemma { // stored as w, applied as 1 + w
			add(name, mean-1, 0.1, n)
		} else {
			add(name, mean, 0.1, n)
		}
	}
	for i := range l {
		p := fmt.Sprintf("model.layers.%d.", i)
		gnorm(p+"input_layernorm.weight", e, 1)
		if a.name == "phi3" {
			mat(p+"self_attn.qkv_proj.weight", q+2*kv, e)
		} else {
			mat(p+"self_attn.q_proj.weight", q, e)
			mat(p+"self_attn.k_proj.weight", kv, e)
			mat(p+"self_attn.v_proj.weight", kv, e)
		}
		if a.name == "qwen2" {
			bias(p+"self_attn.q_proj.bias", q)
			bias(p+"self_attn.k_proj.bias", kv)
			bias(p+"self_attn.v_proj.bias", kv)
		}
		if a.name == "qwen3" || a.name == "gemma3" {
			gnorm(p+"self_attn.q_norm.weight", hd, 1)
			gnorm(p+"self_attn.k_norm.weight", hd, 1)
		}
		mat(p+"self_attn.o_proj.weight", e, q)
		if gemma {
			gnorm(p+"post_attention_layernorm.weight", e, 2)
			gnorm(p+"pre_feedforward_layernorm.weight", e, 1)
			gnorm(p+"post_feedforward_layernorm.weight", e, 2)
		} else {
			gnorm(p+"post_attention_layernorm.weight", e, 1)
		}
		if a.name == "phi3" {
			mat(p+"mlp.gate_up_proj.weight", 2*f, e)
		} else {
			mat(p+"mlp.gate_proj.weight", f, e)
			mat(p+"mlp.up_proj.weight", f, e)
		}
		mat(p+"mlp.down_proj.weight", e, f)
	}
	gnorm("model.norm.weight", e, 1)
	if !a.tied() {
		add("lm_head.weight", 0, outStd, vocab, e)
	}
	return out, nil
}

// convert encodes values as dtype t.
func convert(t weights.DType, v []float32) ([]byte, error) {
	return quantize(t, v)
}

func writeHF(dir string, o Options, a *arch, tok *tokenizer, specs []spec) error {
	switch o.DType {
	case weights.F32, weights.BF16, weights.F16:
	default:
		return fmt.Errorf("synth: the hf format stores f32, bf16 or f16, not %s (quantized types are GGUF only)", o.DType)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := map[string]any{}
	for k, v := range a.cfg {
		if !strings.HasPrefix(k, "synth_") {
			cfg[k] = v
		}
	}
	cfg["torch_dtype"] = map[weights.DType]string{weights.F32: "float32", weights.BF16: "bfloat16", weights.F16: "float16"}[o.DType]
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	ts := make([]*weights.Tensor, len(specs))
	for i, s := range specs {
		d, err := convert(o.DType, s.values(o.Seed))
		if err != nil {
			return fmt.Errorf("synth: %s: %w", s.name, err)
		}
		ts[i] = &weights.Tensor{Name: s.name, DType: o.DType, Shape: s.shape, Data: d}
	}
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return err
	}
	if err := weights.WriteSafetensors(f, ts, map[string]string{"format": "pt", "generator": "goformer synth"}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if a.name == "bert" {
		pool := "pooling_mode_mean_tokens"
		if p, _ := a.cfg["synth_pooling"].(string); p == "cls" {
			pool = "pooling_mode_cls_token"
		}
		if err := os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755); err != nil {
			return err
		}
		pc := fmt.Sprintf("{\n  \"word_embedding_dimension\": %d,\n  \"%s\": true\n}\n", a.i("hidden_size"), pool)
		if err := os.WriteFile(filepath.Join(dir, "1_Pooling", "config.json"), []byte(pc), 0o644); err != nil {
			return err
		}
	}
	return tok.writeHF(dir)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
