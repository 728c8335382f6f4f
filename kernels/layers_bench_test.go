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
// and for gate, up (as the native backend does), "whole" multiplies each
// such group as one matrix (its rows are adjacent in memory). On the 2-core
// development VM the three were within its run-to-run noise (±15%).
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
		for _, typ := range []weights.DType{weights.Q8_0, weights.Q4_0, weights.Q4_K, weights.BF16} {
			rng := rand.New(rand.NewPCG(3, 4))
			row := map[int][]byte{}
			rowType := map[int]weights.DType{}
			for _, c := range []int{m.d, m.ff} {
				rowType[c] = typ
				if typ == weights.Q4_K && c%256 != 0 {
					rowType[c] = weights.Q4_0 // as llama.cpp's quantizer (and synthfile) store such rows
				}
				src, err := Quantize(rowType[c], randVec(rng, c, 1))
				if err != nil {
					b.Fatal(err)
				}
				row[c] = src
			}
			mats := make([][]Mat, len(groups))
			outs := make([][][]float32, len(groups))
			whole := make([]Mat, len(groups)) // each group as one matrix (its rows adjacent in memory)
			wholeOut := make([][]float32, len(groups))
			var total int64
			for g, shapes := range groups {
				rows := 0
				for _, s := range shapes {
					rows += s[0]
				}
				src := row[shapes[0][1]]
				data := make([]byte, rows*len(src))
				for r := range rows {
					copy(data[r*len(src):], src)
				}
				whole[g] = Mat{Type: rowType[shapes[0][1]], Rows: rows, Cols: shapes[0][1], Data: data, RoundBF16: true}
				wholeOut[g] = make([]float32, rows)
				for _, s := range shapes {
					n := s[0] * len(src)
					mats[g] = append(mats[g], Mat{Type: rowType[s[1]], Rows: s[0], Cols: s[1], Data: data[:n:n], RoundBF16: true})
					data = data[n:]
					outs[g] = append(outs[g], make([]float32, s[0]))
					total += int64(n)
				}
			}
			x := randVec(rng, m.ff, 1)
			for _, mode := range []string{"separate", "fused", "whole"} {
				b.Run(m.name+"/"+typ.String()+"/"+mode, func(b *testing.B) {
					b.SetBytes(total)
					for b.Loop() {
						for g, ms := range mats {
							switch mode {
							case "fused":
								MatVecs(p, outs[g], ms, x[:ms[0].Cols])
							case "whole":
								MatVec(p, wholeOut[g], whole[g], x[:ms[0].Cols])
							default:
								for i, w := range ms {
									MatVec(p, outs[g][i], w, x[:w.Cols])
								}
							}
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				})
			}
		}
	}
}
