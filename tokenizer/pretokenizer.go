package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/goformer/goformer/tokenizer/pretok"
)

// preTokenizer splits normalized text into words (Hugging Face
// pre-tokenizers). atStart reports whether the text begins the input (for
// Metaspace's prepend_scheme "first").
type preTokenizer interface {
	preTokenize(s string, atStart bool, dst []string) []string
}

// seqPreTokenizer applies pre-tokenizers in turn, each to every piece of
// the previous one.
type seqPreTokenizer []preTokenizer

func (q seqPreTokenizer) preTokenize(s string, atStart bool, dst []string) []string {
	n := len(dst)
	dst = q[0].preTokenize(s, atStart, dst)
	var tmp []string
	for _, p := range q[1:] {
		tmp = append(tmp[:0], dst[n:]...)
		dst = dst[:n]
		for i, w := range tmp {
			dst = p.preTokenize(w, atStart && i == 0, dst)
		}
	}
	return dst
}

// splitPreTokenizer is HF's Split (any pattern and behavior).
type splitPreTokenizer struct{ s pretok.Splitter }

func (p splitPreTokenizer) preTokenize(s string, _ bool, dst []string) []string {
	return appendSpans(p.s, s, dst)
}

// spanPool recycles span buffers of pre-tokenizer splits.
var spanPool = sync.Pool{New: func() any { b := make([][2]int, 0, 256); return &b }}

// appendSpans appends the pieces sp splits s into.
func appendSpans(sp pretok.Splitter, s string, dst []string) []string {
	bp := spanPool.Get().(*[][2]int)
	spans := sp.Split(s, (*bp)[:0])
	dst = slices.Grow(dst, len(spans))
	for _, x := range spans {
		dst = append(dst, s[x[0]:x[1]])
	}
	if cap(spans) <= 1<<20 {
		*bp = spans[:0]
		spanPool.Put(bp)
	}
	return dst
}

// byteLevelPreTokenizer is HF's ByteLevel pre-tokenizer. The mapping of
// bytes to the byte-level alphabet is done by the model, which works on raw
// bytes; this stage only adds the prefix space and splits with GPT-2's
// expression.
type byteLevelPreTokenizer struct {
	addPrefixSpace bool
	re             pretok.Splitter // nil when use_regex is false
}

func (p byteLevelPreTokenizer) preTokenize(s string, _ bool, dst []string) []string {
	if p.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	if p.re == nil {
		return append(dst, s)
	}
	return appendSpans(p.re, s, dst)
}

// metaspacePreTokenizer replaces spaces with the replacement character
// ("▁"), prepends one per the prepend scheme and splits before each
// replacement character.
type metaspacePreTokenizer struct {
	rep    string
	scheme int // 0 always, 1 first, 2 never
	split  bool
}

func (p metaspacePreTokenizer) preTokenize(s string, atStart bool, dst []string) []string {
	s = strings.ReplaceAll(s, " ", p.rep)
	if !strings.HasPrefix(s, p.rep) && (p.scheme == 0 || p.scheme == 1 && atStart) {
		s = p.rep + s
	}
	if !p.split {
		return append(dst, s)
	}
	var m [][2]int
	for i := 0; ; {
		k := strings.Index(s[i:], p.rep)
		if k < 0 {
			break
		}
		m = append(m, [2]int{i + k, i + k + len(p.rep)})
		i += k + len(p.rep)
	}
	return splitBehavior(s, m, pretok.MergedWithNext, dst)
}

// classSplit splits at characters of a class with a Split behavior.
type classSplit struct {
	is       func(r rune) bool
	behavior pretok.Behavior
	runs     bool // a run of class characters is one match
}

func (p classSplit) preTokenize(s string, _ bool, dst []string) []string {
	var m [][2]int
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if p.is(r) {
			if p.runs && len(m) > 0 && m[len(m)-1][1] == i {
				m[len(m)-1][1] = i + w
			} else {
				m = append(m, [2]int{i, i + w})
			}
		}
		i += w
	}
	return splitBehavior(s, m, p.behavior, dst)
}

