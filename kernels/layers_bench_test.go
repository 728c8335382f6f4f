package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// BenchmarkMatVecLayers runs the matrix products of one decoding step of
// a llama3.2-1b- and a qwen2.5-0.5b-shaped model (each layer's q, k, v, o,
// gate, up, down, then the output head), each matrix its own memory, in
// model order: the weight stream of generation without the rest of the
// model, so that its MB/s can be set against the machine's read bandwidth.
// "separate" calls MatVec per matrix, "fused" calls MatVecs for q, k, v
// and for gate, up (as the native backend does).
func BenchmarkMatVecLayers(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	for _, m := range []struct {
		name                     string
		d, kv, ff, vocab, layers int
	}{{"llama1b", 2048, 512, 8192, 128256, 16}, {"qwen0.5b", 896, 128, 4864, 151936, 24}} {
		var groups [][][2]int
		for range m.layers {
			groups = append(groups, [][2]int{{m.d, m.d}, {m.kv, m.d}, {m.kv, m.d}}, [][2]int{{m.d, m.d}},
				[][2]int{{m.ff, m.d}, {m.ff, m.d}}, [][2]int{{m.d, m.ff}})
		}
		groups = append(groups, [][2]int{{m.vocab, m.d}})
		for _, typ := range []weights.DType{weights.Q8_0, weights.Q4_0, weights.BF16} {
			rng := rand.New(rand.NewPCG(3, 4))
			row := map[int][]byte{}
			for _, c := range []int{m.d, m.ff} {
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
			x := randVec(rng, m.ff, 1)
			for _, fused := range []bool{false, true} {
				name := m.name + "/" + typ.String() + "/separate"
				if fused {
					name = m.name + "/" + typ.String() + "/fused"
				}
				b.Run(name, func(b *testing.B) {
					b.SetBytes(total)
					for b.Loop() {
						for g, ms := range mats {
							if fused {
								MatVecs(p, outs[g], ms, x[:ms[0].Cols])
								continue
							}
							for i, w := range ms {
								MatVec(p, outs[g][i], w, x[:w.Cols])
							}
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				})
			}
		}
	}
}
