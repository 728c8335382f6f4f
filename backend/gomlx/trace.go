package gomlx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph ops read as math
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/goformer/goformer/model"
)

// rowKind says what the rows of an activation are: the batch tokens, or
// the rows kept by Outputs.
type rowKind uint8

const (
	rowsTokens rowKind = iota
	rowsOutputs
)

// tensor is an activation of the traced pass. n is nil during a dry run.
type tensor struct {
	id         int
	rows, cols int // real rows (without padding)
	kind       rowKind
	n          *Node
}

func (t *tensor) Rows() int { return t.rows }
func (t *tensor) Cols() int { return t.cols }

// tracer implements model.Ops. With g nil it is a dry run: it checks
// shapes, records which weights, rope tables and cache layers the pass uses
// and writes the signature that identifies the program; with g set it
// builds the graph.
type tracer struct {
	b     *Backend
	c     *cache
	batch *model.Batch
	in    *inputs
	g     *Graph

	sig    []byte
	nextID int

	weights []*weight
	wIndex  map[*weight]int
	ropes   []model.RoPE
	ropeIdx map[string]int
	layers  []int
	seen    map[int]bool

	// graph mode
	tok, pos, seq, last, row, out, start *Node
	ropeCos, ropeSin                     []*Node
	wNode                                map[*weight]*Node
	wF32                                 map[*weight]*Node
	newK, newV                           map[int]*Node
}

func newTracer(b *Backend, c *cache, batch *model.Batch, in *inputs, g *Graph) *tracer {
	return &tracer{
		b: b, c: c, batch: batch, in: in, g: g,
		wIndex: map[*weight]int{}, ropeIdx: map[string]int{}, seen: map[int]bool{},
		wNode: map[*weight]*Node{}, wF32: map[*weight]*Node{},
		newK: map[int]*Node{}, newV: map[int]*Node{},
	}
}

// declare creates the graph parameters in the order run passes them.
func (t *tracer) declare(dry *tracer) {
	g, in := t.g, t.in
	i32 := func(name string, n int) *Node { return Parameter(g, name, shapes.Make(dtypes.Int32, n)) }
	t.tok, t.pos, t.seq, t.last = i32("tokens", in.T), i32("positions", in.T), i32("seqs", in.T), i32("last", in.T)
	t.row, t.out = i32("rows", in.T), i32("outputs", in.O)
	t.start = Reshape(i32("start", 1))
	for i, r := range dry.ropes {
		s := shapes.Make(dtypes.Float32, in.T, r.Dims/2)
		t.ropeCos = append(t.ropeCos, Parameter(g, fmt.Sprintf("rope%d_cos", i), s))
		t.ropeSin = append(t.ropeSin, Parameter(g, fmt.Sprintf("rope%d_sin", i), s))
	}
	t.ropes, t.ropeIdx = dry.ropes, dry.ropeIdx
	for _, w := range dry.weights {
		t.wNode[w] = Parameter(g, fmt.Sprintf("w%d_%s", w.id, w.name), shapes.Make(w.dt, w.shape...))
	}
	rows := t.c.spec.Sequences * t.c.rowsPerSeq
	for _, l := range dry.layers {
		s := shapes.Make(dtypes.Float32, rows, t.c.spec.KVDim)
		t.newK[l] = Parameter(g, fmt.Sprintf("k_cache_%d", l), s)
		t.newV[l] = Parameter(g, fmt.Sprintf("v_cache_%d", l), s)
	}
}

// Signature helpers.
func (t *tracer) op(code byte, args ...int) {
	t.sig = append(t.sig, code)
	for _, a := range args {
		t.sig = binary.AppendVarint(t.sig, int64(a))
	}
}

func (t *tracer) f32(v float32) { t.sig = binary.LittleEndian.AppendUint32(t.sig, math.Float32bits(v)) }

func (t *tracer) tensor(rows, cols int, kind rowKind, n *Node) *tensor {
	t.nextID++
	return &tensor{id: t.nextID, rows: rows, cols: cols, kind: kind, n: n}
}

func (t *tracer) padded(kind rowKind) int {
	if kind == rowsOutputs {
		return t.in.O
	}
	return t.in.T
}

func tt(x model.Tensor) *tensor { return x.(*tensor) }
func tw(w model.Weight) *weight { return w.(*weight) }

// use records a weight (dry run) or returns its parameter (graph mode).
func (t *tracer) use(w *weight) *Node {
	t.sig = binary.AppendVarint(t.sig, int64(w.id))
	if t.g == nil {
		if _, ok := t.wIndex[w]; !ok {
			t.wIndex[w] = len(t.weights)
			t.weights = append(t.weights, w)
		}
		return nil
	}
	return t.wNode[w]
}

