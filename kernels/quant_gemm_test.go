package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// The tiled Q8_0 kernels against gemmQGo, their plain-Go reference.
// Integer sums are exact in both; the float operations are the same, in the
// same order, except that gemmQGo's fma rounds twice (float64, then float32),
// which can move a result by an ulp: the tolerance is 1e-6 of the largest
// output magnitude of the call.
func TestGemmQKernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		if k.quant.gemmQ8_0[0] == nil {
			t.Skip("no tiled quantized kernels in this set")
		}
		rng := rand.New(rand.NewPCG(51, 52))
		const bb = q8_0Bytes
		ks := &k.quant.gemmQ8_0
		for _, nb := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 28, 29, 33, 152, 161} {
			np, tail := nb/2, nb%2
			as := (np+tail)*q8PairBytes + 64*rng.IntN(2)
			for nr := 1; nr <= 4; nr++ {
				for _, groups := range []int{1, 3} {
					rb := nb * bb
					for _, ws := range []int{rb, rb + 7, 0} {
						g := groups
						if ws == 0 {
							g = 1
						}
						w := randQuantRow(rng, bb, (4*ws*(g-1)+3*ws)/bb+nb+1, 0)[:4*ws*(g-1)+3*ws+rb]
						for i := 0; i+2 <= len(w); i += bb { // scales stay finite wherever the blocks fall
							put16(w[i:], f32ToF16(float32(rng.NormFloat64()*0.01)))
						}
						for r := range 4 * g { // each row's own block scales
							row := w[(r/4)*4*ws+(r%4)*ws:]
							for b := range nb {
								put16(row[b*bb:], f32ToF16(float32(rng.NormFloat64()*0.01)))
							}
						}
						a := make([]byte, nr*as)
						for j := range nr {
							packQ8Act(a[j*as:], randVec(rng, 32*nb, 1+9*rng.Float64()))
						}
						ldo := 4*g + rng.IntN(3)
						got := make([]float32, nr*ldo)
						want := make([]float32, nr*ldo)
						for i := range got {
							got[i], want[i] = -7, -7
						}
						ks[nr-1](got, ldo, w, ws, g, a, as, np, tail, rng.IntN(2) == 0)
						gemmQGo(nr, want, ldo, w, ws, g, a, as, np, tail)
						if nr == 1 && ws != 0 { // the decoding kernels: the same per row, bit for bit
							vec := make([]float32, 4*g)
							k.quant.gemvQ8_0(vec, w, ws, 4*g, guardedCopy(t, a[:packedQ8Bytes(np, tail)]), np, tail)
							for i, v := range vec {
								if v != got[4*(i/4)+i%4] {
									t.Fatalf("nb=%d ws=%d: gemv row %d = %g, gemm %g", nb, ws, i, v, got[i])
								}
							}
							if k.quant.gemvQ8_0C != nil {
								c := make([]byte, compactQ8Bytes(np, tail))
								for i := range c { // what the layout leaves unused must not matter
									c[i] = byte(rng.IntN(256))
								}
								clear(vec)
								// Rows of whole groups (nb = 16) must not read the next group's scales.
								k.quant.gemvQ8_0C(vec, w, ws, 4*g, guardedCopy(t, compactQ8Act(c, a, np, tail)), np, tail)
								for i, v := range vec {
									if v != got[4*(i/4)+i%4] {
										t.Fatalf("nb=%d ws=%d: compact gemv row %d = %g, gemm %g", nb, ws, i, v, got[i])
									}
								}
							}
						}
						var amax float64
						for _, v := range want {
							amax = max(amax, math.Abs(float64(v)))
						}
						for i := range got {
							if math.Abs(float64(got[i])-float64(want[i])) > 1e-6*amax {
								t.Fatalf("nb=%d nr=%d groups=%d ws=%d: out[%d] = %g, want %g", nb, nr, g, ws, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

// MatMul with the tiled kernels: row i equals MatVec of input row i bit for
// bit, for every input-row count and with or without threads, and the result
// is close to the dequantized float reference. The shapes cover K = 32·(1…9),
// qwen2.5-0.5b's 896 and 4864 and 4896 (rows long enough for decoding's
// compact activations, the last with a half pair), row counts that are not multiples of 4, few
// rows (the pool splits input-row tiles) and, single-threaded, several
// weight panels (300 rows of 896).
func TestGemmQMatMulRows(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(53, 54))
	ns := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 64}
	shapes := [][2]int{{1, 32}, {3, 64}, {5, 96}, {6, 128}, {7, 160}, {9, 192}, {37, 224}, {11, 256}, {13, 288}, {64, 896}, {300, 896}, {20, 4864}, {37, 4896}}
	for _, typ := range []weights.DType{weights.Q8_0, weights.Q4_0} {
		t.Run(typ.String(), func(t *testing.T) { checkMatMulRows(t, p, rng, typ, shapes, ns) })
	}
}

// BenchmarkMatVecQ0Large: MatVec over matrices larger than the last-level
// cache (the weights stream from memory as in decoding), tiled kernels vs
// the per-row dot kernels (legacy) of the same kernel set.
func BenchmarkMatVecQ0Large(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	for _, typ := range []weights.DType{weights.Q8_0, weights.Q4_0} {
		for _, tiled := range []bool{true, false} {
			name := fmt.Sprintf("%v/32768x2048/tiled=%v", typ, tiled)
			b.Run(name, func(b *testing.B) {
				w := benchMat(b, typ, 32768, 2048)
				x := randVec(rand.New(rand.NewPCG(1, 1)), w.Cols, 1)
				out := make([]float32, w.Rows)
				if !tiled {
					saved := curQuant
					curQuant = quantKernels{}
					defer func() { curQuant = saved }()
				}
				b.SetBytes(int64(len(w.Data)))
				for b.Loop() {
					MatVec(p, out, w, x)
				}
			})
		}
	}
}

// checkMatMulRows quantizes random weights of each shape to typ and
// requires, for each input-row count in ns, MatMul on p and single-threaded
// to equal MatVec of each input row bit for bit, and to stay within
// 0.05·√cols of the dequantized float reference (8-bit activations: error
// ≲ 1% of the row's Σ|w·x| scale).
func checkMatMulRows(t *testing.T, p *Pool, rng *rand.Rand, typ weights.DType, shapes [][2]int, ns []int) {
	for _, shape := range shapes {
		rows, cols := shape[0], shape[1]
		data, err := Quantize(typ, randVec(rng, rows*cols, 1))
		if err != nil {
			t.Fatal(err)
		}
		w := Mat{Type: typ, Rows: rows, Cols: cols, Data: data}
		for _, n := range ns {
			t.Run(fmt.Sprintf("%dx%d/n=%d", rows, cols, n), func(t *testing.T) {
				x := randVec(rng, n*cols, 1)
				got := make([]float32, n*rows)
				MatMul(p, got, w, x, n)
				single := make([]float32, n*rows)
				MatMul(nil, single, w, x, n)
				ref := make([]float32, n*rows)
				matMulDequant(nil, ref, w, x, n)
				vec := make([]float32, rows)
				for i := range n {
					MatVec(nil, vec, w, x[i*cols:(i+1)*cols])
					for r := range rows {
						g := got[i*rows+r]
						if g != vec[r] || single[i*rows+r] != vec[r] {
							t.Fatalf("out[%d,%d]: MatMul %g (single-threaded %g), MatVec %g", i, r, g, single[i*rows+r], vec[r])
						}
						if d := math.Abs(float64(g - ref[i*rows+r])); d > 0.05*math.Sqrt(float64(cols)) {
							t.Fatalf("out[%d,%d] = %g, float reference %g", i, r, g, ref[i*rows+r])
						}
					}
				}
			})
		}
	}
}
