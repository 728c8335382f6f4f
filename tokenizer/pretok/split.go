package pretok

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Behavior is what HF's Split pre-tokenizer does with the matches of its
// pattern (tokenizers' SplitDelimiterBehavior).
type Behavior int

// The Split behaviors. For "the-final--countdown" split on "-":
//
//	Removed             "the" "final" "countdown"
//	Isolated            "the" "-" "final" "-" "-" "countdown"
//	MergedWithPrevious  "the-" "final-" "-" "countdown"
//	MergedWithNext      "the" "-final" "-" "-countdown"
//	Contiguous          "the" "-" "final" "--" "countdown"
const (
	Isolated Behavior = iota
	Removed
	MergedWithPrevious
	MergedWithNext
	Contiguous
)

var behaviorNames = []string{"Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"}

// String returns the tokenizer.json name of b.
func (b Behavior) String() string {
	if b >= 0 && int(b) < len(behaviorNames) {
		return behaviorNames[b]
	}
	return fmt.Sprintf("Behavior(%d)", int(b))
}

// ParseBehavior parses a tokenizer.json behavior name ("Isolated",
// "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"; the
// snake_case forms are accepted too).
func ParseBehavior(name string) (Behavior, error) {
	n := strings.ReplaceAll(strings.ToLower(name), "_", "")
	for i, b := range behaviorNames {
		if strings.ToLower(b) == n {
			return Behavior(i), nil
		}
	}
	return 0, fmt.Errorf("pretok: unknown Split behavior %q", name)
}

// span is a piece of text and whether it is a match of the pattern.
type span struct {
	start, end int
	match      bool
}

// matcherOf is implemented by every single-pattern splitter: it appends the
// matches and the text between them, in order, covering text. Empty matches
// are reported too (they matter to the merging behaviors).
type matcherOf interface {
	spans(text string, dst []span) []span
}

func (h *handSplitter) spans(text string, dst []span) []span {
	if h.all != nil {
		return h.all(text, dst)
	}
	gap := -1
	for i := 0; i < len(text); {
		e := h.match(text, i)
		if e < 0 {
			if gap < 0 {
				gap = i
			}
			_, w := utf8.DecodeRuneInString(text[i:])
			i += w
			continue
		}
		if gap >= 0 {
			dst = append(dst, span{gap, i, false})
			gap = -1
		}
		dst = append(dst, span{i, e, true})
		i = e
	}
	if gap >= 0 {
		dst = append(dst, span{gap, len(text), false})
	}
	return dst
}

func (r *Regexp2) spans(text string, dst []span) []span {
	prev := 0
	r.each(text, func(s, e int) {
		if s > prev {
			dst = append(dst, span{prev, s, false})
		}
		dst = append(dst, span{s, e, true})
		prev = e
	})
	if prev < len(text) {
		dst = append(dst, span{prev, len(text), false})
	}
	return dst
}

// literal matches a fixed string (HF's "pattern": {"String": ...}).
type literal string

func (l literal) spans(text string, dst []span) []span {
	if len(l) == 0 {
		if len(text) > 0 {
			dst = append(dst, span{0, len(text), false})
		}
		return dst
	}
	prev := 0
	for {
		k := strings.Index(text[prev:], string(l))
		if k < 0 {
			break
		}
		s := prev + k
		if s > prev {
			dst = append(dst, span{prev, s, false})
		}
		dst = append(dst, span{s, s + len(l), true})
		prev = s + len(l)
	}
	if prev < len(text) {
		dst = append(dst, span{prev, len(text), false})
	}
	return dst
}

// hfSplit is HF's Split pre-tokenizer with any behavior.
type hfSplit struct {
	m        matcherOf
	behavior Behavior
	invert   bool
}

// NewSplit returns the Splitter of a tokenizer.json Split pre-tokenizer:
// pattern is the "Regex" (isRegex) or "String" value, behavior and invert
// as given there. With behavior Removed the spans skip the removed text, so
// they do not cover the input (the only case where they do not); otherwise
// the Splitter contract holds. Isolated regex splits return New(pattern).
func NewSplit(pattern string, isRegex bool, behavior Behavior, invert bool) (Splitter, error) {
	if behavior < Isolated || behavior > Contiguous {
		return nil, fmt.Errorf("pretok: invalid Split behavior %d", behavior)
	}
	var m matcherOf
	if isRegex {
		s, err := New(pattern)
		if err != nil {
			return nil, err
		}
		if behavior == Isolated {
			return s, nil
		}
		m = s.(matcherOf)
	} else {
		m = literal(pattern)
	}
	return &hfSplit{m: m, behavior: behavior, invert: invert}, nil
}

func (h *hfSplit) Split(text string, dst [][2]int) [][2]int {
	if len(text) == 0 {
		return dst
	}
	var buf [32]span
	sp := h.m.spans(text, buf[:0])
	if h.invert {
		for i := range sp {
			sp[i].match = !sp[i].match
		}
	}
	emit := func(s, e int) {
		if e > s {
			dst = append(dst, [2]int{s, e})
		}
	}
	switch h.behavior {
	case Isolated:
		for _, x := range sp {
			emit(x.start, x.end)
		}
	case Removed:
		for _, x := range sp {
			if !x.match {
				emit(x.start, x.end)
			}
		}
	case Contiguous:
		// Consecutive spans with the same match flag are merged.
		var out []span
		prev := false
		for _, x := range sp {
			if len(out) > 0 && x.match == prev {
				out[len(out)-1].end = x.end
			} else {
				out = append(out, x)
			}
			prev = x.match
		}
		for _, x := range out {
			emit(x.start, x.end)
		}
	case MergedWithPrevious:
		var out []span
		prev := false
		for _, x := range sp {
			if x.match && !prev && len(out) > 0 {
				out[len(out)-1].end = x.end
			} else {
				out = append(out, x)
			}
			prev = x.match
		}
		for _, x := range out {
			emit(x.start, x.end)
		}
	case MergedWithNext:
		var out []span
		prev := false
		for k := len(sp) - 1; k >= 0; k-- {
			x := sp[k]
			if x.match && !prev && len(out) > 0 {
				out[len(out)-1].start = x.start
			} else {
				out = append(out, x)
			}
			prev = x.match
		}
		for k := len(out) - 1; k >= 0; k-- {
			emit(out[k].start, out[k].end)
		}
	}
	return dst
}
