package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQ4Lanes: q4Lane is a permutation of the 16 lanes.
func TestQ4Lanes(t *testing.T) {
	var seen [16]bool
	for c := range 16 {
		l := q4Lane(c)
		if l < 0 || l >= 16 || seen[l] {
			t.Fatalf("q4Lane(%d) = %d repeats or is out of range", c, l)
		}
		seen[l] = true
	}
}

// randQ4Rows returns rows Q4_0 rows of nb blocks with stride ws ≥ nb·18,
// each block's scale finite and of the size real weights have.
func randQ4Rows(rng *rand.Rand, rows, nb, ws int) []byte {
	w := make([]byte, (rows-1)*ws+nb*q4_0Bytes)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	for r := range rows {
		for b := range nb {
			put16(w[r*ws+b*q4_0Bytes:], f32ToF16(float32(rng.NormFloat64()*0.01)))
		}
	}
	return w
}

// The Q4_0 kernels with block sums in lanes: the decoding kernel against
// q4BGo bit for bit (integer sums exact in both, the same float operations
// in the same order; q4BGo's fma rounds twice, float64 then float32, which
// could move a result by an ulp about once in 10⁸ operations, but the inputs
// are fixed by the seed, so a pass is a pass every time), and the matrix kernel on packed panels equal to the decoding kernel bit
// for bit, over block counts around the chunk of 16 (full, partial, half
// pairs), odd row counts and strides.
func TestQ4BKernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		if k.quant.gemvQ4B == nil {
			t.Skip("no Q4_0 block-sum kernels in this set")
		}
		rng := rand.New(rand.NewPCG(61, 62))
		for _, nb := range []int{1, 2, 3, 7, 14, 15, 16, 17, 18, 28, 29, 31, 32, 33, 152} {
			for _, rows := range []int{1, 2, 5, 8} {
				t.Run(fmt.Sprintf("nb=%d/rows=%d", nb, rows), func(t *testing.T) {
					rb := nb * q4_0Bytes
					ws := rb + 18*rng.IntN(2)
					w := randQ4Rows(rng, rows, nb, ws)
					nch := q4Chunks(nb)
					as := nch * q4ActChunk
					const n = 4
					acts := make([][]blockQ8, n)
					gemmAct := make([]byte, n*as+64*rng.IntN(2))
					gemv := make([][]float32, n)
					for j := range n {
						acts[j] = make([]blockQ8, nb)
						quantizeQ8Act(acts[j], randVec(rng, 32*nb, 1+9*rng.Float64()))
						packQ4GemmAct(gemmAct[j*as:], acts[j])

						want := make([]float32, rows)
						q4BGo(want, w, ws, rows, acts[j])
						a := make([]byte, as)
						packQ4GemvAct(a, acts[j])
						got := make([]float32, rows)
						k.quant.gemvQ4B(got, guardedCopy(t, w), ws, rows, a, nb) // no reads past the last row
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("token %d: gemv row %d = %g, reference %g", j, i, got[i], want[i])
							}
						}
						gemv[j] = got
					}
					ne := (rows + 1) &^ 1
					ps := nch * q4PanelChunk
					panel := make([]byte, ne*ps)
					packQ4Panel(panel, w, ws, rows, nb)
					ldo := ne + rng.IntN(3)
					out := make([]float32, 4*ldo)
					for i := range out {
						out[i] = -7
					}
					k.quant.gemmQ4B(out, ldo, panel, ps, ne/2, gemmAct, as, nch)
					for j := range n {
						for i := range rows {
							if g := out[j*ldo+i]; g != gemv[j][i] {
								t.Fatalf("token %d row %d: gemm %g, gemv %g", j, i, g, gemv[j][i])
							}
						}
					}
					for i := range out {
						if i%ldo >= ne && out[i] != -7 {
							t.Fatalf("gemm wrote out[%d] past the rows", i)
						}
					}
				})
			}
		}
	})
}

// q4BGo against the dequantized float reference: a check of the reference
// itself (lanes, offsets, scales), to within the 8-bit activations' error.
func TestQ4BGoDequant(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, nb := range []int{1, 17, 40} {
		rows := 3
		w := randQ4Rows(rng, rows, nb, nb*q4_0Bytes)
		x := randVec(rng, 32*nb, 1)
		a := make([]blockQ8, nb)
		quantizeQ8Act(a, x)
		got := make([]float32, rows)
		q4BGo(got, w, nb*q4_0Bytes, rows, a)
		for r := range rows {
			wf := make([]float32, 32*nb)
			dequantQ4_0(wf, w[r*nb*q4_0Bytes:(r+1)*nb*q4_0Bytes])
			var want, scale float64
			for i := range wf {
				want += float64(wf[i]) * float64(x[i])
				scale += math.Abs(float64(wf[i]) * float64(x[i]))
			}
			if math.Abs(float64(got[r])-want) > 0.02*scale+1e-6 {
				t.Fatalf("nb=%d row %d: %g, float reference %g (Σ|w·x| %g)", nb, r, got[r], want, scale)
			}
		}
	}
}
