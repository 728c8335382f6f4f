package tokenizer

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/goformer/goformer/tokenizer/pretok"

	"github.com/goformer/goformer/weights"
)

// GGUF token types (tokenizer.ggml.token_type).
const (
	ggufNormal      = 1
	ggufUnknown     = 2
	ggufControl     = 3
	ggufUserDefined = 4
	ggufUnused      = 5
	ggufByte        = 6
)

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.ggml.*
// metadata, with llama.cpp's semantics:
//
//   - "llama": SentencePiece BPE over the piece scores, byte fallback,
//     dummy-prefix space (tokenizer.ggml.add_space_prefix, default true);
//     BOS is added unless tokenizer.ggml.add_bos_token is false;
//   - "gpt2": byte-level BPE over tokenizer.ggml.merges with the
//     pre-tokenizer named by tokenizer.ggml.pre;
//   - "bert": WordPiece (llama.cpp's "▁word"/"piece" spelling);
//   - "t5": Unigram (SentencePiece) over the scores;
//   - "gemma4": BPE over merges with byte fallback, SentencePiece-style spaces.
//
// BOS/EOS/UNK/PAD come from tokenizer.ggml.{bos,eos,unknown,padding}_token_id
// and the chat template from tokenizer.chat_template.
func FromGGUF(meta weights.Metadata) (*Tokenizer, error) {
	kind, ok := meta.String("tokenizer.ggml.model")
	if !ok {
		return nil, fmt.Errorf("tokenizer: GGUF has no tokenizer.ggml.model")
	}
	toks, ok := meta.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) == 0 {
		return nil, fmt.Errorf("tokenizer: GGUF has no tokenizer.ggml.tokens array")
	}
	t := &Tokenizer{vocab: toks, bos: -1, eos: -1, unk: -1, pad: -1}
	types, _ := meta.Ints("tokenizer.ggml.token_type")
	if types != nil && len(types) != len(toks) {
		return nil, fmt.Errorf("tokenizer: GGUF has %d token types for %d tokens", len(types), len(toks))
	}
	scores, _ := meta.Floats("tokenizer.ggml.scores")
	if scores != nil && len(scores) != len(toks) {
		return nil, fmt.Errorf("tokenizer: GGUF has %d scores for %d tokens", len(scores), len(toks))
	}
	t.attr = make([]tokenAttr, len(toks))
	for i, s := range toks {
		typ := int64(ggufNormal)
		if types != nil {
			typ = types[i]
		} else if _, isByte := isByteToken(s); isByte && kind == "llama" {
			typ = ggufByte
		}
		switch typ {
		case ggufUnknown:
			t.attr[i] = attrUnknown
		case ggufControl:
			t.attr[i] = attrControl
		case ggufUserDefined:
			t.attr[i] = attrUserDefined
		case ggufUnused:
			t.attr[i] = attrUnused
		case ggufByte:
			t.attr[i] = attrByte
		default:
			t.attr[i] = attrNormal
		}
	}
	t.toID = make(map[string]int, len(toks))
	for id, s := range toks {
		if _, dup := t.toID[s]; !dup {
			t.toID[s] = id
		}
	}
	t.chatTemplate, _ = meta.String("tokenizer.chat_template")
	metaID := func(key string, def int) int {
		v, ok := meta.Int(key)
		if !ok {
			return def
		}
		if v < 0 || v >= int64(len(toks)) {
			return -1 // 0xFFFFFFFF and other out-of-range values mean none
		}
		return int(v)
	}
	metaBool := func(key string, def bool) bool {
		if v, ok := meta.Bool(key); ok {
			return v
		}
		return def
	}

	var err error
	switch kind {
	case "llama":
		t.bos = metaID("tokenizer.ggml.bos_token_id", 1)
		t.eos = metaID("tokenizer.ggml.eos_token_id", 2)
		t.unk = metaID("tokenizer.ggml.unknown_token_id", 0)
		t.pad = metaID("tokenizer.ggml.padding_token_id", -1)
		t.addBOS = metaBool("tokenizer.ggml.add_bos_token", true)
		t.addEOS = metaBool("tokenizer.ggml.add_eos_token", false)
		t.spacePrefix = metaBool("tokenizer.ggml.add_space_prefix", true)
		if scores == nil {
			return nil, fmt.Errorf("tokenizer: GGUF llama vocabulary has no tokenizer.ggml.scores")
		}
		t.initSPM(scores)
	case "gpt2":
		pre, _ := meta.String("tokenizer.ggml.pre")
		t.bos = metaID("tokenizer.ggml.bos_token_id", -1)
		t.eos = metaID("tokenizer.ggml.eos_token_id", -1)
		t.unk = metaID("tokenizer.ggml.unknown_token_id", -1)
		t.pad = metaID("tokenizer.ggml.padding_token_id", -1)
		t.addBOS = metaBool("tokenizer.ggml.add_bos_token", ggufBPEAddsBOS[pre])
		t.addEOS = metaBool("tokenizer.ggml.add_eos_token", false)
		merges, _ := meta.Strings("tokenizer.ggml.merges")
		err = t.initGGUFBPE(pre, merges)
	case "bert":
		t.bos = metaID("tokenizer.ggml.bos_token_id", -1)
		t.eos = metaID("tokenizer.ggml.eos_token_id", -1)
		t.unk = metaID("tokenizer.ggml.unknown_token_id", 100)
		t.pad = metaID("tokenizer.ggml.padding_token_id", -1)
		sep := metaID("tokenizer.ggml.seperator_token_id", -1)
		cls := metaID("tokenizer.ggml.cls_token_id", -1)
		if cls < 0 {
			cls = t.bos
		}
		if sep < 0 {
			sep = t.eos
		}
		t.initGGUFWPM(cls, sep, metaBool("tokenizer.ggml.add_bos_token", true), metaBool("tokenizer.ggml.add_eos_token", true))
	case "gemma4":
		t.bos = metaID("tokenizer.ggml.bos_token_id", -1)
		t.eos = metaID("tokenizer.ggml.eos_token_id", -1)
		t.unk = metaID("tokenizer.ggml.unknown_token_id", -1)
		t.pad = metaID("tokenizer.ggml.padding_token_id", -1)
		t.addBOS = metaBool("tokenizer.ggml.add_bos_token", true)
		t.addEOS = metaBool("tokenizer.ggml.add_eos_token", false)
		t.spacePrefix = metaBool("tokenizer.ggml.add_space_prefix", false)
		merges, _ := meta.Strings("tokenizer.ggml.merges")
		err = t.initGGUFSPMBPE(merges)
	case "t5":
		t.bos = metaID("tokenizer.ggml.bos_token_id", -1)
		t.eos = metaID("tokenizer.ggml.eos_token_id", 1)
		t.unk = metaID("tokenizer.ggml.unknown_token_id", 2)
		t.pad = metaID("tokenizer.ggml.padding_token_id", 0)
		t.addBOS = metaBool("tokenizer.ggml.add_bos_token", false)
		t.addEOS = metaBool("tokenizer.ggml.add_eos_token", true)
		t.spacePrefix = metaBool("tokenizer.ggml.add_space_prefix", true)
		if scores == nil {
			return nil, fmt.Errorf("tokenizer: GGUF t5 vocabulary has no tokenizer.ggml.scores")
		}
		var cmap []byte
		if v, ok := meta["tokenizer.ggml.precompiled_charsmap"]; ok {
			cmap = anyBytes(v)
		}
		err = t.initGGUFUnigram(scores, cmap, metaBool("tokenizer.ggml.remove_extra_whitespaces", true))
	default:
		return nil, fmt.Errorf("tokenizer: GGUF tokenizer.ggml.model %q is not supported (supported: llama, gpt2, bert, t5, gemma4)", kind)
	}
	if err != nil {
		return nil, err
	}
	if name, _ := meta.String("general.name"); t.added != nil && containsAny(strings.ToLower(name), "phi-3", "phi3") {
		// As llama.cpp: Phi-3's special tokens swallow the whitespace after
		// them, except <unk>, <s> and <|endoftext|>.
		toks := append([]addedToken(nil), t.added.tokens...)
		for i := range toks {
			switch toks[i].content {
			case "<unk>", "<s>", "<|endoftext|>":
			default:
				toks[i].rstrip = true
			}
		}
		t.added = newAddedVocab(toks)
	}
	eot := metaID("tokenizer.ggml.eot_token_id", -1)
	eom := metaID("tokenizer.ggml.eom_token_id", -1)
	t.setEOG(eot, eom)
	t.finish()
	return t, nil
}

