package model

import (
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/weights"
)

// Native is the CPU backend on goformer's own kernels. Ops execute eagerly as
// the family code calls them; activations live in an arena that is reused by
// every forward pass, so steady-state decoding does not allocate.
type Native struct {
	pool *kernels.Pool
	ar   arena
	ops  nativeOps
	out  []float32 // Forward's result, reused by the next pass
	// HalfGELU computes GELU as llama.cpp's CPU backend does, through a
	// half-precision table (kernels.GELUHalf), so that GELU families (Gemma,
	// GPT-2, BERT) reproduce llama.cpp's numbers: their log-probabilities
	// then agree with llama.cpp's within 1e-3, against 2-3e-3 with exact
	// GELU (package peer). Off by default; set it before a forward pass.
	HalfGELU bool
	// ExactBF16 multiplies BF16 weight matrices against the float32
	// activations exactly. By default (false) the activations are rounded
	// to bfloat16 and multiplied with the CPU's bfloat16 dot products
	// (kernels.Mat.RoundBF16, where the CPU has AVX512_BF16), as llama.cpp
	// and bfloat16 inference in PyTorch compute: 1.3–1.9× faster, each
	// product off by up to 2⁻⁸ relatively. Set it before binding.
	ExactBF16 bool
	// F16Cache makes the KV caches that NewCache returns from then on store
	// keys and values as float16 (IEEE binary16, rounded to nearest), as
	// llama.cpp does by default: half the memory and half the bytes that
	// attention reads from the cache, at the cost of rounding each key and
	// value once (stories260K's logits then move by up to 0.013) and of
	// widening each tile of keys and values to float32 for the attention
	// kernels (on the 2-core development VM: decoding at a 1K context as
	// fast as with float32, prefill about 5% slower). Off by default:
	// float32, exact.
	F16Cache bool
	// Profile, where set, times every op of single-token passes (see
	// OpProfile).
	Profile *OpProfile
}

// NewNative returns a CPU backend using threads workers (≤ 0: all cores).
func NewNative(threads int) *Native {
	n := &Native{pool: kernels.NewPool(threads)}
	n.ops.n = n
	return n
}

// Name implements Backend.
func (n *Native) Name() string { return "native" }

// Threads is the worker count.
func (n *Native) Threads() int { return n.pool.Threads() }

// Close stops the worker pool.
func (n *Native) Close() error { n.pool.Close(); return nil }

type nativeTensor struct {
	rows, cols int
	d          []float32
}

func (t *nativeTensor) Rows() int { return t.rows }
func (t *nativeTensor) Cols() int { return t.cols }
func (t *nativeTensor) row(i int) []float32 {
	return t.d[i*t.cols : (i+1)*t.cols]
}

type nativeWeight struct {
	name  string
	shape []int
	mat   kernels.Mat     // matrices (2-D), in stored type
	f32   []float32       // vectors (1-D), converted at bind time
	group []*nativeWeight // the matrices multiplied together with this one (GroupWeights)
}

// GroupWeights implements WeightGrouper: for one-row inputs (decoding),
// the first Linear of an input x with a matrix of ws computes x times all
// of them in one kernels.MatVecs call (the threads meet once instead of
// once per matrix); Linear of x with the others then returns the results
// kept from that call. Sets that kernels.MatVecs cannot take (more than
// kernels.MaxMatVecs matrices, differing column counts, weights of
// another backend or already grouped) are left ungrouped: the grouping
// is only a speed-up.
func (n *Native) GroupWeights(ws ...Weight) {
	if len(ws) < 2 || len(ws) > kernels.MaxMatVecs {
		return
	}
	g := make([]*nativeWeight, 0, len(ws))
	for _, w := range ws {
		nw, ok := w.(*nativeWeight)
		if !ok || nw.mat.Type == weights.Invalid || nw.group != nil || slices.Contains(g, nw) ||
			len(g) > 0 && nw.mat.Cols != g[0].mat.Cols {
			return
		}
		g = append(g, nw)
	}
	for _, w := range g {
		w.group = g
	}
}

