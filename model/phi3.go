package model

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/goformer/goformer/weights"
)

// Phi3 is the Phi-3 / Phi-3.5 / Phi-4-mini architecture (Abdin et al. 2024):
// the Llama block with the query, key and value projections fused into one
// matrix and the gate and up projections fused into another, optionally
// partial rotary embeddings (NeoX layout), and "long-RoPE" scaling: per
// frequency divisors, one set for contexts within the original training
// length and one beyond it, with the rotated elements scaled by an
// attention factor sqrt(1 + ln(s)/ln(original)) for the extension ratio s.
//
// The long factors are used for a forward pass whose positions reach past
// the original context (the Hugging Face rule).
type Phi3 struct {
	cfg         Config
	eps         float32
	rope        RoPE // short factors
	ropeLong    RoPE // long factors (same as rope without long-RoPE)
	origContext int
	attn        Attention
	embed       Weight
	layers      []phi3Layer
	norm        Weight
	output      Weight
}

type phi3Layer struct {
	attnNorm, wq, wk, wv, wo Weight
	ffnNorm, gate, up, down  Weight
}

func init() {
	Families.Register(loadPhi3, "phi3", "Phi3ForCausalLM")
}

var phi3Names = map[bool]map[string]string{
	false: {
		"embed": "token_embd.weight", "norm": "output_norm.weight", "output": "output.weight",
		"attn_norm": "blk.%d.attn_norm.weight", "qkv": "blk.%d.attn_qkv.weight",
		"o": "blk.%d.attn_output.weight", "ffn_norm": "blk.%d.ffn_norm.weight",
		"gate_up": "blk.%d.ffn_up.weight", "down": "blk.%d.ffn_down.weight",
	},
	true: {
		"embed": "model.embed_tokens.weight", "norm": "model.norm.weight", "output": "lm_head.weight",
		"attn_norm": "model.layers.%d.input_layernorm.weight", "qkv": "model.layers.%d.self_attn.qkv_proj.weight",
		"o": "model.layers.%d.self_attn.o_proj.weight", "ffn_norm": "model.layers.%d.post_attention_layernorm.weight",
		"gate_up": "model.layers.%d.mlp.gate_up_proj.weight", "down": "model.layers.%d.mlp.down_proj.weight",
	},
}

