package weights

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// ggufBuilder assembles GGUF bytes field by field, valid or not.
type ggufBuilder struct{ b []byte }

func newGGUF(version uint32, tensors, kvs uint64) *ggufBuilder {
	g := &ggufBuilder{b: []byte("GGUF")}
	return g.u32(version).u64(tensors).u64(kvs)
}

func (g *ggufBuilder) u32(v uint32) *ggufBuilder {
	g.b = binary.LittleEndian.AppendUint32(g.b, v)
	return g
}

func (g *ggufBuilder) u64(v uint64) *ggufBuilder {
	g.b = binary.LittleEndian.AppendUint64(g.b, v)
	return g
}

func (g *ggufBuilder) str(s string) *ggufBuilder {
	g.u64(uint64(len(s)))
	g.b = append(g.b, s...)
	return g
}

func (g *ggufBuilder) kvString(key, val string) *ggufBuilder {
	return g.str(key).u32(ggufString).str(val)
}

// tensor writes a tensor info; dims are fastest-first, as in the file.
func (g *ggufBuilder) tensor(name string, typ uint32, offset uint64, dims ...uint64) *ggufBuilder {
	g.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		g.u64(d)
	}
	return g.u32(typ).u64(offset)
}

// data pads to 32 bytes and appends n data bytes.
func (g *ggufBuilder) data(n int) []byte {
	for len(g.b)%32 != 0 {
		g.b = append(g.b, 0)
	}
	return append(g.b, make([]byte, n)...)
}

type badCase struct {
	name string
	data []byte
	want []string
	kind error
}

func checkBad(t *testing.T, format, file string, read func(string, []byte) (*File, error), cases []badCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := read(file, c.data)
			if err == nil {
				t.Fatalf("read without error: %d tensors, meta %v", len(f.Tensors), f.Meta)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, format+": "+file+": ") {
				t.Errorf("error %q does not start with %q", msg, format+": "+file+": ")
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.File != file || e.Format != format {
				t.Errorf("error %#v is not an *Error for %s", err, file)
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q is not %v", msg, c.kind)
			}
		})
	}
}

