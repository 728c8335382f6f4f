package pretok

import "unicode/utf8"

// gpt2Match matches, at i,
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (trailingWS) or the same pattern without the final |\s+ (llama.cpp's form).
func gpt2Match(s string, i int, trailingWS bool) int {
	b := s[i]
	if b == '\'' {
		if e := contraction(s, i, contrExact); e >= 0 {
			return e
		}
	}
	var c uint16
	w := 1
	if b := s[i]; b < utf8.RuneSelf {
		c = asciiClass[b]
	} else {
		c, w = classOfMulti(s, i)
	}
	if b == ' ' && i+1 < len(s) {
		c2, w2 := classOf(s, i+1)
		switch {
		case c2&cL != 0:
			return runEnd(s, i+1+w2, cL)
		case c2&cN != 0:
			return runEnd(s, i+1+w2, cN)
		case c2&(cL|cN|cS) == 0:
			return runEndNot(s, i+1+w2, cL|cN|cS)
		}
	}
	switch {
	case c&cL != 0:
		return runEnd(s, i+w, cL)
	case c&cN != 0:
		return runEnd(s, i+w, cN)
	case c&cS == 0:
		return runEndNot(s, i+w, cL|cN|cS)
	}
	end, last, _ := wsRun(s, i)
	if end == len(s) {
		return end // \s+(?!\S) at the end of the text
	}
	if last > i {
		return last // \s+(?!\S) backs off one code point
	}
	if trailingWS {
		return end
	}
	return -1
}

func gpt2MatchWS(s string, i int) int   { return gpt2Match(s, i, true) }
func gpt2MatchNoWS(s string, i int) int { return gpt2Match(s, i, false) }
