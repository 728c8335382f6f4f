// Package kernels holds goformer's CPU compute kernels: matrix-vector and
// matrix-matrix products over weights in their stored (possibly quantized
// GGUF) layout, quantization and dequantization, the worker pool that
// parallelizes them, and the element-wise ops of a transformer layer.
//
// The inner loops have a plain-Go reference implementation and, on amd64,
// AVX2 / AVX-512 (+VNNI) assembly chosen at run time; build with the purego
// tag, or call DisableSIMD, to use the reference only. SIMD reports which is
// in use. Storage is read as little-endian.
package kernels

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/goformer/goformer/weights"
)

// Mat is a row-major weight matrix in its stored layout: Rows outputs × Cols
// inputs, each row Cols elements of Type (quantized rows = Cols/BlockElems
// blocks). Data is read in place (it may be memory-mapped) and never written.
type Mat struct {
	Type       weights.DType
	Rows, Cols int
	Data       []byte
	// RoundBF16, for BF16 weights, rounds the activations to bfloat16 and
	// multiplies with the CPU's bfloat16 dot products (AVX512_BF16, where
	// present), as llama.cpp does: faster, each product off by up to 2⁻⁸
	// relatively. MatMul rows still equal MatVec bit for bit. Ignored for
	// other types and where the CPU lacks the instructions.
	RoundBF16 bool
}

// Supported reports whether the matrix kernels handle weights of type t.
func Supported(t weights.DType) bool {
	switch t {
	case weights.F32, weights.F16, weights.BF16,
		weights.Q8_0, weights.Q4_0, weights.Q4_K, weights.Q6_K:
		return true
	}
	return false
}

// Validate checks that the type is supported, that Cols is a whole number of
// blocks and that len(Data) is exactly Rows×Cols elements of Type.
func (m Mat) Validate() error {
	if !Supported(m.Type) {
		return fmt.Errorf("kernels: weight type %v not supported", m.Type)
	}
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("kernels: negative shape %d×%d", m.Rows, m.Cols)
	}
	if be := m.Type.BlockElems(); m.Cols%be != 0 {
		return fmt.Errorf("kernels: %d columns is not a multiple of the %v block size %d", m.Cols, m.Type, be)
	}
	rb := m.rowBytes()
	if m.Rows > 0 && rb > 0 && m.Rows > (1<<62)/rb {
		return fmt.Errorf("kernels: shape %d×%d overflows", m.Rows, m.Cols)
	}
	if want := m.Rows * rb; len(m.Data) != want {
		return fmt.Errorf("kernels: %v matrix %d×%d needs %d bytes, have %d", m.Type, m.Rows, m.Cols, want, len(m.Data))
	}
	return nil
}

// rowBytes is the storage size of one row.
func (m Mat) rowBytes() int {
	return m.Cols / m.Type.BlockElems() * m.Type.BlockBytes()
}

// row returns the bytes of row r.
func (m Mat) row(r int) []byte {
	rb := m.rowBytes()
	return m.Data[r*rb : (r+1)*rb : (r+1)*rb]
}

// MatVec computes out[r] = Σ_c W[r,c]·x[c] with len(x) = w.Cols and
// len(out) = w.Rows, splitting the rows across p (nil: single-threaded).
// It panics if w is invalid or the lengths do not match.
func MatVec(p *Pool, out []float32, w Mat, x []float32) {
	MatMul(p, out, w, x, 1)
}

// MatMul computes out[i,r] = Σ_c W[r,c]·x[i,c] for n input rows: x is n×Cols
// and out is n×Rows, both row-major, and must not overlap. The weight rows
// are split across p. It panics if w is invalid or the lengths do not match.
//
// Quantized weights are multiplied, as llama.cpp does, against the input
// rows quantized to 8 bits (Q8_0 blocks for Q8_0/Q4_0 weights, 256-element
// Q8_K-style blocks for K-quants) with integer dot products.
//
// Results do not depend on batching or threading: row i of a MatMul is bit
// for bit the MatVec of input row i, whatever n and the pool (for a given
// kernel set, see SIMD).
func MatMul(p *Pool, out []float32, w Mat, x []float32, n int) {
	if err := w.Validate(); err != nil {
		panic(err.Error())
	}
	if n < 0 || len(x) != n*w.Cols || len(out) != n*w.Rows {
		panic(fmt.Sprintf("kernels: MatMul of %d×%d weights with %d rows: len(x)=%d, len(out)=%d", w.Rows, w.Cols, n, len(x), len(out)))
	}
	if n == 0 || w.Rows == 0 {
		return
	}
	if w.Cols == 0 {
		clear(out)
		return
	}
	if w.Rows*w.Cols*n < minParallelWork {
		p = nil // handing work to the pool costs more than it saves
	}
	if n == 1 {
		matVec(p, out, w, x)
		return
	}
	switch w.Type {
	case weights.F32, weights.F16, weights.BF16:
		matMulFloat(p, out, w, x, n)
	default:
		if quantFloatPath {
			matMulDequant(p, out, w, x, n)
		} else {
			matMulQ8(p, out, w, x, n)
		}
	}
}

