package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type encodeCase struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

type decodeCase struct {
	IDs         []int  `json:"ids"`
	Text        string `json:"text"`
	SkipSpecial bool   `json:"skip_special_tokens"`
	CleanUp     bool   `json:"clean_up_tokenization_spaces"`
	Origin      string `json:"origin"`
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("shared test data %s not found: %v", path, err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var c T
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	return out
}

// goldenTokenizers maps each shared tokenizer directory to how it loads.
var goldenTokenizers = []string{"llama3", "qwen3", "mistral", "gemma3", "bert-uncased", "gpt2", "llama2-spm"}

func TestGoldenTokenizers(t *testing.T) {
	for _, name := range goldenTokenizers {
		t.Run(name, func(t *testing.T) {
			tok := goldenTok(t, name)
			checkGoldenDir(t, tok, filepath.Join(sharedDir, "tokenizers", name))
		})
	}
}

func checkGoldenDir(t *testing.T, tok *Tokenizer, dir string) {
	enc := readJSONL[encodeCase](t, filepath.Join(dir, "cases.jsonl"))
	bad := 0
	for _, c := range enc {
		got := tok.Encode(c.Text, false)
		if !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 8 {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
		}
	}
	dec := readJSONL[decodeCase](t, filepath.Join(dir, "decode_cases.jsonl"))
	dbad := 0
	for _, c := range dec {
		got := tok.DecodeWith(c.IDs, DecodeOptions{SkipSpecial: c.SkipSpecial, CleanUp: c.CleanUp})
		if got != c.Text {
			dbad++
			if dbad <= 8 {
				t.Errorf("Decode(%v) [%s cleanup=%v]\n got %q\nwant %q", c.IDs, c.Origin, c.CleanUp, got, c.Text)
			}
		}
	}
	t.Logf("encode %d/%d, decode %d/%d", len(enc)-bad, len(enc), len(dec)-dbad, len(dec))
}

// readPeerVocab reads a llama.cpp .inp/.out pair.
func readPeerVocab(t *testing.T, gguf string) ([]string, [][]int) {
	inp, err := os.ReadFile(gguf + ".inp")
	if err != nil {
		t.Skipf("shared test data %s.inp not found", gguf)
	}
	out, err := os.ReadFile(gguf + ".out")
	if err != nil {
		t.Skipf("shared test data %s.out not found", gguf)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var texts []string
	s := string(inp)
	for {
		i := strings.Index(s, sep)
		if i < 0 {
			if s != "" {
				texts = append(texts, s)
			}
			break
		}
		texts = append(texts, s[:i])
		s = s[i+len(sep):]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d tests, %d result lines", gguf, len(texts), len(lines))
	}
	ids := make([][]int, len(lines))
	for i, l := range lines {
		for _, f := range strings.Fields(l) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s.out line %d: %v", gguf, i+1, err)
			}
			ids[i] = append(ids[i], n)
		}
	}
	return texts, ids
}

// peerVocabs are the peer vocabularies checked.
var peerVocabs = []string{"llama-spm", "bert-bge", "command-r", "deepseek-coder", "falcon", "gemma-4", "gpt-2", "llama-bpe", "mpt", "qwen2", "qwen35", "refact", "starcoder"}

func TestPeerVocab(t *testing.T) {
	dir := needShared(t, "peer-vocab")
	files, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "ggml-vocab-"), ".gguf")
		if !slices.Contains(peerVocabs, name) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			texts, want := readPeerVocab(t, f)
			tok, err := FromGGUF(loadGGUFMeta(t, f))
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i, s := range texts {
				got := tok.Encode(s, false)
				if !slices.Equal(got, want[i]) && !(len(got) == 0 && len(want[i]) == 0) {
					bad++
					if bad <= 5 {
						t.Errorf("Encode(%q)\n got %v\nwant %v", s, got, want[i])
					}
				}
			}
			t.Logf("%d/%d", len(texts)-bad, len(texts))
		})
	}
}

var _ = fmt.Sprint
