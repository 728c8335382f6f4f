package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/weights"
)

// binder binds a family's tensors by name, remembering the first error so a
// loader can bind them all and check once. Names may hold one %d (the layer).
type binder struct {
	s   *Source
	err error
}

func (b *binder) name(pattern string, layer int) string {
	if layer >= 0 {
		return fmt.Sprintf(pattern, layer)
	}
	return pattern
}

// w binds a required tensor.
func (b *binder) w(pattern string, layer int, shape ...int) Weight {
	if b.err != nil {
		return nil
	}
	x, err := b.s.Weight(b.name(pattern, layer), shape...)
	b.err = err
	return x
}

// group declares ws (bound matrices a layer multiplies with one input) to
// a backend that groups weights (WeightGrouper); nothing otherwise, or
// after an error.
func (b *binder) group(ws ...Weight) {
	if g, ok := b.s.Backend.(WeightGrouper); ok && b.err == nil {
		g.GroupWeights(ws...)
	}
}

// opt binds an optional tensor (nil when absent).
func (b *binder) opt(pattern string, layer int, shape ...int) Weight {
	if b.err != nil {
		return nil
	}
	x, ok, err := b.s.OptWeight(b.name(pattern, layer), shape...)
	b.err = err
	if !ok {
		return nil
	}
	return x
}

// tensor returns the named stored tensor, checking its shape.
func (b *binder) tensor(pattern string, layer int, shape ...int) *weights.Tensor {
	if b.err != nil {
		return nil
	}
	name := b.name(pattern, layer)
	t, ok := b.s.File.Tensor(name)
	switch {
	case !ok:
		b.err = fmt.Errorf("%s: missing tensor %q", b.s.File.Path, name)
		return nil
	case !slices.Equal(t.Shape, shape):
		b.err = fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", b.s.File.Path, name, t.Shape, shape)
		return nil
	}
	b.s.MarkUnused(name)
	b.s.params += int64(t.Elements())
	return t
}

// bind binds a tensor derived from a stored one (a slice or a transposed
// copy); its elements were counted when the source tensor was taken.
func (b *binder) bind(t *weights.Tensor) Weight {
	if b.err != nil || t == nil {
		return nil
	}
	w, err := b.s.Backend.Bind(t)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", b.s.File.Path, err)
		return nil
	}
	if len(t.Shape) == 2 {
		if b.s.types == nil {
			b.s.types = map[weights.DType]int64{}
		}
		b.s.types[t.DType] += int64(t.Elements())
	}
	return w
}

// rows returns rows [from, to) of a matrix or elements [from, to) of a
// vector as a tensor sharing t's storage (fused projections such as qkv are
// split this way; blocks of quantized types never straddle rows).
func (b *binder) rows(t *weights.Tensor, from, to int) *weights.Tensor {
	if b.err != nil || t == nil {
		return nil
	}
	inner := 1
	if len(t.Shape) == 2 {
		inner = t.Shape[1]
	}
	rowBytes, err := t.DType.Bytes(int64(inner))
	if err != nil {
		b.err = fmt.Errorf("%s: tensor %q: %w", b.s.File.Path, t.Name, err)
		return nil
	}
	if len(t.Shape) == 1 && t.DType.Quantized() {
		b.err = fmt.Errorf("%s: tensor %q: cannot split a quantized vector", b.s.File.Path, t.Name)
		return nil
	}
	if int64(len(t.Data)) < rowBytes*int64(t.Shape[0]) {
		b.err = fmt.Errorf("%s: tensor %q: %d bytes for shape %v", b.s.File.Path, t.Name, len(t.Data), t.Shape)
		return nil
	}
	c := *t
	c.Name = fmt.Sprintf("%s[%d:%d]", t.Name, from, to)
	c.Shape = slices.Clone(t.Shape)
	c.Shape[0] = to - from
	c.Data = t.Data[int64(from)*rowBytes : int64(to)*rowBytes]
	c.Offset += int64(from) * rowBytes
	return &c
}

