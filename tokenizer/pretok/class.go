package pretok

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Character-class bits. Every code point gets the set of classes it belongs
// to; the matchers test membership with a single AND.
const (
	cL       uint16 = 1 << iota // \p{L}
	cN                          // \p{N}
	cS                          // \s: Unicode White_Space (same set as Go's unicode.IsSpace)
	cM                          // \p{M}
	cP                          // \p{P}
	cSym                        // \p{S}
	cU                          // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k "upper" run)
	cW                          // [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k "lower" run)
	cNL                         // [\r\n]
	cDigit                      // [0-9]
	cHanKo                      // [一-龥ࠀ-一가-퟿] (DeepSeek's CJK/Hangul run class)
	cDefP                       // [\p{P}$+<=>^~|] (llama.cpp default punctuation run)
	cASCIIP                     // [\p{P}$+<=>^~|`] (HF Punctuation: ASCII punctuation or \p{P})
	cHanKana                    // [一-龥぀-ゟ゠-ヿ] (DeepSeek V3's CJK run class)
)

// allClasses has every class bit set.
const allClasses = ^uint16(0)

var (
	asciiClass [128]uint16
	bmpOnce    sync.Once
	bmpClass   []uint16 // 0x10000 entries, built on first use
)

func init() {
	for r := rune(0); r < 128; r++ {
		asciiClass[r] = computeClass(r)
	}
}

// classTables lists the Unicode tables behind each bit.
var classTables = []struct {
	bit uint16
	tab []*unicode.RangeTable
}{
	{cL, []*unicode.RangeTable{unicode.L}},
	{cN, []*unicode.RangeTable{unicode.N}},
	{cS, []*unicode.RangeTable{unicode.White_Space}},
	{cM, []*unicode.RangeTable{unicode.M}},
	{cP, []*unicode.RangeTable{unicode.P}},
	{cSym, []*unicode.RangeTable{unicode.S}},
	{cU, []*unicode.RangeTable{unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M}},
	{cW, []*unicode.RangeTable{unicode.Ll, unicode.Lm, unicode.Lo, unicode.M}},
	{cDefP, []*unicode.RangeTable{unicode.P}},
	{cASCIIP, []*unicode.RangeTable{unicode.P}},
}

// computeClass classifies one code point the slow way.
func computeClass(r rune) uint16 {
	var c uint16
	for _, t := range classTables {
		for _, tab := range t.tab {
			if unicode.Is(tab, r) {
				c |= t.bit
				break
			}
		}
	}
	return c | extraClass(r)
}

// extraClass holds the bits that are not plain Unicode properties.
func extraClass(r rune) uint16 {
	var c uint16
	switch r {
	case '\r', '\n':
		c |= cNL
	case '$', '+', '<', '=', '>', '^', '~', '|':
		c |= cDefP | cASCIIP
	case '`':
		c |= cASCIIP
	}
	if r >= '0' && r <= '9' {
		c |= cDigit
	}
	if (r >= 0x4E00 && r <= 0x9FA5) || (r >= 0x0800 && r <= 0x4E00) || (r >= 0xAC00 && r <= 0xD7FF) {
		c |= cHanKo
	}
	if (r >= 0x4E00 && r <= 0x9FA5) || (r >= 0x3040 && r <= 0x30FF) {
		c |= cHanKana
	}
	return c
}

func buildBMP() {
	t := make([]uint16, 0x10000)
	for _, ct := range classTables {
		for _, tab := range ct.tab {
			for _, rg := range tab.R16 {
				for r := uint32(rg.Lo); r <= uint32(rg.Hi); r += uint32(rg.Stride) {
					t[r] |= ct.bit
				}
			}
		}
	}
	for r := range t {
		t[r] |= extraClass(rune(r))
	}
	bmpClass = t
}

// classOf returns the class bits of the code point at s[i] and its width in
// bytes. An invalid UTF-8 byte is reported with width 1 and the classes of
// U+FFFD (a symbol: not a letter, number, space or punctuation), which is how
// Go's []rune conversion, and therefore the regexp2 fallback, sees it.
func classOf(s string, i int) (uint16, int) {
	if b := s[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	return classOfMulti(s, i)
}

func classOfMulti(s string, i int) (uint16, int) {
	r, w := utf8.DecodeRuneInString(s[i:])
	if r < 0x10000 {
		bmpOnce.Do(buildBMP)
		return bmpClass[r], w
	}
	return computeClass(r), w
}

// classUnion returns the union of the classes of the code points of s.
func classUnion(s string) uint16 {
	var u uint16
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			u |= asciiClass[b]
			i++
			continue
		}
		c, w := classOfMulti(s, i)
		u |= c
		i += w
	}
	return u
}
