//go:build !purego

package kernels

//go:generate sh -c "go run internal/asmgenf/main.go > float_amd64.s"

//go:noescape
func gemvRowsF32AVX512(out *float32, w *float32, ws int, x *float32, cols int, rows int)

//go:noescape
func gemvRowsF16AVX512(out *float32, w *uint16, ws int, x *float32, cols int, rows int)

//go:noescape
func gemvRowsBF16AVX512(out *float32, w *uint16, ws int, x *float32, cols int, rows int)

// archFloat fills k.float with the float kernels the CPU (cpu.X86) can run
// at k's level (k.name says which: "avx2", "avx512", "avx512+vnni").
func archFloat(k *kernelSet) {
	if k.gemmM != 4 { // the AVX-512 gemm kernels: the row kernels match them
		return
	}
	k.float.gemvRowsF32 = rowsWrap(gemvRowsF32AVX512)
	k.float.gemvRowsHalf = [2]func(out []float32, w []uint16, ws int, x []float32){
		rowsWrap(gemvRowsF16AVX512), rowsWrap(gemvRowsBF16AVX512),
	}
	k.float.tileF32, k.float.tileHalf = tileKernels()
	if hasBF16Dot() {
		k.float.bf16Dot = avx512BF16
	}
}

// rowsWrap checks bounds for a gemvRows kernel (weights T, activations X).
func rowsWrap[T, X float32 | uint16](f func(out *float32, w *T, ws int, x *X, cols int, rows int)) func(out []float32, w []T, ws int, x []X) {
	return func(out []float32, w []T, ws int, x []X) {
		rows, cols := len(out), len(x)
		if rows == 0 {
			return
		}
		if cols == 0 {
			clear(out)
			return
		}
		w = w[:(rows-1)*ws+cols]
		f(&out[0], &w[0], ws, &x[0], cols, rows)
	}
}
