package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// BenchmarkMatVecLayers runs the matrix products of one decoding step of a
// llama3.2-1b-shaped model (16 layers of q, k, v, o, gate, up, down, then
// the 128256-row output head), each matrix its own memory, in model order:
// the weight stream of generation without the rest of the model, so that
// its MB/s can be set against the machine's read bandwidth. "separate"
// calls MatVec per matrix, "fused" calls MatVecs for q, k, v and for gate,
// up (as the native backend does).
func BenchmarkMatVecLayers(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	const d, kv, ff, vocab, layers = 2048, 512, 8192, 128256, 16
	var groups [][][2]int
	for range layers {
		groups = append(groups, [][2]int{{d, d}, {kv, d}, {kv, d}}, [][2]int{{d, d}}, [][2]int{{ff, d}, {ff, d}}, [][2]int{{d, ff}})
	}
	groups = append(groups, [][2]int{{vocab, d}})
	for _, typ := range []weights.DType{weights.Q8_0, weights.Q4_0, weights.BF16} {
		rng := rand.New(rand.NewPCG(3, 4))
		row := map[int][]byte{}
		for _, c := range []int{d, ff} {
			src, err := Quantize(typ, randVec(rng, c, 1))
			if err != nil {
				b.Fatal(err)
			}
			row[c] = src
		}
		mats := make([][]Mat, len(groups))
		outs := make([][][]float32, len(groups))
		var total int64
		for g, shapes := range groups {
			for _, s := range shapes {
				src := row[s[1]]
				data := make([]byte, s[0]*len(src))
				for r := range s[0] {
					copy(data[r*len(src):], src)
				}
				mats[g] = append(mats[g], Mat{Type: typ, Rows: s[0], Cols: s[1], Data: data, RoundBF16: true})
				outs[g] = append(outs[g], make([]float32, s[0]))
				total += int64(len(data))
			}
		}
		x := randVec(rng, ff, 1)
		for _, fused := range []bool{false, true} {
			name := typ.String() + "/separate"
			if fused {
				name = typ.String() + "/fused"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(total)
				for b.Loop() {
					for g, ms := range mats {
						if fused {
							MatVecs(p, outs[g], ms, x[:ms[0].Cols])
							continue
						}
						for i, m := range ms {
							MatVec(p, outs[g][i], m, x[:m.Cols])
						}
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}
