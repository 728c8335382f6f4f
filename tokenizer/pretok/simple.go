package pretok

import "unicode/utf8"

// classRunParams matches PREFIX?CLASS{min,max} where PREFIX (optional) is
// \s and CLASS is a set of class bits (or its complement). It covers the
// simple stages of llama.cpp's and HF's multi-regex pre-tokenizers, such as
// \p{N}, \p{N}{1,3}, [0-9][0-9][0-9], \s?\p{L}+ and [\p{P}$+<=>^~|]+.
type classRunParams struct {
	mask   uint16
	negate bool // CLASS is [^mask]
	min    int
	max    int    // 0: unlimited
	prefix uint16 // 0: no prefix; otherwise PREFIX? is a code point of this class (disjoint from CLASS)
}

func (p *classRunParams) in(c uint16) bool {
	if p.negate {
		return c&p.mask == 0
	}
	return c&p.mask != 0
}

// run counts CLASS code points from i (at most max) and returns the end and count.
func (p *classRunParams) run(s string, i int) (int, int) {
	n := 0
	for i < len(s) && (p.max == 0 || n < p.max) {
		var c uint16
		w := 1
		if b := s[i]; b < utf8.RuneSelf {
			c = asciiClass[b]
		} else {
			c, w = classOf(s, i)
		}
		if !p.in(c) {
			break
		}
		i += w
		n++
	}
	return i, n
}

func (p *classRunParams) match(s string, i int) int {
	if p.prefix != 0 {
		if c, w := classOf(s, i); c&p.prefix != 0 {
			if e, n := p.run(s, i+w); n >= p.min && n > 0 {
				return e
			}
		}
	}
	if e, n := p.run(s, i); n >= p.min && n > 0 {
		return e
	}
	return -1
}

// split is Split for a class-run expression: it skips code points that
// cannot start a match without calling match.
func (p *classRunParams) split(s string, dst [][2]int) [][2]int {
	gap := 0
	startMask := p.mask | p.prefix // a match starts with one of these (non-negated)
	for i := 0; i < len(s); {
		if !p.negate {
			for i < len(s) && s[i] < utf8.RuneSelf && asciiClass[s[i]]&startMask == 0 {
				i++
			}
			if i == len(s) {
				break
			}
		}
		var c uint16
		w := 1
		if b := s[i]; b < utf8.RuneSelf {
			c = asciiClass[b]
		} else {
			c, w = classOfMulti(s, i)
		}
		if !p.in(c) && c&p.prefix == 0 {
			i += w
			continue
		}
		e := p.match(s, i)
		if e < 0 {
			i += w
			continue
		}
		if i > gap {
			dst = append(dst, [2]int{gap, i})
		}
		dst = append(dst, [2]int{i, e})
		i, gap = e, e
	}
	if gap < len(s) {
		dst = append(dst, [2]int{gap, len(s)})
	}
	return dst
}

// patternPoro is the expression of Poro, BLOOM, GPT3-Finnish and Viking:
// an optional space, then a run of code points other than whitespace and
// ( | . , ! ? … 。 ， 、 । ۔ ، ).
const patternPoro = ` ?[^(\s|.,!?…。，、।۔،)]+`

func poroStop(s string, i int) (bool, int) {
	b := s[i]
	if b < utf8.RuneSelf {
		switch b {
		case '(', '|', '.', ',', '!', '?', ')':
			return true, 1
		}
		return asciiClass[b]&cS != 0, 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	switch r {
	case '…', '。', '，', '、', '।', '۔', '،':
		return true, w
	}
	c, _ := classOfMulti(s, i)
	return c&cS != 0, w
}

func poroRun(s string, i int) int {
	for i < len(s) {
		stop, w := poroStop(s, i)
		if stop {
			break
		}
		i += w
	}
	return i
}

func poroMatch(s string, i int) int {
	if s[i] == ' ' && i+1 < len(s) {
		if e := poroRun(s, i+1); e > i+1 {
			return e
		}
	}
	if e := poroRun(s, i); e > i {
		return e
	}
	return -1
}

// patternLines is Gemma 4's and Sarvam's [^\n]+|[\n]+: runs of newlines and
// runs of everything else.
const patternLines = `[^\n]+|[\n]+`

func linesMatch(s string, i int) int {
	nl := s[i] == '\n'
	j := i + 1
	for j < len(s) && (s[j] == '\n') == nl {
		j++
	}
	return j
}
