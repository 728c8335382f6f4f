package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goformer/goformer/weights"
)

var allTypes = []weights.DType{weights.F32, weights.F16, weights.BF16, weights.Q8_0, weights.Q4_0, weights.Q4_K, weights.Q6_K}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

// testCols returns column counts to test for t: odd sizes for plain types,
// a few blocks for quantized ones.
func testCols(t weights.DType) []int {
	switch t.BlockElems() {
	case 1:
		return []int{1, 5, 16, 17, 63, 64, 100, 259}
	case 32:
		return []int{32, 96, 352}
	default:
		return []int{256, 768}
	}
}

func makeMat(tb testing.TB, t weights.DType, rows, cols int, w []float32) Mat {
	tb.Helper()
	data, err := Quantize(t, w)
	if err != nil {
		tb.Fatal(err)
	}
	m := Mat{Type: t, Rows: rows, Cols: cols, Data: data}
	if err := m.Validate(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// refMatMul is the float64 product of the dequantized weights with x, and
// for each output the error allowed: float32 rounding of the accumulation
// plus, on the 8-bit activation path, the rounding of x to 8-bit blocks,
// and for BF16 weights where x is rounded to bfloat16 (SetBF16Activations,
// kernel set in use) that rounding, at most 2⁻⁸ of each product.
func refMatMul(w Mat, x []float32, n int, q8 bool) (ref, tol []float64) {
	bf16x := bf16DotFor(w) != nil
	wd := Dequantize(w.Type, w.Data, w.Rows*w.Cols)
	ref = make([]float64, n*w.Rows)
	tol = make([]float64, n*w.Rows)
	be := 32
	if w.Type.BlockElems() == 256 {
		be = 256
	}
	for i := range n {
		xi := x[i*w.Cols : (i+1)*w.Cols]
		amax := make([]float64, w.Cols) // per element: max |x| of its activation block
		for b := 0; b < w.Cols; b += be {
			m := 0.0
			for _, v := range xi[b:min(b+be, w.Cols)] {
				m = math.Max(m, math.Abs(float64(v)))
			}
			for c := b; c < min(b+be, w.Cols); c++ {
				amax[c] = m
			}
		}
		for r := range w.Rows {
			var s, sa, sq float64
			for c := range w.Cols {
				p := float64(wd[r*w.Cols+c]) * float64(xi[c])
				s += p
				sa += math.Abs(p)
				sq += math.Abs(float64(wd[r*w.Cols+c])) * amax[c] / 127 * 0.5
			}
			ref[i*w.Rows+r] = s
			tol[i*w.Rows+r] = 2e-6*sa*math.Sqrt(float64(w.Cols)) + 1e-30
			if q8 && w.Type.Quantized() {
				tol[i*w.Rows+r] += sq*1.001 + 1e-5*sa
			}
			if bf16x {
				tol[i*w.Rows+r] += sa * 0x1p-8
			}
		}
	}
	return ref, tol
}

func checkMatMul(t *testing.T, name string, got []float32, ref, tol []float64) {
	t.Helper()
	for k, g := range got {
		if d := math.Abs(float64(g) - ref[k]); !(d <= tol[k]) {
			t.Fatalf("%s: out[%d] = %g, want %g ± %g (diff %g)", name, k, g, ref[k], tol[k], d)
		}
	}
}

// forEachPath runs f once per kernel configuration: SIMD on/off and, for
// quantized weights, the 8-bit activation path and the float path.
func forEachPath(t *testing.T, f func(t *testing.T, path string, q8 bool)) {
	for _, simd := range simdModes() {
		restore := setSIMD(simd)
		for _, q8 := range []bool{true, false} {
			old := quantFloatPath
			quantFloatPath = !q8
			f(t, fmt.Sprintf("simd=%v/q8=%v", modeName(simd), q8), q8)
			quantFloatPath = old
		}
		restore()
	}
}

func TestMatMulAllTypes(t *testing.T) {
	defer func(v int) { minParallelWork = v }(minParallelWork)
	minParallelWork = 0 // the test shapes are small; use the pool anyway
	rng := rand.New(rand.NewPCG(1, 2))
	pools := testPools(t, 1, 2, 3)
	for _, typ := range allTypes {
		if !Supported(typ) {
			continue
		}
		for _, cols := range testCols(typ) {
			for _, rows := range []int{1, 3, 8, 13} {
				w := makeMat(t, typ, rows, cols, randVec(rng, rows*cols, 1))
				for n := 1; n <= 7; n++ {
					x := randVec(rng, n*cols, 1)
					if n == 3 {
						x[0], x[cols-1] = 0, 40 // outliers, zeros
					}
					forEachPath(t, func(t *testing.T, path string, q8 bool) {
						ref, tol := refMatMul(w, x, n, q8)
						for pi, p := range pools {
							got := make([]float32, n*rows)
							if n == 1 && pi%2 == 0 {
								MatVec(p, got, w, x)
							} else {
								MatMul(p, got, w, x, n)
							}
							checkMatMul(t, fmt.Sprintf("%v %dx%d n=%d pool=%d %s", typ, rows, cols, n, p.Threads(), path), got, ref, tol)
						}
					})
				}
			}
		}
	}
}

// TestMatMulBlocking covers the cache blocking: several column chunks and
// row panels for float weights, several input-row tiles for quantized ones.
func TestMatMulBlocking(t *testing.T) {
	defer func(v int) { tileBudget = v }(tileBudget)
	tileBudget = 1 // tiles of 4 input rows
	rng := rand.New(rand.NewPCG(21, 22))
	p := NewPool(2)
	defer p.Close()
	for _, typ := range allTypes {
		rows, cols := 70, 2100 // per thread: a panel of 32 rows plus 3; three column chunks
		if typ.Quantized() {
			rows, cols = 9, 512
		}
		w := makeMat(t, typ, rows, cols, randVec(rng, rows*cols, 1))
		const n = 5
		x := randVec(rng, n*cols, 1)
		forEachPath(t, func(t *testing.T, path string, q8 bool) {
			ref, tol := refMatMul(w, x, n, q8) // for the kernel set in use
			got := make([]float32, n*rows)
			MatMul(p, got, w, x, n)
			checkMatMul(t, fmt.Sprintf("%v %dx%d n=%d %s", typ, rows, cols, n, path), got, ref, tol)
		})
	}
}

// TestMatMulMatchesMatVec checks that batching does not change results:
// every row of a MatMul equals the MatVec of that input row bit for bit, for
// every kernel set, path and pool size.
func TestMatMulMatchesMatVec(t *testing.T) {
	defer func(v int) { minParallelWork = v }(minParallelWork)
	minParallelWork = 0
	rng := rand.New(rand.NewPCG(25, 26))
	pools := testPools(t, 3)
	for _, typ := range allTypes {
		shapes := [][2]int{{70, 2100}, {7, 45}}
		switch typ.BlockElems() {
		case 32:
			shapes = [][2]int{{13, 1056}}
		case 256:
			shapes = [][2]int{{13, 1280}}
		}
		for _, sh := range shapes {
			rows, cols := sh[0], sh[1]
			w := makeMat(t, typ, rows, cols, randVec(rng, rows*cols, 1))
			const n = 9
			x := randVec(rng, n*cols, 1)
			forEachPath(t, func(t *testing.T, path string, q8 bool) {
				for _, p := range pools {
					batch := make([]float32, n*rows)
					MatMul(p, batch, w, x, n)
					for i := range n {
						one := make([]float32, rows)
						MatVec(p, one, w, x[i*cols:(i+1)*cols])
						for r, v := range one {
							if b := batch[i*rows+r]; b != v {
								t.Fatalf("%v %dx%d %s threads=%d: row %d out %d: MatMul %v, MatVec %v", typ, rows, cols, path, p.Threads(), i, r, b, v)
							}
						}
					}
				}
			})
		}
	}
}

func TestMatMulZeroInput(t *testing.T) {
	for _, typ := range allTypes {
		if !Supported(typ) {
			continue
		}
		cols := testCols(typ)[0]
		w := makeMat(t, typ, 5, cols, randVec(rand.New(rand.NewPCG(3, 4)), 5*cols, 1))
		forEachPath(t, func(t *testing.T, path string, q8 bool) {
			out := make([]float32, 10)
			for i := range out {
				out[i] = 7
			}
			MatMul(nil, out, w, make([]float32, 2*cols), 2)
			for _, v := range out {
				if v != 0 {
					t.Fatalf("%v %s: zero input gives %v", typ, path, out)
				}
			}
		})
	}
}

func TestMatMulPanics(t *testing.T) {
	w := Mat{Type: weights.F32, Rows: 2, Cols: 3, Data: make([]byte, 24)}
	for name, f := range map[string]func(){
		"short x":   func() { MatVec(nil, make([]float32, 2), w, make([]float32, 2)) },
		"short out": func() { MatVec(nil, make([]float32, 1), w, make([]float32, 3)) },
		"bad data":  func() { MatVec(nil, make([]float32, 2), Mat{Type: weights.F32, Rows: 2, Cols: 3}, make([]float32, 3)) },
		"bad n":     func() { MatMul(nil, make([]float32, 4), w, make([]float32, 3), 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestValidate(t *testing.T) {
	ok := []Mat{
		{Type: weights.F32, Rows: 2, Cols: 3, Data: make([]byte, 24)},
		{Type: weights.F16, Rows: 0, Cols: 3, Data: nil},
		{Type: weights.BF16, Rows: 1, Cols: 5, Data: make([]byte, 10)},
	}
	bad := []Mat{
		{Type: weights.F32, Rows: 2, Cols: 3, Data: make([]byte, 23)},
		{Type: weights.F64, Rows: 1, Cols: 1, Data: make([]byte, 8)},
		{Type: weights.Invalid},
		{Type: weights.F32, Rows: -1, Cols: 3},
	}
	if Supported(weights.Q8_0) {
		ok = append(ok, Mat{Type: weights.Q8_0, Rows: 2, Cols: 64, Data: make([]byte, 2*2*34)})
		bad = append(bad, Mat{Type: weights.Q8_0, Rows: 1, Cols: 48, Data: make([]byte, 51)})
	}
	if Supported(weights.Q4_K) {
		ok = append(ok, Mat{Type: weights.Q4_K, Rows: 3, Cols: 256, Data: make([]byte, 3*144)})
		bad = append(bad, Mat{Type: weights.Q4_K, Rows: 1, Cols: 32, Data: make([]byte, 18)})
	}
	for _, m := range ok {
		if err := m.Validate(); err != nil {
			t.Errorf("%v %dx%d: %v", m.Type, m.Rows, m.Cols, err)
		}
	}
	for _, m := range bad {
		if m.Validate() == nil {
			t.Errorf("%v %dx%d len %d: no error", m.Type, m.Rows, m.Cols, len(m.Data))
		}
	}
}

// simdModes lists the kernel sets to test: -1 for plain Go, then the index
// of each SIMD set this CPU runs.
func simdModes() []int {
	m := []int{-1}
	for i := range simdKernelSets {
		m = append(m, i)
	}
	return m
}

func modeName(mode int) string {
	if mode < 0 {
		return "go"
	}
	return simdKernelSets[mode].name
}

// setSIMD switches kernels and returns a function restoring the default.
func setSIMD(mode int) func() {
	if mode < 0 {
		useKernels(&goKernels)
	} else {
		useKernels(simdKernelSets[mode])
	}
	return func() { useSIMD(true) }
}

// testPools returns nil (no pool: the calling goroutine alone) and a pool
// of each of the thread counts, closed when the test ends.
func testPools(t *testing.T, threads ...int) []*Pool {
	pools := []*Pool{nil}
	for _, n := range threads {
		p := NewPool(n)
		t.Cleanup(p.Close)
		pools = append(pools, p)
	}
	return pools
}
