// Package tokenizer turns text into token ids and back, exactly as the
// reference implementations of the common model families do, in pure Go.
//
// # Sources
//
// A Tokenizer is loaded from
//
//   - a Hugging Face tokenizer.json (FromFile, FromJSON), with the
//     tokenizer_config.json beside it for BOS/EOS, add_bos_token/add_eos_token,
//     clean_up_tokenization_spaces and the chat template;
//   - the tokenizer.ggml.* metadata of a GGUF file (FromGGUF): "llama"
//     (SentencePiece BPE), "gpt2" (byte-level BPE with the pre-tokenizer named
//     by tokenizer.ggml.pre), "bert" (WordPiece), "t5" (Unigram), ...;
//   - a SentencePiece tokenizer.model protobuf (FromSentencePiece);
//   - GPT-2's original encoder.json + vocab.bpe pair (FromGPT2Files);
//
// and Load picks the right one for a path (a file or a directory).
//
// # Models and pipeline
//
// The tokenizer.json pipeline is implemented component by component
// (normalizers, pre-tokenizers, the BPE / WordPiece / Unigram models,
// post-processors and decoders, each in its own file) with the semantics of
// Hugging Face tokenizers. A component this package does not know is an
// error that names it.
//
// # Special tokens in the input
//
// Encode follows the convention of the family the tokenizer was loaded from:
//
//   - tokenizer.json: every added token (special or not) is matched in the
//     text and becomes its id, as Hugging Face tokenizers do;
//   - GGUF: user-defined tokens are matched, control tokens are not (text such
//     as "<s>" is tokenized as ordinary text), as llama.cpp's tokenizer with
//     parse_special=false;
//   - SentencePiece .model: user-defined pieces are matched, control pieces are
//     not, as SentencePiece does;
//   - GPT-2 encoder.json/vocab.bpe: nothing is matched (OpenAI's encoder.py).
//
// EncodeSpecial matches every special/control token as well (for text written
// by a chat template), and EncodeWith gives full control.
//
// # Invalid UTF-8
//
// Input text need not be valid UTF-8. Byte-level BPE tokenizers encode the
// bytes as they are. Tokenizers that work on characters see each byte of an
// invalid sequence as a separate character: byte-fallback vocabularies encode
// it as its byte token, others produce their unknown token (or nothing, when
// the vocabulary has none). Normalizers leave invalid bytes untouched. No
// input makes Encode panic.
//
// # Decoding
//
// Decode follows the family too (see Decode); a StreamDecoder turns
// generated tokens into text one token at a time, holding back the bytes of
// a character split across byte tokens.
//
// # Unicode
//
// Normalization forms are applied as Rust's unicode-normalization does (no
// U+034F insertion in long runs of combining marks, unlike x/text's
// stream-safe mode). Character classes follow Go's unicode package.
//
// # Performance
//
// Words are encoded with an O(n log n) merge queue (a linear scan for short
// words) and cached; long SentencePiece-style texts without a pre-tokenizer
// are cut at "▁" boundaries that no vocabulary piece spans, which leaves the
// result unchanged. No input is quadratic. tokenizer.json files are read
// with a dedicated scanner for the vocabulary and merges.
//
// A Tokenizer is immutable after loading and safe for concurrent use.
package tokenizer

import (
	"strings"
	"sync"
)

// tokenAttr classifies vocabulary entries.
type tokenAttr uint8

const (
	attrNormal      tokenAttr = 1 << iota // an ordinary piece
	attrUnknown                           // the unknown token
	attrControl                           // special/control: <s>, </s>, <|eot_id|>, [CLS]
	attrUserDefined                       // added non-special token, matched in text
	attrUnused                            // never produced by encoding
	attrByte                              // byte-fallback piece <0xXX>
)

// family selects family-specific conventions for decoding.
type family uint8

const (
	famHF    family = iota // tokenizer.json pipeline
	famSPM                 // SentencePiece (GGUF llama, tokenizer.model)
	famGPT2                // OpenAI encoder.json/vocab.bpe, GGUF gpt2
	famWPM                 // GGUF bert (llama.cpp WPM)
	famOther               // other GGUF models
)

// Tokenizer converts between text and token ids. It is safe for concurrent
// use.
type Tokenizer struct {
	vocab    []string       // id -> token text as stored in the vocabulary
	toID     map[string]int // token text -> id (model vocabulary, and added tokens unless in extraIDs)
	extraIDs map[string]int // added tokens of a tokenizer.json (looked up first)
	attr     []tokenAttr

	norm  normalizer    // nil: identity
	pre   preTokenizer  // nil: the whole normalized segment is one word
	model model         // the tokenization model
	post  postProcessor // nil: add BOS/EOS per addBOS/addEOS
	dec   decoder       // nil: family decoding (SPM/GPT-2)
	added *addedVocab   // added/special tokens matched in the raw text

	fam         family
	spacePrefix bool // SentencePiece dummy prefix in use (Decode strips its space)
	hideControl bool // Decode renders control tokens as nothing (llama.cpp)

	bos, eos, unk, pad int
	addBOS, addEOS     bool
	eog                map[int]bool

	// parseAdded is the default set of added tokens matched by Encode:
	// matchAll (HF), matchUserDefined (GGUF, SentencePiece), or matchNone.
	parseAdded matchMode

	cleanup      bool   // clean_up_tokenization_spaces applied by Decode
	chatTemplate string // chat template source, if any

	bufs sync.Pool // *encodeBuf
}