func (w *nativeWeight) Shape() []int { return w.shape }

// Bind implements Backend: 2-D tensors stay in their stored (possibly
// memory-mapped, possibly quantized) layout; 1-D tensors (norms, biases) are
// converted to float32.
func (n *Native) Bind(t *weights.Tensor) (Weight, error) {
	w := &nativeWeight{name: t.Name, shape: t.Shape}
	switch len(t.Shape) {
	case 1:
		w.f32 = make([]float32, t.Shape[0])
		if err := dequantize(w.f32, t); err != nil {
			return nil, err
		}
	case 2:
		w.mat = kernels.Mat{Type: t.DType, Rows: t.Shape[0], Cols: t.Shape[1], Data: t.Data, RoundBF16: !n.ExactBF16}
		if err := w.mat.Validate(); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	default:
		return nil, fmt.Errorf("tensor %q: shape %v: native backend binds only vectors and matrices", t.Name, t.Shape)
	}
	return w, nil
}

func dequantize(dst []float32, t *weights.Tensor) (err error) {
	want, err := t.DType.Bytes(int64(len(dst)))
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if int64(len(t.Data)) != want {
		return fmt.Errorf("tensor %q: %d bytes, want %d for %d %s elements", t.Name, len(t.Data), want, len(dst), t.DType)
	}
	if err := (kernels.Mat{Type: t.DType, Rows: 1, Cols: len(dst), Data: t.Data}).Validate(); err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	kernels.DequantizeRow(dst, t.DType, t.Data)
	return nil
}

type nativeCache struct {
	spec CacheSpec
	// Per layer, keys and values of Sequences × KVHeads × Context positions
	// × HeadDim: a kv head's keys (and values) of one sequence are
	// contiguous, position after position, so that attention, which works
	// on one kv head at a time, streams them.
	k, v [][]float32
	// k16, v16 replace k and v in a float16 cache (Native.F16Cache).
	k16, v16 [][]uint16
}

func (c *nativeCache) Spec() CacheSpec { return c.spec }

// NewCache implements Backend. The cache is float32 unless n.F16Cache is
// set: tiny models have logit gaps below what an f16 cache preserves.
func (n *Native) NewCache(spec CacheSpec) (Cache, error) {
	spec.Sequences = max(spec.Sequences, 1)
	if spec.Layers <= 0 || spec.Context <= 0 || spec.KVDim <= 0 {
		return nil, fmt.Errorf("invalid cache spec %+v", spec)
	}
	c := &nativeCache{spec: spec}
	size := spec.Sequences * spec.Context * spec.KVDim
	if n.F16Cache {
		c.k16, c.v16 = make([][]uint16, spec.Layers), make([][]uint16, spec.Layers)
		for i := range c.k16 {
			c.k16[i] = make([]uint16, size)
			c.v16[i] = make([]uint16, size)
		}
		return c, nil
	}
	c.k, c.v = make([][]float32, spec.Layers), make([][]float32, spec.Layers)
	for i := range c.k {
		c.k[i] = make([]float32, size)
		c.v[i] = make([]float32, size)
	}
	return c, nil
}

