package kernels

import (
	"sync"

	"github.com/goformer/goformer/weights"
)

// floatKernels are the tiled matrix kernels for F32, F16 and BF16 weights of
// one kernel set (kernelSet.float). They live apart from kernelSet's other
// fields so that quantized and float kernels can evolve independently.
type floatKernels struct {
	// gemvRows sets out[r] = Σ_c W[r,c]·x[c] for len(out) rows starting at
	// w (row stride ws elements), each row computed exactly as the gemm and
	// gemv kernels compute it (see matMulFloat); nil where the set has
	// none (then gemvRowsHalf is nil too).
	gemvRowsF32  func(out []float32, w []float32, ws int, x []float32)
	gemvRowsHalf [2]func(out []float32, w []uint16, ws int, x []float32) // [0] F16, [1] BF16
	// tileF32[nr] and tileHalf[0: F16, 1: BF16][nr] (nr ≤ tileNR, nil where
	// the set has none) compute, for weight rows i < 4 and input rows
	// j < nr, one chunk v = Σ_{c<kn} w[i·ws+c]·x[j·xs+c] (kn ≤ kChunk) as
	// the row-streaming kernels compute it, and set out[j·os+i] = v, or add
	// v to it (add).
	tileF32  [tileNR + 1]func(out []float32, os int, w []float32, ws int, x []float32, xs, kn int, add bool)
	tileHalf [2][tileNR + 1]func(out []float32, os int, w []uint16, ws int, x []float32, xs, kn int, add bool)
	// bf16Dot, where non-nil, multiplies BF16 weights against activations
	// rounded to bfloat16 (float_gemm.go) for MatMul and MatVec alike.
	bf16Dot *bf16DotKernels
}

// goFloatKernels is the plain-Go reference.
var goFloatKernels = floatKernels{}

// curFloat are the float kernels in use (see useKernels).
var curFloat floatKernels

// floatRowsJob is one product of float weights with n < 4 input rows (a
// MatVec when decoding), row by row: on the row-streaming kernels where the
// set has them, else on the plain-Go gemv (floatGemvRows). Its loop body is
// bound once, so that decoding hands the pool no new closure per call (jobs
// are recycled through floatRowsJobs).
type floatRowsJob struct {
	out, x []float32
	w      Mat
	n      int
	res    [][4]float32 // plain-Go gemv: scratch of the chunk starting at row lo, res[lo]
	run    func(lo, hi int)
}

var floatRowsJobs = sync.Pool{New: func() any {
	j := new(floatRowsJob)
	j.run = j.rows
	return j
}}

// rows computes rows [lo, hi) of every input row.
func (j *floatRowsJob) rows(lo, hi int) {
	cols, rows := j.w.Cols, j.w.Rows
	for i := range j.n {
		if curFloat.gemvRowsF32 != nil {
			floatRows(j.out[i*rows+lo:i*rows+hi], j.w, lo, j.x[i*cols:(i+1)*cols])
		} else {
			floatGemvRows(&j.res[lo], j.out, j.w, j.x, i, lo, hi)
		}
	}
}

// floatRows sets out[i] = row r0+i of w (F32, F16 or BF16) · x for
// i < len(out) with the row-streaming kernel of w's type, which must exist
// (curFloat.gemvRowsF32 != nil).
func floatRows(out []float32, w Mat, r0 int, x []float32) {
	cols := w.Cols
	switch w.Type {
	case weights.F32:
		curFloat.gemvRowsF32(out, asF32(w.Data)[r0*cols:], cols, x)
	case weights.F16:
		curFloat.gemvRowsHalf[0](out, asU16(w.Data)[r0*cols:], cols, x)
	default:
		curFloat.gemvRowsHalf[1](out, asU16(w.Data)[r0*cols:], cols, x)
	}
}

// startFloatRows returns the job of the product of F32/F16/BF16 weights
// with n < 4 input rows, whose loop over the weight rows (j.run) the caller
// runs.
func startFloatRows(out []float32, w Mat, x []float32, n int) *floatRowsJob {
	j := floatRowsJobs.Get().(*floatRowsJob)
	j.out, j.w, j.x, j.n = out, w, x, n
	if curFloat.gemvRowsF32 == nil && len(j.res) < w.Rows {
		j.res = make([][4]float32, w.Rows)
	}
	return j
}

// release drops the call's references and returns j to its pool.
func (j *floatRowsJob) release() {
	j.out, j.w, j.x = nil, Mat{}, nil
	floatRowsJobs.Put(j)
}
