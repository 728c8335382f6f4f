package model

import (
	"fmt"
	"math"

	"github.com/goformer/goformer/weights"
)

// GPT2 is the GPT-2 architecture (Radford et al. 2019): learned absolute
// position embeddings added to the token embeddings; pre-norm blocks of
// LayerNorm → multi-head attention (fused query/key/value projection, with
// biases) → residual, LayerNorm → MLP with tanh-approximated GELU →
// residual; a final LayerNorm and an output head tied to the token
// embeddings. Hugging Face checkpoints store the projections as Conv1D
// weights, [in, out]; they are transposed when bound.
type GPT2 struct {
	cfg    Config
	eps    float32
	attn   Attention
	embed  Weight
	pos    Weight
	layers []gpt2Layer
	norm   Weight
	normB  Weight
	output Weight
}

type gpt2Layer struct {
	attnNorm, attnNormB    Weight
	wq, wk, wv, bq, bk, bv Weight
	wo, bo                 Weight
	ffnNorm, ffnNormB      Weight
	up, upB, down, downB   Weight
}

func init() {
	Families.Register(loadGPT2, "gpt2", "GPT2LMHeadModel")
}

func loadGPT2(s *Source) (Model, error) {
	h := s.Hyper()
	var c Config
	var eps float64
	if s.HF {
		c.Embed = h.Int("n_embd")
		c.Layers = h.Int("n_layer")
		c.Heads = h.Int("n_head")
		c.Context = h.Int("n_positions")
		c.Vocab = h.Int("vocab_size")
		c.FFN = h.IntOr("n_inner", 4*c.Embed)
		eps = h.FloatOr("layer_norm_epsilon", 1e-5)
		if act, ok := s.Meta.String("activation_function"); ok && act != "gelu_new" && act != "gelu_pytorch_tanh" {
			h.Check(false, "%w: activation_function = %q for gpt2 (want gelu_new)", ErrUnsupported, act)
		}
		for _, key := range []string{"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"} {
			if h.BoolOr(key, false) {
				h.Check(false, "%w: %s = true is not supported for gpt2", ErrUnsupported, key)
			}
		}
		if !h.BoolOr("scale_attn_weights", true) {
			h.Check(false, "%w: scale_attn_weights = false is not supported for gpt2", ErrUnsupported)
		}
	} else {
		a := s.Arch + "."
		c.Embed = h.Int(a + "embedding_length")
		c.Layers = h.Int(a + "block_count")
		c.Heads = h.Int(a + "attention.head_count")
		c.Context = h.Int(a + "context_length")
		c.FFN = h.Int(a + "feed_forward_length")
		eps = h.Float(a + "attention.layer_norm_epsilon")
		if kv := h.IntOr(a+"attention.head_count_kv", c.Heads); kv != c.Heads {
			h.Check(false, "%w: %s = %d (gpt2 has no grouped-query attention)", ErrUnsupported, a+"attention.head_count_kv", kv)
		}
		if t, ok := s.File.Tensor("token_embd.weight"); ok && len(t.Shape) == 2 {
			c.Vocab = t.Shape[0]
		}
	}
	if h.Err == nil {
		h.Check(c.Embed%c.Heads == 0, "embedding length %d is not a multiple of %d heads", c.Embed, c.Heads)
		h.Check(c.Vocab > 0, "cannot tell the vocabulary size")
	}
	if h.Err != nil {
		return nil, h.Err
	}
	c.Arch, c.KVHeads, c.HeadDim = s.Arch, c.Heads, c.Embed/c.Heads
	m := &GPT2{
		cfg:  c,
		eps:  float32(eps),
		attn: Attention{Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim, Scale: float32(1 / math.Sqrt(float64(c.HeadDim)))},
	}
	b := &binder{s: s}
	e, f := c.Embed, c.FFN
	if s.HF {
		p := "" // the original checkpoints have no "transformer." prefix
		if _, ok := s.File.Tensor("transformer.wte.weight"); ok {
			p = "transformer."
		}
		// conv binds a Conv1D weight [in, out] as [out, in].
		conv := func(name string, l, in, out int) *weights.Tensor {
			return b.transposed(b.tensor(p+name, l, in, out))
		}
		m.embed = b.w(p+"wte.weight", -1, c.Vocab, e)
		m.pos = b.w(p+"wpe.weight", -1, c.Context, e)
		for l := range c.Layers {
			qkv := conv("h.%d.attn.c_attn.weight", l, e, 3*e)
			qkvB := b.tensor(p+"h.%d.attn.c_attn.bias", l, 3*e)
			m.layers = append(m.layers, gpt2Layer{
				attnNorm: b.w(p+"h.%d.ln_1.weight", l, e), attnNormB: b.w(p+"h.%d.ln_1.bias", l, e),
				wq: b.bind(b.rows(qkv, 0, e)), wk: b.bind(b.rows(qkv, e, 2*e)), wv: b.bind(b.rows(qkv, 2*e, 3*e)),
				bq: b.bind(b.rows(qkvB, 0, e)), bk: b.bind(b.rows(qkvB, e, 2*e)), bv: b.bind(b.rows(qkvB, 2*e, 3*e)),
				wo: b.bind(conv("h.%d.attn.c_proj.weight", l, e, e)), bo: b.w(p+"h.%d.attn.c_proj.bias", l, e),
				ffnNorm: b.w(p+"h.%d.ln_2.weight", l, e), ffnNormB: b.w(p+"h.%d.ln_2.bias", l, e),
				up: b.bind(conv("h.%d.mlp.c_fc.weight", l, e, f)), upB: b.w(p+"h.%d.mlp.c_fc.bias", l, f),
				down: b.bind(conv("h.%d.mlp.c_proj.weight", l, f, e)), downB: b.w(p+"h.%d.mlp.c_proj.bias", l, e),
			})
			// Old checkpoints keep the causal mask buffers.
			s.MarkUnused(fmt.Sprintf(p+"h.%d.attn.bias", l), fmt.Sprintf(p+"h.%d.attn.masked_bias", l))
		}
		m.norm, m.normB = b.w(p+"ln_f.weight", -1, e), b.w(p+"ln_f.bias", -1, e)
		m.output = b.output("lm_head.weight", decoderHyper{c: c, tied: h.BoolOr("tie_word_embeddings", true)}, m.embed)
	} else {
		m.embed = b.w("token_embd.weight", -1, c.Vocab, e)
		m.pos = b.w("position_embd.weight", -1, c.Context, e)
		for l := range c.Layers {
			qkv := b.tensor("blk.%d.attn_qkv.weight", l, 3*e, e)
			qkvB := b.tensor("blk.%d.attn_qkv.bias", l, 3*e)
			m.layers = append(m.layers, gpt2Layer{
				attnNorm: b.w("blk.%d.attn_norm.weight", l, e), attnNormB: b.w("blk.%d.attn_norm.bias", l, e),
				wq: b.bind(b.rows(qkv, 0, e)), wk: b.bind(b.rows(qkv, e, 2*e)), wv: b.bind(b.rows(qkv, 2*e, 3*e)),
				bq: b.bind(b.rows(qkvB, 0, e)), bk: b.bind(b.rows(qkvB, e, 2*e)), bv: b.bind(b.rows(qkvB, 2*e, 3*e)),
				wo: b.w("blk.%d.attn_output.weight", l, e, e), bo: b.w("blk.%d.attn_output.bias", l, e),
				ffnNorm: b.w("blk.%d.ffn_norm.weight", l, e), ffnNormB: b.w("blk.%d.ffn_norm.bias", l, e),
				up: b.w("blk.%d.ffn_up.weight", l, f, e), upB: b.w("blk.%d.ffn_up.bias", l, f),
				down: b.w("blk.%d.ffn_down.weight", l, e, f), downB: b.w("blk.%d.ffn_down.bias", l, e),
			})
		}
		m.norm, m.normB = b.w("output_norm.weight", -1, e), b.w("output_norm.bias", -1, e)
		m.output = b.output("output.weight", decoderHyper{c: c}, m.embed)
	}
	if b.err != nil {
		return nil, b.err
	}
	m.cfg.Params = s.Params()
	m.cfg.WeightTyp = s.WeightType()
	return m, nil
}

// Config implements Model.
func (m *GPT2) Config() Config { return m.cfg }

// Forward implements Model.
func (m *GPT2) Forward(ops Ops) Tensor {
	x := ops.Add(ops.Embed(m.embed), ops.PosEmbed(m.pos))
	for i, l := range m.layers {
		h := ops.LayerNorm(x, l.attnNorm, l.attnNormB, m.eps)
		q := ops.Linear(h, l.wq, l.bq)
		k := ops.Linear(h, l.wk, l.bk)
		v := ops.Linear(h, l.wv, l.bv)
		x = ops.Add(x, ops.Linear(ops.Attention(i, q, k, v, m.attn), l.wo, l.bo))

		h = ops.LayerNorm(x, l.ffnNorm, l.ffnNormB, m.eps)
		h = ops.GELU(ops.Linear(h, l.up, l.upB), true)
		x = ops.Add(x, ops.Linear(h, l.down, l.downB))
		x = ops.EndLayer(x)
	}
	x = ops.LayerNorm(ops.Outputs(x), m.norm, m.normB, m.eps)
	return ops.Linear(x, m.output, nil)
}
