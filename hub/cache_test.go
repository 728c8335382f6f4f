package hub_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goformer/goformer/hub"
)

// pythonCache lays out a cache as huggingface_hub writes it (the tree in
// its hf_hub_download documentation): two snapshots, refs/main, relative
// symlinks into blobs named by git sha1 and sha256, a .no_exist folder and a
// lock folder.
func pythonCache(t *testing.T) (cache string, snap1, snap2 string) {
	t.Helper()
	cache = t.TempDir()
	repo := filepath.Join(cache, "models--julien-c--EsperBERTo-small")
	const (
		c1      = "2439f60ef33a0d46d85da5001d52aeda5b00ce9f"
		c2      = "bbc77c8132af1cc5cf678da3f1ddf2de43606d48"
		readme1 = "7cb18dc9bafbfcf74629a4b760af1b160957a83e"
		readme2 = "d7edf6bd2a681fb0175f7735299831ee1b22b812"
		weights = "403450e234d65943a7dcf7e05a771ce3c92faa84dd07db4ac20f592037a1e4bd"
	)
	for _, d := range []string{"blobs", "refs", "snapshots/" + c1, "snapshots/" + c2, ".no_exist/" + c2} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(cache, ".locks", "models--julien-c--EsperBERTo-small"), 0o755)
	os.WriteFile(filepath.Join(repo, "blobs", readme1), []byte("readme v2"), 0o644)
	os.WriteFile(filepath.Join(repo, "blobs", readme2), []byte("readme v1"), 0o644)
	os.WriteFile(filepath.Join(repo, "blobs", weights), make([]byte, 1000), 0o644)
	os.WriteFile(filepath.Join(repo, "blobs", weights[:10]+".incomplete"), make([]byte, 7), 0o644)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(c2), 0o644)
	os.WriteFile(filepath.Join(repo, ".no_exist", c2, "tokenizer.json"), nil, 0o644)
	for _, l := range [][3]string{{c1, "README.md", readme2}, {c1, "pytorch_model.bin", weights}, {c2, "README.md", readme1}, {c2, "pytorch_model.bin", weights}} {
		if err := os.Symlink("../../blobs/"+l[2], filepath.Join(repo, "snapshots", l[0], l[1])); err != nil {
			t.Fatal(err)
		}
	}
	return cache, filepath.Join(repo, "snapshots", c1), filepath.Join(repo, "snapshots", c2)
}

func TestResolvePythonCache(t *testing.T) {
	cache, snap1, snap2 := pythonCache(t)
	for spec, want := range map[string]string{
		"julien-c/EsperBERTo-small":                                   snap2,
		"julien-c/EsperBERTo-small:main":                              snap2,
		"julien-c/EsperBERTo-small:" + filepath.Base(snap1):           snap1,
		"julien-c/EsperBERTo-small/README.md":                         filepath.Join(snap2, "README.md"),
		"julien-c/EsperBERTo-small/README.md:" + filepath.Base(snap1): filepath.Join(snap1, "README.md"),
	} {
		got, err := hub.Resolve(cache, spec)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %s", spec, got, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(snap1, "README.md")); err != nil || string(b) != "readme v1" {
		t.Errorf("old snapshot reads %q, %v", b, err)
	}
	ms, err := hub.List(cache)
	if err != nil || len(ms) != 1 {
		t.Fatalf("List = %v, %v", ms, err)
	}
	m := ms[0]
	if m.Repo != "julien-c/EsperBERTo-small" || m.Size != 1018 || m.Format != "other" || m.Refs["main"] != filepath.Base(snap2) || len(m.Snapshots) != 2 {
		t.Errorf("List = %+v", m)
	}
}

