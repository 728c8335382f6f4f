//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func toBF16AVX512(dst *uint16, src *float32, n int)

//go:noescape
func gemvRowsBF16DotAVX512(out *float32, w *uint16, ws int, x *uint16, cols int, rows int)

//go:noescape
func gemmBF16Dot4x1AVX512(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)

//go:noescape
func gemmBF16Dot4x2AVX512(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)

//go:noescape
func gemmBF16Dot4x3AVX512(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)

//go:noescape
func gemmBF16Dot4x4AVX512(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)

//go:noescape
func gemmBF16Dot4x5AVX512(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)

//go:noescape
func gemmBF16Dot4x6AVX512(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)

// avx512BF16 are the AVX512_BF16 kernels, for CPUs that have it.
var avx512BF16 = &bf16DotKernels{
	toBF16: func(dst []uint16, x []float32) {
		x = x[:len(dst)]
		if len(x) > 0 {
			toBF16AVX512(&dst[0], &x[0], len(x))
		}
	},
	gemvRows: func(out []float32, w []uint16, ws int, x []uint16) {
		rows, cols := len(out), len(x)
		if rows == 0 {
			return
		}
		if cols == 0 {
			clear(out)
			return
		}
		w = w[:(rows-1)*ws+cols]
		gemvRowsBF16DotAVX512(&out[0], &w[0], ws, &x[0], cols, rows)
	},
	gemm: [bf16DotNR + 1]func(out []float32, os int, w []uint16, ws int, x []uint16, xs, kn int, add bool){
		1: gemmBF16Wrap(1, gemmBF16Dot4x1AVX512),
		2: gemmBF16Wrap(2, gemmBF16Dot4x2AVX512),
		3: gemmBF16Wrap(3, gemmBF16Dot4x3AVX512),
		4: gemmBF16Wrap(4, gemmBF16Dot4x4AVX512),
		5: gemmBF16Wrap(5, gemmBF16Dot4x5AVX512),
		6: gemmBF16Wrap(6, gemmBF16Dot4x6AVX512),
	},
}

// gemmBF16Wrap checks bounds for a gemm kernel of nr input rows.
func gemmBF16Wrap(nr int, f func(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)) func(out []float32, os int, w []uint16, ws int, x []uint16, xs, kn int, add bool) {
	return func(out []float32, os int, w []uint16, ws int, x []uint16, xs, kn int, add bool) {
		if kn <= 0 || kn > kChunk {
			panic("kernels: gemmBF16Dot chunk out of range")
		}
		out = out[:(nr-1)*os+4]
		w = w[:3*ws+kn]
		x = x[:(nr-1)*xs+kn]
		a := 0
		if add {
			a = 1
		}
		f(&out[0], os, &w[0], ws, &x[0], xs, kn, a)
	}
}

// hasBF16Dot reports whether the CPU runs the AVX512_BF16 kernels.
func hasBF16Dot() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512BF16
}
