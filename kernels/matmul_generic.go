//go:build !amd64 || purego

package kernels

// archKernelSets: no SIMD kernels on this architecture or with purego.
func archKernelSets() []*kernelSet { return nil }
