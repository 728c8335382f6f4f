package kernels

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/goformer/goformer/weights"
)

// With Mat.RoundBF16 (or SetBF16Activations(true) for every matrix), BF16
// weights on CPUs with AVX512_BF16 are
// multiplied, as llama.cpp does, against the activations rounded to
// bfloat16 (nearest even), with VDPBF16PS: two bfloat16 products per fp32
// lane and instruction, no weight conversion. The numerics are those of
// bf16DotChunkGo: each chunk of kChunk columns sums in 16 fp32 lanes, lane
// j taking the column pairs (2j, 2j+1) mod 32, odd column first, then
// reduces as reduce16; the chunks are summed in order. The gemm and the
// row-streaming gemv kernels both compute exactly that, so MatMul row i is
// still MatVec of input row i bit for bit. Rounding x to bfloat16 changes
// each product by at most 2⁻⁸ of its magnitude.
//
// By default BF16 weights multiply float32 activations exactly like F32
// weights holding the same values (the tile kernels below, or the row
// kernels), which other backends' equality tests rely on.

// bf16Activations is SetBF16Activations' setting.
var bf16Activations atomic.Bool

// SetBF16Activations chooses, for the rest of the process, whether MatMul
// and MatVec of every BF16 matrix (as if each had Mat.RoundBF16 set; a
// process-wide switch for tests and benchmarks — models set RoundBF16 on
// their own matrices) round the activations to bfloat16 and use the
// CPU's bfloat16 dot-product instructions (AVX512_BF16, where present):
// about 1.6-1.9× faster prompt processing and as llama.cpp computes, but
// each product is off by up to 2⁻⁸ relatively. Off by default. Like
// DisableSIMD, call it before any kernel runs: results within a process
// are consistent only if the setting does not change.
func SetBF16Activations(on bool) { bf16Activations.Store(on) }

// bf16DotFor returns the BF16-activation kernels in use for w, or nil
// where w is not BF16 or neither w.RoundBF16 nor SetBF16Activations asks
// for them.
func bf16DotFor(w Mat) *bf16DotKernels {
	if w.Type != weights.BF16 || !w.RoundBF16 && !bf16Activations.Load() {
		return nil
	}
	return curFloat.bf16Dot
}

// bf16DotKernels are the kernels of the BF16-activation path
// (floatKernels.bf16Dot).
type bf16DotKernels struct {
	// toBF16 sets dst[i] = x[i] rounded to bfloat16 (toBF16Go).
	toBF16 func(dst []uint16, x []float32)
	// gemvRows sets out[r] = Σ_c w[r·ws+c]·x[c] for r < len(out), c <
	// len(x) (bf16DotRowGo).
	gemvRows func(out []float32, w []uint16, ws int, x []uint16)
	// gemm[nr] computes, for weight rows i < 4 and input rows j < nr, one
	// chunk v = Σ_{c<kn} w[i·ws+c]·x[j·xs+c] (kn ≤ kChunk) and sets
	// out[j·os+i] = v, or adds v to it (add).
	gemm [tileNR + 1]func(out []float32, os int, w []uint16, ws int, x []uint16, xs, kn int, add bool)
}

// tileNR is the most input rows of one tile kernel call.
const tileNR = 6

// tilePanel is how many weight rows (a multiple of 4) one pass over the
// input rows covers: 128 rows × kChunk columns = 256 KB of BF16 (512 KB of
// F32) stay in L2 while each group of tileNR input rows (12–24 KB) sits in
// L1 and the panel's rows stream past it 4 at a time.
const tilePanel = 128

// toBF16Go rounds x to bfloat16 as VCVTNEPS2BF16 does: nearest even,
// zero and denormal inputs to a zero of the same sign, NaN quieted.
func toBF16Go(dst []uint16, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		b := math.Float32bits(v)
		if b&0x7f800000 == 0 {
			dst[i] = uint16(b>>16) & 0x8000
			continue
		}
		dst[i] = f32ToBF16(v)
	}
}

