package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// BenchmarkMatMulK: K-quant MatMul at real layer shapes (rows×cols: qwen2.5
// 0.5b's ffn_down 896×4864, llama3.2-1b's 2048×8192 and 8192×2048) for
// prompt processing (n = 512), batched decoding (n = 8) and decoding
// (n = 1), the tiled kernels against the per-row dot kernels (legacy) of
// the same kernel set, side by side:
//
//	go test -run - -bench MatMulK -cpu 1 ./kernels/
func BenchmarkMatMulK(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	for _, typ := range []weights.DType{weights.Q4_K, weights.Q6_K} {
		for _, shape := range [][2]int{{896, 4864}, {2048, 8192}, {8192, 2048}} {
			for _, n := range []int{1, 8, 512} {
				for _, tiled := range []bool{true, false} {
					name := fmt.Sprintf("%v/%dx%d/n=%d/tiled=%v", typ, shape[0], shape[1], n, tiled)
					b.Run(name, func(b *testing.B) {
						w := benchMat(b, typ, shape[0], shape[1])
						x := randVec(rand.New(rand.NewPCG(1, 1)), n*w.Cols, 1)
						out := make([]float32, n*w.Rows)
						if !tiled {
							saved := curQuant
							curQuant.gemmQ4K, curQuant.gemmQ6K = [2]gemmKPFunc{}, [4]gemmKFunc{}
							defer func() { curQuant = saved }()
						}
						b.SetBytes(int64(len(w.Data)))
						for b.Loop() {
							MatMul(p, out, w, x, n)
						}
						b.ReportMetric(2*float64(w.Rows)*float64(w.Cols)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}
