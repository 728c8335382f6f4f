package weights

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

// checkReadError requires err to be an *Error naming file, of a known kind.
func checkReadError(t *testing.T, err error, file string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.File != file {
		t.Fatalf("error %v (%T) is not an *Error naming %s", err, err, file)
	}
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
		t.Fatalf("error %v is neither ErrMalformed nor ErrUnsupported", err)
	}
}

// checkTensorData requires every tensor's data to be its exact bytes at its
// offset in data.
func checkTensorData(t *testing.T, f *File, data []byte) {
	t.Helper()
	for _, x := range f.Tensors {
		size, err := x.DType.Bytes(int64(x.Elements()))
		if err != nil || int64(len(x.Data)) != size {
			t.Fatalf("%s: %d bytes, want %d (%v)", x, len(x.Data), size, err)
		}
		if x.Offset < 0 || x.Offset+size > int64(len(data)) || !bytes.Equal(x.Data, data[x.Offset:x.Offset+size]) {
			t.Fatalf("%s: data does not match offset %d", x, x.Offset)
		}
	}
}

func FuzzReadGGUF(f *testing.F) {
	f.Add(writeGGUF(f, testMeta(), testTensors(ggufDTypes[:3])))
	f.Add(writeGGUF(f, []KV{{alignmentKey, uint32(8)}}, testTensors([]DType{Q4_0, I8})))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ReadGGUF("fuzz.gguf", data)
		if err != nil {
			checkReadError(t, err, "fuzz.gguf")
			return
		}
		checkTensorData(t, g, data)
		// What was read can be written, and reads back the same.
		var first, second bytes.Buffer
		if err := WriteGGUF(&first, g.KVs(), g.Tensors); err != nil {
			t.Fatalf("rewriting: %v", err)
		}
		h, err := ReadGGUF("rewritten.gguf", first.Bytes())
		if err != nil {
			t.Fatalf("reading rewritten file: %v", err)
		}
		if err := WriteGGUF(&second, h.KVs(), h.Tensors); err != nil {
			t.Fatalf("rewriting again: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatal("write/read/write is not stable")
		}
	})
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(writeST(f, testTensors(stDTypes[:4]), map[string]string{"format": "pt"}))
	f.Add(st(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}}`, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ReadSafetensors("fuzz.safetensors", data)
		if err != nil {
			checkReadError(t, err, "fuzz.safetensors")
			return
		}
		checkTensorData(t, g, data)
		meta := map[string]string{}
		for k, v := range g.Meta {
			meta[k] = v.(string)
		}
		var first, second bytes.Buffer
		if err := WriteSafetensors(&first, g.Tensors, meta); err != nil {
			t.Fatalf("rewriting: %v", err)
		}
		h, err := ReadSafetensors("rewritten.safetensors", first.Bytes())
		if err != nil {
			t.Fatalf("reading rewritten file: %v", err)
		}
		if err := WriteSafetensors(&second, h.Tensors, meta); err != nil {
			t.Fatalf("rewriting again: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatal("write/read/write is not stable")
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x.safetensors"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, shards, err := parseIndex("index.json", data)
		if err != nil {
			checkReadError(t, err, "index.json")
			return
		}
		for _, s := range shards {
			if !filepath.IsLocal(s) {
				t.Fatalf("shard %q escapes", s)
			}
		}
		for name, s := range idx.WeightMap {
			if !slices.Contains(shards, s) {
				t.Fatalf("tensor %q: shard %q not listed", name, s)
			}
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"architectures":["LlamaForCausalLM"],"hidden_size":64,"rope_scaling":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseConfig("config.json", data)
		if err != nil {
			checkReadError(t, err, "config.json")
			return
		}
		if m == nil {
			t.Fatal("nil config without error")
		}
		m.Int("hidden_size")
		m.Strings("architectures")
		m.Floats("x")
		m.Ints("x")
	})
}
