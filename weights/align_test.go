package weights

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"unsafe"
)

// TestNoMmapAlignsTensors writes GGUF files whose data sections start at
// different offsets modulo 64 (the metadata string's length moves them):
// read into memory, every tensor must start on a cache line (the tensors'
// sizes are multiples of 64), with the same bytes, offsets and metadata as
// the memory-mapped file.
func TestNoMmapAlignsTensors(t *testing.T) {
	dir := t.TempDir()
	mk := func(n int, fill byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = fill + byte(i*7)
		}
		return b
	}
	for pad := range 8 { // 8 lengths of the string: the header grows by 8 bytes each
		path := filepath.Join(dir, fmt.Sprintf("a%d.gguf", pad))
		tensors := []*Tensor{
			{Name: "a", DType: F32, Shape: []int{16, 4}, Data: mk(256, 1)},
			{Name: "b", DType: F32, Shape: []int{32}, Data: mk(128, 2)},
		}
		writeFile(t, path, writeGGUF(t, []KV{{Key: "general.name", Value: string(make([]byte, 8*pad))}}, tensors))
		mapped, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		read, err := Open(path, Options{NoMmap: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, rt := range read.Tensors {
			mt := mapped.Tensors[i]
			if a := uintptr(unsafe.Pointer(unsafe.SliceData(rt.Data))) % cacheLine; a != 0 {
				t.Errorf("pad %d: tensor %s read into memory at %d mod %d (file offset %d)", pad, rt.Name, a, cacheLine, rt.Offset)
			}
			if !bytes.Equal(rt.Data, mt.Data) || !bytes.Equal(rt.Data, tensors[i].Data) || rt.Offset != mt.Offset || rt.Name != mt.Name {
				t.Errorf("pad %d: tensor %s differs between mmap and NoMmap", pad, rt.Name)
			}
		}
		if name, _ := read.Meta.String("general.name"); len(name) != 8*pad {
			t.Errorf("pad %d: general.name of %d bytes", pad, len(name))
		}
		mapped.Close()
		read.Close()
	}
}
