package pretok

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// runeSet is a compiled character class.
type runeSet struct {
	ascii  [128]bool
	ranges [][2]rune // sorted, for code points >= 128
	tables []*unicode.RangeTable
	space  bool // \s
	negate bool
}

func (c *runeSet) has(r rune) bool {
	in := false
	switch {
	case r < 128 && r >= 0:
		in = c.ascii[r]
	default:
		k := sort.Search(len(c.ranges), func(k int) bool { return c.ranges[k][1] >= r })
		in = k < len(c.ranges) && c.ranges[k][0] <= r
		if !in && c.space {
			in = unicode.IsSpace(r)
		}
		for _, t := range c.tables {
			if in {
				break
			}
			in = unicode.Is(t, r)
		}
	}
	return in != c.negate
}

func (c *runeSet) addRange(lo, hi rune) {
	for r := lo; r <= hi && r < 128; r++ {
		c.ascii[r] = true
	}
	if hi >= 128 {
		c.ranges = append(c.ranges, [2]rune{max(lo, 128), hi})
	}
}

func (c *runeSet) addTable(t *unicode.RangeTable) {
	for r := rune(0); r < 128; r++ {
		if unicode.Is(t, r) {
			c.ascii[r] = true
		}
	}
	c.tables = append(c.tables, t)
}

func (c *runeSet) finish() {
	sort.Slice(c.ranges, func(i, j int) bool { return c.ranges[i][0] < c.ranges[j][0] })
	var m [][2]rune
	for _, r := range c.ranges {
		if len(m) > 0 && r[0] <= m[len(m)-1][1]+1 {
			m[len(m)-1][1] = max(m[len(m)-1][1], r[1])
		} else {
			m = append(m, r)
		}
	}
	c.ranges = m
}

// property returns the table of \p{name}: a general category or a script.
func property(name string) *unicode.RangeTable {
	if t, ok := unicode.Categories[name]; ok {
		return t
	}
	return unicode.Scripts[name]
}

