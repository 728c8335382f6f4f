package pretok

import "unicode/utf8"

// cl100kParams describes the family of patterns
//
//	CONTR|[^\r\n\p{L}\p{N}]?LETTER+|\p{N}{1,MAX}| ?PUNCT+SUFFIX|\s*[\r\n]+|\s+(?!\S)|\s+
//
// used by Llama 3 (cl100k_base), Qwen2, Qwen3.5 and others.
type cl100kParams struct {
	contr    int    // contrNone, contrASCII or contrFold
	digitMax int    // \p{N}{1,digitMax}; 0 means \p{N}+
	letter   uint16 // LETTER: cL, or cL|cM for [\p{L}\p{M}]
	punctNot uint16 // PUNCT is [^...] of these classes: cS|cL|cN, or with cM
	suffix   bool   // SUFFIX is [\r\n]* (false: no suffix)
}

func (p *cl100kParams) match(s string, i int) int {
	b := s[i]
	if b == '\'' && p.contr != contrNone {
		if e := contraction(s, i, p.contr); e >= 0 {
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
	// [^\r\n\p{L}\p{N}]?LETTER+
	if c&(cL|cN|cNL) == 0 && i+w < len(s) {
		c2, w2 := classOf(s, i+w)
		if c2&p.letter != 0 {
			return runEnd(s, i+w+w2, p.letter)
		}
	}
	if c&p.letter != 0 {
		return runEnd(s, i+w, p.letter)
	}
	// \p{N}{1,max}
	if c&cN != 0 {
		if p.digitMax == 0 {
			return runEnd(s, i+w, cN)
		}
		return runEndMax(s, i+w, cN, p.digitMax-1)
	}
	//  ?PUNCT+SUFFIX
	start := -1
	if c&p.punctNot == 0 {
		start = i + w
	} else if b == ' ' && i+1 < len(s) {
		if c2, w2 := classOf(s, i+1); c2&p.punctNot == 0 {
			start = i + 1 + w2
		}
	}
	if start >= 0 {
		e := runEndNot(s, start, p.punctNot)
		if p.suffix {
			for e < len(s) && (s[e] == '\r' || s[e] == '\n') {
				e++
			}
		}
		return e
	}
	// Only whitespace is left (every other code point is a letter, a number
	// or punctuation for the parameter sets used).
	if c&cS == 0 {
		return -1
	}
	end, last, nlEnd := wsRun(s, i)
	if nlEnd >= 0 {
		return nlEnd // \s*[\r\n]+ up to the last newline of the run
	}
	if end == len(s) || last == i {
		return end // \s+(?!\S) at the end, or \s+
	}
	return last // \s+(?!\S)
}