// Forward implements Backend.
func (n *Native) Forward(cache Cache, batch *Batch, build func(Ops) Tensor) (out []float32, err error) {
	c, ok := cache.(*nativeCache)
	if !ok {
		return nil, fmt.Errorf("native backend: cache of type %T", cache)
	}
	if len(batch.Tokens) == 0 || len(batch.Positions) != len(batch.Tokens) {
		return nil, fmt.Errorf("native backend: batch of %d tokens and %d positions", len(batch.Tokens), len(batch.Positions))
	}
	if batch.Seqs != nil && len(batch.Seqs) != len(batch.Tokens) {
		return nil, fmt.Errorf("native backend: batch of %d tokens and %d sequence ids", len(batch.Tokens), len(batch.Seqs))
	}
	for i, p := range batch.Positions {
		if p < 0 || p >= c.spec.Context {
			return nil, fmt.Errorf("position %d outside the context of %d", p, c.spec.Context)
		}
		if s := batch.Seq(i); s < 0 || s >= c.spec.Sequences {
			return nil, fmt.Errorf("sequence %d outside the cache's %d", s, c.spec.Sequences)
		}
	}
	n.ar.reset()
	n.ops.batch, n.ops.cache, n.ops.ropeN = batch, c, 0
	defer func() {
		n.ops.batch, n.ops.cache = nil, nil
		n.ops.forget()
		if r := recover(); r != nil {
			if e, ok := r.(opError); ok {
				out, err = nil, e.error
				return
			}
			panic(r)
		}
	}()
	var ops Ops = &n.ops
	if p := n.Profile; p != nil && len(batch.Tokens) == 1 {
		p.passes++
		p.last = time.Now()
		ops = profiledOps{ops, p}
	}
	t := build(ops).(*nativeTensor)
	// The result is copied out of the arena into a buffer kept across
	// passes: a fresh slice of logits per token (600 KB for a 150K
	// vocabulary) costs page faults on every decoding step.
	n.out = append(n.out[:0], t.d...)
	n.ar.settle()
	return n.out, nil
}

// opError carries a shape error out of family code, which cannot return
// errors from each op.
type opError struct{ error }

func fail(format string, args ...any) { panic(opError{fmt.Errorf(format, args...)}) }

type nativeOps struct {
	n     *Native
	batch *Batch
	cache *nativeCache
	attn  attnJob // Attention's reusable state (native_attn.go)
	// ropes holds the RoPE angle tables of the pass (ropeAngles), the
	// first ropeN valid; their buffers are reused by later passes.
	ropes [2]ropeTable
	ropeN int
	// kept holds results of grouped matrices computed ahead of their own
	// Linear call (GroupWeights), until that call or the end of the layer.
	kept [2 * kernels.MaxMatVecs]keptLinear
}

// keptLinear is w·x, computed ahead.
type keptLinear struct {
	x   *nativeTensor
	w   *nativeWeight
	out *nativeTensor
}

func (o *nativeOps) Batch() *Batch { return o.batch }

// alloc returns a zeroed rows×cols tensor from the arena.
func (o *nativeOps) alloc(rows, cols int) *nativeTensor {
	t := o.allocRaw(rows, cols)
	clear(t.d)
	return t
}

// allocRaw returns a rows×cols tensor from the arena holding leftovers of
// earlier passes, for ops that write every element.
func (o *nativeOps) allocRaw(rows, cols int) *nativeTensor {
	return o.n.ar.tensor(rows, cols, o.n.ar.alloc(rows*cols))
}

func nt(x Tensor) *nativeTensor { return x.(*nativeTensor) }
func nw(w Weight) *nativeWeight { return w.(*nativeWeight) }

func (o *nativeOps) Embed(table Weight) Tensor {
	w := nw(table)
	out := o.allocRaw(len(o.batch.Tokens), w.mat.Cols)
	rowBytes := len(w.mat.Data) / w.mat.Rows
	for i, id := range o.batch.Tokens {
		if id < 0 || id >= w.mat.Rows {
			fail("token id %d outside the vocabulary of %d", id, w.mat.Rows)
		}
		kernels.DequantizeRow(out.row(i), w.mat.Type, w.mat.Data[id*rowBytes:(id+1)*rowBytes])
	}
	return out
}

func (o *nativeOps) PosEmbed(table Weight) Tensor {
	w := nw(table)
	out := o.alloc(len(o.batch.Positions), w.mat.Cols)
	rowBytes := len(w.mat.Data) / w.mat.Rows
	for i, p := range o.batch.Positions {
		if p < 0 || p >= w.mat.Rows {
			fail("position %d outside the %d learned positions of %s", p, w.mat.Rows, w.name)
		}
		kernels.DequantizeRow(out.row(i), w.mat.Type, w.mat.Data[p*rowBytes:(p+1)*rowBytes])
	}
	return out
}

