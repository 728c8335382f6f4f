package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goformer/goformer/tokenizer/pretok"
)

// FromFile loads a tokenizer.json. A tokenizer_config.json in the same
// directory supplies BOS/EOS (bos_token, eos_token), add_bos_token /
// add_eos_token, clean_up_tokenization_spaces and chat_template. A path
// that is a directory or does not end in .json is handed to Load
// (tokenizer.model, .gguf, encoder.json + vocab.bpe directories).
func FromFile(path string) (*Tokenizer, error) {
	if st, err := os.Stat(path); err == nil && (st.IsDir() || !strings.HasSuffix(strings.ToLower(path), ".json")) {
		return Load(path)
	}
	if filepath.Base(path) == "encoder.json" {
		return Load(path)
	}
	return fromJSONFile(path)
}

// fromJSONFile loads a tokenizer.json and the tokenizer_config.json beside
// it.
func fromJSONFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var cfg []byte
	if c, err := os.ReadFile(filepath.Join(filepath.Dir(path), "tokenizer_config.json")); err == nil {
		cfg = c
	}
	t, err := FromJSON(data, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// FromJSON builds a tokenizer from the contents of a tokenizer.json and,
// optionally (nil), of its tokenizer_config.json.
func FromJSON(tokenizerJSON, configJSON []byte) (t *Tokenizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("tokenizer: invalid tokenizer.json: %v", r)
		}
	}()
	h, err := scanTokenizerJSON(tokenizerJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	if len(h.file.Model) == 0 || string(h.file.Model) == "null" {
		return nil, errors.New("tokenizer: tokenizer.json has no model")
	}
	var cfg hfConfig
	if len(configJSON) > 0 {
		if err := json.Unmarshal(configJSON, &cfg); err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer_config.json: %w", err)
		}
	}
	return buildHF(h, &cfg)
}

// hfFile is the top level of a tokenizer.json.
type hfFile struct {
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

type hfAddedToken struct {
	ID         *int   `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

// hfConfig is the part of tokenizer_config.json used here.
type hfConfig struct {
	BOS          tokenRef        `json:"bos_token"`
	EOS          tokenRef        `json:"eos_token"`
	UNK          tokenRef        `json:"unk_token"`
	PAD          tokenRef        `json:"pad_token"`
	AddBOS       *bool           `json:"add_bos_token"`
	AddEOS       *bool           `json:"add_eos_token"`
	CleanUp      *bool           `json:"clean_up_tokenization_spaces"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// tokenRef is a token given as a string or as {"content": ...}.
type tokenRef struct {
	s  string
	ok bool
}

func (r *tokenRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		r.ok = true
		return json.Unmarshal(b, &r.s)
	}
	var o struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	r.s, r.ok = o.Content, true
	return nil
}

// chatTemplateString extracts the default chat template: a string, or the
// entry named "default" (else the first) of a list of {name, template}.
func chatTemplateString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		for _, e := range list {
			if e.Name == "default" {
				return e.Template
			}
		}
		return list[0].Template
	}
	return ""
}

// typed reads the "type" of a component.
func typeOf(raw json.RawMessage) (string, error) {
	var h struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", err
	}
	return h.Type, nil
}

func isNull(raw json.RawMessage) bool {
	r := bytes.TrimSpace(raw)
	return len(r) == 0 || string(r) == "null"
}

// hfPattern is {"String": ...} or {"Regex": ...}.
type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// finder compiles a pattern into a span finder (nil for a literal, whose
// text is returned).
func (p hfPattern) compile() (literal string, f spanFinder, err error) {
	switch {
	case p.String != nil:
		return *p.String, nil, nil
	case p.Regex != nil:
		s, err := pretok.New(*p.Regex)
		if err != nil {
			return "", nil, err
		}
		fd, ok := s.(pretok.Finder)
		if !ok {
			return "", nil, fmt.Errorf("pattern %q: no match finder", *p.Regex)
		}
		return "", fd, nil
	}
	return "", nil, errors.New("pattern has neither String nor Regex")
}