// dazBF16 is bfloat16 h as float32, denormals read as zero.
func dazBF16(h uint16) float32 {
	if h&0x7f80 == 0 {
		h &= 0x8000
	}
	return bf16ToF32(h)
}

// ftz flushes a denormal result to zero of the same sign.
func ftz(v float32) float32 {
	if b := math.Float32bits(v); b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return v
}

// reduce16 sums 16 lanes as the kernels do:
// ((e0+e1)+(e2+e3))+((e4+e5)+(e6+e7)) with e_i = a_i+a_{i+8}.
func reduce16(a *[16]float32) float32 {
	var e [8]float32
	for i := range e {
		e[i] = a[i] + a[i+8]
	}
	return ((e[0] + e[1]) + (e[2] + e[3])) + ((e[4] + e[5]) + (e[6] + e[7]))
}

// bf16DotChunkGo is Σ w[c]·x[c] over one chunk (len(w) ≤ kChunk) with
// VDPBF16PS arithmetic: lane (c/2) mod 16 adds the product of column c+1,
// then of column c, each sum rounded to float32 (products of two bfloat16
// are exact), denormals flushed.
func bf16DotChunkGo(w, x []uint16) float32 {
	x = x[:len(w)]
	var acc [16]float32
	for c := 0; c < len(w); c += 2 {
		l := c / 2 % 16
		var odd float32
		if c+1 < len(w) {
			odd = dazBF16(w[c+1]) * dazBF16(x[c+1])
		}
		a := ftz(acc[l] + odd)
		acc[l] = ftz(a + dazBF16(w[c])*dazBF16(x[c]))
	}
	return reduce16(&acc)
}

// bf16DotRowGo is Σ w[c]·x[c] over all columns: the chunks of kChunk
// summed in order.
func bf16DotRowGo(w, x []uint16) float32 {
	var s float32
	for k0 := 0; k0 < len(x); k0 += kChunk {
		k1 := min(len(x), k0+kChunk)
		v := bf16DotChunkGo(w[k0:k1], x[k0:k1])
		if k0 == 0 {
			s = v
		} else {
			s += v
		}
	}
	return s
}

// gemvRowsBF16DotGo is the plain-Go bf16DotKernels.gemvRows.
func gemvRowsBF16DotGo(out []float32, w []uint16, ws int, x []uint16) {
	for r := range out {
		out[r] = bf16DotRowGo(w[r*ws:r*ws+len(x)], x)
	}
}

// gemmBF16DotGo is the plain-Go bf16DotKernels.gemm[nr].
func gemmBF16DotGo(nr int, out []float32, os int, w []uint16, ws int, x []uint16, xs, kn int, add bool) {
	for j := range nr {
		for i := range 4 {
			v := bf16DotChunkGo(w[i*ws:i*ws+kn], x[j*xs:j*xs+kn])
			if add {
				out[j*os+i] += v
			} else {
				out[j*os+i] = v
			}
		}
	}
}

// tileJob is one MatMul of F32/F16/BF16 weights on the tile kernels
// (floatKernels.tile*, or bf16Dot's gemm), its loop body bound once and its
// buffer kept (jobs are recycled through tileJobs), so that steady-state
// calls allocate nothing.
type tileJob struct {
	dot  *bf16DotKernels // non-nil: BF16 weights against xb
	out  []float32
	x    []float32
	xb   []uint16 // x rounded to bfloat16 (dot)
	w    Mat
	n    int
	run  func(lo, hi int)
	conv func(lo, hi int)
}

var tileJobs = sync.Pool{New: func() any {
	j := new(tileJob)
	j.run = j.rowsRange
	j.conv = j.convert
	return j
}}

// matMulTiled is MatMul of F32/F16/BF16 weights on the tile kernels: BF16
// weights on the bf16Dot kernels for any n where bf16DotFor asks for them,
// float weights for n > 1
// where the kernel set has tile kernels. It reports false, computing
// nothing, where it does not apply.
func matMulTiled(p *Pool, out []float32, w Mat, x []float32, n int) bool {
	j := startTiled(p, out, w, x, n)
	if j == nil {
		return false
	}
	p.For(w.Rows, j.run)
	j.release()
	return true
}

