//go:build !purego

package kernels

//go:noescape
func axpyF32AVX2(y, x *float32, a float32, n int)

// axpyF32AVX2w adds a·x to y: the multiple of 8 in assembly, the rest here.
func axpyF32AVX2w(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	m := len(y) &^ 7
	if m > 0 {
		axpyF32AVX2(&y[0], &x[0], a, m)
	}
	for i := m; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// gemmDirect is gemmF32 called directly rather than through the function
// variable, so that escape analysis sees res stays on the caller's stack.
func gemmDirect(res, w []float32, ws int, x []float32, xs, cols int) {
	switch gemmM {
	case 4:
		gemmF32x4AVX512w(res, w, ws, x, xs, cols)
	case 2:
		gemmF32x2AVX2w(res, w, ws, x, xs, cols)
	default:
		gemmF32Go(res, w, ws, x, xs, cols)
	}
}

//go:noescape
func expShiftSumAVX2(dst, src *float32, n int, shift float32) float32

// expShiftSumAVX2w is ExpShiftSum: the multiple of 8 in assembly, the rest
// with Exp.
func expShiftSumAVX2w(dst, x []float32, shift float32) float32 {
	x = x[:len(dst)]
	m := len(dst) &^ 7
	var sum float32
	if m > 0 {
		sum = expShiftSumAVX2(&dst[0], &x[0], m, shift)
	}
	for i := m; i < len(dst); i++ {
		dst[i] = Exp(max(x[i]-shift, -87))
		sum += dst[i]
	}
	return sum
}

//go:noescape
func siluAVX2(dst, src *float32, n int)

// siluAVX2w is SiLUTo: the multiple of 8 in assembly, the rest in Go.
func siluAVX2w(dst, x []float32) {
	m := len(dst) &^ 7
	if m > 0 {
		siluAVX2(&dst[0], &x[0], m)
	}
	siluGo(dst[m:], x[m:])
}

//go:noescape
func siluAVX512(dst, src *float32, n int)

func siluAVX512w(dst, x []float32) {
	if len(dst) > 0 {
		siluAVX512(&dst[0], &x[0], len(dst))
	}
}

//go:noescape
func weightedRows4AVX512(out *float32, ldo int, p *float32, ps int, v *float32, vs int, n int, cols int, add int, mask int)

//go:noescape
func weightedRows2AVX2(out *float32, ldo int, p *float32, ps int, v *float32, vs int, n int, cols int, add int, mask *int32)

// laneMasks[8-k:] starts with the lane mask of k < 8 columns (k int32 of
// all ones, then zeros), for VMASKMOVPS.
var laneMasks = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// weightedRowsAVX2w is WeightedRows on AVX2 (weightedRows2AVX2, two rows
// at a time; the last cols mod 8 columns under a lane mask).
func weightedRowsAVX2w(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool) {
	mask := &laneMasks[8-cols%8]
	weightedRowsBy(2, out, ldo, p, ps, m, v, n, add, func(o *float32, ldo int, p *float32, ps int, v *float32, a int) {
		weightedRows2AVX2(o, ldo, p, ps, v, vs, n, cols, a, mask)
	})
}

// weightedRowsAVX512w is WeightedRows on AVX-512 (weightedRows4AVX512, four
// rows at a time; the last cols mod 16 columns under a k-mask).
func weightedRowsAVX512w(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool) {
	mask := 1<<(cols%16) - 1
	weightedRowsBy(4, out, ldo, p, ps, m, v, n, add, func(o *float32, ldo int, p *float32, ps int, v *float32, a int) {
		weightedRows4AVX512(o, ldo, p, ps, v, vs, n, cols, a, mask)
	})
}

// weightedRowsBy runs WeightedRows's m rows through kern, g rows at a time
// (kern gets the first row's output and weights, their strides, the values
// and add as 0 or 1; nil weights and values when n = 0), then each of the
// last m mod g rows alone, as g copies of itself: row and output strides 0,
// every copy writing the same values.
func weightedRowsBy(g int, out []float32, ldo int, p []float32, ps, m int, v []float32, n int, add bool, kern func(out *float32, ldo int, p *float32, ps int, v *float32, add int)) {
	a := 0
	if add {
		a = 1
	}
	var pp, vp *float32
	if n > 0 {
		vp = &v[0]
	}
	for i := 0; i < m; {
		rows, rps, rlo := g, ps, ldo
		if m-i < g {
			rows, rps, rlo = 1, 0, 0
		}
		if n > 0 {
			pp = &p[i*ps]
		}
		kern(&out[i*ldo], rlo, pp, rps, vp, a)
		i += rows
	}
}

//go:noescape
func addF32AVX512(out, a, b *float32, n int)

//go:noescape
func mulF32AVX512(out, a, b *float32, n int)

//go:noescape
func sumSquaresAVX512(x *float32, n int) float64

//go:noescape
func scaleMulAVX512(out, x, w *float32, s float32, n int)

// binaryWrap adapts an element-wise assembly kernel (lengths checked by
// the exported op).
func binaryWrap(f func(out, a, b *float32, n int)) func(out, a, b []float32) {
	return func(out, a, b []float32) {
		if len(out) > 0 {
			f(&out[0], &a[0], &b[0], len(out))
		}
	}
}

func sumSquaresAVX512w(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	return sumSquaresAVX512(&x[0], len(x))
}

func scaleMulAVX512w(out, x, w []float32, s float32) {
	if len(out) == 0 {
		return
	}
	var wp *float32
	if w != nil {
		wp = &w[0]
	}
	scaleMulAVX512(&out[0], &x[0], wp, s, len(out))
}

//go:noescape
func scaleMaxAVX512(x *float32, s, m float32, n int) float32

func scaleMaxAVX512w(x []float32, s, m float32) float32 {
	if len(x) == 0 {
		return m
	}
	return scaleMaxAVX512(&x[0], s, m, len(x))
}

//go:noescape
func ropePairsAVX512(dst, x, tab *float32, dims int, neox int)

func ropePairsAVX512w(dst, x, tab []float32, neox bool) {
	if len(dst) == 0 {
		return
	}
	n := 0
	if neox {
		n = 1
	}
	ropePairsAVX512(&dst[0], &x[0], &tab[0], len(dst), n)
}

//go:noescape
func addF32AVX2(out, a, b *float32, n int)

//go:noescape
func mulF32AVX2(out, a, b *float32, n int)

//go:noescape
func sumSquaresAVX2(x *float32, n int) float64

//go:noescape
func scaleMulAVX2(out, x, w *float32, s float32, n int)

//go:noescape
func scaleMaxAVX2(x *float32, s, m float32, n int) float32

// binaryWrap8 adapts an AVX2 element-wise kernel (n a multiple of 8), the
// last len(out) mod 8 elements by ref (lengths checked by the exported op).
func binaryWrap8(f func(out, a, b *float32, n int), ref func(out, a, b []float32)) func(out, a, b []float32) {
	return func(out, a, b []float32) {
		n := len(out) &^ 7
		if n > 0 {
			f(&out[0], &a[0], &b[0], n)
		}
		ref(out[n:], a[n:len(out)], b[n:len(out)])
	}
}

func sumSquaresAVX2w(x []float32) float64 {
	n := len(x) &^ 7
	var ss float64
	if n > 0 {
		ss = sumSquaresAVX2(&x[0], n)
	}
	return ss + sumSquaresGo(x[n:])
}

func scaleMulAVX2w(out, x, w []float32, s float32) {
	n := len(out) &^ 7
	if n > 0 {
		var wp *float32
		if w != nil {
			wp = &w[0]
		}
		scaleMulAVX2(&out[0], &x[0], wp, s, n)
	}
	if w != nil {
		w = w[n:len(out)]
	}
	scaleMulGo(out[n:], x[n:len(out)], w, s)
}

func scaleMaxAVX2w(x []float32, s, m float32) float32 {
	n := len(x) &^ 7
	if n > 0 {
		m = scaleMaxAVX2(&x[0], s, m, n)
	}
	return scaleMaxGo(x[n:], s, m)
}
