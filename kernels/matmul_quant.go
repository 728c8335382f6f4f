package kernels

import (
	"math"
	"unsafe"

	"github.com/goformer/goformer/weights"
)

// Activation blocks: the input rows of a product with quantized weights,
// quantized symmetrically to int8 (scale = max|x|/127) in goformer's own
// in-memory layout (these never reach a file).

// blockQ8 is one 32-element activation block, paired with Q8_0 and Q4_0
// weight blocks.
type blockQ8 struct {
	d   float32
	sum int32 // Σ qs, for the offset of Q4_0's unsigned nibbles
	qs  [32]int8
}

// blockQ8K is one 256-element activation block, paired with Q4_K and Q6_K
// super-blocks. The partial sums serve the K-quants' per-sub-block offsets.
type blockQ8K struct {
	qs     [256]int8
	bsum16 [16]int16 // Σ qs[16k : 16k+16]
	bsum32 [8]int16  // Σ qs[32k : 32k+32]
	d      float32
	_      [12]byte
}

// Offsets used by the assembly.
const (
	_ = uint(unsafe.Sizeof(blockQ8{}) - 40)
	_ = uint(40 - unsafe.Sizeof(blockQ8{}))
	_ = uint(unsafe.Sizeof(blockQ8K{}) - 320)
	_ = uint(320 - unsafe.Sizeof(blockQ8K{}))
	_ = uint(unsafe.Offsetof(blockQ8K{}.d) - 304)
	_ = uint(304 - unsafe.Offsetof(blockQ8K{}.d))
)

// quantSym quantizes x to symmetric int8 (q has len(x) elements, rounded
// to nearest even) and returns the scale, as llama.cpp does on x86: for
// 32-element blocks (k false) x·(127/amax) with scale amax/127; for K-quant
// blocks (k true) x·(−127/m) with scale 1/(−127/m), m the first value of
// largest magnitude.
func quantSym(q []int8, x []float32, k bool) float32 {
	amax := absMax(x)
	q = q[:len(x)]
	if amax == 0 {
		clear(q)
		return 0
	}
	if !k {
		quantI8(q, x, 127/amax)
		return amax / 127
	}
	m := amax
	for _, v := range x {
		if abs32(v) == amax {
			m = v
			break
		}
	}
	is := -127 / m
	quantI8(q, x, is)
	return 1 / is
}

// absMaxGo returns max |x[i]| (len(x) a multiple of 8).
func absMaxGo(x []float32) float32 {
	var amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	return amax
}

// quantI8Go sets q[i] to x[i]·id rounded to nearest even, as the SIMD
// conversion does (len(x) a multiple of 32; |x[i]·id| ≤ 127).
func quantI8Go(q []int8, x []float32, id float32) {
	q = q[:len(x)]
	for j, v := range x {
		q[j] = int8(math.RoundToEven(float64(v * id)))
	}
}

// quantBlock32 quantizes a 32-element activation block (for Q8_0 and Q4_0
// weights) as llama.cpp's quantize_row_q8_0 does on x86, the scale stored
// as float16, so that the products carry the float16-rounded scale.
// Keeping the float32 scale instead moved tiny models' log-probabilities
// 0.1-0.2 away from llama.cpp's (peer tests llama-q8_0, llama-q4_0,
// qwen2-q4_0); with the rounding they agree within 6e-4, as float files do.
func quantBlock32(q []int8, x []float32) float32 {
	return f16ToF32(f32ToF16(quantSym(q, x, false)))
}

// quantizeQ8Act quantizes x into the activation blocks dst (len(x) =
// 32·len(dst)) with the kernel set's quantQ8.
func quantizeQ8Act(dst []blockQ8, x []float32) { quantQ8(dst, x) }

// quantizeQ8ActGo is the plain-Go quantQ8: each block by quantBlock32, and
// the sum of its values.
func quantizeQ8ActGo(dst []blockQ8, x []float32) {
	for b := range dst {
		blk := &dst[b]
		blk.d = quantBlock32(blk.qs[:], x[32*b:32*b+32])
		var s int32
		for _, v := range blk.qs {
			s += int32(v)
		}
		blk.sum = s
	}
}

// quantBlockK quantizes a 256-element activation block (for K-quant
// weights) as llama.cpp's quantize_row_q8_K does (see quantSym).
func quantBlockK(q []int8, x []float32) float32 { return quantSym(q, x, true) }

// quantizeQ8KAct quantizes x into the activation blocks dst (len(x) =
// 256·len(dst)) with the kernel set's quantQ8K.
func quantizeQ8KAct(dst []blockQ8K, x []float32) { quantQ8K(dst, x) }

// quantizeQ8KActGo is the plain-Go quantQ8K: each block by quantBlockK,
// and its sums of 16 and of 32 values.
func quantizeQ8KActGo(dst []blockQ8K, x []float32) {
	for b := range dst {
		blk := &dst[b]
		blk.d = quantBlockK(blk.qs[:], x[256*b:256*b+256])
		for k := range 16 {
			var s int16
			for _, v := range blk.qs[16*k : 16*k+16] {
				s += int16(v)
			}
			blk.bsum16[k] = s
		}
		for k := range 8 {
			blk.bsum32[k] = blk.bsum16[2*k] + blk.bsum16[2*k+1]
		}
	}
}

// Plain-Go integer dot products of one weight row with quantized
// activations. They define what the SIMD versions compute.

func dotQ8_0Go(w []byte, a []blockQ8) float32 {
	var sum float32
	for b := range a {
		blk := w[b*q8_0Bytes : (b+1)*q8_0Bytes]
		qs := &a[b].qs
		var s int32
		for j := range 32 {
			s += int32(int8(blk[2+j])) * int32(qs[j])
		}
		sum += f16ToF32(le16(blk)) * a[b].d * float32(s)
	}
	return sum
}