func buildHF(h *hfFast, cfg *hfConfig) (*Tokenizer, error) {
	j := &h.file
	t := &Tokenizer{bos: -1, eos: -1, unk: -1, pad: -1, fam: famHF, parseAdded: matchAll}
	// Pre-tokenizer first: it decides whether the model is byte-level.
	var byteLevel bool
	if !isNull(j.PreTokenizer) {
		p, bl, err := parsePreTokenizer(j.PreTokenizer)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: pre_tokenizer: %w", err)
		}
		t.pre, byteLevel = p, bl
	}
	if !isNull(j.Normalizer) {
		n, bl, err := parseNormalizer(j.Normalizer)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: normalizer: %w", err)
		}
		t.norm = n
		byteLevel = byteLevel || bl
	}
	vocab, m, unkName, err := h.buildModel(byteLevel)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: model: %w", err)
	}
	t.model = m

	// The id space: model vocabulary plus added tokens.
	size := 0
	for _, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: model: negative id %d", id)
		}
		size = max(size, id+1)
	}
	for _, a := range j.AddedTokens {
		if a.ID == nil || *a.ID < 0 {
			return nil, fmt.Errorf("tokenizer: added token %q has no valid id", a.Content)
		}
		size = max(size, *a.ID+1)
	}
	if size > 1<<26 {
		return nil, fmt.Errorf("tokenizer: vocabulary of %d ids is too large", size)
	}
	t.attr = make([]tokenAttr, size)
	t.toID = vocab // shared with the model; added tokens go to t.extraIDs
	bfb := false
	if bm, ok := m.(*bpeModel); ok && bm.byteFallback {
		bfb = true
	}
	if h.rev != nil && len(h.rev) <= size && len(h.rev) >= len(vocab) && h.vocab != nil {
		// The scanner's reverse vocabulary: ids are unique when it has as
		// many entries as the map.
		t.vocab = append(make([]string, 0, size), h.rev...)[:size]
		for id, s := range t.vocab[:len(h.rev)] {
			if s == "" {
				if vid, ok := vocab[""]; !ok || vid != id {
					continue
				}
			}
			t.attr[id] = attrNormal
			if bfb && len(s) == 6 {
				if _, ok := isByteToken(s); ok {
					t.attr[id] = attrByte
				}
			}
		}
	} else {
		t.vocab = make([]string, size)
		for s, id := range vocab {
			t.vocab[id] = s
			t.attr[id] = attrNormal
			if bfb && len(s) == 6 {
				if _, ok := isByteToken(s); ok {
					t.attr[id] = attrByte
				}
			}
		}
	}
	var added []addedToken
	for _, a := range j.AddedTokens {
		id := *a.ID
		t.vocab[id] = a.Content
		if a.Special {
			t.attr[id] = attrControl
		} else {
			t.attr[id] |= attrUserDefined
			t.attr[id] &^= attrNormal
		}
		if _, ok := t.extraIDs[a.Content]; !ok {
			if t.extraIDs == nil {
				t.extraIDs = map[string]int{}
			}
			t.extraIDs[a.Content] = id
		}
		norm := !a.Special
		if a.Normalized != nil {
			norm = *a.Normalized
		}
		added = append(added, addedToken{id: id, content: a.Content, special: a.Special,
			lstrip: a.Lstrip, rstrip: a.Rstrip, singleWord: a.SingleWord, normalized: norm && t.norm != nil})
	}
	t.added = newAddedVocab(added)
	if unkName != "" {
		if id, ok := t.lookup(unkName); ok {
			t.unk = id
			t.attr[id] |= attrUnknown
		}
	}
	if bm, ok := m.(*bpeModel); ok {
		bm.unk = t.unk
	}
	if wm, ok := m.(*wordPieceModel); ok {
		wm.unk = t.unk
	}
	if wl, ok := m.(*wordLevelModel); ok {
		wl.unk = t.unk
	}

	if !isNull(j.PostProcessor) {
		p, err := parsePostProcessor(j.PostProcessor, t.lookup)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: post_processor: %w", err)
		}
		t.post = p
	}
	if !isNull(j.Decoder) {
		d, err := parseDecoder(j.Decoder)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: decoder: %w", err)
		}
		t.dec = d
	} else {
		t.dec = joinDecoder{}
	}

	// Special tokens: tokenizer_config.json, else the post-processor's
	// template, else well-known names.
	lookup := func(r tokenRef) int {
		if !r.ok {
			return -1
		}
		if id, ok := t.lookup(r.s); ok {
			return id
		}
		return -1
	}
	t.bos, t.eos = lookup(cfg.BOS), lookup(cfg.EOS)
	if cfg.UNK.ok {
		if id := lookup(cfg.UNK); id >= 0 {
			t.unk = id
		}
	}
	t.pad = lookup(cfg.PAD)
	if !cfg.BOS.ok || !cfg.EOS.ok {
		first, last := -1, -1
		if tp, ok := t.post.(*templateProcessor); ok {
			first, last = tp.edges()
		}
		if !cfg.BOS.ok {
			t.bos = first
			if t.bos < 0 {
				t.bos = t.firstKnown("<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>", "[CLS]")
			}
		}
		if !cfg.EOS.ok {
			t.eos = last
			if t.eos < 0 {
				t.eos = t.firstKnown("</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>", "[SEP]")
			}
		}
	}
	if t.pad < 0 && !cfg.PAD.ok {
		t.pad = t.firstKnown("<pad>", "[PAD]", "<|pad|>")
	}
	if cfg.AddBOS != nil && *cfg.AddBOS && !t.postAdds(t.bos, true) {
		t.addBOS = true
	}
	if cfg.AddEOS != nil && *cfg.AddEOS && !t.postAdds(t.eos, false) {
		t.addEOS = true
	}
	if cfg.CleanUp != nil {
		t.cleanup = *cfg.CleanUp
	}
	t.chatTemplate = chatTemplateString(cfg.ChatTemplate)
	t.setEOG()
	t.finish()
	return t, nil
}

