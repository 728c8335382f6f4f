package tokenizer

import "strings"

// StopMatcher finds stop strings in a stream of decoded text. Text that
// might be the beginning of a stop string is held back until it cannot be,
// so no part of a stop string is ever emitted. Fed whole UTF-8 characters
// (a StreamDecoder's output), it never splits one: every cut is at the
// start of a stop string or of a prefix of one.
type StopMatcher struct {
	stops   []string
	pending string
}

// NewStopMatcher matches the given stop strings (none: text passes through).
func NewStopMatcher(stops []string) *StopMatcher { return &StopMatcher{stops: stops} }

// Push adds text and returns what can be emitted now, and whether a stop
// string was found (then the text before it is returned and the rest is
// dropped).
func (m *StopMatcher) Push(text string) (out string, stopped bool) {
	if len(m.stops) == 0 {
		return text, false
	}
	m.pending += text
	first := -1
	for _, s := range m.stops {
		if i := strings.Index(m.pending, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		out, m.pending = m.pending[:first], ""
		return out, true
	}
	hold := 0 // the longest tail of pending that begins some stop string
	for _, s := range m.stops {
		for n := min(len(s)-1, len(m.pending)); n > hold; n-- {
			if strings.HasSuffix(m.pending, s[:n]) {
				hold = n
				break
			}
		}
	}
	out = m.pending[:len(m.pending)-hold]
	m.pending = m.pending[len(m.pending)-hold:]
	return out, false
}

// Flush returns the held-back text at the end of a generation.
func (m *StopMatcher) Flush() string {
	out := m.pending
	m.pending = ""
	return out
}
