package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

var normForms = []struct {
	name string
	f    norm.Form
}{{"NFC", norm.NFC}, {"NFD", norm.NFD}, {"NFKC", norm.NFKC}, {"NFKD", norm.NFKD}}

// TestNormalizeExactMatchesXText checks the unlimited normalizer against
// x/text on text whose runs of marks are short enough for x/text to be
// exact.
func TestNormalizeExactMatchesXText(t *testing.T) {
	alphabet := []rune("aeiouAEIOUçÅåǅﬁ①ｶ゙가각ᄀ하\u1161\u11a8\u0300\u0301\u0308\u0323\u0327\u031b\u0345\u05b0\u0654\u093c\u0f71\u0f72\u3099 ॐक़ড়ὰΐ\U0001d15e\U0001d160ﾞ")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for k := rng.IntN(12); k >= 0; k-- {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		if rng.IntN(10) == 0 {
			b.WriteString("\xff\xe2\x82")
		}
		s := b.String()
		for _, f := range normForms {
			if got, want := normalizeExact(f.f, s), f.f.String(s); got != want {
				t.Fatalf("%s(%+q) = %+q, x/text %+q", f.name, s, got, want)
			}
		}
	}
}

// TestNormalizeLongMarkRuns: no U+034F is inserted, marks are ordered by
// combining class over the whole run.
func TestNormalizeLongMarkRuns(t *testing.T) {
	s := "e" + strings.Repeat("\u0301\u0323", 40) + "x"
	// e + dot below composes (class 220 sorts before the acute's 230);
	// nothing else composes.
	want := "\u1eb9" + strings.Repeat("\u0323", 39) + strings.Repeat("\u0301", 40) + "x"
	if got := normalizeForm(norm.NFC, s); got != want {
		t.Errorf("NFC long run = %+q", got)
	}
	if got := normalizeForm(norm.NFD, s); got != "e"+strings.Repeat("\u0323", 40)+strings.Repeat("\u0301", 40)+"x" {
		t.Errorf("NFD long run = %+q", got)
	}
	if strings.ContainsRune(normalizeForm(norm.NFKC, s), 0x34F) {
		t.Error("U+034F inserted")
	}
}
