package goformer

import "strings"

// stopMatcher holds back generated text that might begin a stop string, so
// a stop string is never emitted, not even in part.
type stopMatcher struct {
	stops   []string
	pending string
}

// push adds text and returns what can be emitted now, and whether a stop
// string was found (the text before it is returned; the rest is dropped).
func (m *stopMatcher) push(text string) (out string, stopped bool) {
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
	keep := 0
	for _, s := range m.stops {
		for n := min(len(s)-1, len(m.pending)); n > keep; n-- {
			if strings.HasSuffix(m.pending, s[:n]) {
				keep = n
				break
			}
		}
	}
	out = m.pending[:len(m.pending)-keep]
	m.pending = m.pending[len(m.pending)-keep:]
	return out, false
}

// flush returns the held-back text at the end of a generation.
func (m *stopMatcher) flush() string {
	out := m.pending
	m.pending = ""
	return out
}