func TestResolveNotCached(t *testing.T) {
	cache, _, _ := pythonCache(t)
	for spec, msg := range map[string]string{
		"org/none":                         "run: goformer pull org/none",
		"julien-c/EsperBERTo-small:v2":     `revision "v2" is not in the cache`,
		"julien-c/EsperBERTo-small/x.gguf": "x.gguf is not in the cached snapshot",
	} {
		_, err := hub.Resolve(cache, spec)
		if !errors.Is(err, hub.ErrNotCached) || !strings.Contains(err.Error(), msg) {
			t.Errorf("Resolve(%q) = %v, want ErrNotCached saying %q", spec, err, msg)
		}
	}
	if _, err := hub.Resolve(cache, "models/m.gguf"); err == nil || !strings.Contains(err.Error(), "models/m.gguf: no such file or directory, and model") {
		t.Errorf("a missing relative file: %v", err)
	}
	// Paths are returned as they are, existing or not.
	local := filepath.Join(t.TempDir(), "m.gguf")
	for _, spec := range []string{local, "./missing.gguf", "", "~/x.gguf"} {
		if got, err := hub.Resolve(cache, spec); err != nil || got != spec {
			t.Errorf("Resolve(%q) = %q, %v; want it unchanged", spec, got, err)
		}
	}
	if _, err := hub.Resolve(cache, "a/b/../../../etc/passwd"); !errors.Is(err, hub.ErrUnsafePath) {
		t.Errorf("Resolve with ..: %v", err)
	}
}

