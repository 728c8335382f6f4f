package model_test

import (
	"math"
	"testing"

	"github.com/goformer/goformer/kernels"
	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
)

// TestNativeBF16Activations: by default a BF16 model runs on the
// bfloat16-activation kernels (different numbers from Native.ExactBF16
// where the CPU has AVX512_BF16, the same where not) and stays near the
// exact path. On the tiny random llama the two differ by 0.098 in
// log-probability (the same gap as between the exact path and llama.cpp,
// which rounds activations too; rounded, goformer agrees with llama.cpp
// within 5e-4).
func TestNativeBF16Activations(t *testing.T) {
	_, path := synthPair(t, "llama", weights.BF16)
	exactM, exactBe := loadPathWith(t, path, func(n *model.Native) { n.ExactBF16 = true })
	m, be := loadPath(t, path)
	vocab := m.Config().Vocab
	prompt := testPrompt(vocab, 12)
	exact, got := evalAll(t, exactM, exactBe, prompt), evalAll(t, m, be, prompt)
	maxDiff := 0.0
	for p := 0; p < len(prompt); p++ {
		a, b := logSoftmax64(exact[p*vocab:(p+1)*vocab]), logSoftmax64(got[p*vocab:(p+1)*vocab])
		for i := range a {
			maxDiff = max(maxDiff, math.Abs(a[i]-b[i]))
		}
	}
	t.Logf("max |Δ log-prob| bf16 activations vs exact: %.3g", maxDiff)
	hasBF16 := kernels.RoundsBF16()
	switch {
	case hasBF16 && maxDiff == 0:
		t.Fatal("the default BF16 path gave ExactBF16's numbers with bfloat16 dot-product kernels in use")
	case !hasBF16 && maxDiff != 0:
		t.Fatalf("ExactBF16 changed the numbers (%g) without bfloat16 dot-product kernels", maxDiff)
	case maxDiff > 0.2:
		t.Fatalf("bf16 activations are %g away from the exact path in log-probability", maxDiff)
	}
}

func logSoftmax64(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - m - math.Log(s)
	}
	return out
}
