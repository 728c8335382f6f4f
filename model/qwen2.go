package model

import (
	"math"
)

// Qwen2 is the Qwen2 / Qwen2.5 architecture (Yang et al. 2024): the Llama
// block — RMSNorm, grouped-query attention with rotary positions, RMSNorm,
// SwiGLU MLP — with biases on the query, key and value projections and
// rotary embeddings in the half-split (NeoX) layout in both checkpoint
// formats.
type Qwen2 struct {
	cfg    Config
	eps    float32
	rope   RoPE
	attn   Attention
	embed  Weight
	layers []qwen2Layer
	norm   Weight
	output Weight
}

type qwen2Layer struct {
	attnNorm, wq, wk, wv, wo Weight
	bq, bk, bv               Weight
	ffnNorm, gate, up, down  Weight
}

func init() {
	Families.Register(loadQwen2, "qwen2", "Qwen2ForCausalLM")
}

// qwen2Names are the tensor names of both spellings (GGUF, Hugging Face).
var qwen2Names = map[bool]map[string]string{
	false: {
		"embed": "token_embd.weight", "norm": "output_norm.weight", "output": "output.weight",
		"attn_norm": "blk.%d.attn_norm.weight",
		"q":         "blk.%d.attn_q.weight", "k": "blk.%d.attn_k.weight", "v": "blk.%d.attn_v.weight",
		"bq": "blk.%d.attn_q.bias", "bk": "blk.%d.attn_k.bias", "bv": "blk.%d.attn_v.bias",
		"o": "blk.%d.attn_output.weight", "ffn_norm": "blk.%d.ffn_norm.weight",
		"gate": "blk.%d.ffn_gate.weight", "up": "blk.%d.ffn_up.weight", "down": "blk.%d.ffn_down.weight",
		"q_norm": "blk.%d.attn_q_norm.weight", "k_norm": "blk.%d.attn_k_norm.weight",
	},
	true: {
		"embed": "model.embed_tokens.weight", "norm": "model.norm.weight", "output": "lm_head.weight",
		"attn_norm": "model.layers.%d.input_layernorm.weight",
		"q":         "model.layers.%d.self_attn.q_proj.weight", "k": "model.layers.%d.self_attn.k_proj.weight",
		"v":  "model.layers.%d.self_attn.v_proj.weight",
		"bq": "model.layers.%d.self_attn.q_proj.bias", "bk": "model.layers.%d.self_attn.k_proj.bias",
		"bv": "model.layers.%d.self_attn.v_proj.bias",
		"o":  "model.layers.%d.self_attn.o_proj.weight", "ffn_norm": "model.layers.%d.post_attention_layernorm.weight",
		"gate": "model.layers.%d.mlp.gate_proj.weight", "up": "model.layers.%d.mlp.up_proj.weight",
		"down":   "model.layers.%d.mlp.down_proj.weight",
		"q_norm": "model.layers.%d.self_attn.q_norm.weight", "k_norm": "model.layers.%d.self_attn.k_norm.weight",
	},
}

func loadQwen2(s *Source) (Model, error) {
	h := s.Hyper()
	n := qwen2Names[s.HF]
	d := readDecoder(s, h, n["embed"], "attention.layer_norm_rms_epsilon", false)
	checkHidden(s, h, "silu")
	if s.HF && h.BoolOr("use_sliding_window", false) {
		h.Check(false, "%w: use_sliding_window = true is not supported for qwen2", ErrUnsupported)
	}
	if h.Err == nil {
		checkNoRopeScaling(s, h)
	}
	if h.Err != nil {
		return nil, h.Err
	}
	c := d.c
	m := &Qwen2{
		cfg:  c,
		eps:  float32(d.eps),
		rope: RoPE{HeadDim: c.HeadDim, Dims: d.ropeDims, Base: d.base, NeoX: true},
		attn: Attention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: float32(1 / math.Sqrt(float64(c.HeadDim)))},
	}
	b := &binder{s: s}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.embed = b.w(n["embed"], -1, c.Vocab, c.Embed)
	for l := range c.Layers {
		m.layers = append(m.layers, qwen2Layer{
			attnNorm: b.w(n["attn_norm"], l, c.Embed),
			wq:       b.w(n["q"], l, q, c.Embed),
			wk:       b.w(n["k"], l, kv, c.Embed),
			wv:       b.w(n["v"], l, kv, c.Embed),
			bq:       b.w(n["bq"], l, q),
			bk:       b.w(n["bk"], l, kv),
			bv:       b.w(n["bv"], l, kv),
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
func (m *Qwen2) Config() Config { return m.cfg }

// Forward implements Model.
func (m *Qwen2) Forward(ops Ops) Tensor {
	x := ops.Embed(m.embed)
	for i, l := range m.layers {
		h := ops.RMSNorm(x, l.attnNorm, m.eps, false)
		q := ops.RoPE(ops.Linear(h, l.wq, l.bq), m.rope)
		k := ops.RoPE(ops.Linear(h, l.wk, l.bk), m.rope)
		v := ops.Linear(h, l.wv, l.bv)
		x = ops.Add(x, ops.Linear(ops.Attention(i, q, k, v, m.attn), l.wo, nil))

		h = ops.RMSNorm(x, l.ffnNorm, m.eps, false)
		g := ops.SiLU(ops.Linear(h, l.gate, nil))
		x = ops.Add(x, ops.Linear(ops.Mul(g, ops.Linear(h, l.up, nil)), l.down, nil))
		x = ops.EndLayer(x)
	}
	x = ops.RMSNorm(ops.Outputs(x), m.norm, m.eps, false)
	return ops.Linear(x, m.output, nil)
}

// checkNoRopeScaling refuses RoPE scaling for families that implement none
// (YaRN and friends change every rotation; running without them would be
// silently wrong past the trained context).
func checkNoRopeScaling(s *Source, h *Hyper) {
	if s.HF {
		if raw, ok := s.Meta["rope_scaling"]; ok && raw != nil {
			if obj, ok := raw.(map[string]any); ok {
				typ := obj["rope_type"]
				if typ == nil {
					typ = obj["type"]
				}
				if typ == "default" {
					return
				}
				h.Check(false, "%w: rope_scaling.rope_type = %v is not supported for %s", ErrUnsupported, typ, s.Arch)
				return
			}
			h.Check(false, "rope_scaling is %v, want an object", raw)
		}
		return
	}
	key := s.Arch + ".rope.scaling.type"
	if typ, ok := s.Meta.String(key); ok && typ != "none" && typ != "" {
		h.Check(false, "%w: %s = %q", ErrUnsupported, key, typ)
	}
}
