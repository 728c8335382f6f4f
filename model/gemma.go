package model

import (
	"math"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/weights"
)

// Gemma is the Gemma 2 (Gemma Team 2024) and Gemma 3 (Gemma Team 2025)
// architecture: token embeddings scaled by sqrt(hidden); blocks with
// "sandwich" RMSNorms around both sub-layers — norm → attention → norm,
// residual; norm → GeGLU MLP (tanh-approximated GELU gate) → norm,
// residual; RMSNorm weights applied as (1 + w); attention alternating
// between local sliding-window layers and global layers; scaling of scores
// by query_pre_attn_scalar^-1/2. Gemma 2 soft-caps attention scores and the
// final logits (c·tanh(x/c)); Gemma 3 instead normalizes every query and
// key head (RMSNorm) and gives local layers their own RoPE base.
type Gemma struct {
	cfg     Config
	eps     float32
	addOne  bool    // Hugging Face weights hold w; GGUF holds 1 + w
	scale   float32 // embedding scale sqrt(hidden)
	softcap float32 // final logit soft-capping (0: none)
	embed   Weight
	layers  []gemmaLayer
	norm    Weight
	output  Weight
}

type gemmaLayer struct {
	rope                        RoPE
	attn                        Attention
	attnNorm, wq, wk, wv, wo    Weight
	qNorm, kNorm                Weight // Gemma 3
	postAttnNorm, ffnNorm       Weight
	gate, up, down, postFFNNorm Weight
}

func init() {
	Families.Register(loadGemma, "gemma2", "Gemma2ForCausalLM", "gemma3", "Gemma3ForCausalLM")
}

var gemmaNames = map[bool]map[string]string{
	false: {
		"embed": "token_embd.weight", "norm": "output_norm.weight", "output": "output.weight",
		"attn_norm": "blk.%d.attn_norm.weight",
		"q":         "blk.%d.attn_q.weight", "k": "blk.%d.attn_k.weight", "v": "blk.%d.attn_v.weight",
		"o":      "blk.%d.attn_output.weight",
		"q_norm": "blk.%d.attn_q_norm.weight", "k_norm": "blk.%d.attn_k_norm.weight",
		"post_attn_norm": "blk.%d.post_attention_norm.weight", "ffn_norm": "blk.%d.ffn_norm.weight",
		"gate": "blk.%d.ffn_gate.weight", "up": "blk.%d.ffn_up.weight", "down": "blk.%d.ffn_down.weight",
		"post_ffn_norm": "blk.%d.post_ffw_norm.weight",
	},
	true: {
		"embed": "model.embed_tokens.weight", "norm": "model.norm.weight", "output": "lm_head.weight",
		"attn_norm": "model.layers.%d.input_layernorm.weight",
		"q":         "model.layers.%d.self_attn.q_proj.weight", "k": "model.layers.%d.self_attn.k_proj.weight",
		"v": "model.layers.%d.self_attn.v_proj.weight", "o": "model.layers.%d.self_attn.o_proj.weight",
		"q_norm": "model.layers.%d.self_attn.q_norm.weight", "k_norm": "model.layers.%d.self_attn.k_norm.weight",
		"post_attn_norm": "model.layers.%d.post_attention_layernorm.weight",
		"ffn_norm":       "model.layers.%d.pre_feedforward_layernorm.weight",
		"gate":           "model.layers.%d.mlp.gate_proj.weight", "up": "model.layers.%d.mlp.up_proj.weight",
		"down":          "model.layers.%d.mlp.down_proj.weight",
		"post_ffn_norm": "model.layers.%d.post_feedforward_layernorm.weight",
	},
}

