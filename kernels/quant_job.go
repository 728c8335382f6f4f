package kernels

import (
	"sync"
	"unsafe"

	"github.com/goformer/goformer/weights"
)

// quantJob is the state of one matMulQ8 call, read by its pool chunks. Jobs
// are pooled with their scratch buffers, and their loop bodies are bound
// once when a job is made (method values), so that a warm call allocates
// nothing: decoding calls MatVec hundreds of times per token.
type quantJob struct {
	out []float32
	w   Mat
	x   []float32
	n   int

	// Tiled kernels (Q8_0; Q4_0 block sums): packed activations a, as bytes per row.
	a            []byte
	as, np, tail int
	ks           *[4]gemmQFunc
	kks          *[4]gemmKFunc  // tiled K-quant kernels (Q6_K)
	kps          *[2]gemmKPFunc // tiled kernels on pairs of input rows (Q4_K)
	side         []byte         // their side records (packQ4KSide)
	ss           int            // bytes per pair of input rows in side
	gemv         gemvQFunc
	full, units  int // whole groups of 4 weight rows; groups including a partial one
	panel        int // groups per kernel call (Q4_0 block sums: weight rows per packed panel)

	// Per-row dot kernels: activation blocks and the dots of the weight type.
	nb, tile int
	a8       []blockQ8
	a8K      []blockQ8K
	dot8     func(w []byte, a []blockQ8) float32
	dot8x4   func(res *[4]float32, w []byte, a []blockQ8, nb int)
	dotK     func(w []byte, a []blockQ8K) float32
	dotKx4   func(res *[4]float32, w []byte, a []blockQ8K, nb int)

	// Scratch, kept between calls.
	packBuf []byte // 64-byte aligned backing of a
	compBuf []byte // 64-byte aligned backing of a in the compact layout (gemvCompactPairs)
	sideBuf []byte // 64-byte aligned backing of side
	q8Buf   []blockQ8
	ds8     []float32 // the scales of each tile's runs of eight input rows (q8Scales8) at i·nb
	q8KBuf  []blockQ8K
	// resBuf holds each chunk's small result array, at 16·lo (chunks are
	// disjoint, so by their first index): one on the stack would escape
	// through the kernel's function value and allocate per call.
	resBuf []float32

	// Loop bodies bound once.
	packFn, gemvFn, unitsFn, tokensFn func(lo, hi int)
	quant8Fn, quantKFn, quantKPFn     func(lo, hi int)
	gemv8Fn, gemvKFn                  func(lo, hi int)
	rows8Fn, rowsKFn                  func(lo, hi int)
	kRowsFn, kTokensFn                func(lo, hi int)
	q4GemvFn, q4PackFn, q4PanelsFn    func(lo, hi int)
}

var quantJobs = sync.Pool{New: func() any { return newQuantJob() }}

func newQuantJob() *quantJob {
	j := new(quantJob)
	j.packFn = j.pack
	j.gemvFn = j.gemvRows
	j.unitsFn = j.tiledUnits
	j.tokensFn = j.tiledTokens
	j.quant8Fn = j.quant8
	j.quantKFn = j.quantK
	j.quantKPFn = j.quantKP
	j.gemv8Fn = j.gemv8
	j.gemvKFn = j.gemvK
	j.rows8Fn = j.rows8
	j.rowsKFn = j.rowsK
	j.kRowsFn = j.tiledKRows
	j.kTokensFn = j.tiledKTokens
	j.q4GemvFn = j.q4Gemv
	j.q4PackFn = j.q4Pack
	j.q4PanelsFn = j.q4Panels
	return j
}

// release drops the call's references and returns j to the pool.
func (j *quantJob) release() {
	j.out, j.x, j.w, j.a, j.a8, j.a8K = nil, nil, Mat{}, nil, nil, nil
	j.ks, j.kks, j.kps, j.side, j.gemv, j.dot8, j.dot8x4, j.dotK, j.dotKx4 = nil, nil, nil, nil, nil, nil, nil, nil, nil
	quantJobs.Put(j)
}

// packed returns j's packed-activation buffer of n bytes, 64-byte aligned.
func (j *quantJob) packed(n int) []byte { return aligned(&j.packBuf, n) }

// aligned returns (*buf)[:n], first replacing *buf with a 64-byte aligned
// buffer if it is too small.
func aligned(buf *[]byte, n int) []byte {
	if cap(*buf) < n {
		s := make([]byte, n+64)
		off := int(-uintptr(unsafe.Pointer(&s[0])) & 63)
		*buf = s[off : off+n : off+n]
	}
	return (*buf)[:n]
}

