// Package gomlx runs goformer's model families through GoMLX graphs
// (github.com/gomlx/gomlx): a forward pass that family code describes with
// model.Ops is traced into a graph, compiled once per shape bucket and then
// reused.
//
// The same Backend serves GoMLX's pure-Go "simplego" engine (NewGo; slow, but
// it needs neither cgo nor a plugin, so CI checks the graph path with it) and
// XLA through a PJRT plugin (package backend/xla, which builds on this one).
//
// Static shapes: the token count of a pass is padded to a bucket (1, 8, 32,
// 128, 512, then multiples of 512) and attention reads a cache prefix whose
// length is also bucketed, so a session compiles a bounded number of
// programs. Decode (one token) and prefill are separate programs for that
// reason. The KV cache lives on the device, one buffer per layer for keys and
// one for values, and is donated to each pass, which returns the updated
// buffer. Where the engine has DynamicUpdateSlice (XLA) a contiguous run of
// positions of one sequence is written with it; otherwise (simplego, or a
// batch mixing sequences) rows are written by a masked select. (GoMLX
// v0.26.0 cannot declare input/output aliasing when compiling, so whether
// PJRT reuses a donated buffer for the output or copies it is up to the
// plugin.)
//
// Arithmetic is float32, as in the native backend: bfloat16 and float16
// weights are converted to float32 inside the graph before each matrix
// product (Options.BF16Matmul trades that exactness for speed).
package gomlx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // registers the "go" engine
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/x448/float16"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

// Options tunes a Backend.
type Options struct {
	// Name is what Backend.Name reports (default "gomlx-" + the engine name).
	Name string
	// MaxPrograms bounds the compiled programs kept (0: 64). When exceeded,
	// the cache of programs is emptied and filled again.
	MaxPrograms int
	// BF16Matmul multiplies by bfloat16 weights in bfloat16: activations are
	// rounded to bfloat16 before such products, whose results are bfloat16
	// (then float32 again). Faster on GPUs, less exact than the default
	// (float32 products, as the native backend).
	BF16Matmul bool
}

// Backend is a model.Backend running GoMLX graphs on one engine
// (backends.Backend) and its device 0. It is not safe for concurrent use, as
// a model.Session is not.
type Backend struct {
	eng    backends.Backend
	name   string
	dus    bool // engine has DynamicUpdateSlice
	f16    bool // engine keeps float16 tensors
	maxPrg int
	bf16mm bool

	mu       sync.Mutex
	nextID   int
	programs map[string]*program
	closed   bool
}

// New wraps a GoMLX engine. The Backend owns eng and finalizes it on Close.
func New(eng backends.Backend, o Options) *Backend {
	caps := eng.Capabilities()
	b := &Backend{
		eng:      eng,
		name:     o.Name,
		dus:      caps.Operations[backends.OpTypeDynamicUpdateSlice],
		f16:      caps.DTypes[dtypes.Float16],
		maxPrg:   o.MaxPrograms,
		bf16mm:   o.BF16Matmul,
		programs: map[string]*program{},
	}
	if b.name == "" {
		b.name = "gomlx-" + eng.Name()
	}
	if b.maxPrg <= 0 {
		b.maxPrg = 64
	}
	return b
}

// NewGo returns a Backend on GoMLX's pure-Go engine (simplego), named
// "gomlx-go". Ops run one after another (each may use several cores): the
// engine's parallel scheduling of independent ops has a data race in
// v0.26.0 (its bookkeeping of which inputs are used up).
func NewGo() (*Backend, error) {
	eng, err := backends.NewWithConfig("go:ops_sequential")
	if err != nil {
		return nil, fmt.Errorf("gomlx: pure-Go engine: %w", err)
	}
	return New(eng, Options{Name: "gomlx-go"}), nil
}

// Name implements model.Backend.
func (b *Backend) Name() string { return b.name }

