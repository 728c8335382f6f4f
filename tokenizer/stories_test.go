package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/goformer/goformer/weights"
)

const sharedDir = "../../shared"

// needShared skips the test when a shared test file is missing.
func needShared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not found: %v", p, err)
	}
	return p
}

func loadGGUFMeta(t testing.TB, path string) weights.Metadata {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.ReadGGUF(path, b)
	if err != nil {
		t.Fatal(err)
	}
	return f.Meta
}

type storiesGen struct {
	Prompt       string `json:"prompt"`
	PromptIDs    []int  `json:"prompt_ids"`
	GeneratedIDs []int  `json:"generated_ids"`
	Text         string `json:"text"`
	FullText     string `json:"full_text"`
}

func storiesCases(t *testing.T) map[string]storiesGen {
	dir := needShared(t, "models/stories260K/generations")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skipf("no generations in %s", dir)
	}
	out := map[string]storiesGen{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var g storiesGen
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = g
	}
	return out
}

func checkStories(t *testing.T, tok *Tokenizer) {
	for name, g := range storiesCases(t) {
		if ids := tok.Encode(g.Prompt, true); !reflect.DeepEqual(ids, g.PromptIDs) {
			t.Errorf("%s: Encode(%q) = %v, want %v", name, g.Prompt, ids, g.PromptIDs)
		}
		d := tok.NewStreamDecoder()
		var s string
		for _, id := range g.GeneratedIDs {
			s += d.Add(id)
		}
		s += d.Flush()
		if s != g.Text {
			t.Errorf("%s: stream decode = %q, want %q", name, s, g.Text)
		}
		full := append(append([]int{}, g.PromptIDs[1:]...), g.GeneratedIDs...)
		if s := tok.Decode(full); s != g.FullText {
			t.Errorf("%s: Decode = %q, want %q", name, s, g.FullText)
		}
	}
}

func TestStories260KGGUF(t *testing.T) {
	meta := loadGGUFMeta(t, needShared(t, "models/stories260K/stories260K.gguf"))
	tok, err := FromGGUF(meta)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 512 || tok.BOS() != 1 || tok.EOS() != 2 || !tok.IsEOG(2) {
		t.Fatalf("vocab %d bos %d eos %d", tok.VocabSize(), tok.BOS(), tok.EOS())
	}
	checkStories(t, tok)
}

func TestStories260KHFJSON(t *testing.T) {
	meta := loadGGUFMeta(t, needShared(t, "models/stories260K/stories260K.gguf"))
	js, err := SPMToHFJSON(meta)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(p, js, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := FromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 512 || tok.BOS() != 1 || tok.EOS() != 2 || !tok.IsEOG(2) {
		t.Fatalf("vocab %d bos %d eos %d", tok.VocabSize(), tok.BOS(), tok.EOS())
	}
	checkStories(t, tok)
}