// results returns the result scratch of the chunk starting at index lo.
func (j *quantJob) results(lo int) *[16]float32 {
	return (*[16]float32)(j.resBuf[16*lo : 16*lo+16])
}

// growResults makes room for chunks starting at indices below n.
func (j *quantJob) growResults(n int) {
	if len(j.resBuf) < 16*n {
		j.resBuf = make([]float32, 16*n)
	}
}

// forRows runs fn over the n input rows, in parallel when n > 1.
func forRows(p *Pool, n int, fn func(lo, hi int)) {
	if n == 1 {
		fn(0, 1)
		return
	}
	p.For(n, fn)
}

// matMulQ8 multiplies quantized weights with the input rows quantized to
// 8-bit activation blocks, using integer dot products.
func matMulQ8(p *Pool, out []float32, w Mat, x []float32, n int) {
	j := quantJobs.Get().(*quantJob)
	defer j.release()
	if fn := j.start(p, out, w, x, n); fn != nil {
		p.For(w.Rows, fn)
	}
}

// start computes matMulQ8 on j, except that for one input row (n == 1) it
// stops after quantizing the activations and returns the loop over the
// weight rows, for the caller to run (MatVecs runs several in one);
// otherwise it returns nil.
func (j *quantJob) start(p *Pool, out []float32, w Mat, x []float32, n int) func(lo, hi int) {
	j.out, j.w, j.x, j.n = out, w, x, n
	switch w.Type {
	case weights.Q8_0, weights.Q4_0:
		if w.Type == weights.Q8_0 && curQuant.gemmQ8_0[0] != nil {
			return j.matMulQ0(p, &curQuant.gemmQ8_0, curQuant.gemvQ8_0)
		}
		j.nb = w.Cols / 32
		if cap(j.q8Buf) < n*j.nb {
			j.q8Buf = make([]blockQ8, n*j.nb)
		}
		j.a8 = j.q8Buf[:n*j.nb]
		forRows(p, n, j.quant8Fn)
		if w.Type == weights.Q4_0 && curQuant.gemvQ4B != nil {
			return j.matMulQ4B(p)
		}
		j.dot8, j.dot8x4 = dotQ8_0, dotQ8_0x4
		if w.Type == weights.Q4_0 {
			j.dot8, j.dot8x4 = dotQ4_0, dotQ4_0x4
		}
		if n == 1 {
			return j.gemv8Fn
		}
		j.tile = batchTile(j.nb*int(unsafe.Sizeof(blockQ8{})), n)
		if w.Type == weights.Q8_0 && curQuant.dotQ8_0x8 != nil {
			j.scales8()
		}
		j.growResults(w.Rows)
		p.For(w.Rows, j.rows8Fn)
	case weights.Q4_K, weights.Q6_K:
		j.nb = w.Cols / 256
		if n > 1 && w.Type == weights.Q4_K && curQuant.gemmQ4K[0] != nil {
			j.matMulKP(p, &curQuant.gemmQ4K)
			return nil
		}
		if cap(j.q8KBuf) < n*j.nb {
			j.q8KBuf = make([]blockQ8K, n*j.nb)
		}
		j.a8K = j.q8KBuf[:n*j.nb]
		forRows(p, n, j.quantKFn)
		j.dotK, j.dotKx4 = dotQ4K, dotQ4Kx4
		if w.Type == weights.Q6_K {
			j.dotK, j.dotKx4 = dotQ6K, dotQ6Kx4
		}
		if n == 1 {
			if w.Type == weights.Q4_K && curQuant.gemvQ4K != nil {
				q4KGemvOrder(j.a8K)
			}
			return j.gemvKFn
		}
		if w.Type == weights.Q6_K && curQuant.gemmQ6K[0] != nil {
			j.matMulK(p, &curQuant.gemmQ6K)
			return nil
		}
		j.tile = batchTile(j.nb*int(unsafe.Sizeof(blockQ8K{})), n)
		j.growResults(w.Rows)
		p.For(w.Rows, j.rowsKFn)
	default:
		panic("kernels: no 8-bit path for " + w.Type.String())
	}
	return nil
}

func (j *quantJob) quant8(lo, hi int) {
	nb, cols := j.nb, j.w.Cols
	for i := lo; i < hi; i++ {
		quantizeQ8Act(j.a8[i*nb:(i+1)*nb], j.x[i*cols:(i+1)*cols])
	}
}

func (j *quantJob) quantK(lo, hi int) {
	nb, cols := j.nb, j.w.Cols
	for i := lo; i < hi; i++ {
		quantizeQ8KAct(j.a8K[i*nb:(i+1)*nb], j.x[i*cols:(i+1)*cols])
	}
}