func TestResolveGGUFChoice(t *testing.T) {
	cache := t.TempDir()
	commit := strings.Repeat("ab", 20)
	snap := filepath.Join(cache, "models--org--q", "snapshots", commit)
	os.MkdirAll(snap, 0o755)
	os.MkdirAll(filepath.Join(cache, "models--org--q", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--org--q", "refs", "main"), []byte(commit+"\n"), 0o644)
	os.WriteFile(filepath.Join(snap, "q-Q4_0.gguf"), []byte("a"), 0o644)
	if got, err := hub.Resolve(cache, "org/q"); err != nil || got != filepath.Join(snap, "q-Q4_0.gguf") {
		t.Errorf("single GGUF: %q, %v", got, err)
	}
	os.WriteFile(filepath.Join(snap, "q-Q8_0.gguf"), []byte("b"), 0o644)
	_, err := hub.Resolve(cache, "org/q")
	if err == nil || !strings.Contains(err.Error(), "org/q/q-Q4_0.gguf") || !strings.Contains(err.Error(), "org/q/q-Q8_0.gguf") {
		t.Errorf("two GGUFs: %v, want a list to choose from", err)
	}
	if got, err := hub.Resolve(cache, "org/q/q-Q8_0.gguf"); err != nil || got != filepath.Join(snap, "q-Q8_0.gguf") {
		t.Errorf("named GGUF: %q, %v", got, err)
	}
	os.WriteFile(filepath.Join(snap, "model.safetensors"), []byte("c"), 0o644)
	if got, err := hub.Resolve(cache, "org/q"); err != nil || got != snap {
		t.Errorf("with safetensors: %q, %v, want the snapshot directory", got, err)
	}
	ms, _ := hub.List(cache)
	if len(ms) != 1 || ms[0].Format != "safetensors+gguf" || len(ms[0].GGUF) != 2 {
		t.Errorf("List = %+v", ms)
	}
}

func TestRemove(t *testing.T) {
	cache, _, _ := pythonCache(t)
	outside := filepath.Join(filepath.Dir(cache), "keep")
	os.WriteFile(outside, []byte("x"), 0o644)
	for _, bad := range []string{"../keep", "..", "a/b/c", "julien-c--x"} {
		if err := hub.Remove(cache, bad); err == nil {
			t.Errorf("Remove(%q) succeeded", bad)
		}
	}
	if err := hub.Remove(cache, "org/none"); !errors.Is(err, hub.ErrNotCached) {
		t.Errorf("Remove of a missing model: %v", err)
	}
	if err := hub.Remove(cache, "julien-c/EsperBERTo-small"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := hub.List(cache); len(ms) != 0 {
		t.Errorf("after Remove: %v", ms)
	}
	if _, err := os.Stat(filepath.Join(cache, ".locks", "models--julien-c--EsperBERTo-small")); err == nil {
		t.Error("lock folder left")
	}
	if _, err := os.Stat(outside); err != nil {
		t.Error("Remove touched a file outside the cache")
	}
}

func TestEnvFrom(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "hf"), 0o755)
	os.WriteFile(filepath.Join(home, "hf", "token"), []byte("hf_fromfile\n"), 0o600)
	for _, tc := range []struct {
		env  map[string]string
		want hub.Env
	}{
		{map[string]string{"HOME": home}, hub.Env{CacheDir: filepath.Join(home, ".cache/huggingface/hub"), Endpoint: hub.DefaultEndpoint}},
		{map[string]string{"HOME": home, "XDG_CACHE_HOME": "/x"}, hub.Env{CacheDir: "/x/huggingface/hub", Endpoint: hub.DefaultEndpoint}},
		{map[string]string{"HOME": home, "HF_HOME": "~/hf", "HF_ENDPOINT": "http://mirror/", "HF_HUB_OFFLINE": "1"},
			hub.Env{CacheDir: filepath.Join(home, "hf/hub"), Endpoint: "http://mirror", Token: "hf_fromfile", Offline: true}},
		{map[string]string{"HOME": home, "HF_HOME": filepath.Join(home, "hf"), "HF_HUB_CACHE": "/c", "HF_TOKEN": "hf_env"},
			hub.Env{CacheDir: "/c", Endpoint: hub.DefaultEndpoint, Token: "hf_env"}},
	} {
		got := hub.EnvFrom(func(k string) string { return tc.env[k] })
		if got != tc.want {
			t.Errorf("EnvFrom(%v) = %+v, want %+v", tc.env, got, tc.want)
		}
	}
}

func TestParseSpec(t *testing.T) {
	for in, want := range map[string]hub.Spec{
		"org/name":                  {Repo: "org/name"},
		"org/name:v1.0":             {Repo: "org/name", Revision: "v1.0"},
		"org/name:refs/pr/1":        {Repo: "org/name", Revision: "refs/pr/1"},
		"org/name/sub/m.gguf":       {Repo: "org/name", File: "sub/m.gguf"},
		"org/name/m-Q4_K_M.gguf:v2": {Repo: "org/name", File: "m-Q4_K_M.gguf", Revision: "v2"},
		"gpt2":                      {Repo: "gpt2"},
	} {
		got, err := hub.ParseSpec(in)
		if err != nil || got != want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), in)
		}
	}
	for _, bad := range []string{"", "org/", "/name", "org//x", "org/na me", "org/name:", "org/name:../x", "a--b/c", "org/name/../x", "org/name/x\\y"} {
		if _, err := hub.ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

func TestSelectFiles(t *testing.T) {
	sib := func(names ...string) []hub.Sibling {
		var s []hub.Sibling
		for _, n := range names {
			s = append(s, hub.Sibling{Name: n})
		}
		return s
	}
	names := func(s []hub.Sibling) string {
		var out []string
		for _, f := range s {
			out = append(out, f.Name)
		}
		return strings.Join(out, " ")
	}
	all := sib("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.model", "merges.txt", "chat_template.jinja",
		"onnx/model.onnx", "onnx/config.json", "m-Q4_0.gguf", "README.md")
	for _, tc := range []struct {
		include []string
		want    string
	}{
		{nil, "config.json model.safetensors tokenizer.model merges.txt chat_template.jinja"},
		{[]string{"*.gguf"}, "m-Q4_0.gguf"},
		{[]string{"onnx/"}, "onnx/model.onnx onnx/config.json"},
		{[]string{"*.json"}, "config.json onnx/config.json"},
		{[]string{"[ct]*"}, "config.json tokenizer.model chat_template.jinja"},
		{[]string{"[!co]*.json"}, ""},
		{[]string{"m-Q?_0.gguf", "README.md"}, "m-Q4_0.gguf README.md"},
	} {
		got, err := hub.SelectFiles(all, tc.include)
		if tc.want == "" {
			if err == nil {
				t.Errorf("SelectFiles(%q) = %s, want an error", tc.include, names(got))
			}
			continue
		}
		if err != nil || names(got) != tc.want {
			t.Errorf("SelectFiles(%q) = %q, %v; want %q", tc.include, names(got), err, tc.want)
		}
	}
	if got, err := hub.SelectFiles(sib("a.gguf", "README.md"), nil); err != nil || names(got) != "a.gguf" {
		t.Errorf("single GGUF: %q %v", names(got), err)
	}
	if _, err := hub.SelectFiles(sib("README.md", "model.onnx"), nil); err == nil || !strings.Contains(err.Error(), "--include") {
		t.Errorf("no weights: %v", err)
	}
}
