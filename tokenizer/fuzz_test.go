package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goformer/goformer/weights"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ (written by
// TestWriteFuzzSeeds with GOFORMER_WRITE_FUZZ_SEEDS=1); go test runs them
// as regular tests.

var fuzzTexts = []string{
	"", " ", "the and in", "  leading and trailing  ", "é<|end|>x", "<s>the</s>",
	"Hello, worlds! unaffable Café", "\xff\xfe invalid \xe6\x88", "a\u0301\u0323\u0308b",
	"小明 🐶 👩‍👩‍👧", "\t\n\r\v\f\u00a0\u2028", "don't I'M 12345 ...!!!", "▁▁x▁",
}

func FuzzEncode(f *testing.F) {
	for _, s := range fuzzTexts {
		f.Add(s)
	}
	toks := tinyTokenizers(f)
	f.Fuzz(func(t *testing.T, text string) {
		for name, tok := range toks {
			ids := tok.Encode(text, true)
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("%s: id %d out of range", name, id)
				}
			}
			plain := tok.Encode(text, false)
			dec := tok.Decode(plain)
			if !utf8.ValidString(dec) {
				t.Fatalf("%s: Decode gave invalid UTF-8 %q", name, dec)
			}
			lossless := false
			switch name {
			case "bytelevel", "gguf":
				lossless = utf8.ValidString(text)
			case "sentencepiece":
				// "▁" itself decodes as a space.
				lossless = utf8.ValidString(text) && !strings.Contains(text, "▁")
			case "spm":
				lossless = utf8.ValidString(text) && !strings.Contains(text, "▁") && !strings.Contains(text, "<s>") &&
					!strings.Contains(text, "</s>") && !strings.Contains(text, "<unk>")
			}
			if lossless && dec != text {
				t.Fatalf("%s: Decode(Encode(%q)) = %q", name, text, dec)
			}
			sd := tok.NewStreamDecoder()
			var b strings.Builder
			for _, id := range plain {
				s := sd.Add(id)
				if !utf8.ValidString(s) {
					t.Fatalf("%s: stream gave invalid UTF-8 %q", name, s)
				}
				b.WriteString(s)
			}
			b.WriteString(sd.Flush())
			if name == "bytelevel" && utf8.ValidString(text) && !strings.Contains(text, "<|end|>") && b.String() != dec {
				t.Fatalf("%s: stream %q, Decode %q", name, b.String(), dec)
			}
		}
	})
}

func FuzzFromJSON(f *testing.F) {
	for _, js := range [][]byte{tinyByteLevelJSON(), tinySPMJSON(), tinyWordPieceJSON(), tinyUnigramJSON()} {
		f.Add(js)
		f.Add(js[:len(js)/2])
	}
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"Nope"}}`))
	f.Add([]byte(`{"model":{"vocab":{"a":0},"merges":[["a","a"]]}}`))
	f.Add([]byte(`{"model":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromJSON(data, nil)
		if err != nil {
			return
		}
		tok.Decode(tok.Encode("the a Hello, \xff é", true))
	})
}

func FuzzFromSentencePiece(f *testing.F) {
	m := tinySentencePieceModel()
	f.Add(m)
	f.Add(m[:len(m)/3])
	f.Add(m[:7])
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromSentencePiece(data)
		if err != nil {
			return
		}
		tok.Decode(tok.Encode("the a é \xff", true))
	})
}

func FuzzFromGPT2(f *testing.F) {
	f.Add([]byte(`{"a":0,"b":1,"ab":2,"Ġ":3}`), []byte("#version: 0.2\na b\n"))
	f.Add([]byte(`{"a":0}`), []byte("a a\n"))
	f.Add([]byte(`{"a":-1}`), []byte(""))
	f.Fuzz(func(t *testing.T, enc, bpe []byte) {
		tok, err := FromGPT2(enc, bpe)
		if err != nil {
			return
		}
		tok.Decode(tok.Encode("ab a b", false))
	})
}

func FuzzFromGGUF(f *testing.F) {
	g := tinyGGUF(f)
	f.Add(g)
	f.Add(g[:len(g)-9])
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := weights.ReadGGUF("fuzz.gguf", data)
		if err != nil {
			return
		}
		tok, err := FromGGUF(file.Meta)
		if err != nil {
			return
		}
		tok.Decode(tok.Encode("the and <|end|> é", true))
	})
}

// TestWriteFuzzSeeds writes the seed corpora under testdata/fuzz.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("GOFORMER_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set GOFORMER_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	write := func(fuzz string, i int, vals ...any) {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range vals {
			switch v := v.(type) {
			case string:
				fmt.Fprintf(&b, "string(%q)\n", v)
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range fuzzTexts {
		write("FuzzEncode", i, s)
	}
	for i, js := range [][]byte{tinyByteLevelJSON(), tinySPMJSON(), tinyWordPieceJSON(), tinyUnigramJSON()} {
		write("FuzzFromJSON", 2*i, js)
		write("FuzzFromJSON", 2*i+1, js[:len(js)*2/3])
	}
	m := tinySentencePieceModel()
	write("FuzzFromSentencePiece", 0, m)
	write("FuzzFromSentencePiece", 1, m[:len(m)-5])
	write("FuzzFromGPT2", 0, []byte(`{"a":0,"b":1,"ab":2,"Ġ":3}`), []byte("#version: 0.2\na b\n"))
	g := tinyGGUF(t)
	write("FuzzFromGGUF", 0, g)
	write("FuzzFromGGUF", 1, g[:len(g)/2])
}
