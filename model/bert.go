package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/goformer/goformer/kernels"
)

// Bert is the BERT encoder (Devlin et al. 2019) as sentence-embedding
// models use it (all-MiniLM-L6-v2, BGE): token + learned position +
// token-type embeddings, LayerNorm; post-norm blocks of bidirectional
// multi-head attention → residual → LayerNorm, GELU MLP → residual →
// LayerNorm. Forward returns the final hidden states of the output rows,
// which Embed pools (mean or CLS) and L2-normalizes.
type Bert struct {
	cfg                 Config
	eps                 float32
	pooling             Pooling
	attn                Attention
	embed, pos          Weight
	embNorm, embNormB   Weight
	layers              []bertLayer
	tanhGELU            bool
	tokenTypes, posRows int
}

type bertLayer struct {
	wq, wk, wv, bq, bk, bv  Weight
	wo, bo, attnNorm, attnB Weight
	up, upB, down, downB    Weight
	outNorm, outNormB       Weight
}

func init() {
	Families.Register(loadBert, "bert", "BertModel")
}

// Pooling is how an encoder's token states become one vector.
type Pooling int

// Poolings, numbered as GGUF {arch}.pooling_type.
const (
	PoolMean Pooling = 1 // average over the tokens
	PoolCLS  Pooling = 2 // the first token's state
)

func (p Pooling) String() string {
	switch p {
	case PoolMean:
		return "mean"
	case PoolCLS:
		return "cls"
	}
	return fmt.Sprintf("pooling(%d)", int(p))
}

// Encoder is a model whose Forward returns hidden states, [len(Outputs),
// Embed], to be pooled into an embedding rather than logits.
type Encoder interface {
	Model
	Pooling() Pooling
}

var bertNames = map[bool]map[string]string{
	false: {
		"embed": "token_embd.weight", "pos": "position_embd.weight", "types": "token_types.weight",
		"emb_norm": "token_embd_norm.weight", "emb_norm_b": "token_embd_norm.bias",
		"q": "blk.%d.attn_q.weight", "bq": "blk.%d.attn_q.bias", "k": "blk.%d.attn_k.weight", "bk": "blk.%d.attn_k.bias",
		"v": "blk.%d.attn_v.weight", "bv": "blk.%d.attn_v.bias", "o": "blk.%d.attn_output.weight", "bo": "blk.%d.attn_output.bias",
		"attn_norm": "blk.%d.attn_output_norm.weight", "attn_norm_b": "blk.%d.attn_output_norm.bias",
		"up": "blk.%d.ffn_up.weight", "up_b": "blk.%d.ffn_up.bias", "down": "blk.%d.ffn_down.weight", "down_b": "blk.%d.ffn_down.bias",
		"out_norm": "blk.%d.layer_output_norm.weight", "out_norm_b": "blk.%d.layer_output_norm.bias",
	},
	true: {
		"embed": "embeddings.word_embeddings.weight", "pos": "embeddings.position_embeddings.weight",
		"types":    "embeddings.token_type_embeddings.weight",
		"emb_norm": "embeddings.LayerNorm.weight", "emb_norm_b": "embeddings.LayerNorm.bias",
		"q": "encoder.layer.%d.attention.self.query.weight", "bq": "encoder.layer.%d.attention.self.query.bias",
		"k": "encoder.layer.%d.attention.self.key.weight", "bk": "encoder.layer.%d.attention.self.key.bias",
		"v": "encoder.layer.%d.attention.self.value.weight", "bv": "encoder.layer.%d.attention.self.value.bias",
		"o": "encoder.layer.%d.attention.output.dense.weight", "bo": "encoder.layer.%d.attention.output.dense.bias",
		"attn_norm":   "encoder.layer.%d.attention.output.LayerNorm.weight",
		"attn_norm_b": "encoder.layer.%d.attention.output.LayerNorm.bias",
		"up":          "encoder.layer.%d.intermediate.dense.weight", "up_b": "encoder.layer.%d.intermediate.dense.bias",
		"down": "encoder.layer.%d.output.dense.weight", "down_b": "encoder.layer.%d.output.dense.bias",
		"out_norm": "encoder.layer.%d.output.LayerNorm.weight", "out_norm_b": "encoder.layer.%d.output.LayerNorm.bias",
	},
}

