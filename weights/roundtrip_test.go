package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// ggufDTypes and stDTypes are the dtypes each format can store.
var (
	ggufDTypes = []DType{F32, F16, BF16, F64, I8, I16, I32, I64,
		Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K}
	stDTypes = []DType{F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, F8E4M3, F8E5M2}
)

// testTensor makes a tensor of random bytes.
func testTensor(rng *rand.Rand, name string, dt DType, shape ...int) *Tensor {
	t := &Tensor{Name: name, DType: dt, Shape: shape}
	n, err := dt.Bytes(int64(t.Elements()))
	if err != nil {
		panic(err)
	}
	t.Data = make([]byte, n)
	for i := range t.Data {
		t.Data[i] = byte(rng.Uint32())
	}
	return t
}

// testTensors makes one tensor of every dtype in dts, in a few shapes.
func testTensors(dts []DType) []*Tensor {
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []*Tensor
	for i, dt := range dts {
		be := dt.BlockElems()
		switch i % 4 {
		case 0:
			ts = append(ts, testTensor(rng, "a."+dt.String(), dt, 3, 2*be))
		case 1:
			ts = append(ts, testTensor(rng, "b."+dt.String(), dt, be))
		case 2:
			ts = append(ts, testTensor(rng, "c."+dt.String(), dt, 2, 1, 3, be))
		case 3:
			ts = append(ts, testTensor(rng, "d."+dt.String(), dt, 5, be*3))
		}
	}
	return ts
}

// testMeta holds a value of every GGUF metadata type.
func testMeta() []KV {
	return []KV{
		{"general.architecture", "test"},
		{"u8", uint8(200)}, {"i8", int8(-100)}, {"u16", uint16(60000)}, {"i16", int16(-30000)},
		{"u32", uint32(4000000000)}, {"i32", int32(-2000000000)}, {"f32", float32(1.5e-5)},
		{"bool", true}, {"false", false}, {"str", "héllo\x00world"}, {"empty", ""},
		{"u64", uint64(math.MaxUint64)}, {"i64", int64(math.MinInt64)}, {"f64", math.Pi},
		{"a.u8", []uint8{1, 2, 255}}, {"a.i8", []int8{-1, 2}}, {"a.u16", []uint16{65535}},
		{"a.i16", []int16{-2, 3}}, {"a.u32", []uint32{1, 4294967295}}, {"a.i32", []int32{-7, 0, 7}},
		{"a.f32", []float32{0.5, -2}}, {"a.bool", []bool{true, false, true}},
		{"a.str", NewStringList([]string{"<unk>", "", "▁the"})}, {"a.u64", []uint64{1 << 63}},
		{"a.i64", []int64{-1 << 40}}, {"a.f64", []float64{1e300, -0.25}},
		{"a.empty", NewStringList(nil)},
		{"nested", []any{[]int32{1, 2}, NewStringList([]string{"x", "y"}), []any{[]float32{3}, []any{}}}},
		{"nested.empty", []any{}},
	}
}

