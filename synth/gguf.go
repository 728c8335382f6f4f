package synth

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/weights"
)

// ggufName maps Hugging Face tensor names to GGUF ones (as llama.cpp's
// converter names them); %d stands for the layer.
var ggufNames = map[string][][2]string{
	"decoder": {
		{`^model\.embed_tokens\.weight$`, "token_embd.weight"},
		{`^model\.norm\.weight$`, "output_norm.weight"},
		{`^lm_head\.weight$`, "output.weight"},
		{`^model\.layers\.(\d+)\.input_layernorm\.weight$`, "blk.%d.attn_norm.weight"},
		{`^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$`, "blk.%d.attn_q.%s"},
		{`^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$`, "blk.%d.attn_k.%s"},
		{`^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$`, "blk.%d.attn_v.%s"},
		{`^model\.layers\.(\d+)\.self_attn\.qkv_proj\.weight$`, "blk.%d.attn_qkv.weight"},
		{`^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$`, "blk.%d.attn_output.weight"},
		{`^model\.layers\.(\d+)\.self_attn\.q_norm\.weight$`, "blk.%d.attn_q_norm.weight"},
		{`^model\.layers\.(\d+)\.self_attn\.k_norm\.weight$`, "blk.%d.attn_k_norm.weight"},
		{`^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$`, "blk.%d.ffn_gate.weight"},
		{`^model\.layers\.(\d+)\.mlp\.up_proj\.weight$`, "blk.%d.ffn_up.weight"},
		{`^model\.layers\.(\d+)\.mlp\.gate_up_proj\.weight$`, "blk.%d.ffn_up.weight"},
		{`^model\.layers\.(\d+)\.mlp\.down_proj\.weight$`, "blk.%d.ffn_down.weight"},
	},
	"llama-norms": {
		{`^model\.layers\.(\d+)\.post_attention_layernorm\.weight$`, "blk.%d.ffn_norm.weight"},
	},
	"gemma-norms": {
		{`^model\.layers\.(\d+)\.post_attention_layernorm\.weight$`, "blk.%d.post_attention_norm.weight"},
		{`^model\.layers\.(\d+)\.pre_feedforward_layernorm\.weight$`, "blk.%d.ffn_norm.weight"},
		{`^model\.layers\.(\d+)\.post_feedforward_layernorm\.weight$`, "blk.%d.post_ffw_norm.weight"},
	},
	"gpt2": {
		{`^wte\.weight$`, "token_embd.weight"},
		{`^wpe\.weight$`, "position_embd.weight"},
		{`^ln_f\.(weight|bias)$`, "output_norm.%s"},
		{`^h\.(\d+)\.ln_1\.(weight|bias)$`, "blk.%d.attn_norm.%s"},
		{`^h\.(\d+)\.attn\.c_attn\.(weight|bias)$`, "blk.%d.attn_qkv.%s"},
		{`^h\.(\d+)\.attn\.c_proj\.(weight|bias)$`, "blk.%d.attn_output.%s"},
		{`^h\.(\d+)\.ln_2\.(weight|bias)$`, "blk.%d.ffn_norm.%s"},
		{`^h\.(\d+)\.mlp\.c_fc\.(weight|bias)$`, "blk.%d.ffn_up.%s"},
		{`^h\.(\d+)\.mlp\.c_proj\.(weight|bias)$`, "blk.%d.ffn_down.%s"},
	},
	"bert": {
		{`^embeddings\.word_embeddings\.weight$`, "token_embd.weight"},
		{`^embeddings\.position_embeddings\.weight$`, "position_embd.weight"},
		{`^embeddings\.token_type_embeddings\.weight$`, "token_types.weight"},
		{`^embeddings\.LayerNorm\.(weight|bias)$`, "token_embd_norm.%s"},
		{`^encoder\.layer\.(\d+)\.attention\.self\.query\.(weight|bias)$`, "blk.%d.attn_q.%s"},
		{`^encoder\.layer\.(\d+)\.attention\.self\.key\.(weight|bias)$`, "blk.%d.attn_k.%s"},
		{`^encoder\.layer\.(\d+)\.attention\.self\.value\.(weight|bias)$`, "blk.%d.attn_v.%s"},
		{`^encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)$`, "blk.%d.attn_output.%s"},
		{`^encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(weight|bias)$`, "blk.%d.attn_output_norm.%s"},
		{`^encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)$`, "blk.%d.ffn_up.%s"},
		{`^encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)$`, "blk.%d.ffn_down.%s"},
		{`^encoder\.layer\.(\d+)\.output\.LayerNorm\.(weight|bias)$`, "blk.%d.layer_output_norm.%s"},
	},
}