// matchMode selects which added tokens are matched in input text.
type matchMode uint8

const (
	matchNone        matchMode = iota // no added token is matched
	matchUserDefined                  // only non-special (user-defined) added tokens
	matchAll                          // every added token, special or not
)

// EncodeOptions control EncodeWith.
type EncodeOptions struct {
	// AddSpecial adds the tokens the tokenizer adds around a sequence: BOS
	// and/or EOS per the tokenizer's settings, or a tokenizer.json
	// post-processor's template ([CLS] ... [SEP]).
	AddSpecial bool
	// ParseSpecial matches every special/control token's text in the input.
	// When false, the family's default applies (see the package comment).
	ParseSpecial bool
}

// Encode tokenizes text. With addSpecial, BOS/EOS (or the post-processor's
// template) are added per the tokenizer's settings. Special-token text in
// the input is handled per the family's convention (see the package
// comment).
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	return t.encode(text, addSpecial, t.parseAdded)
}

// EncodeSpecial tokenizes text written with special tokens in it, such as the
// output of a chat template: every special/control token's text becomes its
// id. Nothing is added around the sequence (the template writes BOS itself).
func (t *Tokenizer) EncodeSpecial(text string) []int {
	return t.encode(text, false, matchAll)
}

// EncodeWith tokenizes text with explicit options.
func (t *Tokenizer) EncodeWith(text string, o EncodeOptions) []int {
	m := t.parseAdded
	if o.ParseSpecial {
		m = matchAll
	}
	return t.encode(text, o.AddSpecial, m)
}

// encodeBuf holds per-call scratch space.
type encodeBuf struct {
	segs  []segment
	words []string
	spans [][2]int
	bpe   bpeScratch
}

func (t *Tokenizer) getBuf() *encodeBuf {
	if b, ok := t.bufs.Get().(*encodeBuf); ok {
		return b
	}
	return &encodeBuf{}
}

func (t *Tokenizer) encode(text string, addSpecial bool, mode matchMode) []int {
	buf := t.getBuf()
	defer t.bufs.Put(buf)
	ids := make([]int, 0, len(text)/3+4)
	buf.segs = t.added.split(text, mode, buf.segs[:0])
	for _, sg := range buf.segs {
		if sg.id >= 0 {
			ids = append(ids, sg.id)
			continue
		}
		ids = t.encodeSegment(sg.text, sg.start == 0, mode, ids, buf)
	}
	if addSpecial {
		ids = t.addSpecialTokens(ids)
	}
	return ids
}

// encodeSegment runs normalizer, pre-tokenizer and model on a stretch of
// text between added tokens. atStart reports whether it begins the input.
func (t *Tokenizer) encodeSegment(s string, atStart bool, mode matchMode, ids []int, buf *encodeBuf) []int {
	if s == "" {
		return ids
	}
	if t.norm != nil {
		s = t.norm.normalize(s)
		if s == "" {
			return ids
		}
	}
	if t.added.hasNormalized(mode) {
		var segs []segment
		segs = t.added.splitNormalized(s, mode, 0, segs)
		for _, sg := range segs {
			if sg.id >= 0 {
				ids = append(ids, sg.id)
				continue
			}
			ids = t.preTokenizeAndModel(sg.text, atStart && sg.start == 0, ids, buf)
		}
		return ids
	}
	return t.preTokenizeAndModel(s, atStart, ids, buf)
}

func (t *Tokenizer) preTokenizeAndModel(s string, atStart bool, ids []int, buf *encodeBuf) []int {
	if s == "" {
		return ids
	}
	if t.pre == nil {
		return t.model.encodeWord(s, ids, &buf.bpe)
	}
	if sp, ok := t.pre.(splitPreTokenizer); ok {
		// The common case (one Split stage): encode spans as they are,
		// without building the list of words.
		spans := sp.s.Split(s, buf.spans[:0])
		for _, x := range spans {
			if x[1] > x[0] {
				ids = t.model.encodeWord(s[x[0]:x[1]], ids, &buf.bpe)
			}
		}
		if cap(spans) <= 1<<20 {
			buf.spans = spans[:0]
		} else {
			buf.spans = nil
		}
		return ids
	}
	words := t.pre.preTokenize(s, atStart, buf.words[:0])
	for _, w := range words {
		if w == "" {
			continue
		}
		ids = t.model.encodeWord(w, ids, &buf.bpe)
	}
	if cap(words) <= 1<<20 {
		buf.words = words[:0]
	} else {
		buf.words = nil
	}
	return ids
}