// minParallelWork is the product size (multiply-adds) under which MatMul
// runs on the calling goroutine alone.
var minParallelWork = 1 << 16

// quantFloatPath switches quantized weights to the reference path that
// dequantizes a block at a time and dots in float32 (tests use both).
var quantFloatPath = false

// tileBudget is the cache budget, in bytes, of one tile of input rows.
var tileBudget = 512 << 10

// batchTile is how many input rows one pass over a weight row covers: the
// input rows of a tile stay in cache while the weight rows stream.
func batchTile(rowBytes, n int) int {
	t := tileBudget / max(rowBytes, 1)
	t = max(4, t&^7) // runs of eight for the eight-row dots
	return min(t, n)
}

// Float products are computed so that each output is the same float32
// number however many input rows the call has (MatVec of one row equals
// that row of a MatMul bit for bit): the columns are summed in chunks of
// kChunk, in order, and within a chunk the gemm and gemv kernels perform the
// same per-output operations.
const (
	kChunk    = 1024 // columns per partial sum
	panelRows = 32   // weight rows converted and kept in cache together
)

// matMulFloat handles F32, F16 and BF16 weights.
func matMulFloat(p *Pool, out []float32, w Mat, x []float32, n int) {
	if matMulTiled(p, out, w, x, n) {
		return
	}
	cols, rows := w.Cols, w.Rows
	if n < 4 { // row by row, on a pooled job: a warm call allocates nothing
		j := startFloatRows(out, w, x, n)
		p.For(rows, j.run)
		j.release()
		return
	}
	// gemvRows computes out[i, r] for r in [r0, r1) from the stored weights.
	gemvRows := func(i, r0, r1 int) { floatGemvRows(new([4]float32), out, w, x, i, r0, r1) }
	// With a row-streaming kernel (same per-row arithmetic), the rows are
	// read one after the other: a single stream, faster from memory than
	// four interleaved rows.
	if curFloat.gemvRowsF32 != nil {
		gemvRows = func(i, r0, r1 int) {
			floatRows(out[i*rows+r0:i*rows+r1], w, r0, x[i*cols:(i+1)*cols])
		}
	}
	groups := n &^ 3 // input rows handled four at a time by gemm (n ≥ 4 here)
	p.For(rows, func(lo, hi int) {
		var panel []float32
		if w.Type != weights.F32 {
			bp := getF32(panelRows * min(kChunk, cols))
			defer putF32(bp)
			panel = *bp
		}
		m := gemmM
		var res [16]float32
		for r0 := lo; r0 < hi; r0 += panelRows {
			r1 := min(hi, r0+panelRows)
			for k0 := 0; k0 < cols; k0 += kChunk {
				kn := min(kChunk, cols-k0)
				// wrow returns row r's chunk and the stride to the next row.
				wrow := func(r int) ([]float32, int) {
					if w.Type == weights.F32 {
						return asF32(w.Data)[r*cols+k0:], cols
					}
					return panel[(r-r0)*kn:], kn
				}
				if w.Type != weights.F32 {
					for r := r0; r < r1; r++ {
						src := asU16(w.row(r))[k0 : k0+kn]
						dst := panel[(r-r0)*kn : (r-r0+1)*kn]
						if w.Type == weights.F16 {
							f16ToF32Slice(dst, src)
						} else {
							bf16ToF32Slice(dst, src)
						}
					}
				}
				put := func(i, r int, v float32) {
					if k0 == 0 {
						out[i*rows+r] = v
					} else {
						out[i*rows+r] += v
					}
				}
				for i := 0; i < groups; i += 4 {
					xs := x[i*cols+k0:]
					r := r0
					for ; r+m <= r1; r += m {
						wr, ws := wrow(r)
						gemmF32(res[:4*m], wr, ws, xs, cols, kn)
						for a := range 4 * m {
							put(i+a%4, r+a/4, res[a])
						}
					}
					for ; r < r1; r++ { // the rest one at a time (stride 0)
						wr, _ := wrow(r)
						gemmF32(res[:4*m], wr, 0, xs, cols, kn)
						for j := range 4 {
							put(i+j, r, res[j])
						}
					}
				}
			}
			for i := groups; i < n; i++ {
				gemvRows(i, r0, r1)
			}
		}
	})
}

