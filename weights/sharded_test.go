package weights

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
}

var testConfig = map[string]any{
	"architectures": []string{"LlamaForCausalLM"}, "hidden_size": 64, "rms_norm_eps": 1e-5,
	"rope_scaling": map[string]any{"type": "linear", "factor": 2.0},
}

// shardedDir writes a Hugging Face directory with the tensors split over
// two shards and returns it with the weight map it wrote.
func shardedDir(t *testing.T, tensors []*Tensor) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	writeJSONFile(t, filepath.Join(dir, configName), testConfig)
	half := len(tensors) / 2
	shards := [][]*Tensor{tensors[:half], tensors[half:]}
	names := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
	wm := map[string]string{}
	for i, s := range shards {
		writeFile(t, filepath.Join(dir, names[i]), writeST(t, s, map[string]string{"format": "pt", "shard": names[i]}))
		for _, x := range s {
			wm[x.Name] = names[i]
		}
	}
	writeJSONFile(t, filepath.Join(dir, shardIndexName), map[string]any{"metadata": map[string]any{"total_size": 1234}, "weight_map": wm})
	return dir, wm
}

func TestShardedDirectory(t *testing.T) {
	tensors := testTensors(stDTypes)
	dir, _ := shardedDir(t, tensors)
	for _, opts := range []Options{{}, {NoMmap: true}} {
		f, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if f.Path != dir || f.Format != FormatSafetensors {
			t.Errorf("path %q format %v", f.Path, f.Format)
		}
		checkTensors(t, f.Tensors, tensors)
		for i, x := range f.Tensors {
			shard := "model-00001-of-00002.safetensors"
			if i >= len(tensors)/2 {
				shard = "model-00002-of-00002.safetensors"
			}
			if x.File != filepath.Join(dir, shard) {
				t.Errorf("%s: file %q, want shard %s", x.Name, x.File, shard)
			}
			if y, ok := f.Tensor(x.Name); !ok || y != x {
				t.Errorf("Tensor(%q) = %v, %v", x.Name, y, ok)
			}
		}
		if h, ok := f.Config.Int("hidden_size"); !ok || h != 64 {
			t.Errorf("config hidden_size %v", f.Config["hidden_size"])
		}
		if a, ok := f.Config.Strings("architectures"); !ok || a[0] != "LlamaForCausalLM" {
			t.Errorf("config architectures %v", f.Config["architectures"])
		}
		if s, _ := f.Meta.String("shard"); s != "model-00001-of-00002.safetensors" {
			t.Errorf("meta %v", f.Meta)
		}
		if canMmap && !opts.NoMmap && len(f.closers) != 2 {
			t.Errorf("%d mappings, want one per shard", len(f.closers))
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if len(f.closers) != 0 {
			t.Error("mappings held after Close")
		}
	}
}

func TestSingleFileDirectory(t *testing.T) {
	dir := t.TempDir()
	tensors := testTensors(stDTypes)
	writeJSONFile(t, filepath.Join(dir, configName), testConfig)
	writeFile(t, filepath.Join(dir, singleName), writeST(t, tensors, map[string]string{"format": "pt"}))
	f, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkTensors(t, f.Tensors, tensors)
	if f.Path != dir || f.Config == nil || f.Meta["format"] != "pt" {
		t.Errorf("path %q config %v meta %v", f.Path, f.Config, f.Meta)
	}
	// The safetensors file opened on its own has no Config.
	g, err := Open(filepath.Join(dir, singleName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Config != nil {
		t.Error("Config set for a lone safetensors file")
	}
}

func TestShardedErrors(t *testing.T) {
	tensors := testTensors(stDTypes)
	type edit func(t *testing.T, dir string, wm map[string]string)
	writeIndex := func(t *testing.T, dir string, wm map[string]string) {
		writeJSONFile(t, filepath.Join(dir, shardIndexName), map[string]any{"weight_map": wm})
	}
	cases := []struct {
		name string
		edit edit
		want []string
	}{
		{"escaping shard", func(t *testing.T, dir string, wm map[string]string) {
			wm[tensors[0].Name] = "../model-00001-of-00002.safetensors"
			writeIndex(t, dir, wm)
		}, []string{shardIndexName, "escapes the directory", tensors[0].Name}},
		{"absolute shard", func(t *testing.T, dir string, wm map[string]string) {
			wm[tensors[0].Name] = filepath.Join(dir, "model-00001-of-00002.safetensors")
			writeIndex(t, dir, wm)
		}, []string{shardIndexName, "escapes the directory"}},
		{"tensor not in its shard", func(t *testing.T, dir string, wm map[string]string) {
			wm["missing.weight"] = "model-00002-of-00002.safetensors"
			writeIndex(t, dir, wm)
		}, []string{shardIndexName, `"missing.weight" is not in its shard model-00002-of-00002.safetensors`}},
		{"tensor in another shard", func(t *testing.T, dir string, wm map[string]string) {
			wm[tensors[0].Name] = "model-00002-of-00002.safetensors"
			writeIndex(t, dir, wm)
		}, []string{shardIndexName, tensors[0].Name, "not in its shard"}},
		{"missing shard file", func(t *testing.T, dir string, wm map[string]string) {
			os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		}, []string{"model-00002-of-00002.safetensors", "no such file"}},
		{"bad shard", func(t *testing.T, dir string, wm map[string]string) {
			writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), []byte{1, 2, 3})
		}, []string{"model-00002-of-00002.safetensors", "too short"}},
		{"tensor in two shards", func(t *testing.T, dir string, wm map[string]string) {
			writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), writeST(t, tensors[:1], nil))
			wm = map[string]string{tensors[0].Name: "model-00001-of-00002.safetensors", "x": "model-00002-of-00002.safetensors"}
			writeIndex(t, dir, wm)
		}, []string{shardIndexName, tensors[0].Name, "in both"}},
		{"bad index JSON", func(t *testing.T, dir string, wm map[string]string) {
			writeFile(t, filepath.Join(dir, shardIndexName), []byte(`{"weight_map": [`))
		}, []string{shardIndexName, "bad index JSON"}},
		{"empty weight map", func(t *testing.T, dir string, wm map[string]string) {
			writeIndex(t, dir, map[string]string{})
		}, []string{shardIndexName, "weight_map is missing or empty"}},
		{"no config", func(t *testing.T, dir string, wm map[string]string) {
			os.Remove(filepath.Join(dir, configName))
		}, []string{"no config.json"}},
		{"bad config", func(t *testing.T, dir string, wm map[string]string) {
			writeFile(t, filepath.Join(dir, configName), []byte(`{"a": 1,}`))
		}, []string{configName, "not a JSON object"}},
		{"config not an object", func(t *testing.T, dir string, wm map[string]string) {
			writeFile(t, filepath.Join(dir, configName), []byte(`[1, 2]`))
		}, []string{configName, "not a JSON object"}},
		{"no weights", func(t *testing.T, dir string, wm map[string]string) {
			os.Remove(filepath.Join(dir, shardIndexName))
		}, []string{"neither model.safetensors nor " + shardIndexName}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, wm := shardedDir(t, tensors)
			c.edit(t, dir, wm)
			f, err := Open(dir, Options{})
			if err == nil {
				f.Close()
				t.Fatal("opened without error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the directory", err)
			}
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("error %T is not an *Error", err)
			}
		})
	}
}

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	writeJSONFile(t, filepath.Join(dir, configName), testConfig)
	for _, p := range []string{dir, filepath.Join(dir, configName)} {
		c, err := ReadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		if eps, ok := c.Float("rms_norm_eps"); !ok || eps != 1e-5 {
			t.Errorf("rms_norm_eps %v", c["rms_norm_eps"])
		}
		if rs, ok := c["rope_scaling"].(map[string]any); !ok || rs["factor"] != 2.0 {
			t.Errorf("rope_scaling %v", c["rope_scaling"])
		}
	}
	if _, err := ReadConfig(filepath.Join(dir, "nope.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing config: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, []byte("{\n  \"a\": tru\n}"))
	_, err := ReadConfig(bad)
	var e *Error
	if !errors.As(err, &e) || e.File != bad || e.Offset < 0 || !errors.Is(err, ErrMalformed) {
		t.Errorf("bad config: %v", err)
	}
}
