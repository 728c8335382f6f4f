package tokenizer

import (
	"slices"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Unicode normalization as Hugging Face tokenizers (Rust's
// unicode-normalization) does it. golang.org/x/text/unicode/norm follows
// the Stream-Safe Text Format: after 30 consecutive non-starters it inserts
// U+034F, which Rust does not. Text without such long runs is normalized by
// x/text; text with them goes through normalizeExact, which decomposes,
// orders and composes with no limit (in linear time apart from sorting each
// run of marks).

// normalizeForm applies f to s exactly as Rust's unicode-normalization.
func normalizeForm(f norm.Form, s string) string {
	if !hasLongNonStarterRun(f, s) {
		return f.String(s)
	}
	return normalizeExact(f, s)
}

// hasLongNonStarterRun reports conservatively whether s might hold more
// than 30 consecutive non-starters once decomposed.
func hasLongNonStarterRun(f norm.Form, s string) bool {
	run := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0xC0 {
			run = 0
			i++
			continue
		}
		p := f.PropertiesString(s[i:])
		n := p.Size()
		if n == 0 {
			n = 1
		}
		if p.LeadCCC() != 0 || p.CCC() != 0 {
			run += 1 + utf8.RuneCount(p.Decomposition())
		} else if p.TrailCCC() != 0 {
			run = 1 + utf8.RuneCount(p.Decomposition())
		} else {
			run = 0
		}
		if run > 16 {
			return true
		}
		i += n
	}
	return false
}

const (
	hangulSBase  = 0xAC00
	hangulLBase  = 0x1100
	hangulVBase  = 0x1161
	hangulTBase  = 0x11A7
	hangulLCount = 19
	hangulVCount = 21
	hangulTCount = 28
	hangulNCount = hangulVCount * hangulTCount
	hangulSCount = hangulLCount * hangulNCount
)

// invalidRune marks a byte of invalid UTF-8 (kept as is).
const invalidRune = -1

type nrune struct {
	r   rune // invalidRune for a raw byte
	b   byte // the raw byte
	ccc uint8
}

func normalizeExact(f norm.Form, s string) string {
	compat := f == norm.NFKC || f == norm.NFKD
	compose := f == norm.NFC || f == norm.NFKC
	dform := norm.NFD
	if compat {
		dform = norm.NFKD
	}
	// Decompose.
	rs := make([]nrune, 0, len(s))
	var appendDecomp func(r rune)
	appendDecomp = func(r rune) {
		if r >= hangulSBase && r < hangulSBase+hangulSCount {
			si := r - hangulSBase
			rs = append(rs, nrune{r: hangulLBase + si/hangulNCount})
			rs = append(rs, nrune{r: hangulVBase + si%hangulNCount/hangulTCount})
			if t := si % hangulTCount; t != 0 {
				rs = append(rs, nrune{r: hangulTBase + t})
			}
			return
		}
		var buf [4]byte
		n := utf8.EncodeRune(buf[:], r)
		p := dform.Properties(buf[:n])
		if d := p.Decomposition(); d != nil {
			for len(d) > 0 {
				x, w := utf8.DecodeRune(d)
				d = d[w:]
				var b2 [4]byte
				m := utf8.EncodeRune(b2[:], x)
				rs = append(rs, nrune{r: x, ccc: dform.Properties(b2[:m]).CCC()})
			}
			return
		}
		rs = append(rs, nrune{r: r, ccc: p.CCC()})
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			rs = append(rs, nrune{r: invalidRune, b: s[i]})
		} else {
			appendDecomp(r)
		}
		i += w
	}
	// Canonical ordering: stable sort each run of non-starters by class.
	for i := 0; i < len(rs); {
		if rs[i].ccc == 0 {
			i++
			continue
		}
		j := i
		for j < len(rs) && rs[j].ccc != 0 {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(rs[i:j], func(a, b nrune) int { return int(a.ccc) - int(b.ccc) })
		}
		i = j
	}
	// Canonical composition.
	if compose {
		out := rs[:0]
		starter := -1 // index in out of the last starter
		lastCCC := -1 // class of the last character after the starter; -1 none
		for _, c := range rs {
			if starter >= 0 && c.r != invalidRune && out[starter].r != invalidRune {
				blocked := lastCCC != -1 && (lastCCC == 0 || lastCCC >= int(c.ccc))
				if !blocked {
					if p, ok := composePair(out[starter].r, c.r); ok {
						out[starter].r = p
						continue
					}
				}
			}
			if c.ccc == 0 {
				starter = len(out)
				lastCCC = -1
			} else {
				lastCCC = int(c.ccc)
			}
			out = append(out, c)
		}
		rs = out
	}
	b := make([]byte, 0, len(s))
	for _, c := range rs {
		if c.r == invalidRune {
			b = append(b, c.b)
		} else {
			b = utf8.AppendRune(b, c.r)
		}
	}
	return string(b)
}

var composeCache sync.Map // uint64 -> rune (or -1)

// composePair returns the primary composite of a and b, if any.
func composePair(a, b rune) (rune, bool) {
	// Hangul LV and LVT.
	if a >= hangulLBase && a < hangulLBase+hangulLCount && b >= hangulVBase && b < hangulVBase+hangulVCount {
		return hangulSBase + ((a-hangulLBase)*hangulVCount+(b-hangulVBase))*hangulTCount, true
	}
	if a >= hangulSBase && a < hangulSBase+hangulSCount && (a-hangulSBase)%hangulTCount == 0 &&
		b > hangulTBase && b < hangulTBase+hangulTCount {
		return a + (b - hangulTBase), true
	}
	key := uint64(uint32(a))<<32 | uint64(uint32(b))
	if v, ok := composeCache.Load(key); ok {
		r := v.(rune)
		return r, r >= 0
	}
	res := rune(-1)
	pair := string([]rune{a, b})
	if c := norm.NFC.String(pair); c != pair {
		if r, w := utf8.DecodeRuneInString(c); w == len(c) {
			res = r
		}
	}
	composeCache.Store(key, res)
	return res, res >= 0
}
