package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

// kQuant describes a K-quant type for the tiled-kernel tests.
type kQuant struct {
	typ        weights.DType
	blockBytes int
	halves     []int                                // offsets of the f16 scales in a block
	kernel     func(k *kernelSet, nr int) gemmKFunc // nil where k has none
	ref        func(nr int, out []float32, ldo int, w []byte, ws, rows int, a []blockQ8K, as, nb int)
	dot        func(k *kernelSet) func(w []byte, a []blockQ8K) float32
	dequant    func(dst []float32, src []byte)
}

var kQuants = []kQuant{
	{weights.Q4_K, q4KBytes, []int{0, 2}, q4KPairs, gemmQ4KGo,
		func(k *kernelSet) func(w []byte, a []blockQ8K) float32 { return k.dotQ4K }, dequantQ4K},
	{weights.Q6_K, q6KBytes, []int{208}, func(k *kernelSet, nr int) gemmKFunc { return k.quant.gemmQ6K[nr-1] }, gemmQ6KGo,
		func(k *kernelSet) func(w []byte, a []blockQ8K) float32 { return k.dotQ6K }, dequantQ6K},
}

// q4KPairs returns k's tiled Q4_K kernel for nr ≤ 4 activation rows as a
// gemmKFunc: it copies the rows (with an all-zero one after an odd count)
// and packs their side records, as MatMul does, with a pair stride of more
// than the records' size. Results go to out only for the nr rows.
func q4KPairs(k *kernelSet, nr int) gemmKFunc {
	np := (nr + 1) / 2
	if k.quant.gemmQ4K[np-1] == nil {
		return nil
	}
	return func(out []float32, ldo int, w []byte, ws, rows int, a []blockQ8K, as, nb int) {
		pa := make([]blockQ8K, 2*np*as)
		for t := range nr {
			copy(pa[t*as:t*as+nb], a[t*as:t*as+nb])
		}
		ss := nb*q4KSideBytes + 64
		side := make([]byte, np*ss)
		for t := range 2 * np {
			packQ4KSide(side[t/2*ss:], pa[t*as:t*as+nb], nb, t%2)
		}
		k.quant.gemmQ4K[np-1](out, ldo, w, ws, rows, pa, as, nb, side, ss, nr)
	}
}

// randKRows returns rows rows of nb blocks of kq's type, ws bytes apart
// (ws ≥ nb·blockBytes), with random quants and sub-block scales and finite
// f16 scales.
func randKRows(rng *rand.Rand, kq kQuant, rows, nb, ws int) []byte {
	w := randQuantRow(rng, 1, (rows-1)*ws+nb*kq.blockBytes)
	for r := range rows {
		for b := range nb {
			for _, off := range kq.halves {
				put16(w[r*ws+b*kq.blockBytes+off:], f32ToF16(float32(rng.NormFloat64()*0.01)))
			}
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

// The tiled K-quant kernels: every result equals the kernel set's per-row
// dot (dotQ4K / dotQ6K, the decoding kernel) bit for bit, and gemmQ4KGo /
// gemmQ6KGo, their plain-Go references, within their fma's double rounding
// (1e-6 of the largest output).
func TestGemmKKernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		for _, kq := range kQuants {
			t.Run(kq.typ.String(), func(t *testing.T) { testGemmK(t, k, kq) })
		}
	})
}

func testGemmK(t *testing.T, k *kernelSet, kq kQuant) {
	dot := kq.dot(k)
	if kq.kernel(k, 1) == nil {
		t.Skip("no tiled kernels in this set")
	}
	rng := rand.New(rand.NewPCG(61, 62))
	for _, nb := range []int{1, 2, 3, 5, 8, 19} {
		for nr := 1; nr <= 4; nr++ {
			for _, rows := range []int{1, 3, 4, 7} {
				ws := nb*kq.blockBytes + 16*rng.IntN(2)
				as := nb + rng.IntN(2)
				w := randKRows(rng, kq, rows, nb, ws)
				a := randQ8KRows(rng, nr, nb, as)
				ldo := rows + rng.IntN(3)
				got := make([]float32, (nr-1)*ldo+rows, nr*ldo+rows)
				want := make([]float32, len(got))
				past := got[len(got):cap(got)] // must stay untouched
				for i := range past {
					past[i] = -7
				}
				kq.kernel(k, nr)(got, ldo, w, ws, rows, a, as, nb)
				for i, v := range past {
					if v != -7 {
						t.Fatalf("nb=%d nr=%d rows=%d: wrote %g past the results at %d", nb, nr, rows, v, i)
					}
				}
				kq.ref(nr, want, ldo, w, ws, rows, a, as, nb)
				var amax float64
				for _, v := range want {
					amax = max(amax, math.Abs(float64(v)))
				}
				for tk := range nr {
					for i := range rows {
						g := got[tk*ldo+i]
						if d := dot(w[i*ws:i*ws+nb*kq.blockBytes], a[tk*as:tk*as+nb]); g != d {
							t.Fatalf("nb=%d nr=%d rows=%d: out[%d,%d] = %g, per-row dot %g", nb, nr, rows, tk, i, g, d)
						}
						if math.Abs(float64(g)-float64(want[tk*ldo+i])) > 1e-6*amax {
							t.Fatalf("nb=%d nr=%d rows=%d: out[%d,%d] = %g, Go reference %g", nb, nr, rows, tk, i, g, want[tk*ldo+i])
						}
					}
				}
			}
		}
	}
}