// floatGemvAt computes res[j] = Σ_{c<kn} W[r+j·step, k0+c]·xs[c], j < 4
// (step 0 repeats row r), for F32, F16 or BF16 weights w; pf is the
// kernel's prefetch distance in bytes.
func floatGemvAt(res *[4]float32, w Mat, r, step, k0, kn int, xs []float32, pf int) {
	cols := w.Cols
	switch w.Type {
	case weights.F32:
		gemvF32(res, asF32(w.Data)[r*cols+k0:], step*cols, xs, kn, pf)
	case weights.F16:
		gemvF16(res, asU16(w.Data)[r*cols+k0:], step*cols, xs, kn, pf)
	default:
		gemvBF16(res, asU16(w.Data)[r*cols+k0:], step*cols, xs, kn, pf)
	}
}

// Rows shorter than floatQuarterRow bytes go to the gemv kernels four
// far-apart ones at a time, each prefetching floatRowPrefetch bytes on
// (see floatGemvRows); longer ones four adjacent ones, each prefetching
// the next group's row.
const (
	floatQuarterRow  = 8192
	floatRowPrefetch = 2048
)

// floatGemvRows computes out[i, r] = W[r]·x[i] for r in [r0, r1), four rows
// at a time in chunks of kChunk columns (one at a time for the last rows),
// with res as scratch (a local array would escape through the kernel's
// function value and allocate). Where the kernel set asks for it
// (gemvQuarters), rows shorter than floatQuarterRow bytes go in the four
// quarters of the range side by side: one core brings in more from memory
// streaming four far-apart regions than four adjacent rows (as
// gemvQ8_0AVX2). goformer bench tg32, builds alternating, Zen 3 VM:
// qwen2.5-0.5b BF16 (1.75 KiB rows; before, four adjacent rows prefetched
// as one linear stream) 15.6-19.7 → 23.4-24.3 t/s, qwen2.5-0.5b F32 (3.5
// KiB) 8.9-10.7 → 9.4-13.4, llama3.2-1b BF16 (4 KiB) 7.1-9.4 → 7.6-10.8;
// llama3.2-1b F32 (8 KiB rows) was no faster in quarters (3.8-4.5
// against 4.2-5.0) and keeps adjacent rows.
func floatGemvRows(res *[4]float32, out []float32, w Mat, x []float32, i, r0, r1 int) {
	xi := x[i*w.Cols : (i+1)*w.Cols]
	rowBytes := w.Cols * 4
	if w.Type != weights.F32 {
		rowBytes = w.Cols * 2
	}
	if q := (r1 - r0) / 4; gemvQuarters && q > 0 && rowBytes < floatQuarterRow {
		for t := range q {
			floatGemvGroup(res, out[i*w.Rows:], w, xi, r0+t, q, 4, floatRowPrefetch)
		}
		r0 += 4 * q
	}
	for r := r0; r < r1; {
		cnt, step := 4, 1
		if r+4 > r1 {
			cnt, step = 1, 0
		}
		floatGemvGroup(res, out[i*w.Rows:], w, xi, r, step, cnt, 4*step*rowBytes)
		r += cnt
	}
}

// floatGemvGroup sets out[r+j·step] = W[r+j·step]·xi for j < cnt (rows r,
// r+step, …, r+3·step go to the kernel together; step 0 repeats row r),
// in chunks of kChunk columns, the kernel prefetching pf bytes on.
func floatGemvGroup(res *[4]float32, out []float32, w Mat, xi []float32, r, step, cnt, pf int) {
	for k0 := 0; k0 < w.Cols; k0 += kChunk {
		kn := min(kChunk, w.Cols-k0)
		floatGemvAt(res, w, r, step, k0, kn, xi[k0:k0+kn], pf)
		for j := range cnt {
			if k0 == 0 {
				out[r+j*step] = res[j]
			} else {
				out[r+j*step] += res[j]
			}
		}
	}
}

// Scratch float buffers, reused across calls so steady-state inference does
// not allocate.
var f32Pool sync.Pool

func getF32(n int) *[]float32 {
	if v, ok := f32Pool.Get().(*[]float32); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]float32, n)
	return &s
}

