package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
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