// startTiled prepares matMulTiled's job, the input rows rounded to bfloat16
// where the bf16Dot kernels apply, leaving its loop over the weight rows
// (j.run) to the caller; nil where the tile kernels do not apply.
func startTiled(p *Pool, out []float32, w Mat, x []float32, n int) *tileJob {
	j := (*tileJob)(nil)
	switch dot := bf16DotFor(w); {
	case dot != nil:
		j = tileJobs.Get().(*tileJob)
		j.dot = dot
		if cap(j.xb) < len(x) {
			j.xb = make([]uint16, len(x))
		}
		j.xb = j.xb[:len(x)]
	case n > 1 && curFloat.tileF32[1] != nil:
		j = tileJobs.Get().(*tileJob)
	default:
		return nil
	}
	j.out, j.x, j.w, j.n = out, x, w, n
	if j.dot != nil {
		if n > 1 {
			p.For(n, j.conv)
		} else {
			j.convert(0, 1)
		}
	}
	return j
}

// release drops the call's references and returns j to its pool.
func (j *tileJob) release() {
	j.dot, j.out, j.x, j.w = nil, nil, nil, Mat{}
	tileJobs.Put(j)
}

// convert rounds input rows [lo, hi) to bfloat16.
func (j *tileJob) convert(lo, hi int) {
	c := j.w.Cols
	j.dot.toBF16(j.xb[lo*c:hi*c], j.x[lo*c:hi*c])
}

// rowsRange computes the outputs of weight rows [lo, hi) for every input
// row: per chunk of kChunk columns, per panel of tilePanel weight rows, per
// group of up to tileNR input rows, 4 weight rows at a time; the last hi-lo
// mod 4 weight rows (and every row of a single input) on the row-streaming
// kernel, whose per-output arithmetic is the same.
func (j *tileJob) rowsRange(lo, hi int) {
	rows, cols, n := j.w.Rows, j.w.Cols, j.n
	r4 := lo
	if n > 1 {
		r4 = lo + (hi-lo)&^3
	}
	for k0 := 0; k0 < cols && r4 > lo; k0 += kChunk {
		kn := min(kChunk, cols-k0)
		for p0 := lo; p0 < r4; p0 += tilePanel {
			p1 := min(r4, p0+tilePanel)
			for i := 0; i < n; i += tileNR {
				m := min(tileNR, n-i)
				for r := p0; r < p1; r += 4 {
					o, wo, xo := j.out[i*rows+r:], r*cols+k0, i*cols+k0
					switch {
					case j.dot != nil:
						j.dot.gemm[m](o, rows, asU16(j.w.Data)[wo:], cols, j.xb[xo:], cols, kn, k0 > 0)
					case j.w.Type == weights.F32:
						curFloat.tileF32[m](o, rows, asF32(j.w.Data)[wo:], cols, j.x[xo:], cols, kn, k0 > 0)
					case j.w.Type == weights.F16:
						curFloat.tileHalf[0][m](o, rows, asU16(j.w.Data)[wo:], cols, j.x[xo:], cols, kn, k0 > 0)
					default:
						curFloat.tileHalf[1][m](o, rows, asU16(j.w.Data)[wo:], cols, j.x[xo:], cols, kn, k0 > 0)
					}
				}
			}
		}
	}
	if r4 == hi {
		return
	}
	for i := range n {
		o := j.out[i*rows+r4 : i*rows+hi]
		if j.dot != nil {
			j.dot.gemvRows(o, asU16(j.w.Data)[r4*cols:], cols, j.xb[i*cols:(i+1)*cols])
		} else {
			floatRows(o, j.w, r4, j.x[i*cols:(i+1)*cols])
		}
	}
}

// RoundsBF16 reports whether Mat.RoundBF16 takes effect with the kernels in
// use (AVX512_BF16 present and SIMD on); where not, BF16 products stay exact.
func RoundsBF16() bool { return curFloat.bf16Dot != nil }