// addSpecialTokens applies the post-processor, or BOS/EOS.
func (t *Tokenizer) addSpecialTokens(ids []int) []int {
	if t.post != nil {
		return t.post.process(ids)
	}
	if t.addBOS && t.bos >= 0 {
		ids = append(ids, 0)
		copy(ids[1:], ids)
		ids[0] = t.bos
	}
	if t.addEOS && t.eos >= 0 {
		ids = append(ids, t.eos)
	}
	return ids
}

// VocabSize returns the number of token ids: the model vocabulary plus
// added tokens (one more than the highest id).
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// BOS returns the beginning-of-sequence token id, or -1 if there is none.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the end-of-sequence token id, or -1 if there is none.
func (t *Tokenizer) EOS() int { return t.eos }

// UNK returns the unknown token id, or -1 if there is none.
func (t *Tokenizer) UNK() int { return t.unk }

// PAD returns the padding token id, or -1 if there is none.
func (t *Tokenizer) PAD() int { return t.pad }

// AddsBOS reports whether Encode(text, true) starts with BOS.
func (t *Tokenizer) AddsBOS() bool {
	ids := t.addSpecialTokens(nil)
	return t.bos >= 0 && len(ids) > 0 && ids[0] == t.bos
}

// IsEOG reports whether id ends generation: EOS, or a special token that
// ends a turn (<|eot_id|>, <|im_end|>, <end_of_turn>, <|end|>,
// <|endoftext|>, ...).
func (t *Tokenizer) IsEOG(id int) bool { return t.eog[id] }

// EOGs returns the end-of-generation token ids, ascending.
func (t *Tokenizer) EOGs() []int {
	out := make([]int, 0, len(t.eog))
	for id := range t.eog {
		out = append(out, id)
	}
	sortInts(out)
	return out
}

// IsSpecial reports whether id is a special (control) token: BOS, EOS,
// turn markers, [CLS], padding, ...
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.attr) && t.attr[id]&attrControl != 0
}

// Piece returns the vocabulary text of a token as stored (for example
// "▁the", "Ġthe", "<0x0A>", "##ing", "<|eot_id|>"), or "" for an id out of
// range.
func (t *Tokenizer) Piece(id int) string {
	if id < 0 || id >= len(t.vocab) {
		return ""
	}
	return t.vocab[id]
}

// TokenID returns the id of a vocabulary piece (as Piece spells it).
func (t *Tokenizer) TokenID(piece string) (int, bool) { return t.lookup(piece) }

func (t *Tokenizer) lookup(s string) (int, bool) {
	if id, ok := t.extraIDs[s]; ok {
		return id, true
	}
	id, ok := t.toID[s]
	return id, ok
}

// ChatTemplate returns the chat template source that came with the
// tokenizer (tokenizer_config.json's chat_template, GGUF
// tokenizer.chat_template), or "".
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// setEOG fills the end-of-generation set from EOS and well-known turn-ending
// special tokens.
func (t *Tokenizer) setEOG(extra ...int) {
	t.eog = map[int]bool{}
	if t.eos >= 0 {
		t.eog[t.eos] = true
	}
	for _, id := range extra {
		if id >= 0 && id < len(t.vocab) {
			t.eog[id] = true
		}
	}
	for _, name := range eogNames {
		if id, ok := t.lookup(name); ok && id < len(t.attr) && t.attr[id]&(attrControl|attrUserDefined) != 0 {
			t.eog[id] = true
		}
	}
}

// eogNames are special tokens that end a turn in the known chat formats.
var eogNames = []string{
	"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>",
	"<|return|>", "<|call|>", "<|END_OF_TURN_TOKEN|>", "</s>",
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// finish completes a loaded tokenizer: reverse map, defaults.
func (t *Tokenizer) finish() {
	if t.toID == nil {
		t.toID = make(map[string]int, len(t.vocab))
		for id, s := range t.vocab {
			if _, dup := t.toID[s]; !dup {
				t.toID[s] = id
			}
		}
	}
	if t.added == nil {
		t.added = &addedVocab{}
	}
	if t.eog == nil {
		t.setEOG()
	}
}

// isByteToken parses a byte-fallback piece "<0xXX>".
func isByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	h, ok1 := hexVal(s[3])
	l, ok2 := hexVal(s[4])
	if !ok1 || !ok2 {
		return 0, false
	}
	return h<<4 | l, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

const hexDigits = "0123456789ABCDEF"

// byteTokenName returns "<0xXX>" for b.
func byteTokenName(b byte) string {
	return string([]byte{'<', '0', 'x', hexDigits[b>>4], hexDigits[b&15], '>'})
}
