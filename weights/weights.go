// Package weights reads model checkpoint files — GGUF and Hugging Face
// safetensors (single or sharded) with config.json — behind one interface.
//
// It knows formats only, never models: a File is a set of named tensors plus
// key/value metadata. Tensor data is memory-mapped by default and never copied
// at load; Options.NoMmap reads it into memory instead.
//
// Shapes are outermost-first (row-major, as numpy and safetensors write them):
// a matrix of R rows and C columns has Shape [R, C] and its rows are contiguous.
// GGUF lists dimensions fastest-first, so its ne[] is reversed on load.
package weights

import (
	"fmt"
	"math"
)

// Format names a checkpoint format.
type Format int

const (
	// FormatGGUF is llama.cpp's GGUF (versions 2 and 3).
	FormatGGUF Format = iota + 1
	// FormatSafetensors is Hugging Face safetensors, one file or sharded.
	FormatSafetensors
)

// String returns "gguf" or "safetensors".
func (f Format) String() string {
	switch f {
	case FormatGGUF:
		return "gguf"
	case FormatSafetensors:
		return "safetensors"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Tensor is one stored tensor. Data holds exactly its bytes in the stored
// layout (little-endian; quantized types as their GGUF blocks, blocks running
// along the innermost dimension).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
	// File is the path of the file that holds the tensor (for error messages).
	File string
	// Offset is the absolute byte offset of Data within File.
	Offset int64
}

// Elements returns the number of elements (the product of Shape).
func (t *Tensor) Elements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// String describes the tensor as name, dtype and shape.
func (t *Tensor) String() string {
	return fmt.Sprintf("%s %s%v", t.Name, t.DType, t.Shape)
}

// Options controls how a checkpoint is opened.
type Options struct {
	// NoMmap reads tensor data into memory instead of memory-mapping it. It
	// costs load time and RAM but is immune to page-cache eviction.
	NoMmap bool
}

// Metadata is a set of key/value pairs: GGUF metadata, or a decoded JSON
// object (config.json). Values are Go natives: integer and float types of
// their stored width (JSON numbers are float64), bool, string, typed slices
// for arrays ([]float32, []int32, []uint32, ...; nested arrays as []any).
// GGUF string arrays are StringList values (compact; Strings converts);
// []string is accepted too (written as a string array).
type Metadata map[string]any

// String returns a string value.
func (m Metadata) String(key string) (string, bool) {
	v, ok := m[key].(string)
	return v, ok
}

// Int returns an integer value, converting any integer type (and integral
// float64, as JSON decodes numbers). ok is false when absent or not integral.
func (m Metadata) Int(key string) (int64, bool) {
	return toInt(m[key])
}

// Float returns a numeric value as float64.
func (m Metadata) Float(key string) (float64, bool) {
	switch v := m[key].(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	if i, ok := toInt(m[key]); ok {
		return float64(i), true
	}
	return 0, false
}

// Bool returns a boolean value.
func (m Metadata) Bool(key string) (bool, bool) {
	v, ok := m[key].(bool)
	return v, ok
}

// Strings returns a string array (StringList, []string, or []any of
// strings) as a []string.
func (m Metadata) Strings(key string) ([]string, bool) {
	switch v := m[key].(type) {
	case StringList:
		return v.Strings(), true
	case []string:
		return v, true
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// Floats returns a numeric array as float32s.
func (m Metadata) Floats(key string) ([]float32, bool) {
	switch v := m[key].(type) {
	case []float32:
		return v, true
	case []float64:
		out := make([]float32, len(v))
		for i, e := range v {
			out[i] = float32(e)
		}
		return out, true
	case []any:
		out := make([]float32, len(v))
		for i, e := range v {
			switch f := e.(type) {
			case float64:
				out[i] = float32(f)
			case float32:
				out[i] = f
			default:
				n, ok := toInt(e)
				if !ok {
					return nil, false
				}
				out[i] = float32(n)
			}
		}
		return out, true
	}
	return nil, false
}

// Ints returns an integer array of any integer element type as int64s.
func (m Metadata) Ints(key string) ([]int64, bool) {
	var out []int64
	add := func(n int, get func(int) (int64, bool)) bool {
		out = make([]int64, n)
		for i := range n {
			v, ok := get(i)
			if !ok {
				return false
			}
			out[i] = v
		}
		return true
	}
	var ok bool
	switch v := m[key].(type) {
	case []int32:
		ok = add(len(v), func(i int) (int64, bool) { return int64(v[i]), true })
	case []uint32:
		ok = add(len(v), func(i int) (int64, bool) { return int64(v[i]), true })
	case []int64:
		ok = add(len(v), func(i int) (int64, bool) { return v[i], true })
	case []uint64:
		ok = add(len(v), func(i int) (int64, bool) { return toInt(v[i]) })
	case []int8:
		ok = add(len(v), func(i int) (int64, bool) { return int64(v[i]), true })
	case []uint8:
		ok = add(len(v), func(i int) (int64, bool) { return int64(v[i]), true })
	case []int16:
		ok = add(len(v), func(i int) (int64, bool) { return int64(v[i]), true })
	case []uint16:
		ok = add(len(v), func(i int) (int64, bool) { return int64(v[i]), true })
	case []any:
		ok = add(len(v), func(i int) (int64, bool) { return toInt(v[i]) })
	}
	if !ok {
		return nil, false
	}
	return out, true
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}
