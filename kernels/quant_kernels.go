package kernels

// quantKernels are the tiled matrix kernels for quantized weights of one
// kernel set (kernelSet.quant). They live apart from kernelSet's other fields
// so that quantized and float kernels can evolve independently.
type quantKernels struct{}

// goQuantKernels is the plain-Go reference.
var goQuantKernels = quantKernels{}

// curQuant are the quantized kernels in use (see useKernels).
var curQuant quantKernels
