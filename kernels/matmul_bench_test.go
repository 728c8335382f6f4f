package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// Benchmarks at real layer shapes (Qwen2-0.5B MLP 896×4864, a 1-2B model's
// 2048×8192). They report weight throughput as MB/s (b.SetBytes) and
// GFLOP/s, for the SIMD and the plain-Go kernels side by side:
//
//	go test -run - -bench 'MatVec|MatMul' ./kernels/

var benchShapes = [][2]int{{896, 4864}, {2048, 8192}}

var benchMats = map[string]Mat{}

// benchMat builds a rows×cols matrix of type t from a few distinct quantized
// rows repeated (quantizing millions of elements would dominate setup).
func benchMat(b *testing.B, t weights.DType, rows, cols int) Mat {
	key := fmt.Sprint(t, rows, cols)
	if m, ok := benchMats[key]; ok {
		return m
	}
	rng := rand.New(rand.NewPCG(9, 10))
	const distinct = 16
	src, err := Quantize(t, randVec(rng, distinct*cols, 1))
	if err != nil {
		b.Fatal(err)
	}
	rb := len(src) / distinct
	data := make([]byte, rows*rb)
	for r := range rows {
		copy(data[r*rb:], src[(r%distinct)*rb:(r%distinct+1)*rb])
	}
	m := Mat{Type: t, Rows: rows, Cols: cols, Data: data}
	benchMats[key] = m
	return m
}

func benchMatMul(b *testing.B, n int) {
	p := NewPool(0)
	defer p.Close()
	shapes := benchShapes
	if n > 8 {
		shapes = shapes[:1] // the plain-Go reference takes seconds per op
	}
	for _, shape := range shapes {
		for _, t := range allTypes {
			for _, simd := range simdModes() {
				name := fmt.Sprintf("%v/%dx%d/%s", t, shape[0], shape[1], modeName(simd))
				b.Run(name, func(b *testing.B) {
					w := benchMat(b, t, shape[0], shape[1])
					x := randVec(rand.New(rand.NewPCG(1, 1)), n*w.Cols, 1)
					out := make([]float32, n*w.Rows)
					defer setSIMD(simd)()
					b.SetBytes(int64(len(w.Data)))
					for b.Loop() {
						if n == 1 {
							MatVec(p, out, w, x)
						} else {
							MatMul(p, out, w, x, n)
						}
					}
					b.ReportMetric(2*float64(w.Rows)*float64(w.Cols)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

func BenchmarkMatVec(b *testing.B)   { benchMatMul(b, 1) }
func BenchmarkMatMul8(b *testing.B)  { benchMatMul(b, 8) }
func BenchmarkMatMul64(b *testing.B) { benchMatMul(b, 64) }
