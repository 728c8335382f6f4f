//go:build !amd64 || purego

package kernels

// gemmDirect is gemmF32 called directly (see vec_amd64.go).
func gemmDirect(res, w []float32, ws int, x []float32, xs, cols int) {
	gemmF32Go(res, w, ws, x, xs, cols)
}
