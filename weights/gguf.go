package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

const (
	ggufMagic            = "GGUF"
	ggufDefaultAlignment = 32
	ggufMaxDims          = 4  // GGML_MAX_DIMS
	ggufMaxNesting       = 16 // deepest array nesting read
	ggufMaxAlignment     = 1 << 30
	alignmentKey         = "general.alignment"
)

// GGUF metadata value types.
const (
	ggufUint8   = 0
	ggufInt8    = 1
	ggufUint16  = 2
	ggufInt16   = 3
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
	ggufUint64  = 10
	ggufInt64   = 11
	ggufFloat64 = 12
)

// ggufScalarSize is the encoded size of each fixed-size value type (0 for
// string and array).
var ggufScalarSize = [...]int{
	ggufUint8: 1, ggufInt8: 1, ggufUint16: 2, ggufInt16: 2, ggufUint32: 4, ggufInt32: 4,
	ggufFloat32: 4, ggufBool: 1, ggufString: 0, ggufArray: 0, ggufUint64: 8, ggufInt64: 8, ggufFloat64: 8,
}

// ggmlTypes maps ggml's type ids (enum ggml_type) to DTypes.
var ggmlTypes = map[uint32]DType{
	0: F32, 1: F16, 2: Q4_0, 3: Q4_1, 6: Q5_0, 7: Q5_1, 8: Q8_0, 9: Q8_1,
	10: Q2_K, 11: Q3_K, 12: Q4_K, 13: Q5_K, 14: Q6_K, 15: Q8_K,
	24: I8, 25: I16, 26: I32, 27: I64, 28: F64, 30: BF16,
}

// GGMLType returns ggml's type id for d, and false when GGUF cannot store d.
func (d DType) GGMLType() (uint32, bool) {
	for id, t := range ggmlTypes {
		if t == d {
			return id, true
		}
	}
	return 0, false
}

// ggufReader decodes little-endian values from data. The first failure is
// kept in err; later reads then return zero values, so callers check err
// once per item rather than after every read.
type ggufReader struct {
	name string
	data []byte
	off  int
	ctx  string // what is being read, for error messages
	err  error
}

func (r *ggufReader) fail(off int, kind error, msg string, args ...any) {
	if r.err != nil {
		return
	}
	m := fmt.Sprintf(msg, args...)
	if r.ctx != "" {
		m = r.ctx + ": " + m
	}
	r.err = newError("gguf", r.name, int64(off), kind, "%s", m)
}

func (r *ggufReader) left() int { return len(r.data) - r.off }