// gemv8 sets out[r] = dot(row r, a) for weight rows [lo, hi): the
// matrix-vector product of decoding, with no per-row work beyond the dot.
func (j *quantJob) gemv8(lo, hi int) {
	if j.w.Type == weights.Q8_0 && curQuant.gemvQ8 != nil {
		rb := j.w.rowBytes()
		curQuant.gemvQ8(j.out[lo:hi], j.w.Data[lo*rb:hi*rb], rb, j.a8)
		return
	}
	gemvBlocks(j, lo, hi, j.a8, j.dot8)
}

// gemvK is gemv8 for K-quants, on the set's decoding kernel for the type
// where it has one.
func (j *quantJob) gemvK(lo, hi int) {
	gemv := curQuant.gemvQ4K
	if gemv == nil {
		gemv = curQuant.gemvQ4KR
	}
	if j.w.Type == weights.Q6_K {
		gemv = curQuant.gemvQ6K
		if gemv == nil {
			gemv = curQuant.gemvQ6KR
		}
	}
	if gemv != nil {
		rb := j.w.rowBytes()
		gemv(j.out[lo:hi], j.w.Data[lo*rb:], rb, j.a8K)
		return
	}
	gemvBlocks(j, lo, hi, j.a8K, j.dotK)
}

// rows8 computes weight rows [lo, hi) for all input rows, tile input rows
// at a time, 4 input rows per dot call.
func (j *quantJob) rows8(lo, hi int) {
	var x8 func(*[8]float32, []byte, []blockQ8, []float32, int)
	var ds8 []float32
	if j.w.Type == weights.Q8_0 && curQuant.dotQ8_0x8 != nil {
		x8, ds8 = curQuant.dotQ8_0x8, j.ds8 // filled by start (scales8)
	}
	rowsBlocks(j, lo, hi, j.a8, j.dot8, j.dot8x4, x8, ds8)
}

// scales8 fills j.ds8 for the runs of eight input rows that rowsBlocks
// gives dotQ8_0x8 (from each tile's start).
func (j *quantJob) scales8() {
	n, nb := j.n, j.nb
	if cap(j.ds8) < n*nb {
		j.ds8 = make([]float32, n*nb)
	}
	j.ds8 = j.ds8[:n*nb]
	for i0 := 0; i0 < n; i0 += j.tile {
		i1 := min(n, i0+j.tile)
		for i := i0; i+8 <= i1; i += 8 {
			q8Scales8(j.ds8[i*nb:(i+8)*nb], j.a8[i*nb:(i+8)*nb], nb)
		}
	}
}

// q8Scales8 sets ds[8b+k] to a[k·nb+b].d: eight activation rows' scales by
// block.
func q8Scales8(ds []float32, a []blockQ8, nb int) {
	for k := range 8 {
		for b, blk := range a[k*nb : (k+1)*nb] {
			ds[8*b+k] = blk.d
		}
	}
}

// rowsK is rows8 for K-quants.
func (j *quantJob) rowsK(lo, hi int) {
	var x8 func(*[8]float32, []byte, []blockQ8K, []float32, int)
	if j.w.Type == weights.Q4_K {
		x8 = curQuant.dotQ4Kx8
	}
	rowsBlocks(j, lo, hi, j.a8K, j.dotK, j.dotKx4, x8, nil)
}

// gemvBlocks is gemv8 / gemvK over activation blocks of either kind.
func gemvBlocks[B blockQ8 | blockQ8K](j *quantJob, lo, hi int, a []B, dot func([]byte, []B) float32) {
	rb := j.w.rowBytes()
	o := j.out[lo:hi]
	rows := j.w.Data[lo*rb : hi*rb]
	for r := range o {
		o[r] = dot(rows[r*rb:(r+1)*rb:(r+1)*rb], a)
	}
}