// transposed returns a copy of the matrix t with its two dimensions swapped
// (Hugging Face Conv1D weights are stored [in, out]): F16 and BF16 keep
// their type, other types become F32.
func (b *binder) transposed(t *weights.Tensor) *weights.Tensor {
	if b.err != nil || t == nil {
		return nil
	}
	if len(t.Shape) != 2 {
		b.err = fmt.Errorf("%s: tensor %q: shape %v is not a matrix", b.s.File.Path, t.Name, t.Shape)
		return nil
	}
	r, c := t.Shape[0], t.Shape[1]
	want, err := t.DType.Bytes(int64(r * c))
	if err != nil || int64(len(t.Data)) != want {
		b.err = fmt.Errorf("%s: tensor %q: %d bytes for %s %v", b.s.File.Path, t.Name, len(t.Data), t.DType, t.Shape)
		return nil
	}
	if t.DType == weights.BF16 || t.DType == weights.F16 {
		// 16-bit values move as they are: the copy multiplies exactly as
		// the stored tensor would (BF16 MatMul may round activations to
		// BF16, which an F32 copy would not).
		dst := make([]byte, 2*r*c)
		for i := range r {
			for j := range c {
				copy(dst[2*(j*r+i):2*(j*r+i)+2], t.Data[2*(i*c+j):])
			}
		}
		return &weights.Tensor{Name: t.Name + "ᵀ", DType: t.DType, Shape: []int{c, r}, Data: dst, File: t.File, Offset: t.Offset}
	}
	src := kernels.Dequantize(t.DType, t.Data, r*c)
	dst := make([]byte, 4*r*c)
	for i := range r {
		for j := range c {
			putF32(dst[4*(j*r+i):], src[i*c+j])
		}
	}
	return &weights.Tensor{Name: t.Name + "ᵀ", DType: weights.F32, Shape: []int{c, r}, Data: dst, File: t.File, Offset: t.Offset}
}

