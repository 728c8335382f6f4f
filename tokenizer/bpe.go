package tokenizer

import (
	"unicode/utf8"
)

// model tokenizes one pre-tokenized word.
type model interface {
	// encodeWord appends the ids of word to dst.
	encodeWord(word string, dst []int, sc *bpeScratch) []int
}

// mergeVal is the result of merging a pair of symbols.
type mergeVal struct {
	rank int32 // lower merges first
	id   int32 // the merged token
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeModel is byte-pair encoding: the word starts as one symbol per
// character (byte-level: per byte), then the adjacent pair with the lowest
// merge rank is merged, leftmost first on equal ranks, until no pair can be
// merged.
//
// It serves both Hugging Face BPE (rank = position in the merges list) and
// SentencePiece BPE (rank = order of the merged piece's score, equal scores
// sharing a rank, so that ties go to the leftmost pair as in SentencePiece).
type bpeModel struct {
	vocab  map[string]int // token text -> id
	merges map[uint64]mergeVal

	// byteLevel: words are raw bytes; each byte starts as byteIDs[b].
	byteLevel bool
	// byteFallback: a character missing from the vocabulary becomes the
	// byte tokens <0xXX> of its UTF-8 bytes.
	byteFallback bool
	byteIDs      [256]int32 // byte-level symbol or <0xXX> token per byte; -1 if absent

	unk          int  // unknown token id, -1 if none
	fuseUnk      bool // consecutive unknown characters become one unk
	ignoreMerges bool // a word found whole in the vocabulary is one token

	contPrefix string // continuing_subword_prefix
	eowSuffix  string // end_of_word_suffix

	cache *wordCache

	// chunkSP enables splitting long words before "▁" (see chunkable).
	chunkSP bool
	// glueSP holds the characters that some piece has right before a "▁":
	// no split is made after them.
	glueSP map[rune]bool
}

const metaSpace = "\u2581"

// setupChunking looks at the vocabulary to see whether long SentencePiece
// style words can be cut before each "▁" without changing the result: a
// cut between a character X and "▁" is safe when no piece contains X
// immediately followed by "▁", since every merge produces a piece.
func (m *bpeModel) setupChunking(pieces []string) {
	if m.byteLevel {
		return
	}
	glue := map[rune]bool{}
	for _, p := range pieces {
		for i := 1; i < len(p); i++ {
			if p[i] == 0xE2 && len(p)-i >= 3 && p[i:i+3] == metaSpace {
				r, _ := utf8.DecodeLastRuneInString(p[:i])
				glue[r] = true
				if len(glue) > 4096 {
					return
				}
			}
		}
	}
	m.chunkSP, m.glueSP = true, glue
}

// encodeChunks encodes a long word as independent chunks, each starting at
// a "▁" that follows a character no piece glues to it.
func (m *bpeModel) encodeChunks(word string, dst []int, sc *bpeScratch) []int {
	start := 0
	for i := 1; i+len(metaSpace) <= len(word); i++ {
		if word[i] != 0xE2 || word[i:i+3] != metaSpace {
			continue
		}
		r, _ := utf8.DecodeLastRuneInString(word[:i])
		if r == '\u2581' || m.glueSP[r] {
			continue
		}
		dst = m.encodeOne(word[start:i], dst, sc)
		start = i
	}
	return m.encodeOne(word[start:], dst, sc)
}

// bpeScratch is reusable per-call memory.
type bpeScratch struct {
	syms []bpeSym
	heap []bpeCand
	ids  []int32
	key  []byte
}

type bpeSym struct {
	id         int32
	prev, next int32 // neighbours, -1 at the ends
	alive      bool
}

type bpeCand struct {
	rank int32
	pos  int32 // index of the left symbol
	a, b int32 // ids expected at pos and its next symbol
	id   int32
}

func (m *bpeModel) encodeWord(word string, dst []int, sc *bpeScratch) []int {
	if m.chunkSP && len(word) > maxCachedWord {
		return m.encodeChunks(word, dst, sc)
	}
	return m.encodeOne(word, dst, sc)
}

// encodeOne encodes one word (chunk).
func (m *bpeModel) encodeOne(word string, dst []int, sc *bpeScratch) []int {
	if m.cache != nil && len(word) <= maxCachedWord {
		if ids, ok := m.cache.get(word); ok {
			for _, id := range ids {
				dst = append(dst, int(id))
			}
			return dst
		}
	}
	if m.ignoreMerges {
		key := word
		if m.byteLevel {
			sc.key = appendByteLevelEncode(sc.key[:0], word)
			if id, ok := m.vocab[string(sc.key)]; ok {
				return append(dst, id)
			}
		} else if id, ok := m.vocab[key]; ok {
			return append(dst, id)
		}
	}
	syms := m.initSymbols(word, sc.syms[:0])
	sc.syms = syms
	if len(syms) > 1 {
		if len(syms) <= 48 {
			m.mergeScan(syms)
		} else {
			sc.heap = m.mergeHeap(syms, sc.heap[:0])
		}
	}
	n := len(dst)
	for i := int32(0); i >= 0 && int(i) < len(syms); {
		if !syms[i].alive {
			i++
			continue
		}
		dst = append(dst, int(syms[i].id))
		i = syms[i].next
	}
	if m.cache != nil && len(word) <= maxCachedWord {
		ids := make([]int32, len(dst)-n)
		for k, id := range dst[n:] {
			ids[k] = int32(id)
		}
		m.cache.put(word, ids)
	}
	return dst
}

// initSymbols splits word into its initial symbols.
func (m *bpeModel) initSymbols(word string, syms []bpeSym) []bpeSym {
	push := func(id int32) {
		n := int32(len(syms))
		syms = append(syms, bpeSym{id: id, prev: n - 1, next: n + 1, alive: true})
	}
	if m.byteLevel {
		for i := 0; i < len(word); i++ {
			if id := m.byteIDs[word[i]]; id >= 0 {
				push(id)
			} else if m.unk >= 0 {
				push(int32(m.unk))
			}
		}
	} else {
		lastUnk := false
		for i := 0; i < len(word); {
			_, w := utf8.DecodeRuneInString(word[i:])
			ch := word[i : i+w]
			id, ok := m.lookupChar(word, ch, i, i+w)
			if ok {
				push(int32(id))
				lastUnk = false
			} else if m.byteFallback && m.hasBytes(ch) {
				for k := 0; k < len(ch); k++ {
					push(m.byteIDs[ch[k]])
				}
				lastUnk = false
			} else if m.unk >= 0 {
				if !(m.fuseUnk && lastUnk) {
					push(int32(m.unk))
				}
				lastUnk = true
			}
			i += w
		}
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// lookupChar finds the initial symbol for the character word[s:e], with the
// continuing-subword prefix and end-of-word suffix when configured.
func (m *bpeModel) lookupChar(word, ch string, s, e int) (int, bool) {
	if m.contPrefix == "" && m.eowSuffix == "" {
		id, ok := m.vocab[ch]
		return id, ok
	}
	k := ch
	if s > 0 {
		k = m.contPrefix + k
	}
	if e == len(word) {
		k += m.eowSuffix
	}
	id, ok := m.vocab[k]
	return id, ok
}

func (m *bpeModel) hasBytes(ch string) bool {
	for k := 0; k < len(ch); k++ {
		if m.byteIDs[ch[k]] < 0 {
			return false
		}
	}
	return true
}

// mergeScan merges short words by scanning all pairs each round.
func (m *bpeModel) mergeScan(syms []bpeSym) {
	for {
		best := mergeVal{rank: -1}
		bestPos := int32(-1)
		for i := int32(0); i >= 0; i = syms[i].next {
			j := syms[i].next
			if j < 0 {
				break
			}
			mv, ok := m.merges[pairKey(syms[i].id, syms[j].id)]
			if ok && (bestPos < 0 || mv.rank < best.rank) {
				best, bestPos = mv, i
			}
		}
		if bestPos < 0 {
			return
		}
		j := syms[bestPos].next
		syms[bestPos].id = best.id
		syms[bestPos].next = syms[j].next
		if nx := syms[j].next; nx >= 0 {
			syms[nx].prev = bestPos
		}
		syms[j].alive = false
	}
}

// mergeHeap merges long words with a priority queue: O(n log n).
func (m *bpeModel) mergeHeap(syms []bpeSym, h []bpeCand) []bpeCand {
	add := func(i int32) {
		j := syms[i].next
		if j < 0 {
			return
		}
		a, b := syms[i].id, syms[j].id
		if mv, ok := m.merges[pairKey(a, b)]; ok {
			h = heapPush(h, bpeCand{rank: mv.rank, pos: i, a: a, b: b, id: mv.id})
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		add(i)
	}
	for len(h) > 0 {
		var c bpeCand
		c, h = heapPop(h)
		i := c.pos
		if !syms[i].alive || syms[i].id != c.a {
			continue
		}
		j := syms[i].next
		if j < 0 || syms[j].id != c.b {
			continue
		}
		syms[i].id = c.id
		syms[i].next = syms[j].next
		if nx := syms[j].next; nx >= 0 {
			syms[nx].prev = i
		}
		syms[j].alive = false
		if p := syms[i].prev; p >= 0 {
			add(p)
		}
		add(i)
	}
	return h
}

func candLess(x, y bpeCand) bool {
	return x.rank < y.rank || x.rank == y.rank && x.pos < y.pos
}

func heapPush(h []bpeCand, c bpeCand) []bpeCand {
	h = append(h, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !candLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []bpeCand) (bpeCand, []bpeCand) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		s := l
		if r := l + 1; r < n && candLess(h[r], h[l]) {
			s = r
		}
		if !candLess(h[s], h[i]) {
			break
		}
		h[i], h[s] = h[s], h[i]
		i = s
	}
	return top, h
}
