package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/goformer/goformer/weights"
)

// forEachBF16Dot runs f for each SIMD kernel set with BF16-activation
// kernels, skipping when there is none.
func forEachBF16Dot(t *testing.T, f func(t *testing.T, k *bf16DotKernels)) {
	ran := false
	for _, ks := range simdKernelSets {
		if ks.float.bf16Dot != nil {
			ran = true
			t.Run(ks.name, func(t *testing.T) { f(t, ks.float.bf16Dot) })
		}
	}
	if !ran {
		t.Skip("no AVX512_BF16 kernels on this CPU/build")
	}
}

// withBF16Activations sets SetBF16Activations for the test's duration.
func withBF16Activations(t *testing.T, on bool) {
	old := bf16Activations.Load()
	SetBF16Activations(on)
	t.Cleanup(func() { SetBF16Activations(old) })
}

// TestToBF16Go checks the plain-Go rounding against hand-worked values:
// ties to even, carries into the exponent, overflow to infinity, denormals
// and NaN.
func TestToBF16Go(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0x3f7fffff, 0x3f80}, // carry into the exponent
		{0x7f7fffff, 0x7f80}, // largest float32 rounds to +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7fa00001, 0x7fe0}, // signalling NaN quieted
		{0x00400000, 0x0000}, // denormal → 0
		{0x80000001, 0x8000}, // negative denormal → -0
		{0x00800000, 0x0080}, // smallest normal
	} {
		var got [1]uint16
		toBF16Go(got[:], []float32{math.Float32frombits(c.in)})
		if got[0] != c.want {
			t.Errorf("%#08x: got %#04x, want %#04x", c.in, got[0], c.want)
		}
	}
}

// TestToBF16 holds the SIMD rounding to the plain-Go one bit for bit, on
// every length up to 70 (tails under a mask) and special values.
func TestToBF16(t *testing.T) {
	forEachBF16Dot(t, func(t *testing.T, k *bf16DotKernels) {
		rng := rand.New(rand.NewPCG(61, 62))
		special := []uint32{0, 0x80000000, 0x00400000, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0x7f7fffff, 0x3f808000, 0x3f818000}
		for n := range 71 {
			x := randVec(rng, n, 10)
			for i := range x {
				if rng.IntN(4) == 0 {
					x[i] = math.Float32frombits(special[rng.IntN(len(special))])
				} else if rng.IntN(4) == 0 {
					x[i] = math.Float32frombits(rng.Uint32())
				}
			}
			got := make([]uint16, n+1)
			got[n] = 0x1234 // must stay
			want := make([]uint16, n)
			k.toBF16(got[:n], x)
			toBF16Go(want, x)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n=%d: x[%d]=%#08x gives %#04x, want %#04x", n, i, math.Float32bits(x[i]), got[i], want[i])
				}
			}
			if got[n] != 0x1234 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	})
}