// gemmQ4KGo and gemmQ6KGo against the product of the dequantized weights
// with the dequantized (int8) activations, computed in float64: they differ
// only by float32 rounding.
func TestGemmKGoDequant(t *testing.T) {
	for _, kq := range kQuants {
		t.Run(kq.typ.String(), func(t *testing.T) { testGemmKGoDequant(t, kq) })
	}
}

func testGemmKGoDequant(t *testing.T, kq kQuant) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, nb := range []int{1, 4, 19} {
		const rows, nr = 5, 3
		bb := kq.blockBytes
		w := randKRows(rng, kq, rows, nb, nb*bb)
		a := randQ8KRows(rng, nr, nb, nb)
		got := make([]float32, nr*rows)
		kq.ref(nr, got, rows, w, nb*bb, rows, a, nb, nb)
		deq := make([]float32, 256*nb)
		for i := range rows {
			kq.dequant(deq, w[i*nb*bb:])
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

// MatMul of Q4_K and Q6_K with the tiled kernels: row i equals MatVec of
// input row i bit for bit, for n = 1…9 and more, odd row counts, K = 256·k,
// with and without threads, and stays close to the dequantized float
// product.
func TestGemmKMatMulRows(t *testing.T) {
	for _, kq := range kQuants {
		t.Run(kq.typ.String(), func(t *testing.T) { testGemmKMatMulRows(t, kq.typ) })
	}
}

func testGemmKMatMulRows(t *testing.T, typ weights.DType) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(65, 66))
	ns := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 17, 40}
	checkMatMulRows(t, p, rng, typ, [][2]int{{1, 256}, {3, 512}, {7, 768}, {13, 1280}, {37, 256}, {64, 2048}, {41, 4864}, {300, 1024}}, ns)
}

// The K-quant decoding kernels equal the kernel set's dotQ4K / dotQ6K bit
// for bit, row by row, on random blocks (every 6-bit scale and min pattern),
// odd block counts and strides.
func TestGemvK(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		for _, kq := range kQuants {
			gemv := k.quant.gemvQ4K
			if kq.typ == weights.Q6_K {
				gemv = k.quant.gemvQ6K
			}
			t.Run(kq.typ.String(), func(t *testing.T) {
				if gemv == nil {
					t.Skip("no decoding kernel for this type in this set")
				}
				dot := kq.dot(k)
				rng := rand.New(rand.NewPCG(71, 72))
				for _, nb := range []int{1, 2, 3, 5, 8, 19} {
					for _, rows := range []int{1, 3, 7} {
						ws := nb*kq.blockBytes + 16*rng.IntN(3)
						w := randKRows(rng, kq, rows, nb, ws)
						a := randQ8KRows(rng, 1, nb, nb)
						ga := a
						if kq.typ == weights.Q4_K {
							ga = append([]blockQ8K(nil), a...)
							q4KGemvOrder(ga)
						}
						got := make([]float32, rows, rows+1)
						got[:rows+1][rows] = -7
						gemv(got, guardedCopy(t, w), ws, ga) // no reads past the last row
						if v := got[:rows+1][rows]; v != -7 {
							t.Fatalf("nb=%d rows=%d: wrote %g past the results", nb, rows, v)
						}
						for i := range rows {
							want := dot(w[i*ws:i*ws+nb*kq.blockBytes], a)
							if math.Float32bits(got[i]) != math.Float32bits(want) {
								t.Fatalf("nb=%d rows=%d ws=%d: row %d = %g, per-row dot %g", nb, rows, ws, i, got[i], want)
							}
						}
					}
				}
			})
		}
	})
}