// rowsBlocks is rows8 / rowsK over activation blocks of either kind.
// ds8 is the scales dot8 takes (scales8), nil for dots that take none.
func rowsBlocks[B blockQ8 | blockQ8K](j *quantJob, lo, hi int, a []B, dot func([]byte, []B) float32, dot4 func(*[4]float32, []byte, []B, int), dot8 func(*[8]float32, []byte, []B, []float32, int), ds8 []float32) {
	n, nb, rows, out := j.n, j.nb, j.w.Rows, j.out
	res := (*[4]float32)(j.results(lo)[:4])
	res8 := (*[8]float32)(j.results(lo)[:8])
	// Runs of rc weight rows (rowRunBytes) take each run of input rows in
	// turn, so that an input row's results are stored rc at a time into
	// adjacent floats instead of one per cache line.
	rc := max(1, min(16, rowRunBytes/j.w.rowBytes()))
	for i0 := 0; i0 < n; i0 += j.tile {
		i1 := min(n, i0+j.tile)
		for r0 := lo; r0 < hi; r0 += rc {
			r1 := min(hi, r0+rc)
			i := i0
			for ; dot8 != nil && i+8 <= i1; i += 8 {
				var ds []float32
				if ds8 != nil {
					ds = ds8[i*nb : (i+8)*nb]
				}
				for r := r0; r < r1; r++ {
					dot8(res8, j.w.row(r), a[i*nb:(i+8)*nb], ds, nb)
					for k, v := range res8 {
						out[(i+k)*rows+r] = v
					}
				}
			}
			for ; i+4 <= i1; i += 4 {
				for r := r0; r < r1; r++ {
					dot4(res, j.w.row(r), a[i*nb:(i+4)*nb], nb)
					out[i*rows+r] = res[0]
					out[(i+1)*rows+r] = res[1]
					out[(i+2)*rows+r] = res[2]
					out[(i+3)*rows+r] = res[3]
				}
			}
			for ; i < i1; i++ {
				for r := r0; r < r1; r++ {
					out[i*rows+r] = dot(j.w.row(r), a[i*nb:(i+1)*nb])
				}
			}
		}
	}
}

// rowRunBytes is the weight bytes of a run of rows in rowsBlocks (at
// most 16 rows): with a run of eight input rows it stays in L1.
const rowRunBytes = 16 << 10

// gemvCompactPairs is the most block pairs per row that decoding reads
// from the packed activations (6 KiB at 32 pairs); longer rows go through
// the compact layout (compactQ8Act). On the 2-core VM, Q8_0 products of
// 2048×8192, 1024×16384 and 896×4864 ran 20-26%, 40-50% and 10-30% faster
// on it, 8192×2048 the same (kernels benchmark, fast phases of the VM).
const gemvCompactPairs = 32

// matMulQ0 is matMulQ8 for Q8_0 weights with tiled kernels ks: the
// input rows are packed once, then each 4-row weight panel is multiplied
// with tiles of up to 4 input rows. For one input row it returns the
// decoding loop over the weight rows instead of running it (see start).
func (j *quantJob) matMulQ0(p *Pool, ks *[4]gemmQFunc, gemv gemvQFunc) func(lo, hi int) {
	w, n := j.w, j.n
	j.ks, j.gemv = ks, gemv
	nb := w.Cols / 32
	j.np, j.tail = nb/2, nb%2
	j.as = packedQ8Bytes(j.np, j.tail)
	j.a = j.packed(n * j.as)
	forRows(p, n, j.packFn)

	if n == 1 && gemv != nil {
		if j.np > gemvCompactPairs && curQuant.gemvQ8_0C != nil {
			j.a = compactQ8Act(aligned(&j.compBuf, compactQ8Bytes(j.np, j.tail)), j.a, j.np, j.tail)
			j.gemv = curQuant.gemvQ8_0C
		}
		return j.gemvFn
	}
	rb := w.rowBytes()
	j.full = w.Rows / 4
	j.units = (w.Rows + 3) / 4
	j.panel = j.units
	if n > 4 {
		j.panel = max(1, gemmPanelBytes/(4*rb))
	}
	j.growResults(max(j.units, (n+3)/4))
	if j.units >= 8 || n <= 4 {
		p.For(j.units, j.unitsFn)
		return nil
	}
	p.For((n+3)/4, j.tokensFn)
	return nil
}

func (j *quantJob) pack(lo, hi int) {
	as, cols := j.as, j.w.Cols
	for i := lo; i < hi; i++ {
		packQ8Act(j.a[i*as:(i+1)*as], j.x[i*cols:(i+1)*cols])
	}
}

func (j *quantJob) gemvRows(lo, hi int) {
	rb := j.w.rowBytes()
	j.gemv(j.out[lo:hi], j.w.Data[lo*rb:], rb, hi-lo, j.a, j.np, j.tail)
}

// tiledUnits computes groups [lo, hi) of 4 weight rows for all input rows.
func (j *quantJob) tiledUnits(lo, hi int) { j.tiled(lo, hi, 0, j.n, j.results(lo)) }

// tiledTokens computes all weight rows for input-row tiles [lo, hi).
func (j *quantJob) tiledTokens(lo, hi int) {
	j.tiled(0, j.units, 4*lo, min(j.n, 4*hi), j.results(lo))
}

