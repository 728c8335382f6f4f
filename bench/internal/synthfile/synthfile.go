// Package synthfile writes random-weight GGUF files at the shapes of real
// checkpoints, loadable by goformer and by llama.cpp, for the comparison
// script in bench/ to use until (or where) `goformer synth` is not
// available.
//
// Values are random (normal, σ = 0.02 for matrices, about 1 for norm
// weights); one tensor per role is generated and its bytes are reused by
// every layer, and a large tensor repeats a tile of about a million values.
// That keeps generation fast and memory small and changes nothing about how
// many bytes a forward pass reads. The tokenizer metadata is copied from one of
// llama.cpp's vocabulary-only GGUF files in ../shared/peer-vocab.
package synthfile

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/weights"
)

// Shape is a checkpoint's architecture and sizes.
type Shape struct {
	Name      string // file name stem, e.g. "qwen2.5-0.5b"
	Arch      string // general.architecture
	Vocab     int
	Embed     int
	Layers    int
	Heads     int
	KVHeads   int
	FFN       int
	Context   int
	RopeBase  float32
	Eps       float32
	QKVBias   bool   // qwen2
	Llama3    bool   // rope_freqs.weight with llama3 scaling
	VocabFile string // peer-vocab GGUF to take tokenizer.* keys from
}

// Shapes are the checkpoints the comparison uses.
var Shapes = []Shape{
	{Name: "qwen2.5-0.5b", Arch: "qwen2", Vocab: 151936, Embed: 896, Layers: 24, Heads: 14, KVHeads: 2, FFN: 4864,
		Context: 32768, RopeBase: 1e6, Eps: 1e-6, QKVBias: true, VocabFile: "ggml-vocab-qwen2.gguf"},
	{Name: "llama3.2-1b", Arch: "llama", Vocab: 128256, Embed: 2048, Layers: 16, Heads: 32, KVHeads: 8, FFN: 8192,
		Context: 131072, RopeBase: 500000, Eps: 1e-5, Llama3: true, VocabFile: "ggml-vocab-llama-bpe.gguf"},
}

// ShapeByName finds a shape.
func ShapeByName(name string) (Shape, bool) {
	for _, s := range Shapes {
		if s.Name == name {
			return s, true
		}
	}
	return Shape{}, false
}

// fileType is llama.cpp's general.file_type (llama_ftype) for each type.
var fileType = map[weights.DType]uint32{
	weights.F32: 0, weights.F16: 1, weights.Q4_0: 2, weights.Q8_0: 7, weights.Q4_K: 15, weights.BF16: 32,
}

// ParseType parses a weight type name (f32, bf16, f16, q8_0, q4_k).
func ParseType(s string) (weights.DType, error) {
	for _, t := range []weights.DType{weights.F32, weights.F16, weights.BF16, weights.Q8_0, weights.Q4_0, weights.Q4_K} {
		if strings.EqualFold(t.String(), s) {
			return t, nil
		}
	}
	return weights.Invalid, fmt.Errorf("weight type %q: want f32, f16, bf16, q8_0, q4_0 or q4_k", s)
}