// take returns the next n bytes.
func (r *ggufReader) take(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.left()) {
		r.fail(r.off, ErrTruncated, "%s: need %d bytes, only %d left in the file", what, n, r.left())
		return nil
	}
	b := r.data[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *ggufReader) u8(what string) uint8 {
	if b := r.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *ggufReader) u16(what string) uint16 {
	if b := r.take(2, what); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *ggufReader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *ggufReader) u64(what string) uint64 {
	if b := r.take(8, what); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// count reads an element count and checks that count items of at least
// minSize bytes each fit in the rest of the file, so that allocations are
// bounded by the file size.
func (r *ggufReader) count(what string, minSize int) int {
	at := r.off
	n := r.u64(what)
	if r.err != nil {
		return 0
	}
	if n > uint64(r.left()/minSize) {
		r.fail(at, ErrMalformed, "%s %d is more than the %d bytes left in the file can hold", what, n, r.left())
		return 0
	}
	return int(n)
}

func (r *ggufReader) str(what string) string { return string(r.strBytes(what)) }

// strBytes reads a length-prefixed string's bytes (in place: nil on error).
func (r *ggufReader) strBytes(what string) []byte {
	at := r.off
	n := r.u64(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(r.left()) {
		r.fail(at, ErrTruncated, "%s length %d exceeds the %d bytes left in the file", what, n, r.left())
		return nil
	}
	return r.take(n, what)
}

// value reads one metadata value of type typ.
func (r *ggufReader) value(typ uint32, depth int) any {
	switch typ {
	case ggufUint8:
		return r.u8("uint8 value")
	case ggufInt8:
		return int8(r.u8("int8 value"))
	case ggufUint16:
		return r.u16("uint16 value")
	case ggufInt16:
		return int16(r.u16("int16 value"))
	case ggufUint32:
		return r.u32("uint32 value")
	case ggufInt32:
		return int32(r.u32("int32 value"))
	case ggufFloat32:
		return math.Float32frombits(r.u32("float32 value"))
	case ggufBool:
		return r.u8("bool value") != 0
	case ggufString:
		return r.str("string value")
	case ggufArray:
		return r.array(depth + 1)
	case ggufUint64:
		return r.u64("uint64 value")
	case ggufInt64:
		return int64(r.u64("int64 value"))
	case ggufFloat64:
		return math.Float64frombits(r.u64("float64 value"))
	}
	r.fail(r.off-4, ErrMalformed, "unknown value type %d", typ)
	return nil
}

// readSlice reads n fixed-size elements with get.
func readSlice[T any](r *ggufReader, n, size int, get func([]byte) T) []T {
	b := r.take(uint64(n)*uint64(size), "array data")
	if r.err != nil {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = get(b[i*size:])
	}
	return out
}

// array reads an array value: element type, count, elements. Arrays of
// fixed-size types and strings become typed slices; arrays of arrays []any.
func (r *ggufReader) array(depth int) any {
	if depth > ggufMaxNesting {
		r.fail(r.off, ErrMalformed, "arrays nested more than %d deep", ggufMaxNesting)
		return nil
	}
	at := r.off
	typ := r.u32("array element type")
	if r.err != nil {
		return nil
	}
	le := binary.LittleEndian
	switch {
	case typ == ggufString:
		// The strings are read (and checked) first, then their bytes copied
		// once into a string of the right size: string i's bytes start 8
		// bytes (its length) after string i-1's end.
		n := r.count("string array length", 8)
		start, total := r.off, 0
		ends := make([]uint32, n)
		for i := range ends {
			b := r.strBytes("array string")
			if r.err != nil {
				return nil
			}
			if total += len(b); total > math.MaxUint32 {
				r.fail(at, ErrUnsupported, "string array of %d strings holds more than 4 GiB", n)
				return nil
			}
			ends[i] = uint32(total)
		}
		var buf strings.Builder
		buf.Grow(total)
		for i, end := range ends {
			from := buf.Len()
			off := start + 8*(i+1) + from
			buf.Write(r.data[off : off+int(end)-from])
		}
		return StringList{data: buf.String(), ends: ends}
	case typ == ggufArray:
		n := r.count("nested array length", 12)
		out := make([]any, n)
		for i := range out {
			out[i] = r.array(depth + 1)
			if r.err != nil {
				return nil
			}
		}
		return out
	case int(typ) < len(ggufScalarSize):
		size := ggufScalarSize[typ]
		n := r.count("array length", size)
		switch typ {
		case ggufUint8:
			return readSlice(r, n, 1, func(b []byte) uint8 { return b[0] })
		case ggufInt8:
			return readSlice(r, n, 1, func(b []byte) int8 { return int8(b[0]) })
		case ggufUint16:
			return readSlice(r, n, 2, le.Uint16)
		case ggufInt16:
			return readSlice(r, n, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })
		case ggufUint32:
			return readSlice(r, n, 4, le.Uint32)
		case ggufInt32:
			return readSlice(r, n, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })
		case ggufFloat32:
			return readSlice(r, n, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
		case ggufBool:
			return readSlice(r, n, 1, func(b []byte) bool { return b[0] != 0 })
		case ggufUint64:
			return readSlice(r, n, 8, le.Uint64)
		case ggufInt64:
			return readSlice(r, n, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })
		case ggufFloat64:
			return readSlice(r, n, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
		}
	}
	r.fail(at, ErrMalformed, "unknown array element type %d", typ)
	return nil
}

// tensorInfo is a tensor's header entry before its data is located.
type tensorInfo struct {
	at     int // offset of the entry, for messages
	name   string
	shape  []int // outermost-first
	dtype  DType
	offset uint64 // relative to the data section
	size   int64
}

// ReadGGUF parses a GGUF file (version 2 or 3) held in data. name
// identifies it in error messages. Tensor data aliases data; Meta does not.
func ReadGGUF(name string, data []byte) (*File, error) {
	r := &ggufReader{name: name, data: data}
	magic := r.take(4, "magic")
	if r.err != nil {
		return nil, r.err
	}
	if string(magic) != ggufMagic {
		return nil, newError("gguf", name, 0, ErrMalformed, "not a GGUF file: magic %q, want %q", magic, ggufMagic)
	}
	version := r.u32("version")
	if r.err != nil {
		return nil, r.err
	}
	if version != 2 && version != 3 {
		if v := bits.ReverseBytes32(version); v == 2 || v == 3 {
			return nil, newError("gguf", name, 4, ErrUnsupported, "big-endian GGUF (version %d) is not supported", v)
		}
		return nil, newError("gguf", name, 4, ErrUnsupported, "GGUF version %d is not supported (only 2 and 3)", version)
	}
	// A tensor info takes at least 24 bytes (name length, n_dims, type,
	// offset); a key/value at least 13 (key length, type, one byte).
	nTensors := r.count("tensor count", 24)
	nKV := r.count("metadata key/value count", 13)
	if r.err != nil {
		return nil, r.err
	}

	f := &File{Path: name, Format: FormatGGUF, Version: int(version), Alignment: ggufDefaultAlignment,
		Meta: make(Metadata, nKV), keys: make([]string, 0, nKV)}
	for i := range nKV {
		at := r.off
		r.ctx = fmt.Sprintf("metadata entry %d", i)
		key := r.str("key")
		if r.err != nil {
			return nil, r.err
		}
		r.ctx = "metadata key " + quote(key)
		if _, dup := f.Meta[key]; dup {
			r.fail(at, ErrMalformed, "duplicate key")
			return nil, r.err
		}
		typ := r.u32("value type")
		v := r.value(typ, 0)
		if r.err != nil {
			return nil, r.err
		}
		f.Meta[key] = v
		f.keys = append(f.keys, key)
		if key == alignmentKey {
			a, ok := v.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 || a > ggufMaxAlignment {
				got := fmt.Sprintf("a %T", v)
				if ok {
					got = fmt.Sprint(a)
				}
				r.fail(at, ErrMalformed, "alignment must be a uint32 power of two up to %d, got %s", ggufMaxAlignment, got)
				return nil, r.err
			}
			f.Alignment = int(a)
		}
	}

	infos := make([]tensorInfo, nTensors)
	for i := range infos {
		r.ctx = fmt.Sprintf("tensor info %d", i)
		infos[i] = r.tensorInfo()
		if r.err != nil {
			return nil, r.err
		}
	}
	r.ctx = ""

	dataStart := alignUp(uint64(r.off), uint64(f.Alignment))
	if err := f.placeGGUFTensors(name, data, infos, dataStart); err != nil {
		return nil, err
	}
	f.buildIndex()
	if len(f.index) != len(f.Tensors) {
		seen := map[string]bool{}
		for _, in := range infos {
			if seen[in.name] {
				return nil, newError("gguf", name, int64(in.at), ErrMalformed, "duplicate tensor name %s", quote(in.name))
			}
			seen[in.name] = true
		}
	}
	return f, nil
}

func alignUp(off, align uint64) uint64 {
	return (off + align - 1) / align * align
}

// tensorInfo reads one tensor info entry.
func (r *ggufReader) tensorInfo() tensorInfo {
	in := tensorInfo{at: r.off}
	in.name = r.str("name")
	if r.err != nil {
		return in
	}
	r.ctx = "tensor " + quote(in.name)
	at := r.off
	nDims := r.u32("dimension count")
	if r.err != nil {
		return in
	}
	if nDims > ggufMaxDims {
		r.fail(at, ErrMalformed, "%d dimensions, at most %d allowed", nDims, ggufMaxDims)
		return in
	}
	ne := make([]uint64, nDims)
	for i := range ne {
		ne[i] = r.u64("dimension")
	}
	at = r.off
	typ := r.u32("type")
	in.offset = r.u64("data offset")
	if r.err != nil {
		return in
	}
	dt, ok := ggmlTypes[typ]
	if !ok {
		r.ctx = ""
		r.fail(at, ErrUnsupported, "unsupported tensor type %d in tensor %s", typ, quote(in.name))
		return in
	}
	in.dtype = dt
	// ne[] is fastest-first; Shape is outermost-first.
	in.shape = make([]int, nDims)
	zero := slices.Contains(ne, 0)
	elems := uint64(1)
	for i, d := range ne {
		if d > uint64(math.MaxInt) {
			r.fail(in.at, ErrMalformed, "dimension %d is %d", i, d)
			return in
		}
		in.shape[len(ne)-1-i] = int(d)
		if zero {
			continue
		}
		hi, lo := bits.Mul64(elems, d)
		if hi != 0 || lo > math.MaxInt64 {
			r.fail(in.at, ErrMalformed, "dimensions %v overflow the element count", ne)
			return in
		}
		elems = lo
	}
	if zero {
		elems = 0
	}
	inner := uint64(1)
	if len(ne) > 0 {
		inner = ne[0]
	}
	if be := uint64(dt.BlockElems()); inner%be != 0 {
		r.fail(in.at, ErrMalformed, "innermost dimension %d is not a multiple of the %s block size %d", inner, dt, be)
		return in
	}
	size, err := dt.Bytes(int64(elems))
	if err != nil {
		r.fail(in.at, ErrMalformed, "%v", err)
		return in
	}
	in.size = size
	return in
}

// placeGGUFTensors checks each tensor's data range and slices it from data.
func (f *File) placeGGUFTensors(name string, data []byte, infos []tensorInfo, dataStart uint64) error {
	fileSize := uint64(len(data))
	f.Tensors = make([]*Tensor, len(infos))
	for i, in := range infos {
		if in.offset%uint64(f.Alignment) != 0 {
			return newError("gguf", name, int64(in.at), ErrMalformed, "tensor %s: data offset %d is not a multiple of the alignment %d", quote(in.name), in.offset, f.Alignment)
		}
		start := dataStart + in.offset
		end := start + uint64(in.size)
		if in.offset > fileSize || end > fileSize || end < start {
			return newError("gguf", name, -1, ErrMalformed, "tensor %s: data [%d, %d) past end of file (%d bytes)", quote(in.name), start, end, fileSize)
		}
		f.Tensors[i] = &Tensor{Name: in.name, DType: in.dtype, Shape: in.shape,
			Data: data[start:end:end], File: name, Offset: int64(start)}
	}
	return checkOverlaps("gguf", name, f.Tensors)
}

// checkOverlaps fails when two non-empty tensors share bytes.
func checkOverlaps(format, name string, ts []*Tensor) error {
	order := make([]*Tensor, 0, len(ts))
	for _, t := range ts {
		if len(t.Data) > 0 {
			order = append(order, t)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Offset < order[j].Offset })
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if aEnd := a.Offset + int64(len(a.Data)); b.Offset < aEnd {
			return newError(format, name, -1, ErrMalformed, "tensor %s data [%d, %d) overlaps tensor %s data [%d, %d)",
				quote(b.Name), b.Offset, b.Offset+int64(len(b.Data)), quote(a.Name), a.Offset, aEnd)
		}
	}
	return nil
}

func sortedKeys(m Metadata) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