// tiled computes the rows of groups [u0, u1) (the last possibly partial)
// for input rows [t0, t1), with tmp the chunk's result scratch.
func (j *quantJob) tiled(u0, u1, t0, t1 int, tmp *[16]float32) {
	w, rows, as, n := j.w, j.w.Rows, j.as, j.n
	rb := w.rowBytes()
	for g0 := u0; g0 < min(u1, j.full); g0 += j.panel {
		ng := min(u1, j.full, g0+j.panel) - g0
		for t := t0; t < t1; t += 4 {
			nr := min(4, t1-t)
			j.ks[nr-1](j.out[t*rows+4*g0:], rows, w.Data[4*g0*rb:], rb, ng, j.a[t*as:], as, j.np, j.tail, t == t0 && n <= gemmPrefetchRows)
		}
	}
	if u1 <= j.full {
		return
	}
	for r := 4 * j.full; r < rows; r++ { // the last rows one at a time, repeated 4 times
		for t := t0; t < t1; t += 4 {
			nr := min(4, t1-t)
			j.ks[nr-1](tmp[:], 4, w.Data[r*rb:], 0, 1, j.a[t*as:], as, j.np, j.tail, false)
			for i := range nr {
				j.out[(t+i)*rows+r] = tmp[4*i]
			}
		}
	}
}

// matMulK is matMulQ8 for K-quant weights with tiled kernels ks and n > 1
// quantized input rows: panels of weight rows, each multiplied with tiles
// of up to 4 input rows while it stays in cache.
func (j *quantJob) matMulK(p *Pool, ks *[4]gemmKFunc) {
	j.kks = ks
	j.kSchedule(p)
}

// matMulKP is matMulK for kernels on pairs of input rows: an odd count is
// padded with an all-zero row, and each pair gets its side records.
func (j *quantJob) matMulKP(p *Pool, ks *[2]gemmKPFunc) {
	n, nb := j.n, j.nb
	j.kps = ks
	pad := n + n%2
	if cap(j.q8KBuf) < pad*nb {
		j.q8KBuf = make([]blockQ8K, pad*nb)
	}
	j.a8K = j.q8KBuf[:pad*nb]
	j.ss = nb * q4KSideBytes
	j.side = aligned(&j.sideBuf, pad/2*j.ss)
	forRows(p, n, j.quantKPFn)
	if n%2 == 1 {
		clear(j.a8K[n*nb:])
		packQ4KSide(j.side[n/2*j.ss:], nil, nb, 1)
	}
	j.kSchedule(p)
}

func (j *quantJob) quantKP(lo, hi int) {
	j.quantK(lo, hi)
	nb := j.nb
	for i := lo; i < hi; i++ {
		packQ4KSide(j.side[i/2*j.ss:], j.a8K[i*nb:(i+1)*nb], nb, i%2)
	}
}

// kSchedule runs the tiled K-quant kernels over the pool: by weight rows
// when there are enough, else by tiles of input rows.
func (j *quantJob) kSchedule(p *Pool) {
	w, n := j.w, j.n
	j.panel = w.Rows
	if n > 4 {
		j.panel = max(1, gemmPanelBytes/w.rowBytes())
	}
	if w.Rows >= 32 || n <= 4 {
		p.For(w.Rows, j.kRowsFn)
		return
	}
	p.For((n+3)/4, j.kTokensFn)
}

// tiledKRows computes weight rows [lo, hi) for all input rows.
func (j *quantJob) tiledKRows(lo, hi int) { j.tiledK(lo, hi, 0, j.n) }

// tiledKTokens computes all weight rows for input-row tiles [lo, hi).
func (j *quantJob) tiledKTokens(lo, hi int) { j.tiledK(0, j.w.Rows, 4*lo, min(j.n, 4*hi)) }

// tiledK computes weight rows [r0, r1) for input rows [t0, t1) (t0 a
// multiple of 4).
func (j *quantJob) tiledK(r0, r1, t0, t1 int) {
	rows, nb := j.w.Rows, j.nb
	rb := j.w.rowBytes()
	for p0 := r0; p0 < r1; p0 += j.panel {
		nr := min(r1, p0+j.panel) - p0
		for t := t0; t < t1; t += 4 {
			k := min(4, t1-t)
			out, w, a := j.out[t*rows+p0:], j.w.Data[p0*rb:], j.a8K[t*nb:]
			if j.kps != nil {
				j.kps[(k+1)/2-1](out, rows, w, rb, nr, a, nb, nb, j.side[t/2*j.ss:], j.ss, k)
			} else {
				j.kks[k-1](out, rows, w, rb, nr, a, nb, nb)
			}
		}
	}
}
