package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/goformer/goformer/weights"
)

func TestExpAccuracy(t *testing.T) {
	check := func(x float32) {
		got, want := float64(Exp(x)), float64(float32(math.Exp(float64(x))))
		if math.IsInf(want, 0) || want < 0x1p-126 { // overflow, subnormal
			if got != want {
				t.Fatalf("Exp(%g) = %g, want %g", x, got, want)
			}
			return
		}
		if rel := math.Abs(got-want) / want; rel > 1e-6 {
			t.Fatalf("Exp(%g) = %g, want %g (relative error %.3g)", x, got, want, rel)
		}
	}
	for x := float32(-104); x <= 90; x += 1.0 / 1024 {
		check(x)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(float32(rng.Float64()*180 - 90))
		check(float32(rng.NormFloat64()))
	}
	for _, x := range []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, float32(math.Inf(1)), float32(math.Inf(-1)), -87, 88, -86.99999, 87.99999} {
		check(x)
	}
	if v := Exp(float32(math.NaN())); v == v {
		t.Fatalf("Exp(NaN) = %g", v)
	}
}

func TestSIMDAXPY(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(3, 4))
		for n := 0; n <= 140; n++ {
			x, y := randVec(rng, n, 1), randVec(rng, n, 1)
			a := float32(rng.NormFloat64())
			got, want := append([]float32(nil), y...), append([]float32(nil), y...)
			k.axpyF32(got, a, x)
			axpyF32Go(want, a, x)
			for i := range got {
				// FMA rounds once, the reference twice.
				if !closeTo(float64(got[i]), float64(want[i]), math.Abs(float64(a*x[i]))+math.Abs(float64(y[i]))) {
					t.Fatalf("n=%d: y[%d] = %g, want %g", n, i, got[i], want[i])
				}
			}
		}
	})
}

func BenchmarkExp(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = -float32(i) / 256
	}
	b.Run("Exp", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, v := range x {
				s += Exp(v)
			}
		}
		_ = s
	})
	b.Run("math.Exp", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, v := range x {
				s += float32(math.Exp(float64(v)))
			}
		}
		_ = s
	})
}

func TestDotRows(t *testing.T) {
	for _, simd := range []bool{false, true} {
		useSIMD(simd)
		rng := rand.New(rand.NewPCG(5, 6))
		for _, sh := range [][3]int{{1, 1, 1}, {7, 8, 64}, {128, 8, 64}, {5, 3, 20}, {64, 7, 13}, {9, 4, 0}, {3, 12, 130}} {
			na, nb, cols := sh[0], sh[1], sh[2]
			as, bs, ldo := cols+3, cols+5, nb+2
			a, b := randVec(rng, na*as, 1), randVec(rng, nb*bs, 1)
			out := make([]float32, na*ldo)
			DotRows(out, ldo, a, as, na, b, bs, nb, cols)
			for i := range na {
				for j := range nb {
					var want, scale float64
					for c := range cols {
						want += float64(a[i*as+c]) * float64(b[j*bs+c])
						scale += math.Abs(float64(a[i*as+c] * b[j*bs+c]))
					}
					if g := out[i*ldo+j]; !closeTo(float64(g), want, scale) {
						t.Fatalf("simd=%v %v: out[%d,%d] = %g, want %g", simd, sh, i, j, g, want)
					}
				}
			}
		}
	}
	useSIMD(true)
}

func TestExpShiftSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, k := range append([]*kernelSet{&goKernels}, simdKernelSets...) {
		for n := 0; n <= 300; n += 1 + n/8 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.Float64()*120 - 100)
			}
			if n > 3 {
				x[1], x[2] = -87, -200
			}
			shift := float32(rng.Float64() * 20)
			for i := range x {
				x[i] = min(x[i], shift)
			}
			dst := make([]float32, n)
			sum := k.expShiftSum(dst, x, shift)
			var want float64
			for i, v := range x {
				w := math.Exp(float64(v - shift))
				want += w
				if g := float64(dst[i]); math.Abs(g-w) > 1e-6*w && !(w < 2e-38 && g < 2e-38) {
					t.Fatalf("%s n=%d: e^(%g-%g) = %g, want %g", k.name, n, x[i], shift, g, w)
				}
			}
			if math.Abs(float64(sum)-want) > 1e-5*want+float64(n)*2e-38 {
				t.Fatalf("%s n=%d: sum %g, want %g", k.name, n, sum, want)
			}
		}
	}
}

