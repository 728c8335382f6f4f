package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// File is an opened checkpoint: named tensors plus metadata.
//
// Tensor data slices the file's memory mapping (or, with Options.NoMmap or
// ReadGGUF/ReadSafetensors, the bytes read), so it is valid only until Close
// and must not be written to. Meta and Config are ordinary Go values that
// stay valid after Close.
type File struct {
	Path      string   // the file or directory opened
	Format    Format   // FormatGGUF or FormatSafetensors
	Version   int      // GGUF version (2 or 3); 0 for safetensors
	Alignment int      // GGUF data alignment (general.alignment, default 32); 0 for safetensors
	Meta      Metadata // GGUF key/values; for safetensors the __metadata__ strings
	Config    Metadata // a Hugging Face directory's config.json (decoded JSON object), nil otherwise
	Tensors   []*Tensor

	keys    []string           // Meta keys in file order
	index   map[string]*Tensor // tensors by name
	mu      sync.Mutex
	closers []func() error // mappings to release
	closed  bool
}

// Tensor returns the tensor with the given name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	if f.index == nil {
		f.buildIndex()
	}
	t, ok := f.index[name]
	return t, ok
}

func (f *File) buildIndex() {
	f.index = make(map[string]*Tensor, len(f.Tensors))
	for _, t := range f.Tensors {
		f.index[t.Name] = t
	}
}

// KVs returns the metadata as an ordered list, ready to pass to WriteGGUF:
// keys read from a GGUF file in file order, then any other keys of Meta
// (all of them, for safetensors) sorted.
func (f *File) KVs() []KV {
	kvs := make([]KV, 0, len(f.Meta))
	listed := make(map[string]bool, len(f.keys))
	for _, k := range f.keys {
		if v, ok := f.Meta[k]; ok && !listed[k] {
			kvs = append(kvs, KV{Key: k, Value: v})
			listed[k] = true
		}
	}
	for _, k := range sortedKeys(f.Meta) {
		if !listed[k] {
			kvs = append(kvs, KV{Key: k, Value: f.Meta[k]})
		}
	}
	return kvs
}

// Close releases the file's memory mappings and clears every tensor's Data,
// which is invalid afterwards. It is safe to call more than once.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	for _, t := range f.Tensors {
		t.Data = nil
	}
	var first error
	for _, c := range f.closers {
		if err := c(); err != nil && first == nil {
			first = fmt.Errorf("weights: closing %s: %w", f.Path, err)
		}
	}
	f.closers = nil
	return first
}

// Open opens a checkpoint:
//
//   - a GGUF file (recognized by its magic number),
//   - a safetensors file (by its name or header),
//   - a Hugging Face model directory holding config.json and either
//     model.safetensors or a sharded model.safetensors.index.json.
//
// Tensor data is memory-mapped unless opts.NoMmap is set (or the platform
// has no mmap), in which case each file is read into memory.
func Open(path string, opts Options) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if st.IsDir() {
		return openDir(path, opts)
	}
	head, err := readHead(path, 16)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, []byte(ggufMagic)):
		return openGGUF(path, opts)
	case strings.HasSuffix(path, ".safetensors") || looksLikeSafetensors(head):
		return openSafetensors(path, opts)
	}
	return nil, newError("weights", path, -1, ErrUnsupported, "not a GGUF or safetensors file (starts with %q)", head)
}

