package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Every SIMD kernel set this CPU runs is checked against the plain-Go
// reference on random data, with every tail length.

func forEachSIMD(t *testing.T, f func(t *testing.T, k *kernelSet)) {
	if len(simdKernelSets) == 0 {
		t.Skip("no SIMD kernels on this CPU/build")
	}
	for _, k := range simdKernelSets {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

func closeTo(got, want, scale float64) bool {
	return math.Abs(got-want) <= 1e-5*scale+1e-30
}

// randHalves returns finite random f16 (or bf16) values around ±[0.01, 100].
func randHalves(rng *rand.Rand, n int, bf bool) []uint16 {
	h := make([]uint16, n)
	for i := range h {
		v := float32(rng.NormFloat64() * math.Pow(10, rng.Float64()*4-2))
		if bf {
			h[i] = f32ToBF16(v)
		} else {
			h[i] = f32ToF16(v)
		}
	}
	return h
}

func TestSIMDFloatDots(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(11, 12))
		sizes := []int{1000, 1023, 4097}
		for n := 0; n <= 130; n++ {
			sizes = append(sizes, n)
		}
		for _, n := range sizes {
			a, b := randVec(rng, n, 1), randVec(rng, n, 1)
			var scale float64
			for i := range a {
				scale += math.Abs(float64(a[i] * b[i]))
			}
			if g, w := k.dotF32(a, b), dotF32Go(a, b); !closeTo(float64(g), float64(w), scale) {
				t.Fatalf("dotF32 n=%d: %g, want %g", n, g, w)
			}
			for _, bf := range []bool{false, true} {
				h := randHalves(rng, n, bf)
				hf := make([]float32, n)
				if bf {
					bf16ToF32SliceGo(hf, h)
				} else {
					f16ToF32SliceGo(hf, h)
				}
				var sc float64
				for i := range hf {
					sc += math.Abs(float64(hf[i] * b[i]))
				}
				dot, ref := k.dotF16, dotF16Go
				if bf {
					dot, ref = k.dotBF16, dotBF16Go
				}
				if g, w := dot(h, b), ref(h, b); !closeTo(float64(g), float64(w), sc) {
					t.Fatalf("half dot bf=%v n=%d: %g, want %g", bf, n, g, w)
				}
				conv := make([]float32, n)
				if bf {
					k.bf16ToF32Slice(conv, h)
				} else {
					k.f16ToF32Slice(conv, h)
				}
				for i := range conv {
					if conv[i] != hf[i] {
						t.Fatalf("half convert bf=%v n=%d [%d]: %g, want %g", bf, n, i, conv[i], hf[i])
					}
				}
			}
		}
	})
}

func TestSIMDGemmF32(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(23, 24))
		cs := []int{255, 1024, 1001}
		for c := 0; c <= 70; c++ {
			cs = append(cs, c)
		}
		m := k.gemmM
		for _, cols := range cs {
			ws, xs := cols+rng.IntN(5), cols+rng.IntN(5)
			w, x := randVec(rng, (m-1)*ws+cols, 1), randVec(rng, 3*xs+cols, 1)
			got := make([]float32, 4*m)
			for i := range got {
				got[i] = 9
			}
			k.gemmF32(got, w, ws, x, xs, cols)
			for i := range m {
				var want [4]float32
				dotF32x4Go(&want, w[i*ws:], x, cols, xs)
				for j := range 4 {
					var sc float64
					for c := range cols {
						sc += math.Abs(float64(w[i*ws+c] * x[j*xs+c]))
					}
					if !closeTo(float64(got[4*i+j]), float64(want[j]), sc) {
						t.Fatalf("gemmF32 m=%d cols=%d [%d,%d]: %g, want %g", m, cols, i, j, got[4*i+j], want[j])
					}
				}
			}
		}
	})
}