func (o *nativeOps) Linear(x Tensor, w, bias Weight) Tensor {
	a, m := nt(x), nw(w)
	if a.cols != m.mat.Cols {
		fail("linear %s: input has %d features, weight %v", m.name, a.cols, m.shape)
	}
	out := o.grouped(a, m)
	switch {
	case out != nil:
	case a.rows == 1:
		out = o.allocRaw(a.rows, m.mat.Rows)
		kernels.MatVec(o.n.pool, out.d, m.mat, a.d)
	default:
		out = o.allocRaw(a.rows, m.mat.Rows)
		kernels.MatMul(o.n.pool, out.d, m.mat, a.d, a.rows)
	}
	if bias != nil {
		b := nw(bias).f32
		if len(b) != out.cols {
			fail("bias %s has %d elements, want %d", nw(bias).name, len(b), out.cols)
		}
		if o.serial(len(out.d)) {
			addRows(out, b, 0, out.rows)
		} else {
			o.n.pool.For(out.rows, func(lo, hi int) { addRows(out, b, lo, hi) })
		}
	}
	return out
}

// grouped returns x·Wᵀ for a one-row x and a grouped w (GroupWeights):
// kept from an earlier Linear of x with w's group, or computed now with the
// rest of the group, whose results are kept. It returns nil where w is not
// grouped, x has several rows, or there is no room to keep the others.
func (o *nativeOps) grouped(x *nativeTensor, w *nativeWeight) *nativeTensor {
	if x.rows != 1 || w.group == nil {
		return nil
	}
	for i, k := range o.kept {
		if k.x == x && k.w == w {
			o.kept[i] = keptLinear{}
			return k.out
		}
	}
	free := 0
	for _, k := range o.kept {
		if k.x == nil {
			free++
		}
	}
	if free < len(w.group)-1 {
		return nil
	}
	var outs [kernels.MaxMatVecs][]float32
	var mats [kernels.MaxMatVecs]kernels.Mat
	var res *nativeTensor
	slot := 0
	for i, g := range w.group {
		t := o.allocRaw(1, g.mat.Rows)
		outs[i], mats[i] = t.d, g.mat
		if g == w {
			res = t
			continue
		}
		for o.kept[slot].x != nil {
			slot++
		}
		o.kept[slot] = keptLinear{x: x, w: g, out: t}
	}
	kernels.MatVecs(o.n.pool, outs[:len(w.group)], mats[:len(w.group)], x.d)
	return res
}

// forget drops the results kept ahead (their memory goes back to the arena
// at the end of a layer or pass).
func (o *nativeOps) forget() { clear(o.kept[:]) }

func (o *nativeOps) RMSNorm(x Tensor, w Weight, eps float32, addOne bool) Tensor {
	a := nt(x)
	out := o.allocRaw(a.rows, a.cols)
	var wv []float32
	g := a.cols
	if w != nil {
		wv = nw(w).f32
		g = len(wv)
		if g == 0 || a.cols%g != 0 {
			fail("rmsnorm %s: %d weights for rows of %d", nw(w).name, g, a.cols)
		}
	}
	if n := len(a.d) / g; o.serial(len(a.d)) {
		rmsRows(out.d, a.d, wv, g, eps, addOne, 0, n)
	} else {
		o.n.pool.For(n, func(lo, hi int) { rmsRows(out.d, a.d, wv, g, eps, addOne, lo, hi) })
	}
	return out
}

func (o *nativeOps) LayerNorm(x Tensor, w, b Weight, eps float32) Tensor {
	a := nt(x)
	out := o.allocRaw(a.rows, a.cols)
	var wv, bv []float32
	if w != nil {
		wv = nw(w).f32
	}
	if b != nil {
		bv = nw(b).f32
	}
	if (wv != nil && len(wv) != a.cols) || (bv != nil && len(bv) != a.cols) {
		fail("layernorm: weight/bias sizes %d/%d for rows of %d", len(wv), len(bv), a.cols)
	}
	if o.serial(len(a.d)) {
		layerNormRows(out, a, wv, bv, eps, 0, a.rows)
	} else {
		o.n.pool.For(a.rows, func(lo, hi int) { layerNormRows(out, a, wv, bv, eps, lo, hi) })
	}
	return out
}

