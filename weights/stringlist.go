package weights

import "strings"

// StringList is a string array read from a GGUF file, stored compactly:
// the strings' bytes one after the other in one string, and where each one
// ends. A vocabulary of 150,000 tokens and as many merges costs 16 bytes of
// string header per entry as a []string (4.8 MB); as a StringList 4 bytes.
// Metadata.Strings returns it as a []string.
type StringList struct {
	data string
	ends []uint32
}

// NewStringList returns a StringList holding ss.
func NewStringList(ss []string) StringList {
	var b strings.Builder
	ends := make([]uint32, len(ss))
	for i, s := range ss {
		b.WriteString(s)
		ends[i] = uint32(b.Len())
	}
	return StringList{data: b.String(), ends: ends}
}

// Len is the number of strings.
func (l StringList) Len() int { return len(l.ends) }

// At returns string i (0 ≤ i < Len); it shares memory with l.
func (l StringList) At(i int) string {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.data[start:l.ends[i]]
}

// Strings returns the strings as a slice (new headers, shared bytes).
func (l StringList) Strings() []string {
	out := make([]string, len(l.ends))
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}