func TestSIMDGemv(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(27, 28))
		cs := []int{255, 1024, 1001}
		for c := 0; c <= 70; c++ {
			cs = append(cs, c)
		}
		for _, cols := range cs {
			ws := cols + rng.IntN(5)
			if rng.IntN(4) == 0 {
				ws = 0
			}
			x := randVec(rng, cols, 1)
			wf := randVec(rng, 3*ws+cols, 1)
			wh, wb := randHalves(rng, 3*ws+cols, false), randHalves(rng, 3*ws+cols, true)
			for kind := range 3 {
				var got, want [4]float32
				got[0] = 9
				vals := make([]float32, len(wf))
				switch kind {
				case 0:
					k.gemvF32(&got, wf, ws, x, cols, 4096)
					gemvF32Go(&want, wf, ws, x, cols, 4096)
					copy(vals, wf)
				case 1:
					k.gemvF16(&got, wh, ws, x, cols, 4096)
					gemvF16Go(&want, wh, ws, x, cols, 4096)
					f16ToF32SliceGo(vals, wh)
				case 2:
					k.gemvBF16(&got, wb, ws, x, cols, 4096)
					gemvBF16Go(&want, wb, ws, x, cols, 4096)
					bf16ToF32SliceGo(vals, wb)
				}
				for i := range 4 {
					var sc float64
					for c := range cols {
						sc += math.Abs(float64(vals[i*ws+c] * x[c]))
					}
					if !closeTo(float64(got[i]), float64(want[i]), sc) {
						t.Fatalf("gemv kind %d cols=%d ws=%d row %d: %g, want %g", kind, cols, ws, i, got[i], want[i])
					}
				}
			}
		}
	})
}

// TestSIMDHalfConvertAll converts every f16 and bf16 bit pattern.
func TestSIMDHalfConvertAll(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		all := make([]uint16, 1<<16)
		for i := range all {
			all[i] = uint16(i)
		}
		got, want := make([]float32, len(all)), make([]float32, len(all))
		for _, bf := range []bool{false, true} {
			if bf {
				k.bf16ToF32Slice(got, all)
				bf16ToF32SliceGo(want, all)
			} else {
				k.f16ToF32Slice(got, all)
				f16ToF32SliceGo(want, all)
			}
			for i := range got {
				g, w := got[i], want[i]
				if g != w && !(g != g && w != w) {
					t.Fatalf("bf=%v %#x: %g, want %g", bf, i, g, w)
				}
			}
		}
	})
}

// randQuantRow returns nb random blocks of a quantized type: random quant
// bytes (every bit pattern is a valid block) with moderate f16 scales.
func randQuantRow(rng *rand.Rand, blockBytes, nb int, scaleOffsets ...int) []byte {
	b := make([]byte, nb*blockBytes)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for blk := range nb {
		for _, off := range scaleOffsets {
			put16(b[blk*blockBytes+off:], f32ToF16(float32(rng.NormFloat64()*0.01)))
		}
	}
	return b
}

func TestSIMDQuantDotsX4(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(15, 16))
		for nb := 0; nb <= 5; nb++ {
			x := randVec(rng, 4*nb*256, 1)
			a := make([]blockQ8K, 4*nb)
			quantizeQ8KAct(a, x)
			for _, q6 := range []bool{false, true} {
				for range 5 {
					w := randQuantRow(rng, q4KBytes, nb, 0, 2)
					dot4, dot := k.dotQ4Kx4, k.dotQ4K
					if q6 {
						w = randQuantRow(rng, q6KBytes, nb, 208)
						dot4, dot = k.dotQ6Kx4, k.dotQ6K
					}
					var got [4]float32
					got[0] = 99
					dot4(&got, w, a, nb)
					for r := range 4 {
						want := dot(w, a[r*nb:(r+1)*nb])
						if !closeTo(float64(got[r]), float64(want), 10*math.Abs(float64(want))+1e-3) {
							t.Fatalf("q6=%v nb=%d row %d: %g, want %g", q6, nb, r, got[r], want)
						}
					}
				}
			}
		}
	})
}

func TestSIMDQuantizeActivations(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, n := range []int{0, 32, 64, 256, 512, 4864} {
			for it := range 20 {
				x := randVec(rng, n, math.Pow(10, float64(it%7-3)))
				if n > 0 && it%5 == 0 {
					x[rng.IntN(n)] = -1e4 // outlier sets the scale, negative
				}
				if g, w := k.absMax(x), absMaxGo(x); g != w {
					t.Fatalf("absMax n=%d: %g, want %g", n, g, w)
				}
				amax := absMaxGo(x)
				if amax == 0 {
					continue
				}
				// Ties at .5 are hit on purpose by scaling to exact halves.
				for _, id := range []float32{127 / amax, 0.5} {
					if id == 0.5 {
						for i := range x {
							x[i] = float32(rng.IntN(254) - 127)
						}
					}
					got, want := make([]int8, n), make([]int8, n)
					k.quantI8(got, x, id)
					quantI8Go(want, x, id)
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("quantI8 n=%d [%d]: %g·%g -> %d, want %d", n, i, x[i], id, got[i], want[i])
						}
					}
				}
			}
		}
	})
}