func (o *nativeOps) binary(x, y Tensor, f func(out, a, b []float32)) Tensor {
	a, b := nt(x), nt(y)
	if a.rows != b.rows || a.cols != b.cols {
		fail("element-wise op on [%d,%d] and [%d,%d]", a.rows, a.cols, b.rows, b.cols)
	}
	out := o.allocRaw(a.rows, a.cols)
	if o.serial(len(out.d)) {
		f(out.d, a.d, b.d)
	} else {
		o.n.pool.For(len(out.d), func(lo, hi int) { f(out.d[lo:hi], a.d[lo:hi], b.d[lo:hi]) })
	}
	return out
}

func (o *nativeOps) Add(x, y Tensor) Tensor { return o.binary(x, y, kernels.Add) }
func (o *nativeOps) Mul(x, y Tensor) Tensor { return o.binary(x, y, kernels.Mul) }

func (o *nativeOps) unary(x Tensor, f func([]float32)) Tensor {
	a := nt(x)
	out := o.allocRaw(a.rows, a.cols)
	// Copy and transform a row at a time, while the row is in cache. (Row
	// by row, an element's treatment depends on its column only, so a token
	// gets the same values in a batch as alone.)
	if o.serial(len(a.d)) {
		unaryRows(out, a, f, 0, a.rows)
	} else {
		o.n.pool.For(a.rows, func(lo, hi int) { unaryRows(out, a, f, lo, hi) })
	}
	return out
}

func (o *nativeOps) Scale(x Tensor, s float32) Tensor {
	return o.unary(x, func(d []float32) { kernels.Scale(d, s) })
}

// SiLU writes straight from x into the result (unary copies, then applies
// in place), row by row as unary does.
func (o *nativeOps) SiLU(x Tensor) Tensor {
	a := nt(x)
	out := o.allocRaw(a.rows, a.cols)
	if o.serial(len(a.d)) {
		siluRows(out, a, 0, a.rows)
	} else {
		o.n.pool.For(a.rows, func(lo, hi int) { siluRows(out, a, lo, hi) })
	}
	return out
}
func (o *nativeOps) GELU(x Tensor, tanhApprox bool) Tensor {
	if o.n.HalfGELU {
		return o.unary(x, func(d []float32) { kernels.GELUHalf(d, tanhApprox) })
	}
	if tanhApprox {
		return o.unary(x, kernels.GELUTanh)
	}
	return o.unary(x, kernels.GELU)
}

func (o *nativeOps) SoftCap(x Tensor, c float32) Tensor {
	return o.unary(x, func(d []float32) {
		for i, v := range d {
			d[i] = c * float32(math.Tanh(float64(v/c)))
		}
	})
}

func (o *nativeOps) RoPE(x Tensor, r RoPE) Tensor {
	a := nt(x)
	if r.HeadDim <= 0 || a.cols%r.HeadDim != 0 || r.Dims > r.HeadDim || r.Dims%2 != 0 {
		fail("rope: rows of %d with head dim %d, rotated dims %d", a.cols, r.HeadDim, r.Dims)
	}
	if r.Factors != nil && len(r.Factors) != r.Dims/2 {
		fail("rope: %d frequency factors for %d rotated dims", len(r.Factors), r.Dims)
	}
	out := o.allocRaw(a.rows, a.cols)
	t := o.ropeAngles(r)
	var scaled []float32 // with an attention factor: a row's scaled head (see ropeRows)
	if r.AttnFactor != 0 && r.AttnFactor != 1 {
		scaled = o.n.ar.alloc(a.rows * r.Dims)
	}
	if o.serial(len(a.d)) {
		ropeRows(out, a, r, t, scaled, 0, a.rows)
	} else {
		o.n.pool.For(a.rows, func(lo, hi int) { ropeRows(out, a, r, t, scaled, lo, hi) })
	}
	return out
}

