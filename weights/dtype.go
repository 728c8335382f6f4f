package weights

import "fmt"

// DType is the element type of a stored tensor, covering both the plain
// floating/integer types of safetensors and the block-quantized types of GGUF.
type DType uint8

// The values are goformer's own; GGUF and safetensors codes map onto them.
const (
	Invalid DType = iota
	F32
	F16
	BF16
	F64
	I8
	I16
	I32
	I64
	U8
	Bool
	F8E4M3
	F8E5M2
	Q4_0
	Q4_1
	Q5_0
	Q5_1
	Q8_0
	Q8_1
	Q2_K
	Q3_K
	Q4_K
	Q5_K
	Q6_K
	Q8_K
	numDTypes
)

type dtypeInfo struct {
	name       string
	blockElems int // elements per block (1 for plain types)
	blockBytes int // bytes per block
}

var dtypeInfos = [numDTypes]dtypeInfo{
	Invalid: {"invalid", 0, 0},
	F32:     {"F32", 1, 4},
	F16:     {"F16", 1, 2},
	BF16:    {"BF16", 1, 2},
	F64:     {"F64", 1, 8},
	I8:      {"I8", 1, 1},
	I16:     {"I16", 1, 2},
	I32:     {"I32", 1, 4},
	I64:     {"I64", 1, 8},
	U8:      {"U8", 1, 1},
	Bool:    {"BOOL", 1, 1},
	F8E4M3:  {"F8_E4M3", 1, 1},
	F8E5M2:  {"F8_E5M2", 1, 1},
	Q4_0:    {"Q4_0", 32, 18},
	Q4_1:    {"Q4_1", 32, 20},
	Q5_0:    {"Q5_0", 32, 22},
	Q5_1:    {"Q5_1", 32, 24},
	Q8_0:    {"Q8_0", 32, 34},
	Q8_1:    {"Q8_1", 32, 36},
	Q2_K:    {"Q2_K", 256, 84},
	Q3_K:    {"Q3_K", 256, 110},
	Q4_K:    {"Q4_K", 256, 144},
	Q5_K:    {"Q5_K", 256, 176},
	Q6_K:    {"Q6_K", 256, 210},
	Q8_K:    {"Q8_K", 256, 292},
}

// String returns the conventional name (GGUF/safetensors spelling).
func (d DType) String() string {
	if d < numDTypes {
		return dtypeInfos[d].name
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Valid reports whether d is a known type.
func (d DType) Valid() bool { return d > Invalid && d < numDTypes }

// BlockElems is the number of elements in one storage block (1 for plain types).
func (d DType) BlockElems() int {
	if !d.Valid() {
		return 0
	}
	return dtypeInfos[d].blockElems
}

// BlockBytes is the size in bytes of one storage block.
func (d DType) BlockBytes() int {
	if !d.Valid() {
		return 0
	}
	return dtypeInfos[d].blockBytes
}

// Quantized reports whether d is a block-quantized type.
func (d DType) Quantized() bool { return d.BlockElems() > 1 }

// Bytes returns the storage size of n elements of type d. It fails when n is
// negative, not a whole number of blocks, or the size overflows.
func (d DType) Bytes(n int64) (int64, error) {
	if !d.Valid() {
		return 0, fmt.Errorf("invalid dtype %d", uint8(d))
	}
	if n < 0 {
		return 0, fmt.Errorf("negative element count %d", n)
	}
	be := int64(d.BlockElems())
	if n%be != 0 {
		return 0, fmt.Errorf("%d elements is not a multiple of the %s block size %d", n, d, be)
	}
	blocks := n / be
	bb := int64(d.BlockBytes())
	if blocks > (1<<62)/bb {
		return 0, fmt.Errorf("size of %d %s elements overflows", n, d)
	}
	return blocks * bb, nil
}
