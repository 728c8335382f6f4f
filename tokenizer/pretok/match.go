package pretok

import "unicode/utf8"

// runEnd returns the end of the run of code points, starting at i, whose
// class intersects mask.
func runEnd(s string, i int, mask uint16) int {
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if asciiClass[b]&mask == 0 {
				return i
			}
			i++
			continue
		}
		c, w := classOf(s, i)
		if c&mask == 0 {
			return i
		}
		i += w
	}
	return i
}

// runEndNot returns the end of the run of code points, starting at i, whose
// class does not intersect mask.
func runEndNot(s string, i int, mask uint16) int {
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if asciiClass[b]&mask != 0 {
				return i
			}
			i++
			continue
		}
		c, w := classOf(s, i)
		if c&mask != 0 {
			return i
		}
		i += w
	}
	return i
}

// runEndMax is runEnd limited to max code points.
func runEndMax(s string, i int, mask uint16, max int) int {
	for k := 0; k < max && i < len(s); k++ {
		c, w := classOf(s, i)
		if c&mask == 0 {
			return i
		}
		i += w
	}
	return i
}

// wsRun scans the \s run that starts at i. It returns the end of the run, the
// start of its last code point, and the end of its last \r or \n (or -1).
func wsRun(s string, i int) (end, last, nlEnd int) {
	nlEnd = -1
	last = i
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if asciiClass[b]&cS == 0 {
				break
			}
			last = i
			i++
			if b == '\n' || b == '\r' {
				nlEnd = i
			}
			continue
		}
		c, w := classOf(s, i)
		if c&cS == 0 {
			break
		}
		last = i
		i += w
	}
	return i, last, nlEnd
}

// Contraction modes.
const (
	contrNone  = 0 // no contraction branch
	contrASCII = 1 // '[sS]|'[tT]|'[rR][eE]|... (llama.cpp's spelling)
	contrFold  = 2 // (?i:'s|'t|...): Unicode simple case folding, so ſ (U+017F) matches s
	contrExact = 3 // 's|'t|'re|... case-sensitive (GPT-2)
)

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at s[i] (an apostrophe)
// in the given mode and returns the end of the match or -1.
func contraction(s string, i int, mode int) int {
	if i+1 >= len(s) {
		return -1
	}
	b := s[i+1]
	if mode != contrExact {
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		} else if mode == contrFold && b == 0xC5 && i+2 < len(s) && s[i+2] == 0xBF { // U+017F
			return i + 3
		}
	}
	switch b {
	case 's', 't', 'm', 'd':
		return i + 2
	case 'r', 'v', 'l':
		if i+2 >= len(s) {
			return -1
		}
		want := byte('e')
		if b == 'l' {
			want = 'l'
		}
		c := s[i+2]
		if mode != contrExact && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == want {
			return i + 3
		}
	}
	return -1
}

// isolated runs a matcher over s the way HF's Split(behavior=Isolated) and
// llama.cpp's regex split do: every match is a piece, and so is every stretch
// of text between matches. m returns the end of the match that starts exactly
// at i, or -1; it never returns an empty match.
func isolated(s string, dst [][2]int, m func(string, int) int) [][2]int {
	gap := -1
	for i := 0; i < len(s); {
		e := m(s, i)
		if e < 0 {
			if gap < 0 {
				gap = i
			}
			if s[i] < utf8.RuneSelf {
				i++
			} else {
				_, w := utf8.DecodeRuneInString(s[i:])
				i += w
			}
			continue
		}
		if gap >= 0 {
			dst = append(dst, [2]int{gap, i})
			gap = -1
		}
		dst = append(dst, [2]int{i, e})
		i = e
	}
	if gap >= 0 {
		dst = append(dst, [2]int{gap, len(s)})
	}
	return dst
}

// findAll returns only the matches of m in s.
func findAll(s string, dst [][2]int, m func(string, int) int) [][2]int {
	for i := 0; i < len(s); {
		e := m(s, i)
		if e < 0 {
			if s[i] < utf8.RuneSelf {
				i++
			} else {
				_, w := utf8.DecodeRuneInString(s[i:])
				i += w
			}
			continue
		}
		dst = append(dst, [2]int{i, e})
		i = e
	}
	return dst
}