// postAdds reports whether the post-processor puts id first (or last).
func (t *Tokenizer) postAdds(id int, first bool) bool {
	if t.post == nil || id < 0 {
		return false
	}
	ids := t.post.process(nil)
	if len(ids) == 0 {
		return false
	}
	if first {
		return ids[0] == id
	}
	return ids[len(ids)-1] == id
}

func (t *Tokenizer) firstKnown(names ...string) int {
	for _, n := range names {
		if id, ok := t.lookup(n); ok && t.attr[id]&attrControl != 0 {
			return id
		}
	}
	return -1
}

// joinDecoder is the default when tokenizer.json has no decoder: tokens
// joined with spaces.
type joinDecoder struct{}

func (joinDecoder) decodeChain(toks []string, c decodeCtx) []string {
	if c.cont {
		out := make([]string, len(toks))
		for i, s := range toks {
			out[i] = " " + s
		}
		return out
	}
	return []string{strings.Join(toks, " ")}
}

// ---- models ----

type hfModel struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	UnkID                   *int            `json:"unk_id"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
	Dropout                 *float64        `json:"dropout"`
}

// buildModel returns the model vocabulary (token -> id), the model and the
// unknown token's text.
func (h *hfFast) buildModel(byteLevel bool) (map[string]int, model, string, error) {
	hm := &h.model
	typ := hm.Type
	if typ == "" {
		// Older files omit the type: infer it.
		switch {
		case h.mergesFound:
			typ = "BPE"
		case h.hasUni:
			typ = "Unigram"
		case hm.ContinuingSubwordPrefix != nil:
			typ = "WordPiece"
		default:
			typ = "WordLevel"
		}
	}
	unk := ""
	if hm.UnkToken != nil {
		unk = *hm.UnkToken
	}
	if typ != "Unigram" && h.vocab == nil {
		return nil, nil, "", fmt.Errorf("%s model without a vocab object", typ)
	}
	switch typ {
	case "BPE":
		if h.mergeIDs != nil || !h.mergesFound {
			rev := h.rev
			if rev == nil || len(h.vocab) == 0 {
				rev = reverseVocab(h.vocab)
			}
			m, err := newBPE(h.vocab, rev, h.mergeIDs, hm, byteLevel)
			return h.vocab, m, unk, err
		}
		m, err := newHFBPE(h.vocab, h.merges, hm, byteLevel)
		return h.vocab, m, unk, err
	case "WordPiece":
		m := newWordPiece(h.vocab, hm)
		if unk == "" {
			unk = "[UNK]"
		}
		return h.vocab, m, unk, nil
	case "WordLevel":
		return h.vocab, &wordLevelModel{vocab: h.vocab, unk: -1}, unk, nil
	case "Unigram":
		if !h.hasUni {
			return nil, nil, "", errors.New("Unigram model without a vocab list")
		}
		return buildUnigram(h.uniPieces, h.uniScores, hm)
	}
	return nil, nil, "", fmt.Errorf("unknown model type %q", typ)
}

// newHFBPE builds a BPE model from a vocabulary and ranked merges given as
// token texts.
func newHFBPE(vocab map[string]int, merges [][2]string, hm *hfModel, byteLevel bool) (*bpeModel, error) {
	ids := make([][2]int32, len(merges))
	for i, p := range merges {
		a, ok1 := vocab[p[0]]
		b, ok2 := vocab[p[1]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("merge %q %q: token not in the vocabulary", p[0], p[1])
		}
		ids[i] = [2]int32{int32(a), int32(b)}
	}
	return newBPE(vocab, reverseVocab(vocab), ids, hm, byteLevel)
}

// reverseVocab returns id -> text for a vocabulary.
func reverseVocab(vocab map[string]int) []string {
	n := 0
	for _, id := range vocab {
		n = max(n, id+1)
	}
	rev := make([]string, n)
	for s, id := range vocab {
		if id >= 0 {
			rev[id] = s
		}
	}
	return rev
}

// newBPE builds a BPE model from a vocabulary (and its reverse) and ranked
// merges given as id pairs.
func newBPE(vocab map[string]int, rev []string, merges [][2]int32, hm *hfModel, byteLevel bool) (*bpeModel, error) {
	m := &bpeModel{
		vocab:        vocab,
		unk:          -1,
		fuseUnk:      hm.FuseUnk,
		byteFallback: hm.ByteFallback,
		ignoreMerges: hm.IgnoreMerges,
		byteLevel:    byteLevel,
		cache:        newWordCache(),
	}
	if hm.ContinuingSubwordPrefix != nil {
		m.contPrefix = *hm.ContinuingSubwordPrefix
	}
	if hm.EndOfWordSuffix != nil {
		m.eowSuffix = *hm.EndOfWordSuffix
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
	}
	if byteLevel {
		for b := range 256 {
			if id, ok := vocab[byteToString[b]]; ok {
				m.byteIDs[b] = int32(id)
			}
		}
	} else if m.byteFallback {
		for b := range 256 {
			if id, ok := vocab[byteTokenName(byte(b))]; ok {
				m.byteIDs[b] = int32(id)
			}
		}
	}
	m.setupChunking(rev)
	m.merges = make(map[uint64]mergeVal, len(merges))
	var buf []byte
	for rank, p := range merges {
		a, b := p[0], p[1]
		if a < 0 || b < 0 || int(a) >= len(rev) || int(b) >= len(rev) {
			return nil, fmt.Errorf("merge %d: id out of range", rank)
		}
		right := rev[b]
		if m.contPrefix != "" && len(right) >= len(m.contPrefix) && right[:len(m.contPrefix)] == m.contPrefix {
			right = right[len(m.contPrefix):]
		}
		buf = append(append(buf[:0], rev[a]...), right...)
		id, ok := vocab[string(buf)]
		if !ok {
			return nil, fmt.Errorf("merge %q %q: result %q not in the vocabulary", rev[a], rev[b], buf)
		}
		k := pairKey(a, b)
		if _, dup := m.merges[k]; !dup {
			m.merges[k] = mergeVal{rank: int32(rank), id: int32(id)}
		}
	}
	return m, nil
}
