package kernels

// floatKernels are the tiled matrix kernels for F32, F16 and BF16 weights of
// one kernel set (kernelSet.float). They live apart from kernelSet's other
// fields so that quantized and float kernels can evolve independently.
type floatKernels struct {
	// gemvRows sets out[r] = Σ_c W[r,c]·x[c] for len(out) rows starting at
	// w (row stride ws elements), each row computed exactly as the gemm and
	// gemv kernels compute it (see matMulFloat); nil where the set has
	// none. Indexed by floatKind.
	gemvRowsF32  func(out []float32, w []float32, ws int, x []float32)
	gemvRowsHalf [2]func(out []float32, w []uint16, ws int, x []float32) // [0] F16, [1] BF16
}

// goFloatKernels is the plain-Go reference.
var goFloatKernels = floatKernels{}

// curFloat are the float kernels in use (see useKernels).
var curFloat floatKernels