func TestSIMDQuantDotsX4Legacy(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(17, 18))
		for nb := 0; nb <= 9; nb++ {
			x := randVec(rng, 4*nb*32, 1)
			a := make([]blockQ8, 4*nb)
			quantizeQ8Act(a, x)
			for _, q4 := range []bool{false, true} {
				for range 5 {
					w := randQuantRow(rng, q8_0Bytes, nb, 0)
					dot4, dot := k.dotQ8_0x4, k.dotQ8_0
					if q4 {
						w = randQuantRow(rng, q4_0Bytes, nb, 0)
						dot4, dot = k.dotQ4_0x4, k.dotQ4_0
					}
					var got [4]float32
					got[0] = 99
					dot4(&got, w, a, nb)
					for r := range 4 {
						want := dot(w, a[r*nb:(r+1)*nb])
						if !closeTo(float64(got[r]), float64(want), 10*math.Abs(float64(want))+1e-3) {
							t.Fatalf("q4=%v nb=%d row %d: %g, want %g", q4, nb, r, got[r], want)
						}
					}
				}
			}
		}
	})
}

func TestSIMDQuantDots(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(13, 14))
		for nb := 0; nb <= 9; nb++ {
			for it := range 20 {
				x := randVec(rng, nb*256, 1)
				if it == 0 && nb > 0 {
					x[0] = 100 // saturating activations
					x[1] = -100
				}
				a8 := make([]blockQ8, nb*8)
				quantizeQ8Act(a8, x)
				aK := make([]blockQ8K, nb)
				quantizeQ8KAct(aK, x)
				// Scale for the tolerance: the sum of |terms| bounds the
				// rounding of the float accumulation.
				w8 := randQuantRow(rng, q8_0Bytes, nb*8, 0)
				w4 := randQuantRow(rng, q4_0Bytes, nb*8, 0)
				wK := randQuantRow(rng, q4KBytes, nb, 0, 2)
				w6 := randQuantRow(rng, q6KBytes, nb, 208)
				type c struct {
					name      string
					got, want float32
					w         []byte
				}
				for _, cs := range []c{
					{"Q8_0", k.dotQ8_0(w8, a8), dotQ8_0Go(w8, a8), w8},
					{"Q4_0", k.dotQ4_0(w4, a8), dotQ4_0Go(w4, a8), w4},
					{"Q4_K", k.dotQ4K(wK, aK), dotQ4KGo(wK, aK), wK},
					{"Q6_K", k.dotQ6K(w6, aK), dotQ6KGo(w6, aK), w6},
				} {
					var scale float64
					typ := map[string]int{"Q8_0": 0, "Q4_0": 1, "Q4_K": 2, "Q6_K": 3}[cs.name]
					deq := make([]float32, nb*256)
					switch typ {
					case 0:
						dequantQ8_0(deq, cs.w)
					case 1:
						dequantQ4_0(deq, cs.w)
					case 2:
						dequantQ4K(deq, cs.w)
					case 3:
						dequantQ6K(deq, cs.w)
					}
					for i := range deq {
						scale += math.Abs(float64(deq[i] * x[i]))
					}
					if !closeTo(float64(cs.got), float64(cs.want), 10*scale) {
						t.Fatalf("%s nb=%d it=%d: %g, want %g (scale %g)", cs.name, nb, it, cs.got, cs.want, scale)
					}
				}
			}
		}
	})
}

// dotQ8_0x8 equals the per-row dot bit for bit for each of its eight rows.
func TestSIMDQuantDotQ8x8(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		if k.quant.dotQ8_0x8 == nil {
			t.Skip("no eight-row Q8_0 dot in this set")
		}
		rng := rand.New(rand.NewPCG(17, 18))
		for _, nb := range []int{0, 1, 2, 5, 28} {
			a := make([]blockQ8, 8*nb)
			quantizeQ8Act(a, randVec(rng, 8*nb*32, 1+9*rng.Float64()))
			for range 5 {
				w := randQuantRow(rng, q8_0Bytes, nb, 0)
				got := [8]float32{99, 99, 99, 99, 99, 99, 99, 99}
				ds := make([]float32, 8*nb)
				q8Scales8(ds, a, nb)
				k.quant.dotQ8_0x8(&got, guardedCopy(t, w), a, ds, nb)
				for r := range 8 {
					want := k.dotQ8_0(w, a[r*nb:(r+1)*nb])
					if math.Float32bits(got[r]) != math.Float32bits(want) {
						t.Fatalf("nb=%d row %d: %g, per-row dot %g", nb, r, got[r], want)
					}
				}
			}
		}
	})
}