func loadGemma(s *Source) (Model, error) {
	h := s.Hyper()
	n := gemmaNames[s.HF]
	gemma3 := s.Arch == "gemma3" || s.Arch == "Gemma3ForCausalLM"
	d := readDecoder(s, h, n["embed"], "attention.layer_norm_rms_epsilon", true)
	c := d.c
	checkHidden(s, h, "gelu_pytorch_tanh", "gelu_tanh")
	var (
		attnCap, finalCap float64
		window            int
		localBase         = d.base
		qScale            float64 // query_pre_attn_scalar
		globalFactors     []float32
		sliding           = make([]bool, c.Layers)
	)
	period := 2 // Gemma 2: every other layer, starting with the first, is local
	if gemma3 {
		period = 6 // Gemma 3: five local layers, then a global one
	}
	if s.HF {
		attnCap = h.FloatOr("attn_logit_softcapping", 0)
		finalCap = h.FloatOr("final_logit_softcapping", 0)
		window = slidingWindow(s, h, "sliding_window")
		qScale = h.FloatOr("query_pre_attn_scalar", float64(c.HeadDim))
		if gemma3 {
			localBase = h.FloatOr("rope_local_base_freq", 10000)
			period = h.IntOr("sliding_window_pattern", period)
		}
		if types, ok := s.Meta.Strings("layer_types"); ok {
			h.Check(len(types) == c.Layers, "layer_types has %d entries for %d layers", len(types), c.Layers)
			for i := range min(len(types), c.Layers) {
				switch types[i] {
				case "sliding_attention":
					sliding[i] = true
				case "full_attention":
				default:
					h.Check(false, "%w: layer_types[%d] = %q", ErrUnsupported, i, types[i])
				}
			}
			period = 0
		}
		if h.Err == nil && c.Layers > 0 {
			var err error
			if gemma3 {
				globalFactors, err = hfRopeScaling(s, d.ropeDims, c.Context)
			} else {
				checkNoRopeScaling(s, h)
			}
			if err != nil {
				return nil, err
			}
		}
	} else {
		a := s.Arch + "."
		attnCap = h.FloatOr(a+"attn_logit_softcapping", 0)
		finalCap = h.FloatOr(a+"final_logit_softcapping", 0)
		if gemma3 {
			window = slidingWindow(s, h, a+"attention.sliding_window")
			localBase = h.FloatOr(a+"rope.freq_base_swa", 10000)
		} else {
			window = h.IntOr(a+"attention.sliding_window", 4096)
			localBase = h.FloatOr(a+"rope.freq_base_swa", d.base)
		}
		switch p := s.Meta[a+"attention.sliding_window_pattern"]; p.(type) {
		case nil:
		case []bool:
			pat := p.([]bool)
			h.Check(len(pat) == c.Layers, "%s has %d entries for %d layers", a+"attention.sliding_window_pattern", len(pat), c.Layers)
			copy(sliding, pat)
			period = 0
		default:
			period = h.Int(a + "attention.sliding_window_pattern")
		}
		// As llama.cpp: the 27B models scale by hidden/heads, the others by
		// head_dim (GGUF has no query_pre_attn_scalar key).
		qScale = float64(c.HeadDim)
		if (!gemma3 && c.Layers == 46) || (gemma3 && c.Layers == 62) {
			qScale = float64(c.Embed / c.Heads)
		}
		if h.Err == nil && c.Layers > 0 {
			var err error
			if gemma3 {
				globalFactors, err = ggufRopeScaling(s, a, d.ropeDims)
			} else {
				checkNoRopeScaling(s, h)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if period > 0 {
		for i := range sliding {
			sliding[i] = i%period < period-1
		}
	}
	if window <= 0 {
		clear(sliding)
	}
	h.Check(qScale > 0, "query_pre_attn_scalar %v", qScale)
	if h.Err != nil {
		return nil, h.Err
	}
	m := &Gemma{
		cfg:     c,
		eps:     float32(d.eps),
		addOne:  s.HF,
		softcap: float32(finalCap),
	}
	b := &binder{s: s}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.embed = b.w(n["embed"], -1, c.Vocab, c.Embed)
	m.scale = float32(math.Sqrt(float64(c.Embed)))
	if t, ok := s.File.Tensor(n["embed"]); ok && (t.DType == weights.BF16 || t.DType == weights.F16) {
		// sqrt(hidden) as a tensor of the weights' type, as the reference
		// implementation computes it.
		r, _ := kernels.Quantize(t.DType, []float32{m.scale})
		m.scale = kernels.Dequantize(t.DType, r, 1)[0]
	}
	for l := range c.Layers {
		ly := gemmaLayer{
			rope: RoPE{HeadDim: c.HeadDim, Dims: d.ropeDims, Base: d.base, NeoX: true, Factors: globalFactors},
			attn: Attention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
				Scale: float32(1 / math.Sqrt(qScale)), SoftCap: float32(attnCap)},
			attnNorm:     b.w(n["attn_norm"], l, c.Embed),
			wq:           b.w(n["q"], l, q, c.Embed),
			wk:           b.w(n["k"], l, kv, c.Embed),
			wv:           b.w(n["v"], l, kv, c.Embed),
			wo:           b.w(n["o"], l, c.Embed, q),
			postAttnNorm: b.w(n["post_attn_norm"], l, c.Embed),
			ffnNorm:      b.w(n["ffn_norm"], l, c.Embed),
			gate:         b.w(n["gate"], l, c.FFN, c.Embed),
			up:           b.w(n["up"], l, c.FFN, c.Embed),
			down:         b.w(n["down"], l, c.Embed, c.FFN),
			postFFNNorm:  b.w(n["post_ffn_norm"], l, c.Embed),
		}
		if gemma3 {
			ly.qNorm = b.w(n["q_norm"], l, c.HeadDim)
			ly.kNorm = b.w(n["k_norm"], l, c.HeadDim)
		}
		if sliding[l] {
			ly.attn.Window = window
			ly.rope.Base, ly.rope.Factors = localBase, nil
		}
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

// Config implements Model.
func (m *Gemma) Config() Config { return m.cfg }

// Forward implements Model.
func (m *Gemma) Forward(ops Ops) Tensor {
	x := ops.Scale(ops.Embed(m.embed), m.scale)
	for i, l := range m.layers {
		h := ops.RMSNorm(x, l.attnNorm, m.eps, m.addOne)
		q, k := ops.Linear(h, l.wq, nil), ops.Linear(h, l.wk, nil)
		if l.qNorm != nil {
			q = ops.RMSNorm(q, l.qNorm, m.eps, m.addOne) // per head
			k = ops.RMSNorm(k, l.kNorm, m.eps, m.addOne)
		}
		q, k = ops.RoPE(q, l.rope), ops.RoPE(k, l.rope)
		v := ops.Linear(h, l.wv, nil)
		a := ops.Linear(ops.Attention(i, q, k, v, l.attn), l.wo, nil)
		x = ops.Add(x, ops.RMSNorm(a, l.postAttnNorm, m.eps, m.addOne))

		h = ops.RMSNorm(x, l.ffnNorm, m.eps, m.addOne)
		g := ops.GELU(ops.Linear(h, l.gate, nil), true)
		f := ops.Linear(ops.Mul(g, ops.Linear(h, l.up, nil)), l.down, nil)
		x = ops.Add(x, ops.RMSNorm(f, l.postFFNNorm, m.eps, m.addOne))
		x = ops.EndLayer(x)
	}
	x = ops.RMSNorm(ops.Outputs(x), m.norm, m.eps, m.addOne)
	logits := ops.Linear(x, m.output, nil)
	if m.softcap > 0 {
		logits = ops.SoftCap(logits, m.softcap)
	}
	return logits
}
