package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// randQ4KRows returns rows Q4_K rows of nb blocks, ws bytes apart (ws ≥
// nb·144), with random nibbles and scales and finite d, dmin.
func randQ4KRows(rng *rand.Rand, rows, nb, ws int) []byte {
	w := randQuantRow(rng, 1, (rows-1)*ws+nb*q4KBytes)
	for r := range rows {
		for b := range nb {
			blk := w[r*ws+b*q4KBytes:]
			put16(blk, f32ToF16(float32(rng.NormFloat64()*0.01)))
			put16(blk[2:], f32ToF16(float32(rng.NormFloat64()*0.01)))
		}
	}
	return w
}

// randQ8KRows quantizes nr random activation rows of nb blocks, as blocks
// apart.
func randQ8KRows(rng *rand.Rand, nr, nb, as int) []blockQ8K {
	a := make([]blockQ8K, (nr-1)*as+nb)
	for t := range nr {
		quantizeQ8KAct(a[t*as:t*as+nb], randVec(rng, 256*nb, 1+9*rng.Float64()))
	}
	return a
}

// The tiled Q4_K kernels: every result equals the kernel set's per-row
// dotQ4K (the decoding kernel) bit for bit, and gemmQ4KGo, their plain-Go
// reference, within its fma's double rounding (1e-6 of the largest output).
func TestGemmQ4KKernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		if k.quant.gemmQ4K[0] == nil {
			t.Skip("no tiled Q4_K kernels in this set")
		}
		rng := rand.New(rand.NewPCG(61, 62))
		for _, nb := range []int{1, 2, 3, 5, 8, 19} {
			for nr := 1; nr <= 4; nr++ {
				for _, rows := range []int{1, 3, 4, 7} {
					ws := nb*q4KBytes + 16*rng.IntN(2)
					as := nb + rng.IntN(2)
					w := randQ4KRows(rng, rows, nb, ws)
					a := randQ8KRows(rng, nr, nb, as)
					ldo := rows + rng.IntN(3)
					got := make([]float32, (nr-1)*ldo+rows)
					want := make([]float32, len(got))
					k.quant.gemmQ4K[nr-1](got, ldo, w, ws, rows, a, as, nb)
					gemmQ4KGo(nr, want, ldo, w, ws, rows, a, as, nb)
					var amax float64
					for _, v := range want {
						amax = max(amax, math.Abs(float64(v)))
					}
					for tk := range nr {
						for i := range rows {
							g := got[tk*ldo+i]
							if d := k.dotQ4K(w[i*ws:i*ws+nb*q4KBytes], a[tk*as:tk*as+nb]); g != d {
								t.Fatalf("nb=%d nr=%d rows=%d: out[%d,%d] = %g, dotQ4K %g", nb, nr, rows, tk, i, g, d)
							}
							if math.Abs(float64(g)-float64(want[tk*ldo+i])) > 1e-6*amax {
								t.Fatalf("nb=%d nr=%d rows=%d: out[%d,%d] = %g, gemmQ4KGo %g", nb, nr, rows, tk, i, g, want[tk*ldo+i])
							}
						}
					}
				}
			}
		}
	})
}

// gemmQ4KGo against the product of the dequantized weights with the
// dequantized (int8) activations, computed in float64: they differ only by
// float32 rounding.
func TestGemmQ4KGoDequant(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, nb := range []int{1, 4, 19} {
		const rows, nr = 5, 3
		w := randQ4KRows(rng, rows, nb, nb*q4KBytes)
		a := randQ8KRows(rng, nr, nb, nb)
		got := make([]float32, nr*rows)
		gemmQ4KGo(nr, got, rows, w, nb*q4KBytes, rows, a, nb, nb)
		deq := make([]float32, 256*nb)
		for i := range rows {
			dequantQ4K(deq, w[i*nb*q4KBytes:])
			for tk := range nr {
				var want, scale float64
				for e, v := range deq {
					blk := &a[tk*nb+e/256]
					p := float64(v) * float64(blk.d) * float64(blk.qs[e%256])
					want += p
					scale += math.Abs(p)
				}
				if g := float64(got[tk*rows+i]); math.Abs(g-want) > 1e-5*scale+1e-30 {
					t.Fatalf("nb=%d out[%d,%d] = %g, dequantized %g (scale %g)", nb, tk, i, g, want, scale)
				}
			}
		}
	}
}

// MatMul of Q4_K with the tiled kernels: row i equals MatVec of input row i
// bit for bit, for n = 1…9 and more, odd row counts, K = 256·k, with and
// without threads, and stays close to the dequantized float product.
func TestGemmQ4KMatMulRows(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(65, 66))
	ns := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 17, 40}
	for _, shape := range [][2]int{{1, 256}, {3, 512}, {7, 768}, {13, 1280}, {37, 256}, {64, 2048}, {41, 4864}, {300, 1024}} {
		rows, cols := shape[0], shape[1]
		data, err := Quantize(weights.Q4_K, randVec(rng, rows*cols, 1))
		if err != nil {
			t.Fatal(err)
		}
		w := Mat{Type: weights.Q4_K, Rows: rows, Cols: cols, Data: data}
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