// Write writes the shape with matrices of type t to path, taking the
// tokenizer from vocabDir. Matrices whose rows are not a whole number of
// Q4_K blocks (256) are stored as Q4_0, as llama.cpp's quantizer also falls
// back to a 32-element block type for them.
func Write(path string, s Shape, t weights.DType, vocabDir string, seed uint64) error {
	vf, err := weights.Open(filepath.Join(vocabDir, s.VocabFile), weights.Options{})
	if err != nil {
		return fmt.Errorf("synthfile: tokenizer source: %w", err)
	}
	defer vf.Close()
	if toks, _ := vf.Meta.Strings("tokenizer.ggml.tokens"); len(toks) != s.Vocab {
		return fmt.Errorf("synthfile: %s has %d tokens, %s needs %d", s.VocabFile, len(toks), s.Name, s.Vocab)
	}
	a := s.Arch + "."
	headDim := s.Embed / s.Heads
	meta := []weights.KV{
		{Key: "general.architecture", Value: s.Arch},
		{Key: "general.name", Value: s.Name + " (random weights)"},
		{Key: "general.file_type", Value: fileType[t]},
		{Key: a + "block_count", Value: uint32(s.Layers)},
		{Key: a + "context_length", Value: uint32(s.Context)},
		{Key: a + "embedding_length", Value: uint32(s.Embed)},
		{Key: a + "feed_forward_length", Value: uint32(s.FFN)},
		{Key: a + "attention.head_count", Value: uint32(s.Heads)},
		{Key: a + "attention.head_count_kv", Value: uint32(s.KVHeads)},
		{Key: a + "rope.freq_base", Value: s.RopeBase},
		{Key: a + "attention.layer_norm_rms_epsilon", Value: s.Eps},
		{Key: a + "rope.dimension_count", Value: uint32(headDim)},
	}
	if s.Arch == "llama" {
		meta = append(meta, weights.KV{Key: a + "vocab_size", Value: uint32(s.Vocab)})
	}
	for _, kv := range vf.KVs() {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			meta = append(meta, kv)
		}
	}

	rng := rand.New(rand.NewPCG(seed, 1))
	cache := map[string][]byte{}
	var tensors []*weights.Tensor
	add := func(name, role string, dt weights.DType, std float32, mean float32, shape ...int) error {
		if dt.Quantized() && shape[len(shape)-1]%dt.BlockElems() != 0 {
			dt = weights.Q4_0
		}
		key := fmt.Sprintf("%s/%s/%v", role, dt, shape)
		data, ok := cache[key]
		if !ok {
			var err error
			if data, err = random(rng, dt, shape, std, mean); err != nil {
				return fmt.Errorf("synthfile: %s: %w", name, err)
			}
			cache[key] = data
		}
		tensors = append(tensors, &weights.Tensor{Name: name, DType: dt, Shape: slices.Clone(shape), Data: data})
		return nil
	}
	q, kv := s.Heads*headDim, s.KVHeads*headDim
	steps := []func() error{
		func() error { return add("token_embd.weight", "embed", t, 0.02, 0, s.Vocab, s.Embed) },
	}
	if s.Llama3 {
		steps = append(steps, func() error {
			tensors = append(tensors, &weights.Tensor{Name: "rope_freqs.weight", DType: weights.F32, Shape: []int{headDim / 2}, Data: llama3Factors(headDim, float64(s.RopeBase))})
			return nil
		})
	}
	for l := range s.Layers {
		b := fmt.Sprintf("blk.%d.", l)
		steps = append(steps,
			func() error { return add(b+"attn_norm.weight", "norm", weights.F32, 0.1, 1, s.Embed) },
			func() error { return add(b+"attn_q.weight", "q", t, 0.02, 0, q, s.Embed) },
			func() error { return add(b+"attn_k.weight", "k", t, 0.02, 0, kv, s.Embed) },
			func() error { return add(b+"attn_v.weight", "v", t, 0.02, 0, kv, s.Embed) },
			func() error { return add(b+"attn_output.weight", "o", t, 0.02, 0, s.Embed, q) },
			func() error { return add(b+"ffn_norm.weight", "norm", weights.F32, 0.1, 1, s.Embed) },
			func() error { return add(b+"ffn_gate.weight", "gate", t, 0.02, 0, s.FFN, s.Embed) },
			func() error { return add(b+"ffn_up.weight", "up", t, 0.02, 0, s.FFN, s.Embed) },
			func() error { return add(b+"ffn_down.weight", "down", t, 0.02, 0, s.Embed, s.FFN) },
		)
		if s.QKVBias {
			steps = append(steps,
				func() error { return add(b+"attn_q.bias", "qb", weights.F32, 0.02, 0, q) },
				func() error { return add(b+"attn_k.bias", "kb", weights.F32, 0.02, 0, kv) },
				func() error { return add(b+"attn_v.bias", "vb", weights.F32, 0.02, 0, kv) },
			)
		}
	}
	steps = append(steps, func() error { return add("output_norm.weight", "norm", weights.F32, 0.1, 1, s.Embed) })
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}

	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("synthfile: %w", err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	if err := weights.WriteGGUF(w, meta, tensors); err != nil {
		fh.Close()
		os.Remove(tmp)
		return fmt.Errorf("synthfile: %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		os.Remove(tmp)
		return fmt.Errorf("synthfile: %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("synthfile: %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// tileElems bounds the random values generated per tensor: larger tensors
// repeat a quantized tile of whole rows (quantized blocks are independent,
// so the repeated bytes are valid data, and speed does not depend on them).
const tileElems = 1 << 20

// random returns a tensor of normal values (mean, std) stored as dt.
func random(rng *rand.Rand, dt weights.DType, shape []int, std, mean float32) ([]byte, error) {
	cols := shape[len(shape)-1]
	rows := 1
	for _, d := range shape[:len(shape)-1] {
		rows *= d
	}
	tileRows := max(1, min(rows, tileElems/cols))
	src := make([]float32, tileRows*cols)
	for i := range src {
		src[i] = mean + std*float32(rng.NormFloat64())
	}
	tile, err := kernels.Quantize(dt, src)
	if err != nil {
		return nil, err
	}
	rowBytes := len(tile) / tileRows
	out := make([]byte, 0, rows*rowBytes)
	for len(out) < rows*rowBytes {
		out = append(out, tile[:min(len(tile), rows*rowBytes-len(out))]...)
	}
	return out, nil
}

// llama3Factors returns Llama 3.1/3.2 RoPE frequency divisors (factor 32,
// low 1, high 4, original context 8192) as F32 bytes.
func llama3Factors(headDim int, base float64) []byte {
	const factor, low, high, orig = 32.0, 1.0, 4.0, 8192.0
	out := make([]float32, headDim/2)
	for i := range out {
		freq := 1 / math.Pow(base, float64(2*i)/float64(headDim))
		wavelen := 2 * 3.141592653589793 / freq
		switch {
		case wavelen < orig/high:
			out[i] = 1
		case wavelen > orig/low:
			out[i] = factor
		default:
			smooth := (orig/wavelen - low) / (high - low)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	b, _ := kernels.Quantize(weights.F32, out)
	return b
}
