package model_test

import (
	"bytes"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

// variant rewrites the embedded GGUF with edited metadata and tensors and
// reads it back, as a user's broken file would arrive.
func variant(t *testing.T, edit func(meta weights.Metadata, tensors []*weights.Tensor) []*weights.Tensor) *weights.File {
	t.Helper()
	f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
	if err != nil {
		t.Fatal(err)
	}
	meta := weights.Metadata{}
	for k, v := range f.Meta {
		meta[k] = v
	}
	var tensors []*weights.Tensor
	for _, x := range f.Tensors {
		c := *x
		c.Shape = slices.Clone(x.Shape)
		tensors = append(tensors, &c)
	}
	tensors = edit(meta, tensors)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kvs []weights.KV
	for _, k := range keys {
		kvs = append(kvs, weights.KV{Key: k, Value: meta[k]})
	}
	var buf bytes.Buffer
	if err := weights.WriteGGUF(&buf, kvs, tensors); err != nil {
		t.Fatal(err)
	}
	g, err := weights.ReadGGUF("variant.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func without(ts []*weights.Tensor, name string) []*weights.Tensor {
	return slices.DeleteFunc(ts, func(x *weights.Tensor) bool { return x.Name == name })
}

func TestLoadRejectsBadCheckpoints(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(weights.Metadata, []*weights.Tensor) []*weights.Tensor
		want   []string
		unsupp bool
	}{
		{"missing tensor", func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
			return without(ts, "blk.2.ffn_up.weight")
		}, []string{"variant.gguf", "missing tensor", "blk.2.ffn_up.weight"}, false},
		{"config disagrees with shapes", func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
			m["llama.feed_forward_length"] = uint32(200)
			return ts
		}, []string{"variant.gguf", "blk.0.ffn_gate.weight", "[172 64]", "[200 64]"}, false},
		{"missing hyper-parameter", func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
			delete(m, "llama.block_count")
			return ts
		}, []string{"variant.gguf", "llama.block_count"}, false},
		{"heads not a multiple of kv heads", func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
			m["llama.attention.head_count_kv"] = uint32(3)
			return ts
		}, []string{"variant.gguf", "KV heads"}, false},
		{"unknown architecture", func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
			m["general.architecture"] = "mamba"
			return ts
		}, []string{"variant.gguf", `"mamba"`}, true},
		{"unknown rope scaling", func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
			m["llama.rope.scaling.type"] = "yarn"
			return ts
		}, []string{"variant.gguf", "llama.rope.scaling.type", "yarn"}, true},
		{"unexpected tensor (a variant goformer does not run)", func(m weights.Metadata, ts []*weights.Tensor) []*weights.Tensor {
			return append(ts, &weights.Tensor{Name: "blk.0.attn_q.bias", DType: weights.F32, Shape: []int{64}, Data: make([]byte, 256)})
		}, []string{"variant.gguf", "blk.0.attn_q.bias"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := variant(t, c.edit)
			be := model.NewNative(1)
			defer be.Close()
			_, err := model.Load(f, be)
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if c.unsupp != errors.Is(err, model.ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", !c.unsupp, c.unsupp)
			}
		})
	}
}
