//go:build !purego

package kernels

// archQuant fills k.quant with the quantized kernels the CPU (cpu.X86) can run at k's level
// (k.name says which: "avx2", "avx512", "avx512+vnni").
func archQuant(k *kernelSet) {}