// TestSiLUSIMD holds each kernel set's SiLU (plain Go included), in place and into another
// slice, and the plain-Go one to the float64 formula, over lengths with and
// without a tail and arguments spanning the clamped range; nothing past the
// end is written.
func TestSiLUSIMD(t *testing.T) {
	for _, k := range append([]*kernelSet{&goKernels}, simdKernelSets...) {
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 4864, 4867} {
				x := make([]float32, n+1)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 8)
				}
				x[0] = -120 // past the clamp on both sides
				if n > 1 {
					x[1] = 100
				}
				inPlace := slices.Clone(x)
				k.siluF32(inPlace[:n], inPlace[:n])
				into := make([]float32, n+1)
				into[n] = 42
				k.siluF32(into[:n], x[:n])
				ref := make([]float32, n)
				siluGo(ref, x[:n])
				if inPlace[n] != x[n] || into[n] != 42 {
					t.Fatalf("n=%d: element n written", n)
				}
				for i, v := range x[:n] {
					exact := float64(v) / (1 + math.Exp(-float64(v)))
					for _, c := range []struct {
						name string
						y    float32
					}{{"in place", inPlace[i]}, {"into another slice", into[i]}, {"siluGo", ref[i]}} {
						if d := math.Abs(float64(c.y) - exact); d > 4e-7*math.Abs(exact)+1e-30 {
							t.Fatalf("n=%d: %s: SiLU(%v) = %v, want %v (|Δ| %.3g)", n, c.name, v, c.y, exact, d)
						}
					}
				}
			}
		})
	}
}

// TestGELUHalf holds the table GELU to its definition: GELU of the input
// rounded to half precision, rounded to half precision (through Quantize),
// 0 at or below -10 and the input itself at or above 10.
func TestGELUHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	half := func(v float32) float32 {
		h, err := Quantize(weights.F16, []float32{v})
		if err != nil {
			t.Fatal(err)
		}
		return Dequantize(weights.F16, h, 1)[0]
	}
	for _, tanhApprox := range []bool{false, true} {
		x := []float32{-10, -9.999, 10, 12.5, -30, 0, 1e-6}
		for range 2000 {
			x = append(x, float32(rng.NormFloat64()*4))
		}
		got := append([]float32(nil), x...)
		GELUHalf(got, tanhApprox)
		for i, v := range x {
			var want float32
			switch {
			case v <= -10:
				want = 0
			case v >= 10:
				want = v
			default:
				g := []float32{half(v)}
				if tanhApprox {
					GELUTanh(g)
				} else {
					GELU(g)
				}
				want = half(g[0])
			}
			if got[i] != want {
				t.Fatalf("tanh=%v: GELUHalf(%v) = %v, want %v", tanhApprox, v, got[i], want)
			}
		}
	}
}

