package kernels

// floatKernels are the tiled matrix kernels for F32, F16 and BF16 weights of
// one kernel set (kernelSet.float). They live apart from kernelSet's other
// fields so that quantized and float kernels can evolve independently.
type floatKernels struct{}

// goFloatKernels is the plain-Go reference.
var goFloatKernels = floatKernels{}

// curFloat are the float kernels in use (see useKernels).
var curFloat floatKernels