func dotQ4_0Go(w []byte, a []blockQ8) float32 {
	var sum float32
	for b := range a {
		blk := w[b*q4_0Bytes : (b+1)*q4_0Bytes]
		qs := &a[b].qs
		var s int32
		for j := range 16 {
			q := blk[2+j]
			s += int32(q&15)*int32(qs[j]) + int32(q>>4)*int32(qs[j+16])
		}
		s -= 8 * a[b].sum
		sum += f16ToF32(le16(blk)) * a[b].d * float32(s)
	}
	return sum
}

func dotQ4KGo(w []byte, a []blockQ8K) float32 {
	var sum float32
	for b := range a {
		blk := w[b*q4KBytes : (b+1)*q4KBytes]
		act := &a[b]
		sc, m := q4KScales(blk[4:16])
		qs := blk[16:144]
		var isum, msum int32
		for c := range 4 {
			var s0, s1 int32
			for l := range 32 {
				q := qs[32*c+l]
				s0 += int32(q&15) * int32(act.qs[64*c+l])
				s1 += int32(q>>4) * int32(act.qs[64*c+32+l])
			}
			isum += int32(sc[2*c])*s0 + int32(sc[2*c+1])*s1
		}
		for j := range 8 {
			msum += int32(m[j]) * int32(act.bsum32[j])
		}
		d, dmin := f16ToF32(le16(blk)), f16ToF32(le16(blk[2:]))
		sum += act.d * (d*float32(isum) - dmin*float32(msum))
	}
	return sum
}

func dotQ6KGo(w []byte, a []blockQ8K) float32 {
	var sum float32
	for b := range a {
		blk := w[b*q6KBytes : (b+1)*q6KBytes]
		act := &a[b]
		ql, qh, sc := blk[:128], blk[128:192], blk[192:208]
		var sub [16]int32 // Σ q·x per 16-element sub-block, q unsigned 0..63
		for h := range 2 {
			for l := range 32 {
				lo, hi, hb := ql[64*h+l], ql[64*h+32+l], qh[32*h+l]
				e := 128*h + l
				q0 := int32(lo&15 | (hb&3)<<4)
				q1 := int32(hi&15 | (hb>>2&3)<<4)
				q2 := int32(lo>>4 | (hb>>4&3)<<4)
				q3 := int32(hi>>4 | (hb>>6&3)<<4)
				sub[e/16] += q0 * int32(act.qs[e])
				sub[(e+32)/16] += q1 * int32(act.qs[e+32])
				sub[(e+64)/16] += q2 * int32(act.qs[e+64])
				sub[(e+96)/16] += q3 * int32(act.qs[e+96])
			}
		}
		var isum int32
		for k := range 16 {
			isum += int32(int8(sc[k])) * (sub[k] - 32*int32(act.bsum16[k]))
		}
		sum += f16ToF32(le16(blk[208:])) * act.d * float32(isum)
	}
	return sum
}

// dotQ8_0x4Go computes res[k] = dotQ8_0(w, a[k·nb : (k+1)·nb]) for k = 0..3.
func dotQ8_0x4Go(res *[4]float32, w []byte, a []blockQ8, nb int) {
	for k := range 4 {
		res[k] = dotQ8_0Go(w, a[k*nb:(k+1)*nb])
	}
}

// dotQ4_0x4Go is dotQ8_0x4Go for Q4_0.
func dotQ4_0x4Go(res *[4]float32, w []byte, a []blockQ8, nb int) {
	for k := range 4 {
		res[k] = dotQ4_0Go(w, a[k*nb:(k+1)*nb])
	}
}

// dotQ4Kx4Go computes res[k] = dotQ4K(w, a[k·nb : (k+1)·nb]) for k = 0..3.
func dotQ4Kx4Go(res *[4]float32, w []byte, a []blockQ8K, nb int) {
	for k := range 4 {
		res[k] = dotQ4KGo(w, a[k*nb:(k+1)*nb])
	}
}

// dotQ6Kx4Go is dotQ4Kx4Go for Q6_K.
func dotQ6Kx4Go(res *[4]float32, w []byte, a []blockQ8K, nb int) {
	for k := range 4 {
		res[k] = dotQ6KGo(w, a[k*nb:(k+1)*nb])
	}
}

// matMulDequant is the float reference for quantized weights: each weight
// block is dequantized and dotted in float32 with every input row.
func matMulDequant(p *Pool, out []float32, w Mat, x []float32, n int) {
	cols, rows := w.Cols, w.Rows
	be, bb := w.Type.BlockElems(), w.Type.BlockBytes()
	var deq func(dst []float32, src []byte)
	switch w.Type {
	case weights.Q8_0:
		deq = dequantQ8_0
	case weights.Q4_0:
		deq = dequantQ4_0
	case weights.Q4_K:
		deq = dequantQ4K
	case weights.Q6_K:
		deq = dequantQ6K
	default:
		panic("kernels: cannot dequantize " + w.Type.String())
	}
	p.For(rows, func(lo, hi int) {
		var buf [256]float32
		blk := buf[:be]
		for r := lo; r < hi; r++ {
			row := w.row(r)
			for i := range n {
				out[i*rows+r] = 0
			}
			for b := 0; b < cols/be; b++ {
				deq(blk, row[b*bb:(b+1)*bb])
				for i := range n {
					out[i*rows+r] += dotF32(blk, x[i*cols+b*be:i*cols+(b+1)*be])
				}
			}
		}
	})
}