// TestWeightedRows holds each kernel set's WeightedRows to the reference
// order of operations, bit for bit, on random shapes: row counts that are
// and are not multiples of 4, column counts on both sides of 16 with tails,
// strides wider than the rows, term counts around multiples of 4 (none at
// all too), and both set and add. The AVX-512 kernel fuses each multiply
// and add (weightedRowsFMA emulates that), the others are weightedRowsGo.
func TestWeightedRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		ref := weightedRowsFMA // the SIMD kernels fuse each multiply and add
		rng := rand.New(rand.NewPCG(7, 7))
		for _, m := range []int{1, 3, 4, 5, 8, 16} {
			for _, cols := range []int{1, 15, 16, 17, 48, 64, 80, 127, 128, 200} {
				for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 33, 128} {
					for _, add := range []bool{false, true} {
						ldo, ps, vs := cols+3, n+5, cols+11
						p := randVec(rng, m*ps, 1)
						v := randVec(rng, max(n, 1)*vs, 1)
						got := randVec(rng, m*ldo, 1)
						want := slices.Clone(got)
						k.weightedRowsF32(got, ldo, p, ps, m, v, vs, n, cols, add)
						ref(want, ldo, p, ps, m, v, vs, n, cols, add)
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("m %d cols %d n %d add %v: element %d (row %d col %d) = %g, want %g", m, cols, n, add, i, i/ldo, i%ldo, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

// weightedRowsFMA is weightedRowsGo with each multiply and add fused (a
// float32 FMA emulated in float64: the product is exact there, and the one
// rounding of the sum to float64 before float32 changes the result in
// about one case in 2^29).
func weightedRowsFMA(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool) {
	for i := range m {
		for c := range cols {
			var s [4]float32
			if add {
				s[0] = out[i*ldo+c]
			}
			for t := range n {
				s[t%4] = float32(float64(p[i*ps+t])*float64(v[t*vs+c]) + float64(s[t%4]))
			}
			out[i*ldo+c] = (s[0] + s[1]) + (s[2] + s[3])
		}
	}
}

// TestElementwiseKernels holds each kernel set's element-wise ops to the
// plain-Go ones on lengths around the vector widths: Add, Mul and the
// normalization's scaling bit for bit (the same roundings), the float64
// sum of squares within 1e-12 relative (its order of summation differs).
// Every output element must be written, and nothing past the end.
func TestElementwiseKernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(8, 8))
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 896, 4864, 4867} {
			a, b, w := randVec(rng, n+16, 3), randVec(rng, n+16, 1), randVec(rng, n+16, 1)
			check := func(what string, f, ref func(out []float32)) {
				got, want := randVec(rng, n+16, 1), make([]float32, n+16)
				copy(want, got)
				f(got[:n])
				ref(want[:n])
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s, n=%d: element %d = %g, plain Go %g", what, n, i, got[i], want[i])
					}
				}
			}
			check("add", func(o []float32) { k.addF32(o, a[:n], b[:n]) }, func(o []float32) { addGo(o, a[:n], b[:n]) })
			check("mul", func(o []float32) { k.mulF32(o, a[:n], b[:n]) }, func(o []float32) { mulGo(o, a[:n], b[:n]) })
			check("scaleMul", func(o []float32) { k.scaleMulF32(o, a[:n], w[:n], 0.37) }, func(o []float32) { scaleMulGo(o, a[:n], w[:n], 0.37) })
			check("scaleMul without weights", func(o []float32) { k.scaleMulF32(o, a[:n], nil, 1.7) }, func(o []float32) { scaleMulGo(o, a[:n], nil, 1.7) })
			got, want := k.sumSquaresF32(a[:n]), sumSquaresGo(a[:n])
			if math.Abs(got-want) > 1e-12*want {
				t.Fatalf("sumSquares, n=%d: %g, plain Go %g", n, got, want)
			}
		}
	})
}

// TestRoPEPairs holds each kernel set's RoPEPairs bit for bit to RoPE with
// interleaved output (the Go loop the native backend used before), in both
// orders, for rotated widths around the vector widths, written into
// another slice, nothing past the rotated elements.
func TestRoPEPairs(t *testing.T) {
	for _, k := range append([]*kernelSet{&goKernels}, simdKernelSets...) {
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 9))
			for _, dims := range []int{2, 6, 14, 16, 18, 30, 32, 34, 64, 80, 128, 256} {
				for _, neox := range []bool{false, true} {
					cs := make([]float32, dims)
					freqs := make([]float32, dims/2)
					RoPEFreqs(freqs, dims, 10000, nil)
					RoPEAngles(cs, 37+rng.IntN(4000), freqs)
					tab := make([]float32, 2*dims)
					RoPEPairTable(tab, cs)
					x := randVec(rng, dims+3, 2)
					want := slices.Clone(x)
					RoPE(want, cs, neox, true, make([]float32, dims))
					got := randVec(rng, dims+3, 1)
					tail := slices.Clone(got[dims:])
					k.ropePairsF32(got[:dims], x[:dims], tab, neox)
					for i := range dims {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("dims %d neox %v: element %d = %g, RoPE %g", dims, neox, i, got[i], want[i])
						}
					}
					if !slices.Equal(got[dims:], tail) {
						t.Fatalf("dims %d neox %v: wrote past the rotated elements", dims, neox)
					}
				}
			}
		})
	}
}

