package synth

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/weights"
)

// Shapes lists the presets per arch: "tiny" for every arch (a few layers,
// hidden size ≤ 128, every feature of the family switched on), and real
// layer shapes for some.
func Shapes() map[string][]string {
	out := map[string][]string{}
	for _, a := range Arches {
		out[a] = append(out[a], "tiny")
	}
	for name, r := range realShapes {
		out[r.arch] = append(out[r.arch], name)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

type realShape struct {
	arch, tokenizer string
	cfg             map[string]any
}

// realShapes are real models' layer shapes. The vocabulary is the one of the
// shared tokenizer given (SmolLM2's own tokenizer is not among them: its
// preset uses GPT-2's, 50257 tokens instead of 49152).
var realShapes = map[string]realShape{
	"qwen2.5-0.5b": {"qwen2", "qwen3", map[string]any{
		"hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
		"intermediate_size": 4864, "vocab_size": 151936, "max_position_embeddings": 32768,
		"rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true, "hidden_act": "silu",
		"model_type": "qwen2", "use_sliding_window": false,
	}},
	"llama3.2-1b": {"llama", "llama3", map[string]any{
		"hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
		"head_dim": 64, "intermediate_size": 8192, "vocab_size": 128256, "max_position_embeddings": 131072,
		"rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true, "hidden_act": "silu",
		"model_type": "llama",
		"rope_scaling": map[string]any{"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
			"high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
	}},
	"smollm2-135m": {"llama", "gpt2", map[string]any{
		"hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
		"intermediate_size": 1536, "max_position_embeddings": 8192,
		"rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": true, "hidden_act": "silu",
		"model_type": "llama",
	}},
}

// tinyShapes exercise each family's features at test size: grouped-query
// attention everywhere it exists, llama3 RoPE scaling, sliding windows
// shorter than the test prompts (Gemma), soft-capping with caps the scores
// reach, partial rotary and long-RoPE (Phi-3), biases, q/k norms.
var tinyShapes = map[string]map[string]any{
	"llama": {
		"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"intermediate_size": 256, "max_position_embeddings": 131072, "rms_norm_eps": 1e-5,
		"rope_theta": 500000.0, "tie_word_embeddings": true, "hidden_act": "silu", "model_type": "llama",
		"rope_scaling": map[string]any{"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
			"high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
	},
	"mistral": {
		"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
		"intermediate_size": 128, "max_position_embeddings": 32768, "rms_norm_eps": 1e-5,
		"rope_theta": 1000000.0, "tie_word_embeddings": false, "hidden_act": "silu", "model_type": "mistral",
		"sliding_window": 16,
	},
	"qwen2": {
		"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"intermediate_size": 128, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
		"rope_theta": 1000000.0, "tie_word_embeddings": false, "hidden_act": "silu", "model_type": "qwen2",
		"use_sliding_window": false,
	},
	"qwen3": {
		"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"head_dim": 32, "intermediate_size": 128, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
		"rope_theta": 1000000.0, "tie_word_embeddings": true, "hidden_act": "silu", "model_type": "qwen3",
		"attention_bias": false, "use_sliding_window": false,
	},
	"gemma2": {
		"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
		"head_dim": 16, "intermediate_size": 128, "max_position_embeddings": 8192, "rms_norm_eps": 1e-6,
		"rope_theta": 10000.0, "hidden_activation": "gelu_pytorch_tanh", "model_type": "gemma2",
		"query_pre_attn_scalar": 16, "attn_logit_softcapping": 3.0, "final_logit_softcapping": 30.0,
		"sliding_window": 8, "tie_word_embeddings": true,
	},
	"gemma3": {
		"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
		"head_dim": 16, "intermediate_size": 128, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
		"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "hidden_activation": "gelu_pytorch_tanh",
		"model_type": "gemma3_text", "query_pre_attn_scalar": 16, "sliding_window": 8,
		"sliding_window_pattern": 3, "rope_scaling": map[string]any{"rope_type": "linear", "factor": 8.0},
		"tie_word_embeddings": true,
	},
	"phi3": {
		"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"intermediate_size": 128, "max_position_embeddings": 2048, "original_max_position_embeddings": 256,
		"rms_norm_eps": 1e-5, "rope_theta": 10000.0, "partial_rotary_factor": 0.75, "hidden_act": "silu",
		"model_type": "phi3", "tie_word_embeddings": false,
		"rope_scaling": map[string]any{"type": "longrope",
			"short_factor": []any{1.0, 1.1, 1.3, 1.6, 2.0, 2.5},
			"long_factor":  []any{1.0, 1.5, 2.5, 4.0, 6.0, 9.0}},
	},
	"gpt2": {
		"n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 128, "layer_norm_epsilon": 1e-5,
		"activation_function": "gelu_new", "model_type": "gpt2",
	},
	"bert": {
		"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
		"max_position_embeddings": 128, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
		"model_type": "bert", "position_embedding_type": "absolute",
	},
}

// Preset returns a copy of a preset config (to edit and pass as
// Options.Config).
func Preset(arch, shape string) (map[string]any, error) {
	cfg, tok, err := preset(arch, shape)
	if err == nil && tok != "" {
		cfg["synth_tokenizer"] = tok
	}
	return cfg, err
}

// preset returns a copy of the named shape's config and the tokenizer it
// wants ("" for the arch's default).
func preset(arch, shape string) (map[string]any, string, error) {
	var src map[string]any
	tok := ""
	if shape == "tiny" {
		src = tinyShapes[arch]
	} else if r, ok := realShapes[shape]; ok {
		if r.arch != arch {
			return nil, "", fmt.Errorf("synth: shape %q is a %s model, not %s", shape, r.arch, arch)
		}
		src, tok = r.cfg, r.tokenizer
	}
	if src == nil {
		return nil, "", fmt.Errorf("synth: no shape %q for %s (have: %s)", shape, arch, strings.Join(Shapes()[arch], ", "))
	}
	return deepCopy(src).(map[string]any), tok, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// quantize encodes v as t, in parallel over row blocks when t is a block
// type (goformer's own quantizers, kernels.Quantize).
func quantize(t weights.DType, v []float32) ([]byte, error) {
	const chunk = 1 << 16 // a multiple of every block size
	if len(v) <= chunk {
		return kernels.Quantize(t, v)
	}
	n := (len(v) + chunk - 1) / chunk
	parts := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			parts[i], errs[i] = kernels.Quantize(t, v[i*chunk:min((i+1)*chunk, len(v))])
		}()
	}
	wg.Wait()
	size := 0
	for i, p := range parts {
		if errs[i] != nil {
			return nil, errs[i]
		}
		size += len(p)
	}
	out := make([]byte, 0, size)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}
