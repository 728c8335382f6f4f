package pretok

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// DefaultTimeout bounds the time regexp2 may spend finding one match, for
// splitters created afterwards by New or NewRegexp2.
var DefaultTimeout = 10 * time.Second

// ErrTimeout is returned (wrapped) by Regexp2.SplitErr when matching takes
// longer than the splitter's timeout.
var ErrTimeout = errors.New("pretok: regexp2 match timeout")

// Regexp2 is the generic fallback: a Splitter backed by the backtracking
// engine github.com/dlclark/regexp2 with Oniguruma-compatible settings (^ and
// $ match at line boundaries, \s and \p{..} are Unicode-aware, possessive
// quantifiers X?+ X*+ X++ X{n,m}+ are rewritten to atomic groups).
//
// Backtracking can take exponential time on some expressions and inputs
// (catastrophic backtracking, e.g. (a|a)*b); every call is therefore bounded
// by a timeout (DefaultTimeout, see SetTimeout) per match. Prefer a
// hand-written matcher (see New) for hot paths.
type Regexp2 struct {
	pattern string
	re      *regexp2.Regexp
}

// NewRegexp2 compiles pattern with regexp2, bypassing the hand-written
// matchers (mainly for tests and benchmarks).
func NewRegexp2(pattern string) (*Regexp2, error) {
	rw := rewritePossessive(pattern)
	re, err := regexp2.Compile(rw, regexp2.Multiline)
	if err != nil {
		return nil, fmt.Errorf("pretok: compiling %q: %w", pattern, err)
	}
	r := &Regexp2{pattern: pattern, re: re}
	r.SetTimeout(DefaultTimeout)
	return r, nil
}

// SetTimeout sets the time limit for finding one match; d <= 0 removes it.
// It must not be called concurrently with Split.
func (r *Regexp2) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = regexp2.DefaultMatchTimeout
	}
	r.re.MatchTimeout = d
}

// String returns a description of r.
func (r *Regexp2) String() string { return "pretok.Regexp2(" + r.pattern + ")" }

// Split implements Splitter. If matching times out, the rest of the text
// after the last piece found is returned as one piece, so the spans still
// cover the input; use SplitErr to see the error.
func (r *Regexp2) Split(text string, dst [][2]int) [][2]int {
	dst, _ = r.split(text, dst, true)
	return dst
}

// SplitErr is Split, reporting a timeout (wrapping ErrTimeout).
func (r *Regexp2) SplitErr(text string, dst [][2]int) ([][2]int, error) {
	return r.split(text, dst, true)
}

// FindAll implements Finder. On timeout it returns the matches found so far.
func (r *Regexp2) FindAll(text string, dst [][2]int) [][2]int {
	dst, _ = r.split(text, dst, false)
	return dst
}

func (r *Regexp2) split(text string, dst [][2]int, gaps bool) ([][2]int, error) {
	prev := 0
	err := r.each(text, func(s, e int) {
		if gaps && s > prev {
			dst = append(dst, [2]int{prev, s})
		}
		if e > s {
			dst = append(dst, [2]int{s, e})
		}
		prev = e
	})
	if gaps && prev < len(text) {
		dst = append(dst, [2]int{prev, len(text)})
	}
	return dst, err
}

// each calls f with the byte span of every match (empty ones included), in
// order. On timeout it stops and returns an error wrapping ErrTimeout.
func (r *Regexp2) each(text string, f func(s, e int)) error {
	if len(text) == 0 {
		return nil
	}
	// regexp2 works on []rune: map rune indexes back to byte offsets. Go's
	// conversion turns each invalid byte into one U+FFFD.
	runes := []rune(text)
	offs := make([]int, len(runes)+1)
	bi := 0
	for k := range runes {
		offs[k] = bi
		_, w := utf8.DecodeRuneInString(text[bi:])
		bi += w
	}
	offs[len(runes)] = len(text)
	m, err := r.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		f(offs[m.Index], offs[m.Index+m.Length])
		m, err = r.re.FindNextMatch(m)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return nil
}

// rewritePossessive turns Oniguruma's possessive quantifiers into atomic
// groups, which regexp2 supports: X?+ becomes (?>X?), and likewise for *+,
// ++ and {n,m}+. Everything else is copied unchanged.
func rewritePossessive(p string) string {
	if !strings.Contains(p, "+") {
		return p
	}
	var b strings.Builder
	i := 0
	for i < len(p) {
		start := i
		i = atomEnd(p, i)
		atom := p[start:i]
		if len(atom) > 2 && atom[0] == '(' {
			// Rewrite inside groups, keeping the group's own prefix.
			inner := atom[1 : len(atom)-1]
			pre := ""
			if strings.HasPrefix(inner, "?") {
				k := 1
				for k < len(inner) && inner[k] != ':' && inner[k] != ')' && inner[k] != '>' && inner[k] != '=' && inner[k] != '!' && inner[k] != '<' {
					k++
				}
				if k < len(inner) {
					k++
					if inner[k-1] == '<' && k < len(inner) && (inner[k] == '=' || inner[k] == '!') {
						k++
					}
				}
				pre, inner = inner[:k], inner[k:]
			}
			atom = "(" + pre + rewritePossessive(inner) + ")"
		}
		q := quantEnd(p, i)
		if q > i && q < len(p) && p[q] == '+' && atom != "|" {
			b.WriteString("(?>")
			b.WriteString(atom)
			b.WriteString(p[i:q])
			b.WriteString(")")
			i = q + 1
			continue
		}
		b.WriteString(atom)
		b.WriteString(p[i:q])
		i = q
	}
	return b.String()
}

// atomEnd returns the end of the regex atom starting at p[i]: an escape, a
// bracket class, a parenthesised group or one character.
func atomEnd(p string, i int) int {
	switch p[i] {
	case '\\':
		if i+1 >= len(p) {
			return len(p)
		}
		j := i + 2
		if (p[i+1] == 'p' || p[i+1] == 'P' || p[i+1] == 'x' || p[i+1] == 'k' || p[i+1] == 'g') && j < len(p) && p[j] == '{' {
			if k := strings.IndexByte(p[j:], '}'); k >= 0 {
				return j + k + 1
			}
		}
		_, w := utf8.DecodeRuneInString(p[i+1:])
		return i + 1 + w
	case '[':
		j := i + 1
		if j < len(p) && p[j] == '^' {
			j++
		}
		if j < len(p) && p[j] == ']' {
			j++
		}
		depth := 1
		for j < len(p) && depth > 0 {
			switch p[j] {
			case '\\':
				j++
			case '[':
				depth++
			case ']':
				depth--
			}
			j++
		}
		return min(j, len(p))
	case '(':
		depth := 0
		for j := i; j < len(p); j++ {
			switch p[j] {
			case '\\':
				j++
			case '[':
				j = atomEnd(p, j) - 1
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(p)
	}
	_, w := utf8.DecodeRuneInString(p[i:])
	return i + w
}

// quantEnd returns the end of the quantifier (?, *, +, {n}, {n,}, {n,m})
// starting at p[i], or i if there is none.
func quantEnd(p string, i int) int {
	if i >= len(p) {
		return i
	}
	switch p[i] {
	case '?', '*', '+':
		return i + 1
	case '{':
		j := i + 1
		digits := 0
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
			digits++
		}
		if j < len(p) && p[j] == ',' {
			j++
			for j < len(p) && p[j] >= '0' && p[j] <= '9' {
				j++
			}
		}
		if digits > 0 && j < len(p) && p[j] == '}' {
			return j + 1
		}
	}
	return i
}
