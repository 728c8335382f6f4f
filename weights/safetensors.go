package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// safetensorsDTypes are the dtypes a safetensors header may name.
var safetensorsDTypes = map[string]DType{
	"F64": F64, "F32": F32, "F16": F16, "BF16": BF16,
	"I64": I64, "I32": I32, "I16": I16, "I8": I8, "U8": U8, "BOOL": Bool,
	"F8_E4M3": F8E4M3, "F8_E5M2": F8E5M2,
}

const metadataKey = "__metadata__"

// stEntry is one tensor's entry in a safetensors header.
type stEntry struct {
	DType       *string  `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// ReadSafetensors parses a safetensors file held in data. name identifies
// it in error messages. Tensor data aliases data; Meta holds the header's
// __metadata__ strings. Tensors are listed in the order of their data.
func ReadSafetensors(name string, data []byte) (*File, error) {
	fail := func(off int64, kind error, msg string, args ...any) *Error {
		return newError("safetensors", name, off, kind, msg, args...)
	}
	if len(data) < 8 {
		return nil, fail(0, ErrTruncated, "file of %d bytes is too short for the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		return nil, fail(0, ErrTruncated, "header length %d exceeds the %d bytes after it", n, len(data)-8)
	}
	header := data[8 : 8+n]
	base := 8 + int64(n) // start of the data section
	body := data[base:]

	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	jsonErr := func(err error) error {
		e := fail(8+dec.InputOffset(), ErrMalformed, "header JSON")
		e.Err = err
		return e
	}
	if tok, err := dec.Token(); err != nil {
		return nil, jsonErr(err)
	} else if tok != json.Delim('{') {
		return nil, fail(8, ErrMalformed, "header is not a JSON object")
	}
	f := &File{Path: name, Format: FormatSafetensors, Meta: Metadata{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		key := tok.(string) // object keys are always strings
		at := 8 + dec.InputOffset()
		if seen[key] {
			return nil, fail(at, ErrMalformed, "duplicate header key %s", quote(key))
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonErr(err)
		}
		if key == metadataKey {
			var m map[string]string
			if err := json.Unmarshal(raw, &m); err != nil {
				e := fail(at, ErrMalformed, "%s must map strings to strings", metadataKey)
				e.Err = err
				return nil, e
			}
			for k, v := range m {
				f.Meta[k] = v
			}
			continue
		}
		t, err := stTensor(key, raw, body)
		if err != nil {
			kind := ErrMalformed
			if errors.Is(err, ErrUnsupported) {
				kind = ErrUnsupported
			}
			e := fail(at, kind, "tensor %s", quote(key))
			e.Err = err
			return nil, e
		}
		t.Name, t.File, t.Offset = key, name, base+t.Offset
		f.Tensors = append(f.Tensors, t)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(8+dec.InputOffset(), ErrMalformed, "data after the header JSON object")
	}
	sort.SliceStable(f.Tensors, func(i, j int) bool { return f.Tensors[i].Offset < f.Tensors[j].Offset })
	if err := checkOverlaps("safetensors", name, f.Tensors); err != nil {
		return nil, err
	}
	f.buildIndex()
	return f, nil
}

// stTensor decodes and checks one header entry.
func stTensor(key string, raw json.RawMessage, body []byte) (*Tensor, error) {
	var e stEntry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("bad entry: %w", err)
	}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return nil, errors.New(`entry needs "dtype", "shape" and "data_offsets"`)
	}
	dt, ok := safetensorsDTypes[*e.DType]
	if !ok {
		return nil, &unsupportedError{fmt.Sprintf("unsupported dtype %q", *e.DType)}
	}
	if len(e.DataOffsets) != 2 {
		return nil, fmt.Errorf("data_offsets %v: want [begin, end]", e.DataOffsets)
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin > end {
		return nil, fmt.Errorf("data_offsets [%d, %d): begin after end", begin, end)
	}
	if end > uint64(len(body)) {
		return nil, fmt.Errorf("data [%d, %d) past the end of the data section (%d bytes)", begin, end, len(body))
	}
	shape := make([]int, len(e.Shape))
	elems := uint64(1)
	for i, d := range e.Shape {
		if d < 0 || uint64(d) > uint64(math.MaxInt) {
			return nil, fmt.Errorf("shape %v: dimension %d", e.Shape, d)
		}
		shape[i] = int(d)
		hi, lo := bits.Mul64(elems, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return nil, fmt.Errorf("shape %v overflows the element count", e.Shape)
		}
		elems = lo
	}
	size, err := dt.Bytes(int64(elems))
	if err != nil {
		return nil, err
	}
	if uint64(size) != end-begin {
		return nil, fmt.Errorf("data [%d, %d) is %d bytes, want %d for %s%v", begin, end, end-begin, size, dt, e.Shape)
	}
	return &Tensor{DType: dt, Shape: shape, Data: body[begin:end:end], Offset: int64(begin)}, nil
}

// ReadConfig reads a Hugging Face config.json (or the config.json of the
// directory path names) as a decoded JSON object.
func ReadConfig(path string) (Metadata, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, configName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(path, b)
}

func parseConfig(path string, b []byte) (Metadata, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e := newError("config", path, -1, ErrMalformed, "not a JSON object")
		var se *json.SyntaxError
		if errors.As(err, &se) {
			e.Offset = se.Offset
		}
		e.Err = err
		return nil, e
	}
	if m == nil {
		return nil, newError("config", path, -1, ErrMalformed, "not a JSON object (null)")
	}
	return Metadata(m), nil
}

// stIndex is model.safetensors.index.json.
type stIndex struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// parseIndex decodes and checks a shard index, returning the shard names
// in sorted order.
func parseIndex(path string, b []byte) (*stIndex, []string, error) {
	fail := func(kind error, msg string, args ...any) *Error {
		return newError("safetensors index", path, -1, kind, msg, args...)
	}
	var idx stIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		e := fail(ErrMalformed, "bad index JSON")
		e.Err = err
		return nil, nil, e
	}
	if len(idx.WeightMap) == 0 {
		return nil, nil, fail(ErrMalformed, "weight_map is missing or empty")
	}
	var shards []string
	for _, tensor := range sortedKeysOf(idx.WeightMap) {
		shard := idx.WeightMap[tensor]
		if !filepath.IsLocal(shard) {
			return nil, nil, fail(ErrMalformed, "tensor %s: shard name %s escapes the directory", quote(tensor), quote(shard))
		}
		if !slices.Contains(shards, shard) {
			shards = append(shards, shard)
		}
	}
	slices.Sort(shards)
	return &idx, shards, nil
}

func sortedKeysOf(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// openSharded opens every shard an index names, once each.
func openSharded(dir, indexPath string, opts Options) (*File, error) {
	b, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	idx, shards, err := parseIndex(indexPath, b)
	if err != nil {
		return nil, err
	}
	f := &File{Path: dir, Format: FormatSafetensors, Meta: Metadata{}}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	owner := map[string]string{} // tensor name -> shard holding it
	for _, shard := range shards {
		path := filepath.Join(dir, shard)
		sf, err := openSafetensors(path, opts)
		if err != nil {
			return nil, err
		}
		f.closers = append(f.closers, sf.closers...)
		for _, k := range sortedKeys(sf.Meta) {
			if _, dup := f.Meta[k]; !dup {
				f.Meta[k] = sf.Meta[k]
			}
		}
		for _, t := range sf.Tensors {
			if prev, dup := owner[t.Name]; dup {
				return nil, newError("safetensors index", indexPath, -1, ErrMalformed, "tensor %s is in both %s and %s", quote(t.Name), prev, shard)
			}
			owner[t.Name] = shard
			f.Tensors = append(f.Tensors, t)
		}
	}
	for _, name := range sortedKeysOf(idx.WeightMap) {
		if want := idx.WeightMap[name]; owner[name] != want {
			return nil, newError("safetensors index", indexPath, -1, ErrMalformed, "tensor %s is not in its shard %s", quote(name), want)
		}
	}
	f.buildIndex()
	ok = true
	return f, nil
}

// unsupportedError is a plain message that counts as ErrUnsupported.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string        { return e.msg }
func (e *unsupportedError) Is(target error) bool { return target == ErrUnsupported }
