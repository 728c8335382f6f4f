package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRMSNormSumsInFloat64: a row whose squares a float32 running sum
// cannot hold (2²⁴ then 4095 ones, each lost against 2²⁴) still gets the
// scale of the true mean, within an ulp or two of a float64 evaluation.
func TestRMSNormSumsInFloat64(t *testing.T) {
	x := make([]float32, 4096)
	x[0] = 4096
	for i := 1; i < len(x); i++ {
		x[i] = 1
	}
	const eps = 1e-6
	out := make([]float32, len(x))
	RMSNorm(out, x, nil, eps, false)
	ss := 0.0
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := 1 / math.Sqrt(ss/float64(len(x))+eps)
	for _, i := range []int{0, 1} {
		want := float64(x[i]) * scale
		if ulps := math.Abs(float64(out[i])-want) / ulp32(float32(want)); ulps > 2 {
			t.Errorf("out[%d] = %.9g, want %.9g (%.0f ulps off)", i, out[i], want, ulps)
		}
	}
	// Without weights, addOne (Gemma's 1 + w) has nothing to apply to.
	one := make([]float32, len(x))
	RMSNorm(one, x, nil, eps, true)
	if !slices.Equal(one, out) {
		t.Error("RMSNorm without weights differs with addOne")
	}
}

// TestRMSNormArithmetic pins RMSNorm to the float32 operations of
// llama.cpp's CPU rms_norm followed by its mul by the weight (ggml-cpu
// ops.cpp): Σ float64(x²) in order, mean = float32(Σ/n), scale =
// 1/sqrtf(mean + eps), y = (x·scale)·w. BF16 models round y to bfloat16,
// so any other order of the same operations moves an activation now and
// then by a whole bfloat16 ulp: on the tiny synthetic qwen2 BF16 file
// (peer test qwen2-bf16), one such flip in layer 0 put goformer 0.025 in
// log-probability away from llama.cpp.
func TestRMSNormArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{16, 64, 896, 2048} {
		x, w := make([]float32, n), make([]float32, n)
		got, want := make([]float32, n), make([]float32, n)
		for trial := range 50 {
			for i := range x {
				x[i] = float32(r.NormFloat64() * math.Exp2(float64(trial%7-3)))
				w[i] = float32(1 + 0.1*r.NormFloat64())
			}
			const eps = 1e-6
			var sum float64
			for _, v := range x {
				sq := v * v // a float32 product
				sum += float64(sq)
			}
			mean := float32(sum / float64(n))
			root := float32(math.Sqrt(float64(mean + eps))) // sqrtf
			scale := float32(1) / root
			for i, v := range x {
				y := v * scale
				want[i] = y * w[i]
			}
			RMSNorm(got, x, w, eps, false)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d trial %d: out[%d] = %.9g (%08x), ggml's arithmetic gives %.9g (%08x)",
						n, trial, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
			}
		}
	}
}

// ulp32 is the spacing of float32 numbers at v.
func ulp32(v float32) float64 {
	v = float32(math.Abs(float64(v)))
	return float64(math.Nextafter32(v, float32(math.Inf(1))) - v)
}