// ropeTable is the rotation angles of a pass's positions for one RoPE
// setting, per batch row as kernels.RoPEPairTable lays them out.
type ropeTable struct {
	dims    int
	base    float64
	factors *float32 // r.Factors, by identity
	nf      int
	pairs   []float32 // per batch row, 2·r.Dims: kernels.RoPEPairTable of its angles
}

// ropeAngles returns the angle table of the pass's positions for r (see
// ropeTable), computed on first use in the pass: every layer of a model
// rotates by the same angles (two settings at most, as Gemma's local and
// global layers); computed per layer and head (a float64 sine and cosine
// per pair) they took about 3% of the calling thread in qwen2.5-0.5b
// decoding, while the workers waited.
func (o *nativeOps) ropeAngles(r RoPE) *ropeTable {
	f, nf := unsafe.SliceData(r.Factors), len(r.Factors)
	for i := range o.ropeN {
		t := &o.ropes[i]
		if t.dims == r.Dims && t.base == r.Base && t.factors == f && t.nf == nf {
			return t
		}
	}
	i := o.ropeN
	if i == len(o.ropes) {
		i = len(o.ropes) - 1 // a third setting: recompute the last slot
	} else {
		o.ropeN++
	}
	t := &o.ropes[i]
	t.dims, t.base, t.factors, t.nf = r.Dims, r.Base, f, nf
	pos := o.batch.Positions
	half := r.Dims / 2
	if n := 2 * len(pos) * r.Dims; cap(t.pairs) < n {
		t.pairs = make([]float32, n)
	}
	t.pairs = t.pairs[:2*len(pos)*r.Dims]
	freqs := o.n.ar.alloc(half)
	kernels.RoPEFreqs(freqs, r.Dims, r.Base, r.Factors)
	cs := o.n.ar.alloc(r.Dims)
	for j, p := range pos {
		kernels.RoPEAngles(cs, p, freqs)
		kernels.RoPEPairTable(t.pairs[2*j*r.Dims:2*(j+1)*r.Dims], cs)
	}
	return t
}

// parallelElems is the element count from which an element-wise op is
// split across the pool.
const parallelElems = 1 << 15

// serial reports whether an op touching work elements runs on the calling
// goroutine (small ops, as in decoding: handing them to the pool costs more
// than it saves). The ops call their row functions directly then, and build
// the closure for the pool only on the parallel path, so that decoding does
// not allocate one per op.
func (o *nativeOps) serial(work int) bool { return work < parallelElems }

// EndLayer implements Ops: the layer's other activations go back to the
// arena.
func (o *nativeOps) EndLayer(x Tensor) Tensor {
	o.forget()
	o.n.ar.keep(nt(x))
	return x
}

func (o *nativeOps) Outputs(x Tensor) Tensor {
	a := nt(x)
	idx := o.batch.Outputs
	if len(idx) == a.rows {
		same := true
		for i, r := range idx {
			same = same && r == i
		}
		if same {
			return a
		}
	}
	out := o.alloc(len(idx), a.cols)
	for i, r := range idx {
		if r < 0 || r >= a.rows {
			fail("output row %d of %d", r, a.rows)
		}
		copy(out.row(i), a.row(r))
	}
	return out
}