// useF32 is use converted to float32 (once per graph).
func (t *tracer) useF32(w *weight) *Node {
	n := t.use(w)
	if n == nil || w.dt == dtypes.Float32 {
		return n
	}
	if c, ok := t.wF32[w]; ok {
		return c
	}
	c := ConvertDType(n, dtypes.Float32)
	t.wF32[w] = c
	return c
}

// vector returns a 1-D weight of n elements broadcast to [rows, n].
func (t *tracer) vector(w *weight, rows int) *Node {
	n := t.useF32(w)
	if n == nil {
		return nil
	}
	return BroadcastToDims(Reshape(n, 1, w.shape[0]), rows, w.shape[0])
}

func (t *tracer) Batch() *model.Batch { return t.batch }

func (t *tracer) lookup(code byte, table model.Weight, ids []int, idx func() *Node, what string) model.Tensor {
	w := tw(table)
	if len(w.shape) != 2 {
		fail("%s: table %s has shape %v, want a matrix", what, w.name, w.shape)
	}
	t.op(code)
	n := t.use(w)
	if t.g == nil {
		for _, id := range ids {
			if id < 0 || id >= w.shape[0] {
				if code == 'e' {
					fail("token id %d outside the vocabulary of %d", id, w.shape[0])
				}
				fail("position %d outside the %d learned positions of %s", id, w.shape[0], w.name)
			}
		}
		return t.tensor(len(ids), w.shape[1], rowsTokens, nil)
	}
	rows := Gather(n, Reshape(idx(), t.in.T, 1))
	if w.dt != dtypes.Float32 {
		rows = ConvertDType(rows, dtypes.Float32)
	}
	return t.tensor(len(ids), w.shape[1], rowsTokens, rows)
}

func (t *tracer) Embed(table model.Weight) model.Tensor {
	return t.lookup('e', table, t.batch.Tokens, func() *Node { return t.tok }, "embed")
}

func (t *tracer) PosEmbed(table model.Weight) model.Tensor {
	return t.lookup('p', table, t.batch.Positions, func() *Node { return t.pos }, "position embed")
}

func (t *tracer) Linear(x model.Tensor, w, bias model.Weight) model.Tensor {
	a, m := tt(x), tw(w)
	if len(m.shape) != 2 || a.cols != m.shape[1] {
		fail("linear %s: input has %d features, weight %v", m.name, a.cols, m.shape)
	}
	out := m.shape[0]
	t.op('l', a.id)
	bf16 := t.b.bf16mm && m.dt == dtypes.BFloat16
	var wn *Node
	if bf16 {
		wn = t.use(m)
	} else {
		wn = t.useF32(m)
	}
	var bw *weight
	if bias != nil {
		bw = tw(bias)
		if len(bw.shape) != 1 || bw.shape[0] != out {
			fail("bias %s has shape %v, want %d elements", bw.name, bw.shape, out)
		}
		t.op('b')
	}
	var y *Node
	switch {
	case t.g != nil && bf16:
		y = DotGeneral(ConvertDType(a.n, dtypes.BFloat16), []int{1}, nil, wn, []int{1}, nil)
		y = ConvertDType(y, dtypes.Float32)
	case t.g != nil:
		y = DotGeneral(a.n, []int{1}, nil, wn, []int{1}, nil)
	}
	if bw != nil {
		bn := t.vector(bw, t.padded(a.kind))
		if y != nil {
			y = Add(y, bn)
		}
	}
	return t.tensor(a.rows, out, a.kind, y)
}

func (t *tracer) RMSNorm(x model.Tensor, w model.Weight, eps float32, addOne bool) model.Tensor {
	a := tt(x)
	g := a.cols
	var wt *weight
	if w != nil {
		wt = tw(w)
		g = wt.shape[0]
		if len(wt.shape) != 1 || g == 0 || a.cols%g != 0 {
			fail("rmsnorm %s: %d weights for rows of %d", wt.name, g, a.cols)
		}
	}
	flag := 0
	if addOne {
		flag = 1
	}
	t.op('r', a.id, g, flag, boolInt(w != nil))
	t.f32(eps)
	var wn *Node
	if wt != nil {
		wn = t.useF32(wt)
	}
	if t.g == nil {
		return t.tensor(a.rows, a.cols, a.kind, nil)
	}
	R := t.padded(a.kind)
	xr := Reshape(a.n, R, a.cols/g, g)
	ss := ReduceSum(Mul(xr, xr), 2)
	scale := Rsqrt(AddScalar(DivScalar(ss, float32(g)), eps))
	y := Mul(xr, BroadcastToDims(Reshape(scale, R, a.cols/g, 1), R, a.cols/g, g))
	if wn != nil {
		wb := BroadcastToDims(Reshape(wn, 1, 1, g), R, a.cols/g, g)
		if addOne {
			wb = AddScalar(wb, float32(1))
		}
		y = Mul(y, wb)
	}
	return t.tensor(a.rows, a.cols, a.kind, Reshape(y, R, a.cols))
}

