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