// whitespacePreTokenizer is HF's Whitespace: the matches of \w+|[^\w\s]+.
type whitespacePreTokenizer struct{}

func (whitespacePreTokenizer) preTokenize(s string, _ bool, dst []string) []string {
	start, cls := -1, 0 // cls: 1 word, 2 other
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		c := 2
		switch {
		case isRegexWord(r):
			c = 1
		case unicode.IsSpace(r):
			c = 0
		}
		if c != cls {
			if cls != 0 && start >= 0 {
				dst = append(dst, s[start:i])
			}
			start, cls = i, c
		}
		i += w
	}
	if cls != 0 && start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// isRegexWord is \w of Rust's regex: alphabetic, marks, decimal digits,
// connector punctuation and joiners.
func isRegexWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.M, r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.Is(unicode.Nl, r)
}

// whitespaceSplitPreTokenizer splits on whitespace.
type whitespaceSplitPreTokenizer struct{}

func (whitespaceSplitPreTokenizer) preTokenize(s string, _ bool, dst []string) []string {
	for f := range strings.FieldsFuncSeq(s, unicode.IsSpace) {
		dst = append(dst, f)
	}
	return dst
}

// bertPreTokenizer splits on whitespace and isolates each punctuation
// character.
type bertPreTokenizer struct{}

func (bertPreTokenizer) preTokenize(s string, _ bool, dst []string) []string {
	start := -1
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
			dst = append(dst, s[i:i+w])
		default:
			if start < 0 {
				start = i
			}
		}
		i += w
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// isBertPunct: ASCII punctuation or a Unicode punctuation character.
func isBertPunct(r rune) bool {
	if r < 128 {
		return r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126
	}
	return unicode.IsPunct(r)
}