// vector returns an F32 vector tensor holding v.
func f32Tensor(name string, shape []int, v []float32) *weights.Tensor {
	d := make([]byte, 4*len(v))
	for i, x := range v {
		putF32(d[4*i:], x)
	}
	return &weights.Tensor{Name: name, DType: weights.F32, Shape: shape, Data: d}
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

// names picks the GGUF or the Hugging Face spelling of a tensor name.
func names(hf bool, gguf, hfName string) string {
	if hf {
		return hfName
	}
	return gguf
}

// decoderHyper holds the hyper-parameters every decoder family reads the
// same way from config.json or from GGUF "{arch}." keys.
type decoderHyper struct {
	c        Config
	eps      float64 // RMS (or layer) norm epsilon
	base     float64 // RoPE theta
	ropeDims int
	tied     bool // HF tie_word_embeddings
}

// readDecoder reads the shared hyper-parameters. epsKey is the GGUF norm
// epsilon key suffix (attention.layer_norm_rms_epsilon or
// attention.layer_norm_epsilon).
func readDecoder(s *Source, h *Hyper, embedName, epsKey string, defTied bool) decoderHyper {
	var d decoderHyper
	c := &d.c
	if s.HF {
		c.Embed = h.Int("hidden_size")
		c.Layers = h.Int("num_hidden_layers")
		c.Heads = h.Int("num_attention_heads")
		c.KVHeads = h.IntOr("num_key_value_heads", c.Heads)
		c.FFN = h.Int("intermediate_size")
		c.Context = h.IntOr("max_position_embeddings", 2048)
		c.Vocab = h.Int("vocab_size")
		if c.Heads > 0 {
			c.HeadDim = h.IntOr("head_dim", c.Embed/c.Heads)
		}
		d.eps = h.FloatOr("rms_norm_eps", 1e-6)
		d.base = h.FloatOr("rope_theta", 10000)
		d.ropeDims = c.HeadDim
		d.tied = h.BoolOr("tie_word_embeddings", defTied)
		for _, key := range []string{"num_local_experts", "num_experts"} {
			if n, ok := s.Meta.Int(key); ok && n > 0 {
				h.Check(false, "%w: %s = %d (mixture-of-experts) is not supported for %s", ErrUnsupported, key, n, s.Arch)
			}
		}
	} else {
		a := s.Arch + "."
		c.Embed = h.Int(a + "embedding_length")
		c.Layers = h.Int(a + "block_count")
		c.Heads = h.Int(a + "attention.head_count")
		c.KVHeads = h.IntOr(a+"attention.head_count_kv", c.Heads)
		c.FFN = h.Int(a + "feed_forward_length")
		c.Context = h.IntOr(a+"context_length", 2048)
		if c.Heads > 0 {
			c.HeadDim = h.IntOr(a+"attention.key_length", c.Embed/c.Heads)
		}
		d.eps = h.Float(a + epsKey)
		d.base = h.FloatOr(a+"rope.freq_base", 10000)
		d.ropeDims = h.IntOr(a+"rope.dimension_count", c.HeadDim)
		if t, ok := s.File.Tensor(embedName); ok && len(t.Shape) == 2 {
			c.Vocab = t.Shape[0]
		}
		if n, ok := s.Meta.Int(a + "expert_count"); ok && n > 0 {
			h.Check(false, "%w: %s = %d (mixture-of-experts) is not supported", ErrUnsupported, a+"expert_count", n)
		}
		if v, ok := s.Meta.Int(a + "attention.value_length"); ok && int(v) != c.HeadDim {
			h.Check(false, "%w: %s = %d differs from the key length %d", ErrUnsupported, a+"attention.value_length", v, c.HeadDim)
		}
	}
	if h.Err == nil {
		h.Check(c.Heads%c.KVHeads == 0, "%d attention heads is not a multiple of %d KV heads", c.Heads, c.KVHeads)
		h.Check(d.ropeDims > 0 && d.ropeDims <= c.HeadDim && d.ropeDims%2 == 0, "rotary dimension %d for head dim %d", d.ropeDims, c.HeadDim)
		h.Check(c.Vocab > 0, "cannot tell the vocabulary size (tensor %q)", embedName)
	}
	c.Arch = s.Arch
	return d
}

// output binds the output head, falling back to the token embeddings when
// the checkpoint ties them (GGUF without output.weight, or HF
// tie_word_embeddings).
func (b *binder) output(name string, d decoderHyper, embed Weight) Weight {
	if b.err != nil {
		return nil
	}
	out := b.opt(name, -1, d.c.Vocab, d.c.Embed)
	switch {
	case b.err != nil:
		return nil
	case out != nil:
		return out
	case !b.s.HF || d.tied:
		return embed
	}
	b.err = fmt.Errorf("%s: missing tensor %q (config.json does not tie word embeddings)", b.s.File.Path, name)
	return nil
}

// checkHidden refuses hidden activations other than want (config.json
// hidden_act / hidden_activation).
func checkHidden(s *Source, h *Hyper, want ...string) {
	if !s.HF {
		return
	}
	for _, key := range []string{"hidden_act", "hidden_activation"} {
		if act, ok := s.Meta.String(key); ok && !slices.Contains(want, act) {
			h.Check(false, "%w: %s = %q for %s (want %q)", ErrUnsupported, key, act, s.Arch, want)
		}
	}
}

// slidingWindow reads an optional sliding-window size, where 0 or null (and
// absence) mean none.
func slidingWindow(s *Source, h *Hyper, key string) int {
	v, present := s.Meta[key]
	if !present || v == nil {
		return 0
	}
	n, ok := s.Meta.Int(key)
	if !ok || n < 0 || n > math.MaxInt32 {
		h.Check(false, "key %q = %v, want a non-negative integer", key, v)
		return 0
	}
	return int(n)
}
