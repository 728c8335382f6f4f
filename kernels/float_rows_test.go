package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFloatGemvRows checks the row-streaming F32/F16/BF16 kernels of every
// SIMD kernel set that has them: each output row must equal, bit for bit,
// the same kernel set's 4-row gemv summed over kChunk column chunks (the
// arithmetic MatMul uses, so MatMul row i == MatVec row i), and lie within
// 1e-5 of the float64 dot product relative to Σ|w·x|. Shapes cover
// odd column counts (tails of 1..15 elements), counts around kChunk, row
// counts not multiple of 4 and row strides wider than the row.
func TestFloatGemvRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		if k.float.gemvRowsF32 == nil {
			t.Skipf("%s: no row-streaming float kernels", k.name)
		}
		rng := rand.New(rand.NewPCG(51, 52))
		for _, rows := range []int{1, 2, 3, 4, 5, 7, 13} {
			for _, cols := range []int{1, 7, 15, 16, 17, 31, 33, 100, 1023, 1024, 1025, 2100, 3001} {
				ws := cols + rng.IntN(3)
				x := randVec(rng, cols, 1)
				n := (rows-1)*ws + cols
				wf := randVec(rng, n, 1)
				wh, wb := randHalves(rng, n, false), randHalves(rng, n, true)
				for kind := range 3 {
					got := make([]float32, rows)
					for i := range got {
						got[i] = float32(math.NaN()) // must be overwritten
					}
					vals := make([]float32, n)
					// oneRow is the per-chunk 4-row kernel on row r (stride 0).
					var oneRow func(res *[4]float32, r, k0, kn int)
					switch kind {
					case 0:
						k.float.gemvRowsF32(got, wf, ws, x)
						copy(vals, wf)
						oneRow = func(res *[4]float32, r, k0, kn int) { k.gemvF32(res, wf[r*ws+k0:], 0, x[k0:k0+kn], kn, 0) }
					case 1:
						k.float.gemvRowsHalf[0](got, wh, ws, x)
						f16ToF32SliceGo(vals, wh)
						oneRow = func(res *[4]float32, r, k0, kn int) { k.gemvF16(res, wh[r*ws+k0:], 0, x[k0:k0+kn], kn, 0) }
					case 2:
						k.float.gemvRowsHalf[1](got, wb, ws, x)
						bf16ToF32SliceGo(vals, wb)
						oneRow = func(res *[4]float32, r, k0, kn int) { k.gemvBF16(res, wb[r*ws+k0:], 0, x[k0:k0+kn], kn, 0) }
					}
					for r := range rows {
						var want float32
						var res [4]float32
						for k0 := 0; k0 < cols; k0 += kChunk {
							kn := min(kChunk, cols-k0)
							oneRow(&res, r, k0, kn)
							if k0 == 0 {
								want = res[0]
							} else {
								want += res[0]
							}
						}
						if got[r] != want {
							t.Fatalf("kind %d %dx%d ws=%d row %d: %v, 4-row kernel gives %v", kind, rows, cols, ws, r, got[r], want)
						}
						var ref, sc float64
						for c := range cols {
							p := float64(vals[r*ws+c]) * float64(x[c])
							ref += p
							sc += math.Abs(p)
						}
						if !closeTo(float64(got[r]), ref, sc) {
							t.Fatalf("kind %d %dx%d row %d: %g, float64 reference %g", kind, rows, cols, r, got[r], ref)
						}
					}
				}
			}
		}
	})
}
