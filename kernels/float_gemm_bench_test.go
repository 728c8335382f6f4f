package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// BenchmarkMatMulFloat512 is prompt processing of a 1-2B model: 512 input
// rows against F32 and BF16 weights of its attention (2048×2048) and MLP
// (8192×2048, 2048×8192) shapes, SIMD kernels only; BF16act is BF16 with
// SetBF16Activations(true):
//
//	go test -run - -bench MatMulFloat512 -cpu 1 ./kernels/
func BenchmarkMatMulFloat512(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	const n = 512
	for _, shape := range [][2]int{{2048, 2048}, {8192, 2048}, {2048, 8192}} {
		for _, name := range []string{"BF16", "BF16act", "F32"} {
			b.Run(fmt.Sprintf("%s/%dx%d", name, shape[0], shape[1]), func(b *testing.B) {
				t := weights.F32
				if name != "F32" {
					t = weights.BF16
				}
				defer func(old bool) { SetBF16Activations(old) }(bf16Activations.Load())
				SetBF16Activations(name == "BF16act")
				w := benchMat(b, t, shape[0], shape[1])
				x := randVec(rand.New(rand.NewPCG(1, 1)), n*w.Cols, 1)
				out := make([]float32, n*w.Rows)
				for b.Loop() {
					MatMul(p, out, w, x, n)
				}
				b.ReportMetric(2*float64(w.Rows)*float64(w.Cols)*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
