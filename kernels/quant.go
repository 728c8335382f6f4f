package kernels

import (
	"fmt"

	"github.com/goformer/goformer/weights"
)

// DequantizeRow converts len(dst) elements of type t stored in src to
// float32 (used for embedding lookups and 1-D tensors). len(dst) must be a
// multiple of t's block size and src must hold exactly that many elements.
// It panics on an unsupported type or a length mismatch.
func DequantizeRow(dst []float32, t weights.DType, src []byte) {
	if !Supported(t) {
		panic("kernels: DequantizeRow: unsupported type " + t.String())
	}
	want, err := t.Bytes(int64(len(dst)))
	if err != nil {
		panic("kernels: DequantizeRow: " + err.Error())
	}
	if int64(len(src)) != want {
		panic(fmt.Sprintf("kernels: DequantizeRow: %d %v elements need %d bytes, have %d", len(dst), t, want, len(src)))
	}
	switch t {
	case weights.F32:
		copy(dst, asF32(src))
	case weights.F16:
		f16ToF32Slice(dst, asU16(src))
	case weights.BF16:
		bf16ToF32Slice(dst, asU16(src))
	case weights.Q8_0:
		dequantQ8_0(dst, src)
	case weights.Q4_0:
		dequantQ4_0(dst, src)
	case weights.Q4_K:
		dequantQ4K(dst, src)
	case weights.Q6_K:
		dequantQ6K(dst, src)
	}
}

// Dequantize converts n elements of type t stored in src to a new float32
// slice. It panics like DequantizeRow.
func Dequantize(t weights.DType, src []byte, n int) []float32 {
	dst := make([]float32, n)
	DequantizeRow(dst, t, src)
	return dst
}

// Quantize encodes src as type t in the GGUF/safetensors storage layout:
// F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K. len(src) must be a multiple of
// the block size. Scales are fitted per block (Q4_K: a least-squares
// refinement of each sub-block's min/max fit; Q6_K and Q4_0: a small search
// over scales), without llama.cpp's importance weighting.
func Quantize(t weights.DType, src []float32) ([]byte, error) {
	if !Supported(t) {
		return nil, fmt.Errorf("kernels: cannot quantize to %v", t)
	}
	size, err := t.Bytes(int64(len(src)))
	if err != nil {
		return nil, fmt.Errorf("kernels: %w", err)
	}
	dst := make([]byte, size)
	switch t {
	case weights.F32:
		copy(asF32(dst), src)
	case weights.F16:
		d := asU16(dst)
		for i, v := range src {
			d[i] = f32ToF16(v)
		}
	case weights.BF16:
		d := asU16(dst)
		for i, v := range src {
			d[i] = f32ToBF16(v)
		}
	case weights.Q8_0:
		quantQ8_0(dst, src)
	case weights.Q4_0:
		quantQ4_0(dst, src)
	case weights.Q4_K:
		quantQ4K(dst, src)
	case weights.Q6_K:
		quantQ6K(dst, src)
	}
	return dst, nil
}
