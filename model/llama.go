package model

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/goformer/goformer/weights"
)

// Llama is the Llama architecture (Touvron et al. 2023): pre-norm decoder
// blocks of RMSNorm → grouped-query attention with rotary positions →
// RMSNorm → SwiGLU MLP, with residual connections, and an output head that
// may be tied to the token embeddings. Mistral 7B (Jiang et al. 2023) is the
// same network with sliding-window attention (config "sliding_window", GGUF
// llama.attention.sliding_window).
type Llama struct {
	cfg    Config
	eps    float32
	rope   RoPE
	attn   Attention
	embed  Weight
	layers []llamaLayer
	norm   Weight
	output Weight
}

type llamaLayer struct {
	attnNorm, wq, wk, wv, wo Weight
	ffnNorm, gate, up, down  Weight
}

func init() {
	Families.Register(loadLlama, "llama", "LlamaForCausalLM", "MistralForCausalLM")
}

// Tensor names in both spellings; %d is the layer.
var llamaNames = map[bool]map[string]string{
	false: {
		"embed": "token_embd.weight", "norm": "output_norm.weight", "output": "output.weight",
		"attn_norm": "blk.%d.attn_norm.weight", "q": "blk.%d.attn_q.weight", "k": "blk.%d.attn_k.weight",
		"v": "blk.%d.attn_v.weight", "o": "blk.%d.attn_output.weight", "ffn_norm": "blk.%d.ffn_norm.weight",
		"gate": "blk.%d.ffn_gate.weight", "up": "blk.%d.ffn_up.weight", "down": "blk.%d.ffn_down.weight",
	},
	true: {
		"embed": "model.embed_tokens.weight", "norm": "model.norm.weight", "output": "lm_head.weight",
		"attn_norm": "model.layers.%d.input_layernorm.weight", "q": "model.layers.%d.self_attn.q_proj.weight",
		"k": "model.layers.%d.self_attn.k_proj.weight", "v": "model.layers.%d.self_attn.v_proj.weight",
		"o": "model.layers.%d.self_attn.o_proj.weight", "ffn_norm": "model.layers.%d.post_attention_layernorm.weight",
		"gate": "model.layers.%d.mlp.gate_proj.weight", "up": "model.layers.%d.mlp.up_proj.weight",
		"down": "model.layers.%d.mlp.down_proj.weight",
	},
}

func loadLlama(s *Source) (Model, error) {
	h := s.Hyper()
	names := llamaNames[s.HF]
	d := readDecoder(s, h, names["embed"], "attention.layer_norm_rms_epsilon", false)
	c, eps, base, ropeDims := d.c, d.eps, d.base, d.ropeDims
	var factors []float32
	var window int
	if s.HF {
		for _, key := range []string{"attention_bias", "mlp_bias"} {
			if h.BoolOr(key, false) {
				h.Check(false, "%w: %s = true is not supported for llama", ErrUnsupported, key)
			}
		}
		checkHidden(s, h, "silu")
		// Mistral: sliding-window attention (null or absent: none).
		window = slidingWindow(s, h, "sliding_window")
		if h.Err == nil {
			var err error
			factors, err = hfRopeScaling(s, ropeDims, c.Context)
			if err != nil {
				return nil, err
			}
		}
	} else {
		a := s.Arch + "."
		window = slidingWindow(s, h, a+"attention.sliding_window")
		if h.Err == nil {
			var err error
			factors, err = ggufRopeScaling(s, a, ropeDims)
			if err != nil {
				return nil, err
			}
		}
	}
	if h.Err != nil {
		return nil, h.Err
	}
	c.Arch = s.Arch
	m := &Llama{
		cfg:  c,
		eps:  float32(eps),
		rope: RoPE{HeadDim: c.HeadDim, Dims: ropeDims, Base: base, NeoX: s.HF, Factors: factors},
		attn: Attention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: float32(1 / math.Sqrt(float64(c.HeadDim))), Window: window},
	}
	b := &binder{s: s}
	w := func(key string, layer int, shape ...int) Weight { return b.w(names[key], layer, shape...) }
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.embed = w("embed", -1, c.Vocab, c.Embed)
	for l := range c.Layers {
		m.layers = append(m.layers, llamaLayer{
			attnNorm: w("attn_norm", l, c.Embed),
			wq:       w("q", l, q, c.Embed),
			wk:       w("k", l, kv, c.Embed),
			wv:       w("v", l, kv, c.Embed),
			wo:       w("o", l, c.Embed, q),
			ffnNorm:  w("ffn_norm", l, c.Embed),
			gate:     w("gate", l, c.FFN, c.Embed),
			up:       w("up", l, c.FFN, c.Embed),
			down:     w("down", l, c.Embed, c.FFN),
		})
	}
	m.norm = w("norm", -1, c.Embed)
	m.output = b.output(names["output"], d, m.embed)
	for _, l := range m.layers {
		b.group(l.wq, l.wk, l.wv) // one input each: computed together when decoding
		b.group(l.gate, l.up)
	}
	if b.err != nil {
		return nil, b.err
	}
	m.cfg.Params = s.Params()
	m.cfg.WeightTyp = s.WeightType()
	return m, nil
}