type nameRule struct {
	re  *regexp.Regexp
	out string
}

func rulesFor(arch string) []nameRule {
	var groups []string
	switch arch {
	case "gpt2", "bert":
		groups = []string{arch}
	case "gemma2", "gemma3":
		groups = []string{"decoder", "gemma-norms"}
	default:
		groups = []string{"decoder", "llama-norms"}
	}
	var rules []nameRule
	for _, g := range groups {
		for _, r := range ggufNames[g] {
			rules = append(rules, nameRule{regexp.MustCompile(r[0]), r[1]})
		}
	}
	return rules
}

func mapName(rules []nameRule, name string) (string, error) {
	for _, r := range rules {
		m := r.re.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		var args []any
		for _, g := range m[1:] {
			if n, err := strconv.Atoi(g); err == nil {
				args = append(args, n)
			} else {
				args = append(args, g)
			}
		}
		return fmt.Sprintf(r.out, args...), nil
	}
	return "", fmt.Errorf("synth: no GGUF name for tensor %q", name)
}

// ggufTensor converts one Hugging Face tensor to its GGUF form: name,
// layout and storage type.
func (a *arch) ggufTensor(s spec, v []float32, dt weights.DType, rules []nameRule) (*weights.Tensor, error) {
	name, err := mapName(rules, s.name)
	if err != nil {
		return nil, err
	}
	shape := append([]int(nil), s.shape...)
	switch {
	case a.ggufArch == "llama" && strings.HasSuffix(name, "attn_q.weight"):
		v = permuteRoPE(v, a.i("num_attention_heads"), shape[1])
	case a.ggufArch == "llama" && strings.HasSuffix(name, "attn_k.weight"):
		kv := a.i("num_key_value_heads")
		if kv == 0 {
			kv = a.i("num_attention_heads")
		}
		v = permuteRoPE(v, kv, shape[1])
	case (a.name == "gemma2" || a.name == "gemma3") && strings.HasSuffix(s.name, "norm.weight"):
		w := make([]float32, len(v))
		for i, x := range v {
			w[i] = x + 1
		}
		v = w
	case a.name == "gpt2" && len(shape) == 2 && strings.Contains(s.name, ".c_"):
		r, c := shape[0], shape[1]
		t := make([]float32, len(v))
		for i := range r {
			for j := range c {
				t[j*r+i] = v[i*c+j]
			}
		}
		v, shape = t, []int{c, r}
	}
	typ := weights.F32
	if len(shape) == 2 && name != "position_embd.weight" && name != "token_types.weight" {
		typ = storageType(dt, shape[1])
	}
	d, err := quantize(typ, v)
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %w", name, err)
	}
	return &weights.Tensor{Name: name, DType: typ, Shape: shape, Data: d}, nil
}

// storageType is dt, or for rows that dt's blocks do not divide the type
// llama.cpp's converter falls back to (Q8_0, else F16).
func storageType(dt weights.DType, cols int) weights.DType {
	if cols%dt.BlockElems() == 0 {
		return dt
	}
	if cols%weights.Q8_0.BlockElems() == 0 {
		return weights.Q8_0
	}
	return weights.F16
}

