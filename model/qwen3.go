package model

import (
	"math"
)

// Qwen3 is the dense Qwen3 architecture (Yang et al. 2025): the Qwen2 block
// without projection biases and with RMSNorm applied to every query and key
// head (over head_dim, one weight vector shared by the heads) before the
// rotary embedding.
type Qwen3 struct {
	cfg    Config
	eps    float32
	rope   RoPE
	attn   Attention
	embed  Weight
	layers []qwen3Layer
	norm   Weight
	output Weight
}

type qwen3Layer struct {
	attnNorm, wq, wk, wv, wo Weight
	qNorm, kNorm             Weight
	ffnNorm, gate, up, down  Weight
}

func init() {
	Families.Register(loadQwen3, "qwen3", "Qwen3ForCausalLM")
}

func loadQwen3(s *Source) (Model, error) {
	h := s.Hyper()
	n := qwen2Names[s.HF]
	d := readDecoder(s, h, n["embed"], "attention.layer_norm_rms_epsilon", false)
	checkHidden(s, h, "silu")
	if s.HF {
		if h.BoolOr("attention_bias", false) {
			h.Check(false, "%w: attention_bias = true is not supported for qwen3", ErrUnsupported)
		}
		if h.BoolOr("use_sliding_window", false) {
			h.Check(false, "%w: use_sliding_window = true is not supported for qwen3", ErrUnsupported)
		}
	}
	if h.Err == nil {
		checkNoRopeScaling(s, h)
	}
	if h.Err != nil {
		return nil, h.Err
	}
	c := d.c
	m := &Qwen3{
		cfg:  c,
		eps:  float32(d.eps),
		rope: RoPE{HeadDim: c.HeadDim, Dims: d.ropeDims, Base: d.base, NeoX: true},
		attn: Attention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: float32(1 / math.Sqrt(float64(c.HeadDim)))},
	}
	b := &binder{s: s}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.embed = b.w(n["embed"], -1, c.Vocab, c.Embed)
	for l := range c.Layers {
		m.layers = append(m.layers, qwen3Layer{
			attnNorm: b.w(n["attn_norm"], l, c.Embed),
			wq:       b.w(n["q"], l, q, c.Embed),
			wk:       b.w(n["k"], l, kv, c.Embed),
			wv:       b.w(n["v"], l, kv, c.Embed),
			qNorm:    b.w(n["q_norm"], l, c.HeadDim),
			kNorm:    b.w(n["k_norm"], l, c.HeadDim),
			wo:       b.w(n["o"], l, c.Embed, q),
			ffnNorm:  b.w(n["ffn_norm"], l, c.Embed),
			gate:     b.w(n["gate"], l, c.FFN, c.Embed),
			up:       b.w(n["up"], l, c.FFN, c.Embed),
			down:     b.w(n["down"], l, c.Embed, c.FFN),
		})
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

// Config implements Model.
func (m *Qwen3) Config() Config { return m.cfg }

// Forward implements Model.
func (m *Qwen3) Forward(ops Ops) Tensor {
	x := ops.Embed(m.embed)
	for i, l := range m.layers {
		h := ops.RMSNorm(x, l.attnNorm, m.eps, false)
		q := ops.RMSNorm(ops.Linear(h, l.wq, nil), l.qNorm, m.eps, false) // per head
		k := ops.RMSNorm(ops.Linear(h, l.wk, nil), l.kNorm, m.eps, false)
		q, k = ops.RoPE(q, m.rope), ops.RoPE(k, m.rope)
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
