package model

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestOpProfile checks that an op profile counts single-token passes only,
// books each layer's ops once per pass, and leaves the results unchanged.
func TestOpProfile(t *testing.T) {
	m, be := nativeDefault(t)
	run := func(p *OpProfile) [][]float32 {
		be.Profile = p
		defer func() { be.Profile = nil }()
		s, err := NewSession(m, be, 32)
		if err != nil {
			t.Fatal(err)
		}
		var outs [][]float32
		ctx := context.Background()
		for _, toks := range [][]int{{1, 2, 3, 4}, {5}, {6}, {7}} {
			l, err := s.Eval(ctx, toks)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, slices.Clone(l))
		}
		return outs
	}
	plain := run(nil)
	p := new(OpProfile)
	profiled := run(p)
	for i := range plain {
		if !slices.Equal(plain[i], profiled[i]) {
			t.Fatalf("pass %d: logits differ with the profile on", i)
		}
	}
	var buf bytes.Buffer
	if err := p.Report(&buf); err != nil {
		t.Fatal(err)
	}
	rep := buf.String()
	layers := m.Config().Layers
	for _, want := range []string{
		"op profile: 3 single-token passes",
		"| attention | ",
		"| linear attn_q.weight | ",
		"| (between ops) | ",
	} {
		if !strings.Contains(rep, want) {
			t.Fatalf("report lacks %q:\n%s", want, rep)
		}
	}
	for _, line := range strings.Split(rep, "\n") {
		if strings.HasPrefix(line, "| attention |") && !strings.HasSuffix(line, fmt.Sprintf("| %.1f |", float64(layers))) {
			t.Fatalf("attention not called %d times per pass: %s", layers, line)
		}
	}
}
