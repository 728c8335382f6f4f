package pretok

import "unicode/utf8"

// o200kParams describes the family of patterns
//
//	[^\r\n\p{L}\p{N}]?UPPER*LOWER+CONTR?|[^\r\n\p{L}\p{N}]?UPPER+LOWER*CONTR?|\p{N}{1,MAX}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with UPPER = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and LOWER = [\p{Ll}\p{Lm}\p{Lo}\p{M}],
// used by GPT-4o (o200k_base), Llama 4, Youtu (with \p{N}) and, without
// CONTR, Mistral's Tekken.
type o200kParams struct {
	contr    int // CONTR: contrNone (no suffix), contrFold ((?i:'s|...)) or contrASCII ((?:'[sS]|...))
	digitMax int // \p{N}{1,digitMax}; 0 means \p{N}+
}

// upperLower matches UPPER*LOWER+ at k and returns its end or -1. UPPER*
// first takes the whole UPPER run; LOWER+ then needs a LOWER code point where
// that run ends, otherwise UPPER* gives back code points until one of them
// is also LOWER (Lm, Lo or M).
func upperLower(s string, k int) int {
	q := k
	lastW := -1 // end of the last code point of the UPPER run that is also LOWER
	for q < len(s) {
		c, w := classOf(s, q)
		if c&cU == 0 {
			break
		}
		q += w
		if c&cW != 0 {
			lastW = q
		}
	}
	if q < len(s) {
		if c, w := classOf(s, q); c&cW != 0 {
			return runEnd(s, q+w, cW)
		}
	}
	return lastW
}

// upperPlusLower matches UPPER+LOWER* at k and returns its end or -1.
func upperPlusLower(s string, k int) int {
	if k >= len(s) {
		return -1
	}
	c, w := classOf(s, k)
	if c&cU == 0 {
		return -1
	}
	return runEnd(s, runEnd(s, k+w, cU), cW)
}

// word matches the two letter-run alternatives at i (c, w: class and width
// of the code point at i), trying them in the expression's order: UPPER*LOWER+
// with, then without, the optional prefix, then UPPER+LOWER* likewise.
func word(s string, i int, c uint16, w int) int {
	if c&(cL|cN|cNL) == 0 && i+w < len(s) {
		if c2, _ := classOf(s, i+w); c2&(cU|cW) != 0 {
			if e := upperLower(s, i+w); e >= 0 {
				return e
			}
			if c&(cU|cW) != 0 { // a mark can start the run itself
				if e := upperLower(s, i); e >= 0 {
					return e
				}
			}
			// c2 is UPPER here (a LOWER-only c2 made upperLower succeed).
			return upperPlusLower(s, i+w)
		}
	}
	if c&(cU|cW) == 0 {
		return -1
	}
	if e := upperLower(s, i); e >= 0 {
		return e
	}
	return upperPlusLower(s, i)
}

func (p *o200kParams) match(s string, i int) int {
	var c uint16
	w := 1
	b := s[i]
	if b < utf8.RuneSelf {
		c = asciiClass[b]
	} else {
		c, w = classOfMulti(s, i)
	}
	if e := word(s, i, c, w); e >= 0 {
		if p.contr != contrNone && e < len(s) && s[e] == '\'' {
			if e2 := contraction(s, e, p.contr); e2 >= 0 {
				return e2
			}
		}
		return e
	}
	if c&cN != 0 {
		if p.digitMax == 0 {
			return runEnd(s, i+w, cN)
		}
		return runEndMax(s, i+w, cN, p.digitMax-1)
	}
	const punctNot = cS | cL | cN
	start := -1
	if c&punctNot == 0 {
		start = i + w
	} else if b == ' ' && i+1 < len(s) {
		if c2, w2 := classOf(s, i+1); c2&punctNot == 0 {
			start = i + 1 + w2
		}
	}
	if start >= 0 {
		e := runEndNot(s, start, punctNot)
		for e < len(s) && (s[e] == '\r' || s[e] == '\n' || s[e] == '/') {
			e++
		}
		return e
	}
	if c&cS == 0 {
		return -1
	}
	end, last, nlEnd := wsRun(s, i)
	if nlEnd >= 0 {
		return nlEnd
	}
	if end == len(s) || last == i {
		return end
	}
	return last
}

// patternYoutu is llama.cpp's second expression for Youtu.
const patternYoutu = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` + contrCpp + `?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` + contrCpp + `?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