func loadPhi3(s *Source) (Model, error) {
	h := s.Hyper()
	n := phi3Names[s.HF]
	d := readDecoder(s, h, n["embed"], "attention.layer_norm_rms_epsilon", false)
	c := d.c
	checkHidden(s, h, "silu")
	var (
		short, long []float32
		attnFactor  = 1.0
		orig        = c.Context
		window      int
	)
	if s.HF {
		d.ropeDims = int(float64(c.HeadDim) * h.FloatOr("partial_rotary_factor", 1))
		window = slidingWindow(s, h, "sliding_window")
		orig = h.IntOr("original_max_position_embeddings", c.Context)
		if raw, ok := s.Meta["rope_scaling"]; ok && raw != nil && h.Err == nil {
			rs, ok := raw.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: config.json: rope_scaling is %v, want an object", s.File.Path, raw)
			}
			meta := weights.Metadata(rs)
			typ, ok := meta.String("rope_type")
			field := "rope_type"
			if !ok {
				typ, field = "", "type"
				typ, _ = meta.String("type")
			}
			switch typ {
			case "default":
			case "longrope", "su":
				var okS, okL bool
				short, okS = meta.Floats("short_factor")
				long, okL = meta.Floats("long_factor")
				if !okS || !okL || len(short) != d.ropeDims/2 || len(long) != d.ropeDims/2 {
					return nil, fmt.Errorf("%s: config.json: rope_scaling needs short_factor and long_factor of %d numbers each", s.File.Path, d.ropeDims/2)
				}
				if o, ok := meta.Int("original_max_position_embeddings"); ok && o > 0 {
					orig = int(o)
				}
				factor := float64(c.Context) / float64(orig)
				if f, ok := meta.Float("factor"); ok {
					factor = f
				}
				if f, ok := meta.Float("attention_factor"); ok {
					attnFactor = f
				} else if factor > 1 {
					attnFactor = math.Sqrt(1 + math.Log(factor)/math.Log(float64(orig)))
				}
			default:
				return nil, fmt.Errorf("%s: config.json: %w: rope_scaling.%s = %q", s.File.Path, ErrUnsupported, field, typ)
			}
		}
	} else {
		a := s.Arch + "."
		window = slidingWindow(s, h, a+"attention.sliding_window")
		orig = h.IntOr(a+"rope.scaling.original_context_length", c.Context)
		attnFactor = h.FloatOr(a+"rope.scaling.attn_factor", 1)
		if typ, ok := s.Meta.String(a + "rope.scaling.type"); ok && typ != "none" && typ != "longrope" {
			h.Check(false, "%w: %s = %q", ErrUnsupported, a+"rope.scaling.type", typ)
		}
		if h.Err == nil {
			var err error
			if short, err = ropeFactorTensor(s, "rope_factors_short.weight", d.ropeDims); err != nil {
				return nil, err
			}
			if long, err = ropeFactorTensor(s, "rope_factors_long.weight", d.ropeDims); err != nil {
				return nil, err
			}
			if (short == nil) != (long == nil) {
				return nil, fmt.Errorf("%s: rope_factors_short.weight and rope_factors_long.weight must come together", s.File.Path)
			}
		}
	}
	h.Check(d.ropeDims > 0 && d.ropeDims%2 == 0 && d.ropeDims <= c.HeadDim, "rotary dimension %d for head dim %d", d.ropeDims, c.HeadDim)
	if h.Err != nil {
		return nil, h.Err
	}
	af := float32(attnFactor)
	m := &Phi3{
		cfg:         c,
		eps:         float32(d.eps),
		rope:        RoPE{HeadDim: c.HeadDim, Dims: d.ropeDims, Base: d.base, NeoX: true, Factors: short, AttnFactor: af},
		ropeLong:    RoPE{HeadDim: c.HeadDim, Dims: d.ropeDims, Base: d.base, NeoX: true, Factors: long, AttnFactor: af},
		origContext: orig,
		attn: Attention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
			Scale: float32(1 / math.Sqrt(float64(c.HeadDim))), Window: window},
	}
	if long == nil {
		m.ropeLong = m.rope
	}
	b := &binder{s: s}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.embed = b.w(n["embed"], -1, c.Vocab, c.Embed)
	for l := range c.Layers {
		ly := phi3Layer{attnNorm: b.w(n["attn_norm"], l, c.Embed)}
		if _, fused := s.File.Tensor(b.name(n["qkv"], l)); fused || s.HF {
			qkv := b.tensor(n["qkv"], l, q+2*kv, c.Embed)
			ly.wq = b.bind(b.rows(qkv, 0, q))
			ly.wk = b.bind(b.rows(qkv, q, q+kv))
			ly.wv = b.bind(b.rows(qkv, q+kv, q+2*kv))
		} else { // GGUF files may keep the projections apart
			ly.wq = b.w("blk.%d.attn_q.weight", l, q, c.Embed)
			ly.wk = b.w("blk.%d.attn_k.weight", l, kv, c.Embed)
			ly.wv = b.w("blk.%d.attn_v.weight", l, kv, c.Embed)
		}
		ly.wo = b.w(n["o"], l, c.Embed, q)
		ly.ffnNorm = b.w(n["ffn_norm"], l, c.Embed)
		gu := b.tensor(n["gate_up"], l, 2*c.FFN, c.Embed)
		ly.gate = b.bind(b.rows(gu, 0, c.FFN))
		ly.up = b.bind(b.rows(gu, c.FFN, 2*c.FFN))
		ly.down = b.w(n["down"], l, c.Embed, c.FFN)
		m.layers = append(m.layers, ly)
	}
	m.norm = b.w(n["norm"], -1, c.Embed)
	m.output = b.output(n["output"], d, m.embed)
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

// ropeFactorTensor reads an optional F32 [dims/2] tensor of frequency
// divisors.
func ropeFactorTensor(s *Source, name string, dims int) ([]float32, error) {
	t, ok := s.File.Tensor(name)
	if !ok {
		return nil, nil
	}
	if t.DType != weights.F32 || len(t.Shape) != 1 || t.Shape[0] != dims/2 || len(t.Data) != 2*dims {
		return nil, fmt.Errorf("%s: tensor %q is %s %v, want F32 [%d]", s.File.Path, name, t.DType, t.Shape, dims/2)
	}
	f := make([]float32, dims/2)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	s.MarkUnused(name)
	return f, nil
}

// Config implements Model.
func (m *Phi3) Config() Config { return m.cfg }

// Forward implements Model.
func (m *Phi3) Forward(ops Ops) Tensor {
	rope := m.rope
	for _, p := range ops.Batch().Positions {
		if p >= m.origContext {
			rope = m.ropeLong
		}
	}
	x := ops.Embed(m.embed)
	for i, l := range m.layers {
		h := ops.RMSNorm(x, l.attnNorm, m.eps, false)
		q := ops.RoPE(ops.Linear(h, l.wq, nil), rope)
		k := ops.RoPE(ops.Linear(h, l.wk, nil), rope)
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
