package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is a token matched as a whole in the input text before the
// model runs (Hugging Face "added_tokens", GGUF control and user-defined
// tokens).
type addedToken struct {
	id         int
	content    string
	special    bool // a special/control token (matched only with matchAll)
	lstrip     bool // swallow whitespace on its left
	rstrip     bool // swallow whitespace on its right
	singleWord bool // match only when not inside a word
	normalized bool // matched on the normalized text rather than the raw text
}

// segment is a stretch of input: text (id < 0) or an added token (id >= 0).
type segment struct {
	text  string
	start int // byte offset of text in the input
	id    int
}

// addedVocab matches added tokens in text: leftmost match first, the longest
// token at that position (Hugging Face's leftmost-longest matching).
type addedVocab struct {
	tokens []addedToken
	// raw matches tokens with normalized=false on the raw input, norm those
	// with normalized=true on the normalized text; index [0] holds only the
	// non-special tokens, [1] all tokens.
	raw  [2]*trie
	norm [2]*trie
}

func newAddedVocab(tokens []addedToken) *addedVocab {
	a := &addedVocab{tokens: tokens}
	for i, tk := range tokens {
		if tk.content == "" {
			continue
		}
		set := &a.raw
		if tk.normalized {
			set = &a.norm
		}
		for k := range 2 {
			if k == 0 && tk.special {
				continue
			}
			if set[k] == nil {
				set[k] = newTrie()
			}
			set[k].add(tk.content, i)
		}
	}
	return a
}

func (a *addedVocab) trieFor(set *[2]*trie, mode matchMode) *trie {
	switch mode {
	case matchUserDefined:
		return set[0]
	case matchAll:
		return set[1]
	}
	return nil
}

// hasNormalized reports whether tokens must be matched after normalization.
func (a *addedVocab) hasNormalized(mode matchMode) bool {
	return a != nil && a.trieFor(&a.norm, mode) != nil
}

// split cuts text at the added tokens matched on the raw text.
func (a *addedVocab) split(text string, mode matchMode, dst []segment) []segment {
	if a == nil {
		return append(dst, segment{text: text, id: -1})
	}
	tr := a.trieFor(&a.raw, mode)
	if tr == nil {
		return append(dst, segment{text: text, id: -1})
	}
	return a.splitWith(tr, text, dst)
}

// splitNormalized cuts normalized text at the tokens with normalized=true.
func (a *addedVocab) splitNormalized(text string, mode matchMode, start int, dst []segment) []segment {
	tr := a.trieFor(&a.norm, mode)
	n := len(dst)
	dst = a.splitWith(tr, text, dst)
	for i := n; i < len(dst); i++ {
		dst[i].start += start
	}
	return dst
}

func (a *addedVocab) splitWith(tr *trie, text string, dst []segment) []segment {
	last := 0 // end of the previous token (start of pending text)
	for i := 0; i < len(text); {
		if !tr.first[text[i]] {
			i++
			continue
		}
		ti, end := tr.longest(text, i)
		if ti < 0 {
			i++
			continue
		}
		tk := &a.tokens[ti]
		if tk.singleWord && !isWordBoundary(text, i, end) {
			i++
			continue
		}
		s, e := i, end
		if tk.lstrip {
			for s > last {
				r, w := utf8.DecodeLastRuneInString(text[last:s])
				if !unicode.IsSpace(r) {
					break
				}
				s -= w
			}
		}
		if tk.rstrip {
			for e < len(text) {
				r, w := utf8.DecodeRuneInString(text[e:])
				if !unicode.IsSpace(r) {
					break
				}
				e += w
			}
		}
		if s > last {
			dst = append(dst, segment{text: text[last:s], start: last, id: -1})
		}
		dst = append(dst, segment{id: tk.id, start: s})
		last, i = e, e
	}
	if last < len(text) || len(dst) == 0 {
		dst = append(dst, segment{text: text[last:], start: last, id: -1})
	}
	return dst
}

// isWordBoundary reports whether text[s:e] is not glued to word characters
// on either side (single_word tokens).
func isWordBoundary(text string, s, e int) bool {
	if s > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:s])
		if isWordChar(r) {
			return false
		}
	}
	if e < len(text) {
		r, _ := utf8.DecodeRuneInString(text[e:])
		if isWordChar(r) {
			return false
		}
	}
	return true
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r)
}

// trie is a byte trie over token texts.
type trie struct {
	first [256]bool // bytes that start some token
	nodes []trieNode
}

type trieNode struct {
	next map[byte]int32
	tok  int32 // index into addedVocab.tokens, -1 if none ends here
}

func newTrie() *trie {
	return &trie{nodes: []trieNode{{tok: -1}}}
}

func (t *trie) add(s string, tok int) {
	t.first[s[0]] = true
	n := int32(0)
	for i := 0; i < len(s); i++ {
		nx, ok := t.nodes[n].next[s[i]]
		if !ok {
			if t.nodes[n].next == nil {
				t.nodes[n].next = map[byte]int32{}
			}
			nx = int32(len(t.nodes))
			t.nodes[n].next[s[i]] = nx
			t.nodes = append(t.nodes, trieNode{tok: -1})
		}
		n = nx
	}
	if t.nodes[n].tok < 0 {
		t.nodes[n].tok = int32(tok)
	}
}

// longest returns the longest token starting at text[i:] and its end, or -1.
func (t *trie) longest(text string, i int) (tok, end int) {
	tok, end = -1, i
	n := int32(0)
	for j := i; j < len(text); j++ {
		nx, ok := t.nodes[n].next[text[j]]
		if !ok {
			break
		}
		n = nx
		if t.nodes[n].tok >= 0 {
			tok, end = int(t.nodes[n].tok), j+1
		}
	}
	return tok, end
}