// initSPM sets up SentencePiece BPE encoding and decoding for a vocabulary
// whose attr, toID and scores are known.
func (t *Tokenizer) initSPM(scores []float32) {
	t.fam = famSPM
	m := &bpeModel{vocab: t.toID, unk: t.unk, cache: newWordCache()}
	m.merges = spmMerges(t.vocab, scores, t.attr, t.toID)
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
		if id, ok := t.toID[byteTokenName(byte(b))]; ok && t.attr[id]&attrByte != 0 {
			m.byteIDs[b] = int32(id)
		}
	}
	m.byteFallback = true
	m.setupChunking(t.vocab)
	t.model = m
	var norm seqNormalizer
	if t.spacePrefix {
		norm = append(norm, prependNormalizer{"\u2581"})
	}
	norm = append(norm, replaceNormalizer{replacer{literal: " ", content: "\u2581"}})
	t.norm = norm
	t.parseAdded = matchUserDefined
	var added []addedToken
	for id, a := range t.attr {
		if a&(attrControl|attrUserDefined|attrUnknown) == 0 || t.vocab[id] == "" {
			continue
		}
		added = append(added, addedToken{id: id, content: t.vocab[id], special: a&attrUserDefined == 0})
	}
	t.added = newAddedVocab(added)
}

// spmMerges derives BPE merges from SentencePiece piece scores: every split
// of a normal piece into two pieces of the vocabulary is a merge, ranked by
// the piece's score (higher first; equal scores share a rank, so the
// leftmost pair wins as in SentencePiece).
func spmMerges(vocab []string, scores []float32, attr []tokenAttr, toID map[string]int) map[uint64]mergeVal {
	rank := scoreRanks(scores, attr)
	merges := make(map[uint64]mergeVal, len(vocab)*2)
	for id, p := range vocab {
		if attr[id]&attrNormal == 0 || len(p) < 2 {
			continue
		}
		for k := 1; k < len(p); k++ {
			if p[k]&0xC0 == 0x80 {
				continue // inside a character
			}
			l, ok1 := toID[p[:k]]
			r, ok2 := toID[p[k:]]
			if !ok1 || !ok2 || !mergeable(attr[l]) || !mergeable(attr[r]) {
				continue
			}
			key := pairKey(int32(l), int32(r))
			if old, dup := merges[key]; dup && old.rank <= rank[id] {
				continue
			}
			merges[key] = mergeVal{rank: rank[id], id: int32(id)}
		}
	}
	return merges
}

