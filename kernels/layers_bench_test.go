package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// BenchmarkMatVecLayers runs MatVec over the matrices of one decoding step
// of a llama3.2-1b-shaped model (16 layers of q, k, v, o, gate, up, down,
// then the 128256-row output head), each its own memory, in model order:
// the weight stream of generation without the rest of the model, so its
// MB/s shows what the matrix products alone reach against the machine's
// read bandwidth.
func BenchmarkMatVecLayers(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	const d, kv, ff, vocab, layers = 2048, 512, 8192, 128256, 16
	var shapes [][2]int
	for range layers {
		shapes = append(shapes, [2]int{d, d}, [2]int{kv, d}, [2]int{kv, d}, [2]int{d, d}, [2]int{ff, d}, [2]int{ff, d}, [2]int{d, ff})
	}
	shapes = append(shapes, [2]int{vocab, d})
	for _, typ := range []weights.DType{weights.Q8_0, weights.Q4_0, weights.BF16} {
		b.Run(typ.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			row := map[int][]byte{}
			for _, c := range []int{d, ff} {
				src, err := Quantize(typ, randVec(rng, c, 1))
				if err != nil {
					b.Fatal(err)
				}
				row[c] = src
			}
			mats := make([]Mat, len(shapes))
			var total int64
			for i, s := range shapes {
				src := row[s[1]]
				data := make([]byte, s[0]*len(src))
				for r := range s[0] {
					copy(data[r*len(src):], src)
				}
				mats[i] = Mat{Type: typ, Rows: s[0], Cols: s[1], Data: data}
				total += int64(len(data))
			}
			x := randVec(rng, ff, 1)
			out := make([]float32, vocab)
			b.SetBytes(total)
			b.ResetTimer()
			for b.Loop() {
				for _, m := range mats {
					MatVec(p, out[:m.Rows], m, x[:m.Cols])
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
