package tokenizer

import (
	"strings"
	"testing"
)

func TestStopMatcher(t *testing.T) {
	cases := []struct {
		stops  []string
		pieces []string
		want   string
		stop   bool
	}{
		{nil, []string{"a", "b"}, "ab", false},
		{[]string{"END"}, []string{"hello E", "N", "D more"}, "hello ", true},
		{[]string{"END"}, []string{"hello E", "N", "x"}, "hello ENx", false},
		{[]string{"\n\n", "###"}, []string{"one\n", "two##", "#"}, "one\ntwo", true},
		{[]string{"é!"}, []string{"caf", "é", "!"}, "caf", true},
		{[]string{"ab", "b"}, []string{"xab"}, "x", true},
	}
	for _, c := range cases {
		m := NewStopMatcher(c.stops)
		var got strings.Builder
		stopped := false
		for _, p := range c.pieces {
			out, s := m.Push(p)
			got.WriteString(out)
			// never emit the start of a stop string that later completes
			if s {
				stopped = true
				break
			}
		}
		if !stopped {
			got.WriteString(m.Flush())
		}
		if got.String() != c.want || stopped != c.stop {
			t.Errorf("%q on %q: got %q stop=%v, want %q stop=%v", c.stops, c.pieces, got.String(), stopped, c.want, c.stop)
		}
	}
}
