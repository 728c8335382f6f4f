package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites text before pre-tokenization (Hugging Face
// normalizers). Invalid UTF-8 bytes pass through unchanged.
type normalizer interface {
	normalize(s string) string
}

// seqNormalizer applies normalizers in order.
type seqNormalizer []normalizer

func (q seqNormalizer) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// prependNormalizer prepends a string to non-empty text.
type prependNormalizer struct{ prefix string }

func (p prependNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.prefix + s
}

// replaceNormalizer replaces every occurrence of a literal string (or of a
// regular expression's matches) with content.
type replaceNormalizer struct {
	r replacer
}

func (r replaceNormalizer) normalize(s string) string { return r.r.replace(s) }

// replacer replaces matches of a literal or a regular expression.
type replacer struct {
	literal string
	re      spanFinder // nil for a literal
	content string
}

// spanFinder finds non-overlapping matches left to right.
type spanFinder interface {
	FindAll(text string, dst [][2]int) [][2]int
}

func (r replacer) replace(s string) string {
	if r.re == nil {
		if r.literal == "" {
			return s
		}
		return strings.ReplaceAll(s, r.literal, r.content)
	}
	spans := r.re.FindAll(s, nil)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(r.content)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// formNormalizer applies a Unicode normalization form (NFC, NFD, NFKC,
// NFKD).
type formNormalizer struct{ f norm.Form }

func (n formNormalizer) normalize(s string) string {
	if isASCII(s) {
		return s
	}
	return normalizeForm(n.f, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lowercaseNormalizer lowercases every character with the full Unicode
// mapping of each character on its own (as Rust's char::to_lowercase): "İ"
// becomes "i̇".
type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(s string) string { return lowerFull(s) }

func lowerFull(s string) string {
	if isASCII(s) {
		hasUpper := false
		for i := 0; i < len(s); i++ {
			if s[i] >= 'A' && s[i] <= 'Z' {
				hasUpper = true
				break
			}
		}
		if !hasUpper {
			return s
		}
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b = append(b, s[i])
			i++
			continue
		}
		if r == 'İ' {
			b = append(b, "i\u0307"...)
		} else {
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		i += w
	}
	return string(b)
}

// stripAccentsNormalizer removes nonspacing marks (category Mn). Hugging
// Face pipelines put NFD before it.
type stripAccentsNormalizer struct{}

func (stripAccentsNormalizer) normalize(s string) string { return stripMn(s) }

func stripMn(s string) string {
	if isASCII(s) {
		return s
	}
	return mapRunes(s, func(r rune, b []byte) []byte {
		if unicode.Is(unicode.Mn, r) {
			return b
		}
		return utf8.AppendRune(b, r)
	})
}

// mapRunes rebuilds s through f; invalid bytes are copied unchanged.
func mapRunes(s string, f func(r rune, b []byte) []byte) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b = append(b, s[i])
			i++
			continue
		}
		b = f(r, b)
		i += w
	}
	return string(b)
}

// stripNormalizer trims whitespace on the left and/or right.
type stripNormalizer struct{ left, right bool }

func (n stripNormalizer) normalize(s string) string {
	if n.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// bertNormalizer is BERT's text cleanup: control characters removed,
// whitespace made spaces, CJK ideographs surrounded by spaces, accents
// stripped and text lowercased (as configured).
type bertNormalizer struct {
	cleanText, chinese, stripAccents, lowercase bool
}

func (n bertNormalizer) normalize(s string) string {
	if n.cleanText || n.chinese {
		s = mapRunes(s, func(r rune, b []byte) []byte {
			if n.cleanText {
				if r == 0 || r == 0xFFFD || bertIsControl(r) {
					return b
				}
				if bertIsWhitespace(r) {
					return append(b, ' ')
				}
			}
			if n.chinese && isCJK(r) {
				b = append(b, ' ')
				b = utf8.AppendRune(b, r)
				return append(b, ' ')
			}
			return utf8.AppendRune(b, r)
		})
	}
	if n.stripAccents {
		s = stripMn(normalizeForm(norm.NFD, s))
	}
	if n.lowercase {
		s = lowerFull(s)
	}
	return s
}

func bertIsWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

// bertIsControl: categories Cc, Cf, Cn, Co, Cs except tab, newline, CR.
func bertIsControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !unicode.In(r, assigned...)
}

var assigned = []*unicode.RangeTable{unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C}

func isCJK(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF ||
		r >= 0x20000 && r <= 0x2A6DF || r >= 0x2A700 && r <= 0x2B73F ||
		r >= 0x2B740 && r <= 0x2B81F || r >= 0x2B820 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800 && r <= 0x2FA1F
}

// nmtNormalizer is SentencePiece's NMT cleanup: some control characters
// removed, others (and zero-width spaces) made spaces.
type nmtNormalizer struct{}

func (nmtNormalizer) normalize(s string) string {
	return mapRunes(s, func(r rune, b []byte) []byte {
		switch {
		case r >= 0x01 && r <= 0x08, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F, r == 0x8F, r == 0x9F:
			return b
		case r == 0x09, r == 0x0A, r == 0x0C, r == 0x0D, r == 0x1680, r >= 0x200B && r <= 0x200F,
			r == 0x2028, r == 0x2029, r == 0x2581, r == 0xFEFF, r == 0xFFFD:
			return append(b, ' ')
		}
		return utf8.AppendRune(b, r)
	})
}

// parseNormalizer builds a normalizer from its tokenizer.json object.
// byteLevel reports a ByteLevel normalizer (the model then works on bytes).
func parseNormalizer(raw json.RawMessage) (normalizer, bool, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, false, err
	}
	switch typ {
	case "Sequence":
		var s struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		var q seqNormalizer
		bl := false
		for _, r := range s.Normalizers {
			n, b, err := parseNormalizer(r)
			if err != nil {
				return nil, false, err
			}
			bl = bl || b
			if n != nil {
				q = append(q, n)
			}
		}
		return q, bl, nil
	case "NFC":
		return formNormalizer{norm.NFC}, false, nil
	case "NFD":
		return formNormalizer{norm.NFD}, false, nil
	case "NFKC":
		return formNormalizer{norm.NFKC}, false, nil
	case "NFKD":
		return formNormalizer{norm.NFKD}, false, nil
	case "Lowercase":
		return lowercaseNormalizer{}, false, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, false, nil
	case "Strip":
		var s struct {
			Left  *bool `json:"strip_left"`
			Right *bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		return stripNormalizer{left: s.Left == nil || *s.Left, right: s.Right == nil || *s.Right}, false, nil
	case "Replace":
		var s struct {
			Pattern hfPattern `json:"pattern"`
			Content string    `json:"content"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		lit, f, err := s.Pattern.compile()
		if err != nil {
			return nil, false, fmt.Errorf("Replace: %w", err)
		}
		return replaceNormalizer{replacer{literal: lit, re: f, content: s.Content}}, false, nil
	case "Prepend":
		var s struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		return prependNormalizer{s.Prepend}, false, nil
	case "BertNormalizer":
		var s struct {
			CleanText    *bool `json:"clean_text"`
			Chinese      *bool `json:"handle_chinese_chars"`
			StripAccents *bool `json:"strip_accents"`
			Lowercase    *bool `json:"lowercase"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		def := func(p *bool, d bool) bool {
			if p == nil {
				return d
			}
			return *p
		}
		n := bertNormalizer{cleanText: def(s.CleanText, true), chinese: def(s.Chinese, true), lowercase: def(s.Lowercase, true)}
		n.stripAccents = def(s.StripAccents, n.lowercase)
		return n, false, nil
	case "Nmt":
		return nmtNormalizer{}, false, nil
	case "Precompiled":
		var s struct {
			Map *string `json:"precompiled_charsmap"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		if s.Map == nil || *s.Map == "" {
			return nil, false, nil
		}
		n, err := newPrecompiledFromBase64(*s.Map)
		if err != nil {
			return nil, false, fmt.Errorf("Precompiled: %w", err)
		}
		return n, false, nil
	case "ByteLevel":
		return nil, true, nil
	case "":
		return nil, false, errors.New("normalizer without a type")
	}
	return nil, false, fmt.Errorf("unknown normalizer type %q", typ)
}

// extraSpaceNormalizer is SentencePiece's remove_extra_whitespaces: spaces
// at both ends are removed and runs of spaces become one.
type extraSpaceNormalizer struct{}

func (extraSpaceNormalizer) normalize(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}