func (t *tracer) LayerNorm(x model.Tensor, w, b model.Weight, eps float32) model.Tensor {
	a := tt(x)
	var wt, bt *weight
	if w != nil {
		wt = tw(w)
	}
	if b != nil {
		bt = tw(b)
	}
	if (wt != nil && wt.shape[0] != a.cols) || (bt != nil && bt.shape[0] != a.cols) {
		fail("layernorm: weight/bias sizes for rows of %d", a.cols)
	}
	t.op('n', a.id, boolInt(wt != nil), boolInt(bt != nil))
	t.f32(eps)
	R := t.padded(a.kind)
	var wn, bn *Node
	if wt != nil {
		wn = t.vector(wt, R)
	}
	if bt != nil {
		bn = t.vector(bt, R)
	}
	if t.g == nil {
		return t.tensor(a.rows, a.cols, a.kind, nil)
	}
	C := a.cols
	mean := DivScalar(ReduceSum(a.n, 1), float32(C))
	d := Sub(a.n, BroadcastToDims(Reshape(mean, R, 1), R, C))
	v := DivScalar(ReduceSum(Mul(d, d), 1), float32(C))
	y := Mul(d, BroadcastToDims(Reshape(Rsqrt(AddScalar(v, eps)), R, 1), R, C))
	if wn != nil {
		y = Mul(y, wn)
	}
	if bn != nil {
		y = Add(y, bn)
	}
	return t.tensor(a.rows, a.cols, a.kind, y)
}

func (t *tracer) binary(code byte, x, y model.Tensor, f func(a, b *Node) *Node) model.Tensor {
	a, b := tt(x), tt(y)
	if a.rows != b.rows || a.cols != b.cols || a.kind != b.kind {
		fail("element-wise op on [%d,%d] and [%d,%d]", a.rows, a.cols, b.rows, b.cols)
	}
	t.op(code, a.id, b.id)
	if t.g == nil {
		return t.tensor(a.rows, a.cols, a.kind, nil)
	}
	return t.tensor(a.rows, a.cols, a.kind, f(a.n, b.n))
}

func (t *tracer) Add(x, y model.Tensor) model.Tensor { return t.binary('+', x, y, Add) }
func (t *tracer) Mul(x, y model.Tensor) model.Tensor { return t.binary('*', x, y, Mul) }

func (t *tracer) unary(code byte, x model.Tensor, c float32, f func(*Node) *Node) model.Tensor {
	a := tt(x)
	t.op(code, a.id)
	t.f32(c)
	if t.g == nil {
		return t.tensor(a.rows, a.cols, a.kind, nil)
	}
	return t.tensor(a.rows, a.cols, a.kind, f(a.n))
}

func (t *tracer) Scale(x model.Tensor, s float32) model.Tensor {
	return t.unary('s', x, s, func(n *Node) *Node { return MulScalar(n, s) })
}

func (t *tracer) SiLU(x model.Tensor) model.Tensor {
	return t.unary('S', x, 0, func(n *Node) *Node { return Mul(n, Logistic(n)) })
}

func (t *tracer) GELU(x model.Tensor, tanhApprox bool) model.Tensor {
	if tanhApprox {
		return t.unary('g', x, 0, func(n *Node) *Node {
			inner := MulScalar(Add(n, MulScalar(Mul(Mul(n, n), n), float32(0.044715))), float32(0.7978845608028654))
			return Mul(MulScalar(n, float32(0.5)), AddScalar(Tanh(inner), float32(1)))
		})
	}
	return t.unary('G', x, 0, func(n *Node) *Node {
		return Mul(MulScalar(n, float32(0.5)), AddScalar(Erf(MulScalar(n, float32(1/math.Sqrt2))), float32(1)))
	})
}

func (t *tracer) SoftCap(x model.Tensor, c float32) model.Tensor {
	return t.unary('c', x, c, func(n *Node) *Node { return softCap(n, c) })
}

func softCap(n *Node, c float32) *Node { return MulScalar(Tanh(DivScalar(n, c)), c) }

