package tokenizer

import "unicode/utf8"

// wordPieceModel is WordPiece (BERT): greedy longest-match-first, pieces
// after the first spelled with the continuing-subword prefix ("##"). A word
// that cannot be covered, or longer than maxChars characters, becomes the
// unknown token.
type wordPieceModel struct {
	vocab    map[string]int
	prefix   string
	maxChars int
	unk      int
}

func newWordPiece(vocab map[string]int, hm *hfModel) *wordPieceModel {
	m := &wordPieceModel{vocab: vocab, prefix: "##", maxChars: 100, unk: -1}
	if hm.ContinuingSubwordPrefix != nil {
		m.prefix = *hm.ContinuingSubwordPrefix
	}
	if hm.MaxInputCharsPerWord != nil {
		m.maxChars = *hm.MaxInputCharsPerWord
	}
	return m
}

func (m *wordPieceModel) encodeWord(word string, dst []int, sc *bpeScratch) []int {
	if utf8.RuneCountInString(word) > m.maxChars {
		return m.unkOf(dst)
	}
	n := len(dst)
	key := sc.key[:0]
	for start := 0; start < len(word); {
		end := len(word)
		found := -1
		for end > start {
			var id int
			var ok bool
			if start == 0 {
				id, ok = m.vocab[word[start:end]]
			} else {
				key = append(append(key[:0], m.prefix...), word[start:end]...)
				id, ok = m.vocab[string(key)]
			}
			if ok {
				found = id
				break
			}
			_, w := utf8.DecodeLastRuneInString(word[start:end])
			end -= w
		}
		if found < 0 {
			sc.key = key
			return m.unkOf(dst[:n])
		}
		dst = append(dst, found)
		start = end
	}
	sc.key = key
	return dst
}

func (m *wordPieceModel) unkOf(dst []int) []int {
	if m.unk >= 0 {
		return append(dst, m.unk)
	}
	return dst
}

// wordLevelModel maps each word to its id, or to the unknown token.
type wordLevelModel struct {
	vocab map[string]int
	unk   int
}

func (m *wordLevelModel) encodeWord(word string, dst []int, _ *bpeScratch) []int {
	if id, ok := m.vocab[word]; ok {
		return append(dst, id)
	}
	if m.unk >= 0 {
		return append(dst, m.unk)
	}
	return dst
}
