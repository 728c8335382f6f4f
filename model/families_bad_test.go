package model_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/synth"
	"github.com/goformer/goformer/weights"
)

// editGGUF rewrites a GGUF file with edited metadata and tensors.
func editGGUF(t *testing.T, path string, edit func(meta weights.Metadata, ts []*weights.Tensor) []*weights.Tensor) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.ReadGGUF(path, data)
	if err != nil {
		t.Fatal(err)
	}
	meta := weights.Metadata{}
	for k, v := range f.Meta {
		meta[k] = v
	}
	ts := slices.Clone(f.Tensors)
	ts = edit(meta, ts)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kvs []weights.KV
	for _, k := range keys {
		kvs = append(kvs, weights.KV{Key: k, Value: meta[k]})
	}
	out := filepath.Join(t.TempDir(), "edited.gguf")
	fh, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.WriteGGUF(fh, kvs, ts); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	return out
}

// editHF copies a Hugging Face directory with config.json edited.
func editHF(t *testing.T, dir string, edit func(cfg map[string]any)) string {
	t.Helper()
	out := t.TempDir()
	for _, name := range []string{"model.safetensors", "tokenizer.json"} {
		if err := os.Symlink(filepath.Join(dir, name), filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	raw, _ = json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(out, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func loadErr(path string) error {
	f, err := weights.Open(path, weights.Options{})
	if err != nil {
		return err
	}
	defer f.Close()
	be := model.NewNative(1)
	defer be.Close()
	_, err = model.Load(f, be)
	return err
}

func rename(ts []*weights.Tensor, from, to string) []*weights.Tensor {
	var src *weights.Tensor
	for _, x := range ts {
		if x.Name == from {
			c := *x
			src = &c
		}
	}
	out := without(ts, to)
	if src != nil {
		src.Name = to
		out = append(out, src)
	}
	return out
}

// TestFamiliesRejectBadCheckpoints: a missing tensor, a tensor of the wrong
// shape and an unsupported option are refused at load with an error naming
// the tensor or the option, for every family.
func TestFamiliesRejectBadCheckpoints(t *testing.T) {
	// One unsupported option per family, as GGUF metadata and config.json.
	unsupported := map[string]struct {
		key  string
		val  any
		hf   string
		hfV  any
		want string // in the HF error
	}{
		"llama":   {"llama.expert_count", uint32(8), "num_local_experts", 8, "num_local_experts"},
		"mistral": {"llama.rope.scaling.type", "yarn", "rope_scaling", map[string]any{"rope_type": "yarn", "factor": 4.0}, "rope_scaling.rope_type"},
		"qwen2":   {"qwen2.rope.scaling.type", "yarn", "use_sliding_window", true, "use_sliding_window"},
		"qwen3":   {"qwen3.expert_count", uint32(8), "rope_scaling", map[string]any{"type": "dynamic", "factor": 2.0}, "dynamic"},
		"gemma2":  {"gemma2.rope.scaling.type", "yarn", "hidden_activation", "relu", "hidden_activation"},
		"gemma3":  {"gemma3.rope.scaling.type", "yarn", "rope_scaling", map[string]any{"rope_type": "yarn", "factor": 4.0}, "rope_scaling.rope_type"},
		"phi3":    {"phi3.rope.scaling.type", "yarn", "rope_scaling", map[string]any{"type": "yarn", "factor": 4.0}, "rope_scaling.type"},
		"gpt2":    {"gpt2.attention.head_count_kv", uint32(2), "activation_function", "relu", "activation_function"},
		"bert":    {"bert.pooling_type", uint32(3), "position_embedding_type", "relative_key", "position_embedding_type"},
	}
	for _, arch := range synth.Arches {
		t.Run(arch, func(t *testing.T) {
			hf, gguf := synthPair(t, arch, weights.F32)
			if err := loadErr(gguf); err != nil {
				t.Fatalf("unedited GGUF: %v", err)
			}
			check := func(what string, err error, want ...string) {
				t.Helper()
				if err == nil {
					t.Errorf("%s: loaded", what)
					return
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not name %q", what, err, w)
					}
				}
			}
			const down = "blk.0.ffn_down.weight"
			check("missing tensor", loadErr(editGGUF(t, gguf, func(_ weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
				return without(ts, down)
			})), down)
			check("wrong shape", loadErr(editGGUF(t, gguf, func(_ weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
				return rename(ts, "blk.0.ffn_up.weight", down)
			})), down, "shape")
			u := unsupported[arch]
			err := loadErr(editGGUF(t, gguf, func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
				m[u.key] = u.val
				return ts
			}))
			t.Logf("unsupported option: %v", err)
			check("unsupported option", err, u.key)
			if err != nil && !errors.Is(err, model.ErrUnsupported) {
				t.Errorf("unsupported option: error %q does not wrap ErrUnsupported", err)
			}
			err = loadErr(editHF(t, hf, func(cfg map[string]any) { cfg[u.hf] = u.hfV }))
			check("unsupported config.json option", err, u.want)
			if err != nil && !errors.Is(err, model.ErrUnsupported) {
				t.Errorf("unsupported config.json option: error %q does not wrap ErrUnsupported", err)
			}
		})
	}
}