func ropeKey(r model.RoPE) string {
	b := binary.AppendVarint(nil, int64(r.HeadDim))
	b = binary.AppendVarint(b, int64(r.Dims))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Base))
	b = append(b, byte(boolInt(r.NeoX)))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(r.AttnFactor))
	b = binary.AppendVarint(b, int64(len(r.Factors)))
	return string(append(b, f32bytes(r.Factors)...))
}

func (t *tracer) RoPE(x model.Tensor, r model.RoPE) model.Tensor {
	a := tt(x)
	if r.HeadDim <= 0 || a.cols%r.HeadDim != 0 || r.Dims > r.HeadDim || r.Dims%2 != 0 || r.Dims <= 0 {
		fail("rope: rows of %d with head dim %d, rotated dims %d", a.cols, r.HeadDim, r.Dims)
	}
	if r.Factors != nil && len(r.Factors) != r.Dims/2 {
		fail("rope: %d frequency factors for %d rotated dims", len(r.Factors), r.Dims)
	}
	if a.kind != rowsTokens {
		fail("rope on rows that are not the batch tokens")
	}
	key := ropeKey(r)
	idx, ok := t.ropeIdx[key]
	if !ok {
		if t.g != nil {
			fail("internal: rope table missing from the dry run")
		}
		idx = len(t.ropes)
		t.ropeIdx[key] = idx
		t.ropes = append(t.ropes, r)
	}
	t.op('R', a.id, idx)
	if t.g == nil {
		return t.tensor(a.rows, a.cols, a.kind, nil)
	}
	T, nh, hd, half := t.in.T, a.cols/r.HeadDim, r.HeadDim, r.Dims/2
	x3 := Reshape(a.n, T, nh, hd)
	rot := Slice(x3, AxisRange(), AxisRange(), AxisRange(0, r.Dims))
	if r.AttnFactor != 0 && r.AttnFactor != 1 {
		rot = MulScalar(rot, r.AttnFactor)
	}
	cos := BroadcastToDims(Reshape(t.ropeCos[idx], T, 1, half), T, nh, half)
	sin := BroadcastToDims(Reshape(t.ropeSin[idx], T, 1, half), T, nh, half)
	var x0, x1 *Node
	if r.NeoX {
		x0 = Slice(rot, AxisRange(), AxisRange(), AxisRange(0, half))
		x1 = Slice(rot, AxisRange(), AxisRange(), AxisRange(half, r.Dims))
	} else {
		r4 := Reshape(rot, T, nh, half, 2)
		x0 = Reshape(Slice(r4, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, 1)), T, nh, half)
		x1 = Reshape(Slice(r4, AxisRange(), AxisRange(), AxisRange(), AxisRange(1, 2)), T, nh, half)
	}
	o0 := Sub(Mul(x0, cos), Mul(x1, sin))
	o1 := Add(Mul(x0, sin), Mul(x1, cos))
	y := Reshape(Stack([]*Node{o0, o1}, 3), T, nh, r.Dims)
	if r.Dims < hd {
		y = Concatenate([]*Node{y, Slice(x3, AxisRange(), AxisRange(), AxisRange(r.Dims, hd))}, 2)
	}
	return t.tensor(a.rows, a.cols, a.kind, Reshape(y, T, a.cols))
}

// EndLayer implements model.Ops: a graph has no arena to recycle.
func (t *tracer) EndLayer(x model.Tensor) model.Tensor { return x }

func (t *tracer) Outputs(x model.Tensor) model.Tensor {
	a := tt(x)
	if a.kind != rowsTokens {
		fail("outputs of rows that are not the batch tokens")
	}
	t.op('o', a.id)
	if t.g == nil {
		return t.tensor(len(t.batch.Outputs), a.cols, rowsOutputs, nil)
	}
	return t.tensor(len(t.batch.Outputs), a.cols, rowsOutputs, Gather(a.n, Reshape(t.out, t.in.O, 1)))
}