// permuteRoPE reorders each head's rows from the half-split (Hugging Face)
// to the interleaved (GGUF Llama) RoPE layout: row t·hd/2 + j → 2j + t.
func permuteRoPE(v []float32, heads, cols int) []float32 {
	rows := len(v) / cols
	hd := rows / heads
	out := make([]float32, len(v))
	for h := range heads {
		for j := range hd / 2 {
			for t := range 2 {
				src := h*hd + t*hd/2 + j
				dst := h*hd + 2*j + t
				copy(out[dst*cols:(dst+1)*cols], v[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

// ggufMeta returns the architecture keys for the config.
func (a *arch) ggufMeta(tok *tokenizer) ([]weights.KV, []*weights.Tensor, error) {
	p := a.ggufArch + "."
	u := func(v int) uint32 { return uint32(v) }
	f := func(v float64) float32 { return float32(v) }
	kv := []weights.KV{
		{Key: "general.architecture", Value: a.ggufArch},
		// A neutral name: llama.cpp adjusts some vocabularies by model name
		// (a "phi3" name expects Phi-3's own special tokens).
		{Key: "general.name", Value: "goformer synthetic checkpoint"},
	}
	add := func(k string, v any) { kv = append(kv, weights.KV{Key: p + k, Value: v}) }
	var extra []*weights.Tensor
	switch a.name {
	case "gpt2":
		e := a.i("n_embd")
		ffn := a.i("n_inner")
		if ffn == 0 {
			ffn = 4 * e
		}
		add("context_length", u(a.i("n_positions")))
		add("embedding_length", u(e))
		add("feed_forward_length", u(ffn))
		add("block_count", u(a.i("n_layer")))
		add("attention.head_count", u(a.i("n_head")))
		add("attention.layer_norm_epsilon", f(a.f("layer_norm_epsilon", 1e-5)))
		return kv, nil, nil
	case "bert":
		add("context_length", u(a.i("max_position_embeddings")))
		add("embedding_length", u(a.i("hidden_size")))
		add("feed_forward_length", u(a.i("intermediate_size")))
		add("block_count", u(a.i("num_hidden_layers")))
		add("attention.head_count", u(a.i("num_attention_heads")))
		add("attention.layer_norm_epsilon", f(a.f("layer_norm_eps", 1e-12)))
		add("attention.causal", false)
		pool := uint32(1)
		if p, _ := a.cfg["synth_pooling"].(string); p == "cls" {
			pool = 2
		}
		add("pooling_type", pool)
		kv = append(kv, weights.KV{Key: "tokenizer.ggml.token_type_count", Value: u(max(a.i("type_vocab_size"), 1))})
		return kv, nil, nil
	}
	e, heads := a.i("hidden_size"), a.i("num_attention_heads")
	kvh := a.i("num_key_value_heads")
	if kvh == 0 {
		kvh = heads
	}
	hd := a.i("head_dim")
	if hd == 0 {
		hd = e / heads
	}
	add("context_length", u(a.i("max_position_embeddings")))
	add("embedding_length", u(e))
	add("feed_forward_length", u(a.i("intermediate_size")))
	add("block_count", u(a.i("num_hidden_layers")))
	add("attention.head_count", u(heads))
	add("attention.head_count_kv", u(kvh))
	add("attention.key_length", u(hd))
	add("attention.value_length", u(hd))
	add("attention.layer_norm_rms_epsilon", f(a.f("rms_norm_eps", 1e-6)))
	add("rope.freq_base", f(a.f("rope_theta", 10000)))
	ropeDims := hd
	if a.name == "phi3" {
		ropeDims = int(float64(hd) * a.f("partial_rotary_factor", 1))
	}
	add("rope.dimension_count", u(ropeDims))
	if a.ggufArch == "llama" {
		add("vocab_size", u(a.i("vocab_size")))
	}
	if w := a.i("sliding_window"); w > 0 && a.name == "mistral" {
		add("attention.sliding_window", u(w))
	}
	rs, _ := a.cfg["rope_scaling"].(map[string]any)
	typ, _ := rs["rope_type"].(string)
	if typ == "" {
		typ, _ = rs["type"].(string)
	}
	switch a.name {
	case "llama":
		if typ == "llama3" {
			// llama.cpp keeps llama3 scaling as a table of divisors.
			extra = append(extra, f32Tensor("rope_freqs.weight", llama3Factors(a, ropeDims)))
		}
	case "gemma2":
		add("attention.sliding_window", u(a.i("sliding_window")))
		add("attn_logit_softcapping", f(a.f("attn_logit_softcapping", 0)))
		add("final_logit_softcapping", f(a.f("final_logit_softcapping", 0)))
	case "gemma3":
		add("attention.sliding_window", u(a.i("sliding_window")))
		if p := a.i("sliding_window_pattern"); p > 0 {
			add("attention.sliding_window_pattern", u(p))
		}
		add("rope.freq_base_swa", f(a.f("rope_local_base_freq", 10000)))
		if c := a.f("final_logit_softcapping", 0); c > 0 {
			add("final_logit_softcapping", f(c))
		}
		if typ == "linear" {
			add("rope.scaling.type", "linear")
			add("rope.scaling.factor", f(toFloat(rs["factor"])))
		}
	case "phi3":
		orig := a.i("original_max_position_embeddings")
		add("rope.scaling.original_context_length", u(orig))
		if typ == "longrope" || typ == "su" {
			scale := a.f("max_position_embeddings", 0) / float64(orig)
			af := 1.0
			if scale > 1 {
				af = math.Sqrt(1 + math.Log(scale)/math.Log(float64(orig)))
			}
			add("rope.scaling.attn_factor", f(af))
			extra = append(extra,
				f32Tensor("rope_factors_long.weight", floats(rs["long_factor"])),
				f32Tensor("rope_factors_short.weight", floats(rs["short_factor"])))
		}
		add("attention.sliding_window", u(a.i("sliding_window")))
	}
	return kv, extra, nil
}

func floats(v any) []float32 {
	xs, _ := v.([]any)
	out := make([]float32, len(xs))
	for i, x := range xs {
		out[i] = float32(toFloat(x))
	}
	return out
}

func f32Tensor(name string, v []float32) *weights.Tensor {
	d, _ := quantize(weights.F32, v)
	return &weights.Tensor{Name: name, DType: weights.F32, Shape: []int{len(v)}, Data: d}
}

// llama3Factors computes the llama3 RoPE frequency divisors from the
// config, as Hugging Face's rope initialization defines them.
func llama3Factors(a *arch, dims int) []float32 {
	rs := a.cfg["rope_scaling"].(map[string]any)
	factor, low, high := toFloat(rs["factor"]), toFloat(rs["low_freq_factor"]), toFloat(rs["high_freq_factor"])
	orig := toFloat(rs["original_max_position_embeddings"])
	base := a.f("rope_theta", 10000)
	out := make([]float32, dims/2)
	lowWave, highWave := orig/low, orig/high
	for i := range out {
		freq := math.Pow(base, -float64(2*i)/float64(dims))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = float32(factor)
		default:
			smooth := (orig/wave - low) / (high - low)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}

func writeGGUF(path string, o Options, a *arch, tok *tokenizer, specs []spec) error {
	switch o.DType {
	case weights.F32, weights.BF16, weights.F16, weights.Q8_0, weights.Q4_0, weights.Q4_K, weights.Q6_K:
	default:
		return fmt.Errorf("synth: dtype %s (want f32, bf16, f16, q8_0, q4_0, q4_k or q6_k)", o.DType)
	}
	kv, extra, err := a.ggufMeta(tok)
	if err != nil {
		return err
	}
	ft := map[weights.DType]uint32{weights.F32: 0, weights.F16: 1, weights.Q8_0: 7, weights.Q4_0: 2, weights.Q4_K: 15, weights.Q6_K: 18, weights.BF16: 32}[o.DType]
	kv = append(kv, weights.KV{Key: "general.file_type", Value: ft})
	tkv, err := tok.ggufKVs(a.i("vocab_size"))
	if err != nil {
		return err
	}
	kv = append(kv, tkv...)
	rules := rulesFor(a.name)
	ts := make([]*weights.Tensor, 0, len(specs)+len(extra))
	ts = append(ts, extra...)
	for _, s := range specs {
		v := s.values(o.Seed)
		if o.DType == weights.BF16 || o.DType == weights.F16 {
			// The converter reads a half-precision checkpoint: vectors
			// stored as F32 hold the rounded values.
			v = roundTo(o.DType, v)
		}
		t, err := a.ggufTensor(s, v, o.DType, rules)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	if err := weights.WriteGGUF(w, kv, ts); err != nil {
		fh.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// roundTo rounds v to the precision of t.
func roundTo(t weights.DType, v []float32) []float32 {
	d, err := quantize(t, v)
	if err != nil {
		return v
	}
	return kernels.Dequantize(t, d, len(v))
}
