package chat

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/goformer/goformer/tokenizer"
	"github.com/goformer/goformer/weights"
)

// TestCommittedTemplatesFromLoaders checks that each committed real template
// (Qwen2.5, Phi-3.5, Mistral-Nemo) comes back unchanged from a GGUF
// tokenizer.chat_template and from a tokenizer_config.json's chat_template,
// and that the template so loaded renders one user turn exactly as the
// Python jinja2 reference did (testdata/renderings.json).
func TestCommittedTemplatesFromLoaders(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "renderings.json"))
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]refResult{}
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, bos, eos string }{
		{"Qwen-Qwen2.5-Instruct.jinja", "", "<|im_end|>"},
		{"microsoft-Phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>"},
		{"mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>"},
		{"mistralai-Mistral-7B-Instruct-v0.1.jinja", "<s>", "</s>"},
	} {
		t.Run(c.file, func(t *testing.T) {
			srcb, err := os.ReadFile(filepath.Join("testdata", "templates", c.file))
			if err != nil {
				t.Fatal(err)
			}
			src := string(srcb)
			loaded := map[string]string{}

			// GGUF.
			toks := []string{"a", "b", "ab", "<s>", "</s>", "<|im_end|>", "<|endoftext|>"}
			types := []int32{1, 1, 1, 3, 3, 3, 3}
			var buf bytes.Buffer
			if err := weights.WriteGGUF(&buf, []weights.KV{
				{Key: "general.architecture", Value: "llama"},
				{Key: "tokenizer.ggml.model", Value: "gpt2"},
				{Key: "tokenizer.ggml.pre", Value: "gpt-2"},
				{Key: "tokenizer.ggml.tokens", Value: toks},
				{Key: "tokenizer.ggml.token_type", Value: types},
				{Key: "tokenizer.ggml.merges", Value: []string{"a b"}},
				{Key: "tokenizer.ggml.eos_token_id", Value: uint32(4)},
				{Key: "tokenizer.chat_template", Value: src},
			}, nil); err != nil {
				t.Fatal(err)
			}
			f, err := weights.ReadGGUF("chat.gguf", buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			tk, err := tokenizer.FromGGUF(f.Meta)
			if err != nil {
				t.Fatal(err)
			}
			loaded["gguf"] = tk.ChatTemplate()

			// tokenizer.json + tokenizer_config.json.
			dir := t.TempDir()
			tj := `{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`
			cfg, _ := json.Marshal(map[string]any{"chat_template": src, "bos_token": c.bos, "eos_token": c.eos})
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tj), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			tk, err = tokenizer.FromFile(filepath.Join(dir, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			loaded["tokenizer_config.json"] = tk.ChatTemplate()

			ref, ok := refs[key(src, "single-user")]
			if !ok || ref.Text == nil {
				t.Fatalf("no reference rendering of single-user")
			}
			for from, got := range loaded {
				if got != src {
					t.Errorf("%s: chat template differs from the file (%d vs %d bytes)", from, len(got), len(src))
					continue
				}
				tm, err := New(got, c.bos, c.eos)
				if err != nil {
					t.Fatalf("%s: %v", from, err)
				}
				tm.Now = fixedNow
				conv := conversations["single-user"]
				out, err := tm.Render(conv.msgs, Options{AddGenerationPrompt: conv.gen})
				if err != nil || out != *ref.Text {
					t.Errorf("%s: got %q, %v; want %q", from, out, err, *ref.Text)
				}
			}
		})
	}
}