// TestBF16DotKernels holds the row-streaming and gemm AVX512_BF16 kernels
// to the plain-Go VDPBF16PS arithmetic bit for bit (odd column counts, tails
// of 1..31 columns, chunk boundaries, every input-row count, storing and
// adding), and the plain Go to the float64 dot product of the same
// bfloat16 values within 1e-5 of Σ|w·x|.
func TestBF16DotKernels(t *testing.T) {
	forEachBF16Dot(t, func(t *testing.T, k *bf16DotKernels) {
		rng := rand.New(rand.NewPCG(63, 64))
		for _, cols := range []int{1, 2, 3, 17, 31, 32, 33, 63, 64, 100, 1023, 1024, 1025, 2100, 3001} {
			for _, rows := range []int{1, 3, 4, 7} {
				ws := cols + rng.IntN(3)
				w := randHalves(rng, (rows-1)*ws+cols, true)
				x := randHalves(rng, cols, true)
				got := make([]float32, rows)
				want := make([]float32, rows)
				k.gemvRows(got, w, ws, x)
				gemvRowsBF16DotGo(want, w, ws, x)
				for r := range rows {
					if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
						t.Fatalf("gemvRows %dx%d row %d: %v, plain Go %v", rows, cols, r, got[r], want[r])
					}
					var ref, sc float64
					for c := range cols {
						p := float64(bf16ToF32(w[r*ws+c])) * float64(bf16ToF32(x[c]))
						ref += p
						sc += math.Abs(p)
					}
					if !closeTo(float64(want[r]), ref, sc) {
						t.Fatalf("bf16DotRowGo %dx%d row %d: %g, float64 %g", rows, cols, r, want[r], ref)
					}
				}
			}
			kn := min(cols, kChunk)
			for nr := 1; nr <= tileNR; nr++ {
				ws, xs, os := cols+rng.IntN(3), cols+rng.IntN(3), 4+rng.IntN(3)
				w := randHalves(rng, 3*ws+cols, true)
				x := randHalves(rng, (nr-1)*xs+cols, true)
				for _, add := range []bool{false, true} {
					got := make([]float32, (nr-1)*os+4)
					for i := range got {
						got[i] = float32(rng.NormFloat64())
					}
					want := append([]float32(nil), got...)
					k.gemm[nr](got, os, w, ws, x, xs, kn, add)
					gemmBF16DotGo(nr, want, os, w, ws, x, xs, kn, add)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("gemm 4x%d kn=%d add=%v: out[%d] = %v, plain Go %v", nr, kn, add, i, got[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestMatMulBF16Dot holds MatMul and MatVec of BF16 weights on the
// AVX512_BF16 path to the plain-Go arithmetic (x rounded with toBF16Go,
// rows with bf16DotRowGo) bit for bit: input-row counts around the kernel
// width, weight-row counts not a multiple of 4 or over one panel, one to
// three threads.
func TestMatMulBF16Dot(t *testing.T) {
	withBF16Activations(t, true)
	defer func(v int) { minParallelWork = v }(minParallelWork)
	minParallelWork = 0
	pools := testPools(t, 2, 3)
	rng := rand.New(rand.NewPCG(65, 66))
	for si, ks := range simdKernelSets {
		if ks.float.bf16Dot == nil {
			continue
		}
		t.Run(ks.name, func(t *testing.T) {
			defer setSIMD(si)()
			for _, sh := range [][3]int{{13, 1100, 7}, {4, 33, 1}, {9, 64, 2}, {30, 300, 97}, {21, 2048, 13}, {8, 5, 200}, {263, 40, 9}} {
				rows, cols, n := sh[0], sh[1], sh[2]
				wf := randVec(rng, rows*cols, 1)
				w := makeMat(t, weights.BF16, rows, cols, wf)
				x := randVec(rng, n*cols, 1)
				xb := make([]uint16, len(x))
				toBF16Go(xb, x)
				wb := asU16(w.Data)
				for _, p := range pools {
					got := make([]float32, n*rows)
					if n == 1 {
						MatVec(p, got, w, x)
					} else {
						MatMul(p, got, w, x, n)
					}
					for i := range n {
						for r := range rows {
							want := bf16DotRowGo(wb[r*cols:(r+1)*cols], xb[i*cols:(i+1)*cols])
							if g := got[i*rows+r]; math.Float32bits(g) != math.Float32bits(want) {
								t.Fatalf("%dx%d n=%d threads=%d: out[%d,%d] = %v, plain Go %v", rows, cols, n, p.Threads(), i, r, g, want)
							}
						}
					}
				}
			}
		})
	}
}

// TestMatMulTiledNoAlloc: the tiled float path, and the BF16-activation
// one (decoding included), allocate nothing per call once warm.
func TestMatMulTiledNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	if curFloat.tileF32[1] == nil {
		t.Skip("no tile kernels on this CPU/build")
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(67, 68))
	for k, typ := range []weights.DType{weights.F32, weights.F16, weights.BF16, weights.BF16} {
		act := k == 3 // BF16 with SetBF16Activations
		w := makeMat(t, typ, 64, 512, randVec(rng, 64*512, 1))
		for _, n := range []int{1, 8, 30} {
			t.Run(fmt.Sprint(typ, n, act), func(t *testing.T) {
				withBF16Activations(t, act)
				x := randVec(rng, n*512, 1)
				out := make([]float32, n*64)
				MatMul(p, out, w, x, n)
				if a := testing.AllocsPerRun(20, func() { MatMul(p, out, w, x, n) }); a != 0 {
					t.Fatalf("%v allocations per call", a)
				}
			})
		}
	}
}

// TestFloatTileKernels holds the F32/F16/BF16 tile kernels to the same
// kernel set's row-streaming kernels bit for bit (so tiled MatMul rows equal
// MatVec), chunk by chunk, for every input-row count, odd column counts
// (tails of 1..15) and both store and add, and to the float64 dot product
// within 1e-5 of Σ|w·x|.
func TestFloatTileKernels(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, k *kernelSet) {
		if k.float.tileF32[1] == nil {
			t.Skipf("%s: no tile kernels", k.name)
		}
		rng := rand.New(rand.NewPCG(69, 70))
		for _, kn := range []int{1, 5, 15, 16, 17, 31, 33, 100, 1000, 1023, 1024} {
			for nr := 1; nr <= tileNR; nr++ {
				ws, xs, os := kn+rng.IntN(3), kn+rng.IntN(3), 4+rng.IntN(3)
				x := randVec(rng, (nr-1)*xs+kn, 1)
				wf := randVec(rng, 3*ws+kn, 1)
				wh, wb := randHalves(rng, 3*ws+kn, false), randHalves(rng, 3*ws+kn, true)
				for kind := range 3 {
					vals := make([]float32, len(wf))
					for _, add := range []bool{false, true} {
						got := make([]float32, (nr-1)*os+4)
						for i := range got {
							got[i] = float32(rng.NormFloat64())
						}
						before := append([]float32(nil), got...)
						row := make([]float32, 4) // the 4 weight rows · input row j
						var rowsOf func(j int)
						switch kind {
						case 0:
							k.float.tileF32[nr](got, os, wf, ws, x, xs, kn, add)
							copy(vals, wf)
							rowsOf = func(j int) { k.float.gemvRowsF32(row, wf, ws, x[j*xs:j*xs+kn]) }
						case 1:
							k.float.tileHalf[0][nr](got, os, wh, ws, x, xs, kn, add)
							f16ToF32SliceGo(vals, wh)
							rowsOf = func(j int) { k.float.gemvRowsHalf[0](row, wh, ws, x[j*xs:j*xs+kn]) }
						case 2:
							k.float.tileHalf[1][nr](got, os, wb, ws, x, xs, kn, add)
							bf16ToF32SliceGo(vals, wb)
							rowsOf = func(j int) { k.float.gemvRowsHalf[1](row, wb, ws, x[j*xs:j*xs+kn]) }
						}
						for j := range nr {
							rowsOf(j)
							for i := range 4 {
								want := row[i]
								if add {
									want = before[j*os+i] + row[i]
								}
								if g := got[j*os+i]; math.Float32bits(g) != math.Float32bits(want) {
									t.Fatalf("kind %d 4x%d kn=%d add=%v: out[%d,%d] = %v, row kernel %v", kind, nr, kn, add, j, i, g, want)
								}
								var ref, sc float64
								for c := range kn {
									p := float64(vals[i*ws+c]) * float64(x[j*xs+c])
									ref += p
									sc += math.Abs(p)
								}
								if !closeTo(float64(row[i]), ref, sc) {
									t.Fatalf("kind %d 4x%d kn=%d: %g, float64 %g", kind, nr, kn, row[i], ref)
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestMatMulTiles: every row of a tiled MatMul of F32, F16 and BF16
// weights equals the MatVec of that input row bit for bit (and lies within
// refMatMul's tolerance), for input-row counts around the kernel width and
// several weight-row panels, weight rows not a multiple of 4 and one to
// three threads,
// on each kernel set with SetBF16Activations off (BF16 through the BF16
// tile kernels) and on (the bf16Dot kernels where the CPU has them).
func TestMatMulTiles(t *testing.T) {
	defer func(v int) { minParallelWork = v }(minParallelWork)
	minParallelWork = 0
	pools := testPools(t, 2, 3)
	rng := rand.New(rand.NewPCG(71, 72))
	for _, ks := range simdKernelSets {
		if ks.float.tileF32[1] == nil {
			continue
		}
		for _, act := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/bf16-activations=%v", ks.name, act), func(t *testing.T) {
				useKernels(ks)
				defer useSIMD(true)
				withBF16Activations(t, act)
				for _, typ := range []weights.DType{weights.F32, weights.F16, weights.BF16} {
					for _, sh := range [][3]int{{13, 1100, 7}, {9, 64, 2}, {30, 300, 97}, {21, 2048, 13}, {8, 5, 200}, {263, 70, 8}} {
						rows, cols, n := sh[0], sh[1], sh[2]
						w := makeMat(t, typ, rows, cols, randVec(rng, rows*cols, 1))
						x := randVec(rng, n*cols, 1)
						ref, tol := refMatMul(w, x, n, false)
						one := make([]float32, rows)
						for _, p := range pools {
							got := make([]float32, n*rows)
							MatMul(p, got, w, x, n)
							checkMatMul(t, fmt.Sprintf("%v %dx%d n=%d threads=%d", typ, rows, cols, n, p.Threads()), got, ref, tol)
							for i := range n {
								MatVec(nil, one, w, x[i*cols:(i+1)*cols])
								for r, v := range one {
									if g := got[i*rows+r]; math.Float32bits(g) != math.Float32bits(v) {
										t.Fatalf("%v %dx%d n=%d threads=%d: out[%d,%d]: MatMul %v, MatVec %v", typ, rows, cols, n, p.Threads(), i, r, g, v)
									}
								}
							}
						}
					}
				}
			})
		}
	}
}

// TestMatRoundBF16 holds a BF16 Mat with RoundBF16 set to the process-wide
// switch bit for bit (MatMul and MatVec), and checks that it changes the
// result against the exact default where the CPU has the instructions
// (otherwise RoundBF16 must be ignored: the default numbers).
func TestMatRoundBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	const rows, cols, n = 37, 300, 5
	w := makeMat(t, weights.BF16, rows, cols, randVec(rng, rows*cols, 1))
	x := randVec(rng, n*cols, 1)
	p := NewPool(2)
	defer p.Close()
	run := func(m Mat) (batch, one []float32) {
		batch, one = make([]float32, n*rows), make([]float32, rows)
		MatMul(p, batch, m, x, n)
		MatVec(p, one, m, x[cols:2*cols])
		return batch, one
	}
	exactB, exactV := run(w)
	r := w
	r.RoundBF16 = true
	gotB, gotV := run(r)
	withBF16Activations(t, true)
	wantB, wantV := run(w)
	if !slices.Equal(gotB, wantB) || !slices.Equal(gotV, wantV) {
		t.Fatalf("RoundBF16 differs from SetBF16Activations(true)")
	}
	if !slices.Equal(gotV, gotB[rows:2*rows]) {
		t.Fatalf("RoundBF16: MatVec differs from MatMul row 1")
	}
	if curFloat.bf16Dot == nil {
		if !slices.Equal(gotB, exactB) || !slices.Equal(gotV, exactV) {
			t.Fatalf("RoundBF16 changed the result on a CPU without bfloat16 dot products")
		}
		return
	}
	if slices.Equal(gotB, exactB) {
		t.Fatalf("RoundBF16 gave the exact-activation result: not applied")
	}
}