func (o *nativeOps) Attention(layer int, q, k, v Tensor, at Attention) Tensor {
	qt, kt, vt := nt(q), nt(k), nt(v)
	c := o.cache
	kvDim := at.KVHeads * at.HeadDim
	switch {
	case layer < 0 || layer >= c.spec.Layers:
		fail("attention layer %d of %d", layer, c.spec.Layers)
	case qt.cols != at.Heads*at.HeadDim || kt.cols != kvDim || vt.cols != kvDim || kvDim != c.spec.KVDim:
		fail("attention shapes q %d k %d v %d for %d×%d heads, %d kv heads, cache kv dim %d",
			qt.cols, kt.cols, vt.cols, at.Heads, at.HeadDim, at.KVHeads, c.spec.KVDim)
	case at.KVHeads <= 0 || at.Heads%at.KVHeads != 0:
		fail("attention: %d heads not a multiple of %d kv heads", at.Heads, at.KVHeads)
	}
	var kv attnKV
	if c.k16 != nil {
		kv.k16, kv.v16 = c.k16[layer], c.v16[layer]
	} else {
		kv.k, kv.v = c.k[layer], c.v[layer]
	}
	ctx := c.spec.Context
	var last []int // NonCausal: highest batch position of each sequence
	if at.NonCausal {
		last = make([]int, c.spec.Sequences)
	}
	hd := at.HeadDim
	for i, p := range o.batch.Positions {
		kr, vr := kt.row(i), vt.row(i)
		for g := range at.KVHeads {
			r := ((o.batch.Seq(i)*at.KVHeads+g)*ctx + p) * hd // see nativeCache
			if kv.k16 != nil {
				kernels.F32ToF16(kv.k16[r:r+hd], kr[g*hd:(g+1)*hd])
				kernels.F32ToF16(kv.v16[r:r+hd], vr[g*hd:(g+1)*hd])
				continue
			}
			copy(kv.k[r:r+hd], kr[g*hd:(g+1)*hd])
			copy(kv.v[r:r+hd], vr[g*hd:(g+1)*hd])
		}
		if last != nil {
			last[o.batch.Seq(i)] = max(last[o.batch.Seq(i)], p)
		}
	}
	out := o.allocRaw(qt.rows, qt.cols)
	o.attend(out, qt, kv, ctx, at, last)
	return out
}

// arena hands out float32 buffers and tensor headers for one forward pass.
// reset makes all of them reusable; after a pass that needed more than one
// chunk, the chunks are merged so the next pass is served from one. Buffers
// are not cleared: they hold whatever an earlier pass left.
//
// Within a pass, keep (Ops.EndLayer) gives back everything a layer allocated
// except its output, so a pass needs about one layer's activations rather
// than all of them (a 512-token prefill of a 24-layer model: tens of MB
// instead of more than a GB).
type arena struct {
	chunks [][]float32
	off    int
	total  int              // sum of chunk sizes
	used   int              // floats in use (handed out and not given back)
	peak   int              // most floats in use at once this pass
	hdrs   [][]nativeTensor // tensor headers, in blocks of arenaHeaders
	nh     int              // headers handed out this pass
	// The layer region: what was allocated since the previous keep, from
	// offset mark of chunk markChunk (markChunk < 0: no keep yet this pass).
	mark, markChunk int
}

const arenaHeaders = 256

func (a *arena) reset() {
	a.settle()
	a.off, a.used, a.peak, a.nh = 0, 0, 0, 0
	a.mark, a.markChunk = 0, -1
}

// settle ends a pass that needed more than one chunk: the chunks (grown by
// doubling) are replaced by one of what the pass needed at most, its pages
// touched now so that the next pass does not fault them in (Forward calls
// it once the result is out, so the pass that grew the arena pays).
func (a *arena) settle() {
	if len(a.chunks) <= 1 {
		return
	}
	a.chunks = nil
	c := make([]float32, a.peak)
	for i := 0; i < len(c); i += 1024 {
		c[i] = 0
	}
	a.chunks = [][]float32{c}
	a.total = a.peak
	a.off = 0
}

// tensor returns a header for d from the arena.
func (a *arena) tensor(rows, cols int, d []float32) *nativeTensor {
	b, i := a.nh/arenaHeaders, a.nh%arenaHeaders
	if b == len(a.hdrs) {
		a.hdrs = append(a.hdrs, make([]nativeTensor, arenaHeaders))
	}
	a.nh++
	t := &a.hdrs[b][i]
	*t = nativeTensor{rows: rows, cols: cols, d: d}
	return t
}