// Config implements Model.
func (m *Llama) Config() Config { return m.cfg }

// Forward implements Model.
func (m *Llama) Forward(ops Ops) Tensor {
	x := ops.Embed(m.embed)
	for i, l := range m.layers {
		h := ops.RMSNorm(x, l.attnNorm, m.eps, false)
		q := ops.RoPE(ops.Linear(h, l.wq, nil), m.rope)
		k := ops.RoPE(ops.Linear(h, l.wk, nil), m.rope)
		v := ops.Linear(h, l.wv, nil)
		x = ops.Add(x, ops.Linear(ops.Attention(i, q, k, v, m.attn), l.wo, nil))

		h = ops.RMSNorm(x, l.ffnNorm, m.eps, false)
		g := ops.SiLU(ops.Linear(h, l.gate, nil))
		x = ops.Add(x, ops.Linear(ops.Mul(g, ops.Linear(h, l.up, nil)), l.down, nil))
		x = ops.EndLayer(x)
	}
	x = ops.RMSNorm(ops.Outputs(x), m.norm, m.eps, false)
	return ops.Linear(x, m.output, nil)
}

// ggufRopeScaling returns per-pair frequency divisors from a GGUF file: the
// rope_freqs.weight table (Llama 3.1+) or linear scaling.
func ggufRopeScaling(s *Source, a string, dims int) ([]float32, error) {
	var factors []float32
	if t, ok := s.File.Tensor("rope_freqs.weight"); ok {
		if t.DType != weights.F32 || len(t.Shape) != 1 || t.Shape[0] != dims/2 || len(t.Data) != 2*dims {
			return nil, fmt.Errorf("%s: tensor \"rope_freqs.weight\" is %s %v, want F32 [%d]", s.File.Path, t.DType, t.Shape, dims/2)
		}
		factors = make([]float32, dims/2)
		for i := range factors {
			factors[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		s.MarkUnused("rope_freqs.weight")
	}
	typ, _ := s.Meta.String(a + "rope.scaling.type")
	switch typ {
	case "", "none":
	case "linear":
		f, ok := s.Meta.Float(a + "rope.scaling.factor")
		if !ok || f <= 0 {
			return nil, fmt.Errorf("%s: %s = linear needs a positive %s", s.File.Path, a+"rope.scaling.type", a+"rope.scaling.factor")
		}
		if factors == nil {
			factors = make([]float32, dims/2)
			for i := range factors {
				factors[i] = 1
			}
		}
		for i := range factors {
			factors[i] *= float32(f)
		}
	default:
		return nil, fmt.Errorf("%s: %w: %s = %q", s.File.Path, ErrUnsupported, a+"rope.scaling.type", typ)
	}
	return factors, nil
}

// hfRopeScaling interprets config.json's rope_scaling.
func hfRopeScaling(s *Source, dims, context int) ([]float32, error) {
	raw, present := s.Meta["rope_scaling"]
	if !present || raw == nil {
		return nil, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: config.json: rope_scaling is %v, want an object", s.File.Path, raw)
	}
	rs := weights.Metadata(obj)
	typ, ok := rs.String("rope_type")
	if !ok {
		typ, _ = rs.String("type")
	}
	factor, _ := rs.Float("factor")
	bad := func(field string) error {
		return fmt.Errorf("%s: config.json: %w: rope_scaling.%s = %v", s.File.Path, ErrUnsupported, field, rs[field])
	}
	factors := make([]float32, dims/2)
	switch typ {
	case "default":
		return nil, nil
	case "linear":
		if factor <= 0 {
			return nil, bad("factor")
		}
		for i := range factors {
			factors[i] = float32(factor)
		}
	case "llama3":
		low, _ := rs.Float("low_freq_factor")
		high, _ := rs.Float("high_freq_factor")
		orig, _ := rs.Float("original_max_position_embeddings")
		if factor <= 0 || low <= 0 || high <= low || orig <= 0 {
			return nil, fmt.Errorf("%s: config.json: rope_scaling llama3 needs factor, low_freq_factor < high_freq_factor and original_max_position_embeddings", s.File.Path)
		}
		base := s.Hyper().FloatOr("rope_theta", 10000)
		lowWave, highWave := orig/low, orig/high
		for i := range factors {
			freq := math.Pow(base, -float64(2*i)/float64(dims))
			wave := 2 * math.Pi / freq
			switch {
			case wave < highWave:
				factors[i] = 1
			case wave > lowWave:
				factors[i] = float32(factor)
			default:
				smooth := (orig/wave - low) / (high - low)
				// freq' = (1-smooth)·freq/factor + smooth·freq
				factors[i] = float32(1 / ((1-smooth)/factor + smooth))
			}
		}
	default:
		if _, ok := rs["rope_type"]; ok {
			return nil, bad("rope_type")
		}
		return nil, bad("type")
	}
	return factors, nil
}