func loadBert(s *Source) (Model, error) {
	h := s.Hyper()
	n := bertNames[s.HF]
	var c Config
	var eps float64
	pooling := PoolMean
	tanh := false
	prefix := ""
	if s.HF {
		c.Embed = h.Int("hidden_size")
		c.Layers = h.Int("num_hidden_layers")
		c.Heads = h.Int("num_attention_heads")
		c.FFN = h.Int("intermediate_size")
		c.Context = h.Int("max_position_embeddings")
		c.Vocab = h.Int("vocab_size")
		eps = h.FloatOr("layer_norm_eps", 1e-12)
		if act, ok := s.Meta.String("hidden_act"); ok {
			switch act {
			case "gelu":
			case "gelu_new", "gelu_pytorch_tanh":
				tanh = true
			default:
				h.Check(false, "%w: hidden_act = %q for bert", ErrUnsupported, act)
			}
		}
		if pe, ok := s.Meta.String("position_embedding_type"); ok && pe != "absolute" {
			h.Check(false, "%w: position_embedding_type = %q for bert", ErrUnsupported, pe)
		}
		if _, ok := s.File.Tensor("bert." + n["embed"]); ok {
			prefix = "bert."
		}
		p, err := sentenceTransformersPooling(s.File.Path)
		if err != nil {
			return nil, err
		}
		if p != 0 {
			pooling = p
		}
		s.MarkUnused(prefix+"embeddings.position_ids", prefix+"pooler.dense.weight", prefix+"pooler.dense.bias")
	} else {
		a := s.Arch + "."
		c.Embed = h.Int(a + "embedding_length")
		c.Layers = h.Int(a + "block_count")
		c.Heads = h.Int(a + "attention.head_count")
		c.FFN = h.Int(a + "feed_forward_length")
		c.Context = h.Int(a + "context_length")
		eps = h.Float(a + "attention.layer_norm_epsilon")
		if kv := h.IntOr(a+"attention.head_count_kv", c.Heads); kv != c.Heads {
			h.Check(false, "%w: %s = %d for bert", ErrUnsupported, a+"attention.head_count_kv", kv)
		}
		if h.BoolOr(a+"attention.causal", false) {
			h.Check(false, "%w: %s = true for bert", ErrUnsupported, a+"attention.causal")
		}
		if v, ok := s.Meta.Int(a + "pooling_type"); ok {
			switch Pooling(v) {
			case PoolMean, PoolCLS:
				pooling = Pooling(v)
			default:
				h.Check(false, "%w: %s = %d (goformer pools mean = 1 or cls = 2)", ErrUnsupported, a+"pooling_type", v)
			}
		}
		if t, ok := s.File.Tensor(n["embed"]); ok && len(t.Shape) == 2 {
			c.Vocab = t.Shape[0]
		}
	}
	if h.Err == nil {
		h.Check(c.Embed%c.Heads == 0, "hidden size %d is not a multiple of %d heads", c.Embed, c.Heads)
		h.Check(c.Vocab > 0, "cannot tell the vocabulary size")
	}
	if h.Err != nil {
		return nil, h.Err
	}
	c.Arch, c.KVHeads, c.HeadDim = s.Arch, c.Heads, c.Embed/c.Heads
	m := &Bert{
		cfg: c, eps: float32(eps), pooling: pooling, tanhGELU: tanh,
		attn: Attention{Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim,
			Scale: float32(1 / math.Sqrt(float64(c.HeadDim))), NonCausal: true},
	}
	b := &binder{s: s}
	e, f := c.Embed, c.FFN
	w := func(key string, l int, shape ...int) Weight { return b.w(prefix+n[key], l, shape...) }
	m.embed = w("embed", -1, c.Vocab, e)
	// Every token is of type 0 ("sentence A"), so the type embedding is one
	// constant row; it is added to every position row once, here.
	pos := b.tensor(prefix+n["pos"], -1, c.Context, e)
	var types []float32
	if t, ok := s.File.Tensor(prefix + n["types"]); ok {
		if len(t.Shape) != 2 || t.Shape[1] != e {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, want [types %d]", s.File.Path, t.Name, t.Shape, e)
		}
		if tt := b.tensor(prefix+n["types"], -1, t.Shape...); tt != nil {
			types = kernels.Dequantize(tt.DType, tt.Data, tt.Shape[0]*e)[:e]
		}
	}
	if b.err == nil {
		table := kernels.Dequantize(pos.DType, pos.Data, c.Context*e)
		for p := range c.Context {
			if types != nil {
				kernels.Add(table[p*e:(p+1)*e], table[p*e:(p+1)*e], types)
			}
		}
		m.pos = b.bind(f32Tensor(pos.Name+"+"+n["types"], []int{c.Context, e}, table))
	}
	m.embNorm, m.embNormB = w("emb_norm", -1, e), w("emb_norm_b", -1, e)
	for l := range c.Layers {
		m.layers = append(m.layers, bertLayer{
			wq: w("q", l, e, e), bq: w("bq", l, e), wk: w("k", l, e, e), bk: w("bk", l, e),
			wv: w("v", l, e, e), bv: w("bv", l, e), wo: w("o", l, e, e), bo: w("bo", l, e),
			attnNorm: w("attn_norm", l, e), attnB: w("attn_norm_b", l, e),
			up: w("up", l, f, e), upB: w("up_b", l, f), down: w("down", l, e, f), downB: w("down_b", l, e),
			outNorm: w("out_norm", l, e), outNormB: w("out_norm_b", l, e),
		})
	}
	if b.err != nil {
		return nil, b.err
	}
	m.cfg.Params = s.Params()
	m.cfg.WeightTyp = s.WeightType()
	return m, nil
}