func (t *tracer) Attention(layer int, q, k, v model.Tensor, at model.Attention) model.Tensor {
	qt, kt, vt := tt(q), tt(k), tt(v)
	spec := t.c.spec
	kvDim := at.KVHeads * at.HeadDim
	switch {
	case layer < 0 || layer >= spec.Layers:
		fail("attention layer %d of %d", layer, spec.Layers)
	case qt.cols != at.Heads*at.HeadDim || kt.cols != kvDim || vt.cols != kvDim || kvDim != spec.KVDim:
		fail("attention shapes q %d k %d v %d for %d×%d heads, %d kv heads, cache kv dim %d",
			qt.cols, kt.cols, vt.cols, at.Heads, at.HeadDim, at.KVHeads, spec.KVDim)
	case at.KVHeads <= 0 || at.Heads%at.KVHeads != 0:
		fail("attention: %d heads not a multiple of %d kv heads", at.Heads, at.KVHeads)
	case qt.kind != rowsTokens || kt.kind != rowsTokens || vt.kind != rowsTokens:
		fail("attention on rows that are not the batch tokens")
	}
	t.op('A', layer, qt.id, kt.id, vt.id, at.Heads, at.KVHeads, at.HeadDim, at.Window, boolInt(at.NonCausal))
	t.f32(at.Scale)
	t.f32(at.SoftCap)
	if t.g == nil {
		if !t.seen[layer] {
			t.seen[layer] = true
			t.layers = append(t.layers, layer)
		}
		return t.tensor(qt.rows, qt.cols, rowsTokens, nil)
	}
	newK := t.write(t.newK[layer], kt.n)
	newV := t.write(t.newV[layer], vt.n)
	t.newK[layer], t.newV[layer] = newK, newV

	T, CB, S, RA := t.in.T, t.in.CB, spec.Sequences, t.c.rowsPerSeq
	H, KVH, hd := at.Heads, at.KVHeads, at.HeadDim
	G, N := H/KVH, S*CB
	prefix := func(c *Node) *Node {
		c3 := Slice(Reshape(c, S, RA, kvDim), AxisRange(), AxisRange(0, CB), AxisRange())
		return Reshape(c3, N, KVH, hd)
	}
	ks, vs := prefix(newK), prefix(newV)
	q4 := Reshape(qt.n, T, KVH, G, hd)
	scores := DotGeneral(q4, []int{3}, []int{1}, ks, []int{2}, []int{1}) // [KVH, T, G, N]
	scores = MulScalar(scores, at.Scale)
	if at.SoftCap > 0 {
		scores = softCap(scores, at.SoftCap)
	}
	g := t.g
	kIdx := Iota(g, shapes.Make(dtypes.Int32, T, N), 1)
	keySeq := DivScalar(kIdx, int32(CB))
	keyPos := Sub(kIdx, MulScalar(keySeq, int32(CB)))
	col := func(n *Node) *Node { return BroadcastToDims(Reshape(n, T, 1), T, N) }
	lim := t.pos
	if at.NonCausal {
		lim = t.last
	}
	mask := LogicalAnd(Equal(keySeq, col(t.seq)), LessOrEqual(keyPos, col(lim)))
	if at.Window > 0 {
		mask = LogicalAnd(mask, GreaterThan(keyPos, col(SubScalar(t.pos, int32(at.Window)))))
	}
	maskB := BroadcastToDims(Reshape(mask, 1, T, 1, N), KVH, T, G, N)
	low := Scalar(g, dtypes.Float32, math.Inf(-1))
	m := ReduceMax(Where(maskB, scores, low), 3)
	e := Exp(Sub(scores, BroadcastToDims(Reshape(m, KVH, T, G, 1), KVH, T, G, N)))
	e = Where(maskB, e, ScalarZero(g, dtypes.Float32))
	sum := ReduceSum(e, 3)
	p := Div(e, BroadcastToDims(Reshape(sum, KVH, T, G, 1), KVH, T, G, N))
	o := DotGeneral(p, []int{3}, []int{0}, vs, []int{0}, []int{1}) // [KVH, T, G, hd]
	o = Transpose(o, 0, 1)                                         // [T, KVH, G, hd]
	return t.tensor(qt.rows, qt.cols, rowsTokens, Reshape(o, T, H*hd))
}

// write stores the batch rows x [T, KVDim] into the cache c.
func (t *tracer) write(c, x *Node) *Node {
	if t.in.useDUS {
		return DynamicUpdateSlice(c, x, []*Node{t.start, ScalarZero(t.g, dtypes.Int32)})
	}
	// Masked select: one-hot rows × x gives each written cache row its new
	// value exactly (1·v + 0·others); rows no token writes keep theirs.
	rows := c.Shape().Dimensions[0]
	T := t.in.T
	hit := Equal(Iota(t.g, shapes.Make(dtypes.Int32, rows, T), 0), BroadcastToDims(Reshape(t.row, 1, T), rows, T))
	oneHot := ConvertDType(hit, dtypes.Float32)
	upd := DotGeneral(oneHot, []int{1}, nil, x, []int{0}, nil) // [rows, KVDim]
	written := GreaterThan(ReduceMax(oneHot, 1), ScalarZero(t.g, dtypes.Float32))
	return Where(written, upd, c)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
