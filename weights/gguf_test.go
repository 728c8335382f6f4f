package weights

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

const storiesPath = "../../shared/models/stories260K/stories260K.gguf"

func openStories(t *testing.T, opts Options) *File {
	t.Helper()
	if _, err := os.Stat(storiesPath); err != nil {
		t.Skipf("test model %s not available: %v", storiesPath, err)
	}
	f, err := Open(storiesPath, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestStories260K(t *testing.T) {
	f := openStories(t, Options{})
	if f.Format != FormatGGUF || f.Version != 3 || f.Alignment != 32 || f.Path != storiesPath || f.Config != nil {
		t.Errorf("format %v version %d alignment %d path %q config %v", f.Format, f.Version, f.Alignment, f.Path, f.Config)
	}
	if len(f.Tensors) != 48 {
		t.Fatalf("%d tensors, want 48", len(f.Tensors))
	}
	for _, x := range f.Tensors {
		if x.DType != F32 {
			t.Errorf("%s: dtype %s, want F32", x.Name, x.DType)
		}
		if got, want := len(x.Data), 4*x.Elements(); got != want {
			t.Errorf("%s: %d bytes, want %d", x.Name, got, want)
		}
		if x.File != storiesPath || x.Offset%32 != 0 {
			t.Errorf("%s: file %q offset %d", x.Name, x.File, x.Offset)
		}
	}
	shapes := map[string][]int{
		"token_embd.weight":        {512, 64},
		"output.weight":            {512, 64},
		"output_norm.weight":       {64},
		"blk.0.attn_norm.weight":   {64},
		"blk.0.attn_q.weight":      {64, 64},
		"blk.4.attn_k.weight":      {32, 64},
		"blk.2.attn_v.weight":      {32, 64},
		"blk.1.attn_output.weight": {64, 64},
		"blk.3.ffn_norm.weight":    {64},
		"blk.0.ffn_gate.weight":    {172, 64},
		"blk.0.ffn_up.weight":      {172, 64},
		"blk.0.ffn_down.weight":    {64, 172},
		"blk.4.ffn_down.weight":    {64, 172},
	}
	for name, want := range shapes {
		x, ok := f.Tensor(name)
		if !ok {
			t.Errorf("no tensor %s", name)
			continue
		}
		if !equalInts(x.Shape, want) {
			t.Errorf("%s: shape %v, want %v", name, x.Shape, want)
		}
	}
	if _, ok := f.Tensor("blk.5.attn_q.weight"); ok {
		t.Error("found blk.5 in a 5-layer model")
	}
	ints := map[string]int64{
		"llama.embedding_length":        64,
		"llama.block_count":             5,
		"llama.attention.head_count":    8,
		"llama.attention.head_count_kv": 4,
		"llama.feed_forward_length":     172,
		"llama.rope.dimension_count":    8,
		"llama.context_length":          2048,
	}
	for k, want := range ints {
		if got, ok := f.Meta.Int(k); !ok || got != want {
			t.Errorf("%s = %v (%T), want %d", k, f.Meta[k], f.Meta[k], want)
		}
	}
	if a, _ := f.Meta.String("general.architecture"); a != "llama" {
		t.Errorf("general.architecture = %q", a)
	}
	if eps, ok := f.Meta.Float("llama.attention.layer_norm_rms_epsilon"); !ok || eps < 0.99e-5 || eps > 1.01e-5 {
		t.Errorf("rms eps = %v", eps)
	}
	if _, ok := f.Meta["tokenizer.ggml.tokens"].(StringList); !ok {
		t.Errorf("tokenizer.ggml.tokens is a %T, want a StringList", f.Meta["tokenizer.ggml.tokens"])
	}
	toks, ok := f.Meta.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 512 {
		t.Fatalf("tokenizer.ggml.tokens: %T of %d entries, want 512 strings", f.Meta["tokenizer.ggml.tokens"], len(toks))
	}
	if toks[0] != "<unk>" || toks[1] != "<s>" || toks[2] != "</s>" || toks[3] != "<0x00>" || toks[258] != "<0xFF>" {
		t.Errorf("tokens start %q, byte tokens %q..%q", toks[:3], toks[3], toks[258])
	}
	if scores, ok := f.Meta["tokenizer.ggml.scores"].([]float32); !ok || len(scores) != 512 {
		t.Errorf("tokenizer.ggml.scores: %T", f.Meta["tokenizer.ggml.scores"])
	}
	if m, _ := f.Meta.String("tokenizer.ggml.model"); m != "llama" {
		t.Errorf("tokenizer.ggml.model = %q", m)
	}
	if kvs := f.KVs(); len(kvs) != len(f.Meta) || kvs[0].Key != "tokenizer.ggml.tokens" || kvs[4].Key != "general.architecture" {
		t.Errorf("KVs: %d entries, first %q", len(kvs), kvs[0].Key)
	}
}

func TestStories260KNoMmap(t *testing.T) {
	a := openStories(t, Options{})
	b := openStories(t, Options{NoMmap: true})
	checkTensors(t, b.Tensors, a.Tensors)
	if !reflect.DeepEqual(a.Meta, b.Meta) {
		t.Error("metadata differs between mmap and NoMmap")
	}
	// The file rewritten from what was read is byte-identical.
	data, err := os.ReadFile(storiesPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := writeGGUF(t, b.KVs(), b.Tensors); !bytes.Equal(got, data) {
		t.Errorf("rewritten file differs (%d bytes, want %d)", len(got), len(data))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
