package tokenizer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/goformer/goformer/weights"
)

// Tiny hand-made tokenizers exercise every loader and model without the
// shared test data. Their expected ids are worked out by hand in the tests.

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type obj = map[string]any

// tinyByteLevelJSON: GPT-2 style byte-level BPE. Ids 0..255 are the bytes
// (as byte-level characters), then 256 Ġt, 257 he, 258 Ġthe, 259 in,
// 260 Ġa, 261 Ġan, 262 Ġand; 263 is the special <|end|>.
func tinyByteLevelJSON() []byte {
	vocab := obj{}
	for b := range 256 {
		vocab[byteToString[b]] = b
	}
	merges := [][2]string{{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"i", "n"}, {"Ġ", "a"}, {"Ġa", "n"}, {"Ġan", "d"}}
	for i, m := range merges {
		vocab[m[0]+m[1]] = 256 + i
	}
	return mustJSON(obj{
		"version":      "1.0",
		"added_tokens": []obj{{"id": 263, "content": "<|end|>", "special": true, "normalized": false}},
		"normalizer":   nil,
		"pre_tokenizer": obj{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
			"use_regex": true},
		"post_processor": obj{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
		"decoder":        obj{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
		"model":          obj{"type": "BPE", "vocab": vocab, "merges": merges, "byte_fallback": false},
	})
}

// tinySPMVocab: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then
// ▁ t h e ▁t he ▁the a ▁a (259..267).
func tinySPMVocab() []string {
	v := []string{"<unk>", "<s>", "</s>"}
	for b := range 256 {
		v = append(v, byteTokenName(byte(b)))
	}
	return append(v, "▁", "t", "h", "e", "▁t", "he", "▁the", "a", "▁a")
}

// tinySPMJSON: Llama-2/Mistral style BPE with byte fallback.
func tinySPMJSON() []byte {
	vocab := obj{}
	for i, p := range tinySPMVocab() {
		vocab[p] = i
	}
	special := func(id int, s string) obj {
		return obj{"id": id, "content": s, "special": true, "normalized": false}
	}
	return mustJSON(obj{
		"added_tokens": []obj{special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")},
		"normalizer": obj{"type": "Sequence", "normalizers": []obj{
			{"type": "Prepend", "prepend": "▁"},
			{"type": "Replace", "pattern": obj{"String": " "}, "content": "▁"}}},
		"pre_tokenizer": nil,
		"post_processor": obj{"type": "TemplateProcessing",
			"single":         []obj{{"SpecialToken": obj{"id": "<s>", "type_id": 0}}, {"Sequence": obj{"id": "A", "type_id": 0}}},
			"special_tokens": obj{"<s>": obj{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}}}},
		"decoder": obj{"type": "Sequence", "decoders": []obj{
			{"type": "Replace", "pattern": obj{"String": "▁"}, "content": " "},
			{"type": "ByteFallback"}, {"type": "Fuse"},
			{"type": "Strip", "content": " ", "start": 1, "stop": 0}}},
		"model": obj{"type": "BPE", "vocab": vocab, "merges": []string{"▁ t", "h e", "▁t he", "▁ a"},
			"unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true},
	})
}

// tinyWordPieceJSON: BERT style.
func tinyWordPieceJSON() []byte {
	words := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", "un", "##aff", "##able", ",", "!", "cafe"}
	vocab := obj{}
	for i, w := range words {
		vocab[w] = i
	}
	var added []obj
	for i := range 4 {
		added = append(added, obj{"id": i, "content": words[i], "special": true, "normalized": false})
	}
	return mustJSON(obj{
		"added_tokens":  added,
		"normalizer":    obj{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": obj{"type": "BertPreTokenizer"},
		"post_processor": obj{"type": "TemplateProcessing",
			"single": []obj{{"SpecialToken": obj{"id": "[CLS]", "type_id": 0}}, {"Sequence": obj{"id": "A", "type_id": 0}},
				{"SpecialToken": obj{"id": "[SEP]", "type_id": 0}}},
			"special_tokens": obj{"[CLS]": obj{"id": "[CLS]", "ids": []int{2}}, "[SEP]": obj{"id": "[SEP]", "ids": []int{3}}}},
		"decoder": obj{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model":   obj{"type": "WordPiece", "vocab": vocab, "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100},
	})
}

// tinyUnigramJSON: T5 style Unigram with Metaspace.
func tinyUnigramJSON() []byte {
	return mustJSON(obj{
		"added_tokens":  []obj{{"id": 0, "content": "<unk>", "special": true, "normalized": false}},
		"normalizer":    obj{"type": "NFKC"},
		"pre_tokenizer": obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"decoder":       obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model": obj{"type": "Unigram", "unk_id": 0, "vocab": [][2]any{
			{"<unk>", 0.0}, {"▁", -2.0}, {"▁hello", -3.0}, {"hello", -4.0}, {"▁he", -2.5}, {"llo", -2.5},
			{"h", -5.0}, {"e", -5.0}, {"l", -5.0}, {"o", -5.0}, {"▁world", -4.0}}},
	})
}

// tinySentencePieceModel writes a SentencePiece BPE model protobuf with the
// tiny SPM vocabulary; merged pieces score by merge order.
func tinySentencePieceModel() []byte {
	var out []byte
	varint := func(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
	field := func(b []byte, num, wt int) []byte { return varint(b, uint64(num<<3|wt)) }
	bytesField := func(b []byte, num int, p []byte) []byte {
		b = field(b, num, 2)
		b = varint(b, uint64(len(p)))
		return append(b, p...)
	}
	scores := map[string]float32{"▁t": -1, "he": -2, "▁the": -3, "▁a": -4}
	for i, p := range tinySPMVocab() {
		typ := spNormal
		switch {
		case i == 0:
			typ = spUnknown
		case i <= 2:
			typ = spControl
		case i <= 258:
			typ = spByte
		}
		var sp []byte
		sp = bytesField(sp, 1, []byte(p))
		sp = field(sp, 2, 5)
		sp = binary.LittleEndian.AppendUint32(sp, math.Float32bits(scores[p]))
		sp = field(sp, 3, 0)
		sp = varint(sp, uint64(typ))
		out = bytesField(out, 1, sp)
	}
	var trainer []byte
	trainer = field(trainer, 3, 0)
	trainer = varint(trainer, 2) // BPE
	trainer = field(trainer, 35, 0)
	trainer = varint(trainer, 1) // byte_fallback
	out = bytesField(out, 2, trainer)
	var normSpec []byte
	normSpec = bytesField(normSpec, 1, []byte("identity"))
	normSpec = field(normSpec, 4, 0)
	normSpec = varint(normSpec, 0) // remove_extra_whitespaces = false
	out = bytesField(out, 3, normSpec)
	return out
}

// tinyGGUF writes a vocabulary-only GGUF with the tiny byte-level BPE
// vocabulary (tokenizer.ggml.model "gpt2", pre "gpt-2").
func tinyGGUF(t testing.TB) []byte {
	var toks []string
	for b := range 256 {
		toks = append(toks, byteToString[b])
	}
	merges := []string{"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "Ġa n", "Ġan d"}
	for _, m := range merges {
		toks = append(toks, string(bytes.ReplaceAll([]byte(m), []byte(" "), nil)))
	}
	toks = append(toks, "<|end|>")
	types := make([]int32, len(toks))
	for i := range types {
		types[i] = ggufNormal
	}
	types[len(types)-1] = ggufControl
	var buf bytes.Buffer
	err := weights.WriteGGUF(&buf, []weights.KV{
		{Key: "general.architecture", Value: "gpt2"},
		{Key: "tokenizer.ggml.model", Value: "gpt2"},
		{Key: "tokenizer.ggml.pre", Value: "gpt-2"},
		{Key: "tokenizer.ggml.tokens", Value: toks},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.merges", Value: merges},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(len(toks) - 1)},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(len(toks) - 1)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tinyTokenizers(t testing.TB) map[string]*Tokenizer {
	t.Helper()
	out := map[string]*Tokenizer{}
	for name, js := range map[string][]byte{
		"bytelevel": tinyByteLevelJSON(), "spm": tinySPMJSON(),
		"wordpiece": tinyWordPieceJSON(), "unigram": tinyUnigramJSON(),
	} {
		tok, err := FromJSON(js, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = tok
	}
	tok, err := FromSentencePiece(tinySentencePieceModel())
	if err != nil {
		t.Fatalf("sentencepiece: %v", err)
	}
	out["sentencepiece"] = tok
	f, err := weights.ReadGGUF("tiny.gguf", tinyGGUF(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err = FromGGUF(f.Meta); err != nil {
		t.Fatalf("gguf: %v", err)
	}
	out["gguf"] = tok
	return out
}

func TestTinyTokenizers(t *testing.T) {
	toks := tinyTokenizers(t)
	for _, c := range []struct {
		tok, text string
		special   bool
		want      []int
		decoded   string // "" means text
	}{
		{"bytelevel", "the and in", false, []int{'t', 257, 262, ' ', 259}, ""},
		{"bytelevel", "é<|end|>x", true, []int{0xC3, 0xA9, 263, 'x'}, ""},
		{"bytelevel", "", true, []int{}, ""},
		{"spm", "the a", true, []int{1, 265, 267}, "<s> the a"},
		{"spm", "the a", false, []int{265, 267}, ""},
		{"spm", "é", false, []int{259, 3 + 0xC3, 3 + 0xA9}, ""},
		{"spm", "a</s>a", false, []int{267, 2, 267}, "a</s> a"},
		{"wordpiece", "Hello, worlds! unaffable Café xyz", true, []int{2, 4, 10, 5, 6, 11, 7, 8, 9, 12, 1, 3},
			"[CLS] hello, worlds! unaffable cafe [UNK] [SEP]"},
		{"unigram", "hello world", false, []int{2, 10}, ""},
		{"unigram", "hex", false, []int{4, 0}, "he<unk>"},
		{"sentencepiece", "the a", true, []int{1, 265, 267}, "the a"},
		{"sentencepiece", "é", false, []int{259, 3 + 0xC3, 3 + 0xA9}, ""},
		{"sentencepiece", "a</s>", false, []int{267, 3 + '<', 3 + '/', 3 + 's', 3 + '>'}, ""},
		{"gguf", "the and in", false, []int{'t', 257, 262, ' ', 259}, ""},
		{"gguf", "<|end|>", false, []int{'<', '|', 'e', 'n', 'd', '|', '>'}, ""},
	} {
		tok := toks[c.tok]
		got := tok.Encode(c.text, c.special)
		if got == nil {
			got = []int{}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q, %v) = %v, want %v", c.tok, c.text, c.special, got, c.want)
		}
		want := c.decoded
		if want == "" {
			want = c.text
		}
		if s := tok.Decode(c.want); s != want {
			t.Errorf("%s: Decode(%v) = %q, want %q", c.tok, c.want, s, want)
		}
	}
}

func TestTinySpecials(t *testing.T) {
	toks := tinyTokenizers(t)
	spm := toks["spm"]
	if spm.BOS() != 1 || spm.EOS() != 2 || spm.UNK() != 0 || !spm.IsEOG(2) || spm.IsEOG(1) {
		t.Errorf("spm: bos %d eos %d unk %d", spm.BOS(), spm.EOS(), spm.UNK())
	}
	if got := spm.EncodeSpecial("<s>the"); !slices.Equal(got, []int{1, 265}) {
		t.Errorf("EncodeSpecial = %v", got)
	}
	g := toks["gguf"]
	if got := g.EncodeSpecial("<|end|>"); !slices.Equal(got, []int{263}) {
		t.Errorf("gguf EncodeSpecial = %v", got)
	}
	if !g.IsEOG(263) || g.Decode([]int{'a', 263}) != "a" {
		t.Errorf("gguf: IsEOG %v, Decode %q", g.IsEOG(263), g.Decode([]int{'a', 263}))
	}
	if s := toks["bytelevel"].Decode([]int{'a', 263}); s != "a<|end|>" {
		t.Errorf("bytelevel Decode special = %q", s)
	}
	if s := toks["bytelevel"].DecodeWith([]int{'a', 263}, DecodeOptions{SkipSpecial: true}); s != "a" {
		t.Errorf("bytelevel Decode skip special = %q", s)
	}
	wp := toks["wordpiece"]
	if wp.BOS() != 2 || wp.EOS() != 3 {
		t.Errorf("wordpiece bos/eos from template: %d %d", wp.BOS(), wp.EOS())
	}
	d := wp.NewStreamDecoder()
	var s string
	for _, id := range []int{2, 4, 10, 5, 6, 3} {
		s += d.Add(id)
	}
	if s+d.Flush() != " hello, worlds" {
		t.Errorf("wordpiece stream = %q", s)
	}
}

var _ = fmt.Sprint

// TestTinyGGUFUnigram: a T5-style (tokenizer.ggml.model "t5") vocabulary.
func TestTinyGGUFUnigram(t *testing.T) {
	toks := []string{"<pad>", "</s>", "<unk>", "▁", "▁hello", "hello", "h", "e", "l", "o", "▁world"}
	scores := []float32{0, 0, 0, -2, -3, -4, -5, -5, -5, -5, -4}
	types := []int32{ggufControl, ggufControl, ggufUnknown, 1, 1, 1, 1, 1, 1, 1, 1}
	tok, err := FromGGUF(weights.Metadata{
		"tokenizer.ggml.model": "t5", "tokenizer.ggml.tokens": toks,
		"tokenizer.ggml.scores": scores, "tokenizer.ggml.token_type": types,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("  hello   world ", true); !slices.Equal(got, []int{4, 10, 1}) {
		t.Errorf("Encode = %v, want [4 10 1]", got)
	}
	if got := tok.Encode("hellx", false); !slices.Equal(got, []int{3, 6, 7, 8, 8, 2}) {
		t.Errorf("Encode(hellx) = %v", got)
	}
	if s := tok.Decode([]int{4, 10, 1}); s != "hello world" {
		t.Errorf("Decode = %q", s)
	}
}
