package goformer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/tokenizer"
	"github.com/goformer/goformer/weights"
)

var ggufToHF = []struct{ re, hf string }{
	{`^token_embd\.weight$`, "model.embed_tokens.weight"},
	{`^output_norm\.weight$`, "model.norm.weight"},
	{`^output\.weight$`, "lm_head.weight"},
	{`^blk\.(\d+)\.attn_norm\.weight$`, "model.layers.$1.input_layernorm.weight"},
	{`^blk\.(\d+)\.attn_q\.weight$`, "model.layers.$1.self_attn.q_proj.weight"},
	{`^blk\.(\d+)\.attn_k\.weight$`, "model.layers.$1.self_attn.k_proj.weight"},
	{`^blk\.(\d+)\.attn_v\.weight$`, "model.layers.$1.self_attn.v_proj.weight"},
	{`^blk\.(\d+)\.attn_output\.weight$`, "model.layers.$1.self_attn.o_proj.weight"},
	{`^blk\.(\d+)\.ffn_norm\.weight$`, "model.layers.$1.post_attention_layernorm.weight"},
	{`^blk\.(\d+)\.ffn_gate\.weight$`, "model.layers.$1.mlp.gate_proj.weight"},
	{`^blk\.(\d+)\.ffn_up\.weight$`, "model.layers.$1.mlp.up_proj.weight"},
	{`^blk\.(\d+)\.ffn_down\.weight$`, "model.layers.$1.mlp.down_proj.weight"},
}

// unpermute turns GGUF's interleaved Q/K rows back into Hugging Face's
// rotate-half layout: GGUF row h·d+2i+j holds HF row h·d+j·d/2+i.
func unpermute(data []byte, rows, rowBytes, headDim int) []byte {
	out := make([]byte, len(data))
	half := headDim / 2
	for h := 0; h < rows/headDim; h++ {
		for i := range half {
			for j := range 2 {
				g := h*headDim + 2*i + j
				f := h*headDim + j*half + i
				copy(out[f*rowBytes:(f+1)*rowBytes], data[g*rowBytes:(g+1)*rowBytes])
			}
		}
	}
	return out
}

// writeHFDir writes the Llama GGUF f as a Hugging Face directory:
// safetensors with HF names and Q/K layout, config.json, tokenizer.json.
func writeHFDir(t *testing.T, f *weights.File, dir string) {
	t.Helper()
	meta := f.Meta
	arch, _ := meta.String("general.architecture")
	geti := func(k string) int {
		v, ok := meta.Int(arch + "." + k)
		if !ok {
			t.Fatalf("GGUF lacks %s.%s", arch, k)
		}
		return int(v)
	}
	dim, heads := geti("embedding_length"), geti("attention.head_count")
	kvHeads := heads
	if v, ok := meta.Int(arch + ".attention.head_count_kv"); ok {
		kvHeads = int(v)
	}
	headDim := dim / heads
	eps, _ := meta.Float(arch + ".attention.layer_norm_rms_epsilon")
	var out []*weights.Tensor
	vocab := 0
	for _, src := range f.Tensors {
		name := ""
		for _, m := range ggufToHF {
			re := regexp.MustCompile(m.re)
			if re.MatchString(src.Name) {
				name = re.ReplaceAllString(src.Name, m.hf)
			}
		}
		if name == "" {
			t.Fatalf("no HF name for %s", src.Name)
		}
		data := src.Data
		if len(src.Shape) == 2 && regexp.MustCompile(`attn_[qk]\.weight$`).MatchString(src.Name) {
			data = unpermute(data, src.Shape[0], len(data)/src.Shape[0], headDim)
		}
		if src.Name == "token_embd.weight" {
			vocab = src.Shape[0]
		}
		out = append(out, &weights.Tensor{Name: name, DType: src.DType, Shape: src.Shape, Data: data})
	}
	st, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.WriteSafetensors(st, out, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             dim,
		"num_hidden_layers":       geti("block_count"),
		"num_attention_heads":     heads,
		"num_key_value_heads":     kvHeads,
		"intermediate_size":       geti("feed_forward_length"),
		"max_position_embeddings": geti("context_length"),
		"vocab_size":              vocab,
		"rms_norm_eps":            eps,
		"rope_theta":              10000.0,
		"hidden_act":              "silu",
		"tie_word_embeddings":     false,
		"torch_dtype":             "float32",
		"bos_token_id":            1,
		"eos_token_id":            2,
	}
	writeJSON(t, filepath.Join(dir, "config.json"), cfg)
	tj, err := tokenizer.SPMToHFJSON(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGGUFAndHFDirectoryAgree loads the same weights from GGUF and from a
// Hugging Face directory written from it, and requires identical logits at
// every position (prefill and decode) and identical prompt tokenization.
func TestGGUFAndHFDirectoryAgree(t *testing.T) {
	gf, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeHFDir(t, gf, dir)
	hf, err := weights.Open(dir, weights.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()

	gtok, err := tokenizer.FromGGUF(gf.Meta)
	if err != nil {
		t.Fatal(err)
	}
	htok, err := tokenizer.FromFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	prompt := "Once upon a time, Lily saw a naïve café cat 🐶 near 12 trees."
	ids := gtok.Encode(prompt, true)
	if hids := htok.Encode(prompt, true); fmt.Sprint(hids) != fmt.Sprint(ids) {
		t.Fatalf("tokenizations differ:\nGGUF %v\nHF   %v", ids, hids)
	}

	sessions := make([]*model.Session, 2)
	for i, f := range []*weights.File{gf, hf} {
		be := model.NewNative(2)
		defer be.Close()
		m, err := model.Load(f, be)
		if err != nil {
			t.Fatal(err)
		}
		if sessions[i], err = model.NewSession(m, be, 128); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	step := func(toks []int) {
		t.Helper()
		a, err := sessions[0].Eval(ctx, toks)
		if err != nil {
			t.Fatal(err)
		}
		a = append([]float32(nil), a...)
		b, err := sessions[1].Eval(ctx, toks)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("after %d tokens: logit[%d] GGUF %v, HF %v", len(sessions[0].Tokens), i, a[i], b[i])
			}
		}
	}
	step(ids) // prefill in one pass
	for _, id := range []int{300, 301, 402, 7, 1} {
		step([]int{id}) // decode steps
	}
}