func mergeable(a tokenAttr) bool { return a&(attrNormal|attrUserDefined) != 0 }

// scoreRanks ranks normal pieces by score, highest first; equal scores get
// equal ranks.
func scoreRanks(scores []float32, attr []tokenAttr) []int32 {
	idx := make([]int, 0, len(scores))
	for id := range scores {
		if attr[id]&attrNormal != 0 {
			idx = append(idx, id)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	rank := make([]int32, len(scores))
	for i := range rank {
		rank[i] = math.MaxInt32
	}
	r := int32(-1)
	for i, id := range idx {
		if i == 0 || scores[id] != scores[idx[i-1]] {
			r++
		}
		rank[id] = r
	}
	return rank
}

// ggufBPEAddsBOS lists the GGUF BPE pre-tokenizers for which llama.cpp adds
// BOS when tokenizer.ggml.add_bos_token is absent.
var ggufBPEAddsBOS = map[string]bool{
	"llama3": true, "llama-v3": true, "llama-bpe": true, "falcon3": true, "falcon-h1": true,
	"pixtral": true, "midm-2.0": true, "lfm2": true, "deepseek-llm": true, "deepseek-coder": true,
	"deepseek-v3": true,
}

// ggufIgnoreMerges lists the GGUF BPE pre-tokenizers for which llama.cpp
// takes a word found whole in the vocabulary as one token.
var ggufIgnoreMerges = map[string]bool{
	"llama3": true, "llama-v3": true, "llama-bpe": true, "falcon3": true, "falcon-h1": true,
	"pixtral": true, "midm-2.0": true, "lfm2": true, "tekken": true,
}

// ggufAddedTokens returns the control/unknown tokens (special) and
// user-defined tokens (not special) of a GGUF vocabulary.
func (t *Tokenizer) ggufAddedTokens(normalized bool) []addedToken {
	var added []addedToken
	for id, a := range t.attr {
		if a&(attrControl|attrUserDefined|attrUnknown) == 0 || t.vocab[id] == "" {
			continue
		}
		added = append(added, addedToken{id: id, content: t.vocab[id], special: a&attrUserDefined == 0, normalized: normalized && a&attrUserDefined != 0})
	}
	return added
}

// parseGGUFMerges parses "left right" merge strings (split at the first
// space after the first byte, as llama.cpp does).
func parseGGUFMerges(merges []string) ([][2]string, error) {
	out := make([][2]string, len(merges))
	for i, m := range merges {
		k := -1
		if len(m) > 1 {
			k = strings.IndexByte(m[1:], ' ')
		}
		if k < 0 {
			return nil, fmt.Errorf("tokenizer: GGUF merge %d %q has no space", i, m)
		}
		out[i] = [2]string{m[:k+1], m[k+2:]}
	}
	return out, nil
}

// initGGUFBPE sets up byte-level BPE (tokenizer.ggml.model "gpt2").
func (t *Tokenizer) initGGUFBPE(pre string, mergeStrs []string) error {
	t.fam = famGPT2
	t.hideControl = true
	if pre == "" {
		pre = "default"
	}
	sp, err := pretok.ForGGUFPre(pre)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	t.pre = splitPreTokenizer{sp}
	merges, err := parseGGUFMerges(mergeStrs)
	if err != nil {
		return err
	}
	vocab := make(map[string]int, len(t.vocab))
	for id, s := range t.vocab {
		if t.attr[id]&(attrNormal|attrUserDefined) != 0 {
			if _, dup := vocab[s]; !dup {
				vocab[s] = id
			}
		}
	}
	m, err := newHFBPE(vocab, merges, &hfModel{IgnoreMerges: ggufIgnoreMerges[pre]}, true)
	if err != nil {
		return fmt.Errorf("tokenizer: GGUF merges: %w", err)
	}
	m.unk = t.unk
	t.model = m
	t.parseAdded = matchUserDefined
	t.added = newAddedVocab(t.ggufAddedTokens(false))
	return nil
}

// initGGUFSPMBPE sets up merges-ranked BPE over SentencePiece-style pieces
// with byte fallback (tokenizer.ggml.model "gemma4"): spaces become "▁",
// no pre-tokenizer.
func (t *Tokenizer) initGGUFSPMBPE(mergeStrs []string) error {
	t.fam = famSPM
	merges, err := parseGGUFMerges(mergeStrs)
	if err != nil {
		return err
	}
	vocab := make(map[string]int, len(t.vocab))
	for id, s := range t.vocab {
		if _, dup := vocab[s]; !dup {
			vocab[s] = id
		}
	}
	m, err := newHFBPE(vocab, merges, &hfModel{ByteFallback: true, FuseUnk: true}, false)
	if err != nil {
		return fmt.Errorf("tokenizer: GGUF merges: %w", err)
	}
	for b := range m.byteIDs {
		if id := m.byteIDs[b]; id >= 0 && t.attr[id]&attrByte == 0 {
			t.attr[id] = attrByte
		}
	}
	m.unk = t.unk
	t.model = m
	var norm seqNormalizer
	if t.spacePrefix {
		norm = append(norm, prependNormalizer{"\u2581"})
	}
	t.norm = append(norm, replaceNormalizer{replacer{literal: " ", content: "\u2581"}})
	t.parseAdded = matchUserDefined
	t.added = newAddedVocab(t.ggufAddedTokens(false))
	return nil
}

// initGGUFWPM sets up WordPiece for a llama.cpp "bert" vocabulary, which
// spells word-initial pieces "▁word" and continuations without a prefix:
// the Hugging Face BERT pipeline over the vocabulary respelled as
// "word"/"##piece".
func (t *Tokenizer) initGGUFWPM(cls, sep int, addCLS, addSEP bool) {
	t.fam = famWPM
	t.spacePrefix = true
	vocab := make(map[string]int, len(t.vocab))
	for id, s := range t.vocab {
		if t.attr[id]&(attrNormal|attrUserDefined) == 0 {
			continue
		}
		k := "##" + s
		if strings.HasPrefix(s, "\u2581") {
			k = s[len("\u2581"):]
		}
		if _, dup := vocab[k]; !dup {
			vocab[k] = id
		}
	}
	t.model = &wordPieceModel{vocab: vocab, prefix: "##", maxChars: 100, unk: t.unk}
	t.norm = bertNormalizer{cleanText: true, chinese: true, stripAccents: true, lowercase: true}
	t.pre = bertPreTokenizer{}
	p := &templateProcessor{}
	if addCLS && cls >= 0 {
		p.before = []int{cls}
	}
	if addSEP && sep >= 0 {
		p.after = []int{sep}
	}
	t.post = p
	t.parseAdded = matchUserDefined
	t.added = newAddedVocab(t.ggufAddedTokens(false))
}

// initGGUFUnigram sets up SentencePiece Unigram (tokenizer.ggml.model
// "t5").
func (t *Tokenizer) initGGUFUnigram(scores []float32, charsmap []byte, removeExtraSpaces bool) error {
	t.fam = famSPM
	sc := make([]float64, len(scores))
	for i, s := range scores {
		sc[i] = float64(s)
	}
	t.model = newUnigram(t.vocab, sc, t.unk, false, func(id int) bool {
		return t.attr[id]&(attrNormal|attrUserDefined) != 0
	})
	var norm seqNormalizer
	if len(charsmap) > 0 {
		p, err := newPrecompiled(charsmap)
		if err != nil {
			return fmt.Errorf("tokenizer: GGUF precompiled_charsmap: %w", err)
		}
		norm = append(norm, p)
	}
	if removeExtraSpaces {
		norm = append(norm, extraSpaceNormalizer{})
	}
	if t.spacePrefix {
		norm = append(norm, prependNormalizer{" "})
	}
	norm = append(norm, replaceNormalizer{replacer{literal: " ", content: "\u2581"}})
	t.norm = norm
	t.parseAdded = matchUserDefined
	t.added = newAddedVocab(t.ggufAddedTokens(true))
	return nil
}

// anyBytes converts a GGUF array of bytes to []byte.
func anyBytes(v any) []byte {
	switch b := v.(type) {
	case []byte:
		return b
	case []int8:
		out := make([]byte, len(b))
		for i, x := range b {
			out[i] = byte(x)
		}
		return out
	case string:
		return []byte(b)
	}
	return nil
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
