package pretok

import "unicode/utf8"

// patternDSV3 is the main expression of DeepSeek V3 (and Hunyuan-dense),
// applied after \p{N}{1,3} and [一-龥぀-ゟ゠-ヿ]+ stages.
const patternDSV3 = `[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + "`" + `{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

func isASCIIPunct(b byte) bool {
	return (b >= '!' && b <= '/') || (b >= ':' && b <= '@') || (b >= '[' && b <= '`') || (b >= '{' && b <= '~')
}

func isASCIILetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// dsv3Match matches patternDSV3 at i. Code points that are neither letters,
// marks, punctuation, symbols nor spaces (digits, controls, format
// characters...) match only as the optional prefix of a letter run, so this
// expression can leave stretches of text unmatched.
func dsv3Match(s string, i int) int {
	b := s[i]
	// [ASCII punctuation][A-Za-z]+
	if isASCIIPunct(b) && i+1 < len(s) && isASCIILetter(s[i+1]) {
		e := i + 2
		for e < len(s) && isASCIILetter(s[e]) {
			e++
		}
		return e
	}
	var c uint16
	w := 1
	if b < utf8.RuneSelf {
		c = asciiClass[b]
	} else {
		c, w = classOfMulti(s, i)
	}
	// [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
	if c&(cL|cP|cSym|cNL) == 0 && i+w < len(s) {
		if c2, w2 := classOf(s, i+w); c2&(cL|cM) != 0 {
			return runEnd(s, i+w+w2, cL|cM)
		}
	}
	if c&(cL|cM) != 0 {
		return runEnd(s, i+w, cL|cM)
	}
	//  ?[\p{P}\p{S}]+[\r\n]*
	start := -1
	if c&(cP|cSym) != 0 {
		start = i + w
	} else if b == ' ' && i+1 < len(s) {
		if c2, w2 := classOf(s, i+1); c2&(cP|cSym) != 0 {
			start = i + 1 + w2
		}
	}
	if start >= 0 {
		e := runEnd(s, start, cP|cSym)
		for e < len(s) && (s[e] == '\r' || s[e] == '\n') {
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