func putF32(p *[]float32) { f32Pool.Put(p) }

// asF32 reinterprets little-endian float32 storage (goformer targets
// little-endian hosts; unaligned access is fine on them).
func asF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// asU16 reinterprets little-endian 16-bit storage.
func asU16(b []byte) []uint16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// Plain-Go float kernels. They are the reference for the SIMD versions and
// the fallback on other architectures.

func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotF32x4Go computes res[k] = Σ_{c<cols} w[c]·x[k·stride+c] for k = 0..3.
func dotF32x4Go(res *[4]float32, w, x []float32, cols, stride int) {
	w = w[:cols]
	x0, x1, x2, x3 := x[:cols], x[stride:stride+cols], x[2*stride:2*stride+cols], x[3*stride:3*stride+cols]
	var s0, s1, s2, s3 float32
	for c, v := range w {
		s0 += v * x0[c]
		s1 += v * x1[c]
		s2 += v * x2[c]
		s3 += v * x3[c]
	}
	*res = [4]float32{s0, s1, s2, s3}
}

// gemmF32Go computes res[4i+j] = Σ_{c<cols} w[i·ws+c]·x[j·xs+c] for the
// kernel's weight-row count (one here) and j < 4.
func gemmF32Go(res, w []float32, ws int, x []float32, xs, cols int) {
	dotF32x4Go((*[4]float32)(res[:4]), w, x, cols, xs)
}

// gemvF32Go computes res[i] = Σ_{c<cols} w[i·ws+c]·x[c] for i < 4, summing
// in column order as gemmF32Go does. The last argument, the distance of the
// SIMD kernels' prefetches, does not apply here.
func gemvF32Go(res *[4]float32, w []float32, ws int, x []float32, cols, _ int) {
	x = x[:cols]
	w0, w1, w2, w3 := w[:cols], w[ws:ws+cols], w[2*ws:2*ws+cols], w[3*ws:3*ws+cols]
	var s0, s1, s2, s3 float32
	for c, v := range x {
		s0 += w0[c] * v
		s1 += w1[c] * v
		s2 += w2[c] * v
		s3 += w3[c] * v
	}
	*res = [4]float32{s0, s1, s2, s3}
}

// gemvF16Go is gemvF32Go for float16 weights.
func gemvF16Go(res *[4]float32, w []uint16, ws int, x []float32, cols, _ int) {
	t := f16Lookup()
	x = x[:cols]
	w0, w1, w2, w3 := w[:cols], w[ws:ws+cols], w[2*ws:2*ws+cols], w[3*ws:3*ws+cols]
	var s0, s1, s2, s3 float32
	for c, v := range x {
		s0 += t[w0[c]] * v
		s1 += t[w1[c]] * v
		s2 += t[w2[c]] * v
		s3 += t[w3[c]] * v
	}
	*res = [4]float32{s0, s1, s2, s3}
}

// gemvBF16Go is gemvF32Go for bfloat16 weights.
func gemvBF16Go(res *[4]float32, w []uint16, ws int, x []float32, cols, _ int) {
	x = x[:cols]
	w0, w1, w2, w3 := w[:cols], w[ws:ws+cols], w[2*ws:2*ws+cols], w[3*ws:3*ws+cols]
	var s0, s1, s2, s3 float32
	for c, v := range x {
		s0 += bf16ToF32(w0[c]) * v
		s1 += bf16ToF32(w1[c]) * v
		s2 += bf16ToF32(w2[c]) * v
		s3 += bf16ToF32(w3[c]) * v
	}
	*res = [4]float32{s0, s1, s2, s3}
}

func dotF16Go(a []uint16, b []float32) float32 {
	t := f16Lookup()
	b = b[:len(a)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(a); i += 2 {
		s0 += t[a[i]] * b[i]
		s1 += t[a[i+1]] * b[i+1]
	}
	for ; i < len(a); i++ {
		s0 += t[a[i]] * b[i]
	}
	return s0 + s1
}

func dotBF16Go(a []uint16, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(a); i += 2 {
		s0 += bf16ToF32(a[i]) * b[i]
		s1 += bf16ToF32(a[i+1]) * b[i+1]
	}
	for ; i < len(a); i++ {
		s0 += bf16ToF32(a[i]) * b[i]
	}
	return s0 + s1
}

func f16ToF32SliceGo(dst []float32, src []uint16) {
	t := f16Lookup()
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = t[h]
	}
}

func bf16ToF32SliceGo(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = bf16ToF32(h)
	}
}

