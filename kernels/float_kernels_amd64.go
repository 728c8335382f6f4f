//go:build !purego

package kernels

// archFloat fills k.float with the float kernels the CPU (cpu.X86) can run at k's level
// (k.name says which: "avx2", "avx512", "avx512+vnni").
func archFloat(k *kernelSet) {}
