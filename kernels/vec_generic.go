//go:build !amd64 || purego

package kernels

// gemmDirect is gemmF32 called directly (see vec_amd64.go).
func gemmDirect(res, w []float32, ws int, x []float32, xs, cols int) {
	gemmF32Go(res, w, ws, x, xs, cols)
}

// silu is SiLU in plain Go.
func silu(x []float32) { siluGo(x) }

func weightedRows(out []float32, ldo int, p []float32, ps, m int, v []float32, vs, n, cols int, add bool) {
	weightedRowsGo(out, ldo, p, ps, m, v, vs, n, cols, add)
}
