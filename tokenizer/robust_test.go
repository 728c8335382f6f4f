package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goformer/goformer/weights"
	"golang.org/x/text/unicode/norm"
)

func TestMalformedInputsGiveClearErrors(t *testing.T) {
	for _, c := range []struct {
		name, json, want string
	}{
		{"truncated", `{"model": {"type": "BPE", "vocab": {"a": 0`, "invalid JSON"},
		{"not an object", `[1, 2]`, "not a JSON object"},
		{"no model", `{"normalizer": null}`, "no model"},
		{"unknown model", `{"model": {"type": "Magic", "vocab": {}}}`, `"Magic"`},
		{"unknown normalizer", `{"normalizer": {"type": "Sparkle"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}`, `normalizer type "Sparkle"`},
		{"unknown pre-tokenizer", `{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Zap"}]}, "model": {"type": "BPE", "vocab": {}, "merges": []}}`, `pre-tokenizer type "Zap"`},
		{"unknown decoder", `{"decoder": {"type": "Unzip"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}`, `decoder type "Unzip"`},
		{"unknown post-processor", `{"post_processor": {"type": "Wrap"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}`, `post-processor type "Wrap"`},
		{"merge outside vocab", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}`, `"b"`},
		{"bad merge", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}}`, "merges[0]"},
		{"bad id", `{"model": {"type": "BPE", "vocab": {"a": 1.5}, "merges": []}}`, "integer"},
		{"bad regex", `{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}`, "(unclosed"},
		{"trailing data", `{"model": {"type": "BPE", "vocab": {}, "merges": []}} x`, "after the top-level value"},
	} {
		_, err := FromJSON([]byte(c.json), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %s", c.name, err, c.want)
		}
	}
	if _, err := FromJSON(tinySPMJSON(), []byte(`{"bos_token": `)); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("bad tokenizer_config.json: %v", err)
	}

	m := tinySentencePieceModel()
	for _, n := range []int{1, 5, len(m) / 2, len(m) - 1} {
		if _, err := FromSentencePiece(m[:n]); err == nil {
			t.Errorf("SentencePiece model truncated to %d bytes: no error", n)
		}
	}
	if _, err := FromSentencePiece(nil); err == nil {
		t.Error("empty SentencePiece model: no error")
	}
	if _, err := FromGPT2([]byte(`{"a":0}`), []byte("a b\n")); err == nil {
		t.Error("GPT-2 merge outside the vocabulary: no error")
	}
	if _, err := FromGGUF(weights.Metadata{"tokenizer.ggml.model": "magic", "tokenizer.ggml.tokens": []string{"a"}}); err == nil || !strings.Contains(err.Error(), `"magic"`) {
		t.Errorf("unknown GGUF model: %v", err)
	}
	if _, err := FromGGUF(weights.Metadata{"tokenizer.ggml.model": "llama"}); err == nil {
		t.Error("GGUF without tokens: no error")
	}
	if _, err := FromGGUF(weights.Metadata{"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "no-such-pre",
		"tokenizer.ggml.tokens": []string{"a"}, "tokenizer.ggml.merges": []string{}}); err == nil || !strings.Contains(err.Error(), "no-such-pre") {
		t.Errorf("unknown GGUF pre-tokenizer: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load of a missing path: no error")
	}
}

// TestInvalidUTF8Input: encoding never fails; byte-level and byte-fallback
// tokenizers keep the bytes.
func TestInvalidUTF8Input(t *testing.T) {
	toks := tinyTokenizers(t)
	in := "a\xffb\xe6\x88"
	for name, tok := range toks {
		ids := tok.Encode(in, false)
		dec := tok.Decode(ids)
		if !utf8.ValidString(dec) {
			t.Errorf("%s: Decode gave invalid UTF-8", name)
		}
		switch name {
		case "bytelevel", "gguf":
			if name == "gguf" {
				if got := string(tok.rawDecode(ids, true, false)); got != in {
					t.Errorf("%s: bytes not kept: %q", name, got)
				}
			}
			if dec != "a\uFFFDb\uFFFD" {
				t.Errorf("%s: Decode = %q", name, dec)
			}
		case "sentencepiece":
			// Each invalid byte is its own character, encoded as its byte
			// token ("b" is not in the tiny vocabulary either).
			if want := "a\uFFFDb\uFFFD"; dec != want {
				t.Errorf("%s: Decode = %q, want %q", name, dec, want)
			}
		case "spm":
			// Hugging Face's ByteFallback decoder: one U+FFFD per byte of an
			// invalid run of byte tokens (here \xff b \xe6 \x88).
			if want := "a\uFFFD\uFFFD\uFFFD\uFFFD"; dec != want {
				t.Errorf("%s: Decode = %q, want %q", name, dec, want)
			}
		}
	}
}

// TestRoundTripGoldenTexts: decode(encode(x)) == x for the lossless
// tokenizers over every golden text.
func TestRoundTripGoldenTexts(t *testing.T) {
	for _, name := range []string{"llama3", "qwen3", "gpt2", "mistral", "gemma3", "llama2-spm"} {
		t.Run(name, func(t *testing.T) {
			tok := goldenTok(t, name)
			cases := readJSONL[encodeCase](t, filepath.Join(sharedDir, "tokenizers", name, "cases.jsonl"))
			n := 0
			for _, c := range cases {
				x := c.Text
				switch name {
				case "qwen3":
					if norm.NFC.String(x) != x {
						continue // NFC normalizer
					}
				case "mistral":
					if strings.Contains(x, "<s>") || strings.Contains(x, "</s>") || strings.Contains(x, "<unk>") {
						continue // text after an added token gets its own "▁"
					}
				}
				if strings.Contains(x, "▁") && (name == "mistral" || name == "llama2-spm" || name == "gemma3") {
					continue // "▁" decodes as a space
				}
				n++
				if got := tok.DecodeWith(tok.Encode(x, false), DecodeOptions{}); got != x {
					t.Errorf("Decode(Encode(%q)) = %q", x, got)
				}
			}
			t.Logf("%d texts round-trip", n)
		})
	}
}
