package weights

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// KV is one metadata key/value pair, for writing in order.
type KV struct {
	Key   string
	Value any
}

// WriteGGUF writes a GGUF version 3 file. Tensor data is aligned to the
// uint32 general.alignment value if meta has one, else to 32 bytes.
//
// Value types map from Go types: uint8, int8, uint16, int16, uint32, int32,
// uint64, int64, float32, float64, bool and string; slices of those become
// typed arrays; []any holds nested arrays (or scalars all of one type).
// Plain int and uint are refused: GGUF readers expect a definite width.
//
// Tensors are written in order, each with its Name, DType, Shape and Data
// (which must hold exactly the tensor's bytes); File and Offset are ignored.
func WriteGGUF(w io.Writer, meta []KV, tensors []*Tensor) error {
	align := uint64(ggufDefaultAlignment)
	seen := make(map[string]bool, len(meta))
	for _, kv := range meta {
		if seen[kv.Key] {
			return fmt.Errorf("gguf: write: duplicate metadata key %q", kv.Key)
		}
		seen[kv.Key] = true
		if kv.Key == alignmentKey {
			a, ok := kv.Value.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 || a > ggufMaxAlignment {
				return fmt.Errorf("gguf: write: %s must be a uint32 power of two up to %d, got %T %v", alignmentKey, ggufMaxAlignment, kv.Value, kv.Value)
			}
			align = uint64(a)
		}
	}

	type placed struct {
		typ    uint32
		offset uint64
	}
	infos := make([]placed, len(tensors))
	names := make(map[string]bool, len(tensors))
	var offset uint64
	for i, t := range tensors {
		if names[t.Name] {
			return fmt.Errorf("gguf: write: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		typ, ok := t.DType.GGMLType()
		if !ok {
			return fmt.Errorf("gguf: write: tensor %q: GGUF cannot store dtype %s", t.Name, t.DType)
		}
		if len(t.Shape) > ggufMaxDims {
			return fmt.Errorf("gguf: write: tensor %q: %d dimensions, at most %d allowed", t.Name, len(t.Shape), ggufMaxDims)
		}
		if err := checkTensorSize(t); err != nil {
			return fmt.Errorf("gguf: write: %w", err)
		}
		infos[i] = placed{typ, offset}
		offset += alignUp(uint64(len(t.Data)), align)
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	e := &ggufEncoder{w: bw}
	e.raw([]byte(ggufMagic))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(meta)))
	for _, kv := range meta {
		e.str(kv.Key)
		if err := e.value(kv.Value, 0); err != nil {
			return fmt.Errorf("gguf: write: key %q: %w", kv.Key, err)
		}
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for j := len(t.Shape) - 1; j >= 0; j-- {
			e.u64(uint64(t.Shape[j]))
		}
		e.u32(infos[i].typ)
		e.u64(infos[i].offset)
	}
	e.pad(align)
	for _, t := range tensors {
		e.raw(t.Data)
		e.pad(align)
	}
	if e.err != nil {
		return fmt.Errorf("gguf: write: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

// checkTensorSize verifies that t's shape is valid for its dtype and that
// Data holds exactly its bytes.
func checkTensorSize(t *Tensor) error {
	elems := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
		}
		if d != 0 && elems > math.MaxInt64/int64(d) {
			return fmt.Errorf("tensor %q: shape %v overflows", t.Name, t.Shape)
		}
		elems *= int64(d)
	}
	if be := t.DType.BlockElems(); be > 1 {
		inner := 1
		if len(t.Shape) > 0 {
			inner = t.Shape[len(t.Shape)-1]
		}
		if inner%be != 0 {
			return fmt.Errorf("tensor %q: innermost dimension %d is not a multiple of the %s block size %d", t.Name, inner, t.DType, be)
		}
	}
	size, err := t.DType.Bytes(elems)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if int64(len(t.Data)) != size {
		return fmt.Errorf("tensor %q: %d bytes of data, want %d for %s%v", t.Name, len(t.Data), size, t.DType, t.Shape)
	}
	return nil
}

// ggufEncoder writes little-endian values, keeping the first write error.
type ggufEncoder struct {
	w   io.Writer
	n   uint64 // bytes written
	err error
	buf [8]byte
}

func (e *ggufEncoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(b)
	e.n += uint64(n)
}

func (e *ggufEncoder) u8(v uint8) { e.buf[0] = v; e.raw(e.buf[:1]) }
func (e *ggufEncoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.raw(e.buf[:2])
}
func (e *ggufEncoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.raw(e.buf[:4])
}
func (e *ggufEncoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.raw(e.buf[:8])
}
func (e *ggufEncoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *ggufEncoder) pad(align uint64) {
	var zeros [64]byte
	for e.n%align != 0 && e.err == nil {
		k := align - e.n%align
		e.raw(zeros[:min(k, uint64(len(zeros)))])
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// ggufTypeOf returns the GGUF value type of a Go value, and false if it has
// none.
func ggufTypeOf(v any) (uint32, bool) {
	switch v.(type) {
	case uint8:
		return ggufUint8, true
	case int8:
		return ggufInt8, true
	case uint16:
		return ggufUint16, true
	case int16:
		return ggufInt16, true
	case uint32:
		return ggufUint32, true
	case int32:
		return ggufInt32, true
	case float32:
		return ggufFloat32, true
	case bool:
		return ggufBool, true
	case string:
		return ggufString, true
	case uint64:
		return ggufUint64, true
	case int64:
		return ggufInt64, true
	case float64:
		return ggufFloat64, true
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool,
		[]string, StringList, []uint64, []int64, []float64, []any:
		return ggufArray, true
	}
	return 0, false
}

var errIntWidth = errors.New("int and uint have no GGUF type; use a sized type such as uint32 or int64")

// value writes a type tag and the value.
func (e *ggufEncoder) value(v any, depth int) error {
	typ, ok := ggufTypeOf(v)
	if !ok {
		switch v.(type) {
		case int, uint, []int, []uint:
			return errIntWidth
		}
		return fmt.Errorf("no GGUF type for a value of Go type %T", v)
	}
	e.u32(typ)
	return e.payload(v, depth)
}

// payload writes the value without its type tag. depth counts the arrays
// that enclose v.
func (e *ggufEncoder) payload(v any, depth int) error {
	if t, _ := ggufTypeOf(v); t == ggufArray && depth >= ggufMaxNesting {
		return fmt.Errorf("arrays nested more than %d deep", ggufMaxNesting)
	}
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		e.u8(b2u(x))
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case []uint8:
		writeArray(e, ggufUint8, x, e.u8)
	case []int8:
		writeArray(e, ggufInt8, x, func(v int8) { e.u8(uint8(v)) })
	case []uint16:
		writeArray(e, ggufUint16, x, e.u16)
	case []int16:
		writeArray(e, ggufInt16, x, func(v int16) { e.u16(uint16(v)) })
	case []uint32:
		writeArray(e, ggufUint32, x, e.u32)
	case []int32:
		writeArray(e, ggufInt32, x, func(v int32) { e.u32(uint32(v)) })
	case []float32:
		writeArray(e, ggufFloat32, x, func(v float32) { e.u32(math.Float32bits(v)) })
	case []bool:
		writeArray(e, ggufBool, x, func(v bool) { e.u8(b2u(v)) })
	case []string:
		writeArray(e, ggufString, x, e.str)
	case StringList:
		e.u32(ggufString)
		e.u64(uint64(x.Len()))
		for i := range x.Len() {
			e.str(x.At(i))
		}
	case []uint64:
		writeArray(e, ggufUint64, x, e.u64)
	case []int64:
		writeArray(e, ggufInt64, x, func(v int64) { e.u64(uint64(v)) })
	case []float64:
		writeArray(e, ggufFloat64, x, func(v float64) { e.u64(math.Float64bits(v)) })
	case []any:
		return e.anyArray(x, depth)
	default:
		return fmt.Errorf("no GGUF type for a value of Go type %T", v)
	}
	return nil
}

func writeArray[T any](e *ggufEncoder, typ uint32, xs []T, put func(T)) {
	e.u32(typ)
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		put(x)
	}
}

// anyArray writes a []any: an array whose elements all have one GGUF type
// (for nested arrays, each inner array carries its own element type). An
// empty []any is written as an empty array of arrays.
func (e *ggufEncoder) anyArray(xs []any, depth int) error {
	typ := uint32(ggufArray)
	if len(xs) > 0 {
		var ok bool
		if typ, ok = ggufTypeOf(xs[0]); !ok {
			return fmt.Errorf("array element 0: no GGUF type for Go type %T", xs[0])
		}
	}
	for i, x := range xs {
		if t, ok := ggufTypeOf(x); !ok || t != typ {
			return fmt.Errorf("array element %d: Go type %T differs from element 0 (%T); GGUF arrays hold one type", i, x, xs[0])
		}
	}
	e.u32(typ)
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		if err := e.payload(x, depth+1); err != nil {
			return err
		}
	}
	return nil
}