// parseEscape parses the escape at p[i] ('\\') inside or outside a class and
// adds it to c. It returns the end of the escape, the single rune it stands
// for (or -1 for a class escape) and whether it was understood.
func parseEscape(p string, i int, c *runeSet) (int, rune, bool) {
	if i+1 >= len(p) {
		return 0, 0, false
	}
	switch e := p[i+1]; e {
	case 'p', 'P':
		if i+2 >= len(p) || p[i+2] != '{' {
			return 0, 0, false
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 || e == 'P' {
			return 0, 0, false
		}
		t := property(p[i+3 : i+j])
		if t == nil {
			return 0, 0, false
		}
		c.addTable(t)
		return i + j + 1, -1, true
	case 's':
		c.space = true
		for _, r := range "\t\n\v\f\r " {
			c.ascii[r] = true
		}
		return i + 2, -1, true
	case 'r':
		return i + 2, '\r', true
	case 'n':
		return i + 2, '\n', true
	case 't':
		return i + 2, '\t', true
	case 'x':
		if i+2 < len(p) && p[i+2] == '{' {
			j := strings.IndexByte(p[i:], '}')
			if j < 0 {
				return 0, 0, false
			}
			v, err := strconv.ParseUint(p[i+3:i+j], 16, 32)
			if err != nil || v > unicode.MaxRune {
				return 0, 0, false
			}
			return i + j + 1, rune(v), true
		}
		return 0, 0, false
	}
	if e := p[i+1]; e < 128 && !isASCIILetter(e) && !(e >= '0' && e <= '9') {
		return i + 2, rune(e), true // escaped punctuation
	}
	return 0, 0, false
}

// parseClass parses a bracket class at p[i] ('[') made of literal code
// points, ranges, \p{..}, \s and simple escapes (no nested classes).
func parseClass(p string, i int) (*runeSet, int, bool) {
	c := &runeSet{}
	j := i + 1
	if j < len(p) && p[j] == '^' {
		c.negate = true
		j++
	}
	first := true
	for j < len(p) {
		if p[j] == ']' && !first {
			c.finish()
			return c, j + 1, true
		}
		first = false
		var lo rune
		switch p[j] {
		case '[':
			return nil, 0, false // nested classes, POSIX classes, intersections
		case '\\':
			e, r, ok := parseEscape(p, j, c)
			if !ok {
				return nil, 0, false
			}
			j = e
			if r < 0 {
				continue
			}
			lo = r
		default:
			r, w := utf8.DecodeRuneInString(p[j:])
			if r == utf8.RuneError && w <= 1 {
				return nil, 0, false
			}
			if r == '&' && j+1 < len(p) && p[j+1] == '&' {
				return nil, 0, false
			}
			lo = r
			j += w
		}
		hi := lo
		if j+1 < len(p) && p[j] == '-' && p[j+1] != ']' {
			j++
			if p[j] == '\\' {
				e, r, ok := parseEscape(p, j, c)
				if !ok || r < 0 {
					return nil, 0, false
				}
				hi, j = r, e
			} else {
				r, w := utf8.DecodeRuneInString(p[j:])
				hi, j = r, j+w
			}
			if hi < lo {
				return nil, 0, false
			}
		}
		c.addRange(lo, hi)
	}
	return nil, 0, false
}

// simpleParams is a compiled simple expression PREFIX?CLASS{min,max}.
type simpleParams struct {
	prefix    byte // 0: none; ' ': optional space; 's': optional \s
	set       *runeSet
	min, max  int // max 0: unlimited
	endAnchor bool
}

// compileSimple recognises PREFIX?ATOM QUANT, where PREFIX is " ?" or
// "\s?", ATOM a bracket class, \p{..} or \s, and QUANT "", "+", "{n}" or
// "{n,m}". It reports false for anything else.
func compileSimple(p string) (*simpleParams, bool) {
	sp := &simpleParams{min: 1, max: 1}
	switch {
	case strings.HasPrefix(p, ` ?`):
		sp.prefix, p = ' ', p[2:]
	case strings.HasPrefix(p, `\s?`):
		sp.prefix, p = 's', p[3:]
	}
	if p == "" {
		return nil, false
	}
	var end int
	switch {
	case p[0] == '[':
		set, e, ok := parseClass(p, 0)
		if !ok {
			return nil, false
		}
		sp.set, end = set, e
	case p[0] == '\\':
		set := &runeSet{}
		e, r, ok := parseEscape(p, 0, set)
		if !ok {
			return nil, false
		}
		if r >= 0 {
			set.addRange(r, r)
		}
		set.finish()
		sp.set, end = set, e
	default:
		return nil, false
	}
	q := p[end:]
	switch {
	case q == "":
	case q == "+":
		sp.max = 0
	case len(q) > 2 && q[0] == '{' && q[len(q)-1] == '}':
		a, b, comma := strings.Cut(q[1:len(q)-1], ",")
		n, err1 := strconv.Atoi(a)
		m, err2 := n, error(nil)
		if comma {
			m, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || n < 1 || m < n {
			return nil, false
		}
		sp.min, sp.max = n, m
	default:
		return nil, false
	}
	return sp, true
}

func (sp *simpleParams) prefixAt(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch sp.prefix {
	case ' ':
		if s[i] == ' ' {
			return 1
		}
	case 's':
		if c, w := classOf(s, i); c&cS != 0 {
			return w
		}
	}
	return 0
}

func (sp *simpleParams) run(s string, i int) (int, int) {
	n := 0
	for i < len(s) && (sp.max == 0 || n < sp.max) {
		r, w := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(s[i:])
		}
		if !sp.set.has(r) {
			break
		}
		i += w
		n++
	}
	return i, n
}

func (sp *simpleParams) match(s string, i int) int {
	if w := sp.prefixAt(s, i); w > 0 {
		if e, n := sp.run(s, i+w); n >= sp.min {
			return e
		}
	}
	if e, n := sp.run(s, i); n >= sp.min {
		return e
	}
	return -1
}

// wsEndSpans is \s+$ over a whole text, one whitespace run at a time (the
// position-by-position search would rescan a run from each of its code
// points). A run that reaches the end of the text matches whole; otherwise
// the match, if any, goes from the run's start to its last \n (exclusive),
// and no later position in the run can match.
func wsEndSpans(s string, dst []span) []span {
	gap := 0
	for i := 0; i < len(s); {
		c, w := classOf(s, i)
		if c&cS == 0 {
			i += w
			continue
		}
		a, lastNL := i, -1
		for i < len(s) {
			c, w := classOf(s, i)
			if c&cS == 0 {
				break
			}
			if s[i] == '\n' && i > a {
				lastNL = i
			}
			i += w
		}
		e := lastNL
		if i == len(s) {
			e = i
		}
		if e > a {
			if a > gap {
				dst = append(dst, span{gap, a, false})
			}
			dst = append(dst, span{a, e, true})
			gap = e
		}
	}
	if gap < len(s) {
		dst = append(dst, span{gap, len(s), false})
	}
	return dst
}