func writeGGUF(t testing.TB, meta []KV, tensors []*Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteGGUF(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeST(t testing.TB, tensors []*Tensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkTensors(t *testing.T, got, want []*Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d tensors, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || g.DType != w.DType || !equalInts(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %d: got %v (%d bytes), want %v (%d bytes)", i, g, len(g.Data), w, len(w.Data))
		}
	}
}

func TestGGUFRoundTrip(t *testing.T) {
	tensors := testTensors(ggufDTypes)
	for _, align := range []uint32{0, 1, 64} {
		meta := testMeta()
		want := uint32(32)
		if align != 0 {
			meta = append(meta, KV{alignmentKey, align})
			want = align
		}
		data := writeGGUF(t, meta, tensors)
		f, err := ReadGGUF("rt.gguf", data)
		if err != nil {
			t.Fatal(err)
		}
		if f.Version != 3 || f.Alignment != int(want) || f.Format != FormatGGUF {
			t.Errorf("version %d alignment %d format %v", f.Version, f.Alignment, f.Format)
		}
		if got := f.KVs(); !reflect.DeepEqual(got, meta) {
			t.Errorf("metadata:\n got %#v\nwant %#v", got, meta)
		}
		checkTensors(t, f.Tensors, tensors)
		for _, x := range f.Tensors {
			if x.Offset%int64(want) != 0 || x.File != "rt.gguf" {
				t.Errorf("%s: offset %d not aligned to %d, file %q", x.Name, x.Offset, want, x.File)
			}
			if &x.Data[0] != &data[x.Offset] {
				t.Errorf("%s: data is a copy, not a slice of the input", x.Name)
			}
		}
		// Writing what was read reproduces the file.
		if again := writeGGUF(t, f.KVs(), f.Tensors); !bytes.Equal(again, data) {
			t.Error("rewriting the file read changed it")
		}
	}
}

func TestGGUFVersion2(t *testing.T) {
	data := writeGGUF(t, testMeta(), testTensors(ggufDTypes[:3]))
	binary.LittleEndian.PutUint32(data[4:], 2)
	f, err := ReadGGUF("v2.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 {
		t.Errorf("version %d", f.Version)
	}
	checkTensors(t, f.Tensors, testTensors(ggufDTypes[:3]))
}

func TestGGUFScalarAndEmptyTensors(t *testing.T) {
	ts := []*Tensor{
		{Name: "scalar", DType: F32, Shape: []int{}, Data: []byte{1, 2, 3, 4}},
		{Name: "empty", DType: F16, Shape: []int{0, 7}, Data: []byte{}},
		{Name: "after", DType: I8, Shape: []int{3}, Data: []byte{5, 6, 7}},
	}
	f, err := ReadGGUF("s.gguf", writeGGUF(t, nil, ts))
	if err != nil {
		t.Fatal(err)
	}
	checkTensors(t, f.Tensors, ts)
}

func TestWriteGGUFRejects(t *testing.T) {
	ok := &Tensor{Name: "x", DType: F32, Shape: []int{2}, Data: make([]byte, 8)}
	cases := []struct {
		name    string
		meta    []KV
		tensors []*Tensor
		want    string
	}{
		{"int", []KV{{"k", 5}}, nil, "sized type"},
		{"map", []KV{{"k", map[string]int{}}}, nil, "no GGUF type"},
		{"mixed array", []KV{{"k", []any{int32(1), "a"}}}, nil, "one type"},
		{"duplicate key", []KV{{"k", "a"}, {"k", "b"}}, nil, "duplicate metadata key"},
		{"bad alignment", []KV{{alignmentKey, uint32(3)}}, nil, "power of two"},
		{"alignment type", []KV{{alignmentKey, int64(32)}}, nil, "uint32"},
		{"duplicate tensor", nil, []*Tensor{ok, ok}, "duplicate tensor"},
		{"dtype", nil, []*Tensor{{Name: "b", DType: Bool, Shape: []int{1}, Data: []byte{1}}}, "cannot store dtype BOOL"},
		{"dims", nil, []*Tensor{{Name: "d", DType: I8, Shape: []int{1, 1, 1, 1, 1}, Data: []byte{1}}}, "5 dimensions"},
		{"size", nil, []*Tensor{{Name: "s", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}}, "8 bytes of data, want 12"},
		{"block", nil, []*Tensor{{Name: "q", DType: Q8_0, Shape: []int{32, 16}, Data: make([]byte, 34*16)}}, "not a multiple of the Q8_0 block size"},
	}
	for _, c := range cases {
		err := WriteGGUF(&bytes.Buffer{}, c.meta, c.tensors)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	deep := any([]int32{1})
	for range ggufMaxNesting {
		deep = []any{deep}
	}
	if err := WriteGGUF(&bytes.Buffer{}, []KV{{"deep", deep}}, nil); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	tensors := testTensors(stDTypes)
	tensors = append(tensors,
		&Tensor{Name: "scalar", DType: F32, Shape: []int{}, Data: []byte{0, 0, 128, 63}},
		&Tensor{Name: "empty", DType: BF16, Shape: []int{4, 0}, Data: []byte{}},
		&Tensor{Name: `odd "name" ▁`, DType: U8, Shape: []int{1}, Data: []byte{9}})
	meta := map[string]string{"format": "pt", "note": "ünïcode"}
	data := writeST(t, tensors, meta)
	if hl := binary.LittleEndian.Uint64(data); (8+hl)%8 != 0 {
		t.Errorf("data section starts at %d, not 8-aligned", 8+hl)
	}
	f, err := ReadSafetensors("rt.safetensors", data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatSafetensors || f.Version != 0 || f.Config != nil {
		t.Errorf("format %v version %d config %v", f.Format, f.Version, f.Config)
	}
	if !reflect.DeepEqual(map[string]any(f.Meta), map[string]any{"format": "pt", "note": "ünïcode"}) {
		t.Errorf("meta %v", f.Meta)
	}
	checkTensors(t, f.Tensors, tensors)
	for _, x := range f.Tensors {
		if len(x.Data) > 0 && &x.Data[0] != &data[x.Offset] {
			t.Errorf("%s: data is a copy or misplaced", x.Name)
		}
	}
	if again := writeST(t, f.Tensors, map[string]string{"format": "pt", "note": "ünïcode"}); !bytes.Equal(again, data) {
		t.Error("rewriting the file read changed it")
	}
	// No metadata at all.
	f, err = ReadSafetensors("plain.safetensors", writeST(t, tensors[:2], nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Meta) != 0 {
		t.Errorf("meta %v", f.Meta)
	}
}

func TestWriteSafetensorsRejects(t *testing.T) {
	q := &Tensor{Name: "q", DType: Q4_0, Shape: []int{32}, Data: make([]byte, 18)}
	if err := WriteSafetensors(&bytes.Buffer{}, []*Tensor{q}, nil); err == nil || !strings.Contains(err.Error(), "cannot store dtype Q4_0") {
		t.Errorf("quantized: %v", err)
	}
	x := &Tensor{Name: "x", DType: F32, Shape: []int{1}, Data: make([]byte, 4)}
	if err := WriteSafetensors(&bytes.Buffer{}, []*Tensor{x, x}, nil); err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Errorf("duplicate: %v", err)
	}
	short := &Tensor{Name: "s", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}
	if err := WriteSafetensors(&bytes.Buffer{}, []*Tensor{short}, nil); err == nil || !strings.Contains(err.Error(), "want 8") {
		t.Errorf("size: %v", err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMmapAndNoMmapAgree(t *testing.T) {
	dir := t.TempDir()
	tensors := testTensors(ggufDTypes)
	gg := filepath.Join(dir, "m.gguf")
	writeFile(t, gg, writeGGUF(t, testMeta(), tensors))
	st := filepath.Join(dir, "weights.bin") // detected by content, not name
	writeFile(t, st, writeST(t, testTensors(stDTypes), map[string]string{"k": "v"}))
	for _, path := range []string{gg, st} {
		a, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(path, Options{NoMmap: true})
		if err != nil {
			t.Fatal(err)
		}
		if a.Path != path || b.Path != path || a.Format != b.Format {
			t.Errorf("paths %q %q formats %v %v", a.Path, b.Path, a.Format, b.Format)
		}
		if !reflect.DeepEqual(a.Meta, b.Meta) {
			t.Errorf("%s: metadata differs", path)
		}
		checkTensors(t, a.Tensors, b.Tensors)
		for i := range a.Tensors {
			if a.Tensors[i].Offset != b.Tensors[i].Offset || a.Tensors[i].File != path {
				t.Errorf("%s: tensor %d offset %d vs %d, file %q", path, i, a.Tensors[i].Offset, b.Tensors[i].Offset, a.Tensors[i].File)
			}
		}
		a.Close()
		b.Close()
	}
	f, err := Open(gg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkTensors(t, f.Tensors, tensors)
	f.Close()
}

func TestCloseReleases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.gguf")
	writeFile(t, path, writeGGUF(t, testMeta(), testTensors(ggufDTypes[:4])))
	for _, opts := range []Options{{}, {NoMmap: true}} {
		f, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if canMmap && !opts.NoMmap && len(f.closers) != 1 {
			t.Errorf("%d mappings held, want 1", len(f.closers))
		}
		if mapped, known := isMapped(t, path); known && mapped != (canMmap && !opts.NoMmap) {
			t.Errorf("NoMmap %v: file mapped = %v", opts.NoMmap, mapped)
		}
		meta := f.Meta
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if mapped, _ := isMapped(t, path); len(f.closers) != 0 || mapped {
			t.Error("mappings still held after Close")
		}
		for _, x := range f.Tensors {
			if x.Data != nil {
				t.Errorf("%s: Data still set after Close", x.Name)
			}
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if s, _ := meta.String("general.architecture"); s != "test" {
			t.Error("metadata not usable after Close")
		}
	}
}

// isMapped reports whether path is memory-mapped into this process; known
// is false where /proc/self/maps cannot tell.
func isMapped(t *testing.T, path string) (mapped, known bool) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return false, false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(maps), abs), true
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.bin")
	writeFile(t, junk, []byte("hello, world"))
	_, err := Open(junk, Options{})
	if err == nil || !strings.Contains(err.Error(), junk) || !strings.Contains(err.Error(), "not a GGUF or safetensors") {
		t.Errorf("junk: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.gguf"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	// A truncated GGUF on disk fails to open and names the path.
	bad := filepath.Join(dir, "bad.gguf")
	data := writeGGUF(t, testMeta(), testTensors(ggufDTypes[:2]))
	writeFile(t, bad, data[:len(data)-40])
	for _, opts := range []Options{{}, {NoMmap: true}} {
		if _, err := Open(bad, opts); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "past end of file") {
			t.Errorf("truncated: %v", err)
		}
	}
	empty := filepath.Join(dir, "empty.gguf")
	writeFile(t, empty, nil)
	if _, err := Open(empty, Options{}); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty: %v", err)
	}
	emptyST := filepath.Join(dir, "empty.safetensors")
	writeFile(t, emptyST, nil)
	if _, err := Open(emptyST, Options{}); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), emptyST) {
		t.Errorf("empty safetensors: %v", err)
	}
}

// A []string written to GGUF reads back as the equal StringList.
func TestGGUFStringSliceReadsAsStringList(t *testing.T) {
	want := []string{"", "a", "", "héllo", "▁the", ""}
	data := writeGGUF(t, []KV{{"general.architecture", "test"}, {"s", want}, {"n", []any{want, []string{}}}}, nil)
	f, err := ReadGGUF("s.gguf", data)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := f.Meta["s"].(StringList)
	if !ok || l.Len() != len(want) {
		t.Fatalf("s = %#v, want a StringList of %d", f.Meta["s"], len(want))
	}
	for i, w := range want {
		if l.At(i) != w {
			t.Errorf("At(%d) = %q, want %q", i, l.At(i), w)
		}
	}
	if got, _ := f.Meta.Strings("s"); !slices.Equal(got, want) {
		t.Errorf("Strings = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(f.Meta["n"], []any{NewStringList(want), NewStringList(nil)}) {
		t.Errorf("nested = %#v", f.Meta["n"])
	}
}