// BenchmarkVecKernels times the element-wise and attention helpers of the
// kernels in use at decoding sizes (qwen2.5-0.5b's 896-wide rows and
// 4864-wide FFN, 64-wide heads), in MB/s of the floats they read and write.
func BenchmarkVecKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(10, 10))
	x, y, o := randVec(rng, 4864, 1), randVec(rng, 4864, 1), make([]float32, 4864)
	cs := make([]float32, 64)
	freqs := make([]float32, 32)
	RoPEFreqs(freqs, 64, 1e6, nil)
	RoPEAngles(cs, 100, freqs)
	tab := make([]float32, 128)
	RoPEPairTable(tab, cs)
	p, v := randVec(rng, 8*128, 1), randVec(rng, 128*64, 1)
	for _, c := range []struct {
		name  string
		bytes int64
		f     func()
	}{
		{"Add/896", 3 * 4 * 896, func() { Add(o[:896], x[:896], y[:896]) }},
		{"Mul/4864", 3 * 4 * 4864, func() { Mul(o, x, y) }},
		{"RMSNorm/896", 3 * 4 * 896, func() { RMSNorm(o[:896], x[:896], y[:896], 1e-6, false) }},
		{"SiLUTo/4864", 2 * 4 * 4864, func() { SiLUTo(o, x) }},
		{"RoPEPairs/14x64", 14 * (2*4*64 + 4*128), func() {
			for h := range 14 {
				RoPEPairs(o[h*64:(h+1)*64], x[h*64:(h+1)*64], tab, true)
			}
		}},
		{"WeightedRows/8x128x64", 4 * (8*128 + 128*64 + 8*64), func() { WeightedRows(o, 64, p, 128, 8, v, 64, 128, 64, false) }},
		// A tile of attention scores scaled in place (scaled again each
		// time: by 1, so that they stay finite).
		{"ScaleMax/128", 2 * 4 * 128, func() { ScaleMax(p[:128], 1, -1e30) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(c.bytes)
			for b.Loop() {
				c.f()
			}
		})
	}
}

// TestScaleMax holds each kernel set's ScaleMax to the plain-Go loop: the
// scaled elements bit for bit, nothing past them touched, the same maximum
// (with the starting m winning or not, all elements negative), and NaN
// wherever one is present.
func TestScaleMax(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		rng := rand.New(rand.NewPCG(9, 9))
		for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 100, 128} {
			for c, m := range []float32{float32(math.Inf(-1)), -0.5, 0.3, 50, float32(math.Inf(-1))} {
				x := randVec(rng, n+16, 3)
				if c == 4 { // all negative: the maximum is below the masked-off lanes' zeros
					for i := range x {
						x[i] = -abs32(x[i]) - 0.01
					}
				}
				got, want := append([]float32(nil), x...), append([]float32(nil), x...)
				gm, wm := k.scaleMaxF32(got[:n], 0.125, m), scaleMaxGo(want[:n], 0.125, m)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d m=%g: element %d = %g, plain Go %g", n, m, i, got[i], want[i])
					}
				}
				if gm != wm {
					t.Fatalf("n=%d m=%g: max %g, plain Go %g", n, m, gm, wm)
				}
				if n == 0 {
					continue
				}
				nan := float32(math.NaN())
				for _, at := range []int{0, n / 2, n - 1} {
					y := randVec(rng, n, 3)
					y[at] = nan
					if g := k.scaleMaxF32(y, 2, m); !math.IsNaN(float64(g)) {
						t.Fatalf("n=%d: NaN at %d, max %g", n, at, g)
					}
				}
				if g := k.scaleMaxF32(randVec(rng, n, 3), 2, nan); !math.IsNaN(float64(g)) {
					t.Fatalf("n=%d: NaN m, max %g", n, g)
				}
			}
		}
	})
}
