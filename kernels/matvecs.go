package kernels

import (
	"fmt"
	"sync"

	"github.com/goformer/goformer/weights"
)

// MaxMatVecs is the most matrices one MatVecs call takes.
const MaxMatVecs = 4

// MatVecs sets outs[i] = ws[i]·x for up to MaxMatVecs matrices that share
// the input x, such as the query, key and value projections of one token or
// its gate and up projections. Each output equals MatVec's bit for bit, but
// the rows of all the matrices are split across p in one parallel loop: the
// threads meet once instead of once per matrix, and a small matrix (a
// key projection of a few hundred rows) is not cut into chunks too short to
// stream from memory at full speed. It panics as MatMul does on invalid
// matrices or lengths.
func MatVecs(p *Pool, outs [][]float32, ws []Mat, x []float32) {
	if len(outs) != len(ws) || len(ws) > MaxMatVecs {
		panic(fmt.Sprintf("kernels: MatVecs of %d matrices into %d outputs (at most %d)", len(ws), len(outs), MaxMatVecs))
	}
	work, size := 0, 0
	for i, w := range ws {
		if err := w.Validate(); err != nil {
			panic(err.Error())
		}
		if len(x) != w.Cols || len(outs[i]) != w.Rows {
			panic(fmt.Sprintf("kernels: MatVecs of %d×%d weights: len(x)=%d, len(out)=%d", w.Rows, w.Cols, len(x), len(outs[i])))
		}
		work += w.Rows * w.Cols
		size += len(w.Data)
	}
	if work < minParallelWork || p.Threads() == 1 || len(ws) == 1 {
		for i, w := range ws {
			MatVec(p, outs[i], w, x)
		}
		return
	}
	j := vecsJobs.Get().(*vecsJob)
	j.n = 0
	rows := 0
	for i, w := range ws {
		if w.Rows == 0 {
			continue
		}
		if w.Cols == 0 {
			clear(outs[i])
			continue
		}
		fn, rel := startMatVec(p, outs[i], w, x)
		if fn == nil {
			continue // computed already
		}
		j.parts[j.n] = vecsPart{fn: fn, rel: rel, lo: rows, hi: rows + w.Rows}
		j.n++
		rows += w.Rows
	}
	p.ForSteps(rows, decodeSteps(p, size), j.run)
	for i := range j.parts[:j.n] {
		if r := j.parts[i].rel; r != nil {
			r.release()
		}
		j.parts[i] = vecsPart{}
	}
	vecsJobs.Put(j)
}

// vecsJob is one MatVecs call: its matrices' row loops laid end to end.
type vecsJob struct {
	parts [MaxMatVecs]vecsPart
	n     int
	run   func(lo, hi int) // j.rows, bound once
}

// vecsPart is one matrix of a MatVecs call: fn computes its output rows
// [lo', hi') for the combined rows [lo+lo', lo+hi').
type vecsPart struct {
	fn     func(lo, hi int)
	rel    releaser
	lo, hi int
}

// releaser returns a job to its pool once its loop has run.
type releaser interface{ release() }

var vecsJobs = sync.Pool{New: func() any {
	j := new(vecsJob)
	j.run = j.rows
	return j
}}

// rows runs the combined rows [lo, hi), each part's share in turn.
func (j *vecsJob) rows(lo, hi int) {
	for _, s := range j.parts[:j.n] {
		if a, b := max(lo, s.lo), min(hi, s.hi); a < b {
			s.fn(a-s.lo, b-s.lo)
		}
	}
}

// decodeSteps is the steps argument of Pool.ForSteps for a matrix-vector
// product of size bytes of weights on p: each thread's last steps are about
// stepBytes (at least a 64th of its range, at most a quarter). A thread that
// finishes early then waits for at most such a step of another, where the
// two steps per thread of For left up to a quarter of a product on the
// project's VM, whose vCPUs run at unequal speeds; a step stays long enough
// to stream from memory at full speed. Lockstep A/B against For's old
// chunks, tg128 on the project's VM: qwen2.5-0.5b Q4 +4%, llama3.2-1b Q4_K
// +1%, the Q8_0 and BF16 files +2-3% where the VM was steady enough to
// tell; shorter steps (32 KiB) made no difference.
func decodeSteps(p *Pool, size int) int {
	const stepBytes = 128 << 10
	return min(64, max(4, size/(p.Threads()*stepBytes)))
}

// matVec is MatMul of one input row: startMatVec's loop, run on p.
func matVec(p *Pool, out []float32, w Mat, x []float32) {
	fn, rel := startMatVec(p, out, w, x)
	if fn != nil {
		p.ForSteps(w.Rows, decodeSteps(p, len(w.Data)), fn)
	}
	if rel != nil {
		rel.release()
	}
}

// startMatVec begins MatVec(p, out, w, x): it does what comes before the
// parallel loop over the weight rows (quantizing or rounding x) and returns
// that loop, for the caller to run, and the job to release after it. Where
// w's path has no such split it computes the whole product and returns a
// nil loop.
func startMatVec(p *Pool, out []float32, w Mat, x []float32) (func(lo, hi int), releaser) {
	switch w.Type {
	case weights.F32, weights.F16, weights.BF16:
		if j := startTiled(p, out, w, x, 1); j != nil {
			return j.run, j
		}
		j := startFloatRows(out, w, x, 1)
		return j.run, j
	default:
		if quantFloatPath {
			matMulDequant(p, out, w, x, 1)
			break
		}
		j := quantJobs.Get().(*quantJob)
		if fn := j.start(p, out, w, x, 1); fn != nil {
			return fn, j
		}
		j.release()
	}
	return nil, nil
}