func TestReadGGUFRejects(t *testing.T) {
	valid := func() *ggufBuilder { return newGGUF(3, 1, 1).kvString("general.architecture", "x") }
	deep := newGGUF(3, 0, 1).str("deep").u32(ggufArray)
	for range ggufMaxNesting {
		deep.u32(ggufArray).u64(1)
	}
	deep.u32(ggufUint8).u64(0)
	cases := []badCase{
		{"empty file", nil, []string{"magic: need 4 bytes, only 0 left"}, ErrTruncated},
		{"wrong magic", []byte("GGML\x03\x00\x00\x00"), []string{`not a GGUF file: magic "GGML"`}, ErrMalformed},
		{"version 1", newGGUF(1, 0, 0).b, []string{"GGUF version 1 is not supported"}, ErrUnsupported},
		{"version 4", newGGUF(4, 0, 0).b, []string{"GGUF version 4 is not supported"}, ErrUnsupported},
		{"big-endian", append([]byte("GGUF\x00\x00\x00\x03"), make([]byte, 16)...), []string{"big-endian"}, ErrUnsupported},
		{"truncated header", []byte("GGUF\x03\x00\x00\x00\x01\x00"), []string{"at byte 8: tensor count: need 8 bytes, only 2 left"}, ErrTruncated},
		{"absurd tensor count", newGGUF(3, 1<<60, 0).b, []string{"at byte 8:", "tensor count 1152921504606846976 is more than the"}, ErrMalformed},
		{"absurd key/value count", newGGUF(3, 0, 1<<62).b, []string{"at byte 16:", "metadata key/value count 4611686018427387904"}, ErrMalformed},
		{"absurd key length", append(newGGUF(3, 0, 1).u64(1<<62).b, make([]byte, 16)...), []string{"at byte 24:", "metadata entry 0: key length 4611686018427387904 exceeds"}, ErrTruncated},
		{"absurd string length", newGGUF(3, 0, 1).str("k").u32(ggufString).u64(1 << 50).b, []string{`metadata key "k": string value length 1125899906842624 exceeds`}, ErrTruncated},
		{"absurd array length", newGGUF(3, 0, 1).str("k").u32(ggufArray).u32(ggufUint32).u64(1 << 61).b, []string{`metadata key "k"`, "array length 2305843009213693952 is more than"}, ErrMalformed},
		{"absurd string array length", newGGUF(3, 0, 1).str("k").u32(ggufArray).u32(ggufString).u64(1 << 40).b, []string{"string array length 1099511627776"}, ErrMalformed},
		{"absurd nested array length", newGGUF(3, 0, 1).str("k").u32(ggufArray).u32(ggufArray).u64(1 << 40).b, []string{"nested array length 1099511627776"}, ErrMalformed},
		{"truncated array", newGGUF(3, 0, 1).str("k").u32(ggufArray).u32(ggufFloat64).u64(2).u64(0).b, []string{"array length 2 is more than the 8 bytes left"}, ErrMalformed},
		{"unknown value type", newGGUF(3, 0, 1).str("k").u32(13).b, []string{"at byte 33:", `metadata key "k": unknown value type 13`}, ErrMalformed},
		{"unknown array type", newGGUF(3, 0, 1).str("k").u32(ggufArray).u32(99).u64(0).b, []string{`metadata key "k": unknown array element type 99`}, ErrMalformed},
		{"arrays nested too deep", deep.b, []string{`metadata key "deep": arrays nested more than 16 deep`}, ErrMalformed},
		{"duplicate key", newGGUF(3, 0, 2).kvString("k", "a").kvString("k", "b").b, []string{`metadata key "k": duplicate key`}, ErrMalformed},
		{"alignment not a power of two", newGGUF(3, 0, 1).str(alignmentKey).u32(ggufUint32).u32(48).b, []string{alignmentKey, "power of two", "48"}, ErrMalformed},
		{"alignment not uint32", newGGUF(3, 0, 1).kvString(alignmentKey, "32").b, []string{alignmentKey, "uint32", "string"}, ErrMalformed},
		{"too many dimensions", valid().tensor("t", 0, 0, 1, 1, 1, 1, 1).data(4), []string{`tensor "t": 5 dimensions, at most 4 allowed`}, ErrMalformed},
		{"dimension product overflows", valid().tensor("t", 0, 0, 1<<40, 1<<40).data(4), []string{`tensor "t": dimensions [1099511627776 1099511627776] overflow`}, ErrMalformed},
		{"dimension too large", valid().tensor("t", 0, 0, 1<<63).data(4), []string{`tensor "t": dimension 0 is 9223372036854775808`}, ErrMalformed},
		{"size overflows", valid().tensor("t", 0, 0, 1<<62, 1).data(4), []string{`tensor "t"`, "overflows"}, ErrMalformed},
		{"unsupported tensor type", valid().tensor("blk.0.w", 16, 0, 256).data(256), []string{`unsupported tensor type 16 in tensor "blk.0.w"`}, ErrUnsupported},
		{"unknown tensor type", valid().tensor("t", 1000, 0, 4).data(16), []string{`unsupported tensor type 1000 in tensor "t"`}, ErrUnsupported},
		{"partial block", valid().tensor("t", 2, 0, 16, 2).data(64), []string{`tensor "t": innermost dimension 16 is not a multiple of the Q4_0 block size 32`}, ErrMalformed},
		{"data past end", valid().tensor("blk.0.attn_q.weight", 0, 0, 4, 4).data(32), []string{`tensor "blk.0.attn_q.weight": data [128, 192) past end of file (160 bytes)`}, ErrMalformed},
		{"offset past end", valid().tensor("t", 0, 1<<20, 4).data(16), []string{`tensor "t": data [1048704, 1048720) past end of file (144 bytes)`}, ErrMalformed},
		{"offset wraps around", valid().tensor("t", 0, 1<<63, 4).data(16), []string{`tensor "t": data [`, "past end of file (144 bytes)"}, ErrMalformed},
		{"misaligned offset", valid().tensor("t", 0, 4, 4).data(32), []string{`tensor "t": data offset 4 is not a multiple of the alignment 32`}, ErrMalformed},
		{"overlapping tensors", newGGUF(3, 2, 0).tensor("a", 0, 0, 16).tensor("b", 0, 32, 4).data(64), []string{`tensor "b" data [128, 144) overlaps tensor "a" data [96, 160)`}, ErrMalformed},
		{"duplicate tensor name", newGGUF(3, 2, 0).tensor("t", 0, 0, 4).tensor("t", 0, 32, 4).data(64), []string{`duplicate tensor name "t"`}, ErrMalformed},
		{"truncated tensor info", valid().str("t").u32(2).u64(4).b, []string{`tensor "t": dimension: need 8 bytes, only 0 left`}, ErrTruncated},
	}
	checkBad(t, "gguf", "model.gguf", ReadGGUF, cases)
}