// kernelSet is one implementation of the inner loops.
type kernelSet struct {
	name           string
	dotF32         func(a, b []float32) float32
	gemmF32        func(res, w []float32, ws int, x []float32, xs, cols int)
	gemmM          int // weight rows per gemmF32 call
	gemvF32        func(res *[4]float32, w []float32, ws int, x []float32, cols, pf int)
	gemvF16        func(res *[4]float32, w []uint16, ws int, x []float32, cols, pf int)
	gemvBF16       func(res *[4]float32, w []uint16, ws int, x []float32, cols, pf int)
	gemvQuarters   bool // floatGemvRows streams short rows in quarters (see there)
	dotF16         func(a []uint16, b []float32) float32
	dotBF16        func(a []uint16, b []float32) float32
	f16ToF32Slice  func(dst []float32, src []uint16)
	bf16ToF32Slice func(dst []float32, src []uint16)
	dotQ8_0        func(w []byte, a []blockQ8) float32
	dotQ4_0        func(w []byte, a []blockQ8) float32
	dotQ4K         func(w []byte, a []blockQ8K) float32
	dotQ6K         func(w []byte, a []blockQ8K) float32
	absMax         func(x []float32) float32
	quantI8        func(q []int8, x []float32, id float32)
	quantQ8        func(dst []blockQ8, x []float32)
	quantQ8K       func(dst []blockQ8K, x []float32)
	packQ8         func(dst []byte, x []float32)
	dotQ8_0x4      func(res *[4]float32, w []byte, a []blockQ8, nb int)
	dotQ4_0x4      func(res *[4]float32, w []byte, a []blockQ8, nb int)
	dotQ4Kx4       func(res *[4]float32, w []byte, a []blockQ8K, nb int)
	dotQ6Kx4       func(res *[4]float32, w []byte, a []blockQ8K, nb int)
	axpyF32        func(y []float32, a float32, x []float32)
	expShiftSum    func(dst, x []float32, shift float32) float32
	// The element-wise ops of the layers (ops.go) and attention's weighted
	// sums of value rows (vec.go), lengths checked by their callers.
	addF32, mulF32  func(out, a, b []float32)
	sumSquaresF32   func(x []float32) float64
	scaleMulF32     func(out, x, w []float32, s float32)
	scaleMaxF32     func(x []float32, s, m float32) float32
	siluF32         func(dst, x []float32)
	ropePairsF32    func(dst, x, tab []float32, neox bool)
	weightedRowsF32 func(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool)
	quant           quantKernels // quant_kernels.go
	float           floatKernels // float_kernels.go
}

// goKernels is the plain-Go reference implementation.
var goKernels = kernelSet{
	name:            "none (plain Go)",
	dotF32:          dotF32Go,
	gemmF32:         gemmF32Go,
	gemmM:           1,
	gemvF32:         gemvF32Go,
	gemvF16:         gemvF16Go,
	gemvBF16:        gemvBF16Go,
	dotF16:          dotF16Go,
	dotBF16:         dotBF16Go,
	f16ToF32Slice:   f16ToF32SliceGo,
	bf16ToF32Slice:  bf16ToF32SliceGo,
	dotQ8_0:         dotQ8_0Go,
	dotQ4_0:         dotQ4_0Go,
	dotQ4K:          dotQ4KGo,
	dotQ6K:          dotQ6KGo,
	absMax:          absMaxGo,
	quantI8:         quantI8Go,
	quantQ8:         quantizeQ8ActGo,
	quantQ8K:        quantizeQ8KActGo,
	packQ8:          packQ8ActGo,
	dotQ8_0x4:       dotQ8_0x4Go,
	dotQ4_0x4:       dotQ4_0x4Go,
	dotQ4Kx4:        dotQ4Kx4Go,
	dotQ6Kx4:        dotQ6Kx4Go,
	axpyF32:         axpyF32Go,
	expShiftSum:     expShiftSumGo,
	addF32:          addGo,
	mulF32:          mulGo,
	sumSquaresF32:   sumSquaresGo,
	scaleMulF32:     scaleMulGo,
	scaleMaxF32:     scaleMaxGo,
	siluF32:         siluGo,
	ropePairsF32:    ropePairsGo,
	weightedRowsF32: weightedRowsGo,
	quant:           goQuantKernels,
	float:           goFloatKernels,
}

// simdKernelSets are the vector implementations this CPU can run, best
// first (from the architecture files; empty with the purego build tag).
var simdKernelSets = archKernelSets()