// Engine is the GoMLX engine the Backend runs on.
func (b *Backend) Engine() backends.Backend { return b.eng }

// Close implements model.Backend: it drops the compiled programs and
// finalizes the engine. Weights and caches bound to it become unusable.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, p := range b.programs {
		p.g.Finalize()
	}
	b.programs = nil
	b.eng.Finalize()
	return nil
}

// Programs is the number of compiled programs the Backend holds.
func (b *Backend) Programs() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.programs)
}

// weight is a bound parameter: a device buffer in its on-device type.
type weight struct {
	id    int
	name  string
	shape []int // as stored
	dt    dtypes.DType
	buf   backends.Buffer
}

func (w *weight) Shape() []int { return w.shape }

// Bind implements model.Backend. Float32 and bfloat16 tensors keep their
// type on the device; float16 stays float16 where the engine supports it
// and becomes float32 elsewhere; quantized types are dequantized to float32.
// Vectors (norms, biases) are always float32.
func (b *Backend) Bind(t *weights.Tensor) (model.Weight, error) {
	if len(t.Shape) != 1 && len(t.Shape) != 2 {
		return nil, fmt.Errorf("tensor %q: shape %v: %s backend binds only vectors and matrices", t.Name, t.Shape, b.name)
	}
	n := 1
	for _, d := range t.Shape {
		if d <= 0 {
			return nil, fmt.Errorf("tensor %q: shape %v", t.Name, t.Shape)
		}
		n *= d
	}
	want, err := t.DType.Bytes(int64(n))
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if int64(len(t.Data)) != want {
		return nil, fmt.Errorf("tensor %q: %d bytes, want %d for %d %s elements", t.Name, len(t.Data), want, n, t.DType)
	}
	rows := 1
	if len(t.Shape) == 2 {
		rows = t.Shape[0]
	}
	if err := (kernels.Mat{Type: t.DType, Rows: rows, Cols: n / rows, Data: t.Data}).Validate(); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	var flat any
	dt := dtypes.Float32
	switch {
	case len(t.Shape) == 2 && t.DType == weights.BF16:
		v := make([]bfloat16.BFloat16, n)
		for i := range v {
			v[i] = bfloat16.BFloat16(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
		flat, dt = v, dtypes.BFloat16
	case len(t.Shape) == 2 && t.DType == weights.F16 && b.f16:
		v := make([]float16.Float16, n)
		for i := range v {
			v[i] = float16.Frombits(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
		flat, dt = v, dtypes.Float16
	default:
		v := make([]float32, n)
		rowBytes := len(t.Data) / rows
		cols := n / rows
		for r := range rows {
			kernels.DequantizeRow(v[r*cols:(r+1)*cols], t.DType, t.Data[r*rowBytes:(r+1)*rowBytes])
		}
		flat = v
	}
	shape := t.Shape
	buf, err := b.eng.BufferFromFlatData(0, flat, shapes.Make(dt, shape...))
	if err != nil {
		return nil, fmt.Errorf("tensor %q: to %s device: %w", t.Name, b.name, err)
	}
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.mu.Unlock()
	return &weight{id: id, name: t.Name, shape: append([]int(nil), t.Shape...), dt: dt, buf: buf}, nil
}

// cache is the KV cache: per layer, keys and values as device buffers of
// [Sequences·rowsPerSeq, KVDim] float32. rowsPerSeq exceeds Context by a
// slack that lets padded rows of a DynamicUpdateSlice land without clamping.
type cache struct {
	b          *Backend
	spec       model.CacheSpec
	rowsPerSeq int
	k, v       []backends.Buffer
	lost       error // a failed pass consumed the donated buffers
}

func (c *cache) Spec() model.CacheSpec { return c.spec }

// slack rows per sequence: the largest padding a pass can add.
const slack = 512

// NewCache implements model.Backend. The cache is float32, as the native
// backend's, so that both agree on tiny models.
func (b *Backend) NewCache(spec model.CacheSpec) (model.Cache, error) {
	spec.Sequences = max(spec.Sequences, 1)
	if spec.Layers <= 0 || spec.Context <= 0 || spec.KVDim <= 0 {
		return nil, fmt.Errorf("invalid cache spec %+v", spec)
	}
	c := &cache{b: b, spec: spec, rowsPerSeq: spec.Context}
	if b.dus {
		c.rowsPerSeq += slack
	}
	n := spec.Sequences * c.rowsPerSeq
	zero := make([]float32, n*spec.KVDim)
	for range spec.Layers {
		for _, dst := range []*[]backends.Buffer{&c.k, &c.v} {
			buf, err := b.eng.BufferFromFlatData(0, zero, shapes.Make(dtypes.Float32, n, spec.KVDim))
			if err != nil {
				c.free()
				return nil, fmt.Errorf("%s: KV cache of %d×%d: %w", b.name, n, spec.KVDim, err)
			}
			*dst = append(*dst, buf)
		}
	}
	return c, nil
}

func (c *cache) free() {
	for _, s := range [][]backends.Buffer{c.k, c.v} {
		for _, buf := range s {
			if buf != nil {
				_ = c.b.eng.BufferFinalize(buf)
			}
		}
	}
	c.k, c.v = nil, nil
}

// Free releases the cache's device buffers (a cache of a Backend is
// otherwise released when the Backend closes).
func Free(c model.Cache) {
	if gc, ok := c.(*cache); ok {
		gc.free()
	}
}

// program is one compiled graph with the order of its inputs.
type program struct {
	g       *graph.Graph
	weights []*weight // in parameter order, after the per-pass inputs
	ropes   []model.RoPE
	layers  []int // cache layers read and written, in parameter order
	outRows rowKind
}

// Forward implements model.Backend.
func (b *Backend) Forward(mc model.Cache, batch *model.Batch, build func(model.Ops) model.Tensor) (out []float32, err error) {
	c, ok := mc.(*cache)
	if !ok || c.b != b {
		return nil, fmt.Errorf("%s backend: cache of type %T from another backend", b.name, mc)
	}
	if b.closed {
		return nil, fmt.Errorf("%s backend: closed", b.name)
	}
	if c.k == nil {
		return nil, fmt.Errorf("%s backend: cache was freed", b.name)
	}
	if c.lost != nil {
		return nil, fmt.Errorf("%s backend: the KV cache was lost in an earlier failed pass (%w); start a new session", b.name, c.lost)
	}
	in, err := b.prepare(c, batch)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(opError); ok {
				out, err = nil, e.error
				return
			}
			if e, ok := r.(error); ok {
				out, err = nil, fmt.Errorf("%s backend: %w", b.name, e)
				return
			}
			out, err = nil, fmt.Errorf("%s backend: %v", b.name, r)
		}
	}()
	// A dry run checks shapes, collects the weights and rope tables the pass
	// uses, and yields the signature that names the compiled program.
	dry := newTracer(b, c, batch, in, nil)
	res := build(dry)
	key := string(dry.sig) + in.key()
	b.mu.Lock()
	p := b.programs[key]
	b.mu.Unlock()
	if p == nil {
		p = b.compile(c, batch, in, build, res.(*tensor).kind, dry)
		b.mu.Lock()
		if len(b.programs) >= b.maxPrg {
			for k, old := range b.programs {
				old.g.Finalize()
				delete(b.programs, k)
			}
		}
		b.programs[key] = p
		b.mu.Unlock()
	}
	return b.run(p, c, batch, in)
}

// compile traces build into a graph over the program's parameters.
func (b *Backend) compile(c *cache, batch *model.Batch, in *inputs, build func(model.Ops) model.Tensor, kind rowKind, dry *tracer) *program {
	g := graph.NewGraph(b.eng, fmt.Sprintf("goformer_T%d_O%d_C%d", in.T, in.O, in.CB))
	tr := newTracer(b, c, batch, in, g)
	tr.declare(dry)
	res := build(tr).(*tensor)
	outs := []*graph.Node{res.n}
	for _, l := range dry.layers {
		outs = append(outs, tr.newK[l], tr.newV[l])
	}
	g.Compile(outs...)
	return &program{g: g, weights: dry.weights, ropes: dry.ropes, layers: dry.layers, outRows: kind}
}

func (b *Backend) run(p *program, c *cache, batch *model.Batch, in *inputs) ([]float32, error) {
	var bufs []backends.Buffer
	var donate []bool
	var temps []backends.Buffer
	add := func(buf backends.Buffer, d bool) {
		bufs = append(bufs, buf)
		donate = append(donate, d)
	}
	tmp := func(flat any, dims ...int) {
		dt := dtypes.Int32
		if _, ok := flat.([]float32); ok {
			dt = dtypes.Float32
		}
		buf, err := b.eng.BufferFromFlatData(0, flat, shapes.Make(dt, dims...))
		if err != nil {
			panic(err)
		}
		temps = append(temps, buf)
		add(buf, false)
	}
	defer func() {
		for _, t := range temps {
			_ = b.eng.BufferFinalize(t)
		}
	}()
	tmp(in.tok, in.T)
	tmp(in.pos, in.T)
	tmp(in.seq, in.T)
	tmp(in.last, in.T)
	tmp(in.row, in.T)
	tmp(in.out, in.O)
	tmp([]int32{in.start}, 1)
	for _, r := range p.ropes {
		cos, sin := ropeTables(r, batch.Positions, in.T)
		tmp(cos, in.T, r.Dims/2)
		tmp(sin, in.T, r.Dims/2)
	}
	for _, w := range p.weights {
		add(w.buf, false)
	}
	for _, l := range p.layers {
		add(c.k[l], true)
		add(c.v[l], true)
	}
	// The cache buffers are donated: whatever happens next, they are gone.
	for _, l := range p.layers {
		c.k[l], c.v[l] = nil, nil
	}
	c.lost = errors.New("pass did not complete")
	outs := p.g.RunWithBuffers(bufs, donate, 0)
	for i, l := range p.layers {
		kb, err := outs[1+2*i].DonateBuffer(b.eng, 0)
		if err != nil {
			return nil, err
		}
		vb, err := outs[2+2*i].DonateBuffer(b.eng, 0)
		if err != nil {
			return nil, err
		}
		c.k[l], c.v[l] = kb, vb
	}
	c.lost = nil
	res := outs[0]
	defer res.FinalizeAll()
	flat, err := tensors.CopyFlatData[float32](res)
	if err != nil {
		return nil, err
	}
	rows := len(batch.Tokens)
	if p.outRows == rowsOutputs {
		rows = len(batch.Outputs)
	}
	cols := res.Shape().Dimensions[1]
	return flat[:rows*cols], nil
}

// ropeTables returns cos and sin of every (position, pair) as the native
// kernels compute them (float64 angles from float32 frequencies).
func ropeTables(r model.RoPE, positions []int, T int) (cos, sin []float32) {
	half := r.Dims / 2
	freqs := make([]float32, half)
	kernels.RoPEFreqs(freqs, r.Dims, r.Base, r.Factors)
	cos, sin = make([]float32, T*half), make([]float32, T*half)
	for i, p := range positions {
		for j, f := range freqs {
			s, c := math.Sincos(float64(p) * float64(f))
			cos[i*half+j], sin[i*half+j] = float32(c), float32(s)
		}
	}
	for i := len(positions); i < T; i++ {
		for j := range half {
			cos[i*half+j] = 1
		}
	}
	return cos, sin
}

// inputs are the per-pass values, padded to the buckets.
type inputs struct {
	T, O, CB int // token, output and cache-prefix buckets
	useDUS   bool
	tok      []int32 // token ids (padding: 0)
	pos      []int32 // positions (padding: 0)
	seq      []int32 // sequences (padding: 0)
	last     []int32 // highest position of the token's sequence in the batch
	row      []int32 // cache row written (padding: -1)
	out      []int32 // rows kept by Outputs (padding: 0)
	start    int32   // first cache row written, for DynamicUpdateSlice
}

func (in *inputs) key() string {
	return fmt.Sprintf("|T%d|O%d|C%d|D%v", in.T, in.O, in.CB, in.useDUS)
}

// bucket rounds n up to 1, 8, 32, 128, 512 or a multiple of 512.
func bucket(n int) int {
	for _, b := range []int{1, 8, 32, 128, 512} {
		if n <= b {
			return b
		}
	}
	return (n + 511) / 512 * 512
}

// ctxBucket rounds a cache prefix up to a power of two ≥ 32, at most limit.
func ctxBucket(n, limit int) int {
	b := 32
	for b < n {
		b *= 2
	}
	return min(b, limit)
}

func (b *Backend) prepare(c *cache, batch *model.Batch) (*inputs, error) {
	n := len(batch.Tokens)
	if n == 0 || len(batch.Positions) != n {
		return nil, fmt.Errorf("%s backend: batch of %d tokens and %d positions", b.name, n, len(batch.Positions))
	}
	if batch.Seqs != nil && len(batch.Seqs) != n {
		return nil, fmt.Errorf("%s backend: batch of %d tokens and %d sequence ids", b.name, n, len(batch.Seqs))
	}
	if len(batch.Outputs) == 0 {
		return nil, fmt.Errorf("%s backend: batch asks for no output rows", b.name)
	}
	spec := c.spec
	in := &inputs{T: bucket(n), O: bucket(len(batch.Outputs))}
	in.tok = make([]int32, in.T)
	in.pos = make([]int32, in.T)
	in.seq = make([]int32, in.T)
	in.last = make([]int32, in.T)
	in.row = make([]int32, in.T)
	in.out = make([]int32, in.O)
	last := make([]int, spec.Sequences)
	maxPos := 0
	contiguous := true
	for i, p := range batch.Positions {
		s := batch.Seq(i)
		if p < 0 || p >= spec.Context {
			return nil, fmt.Errorf("position %d outside the context of %d", p, spec.Context)
		}
		if s < 0 || s >= spec.Sequences {
			return nil, fmt.Errorf("sequence %d outside the cache's %d", s, spec.Sequences)
		}
		if i > 0 && (s != batch.Seq(0) || p != batch.Positions[0]+i) {
			contiguous = false
		}
		in.tok[i] = int32(batch.Tokens[i])
		in.pos[i] = int32(p)
		in.seq[i] = int32(s)
		in.row[i] = int32(s*c.rowsPerSeq + p)
		last[s] = max(last[s], p)
		maxPos = max(maxPos, p)
	}
	for i := range n {
		in.last[i] = int32(last[batch.Seq(i)])
	}
	for i := n; i < in.T; i++ {
		in.row[i] = -1
	}
	for i, r := range batch.Outputs {
		if r < 0 || r >= n {
			return nil, fmt.Errorf("output row %d of %d", r, n)
		}
		in.out[i] = int32(r)
	}
	in.CB = ctxBucket(maxPos+1, spec.Context)
	in.start = in.row[0]
	// Padded rows land in the sequence's slack: never past its rows.
	in.useDUS = b.dus && contiguous && batch.Positions[0]+in.T <= c.rowsPerSeq
	return in, nil
}

// opError carries a shape error out of family code.
type opError struct{ error }

func fail(format string, args ...any) { panic(opError{fmt.Errorf(format, args...)}) }

// float32 data of a []float32 as bytes, for signatures.
func f32bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