// isNumeric is Rust's char::is_numeric: categories Nd, Nl, No.
func isNumeric(r rune) bool {
	if r < 128 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

// splitBehavior cuts s at the given matches (in order, non-overlapping)
// with an HF Split behavior.
func splitBehavior(s string, matches [][2]int, b pretok.Behavior, dst []string) []string {
	type part struct {
		s, e  int
		match bool
	}
	parts := make([]part, 0, 2*len(matches)+1)
	last := 0
	for _, m := range matches {
		if m[0] > last {
			parts = append(parts, part{last, m[0], false})
		}
		if m[1] > m[0] {
			parts = append(parts, part{m[0], m[1], true})
		}
		last = m[1]
	}
	if last < len(s) {
		parts = append(parts, part{last, len(s), false})
	}
	switch b {
	case pretok.Removed:
		out := parts[:0]
		for _, p := range parts {
			if !p.match {
				out = append(out, p)
			}
		}
		parts = out
	case pretok.Contiguous:
		out := parts[:0]
		for _, p := range parts {
			if p.match && len(out) > 0 && out[len(out)-1].match && out[len(out)-1].e == p.s {
				out[len(out)-1].e = p.e
				continue
			}
			out = append(out, p)
		}
		parts = out
	case pretok.MergedWithPrevious:
		out := parts[:0]
		prev := false
		for _, p := range parts {
			if p.match && !prev && len(out) > 0 {
				out[len(out)-1].e = p.e
			} else {
				out = append(out, p)
			}
			prev = p.match
		}
		parts = out
	case pretok.MergedWithNext:
		var rev []part
		prev := false
		for i := len(parts) - 1; i >= 0; i-- {
			p := parts[i]
			if p.match && !prev && len(rev) > 0 {
				rev[len(rev)-1].s = p.s
			} else {
				rev = append(rev, p)
			}
			prev = p.match
		}
		parts = parts[:0]
		for i := len(rev) - 1; i >= 0; i-- {
			parts = append(parts, rev[i])
		}
	}
	for _, p := range parts {
		dst = append(dst, s[p.s:p.e])
	}
	return dst
}

// parsePreTokenizer builds a pre-tokenizer from its tokenizer.json object.
// byteLevel reports that a ByteLevel stage is present (the model then works
// on raw bytes).
func parsePreTokenizer(raw json.RawMessage) (preTokenizer, bool, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, false, err
	}
	switch typ {
	case "Sequence":
		var s struct {
			Pretokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		var q seqPreTokenizer
		bl := false
		for _, r := range s.Pretokenizers {
			p, b, err := parsePreTokenizer(r)
			if err != nil {
				return nil, false, err
			}
			bl = bl || b
			if p != nil {
				q = append(q, p)
			}
		}
		switch len(q) {
		case 0:
			return nil, bl, nil
		case 1:
			return q[0], bl, nil
		}
		return q, bl, nil
	case "ByteLevel":
		var s struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		p := byteLevelPreTokenizer{addPrefixSpace: s.AddPrefixSpace == nil || *s.AddPrefixSpace}
		if s.UseRegex == nil || *s.UseRegex {
			re, err := pretok.New(pretok.PatternGPT2)
			if err != nil {
				return nil, false, err
			}
			p.re = re
		}
		if !p.addPrefixSpace && p.re == nil {
			return nil, true, nil
		}
		return p, true, nil
	case "Split":
		var s struct {
			Pattern  hfPattern `json:"pattern"`
			Behavior string    `json:"behavior"`
			Invert   bool      `json:"invert"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		b, err := pretok.ParseBehavior(s.Behavior)
		if err != nil {
			return nil, false, err
		}
		var sp pretok.Splitter
		switch {
		case s.Pattern.Regex != nil:
			sp, err = pretok.NewSplit(*s.Pattern.Regex, true, b, s.Invert)
		case s.Pattern.String != nil:
			sp, err = pretok.NewSplit(*s.Pattern.String, false, b, s.Invert)
		default:
			err = errors.New("Split: pattern has neither String nor Regex")
		}
		if err != nil {
			return nil, false, err
		}
		return splitPreTokenizer{sp}, false, nil
	case "Metaspace":
		var s struct {
			Replacement    *string `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		p := metaspacePreTokenizer{rep: "\u2581", split: s.Split == nil || *s.Split}
		if s.Replacement != nil {
			p.rep = *s.Replacement
		}
		if p.rep == "" {
			return nil, false, errors.New("Metaspace: empty replacement")
		}
		switch {
		case s.PrependScheme != nil:
			switch *s.PrependScheme {
			case "always":
				p.scheme = 0
			case "first":
				p.scheme = 1
			case "never":
				p.scheme = 2
			default:
				return nil, false, fmt.Errorf("Metaspace: unknown prepend_scheme %q", *s.PrependScheme)
			}
		case s.AddPrefixSpace != nil && !*s.AddPrefixSpace:
			p.scheme = 2
		}
		return p, false, nil
	case "Whitespace":
		return whitespacePreTokenizer{}, false, nil
	case "WhitespaceSplit":
		return whitespaceSplitPreTokenizer{}, false, nil
	case "BertPreTokenizer":
		return bertPreTokenizer{}, false, nil
	case "Digits":
		var s struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		if s.Individual {
			return classSplit{is: isNumeric, behavior: pretok.Isolated}, false, nil
		}
		return classSplit{is: isNumeric, behavior: pretok.Isolated, runs: true}, false, nil
	case "Punctuation":
		var s struct {
			Behavior *string `json:"behavior"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		b := pretok.Isolated
		if s.Behavior != nil {
			if b, err = pretok.ParseBehavior(*s.Behavior); err != nil {
				return nil, false, err
			}
		}
		return classSplit{is: isBertPunct, behavior: b}, false, nil
	case "CharDelimiterSplit":
		var s struct {
			Delimiter string `json:"delimiter"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		d, _ := utf8.DecodeRuneInString(s.Delimiter)
		return classSplit{is: func(r rune) bool { return r == d }, behavior: pretok.Removed}, false, nil
	case "":
		return nil, false, errors.New("pre-tokenizer without a type")
	}
	return nil, false, fmt.Errorf("unknown pre-tokenizer type %q", typ)
}