// readHead returns up to n bytes from the start of the file.
func readHead(path string, n int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(fh, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return buf[:k], nil
}

// looksLikeSafetensors reports whether head starts like a safetensors file:
// a plausible header length followed by a JSON object.
func looksLikeSafetensors(head []byte) bool {
	if len(head) < 9 {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	return n > 0 && n < 1<<40 && head[8] == '{'
}

func openGGUF(path string, opts Options) (*File, error) {
	return openWith(path, opts, ReadGGUF)
}

func openSafetensors(path string, opts Options) (*File, error) {
	return openWith(path, opts, ReadSafetensors)
}

// openWith loads a file and parses it with read. A file read into memory is
// then moved, where that helps, so that its tensors start on cache lines
// (alignShift).
func openWith(path string, opts Options, read func(string, []byte) (*File, error)) (*File, error) {
	data, spare, release, err := loadFile(path, opts)
	if err != nil {
		return nil, err
	}
	f, err := read(path, data)
	if err != nil {
		release()
		return nil, err
	}
	if spare > 0 {
		if s := alignShift(f.Tensors); s > 0 {
			moved := data[:len(data)+s]
			copy(moved[s:], data)
			if f, err = read(path, moved[s:]); err != nil {
				release()
				return nil, err
			}
		}
	}
	f.closers = append(f.closers, release)
	return f, nil
}

// cacheLine is the alignment a file read into memory gets for its tensors.
const cacheLine = 64

// alignShift returns by how many bytes (0 ≤ shift < cacheLine) to move the
// tensor data for the most tensor bytes to start on a cache line. GGUF
// aligns tensors to 32 bytes in the file, and a file's data section often
// starts 32 bytes past a 64-byte boundary: read as is, every 64-byte vector
// load of a row then spans two cache lines, which cost llama3.2-1b F32
// decoding ~20% (matrix-vector products streaming from memory, 2 threads).
// Memory-mapped files keep their file offsets (mmap works in pages).
func alignShift(ts []*Tensor) int {
	var weight [cacheLine]int64
	for _, t := range ts {
		if len(t.Data) > 0 {
			mis := int(uintptr(unsafe.Pointer(unsafe.SliceData(t.Data))) % cacheLine)
			weight[(cacheLine-mis)%cacheLine] += int64(len(t.Data))
		}
	}
	best := 0
	for s, b := range weight {
		if b > weight[best] {
			best = s
		}
	}
	return best
}

// loadFile maps (or reads) a whole file and returns its bytes, how many
// spare bytes follow them in the same allocation (cacheLine when read into
// memory, for alignShift; 0 when mapped), and the function that releases
// them.
func loadFile(path string, opts Options) (data []byte, spare int, release func() error, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("weights: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("weights: %w", err)
	}
	size := st.Size()
	if size != int64(int(size)) || size < 0 || size > math.MaxInt-cacheLine {
		return nil, 0, nil, newError("weights", path, -1, ErrUnsupported, "file of %d bytes is too large to address", size)
	}
	release = func() error { return nil }
	if size == 0 {
		return nil, 0, release, nil
	}
	if opts.NoMmap || !canMmap {
		buf, rel, err := readAlloc(int(size) + cacheLine)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("weights: allocating %d bytes for %s: %w", size, path, err)
		}
		data = buf[:size]
		if _, err := io.ReadFull(fh, data); err != nil {
			rel()
			return nil, 0, nil, fmt.Errorf("weights: reading %s: %w", path, err)
		}
		return data, cacheLine, rel, nil
	}
	data, release, err = mmapFile(fh, int(size))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("weights: mapping %s: %w", path, err)
	}
	return data, 0, release, nil
}

// HF directory file names.
const (
	configName     = "config.json"
	singleName     = "model.safetensors"
	shardIndexName = "model.safetensors.index.json"
)

func openDir(dir string, opts Options) (*File, error) {
	cfgPath := filepath.Join(dir, configName)
	if _, err := os.Stat(cfgPath); err != nil {
		return nil, newError("weights", dir, -1, ErrMalformed, "directory has no %s", configName)
	}
	cfg, err := ReadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	var f *File
	single, index := filepath.Join(dir, singleName), filepath.Join(dir, shardIndexName)
	if _, err := os.Stat(single); err == nil {
		f, err = openSafetensors(single, opts)
		if err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(index); err == nil {
		f, err = openSharded(dir, index, opts)
		if err != nil {
			return nil, err
		}
	} else {
		return nil, newError("weights", dir, -1, ErrMalformed, "directory has neither %s nor %s", singleName, shardIndexName)
	}
	f.Path = dir
	f.Config = cfg
	return f, nil
}