// TestReadGGUFTruncated cuts a valid file at every length: each cut that
// loses header or tensor bytes must fail cleanly.
func TestReadGGUFTruncated(t *testing.T) {
	data := writeGGUF(t, testMeta(), testTensors(ggufDTypes[:4]))
	full, err := ReadGGUF("t.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	last := full.Tensors[len(full.Tensors)-1]
	end := int(last.Offset) + len(last.Data)
	for n := range end {
		_, err := ReadGGUF("t.gguf", data[:n])
		var e *Error
		if !errors.As(err, &e) || e.File != "t.gguf" || !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d of %d: error %v", n, len(data), err)
		}
	}
	for n := end; n <= len(data); n++ { // only padding lost
		if _, err := ReadGGUF("t.gguf", data[:n]); err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
}

// st assembles a safetensors file from a header and data section.
func st(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

func TestReadSafetensorsRejects(t *testing.T) {
	cases := []badCase{
		{"short file", []byte{1, 0, 0}, []string{"file of 3 bytes is too short"}, ErrTruncated},
		{"header length past end", st("{}", 0)[:9], []string{"header length 2 exceeds the 1 bytes after it"}, ErrTruncated},
		{"absurd header length", append(binary.LittleEndian.AppendUint64(nil, 1<<63), "{}"...), []string{"header length 9223372036854775808 exceeds"}, ErrTruncated},
		{"header not JSON", st(`{"a": `, 0), []string{"header JSON"}, ErrMalformed},
		{"header not an object", st(`[1]`, 0), []string{"header is not a JSON object"}, ErrMalformed},
		{"data after header", st(`{} {}`, 0), []string{"data after the header JSON object"}, ErrMalformed},
		{"unsupported dtype", st(`{"t":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}}`, 2), []string{`tensor "t": unsupported dtype "U16"`}, ErrUnsupported},
		{"quantized dtype", st(`{"t":{"dtype":"Q4_0","shape":[32],"data_offsets":[0,18]}}`, 18), []string{`unsupported dtype "Q4_0"`}, ErrUnsupported},
		{"negative dimension", st(`{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4), []string{`tensor "t": shape [-1]: dimension -1`}, ErrMalformed},
		{"shape overflows", st(`{"t":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}`, 4), []string{"overflows"}, ErrMalformed},
		{"size overflows", st(`{"t":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}`, 4), []string{"overflows"}, ErrMalformed},
		{"fractional dimension", st(`{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 4), []string{`tensor "t": bad entry`}, ErrMalformed},
		{"begin after end", st(`{"t":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, 4), []string{"data_offsets [4, 0): begin after end"}, ErrMalformed},
		{"data past end", st(`{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), []string{`tensor "t": data [0, 16) past the end of the data section (8 bytes)`}, ErrMalformed},
		{"size mismatch", st(`{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 8), []string{"data [0, 4) is 4 bytes, want 8 for F32[2]"}, ErrMalformed},
		{"one offset", st(`{"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, 8), []string{"data_offsets [0]: want [begin, end]"}, ErrMalformed},
		{"overlap", st(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), []string{`tensor "b" data [`, `overlaps tensor "a"`}, ErrMalformed},
		{"duplicate tensor", st(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), []string{`duplicate header key "a"`}, ErrMalformed},
		{"metadata not strings", st(`{"__metadata__":{"n":1}}`, 0), []string{"__metadata__ must map strings to strings"}, ErrMalformed},
		{"missing field", st(`{"t":{"dtype":"F32","shape":[1]}}`, 4), []string{`tensor "t": entry needs "dtype", "shape" and "data_offsets"`}, ErrMalformed},
		{"unknown field", st(`{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 4), []string{`tensor "t": bad entry`, "unknown field"}, ErrMalformed},
		{"entry not an object", st(`{"t":5}`, 0), []string{`tensor "t": bad entry`}, ErrMalformed},
	}
	checkBad(t, "safetensors", "model.safetensors", ReadSafetensors, cases)
}

func TestReadSafetensorsTruncated(t *testing.T) {
	data := writeST(t, testTensors(stDTypes), map[string]string{"a": "b"})
	for n := range len(data) {
		_, err := ReadSafetensors("t.safetensors", data[:n])
		var e *Error
		if !errors.As(err, &e) || e.File != "t.safetensors" || !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d of %d: error %v", n, len(data), err)
		}
	}
}
