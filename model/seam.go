// Package model holds the transformer families, the backend seam they are
// written against, the KV cache, sampling and the generation loop.
//
// A family (llama.go, ...) binds its weights by name at load time and
// describes one forward pass as a sequence of Ops on 2-D activations
// [tokens, features]. It never reads activation values, so the same code can
// run eagerly on goformer's CPU kernels (the native backend) or be traced
// into a graph for XLA.
package model

import (
	"github.com/goformer/goformer/weights"
)

// Tensor is an activation: a 2-D [Rows × Cols] matrix (tokens × features)
// owned by the backend. Family code only passes it between ops.
type Tensor interface {
	Rows() int
	Cols() int
}

// Weight is a bound model parameter, kept in its stored type.
type Weight interface {
	// Shape is outermost-first, as weights.Tensor.Shape.
	Shape() []int
}

// Batch is the input of one forward pass: tokens of one or more sequences,
// each at its position in its sequence. Tokens of one sequence must come in
// increasing position order.
type Batch struct {
	Tokens    []int
	Positions []int
	// Seqs gives each token's sequence (a cache slot < CacheSpec.Sequences);
	// nil means every token belongs to sequence 0.
	Seqs []int
	// Outputs lists the rows (indexes into Tokens) whose logits are wanted.
	Outputs []int
}

// Seq returns the sequence of token i.
func (b *Batch) Seq(i int) int {
	if b.Seqs == nil {
		return 0
	}
	return b.Seqs[i]
}

// RoPE describes rotary position embeddings for one attention input.
type RoPE struct {
	HeadDim int     // elements per head
	Dims    int     // rotated elements per head (≤ HeadDim)
	Base    float64 // theta
	// NeoX rotates pairs (i, i+Dims/2) (Hugging Face rotate_half layout)
	// instead of adjacent pairs (2i, 2i+1) (GGUF Llama layout).
	NeoX bool
	// Factors divides each pair's frequency (llama3 / long-RoPE scaling); nil
	// for none. Length Dims/2.
	Factors []float32
	// AttnFactor multiplies the cosines and sines (the rotated elements
	// only), as long-RoPE's attention scaling does; 0 means 1.
	AttnFactor float32
}

// Attention describes one causal self-attention layer over the KV cache.
type Attention struct {
	Heads, KVHeads, HeadDim int
	Scale                   float32 // applied to q·k (usually 1/sqrt(HeadDim))
	// Window limits attention to the last Window positions (sliding window);
	// 0 means unlimited.
	Window int
	// SoftCap, when > 0, maps scores s to SoftCap·tanh(s/SoftCap).
	SoftCap float32
	// NonCausal lets every token attend to every position of its sequence
	// up to the highest position of that sequence in the batch (encoders
	// such as BERT, which see the whole text in one batch).
	NonCausal bool
}

// Ops builds one forward pass. Every op takes and returns 2-D activations.
type Ops interface {
	// Batch is the batch being computed.
	Batch() *Batch
	// Embed looks up the rows of table (vocab × dim) for the batch tokens.
	Embed(table Weight) Tensor
	// PosEmbed looks up the rows of table (positions × dim) at the batch
	// positions (learned absolute position embeddings).
	PosEmbed(table Weight) Tensor
	// Linear computes x·Wᵀ (+ bias): W is [out, in]; bias may be nil.
	Linear(x Tensor, w, bias Weight) Tensor
	// RMSNorm normalizes each row (over groups of size len(w) when w is
	// shorter than a row, as per-head norms); w may be nil. addOne scales by
	// (1 + w), as Gemma does.
	RMSNorm(x Tensor, w Weight, eps float32, addOne bool) Tensor
	// LayerNorm normalizes each row with weight and bias (both may be nil).
	LayerNorm(x Tensor, w, b Weight, eps float32) Tensor
	Add(a, b Tensor) Tensor
	Mul(a, b Tensor) Tensor
	Scale(x Tensor, s float32) Tensor
	SiLU(x Tensor) Tensor
	GELU(x Tensor, tanhApprox bool) Tensor
	// RoPE rotates every head of x at the batch positions. The result is
	// always in the adjacent-pair layout, whatever r.NeoX says, so that keys
	// and queries from either checkpoint layout meet the same vectors.
	RoPE(x Tensor, r RoPE) Tensor
	// Attention appends k and v at the batch positions to the layer's cache
	// and attends causally from q; the result is [tokens, Heads·HeadDim].
	Attention(layer int, q, k, v Tensor, a Attention) Tensor
	// Outputs keeps the rows listed in Batch().Outputs.
	Outputs(x Tensor) Tensor
	// SoftCap maps x to c·tanh(x/c) (final logit soft-capping).
	SoftCap(x Tensor, c float32) Tensor
	// EndLayer marks the end of a layer: of the activations made since the
	// previous EndLayer, later ops use only x (the residual stream), so a
	// backend may reuse the memory of the others. It returns x.
	EndLayer(x Tensor) Tensor
}

// WeightGrouper is implemented by backends that multiply one input by
// several matrices faster together than one at a time. A family declares,
// once its weights are bound, each set of matrices it always multiplies
// with the same input within a layer (the query, key and value
// projections; the gate and up projections), in the order it calls Linear
// on them; the backend may then compute the whole set at the set's first
// Linear and hand out the others' results at their own calls. Results are
// the same as without the declaration.
type WeightGrouper interface {
	GroupWeights(ws ...Weight)
}

// CacheSpec sizes a KV cache.
type CacheSpec struct {
	Layers  int
	Context int // positions
	KVDim   int // KVHeads·HeadDim per layer, for keys and for values
	KVHeads int
	HeadDim int
	// Sequences is the number of independent sequences (slots) the cache
	// holds, each of Context positions (0 means 1).
	Sequences int
}

// Cache is a backend's KV cache: Sequences slots of Context positions per
// layer. Which positions are valid is tracked by the caller (a Session): a
// forward pass writes the batch positions and attends to positions
// 0..p of the token's own sequence.
type Cache interface {
	Spec() CacheSpec
}

// Backend runs forward passes.
type Backend interface {
	Name() string
	// Bind makes a stored tensor usable as a Weight.
	Bind(t *weights.Tensor) (Weight, error)
	NewCache(spec CacheSpec) (Cache, error)
	// Forward runs build over batch with cache and returns the contents of
	// the tensor it returns, row-major. The slice may be the backend's own
	// buffer: it is valid until the backend's next Forward.
	Forward(cache Cache, batch *Batch, build func(Ops) Tensor) ([]float32, error)
	Close() error
}