func (a *arena) alloc(n int) []float32 {
	a.used += n
	a.peak = max(a.peak, a.used)
	if len(a.chunks) > 0 {
		cur := a.chunks[len(a.chunks)-1]
		if a.off+n <= len(cur) {
			s := cur[a.off : a.off+n : a.off+n]
			a.off += n
			return s
		}
	}
	size := max(n, a.total, 1<<16)
	a.chunks = append(a.chunks, make([]float32, size))
	a.total += size
	a.off = n
	return a.chunks[len(a.chunks)-1][:n:n]
}

// keep ends a layer: t, allocated in the layer region, is moved to the
// region's start and the rest of the region is given back; the next layer's
// region starts with t (the previous layer's output is dead once the layer
// that consumed it ends). The first call
// of a pass only opens the region (what came before, such as the
// embeddings, may still be in use), and so does a call after the arena
// grew a chunk in the layer.
func (a *arena) keep(t *nativeTensor) {
	cur := len(a.chunks) - 1
	if a.markChunk != cur || a.markChunk < 0 {
		a.mark, a.markChunk = a.off, cur
		return
	}
	region := a.chunks[cur][a.mark:a.off]
	n := len(t.d)
	if n == 0 || !within(t.d, region) {
		return // t is older than the region: keep everything
	}
	copy(region, t.d)
	t.d = region[:n:n]
	a.used -= len(region) - n
	a.off = a.mark + n // the next layer's region starts with t, dead once it returns
}

// within reports whether s lies inside r.
func within(s, r []float32) bool {
	if len(s) == 0 || len(r) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(&s[0])), uintptr(unsafe.Pointer(&r[0]))
	hi := lo + uintptr(len(r))*4
	return p >= lo && p+uintptr(len(s))*4 <= hi
}

// The row functions of the element-wise ops: rows [lo, hi) of out from a.

func addRows(out *nativeTensor, b []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		kernels.Add(out.row(i), out.row(i), b)
	}
}

// rmsRows normalizes groups [lo, hi) of g elements.
func rmsRows(out, a, w []float32, g int, eps float32, addOne bool, lo, hi int) {
	for i := lo * g; i < hi*g; i += g {
		kernels.RMSNorm(out[i:i+g], a[i:i+g], w, eps, addOne)
	}
}

func layerNormRows(out, a *nativeTensor, w, b []float32, eps float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		kernels.LayerNorm(out.row(i), a.row(i), w, b, eps)
	}
}

func siluRows(out, a *nativeTensor, lo, hi int) {
	for i := lo; i < hi; i++ {
		kernels.SiLUTo(out.row(i), a.row(i))
	}
}

func unaryRows(out, a *nativeTensor, f func([]float32), lo, hi int) {
	for i := lo; i < hi; i++ {
		d := out.row(i)
		copy(d, a.row(i))
		f(d)
	}
}

// ropeRows rotates rows [lo, hi) of a into out with the pass's pair table
// (kernels.RoPEPairs, the same roundings as kernels.RoPE). With an attention
// factor, each head's rotated elements are first scaled into row i's
// r.Dims floats of scaled.
func ropeRows(out, a *nativeTensor, r RoPE, t *ropeTable, scaled []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		row, src := out.row(i), a.row(i)
		copy(row, src)
		pairs := t.pairs[2*i*r.Dims : 2*(i+1)*r.Dims]
		for h := 0; h < a.cols; h += r.HeadDim {
			x := src[h : h+r.Dims]
			if scaled != nil {
				// (x·cos − y·sin)·m = (m·x)·cos − (m·y)·sin
				tmp := scaled[i*r.Dims : (i+1)*r.Dims]
				copy(tmp, x)
				kernels.Scale(tmp, r.AttnFactor)
				x = tmp
			}
			kernels.RoPEPairs(row[h:h+r.Dims], x, pairs, r.NeoX)
		}
	}
}