// The four-row decoding kernels (gemvQ8, gemvQ4KR, gemvQ6KR) equal the
// per-row dots bit for bit for each row, for row counts around their
// groups of four, padded row strides and no reads past the last row.
func TestSIMDQuantGemvRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(21, 22))
		q8 := func(nb int) []blockQ8 {
			a := make([]blockQ8, nb)
			quantizeQ8Act(a, randVec(rng, nb*32, 1+9*rng.Float64()))
			return a
		}
		q8K := func(nb int) []blockQ8K {
			a := make([]blockQ8K, nb)
			quantizeQ8KAct(a, randVec(rng, nb*256, 1+9*rng.Float64()))
			return a
		}
		if k.quant.gemvQ8 == nil && k.quant.gemvQ4KR == nil && k.quant.gemvQ6KR == nil {
			t.Skip("no four-row decoding kernels in this set")
		}
		if k.quant.gemvQ8 != nil {
			checkGemvRows(t, rng, "Q8_0", k.quant.gemvQ8, k.dotQ8_0, q8, q8_0Bytes, []int{0}, []int{0, 1, 2, 5, 28, 64}, 6)
		}
		if k.quant.gemvQ4KR != nil {
			checkGemvRows(t, rng, "Q4_K", k.quant.gemvQ4KR, k.dotQ4K, q8K, q4KBytes, []int{0, 2}, []int{0, 1, 2, 3, 8}, 16)
		}
		if k.quant.gemvQ6KR != nil {
			checkGemvRows(t, rng, "Q6_K", k.quant.gemvQ6KR, k.dotQ6K, q8K, q6KBytes, []int{208}, []int{0, 1, 2, 3, 8}, 16)
		}
	})
}

// checkGemvRows checks one four-row decoding kernel against its per-row
// dot over nbs block counts (activations from acts), random weight bytes
// with f16 scales at the block offsets scales, and row strides padded by 0
// and pad bytes.
func checkGemvRows[B blockQ8 | blockQ8K](t *testing.T, rng *rand.Rand, name string, gemv func([]float32, []byte, int, []B), dot func([]byte, []B) float32, acts func(nb int) []B, blockBytes int, scales, nbs []int, pad int) {
	t.Helper()
	for _, nb := range nbs {
		a := acts(nb)
		for _, rows := range []int{1, 3, 4, 5, 8, 11, 30} {
			for _, pad := range []int{0, pad} {
				ws := nb*blockBytes + pad
				w := randQuantRow(rng, 1, rows*ws)
				for r := range rows {
					for b := range nb {
						for _, off := range scales {
							put16(w[r*ws+b*blockBytes+off:], f32ToF16(float32(rng.NormFloat64()*0.01)))
						}
					}
				}
				w = w[:len(w)-pad]
				got := make([]float32, rows)
				for i := range got {
					got[i] = 99
				}
				gemv(got, guardedCopy(t, w), ws, a)
				for r := range rows {
					want := dot(w[r*ws:r*ws+nb*blockBytes], a)
					if math.Float32bits(got[r]) != math.Float32bits(want) {
						t.Fatalf("%s nb=%d rows=%d ws=%d row %d: %g, per-row dot %g", name, nb, rows, ws, r, got[r], want)
					}
				}
			}
		}
	}
}

// dotQ4Kx8 equals the per-row dot bit for bit for each of its eight rows.
func TestSIMDQuantDotQ4Kx8(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		if k.quant.dotQ4Kx8 == nil {
			t.Skip("no eight-row Q4_K dot in this set")
		}
		rng := rand.New(rand.NewPCG(19, 20))
		for _, nb := range []int{0, 1, 2, 3, 8} {
			a := make([]blockQ8K, 8*nb)
			quantizeQ8KAct(a, randVec(rng, 8*nb*256, 1+9*rng.Float64()))
			for range 5 {
				w := randQuantRow(rng, q4KBytes, nb, 0, 2)
				got := [8]float32{99, 99, 99, 99, 99, 99, 99, 99}
				k.quant.dotQ4Kx8(&got, guardedCopy(t, w), a, nil, nb)
				for r := range 8 {
					want := k.dotQ4K(w, a[r*nb:(r+1)*nb])
					if math.Float32bits(got[r]) != math.Float32bits(want) {
						t.Fatalf("nb=%d row %d: %g, per-row dot %g", nb, r, got[r], want)
					}
				}
			}
		}
	})
}