// sentenceTransformersPooling reads dir/1_Pooling/config.json when present
// (0 when absent).
func sentenceTransformersPooling(dir string) (Pooling, error) {
	path := filepath.Join(dir, "1_Pooling", "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, nil
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	var modes []string
	for k, v := range cfg {
		if on, _ := v.(bool); on && len(k) > len("pooling_mode_") && k[:len("pooling_mode_")] == "pooling_mode_" {
			modes = append(modes, k)
		}
	}
	switch {
	case len(modes) == 1 && modes[0] == "pooling_mode_mean_tokens":
		return PoolMean, nil
	case len(modes) == 1 && modes[0] == "pooling_mode_cls_token":
		return PoolCLS, nil
	}
	return 0, fmt.Errorf("%s: %w: pooling modes %v (goformer pools pooling_mode_mean_tokens or pooling_mode_cls_token)", path, ErrUnsupported, modes)
}

// Config implements Model.
func (m *Bert) Config() Config { return m.cfg }

// Pooling implements Encoder.
func (m *Bert) Pooling() Pooling { return m.pooling }

// Forward implements Model: the final hidden states of the output rows.
func (m *Bert) Forward(ops Ops) Tensor {
	x := ops.Add(ops.Embed(m.embed), ops.PosEmbed(m.pos))
	x = ops.LayerNorm(x, m.embNorm, m.embNormB, m.eps)
	for i, l := range m.layers {
		q := ops.Linear(x, l.wq, l.bq)
		k := ops.Linear(x, l.wk, l.bk)
		v := ops.Linear(x, l.wv, l.bv)
		a := ops.Linear(ops.Attention(i, q, k, v, m.attn), l.wo, l.bo)
		x = ops.LayerNorm(ops.Add(x, a), l.attnNorm, l.attnB, m.eps)

		h := ops.GELU(ops.Linear(x, l.up, l.upB), m.tanhGELU)
		x = ops.LayerNorm(ops.Add(x, ops.Linear(h, l.down, l.downB)), l.outNorm, l.outNormB, m.eps)
		x = ops.EndLayer(x)
	}
	return ops.Outputs(x)
}
