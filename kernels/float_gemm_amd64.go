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

//go:noescape
func gemmF32Tile4x1AVX512(out *float32, os int, w *float32, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF32Tile4x2AVX512(out *float32, os int, w *float32, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF32Tile4x3AVX512(out *float32, os int, w *float32, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF32Tile4x4AVX512(out *float32, os int, w *float32, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF32Tile4x5AVX512(out *float32, os int, w *float32, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF32Tile4x6AVX512(out *float32, os int, w *float32, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF16Tile4x1AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF16Tile4x2AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF16Tile4x3AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF16Tile4x4AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF16Tile4x5AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmF16Tile4x6AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmBF16Tile4x1AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmBF16Tile4x2AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmBF16Tile4x3AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmBF16Tile4x4AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmBF16Tile4x5AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

//go:noescape
func gemmBF16Tile4x6AVX512(out *float32, os int, w *uint16, ws int, x *float32, xs int, kn int, add int)

// avx512BF16 are the AVX512_BF16 kernels, for CPUs that have it.
var avx512BF16 = &bf16DotKernels{
	toBF16: func(dst []uint16, x []float32) {
		x = x[:len(dst)]
		if len(x) > 0 {
			toBF16AVX512(&dst[0], &x[0], len(x))
		}
	},
	gemvRows: rowsWrap(gemvRowsBF16DotAVX512),
	gemm: [tileNR + 1]func(out []float32, os int, w []uint16, ws int, x []uint16, xs, kn int, add bool){
		1: gemmBF16Wrap(1, gemmBF16Dot4x1AVX512),
		2: gemmBF16Wrap(2, gemmBF16Dot4x2AVX512),
		3: gemmBF16Wrap(3, gemmBF16Dot4x3AVX512),
		4: gemmBF16Wrap(4, gemmBF16Dot4x4AVX512),
		5: gemmBF16Wrap(5, gemmBF16Dot4x5AVX512),
		6: gemmBF16Wrap(6, gemmBF16Dot4x6AVX512),
	},
}

// gemmBF16Wrap checks bounds for a bf16Dot gemm kernel of nr input rows.
func gemmBF16Wrap(nr int, f func(out *float32, os int, w *uint16, ws int, x *uint16, xs int, kn int, add int)) func(out []float32, os int, w []uint16, ws int, x []uint16, xs, kn int, add bool) {
	return tileWrap(nr, f)
}

// tileWrap checks bounds for a tile kernel of nr input rows.
func tileWrap[W, X float32 | uint16](nr int, f func(out *float32, os int, w *W, ws int, x *X, xs int, kn int, add int)) func(out []float32, os int, w []W, ws int, x []X, xs, kn int, add bool) {
	return func(out []float32, os int, w []W, ws int, x []X, xs, kn int, add bool) {
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

// tileKernels returns the F32, F16 and BF16 tile kernels (floatKernels.tile*).
func tileKernels() (f32 [tileNR + 1]func(out []float32, os int, w []float32, ws int, x []float32, xs, kn int, add bool), half [2][tileNR + 1]func(out []float32, os int, w []uint16, ws int, x []float32, xs, kn int, add bool)) {
	f32 = [tileNR + 1]func(out []float32, os int, w []float32, ws int, x []float32, xs, kn int, add bool){nil,
		tileWrap(1, gemmF32Tile4x1AVX512), tileWrap(2, gemmF32Tile4x2AVX512), tileWrap(3, gemmF32Tile4x3AVX512),
		tileWrap(4, gemmF32Tile4x4AVX512), tileWrap(5, gemmF32Tile4x5AVX512), tileWrap(6, gemmF32Tile4x6AVX512)}
	half[0] = [tileNR + 1]func(out []float32, os int, w []uint16, ws int, x []float32, xs, kn int, add bool){nil,
		tileWrap(1, gemmF16Tile4x1AVX512), tileWrap(2, gemmF16Tile4x2AVX512), tileWrap(3, gemmF16Tile4x3AVX512),
		tileWrap(4, gemmF16Tile4x4AVX512), tileWrap(5, gemmF16Tile4x5AVX512), tileWrap(6, gemmF16Tile4x6AVX512)}
	half[1] = [tileNR + 1]func(out []float32, os int, w []uint16, ws int, x []float32, xs, kn int, add bool){nil,
		tileWrap(1, gemmBF16Tile4x1AVX512), tileWrap(2, gemmBF16Tile4x2AVX512), tileWrap(3, gemmBF16Tile4x3AVX512),
		tileWrap(4, gemmBF16Tile4x4AVX512), tileWrap(5, gemmBF16Tile4x5AVX512), tileWrap(6, gemmBF16Tile4x6AVX512)}
	return f32, half
}
