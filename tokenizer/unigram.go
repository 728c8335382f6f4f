package tokenizer

import (
	"errors"
	"math"
	"sort"
	"unicode/utf8"
)

// unigramModel is the Unigram language model (SentencePiece "unigram",
// T5, ALBERT, XLNet, ...): the segmentation with the highest total piece
// score (Viterbi). A character no piece covers costs the lowest score minus
// 10 and becomes the unknown token; consecutive unknown characters are
// fused into one. With byte fallback an unknown stretch becomes the byte
// tokens of its UTF-8 bytes instead.
type unigramModel struct {
	pieces       []string
	scores       []float64
	unk          int
	byteFallback bool
	byteIDs      [256]int32
	unkScore     float64
	trie         pieceTrie
	vocab        map[string]int
}

// pieceTrie is a byte trie with sorted child lists.
type pieceTrie struct {
	nodes []ptNode
	edges []ptEdge
}

type ptNode struct {
	first, n int32 // children: edges[first : first+n], sorted by label
	id       int32 // piece ending here, -1 if none
}

type ptEdge struct {
	label byte
	to    int32
}

// buildPieceTrie builds a trie over the pieces with ids (ids < 0 skipped).
func buildPieceTrie(pieces []string, usable func(id int) bool) pieceTrie {
	type kv struct {
		s  string
		id int
	}
	list := make([]kv, 0, len(pieces))
	for id, p := range pieces {
		if p != "" && usable(id) {
			list = append(list, kv{p, id})
		}
	}
	sort.Slice(list, func(a, b int) bool { return list[a].s < list[b].s })
	var t pieceTrie
	// Build recursively over the sorted list: each node's children are the
	// distinct next bytes of the range.
	t.nodes = append(t.nodes, ptNode{id: -1})
	var build func(node int32, lo, hi, depth int)
	build = func(node int32, lo, hi, depth int) {
		if lo < hi && len(list[lo].s) == depth {
			if t.nodes[node].id < 0 {
				t.nodes[node].id = int32(list[lo].id)
			}
			lo++
			// duplicates of the same string
			for lo < hi && len(list[lo].s) == depth {
				lo++
			}
		}
		if lo >= hi {
			return
		}
		type child struct {
			label  byte
			lo, hi int
		}
		var kids []child
		for i := lo; i < hi; {
			c := list[i].s[depth]
			j := i + 1
			for j < hi && list[j].s[depth] == c {
				j++
			}
			kids = append(kids, child{c, i, j})
			i = j
		}
		first := int32(len(t.edges))
		t.nodes[node].first, t.nodes[node].n = first, int32(len(kids))
		for _, k := range kids {
			t.nodes = append(t.nodes, ptNode{id: -1})
			t.edges = append(t.edges, ptEdge{label: k.label, to: int32(len(t.nodes) - 1)})
		}
		for i, k := range kids {
			build(t.edges[first+int32(i)].to, k.lo, k.hi, depth+1)
		}
	}
	build(0, 0, len(list), 0)
	return t
}

func (t *pieceTrie) child(node int32, c byte) int32 {
	nd := &t.nodes[node]
	e := t.edges[nd.first : nd.first+nd.n]
	lo, hi := 0, len(e)
	for lo < hi {
		m := (lo + hi) / 2
		if e[m].label < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(e) && e[lo].label == c {
		return e[lo].to
	}
	return -1
}

const unkPenalty = 10.0

func newUnigram(pieces []string, scores []float64, unk int, byteFallback bool, usable func(id int) bool) *unigramModel {
	m := &unigramModel{pieces: pieces, scores: scores, unk: unk, byteFallback: byteFallback}
	minScore := math.Inf(1)
	for id, s := range scores {
		if usable(id) && s < minScore {
			minScore = s
		}
	}
	if math.IsInf(minScore, 1) {
		minScore = 0
	}
	m.unkScore = minScore - unkPenalty
	m.trie = buildPieceTrie(pieces, usable)
	m.vocab = make(map[string]int, len(pieces))
	for id, p := range pieces {
		if _, dup := m.vocab[p]; !dup {
			m.vocab[p] = id
		}
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
		if id, ok := m.vocab[byteTokenName(byte(b))]; ok {
			m.byteIDs[b] = int32(id)
		}
	}
	return m
}

type viterbiNode struct {
	score float64
	start int32 // start of the best piece ending here, -1 unreached
	id    int32 // piece id, or -1 for unknown
}

func (m *unigramModel) encodeWord(word string, dst []int, sc *bpeScratch) []int {
	n := len(word)
	best := make([]viterbiNode, n+1)
	for i := range best {
		best[i].start = -1
	}
	best[0].start = 0
	for i := 0; i < n; {
		_, w := utf8.DecodeRuneInString(word[i:])
		if best[i].start < 0 {
			i += w
			continue
		}
		base := best[i].score
		single := false
		node := int32(0)
		for j := i; j < n; j++ {
			node = m.trie.child(node, word[j])
			if node < 0 {
				break
			}
			if id := m.trie.nodes[node].id; id >= 0 {
				end := j + 1
				s := base + m.scores[id]
				if best[end].start < 0 || s > best[end].score {
					best[end] = viterbiNode{score: s, start: int32(i), id: id}
				}
				if end-i == w {
					single = true
				}
			}
		}
		if !single {
			end := i + w
			s := base + m.unkScore
			if best[end].start < 0 || s > best[end].score {
				best[end] = viterbiNode{score: s, start: int32(i), id: -1}
			}
		}
		i += w
	}
	// Backtrack, fusing unknown stretches.
	type piece struct {
		s, e int
		id   int32
	}
	var rev []piece
	for e := n; e > 0; {
		nd := best[e]
		s := int(nd.start)
		if nd.id < 0 && len(rev) > 0 && rev[len(rev)-1].id < 0 {
			rev[len(rev)-1].s = s
		} else {
			rev = append(rev, piece{s, e, nd.id})
		}
		e = s
	}
	for k := len(rev) - 1; k >= 0; k-- {
		p := rev[k]
		if p.id >= 0 {
			dst = append(dst, int(p.id))
			continue
		}
		if m.byteFallback && m.hasBytes(word[p.s:p.e]) {
			for b := p.s; b < p.e; b++ {
				dst = append(dst, int(m.byteIDs[word[b]]))
			}
			continue
		}
		if m.unk >= 0 {
			dst = append(dst, m.unk)
		}
	}
	return dst
}

func (m *unigramModel) hasBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if m.byteIDs[s[i]] < 0 {
			return false
		}
	}
	return true
}

// buildUnigram makes a tokenizer.json Unigram model.
func buildUnigram(pieces []string, scores []float64, hm *hfModel) (map[string]int, model, string, error) {
	vocab := make(map[string]int, len(pieces))
	for i, p := range pieces {
		if _, dup := vocab[p]; !dup {
			vocab[p] = i
		}
	}
	unk := -1
	if hm.UnkID != nil {
		unk = *hm.UnkID
		if unk < 0 || unk >= len(pieces) {
			return nil, nil, "", errors.New("Unigram unk_id out of range")
		}
	}
	m := newUnigram(pieces, scores, unk, hm.ByteFallback, func(id int) bool { return id != unk })
	name := ""
	if unk >= 0 {
		name = pieces[unk]
	}
	return vocab, m, name, nil
}