// The kernels in use (see useKernels).
var (
	dotF32          func(a, b []float32) float32
	gemmF32         func(res, w []float32, ws int, x []float32, xs, cols int)
	gemmM           int
	gemvF32         func(res *[4]float32, w []float32, ws int, x []float32, cols, pf int)
	gemvF16         func(res *[4]float32, w []uint16, ws int, x []float32, cols, pf int)
	gemvBF16        func(res *[4]float32, w []uint16, ws int, x []float32, cols, pf int)
	gemvQuarters    bool
	dotF16          func(a []uint16, b []float32) float32
	dotBF16         func(a []uint16, b []float32) float32
	f16ToF32Slice   func(dst []float32, src []uint16)
	bf16ToF32Slice  func(dst []float32, src []uint16)
	dotQ8_0         func(w []byte, a []blockQ8) float32
	dotQ4_0         func(w []byte, a []blockQ8) float32
	dotQ4K          func(w []byte, a []blockQ8K) float32
	dotQ6K          func(w []byte, a []blockQ8K) float32
	absMax          func(x []float32) float32
	quantI8         func(q []int8, x []float32, id float32)
	quantQ8         func(dst []blockQ8, x []float32)
	quantQ8K        func(dst []blockQ8K, x []float32)
	packQ8          func(dst []byte, x []float32)
	dotQ8_0x4       func(res *[4]float32, w []byte, a []blockQ8, nb int)
	dotQ4_0x4       func(res *[4]float32, w []byte, a []blockQ8, nb int)
	dotQ4Kx4        func(res *[4]float32, w []byte, a []blockQ8K, nb int)
	dotQ6Kx4        func(res *[4]float32, w []byte, a []blockQ8K, nb int)
	axpyF32         func(y []float32, a float32, x []float32)
	expShiftSum     func(dst, x []float32, shift float32) float32
	addF32, mulF32  func(out, a, b []float32)
	sumSquaresF32   func(x []float32) float64
	scaleMulF32     func(out, x, w []float32, s float32)
	scaleMaxF32     func(x []float32, s, m float32) float32
	siluF32         func(dst, x []float32)
	ropePairsF32    func(dst, x, tab []float32, neox bool)
	weightedRowsF32 func(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool)
	simdDescription string
)

// DisableSIMD switches the kernels to the plain-Go reference for the rest of
// the process; call it before any kernel runs (it is not synchronized with
// running kernels). The purego build tag leaves the SIMD code out altogether.
func DisableSIMD() { useKernels(&goKernels) }

func init() { useSIMD(true) }

// useSIMD selects the best SIMD kernels the CPU has, or the plain-Go
// reference. It is not safe to call while kernels run.
func useSIMD(on bool) {
	if on && len(simdKernelSets) > 0 {
		useKernels(simdKernelSets[0])
	} else {
		useKernels(&goKernels)
	}
}

func useKernels(k *kernelSet) {
	dotF32, dotF16, dotBF16 = k.dotF32, k.dotF16, k.dotBF16
	gemmF32, gemmM = k.gemmF32, k.gemmM
	gemvF32, gemvF16, gemvBF16, gemvQuarters = k.gemvF32, k.gemvF16, k.gemvBF16, k.gemvQuarters
	f16ToF32Slice, bf16ToF32Slice = k.f16ToF32Slice, k.bf16ToF32Slice
	dotQ8_0, dotQ4_0, dotQ4K, dotQ6K = k.dotQ8_0, k.dotQ4_0, k.dotQ4K, k.dotQ6K
	dotQ8_0x4, dotQ4_0x4, dotQ4Kx4, dotQ6Kx4 = k.dotQ8_0x4, k.dotQ4_0x4, k.dotQ4Kx4, k.dotQ6Kx4
	absMax, quantI8, quantQ8, quantQ8K, packQ8 = k.absMax, k.quantI8, k.quantQ8, k.quantQ8K, k.packQ8
	axpyF32, expShiftSum = k.axpyF32, k.expShiftSum
	addF32, mulF32, sumSquaresF32, scaleMulF32, weightedRowsF32 = k.addF32, k.mulF32, k.sumSquaresF32, k.scaleMulF32, k.weightedRowsF32
	siluF32, ropePairsF32, scaleMaxF32 = k.siluF32, k.ropePairsF32, k.scaleMaxF32
	curQuant, curFloat = k.quant, k.float
	simdDescription = k.name
}

// SIMD describes the vector instruction set the kernels use on this machine.
func SIMD() string { return simdDescription }
