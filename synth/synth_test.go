package synth

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	gftok "github.com/goformer/goformer/tokenizer"
	"github.com/goformer/goformer/weights"
)

const sharedTokenizers = "../../shared/tokenizers"

func needShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sharedTokenizers); err != nil {
		t.Skipf("shared tokenizers not found at %s: %v", sharedTokenizers, err)
	}
}

// TestGGUFTokenizerMatchesGoldens converts each shared tokenizer to GGUF
// tokenizer.ggml.* metadata, loads it back with goformer's GGUF tokenizer
// loader and encodes the shared golden texts (reference ids from HF
// tokenizers, llama.cpp and others). The byte-level BPE and WordPiece
// conversions must reproduce every golden; the SentencePiece-style ones
// (scores from the BPE merge ranks) at least 90% (Mistral: all; Gemma 3
// misses runs of spaces, which its tokenizer.json keeps as whole pieces).
func TestGGUFTokenizerMatchesGoldens(t *testing.T) {
	needShared(t)
	for _, name := range []string{"llama3", "qwen3", "gpt2", "bert-uncased", "mistral", "gemma3"} {
		t.Run(name, func(t *testing.T) {
			tok, err := loadTokenizer(sharedTokenizers, name)
			if err != nil {
				t.Fatal(err)
			}
			kvs, err := tok.ggufKVs(len(tok.tokens))
			if err != nil {
				t.Fatal(err)
			}
			meta := weights.Metadata{}
			for _, kv := range kvs {
				meta[kv.Key] = kv.Value
			}
			tk, err := gftok.FromGGUF(meta)
			if err != nil {
				t.Fatalf("tokenizer.FromGGUF: %v", err)
			}
			f, err := os.Open(filepath.Join(sharedTokenizers, name, "cases.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<24)
			total, ok := 0, 0
			for sc.Scan() {
				var c struct {
					Text string `json:"text"`
					IDs  []int  `json:"ids"`
				}
				if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
					t.Fatal(err)
				}
				total++
				got := tk.EncodeWith(c.Text, gftok.EncodeOptions{ParseSpecial: name != "gpt2"})
				if slices.Equal(got, c.IDs) || (len(got) == 0 && len(c.IDs) == 0) {
					ok++
				} else if tok.model != "llama" && total-ok <= 3 {
					t.Errorf("%q: GGUF tokenizer gives %v, golden %v", c.Text, got, c.IDs)
				}
			}
			t.Logf("%s (GGUF model %q, pre %q): %d/%d goldens reproduced", name, tok.model, tok.pre, ok, total)
			switch {
			case tok.model != "llama" && ok != total:
				t.Errorf("%d of %d goldens differ", total-ok, total)
			case ok < total*9/10:
				t.Errorf("only %d of %d goldens reproduced", ok, total)
			}
		})
	}
}

// TestPermuteRoPE checks the Hugging Face → GGUF row order of a Llama query
// head: pairs (j, j+hd/2) become rows (2j, 2j+1).
func TestPermuteRoPE(t *testing.T) {
	const heads, hd, cols = 2, 8, 3
	v := make([]float32, heads*hd*cols)
	for r := range heads * hd {
		for c := range cols {
			v[r*cols+c] = float32(r*10 + c)
		}
	}
	p := permuteRoPE(v, heads, cols)
	for h := range heads {
		for j := range hd / 2 {
			for half := range 2 {
				src := h*hd + half*hd/2 + j
				dst := h*hd + 2*j + half
				if p[dst*cols] != float32(src*10) {
					t.Fatalf("row %d holds %v, want source row %d", dst, p[dst*cols], src)
				}
			}
		}
	}
}

// TestWriteErrors: bad options are refused with a message naming them.
func TestWriteErrors(t *testing.T) {
	needShared(t)
	dir := t.TempDir()
	cases := []Options{
		{Arch: "mamba", Shape: "tiny", DType: weights.F32, Format: "gguf"},
		{Arch: "llama", Shape: "huge", DType: weights.F32, Format: "gguf"},
		{Arch: "llama", Shape: "qwen2.5-0.5b", DType: weights.F32, Format: "gguf"},
		{Arch: "llama", Shape: "tiny", DType: weights.Q8_0, Format: "hf"},
		{Arch: "llama", Shape: "tiny", DType: weights.Q5_K, Format: "gguf"},
		{Arch: "llama", Shape: "tiny", DType: weights.F32, Format: "onnx"},
	}
	for _, o := range cases {
		o.Tokenizers = sharedTokenizers
		if err := Write(filepath.Join(dir, "x"), o); err == nil {
			t.Errorf("%+v: written", o)
		} else {
			t.Logf("%s/%s/%s/%s: %v", o.Arch, o.Shape, o.DType, o.Format, err)
		}
	}
}
