package pretok

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// refPattern returns the expression regexp2 should run to reproduce
// Oniguruma's behaviour for p: regexp2's (?i) does not fold U+017F to s, so
// case-insensitive contractions are spelled out with explicit classes.
func refPattern(p string) string {
	p = strings.ReplaceAll(p, contrHF, `(?:'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`)
	p = strings.ReplaceAll(p, `'(?i:[sdmt]|ll|ve|re)`, `'(?:[sSſdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])`)
	return p
}

type pair struct {
	pattern string
	hand    *handSplitter
	ref     *Regexp2
}

var pairsCache []pair

// simplePatterns are expressions handled by compileSimple.
var simplePatterns = []string{
	ggufDSLLM[1], ggufDSLLM[2], ggufChameleon[4], "[一-龥぀-ゟ゠-ヿ]+",
	` ?[^(\s|.,!?…。，、।۔،)]+`, `[a-z]+`, `[^a-z\s]{2,4}`, `\p{Lu}{2}`, `[\x{41}-\x{5A}\-\]]+`, `\p{Han}+`,
	`[^\r\n]+`, `[\s\p{L}]+`, `\s?[\s\p{L}]+`, ` ?[ a]+`, `\s?\p{N}{2,3}`, `[\p{Lu}\p{Lt}]`, `\s`, `[\t ]+`,
}

// pairs returns every known expression with its hand-written matcher and a
// regexp2 compilation of the same expression, sorted by expression.
func pairs(t testing.TB) []pair {
	if pairsCache != nil {
		return pairsCache
	}
	keys := make([]string, 0, len(known))
	for k := range known {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ps []pair
	for _, k := range keys {
		ref, err := NewRegexp2(refPattern(k))
		if err != nil {
			t.Fatalf("regexp2 cannot compile known pattern %q: %v", k, err)
		}
		ps = append(ps, pair{k, known[k], ref})
	}
	for _, k := range simplePatterns {
		h, err := New(k)
		if err != nil {
			t.Fatal(err)
		}
		hs, ok := h.(*handSplitter)
		if !ok {
			t.Fatalf("simple pattern %q not compiled to a hand-written matcher", k)
		}
		ref, err := NewRegexp2(k)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, pair{k, hs, ref})
	}
	if sel := os.Getenv("PRETOK_MATCHER"); sel != "" && sel != "seq" {
		var f []pair
		for _, p := range ps {
			if p.hand.name == sel {
				f = append(f, p)
			}
		}
		if len(f) == 0 {
			t.Fatalf("PRETOK_MATCHER=%q matches no hand-written matcher", sel)
		}
		ps = f
	}
	pairsCache = ps
	return ps
}

func pieces(s string, spans [][2]int) []string {
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = s[sp[0]:sp[1]]
	}
	return out
}

// checkTiling verifies the Splitter contract: non-empty spans that tile s.
func checkTiling(s string, spans [][2]int) error {
	at := 0
	for _, sp := range spans {
		if sp[0] != at || sp[1] <= sp[0] {
			return fmt.Errorf("bad span %v at offset %d in %v", sp, at, spans)
		}
		at = sp[1]
	}
	if at != len(s) {
		return fmt.Errorf("spans end at %d, text has %d bytes", at, len(s))
	}
	return nil
}

func checkAgree(t testing.TB, p pair, s string) bool {
	t.Helper()
	got := p.hand.Split(s, nil)
	want, err := p.ref.SplitErr(s, nil)
	if err != nil {
		t.Errorf("%s: regexp2 failed on %q: %v", p.hand.name, s, err)
		return false
	}
	if err := checkTiling(s, got); err != nil {
		t.Errorf("%s on %q: %v", p.hand.name, s, err)
		return false
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s (%q) on %q:\n hand    %q\n regexp2 %q", p.hand.name, p.pattern, s, pieces(s, got), pieces(s, want))
		return false
	}
	gotF := p.hand.FindAll(s, nil)
	wantF := p.ref.FindAll(s, nil)
	if !slices.Equal(gotF, wantF) {
		t.Errorf("%s FindAll on %q:\n hand    %q\n regexp2 %q", p.hand.name, s, pieces(s, gotF), pieces(s, wantF))
		return false
	}
	return true
}

// atoms are the building blocks of the generated tricky strings.
var atoms = []string{
	"'", "'", "s", "S", "t", "T", "re", "RE", "rE", "ve", "VE", "m", "M", "ll", "LL", "lL", "d", "D", "ſ", "e", "l", "r", "v",
	"a", "Z", "word", "Hello", "HTTPServer", "é", "É", "e\u0301", "\u0301", "\u0301\u0302", "ǅ", "ʰ", "ª", "ß", "İ", "K",
	"0", "1", "9", "12", "123", "1234", "٣", "½", "Ⅻ", "𝟘", "²",
	" ", " ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", "\u00a0", "\u2028", "\u2029", "\u3000", "\u0085", "\u200b", "\v", "\f", "\u1680",
	"\x00", "\x01", "\x1b", "\x7f", "\u200e", "\u202e", "\ufeff",
	"漢", "字", "中文", "한", "국어", "ひら", "カナ", "ｱ", "ࠀ", "一", "龥", "豈",
	"😀", "👨\u200d👩\u200d👧", "\u200d", "🇺🇸", "\ufe0f", "👍🏽", "1\ufe0f\u20e3",
	".", ",", "!", "?", "/", "//", "$", "+", "<", "=", ">", "^", "~", "|", "`", "(", ")", "_", "-", "...", "…", "。", "，", "«", "»", "¿", "@", "#", "*", "\"", "\\", "{", "}", "€", "©", "।", "۔", "،", "|",
	"\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf0\x9f", "\xc0\xaf", "\ufffd",
	"\U00010400", "\U0001D400", "𐐨", "\U000E0041",
}

func trickyStrings() []string {
	var out []string
	// Hand-written cases.
	out = append(out,
		"", " ", "a", "'", "''", "'s", "'S", "'ſ", "'ll", "'LL", "'lL", "'re", "'Re", "'ve", "'VE", "'m", "'M", "'d", "'D", "'t", "'T", "'x",
		"don't", "DON'T", "I'M", "we'RE", "they'Ve", "it'S", "y'all", "'sa", "x.'s", "''s", "a 's", " 's", "\t's",
		"Hello world", " Hello world", "Hello  world", "Hello   world", "Hello\tworld", "Hello \tworld", "Hello\t world",
		"   ", "\n", "\n\n", "\t\n", " \n ", "a \n b", "a\r\nb", "a \r\n \r\n  b", "\r", "\r\r\n\n", "a\n", "a\n\n", "a \n", "a  ",
		"  a", " a", "\u00a0a", "\u00a0\u00a0a", "\u3000漢", "x\u2028y", "x \u2028 y",
		"!!!", " !!!", "!!!\n\n", " !!!\r\n", "a/b//c", "http://x.y/z", "<|endoftext|>", "$+<=>^~|`",
		"e\u0301", "\u0301e", " \u0301", "\u0301", "a\u0301\u0301\u0301b", "HTTPServer", "iPhone", "McDonald's", "ǅungla", "ABCʰdef", "ABCʰDEF", "ABCʰ", "ʰ",
		"中文字符", "한국어", "日本語のテキスト", "😀😀", "👨\u200d👩\u200d👧\u200d👦", "🇺🇸🇬🇧", "👍🏽 ok",
		"\x00\x01\x02", "\x7f", "\xff\xfe", "a\xffb", "\xffabc", " \xff", "'\xff", "\xe2\x82", "\xed\xa0\x80",
		"Ω", "ℌ", "K", "Ⅻ", "½", "١٢٣٤", "𝟘𝟙𝟚𝟛",
	)
	for n := 1; n <= 10; n++ {
		d := strings.Repeat("7", n)
		out = append(out, d, " "+d, "a"+d, d+"a", d+" "+d, "x"+d+".")
		out = append(out, strings.Repeat("٣", n))
	}
	for n := 1; n <= 5; n++ {
		ws := strings.Repeat(" ", n)
		for _, tail := range []string{"", "a", "\n", "1", "!", "\t", "\u00a0", "漢", "'s", "\xff"} {
			out = append(out, ws+tail, "x"+ws+tail, ws+"\n"+ws+tail, "\t"+ws+tail, ws+"\r\n"+tail)
		}
	}
	// Random concatenations of atoms.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 4000 {
		n := rng.IntN(10)
		var b strings.Builder
		for range n {
			b.WriteString(atoms[rng.IntN(len(atoms))])
		}
		out = append(out, b.String())
	}
	return out
}

func TestMatchersAgreeWithRegexp2(t *testing.T) {
	strs := trickyStrings()
	for _, p := range pairs(t) {
		t.Run(p.hand.name, func(t *testing.T) {
			bad := 0
			for _, s := range strs {
				if !checkAgree(t, p, s) {
					bad++
					if bad > 10 {
						t.Fatal("too many disagreements")
					}
				}
			}
		})
	}
}

// FuzzMatchersAgree checks every hand-written matcher, and the GGUF
// pipelines built from them, against regexp2 on the same expression.
// PRETOK_MATCHER=<name> restricts it to one matcher, PRETOK_MATCHER=seq to
// the pipelines.
func FuzzMatchersAgree(f *testing.F) {
	for _, s := range []string{"Hello world's 123 !!\n\n  x", "'S'ſ 'll\r\n\t 1234567 漢字 👨\u200d👩\u200d👧", "a\u0301 \xff\x00 \u00a0b"} {
		f.Add(s)
	}
	ps := pairs(f)
	var seqs []seqPair
	if sel := os.Getenv("PRETOK_MATCHER"); sel == "" || sel == "seq" {
		seqs = seqPairs(f)
	}
	if os.Getenv("PRETOK_MATCHER") == "seq" {
		ps = nil
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range ps {
			checkAgree(t, p, s)
		}
		for _, q := range seqs {
			if got, want := q.hand.Split(s, nil), q.ref.Split(s, nil); !slices.Equal(got, want) {
				t.Errorf("GGUF %s on %q:\n hand    %q\n regexp2 %q", q.name, s, pieces(s, got), pieces(s, want))
			}
		}
	})
}

func TestKnownExamples(t *testing.T) {
	cases := []struct {
		pattern string
		text    string
		want    []string
	}{
		{PatternGPT2, "Hello world's  test\n\n 123", []string{"Hello", " world", "'s", " ", " test", "\n\n", " 123"}},
		{PatternGPT2, "I'M here", []string{"I", "'", "M", " here"}},
		{PatternLlama3, "I'M here 12345\r\n\r\nok  ", []string{"I", "'M", " here", " ", "123", "45", "\r\n\r\n", "ok", "  "}},
		{PatternLlama3, "foo(bar) !!\n\nx", []string{"foo", "(bar", ")", " !!\n\n", "x"}},
		{PatternQwen2, "12345", []string{"1", "2", "3", "4", "5"}},
		{PatternLlama3, "'ſa", []string{"'ſ", "a"}},
		{contrCpp + PatternLlama3[len(contrHF):], "'ſa", []string{"'ſa"}},
		{PatternO200k, "HTTPServer's x", []string{"HTTPServer's", " x"}},
		{PatternO200k, "helloWorld", []string{"hello", "World"}},
	}
	for _, c := range cases {
		s, err := New(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if !IsHandWritten(s) {
			t.Errorf("New(%q) did not choose a hand-written matcher", c.pattern)
		}
		got := Strings(s, c.text, nil)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q on %q: got %q want %q", c.pattern, c.text, got, c.want)
		}
	}
}

func TestNewFallback(t *testing.T) {
	s, err := New(`\d+|[a-z]++`)
	if err != nil {
		t.Fatal(err)
	}
	if IsHandWritten(s) {
		t.Fatal("unexpected hand-written matcher")
	}
	got := Strings(s, "ab12 cd", nil)
	if want := []string{"ab", "12", " ", "cd"}; !slices.Equal(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	if _, err := New(`(unclosed`); err == nil {
		t.Error("expected a compile error")
	}
	// Empty matches end the text before them but produce no piece.
	s, _ = New(`(?=(\d{3})+(?!\d))`)
	if got, want := Strings(s, "1234567", nil), []string{"1", "234", "567"}; !slices.Equal(got, want) {
		t.Errorf("lookahead split: got %q want %q", got, want)
	}
}

func TestNormalize(t *testing.T) {
	if got := Normalize("[\r\n]\\pL\t"); got != `[\r\n]\p{L}\t` {
		t.Errorf("got %q", got)
	}
	s, err := New("[\r\n]")
	if err != nil || !IsHandWritten(s) {
		t.Errorf("literal CR LF class not recognised: %v", err)
	}
}

func TestRewritePossessive(t *testing.T) {
	for in, want := range map[string]string{
		`a++b`:                 `(?>a+)b`,
		`[^\r\n]?+\p{L}+`:      `(?>[^\r\n]?)\p{L}+`,
		`(?:x|y)*+z`:           `(?>(?:x|y)*)z`,
		`\p{N}{1,3}+`:          `(?>\p{N}{1,3})`,
		`(a(?i:b++))`:          `(a(?i:(?>b+)))`,
		`[+]+`:                 `[+]+`,
		`\++`:                  `\++`,
		`a+?`:                  `a+?`,
		` ?[^\s\p{L}\p{N}]++x`: ` ?(?>[^\s\p{L}\p{N}]+)x`,
	} {
		if got := rewritePossessive(in); got != want {
			t.Errorf("rewritePossessive(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInvalidUTF8Spans(t *testing.T) {
	s, _ := New(PatternLlama3)
	text := "a\xff\xfeb \xc3"
	spans := s.Split(text, nil)
	if err := checkTiling(text, spans); err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString("x") {
		t.Fatal()
	}
}

func TestForGGUFPre(t *testing.T) {
	for _, name := range GGUFPreNames() {
		s, err := ForGGUFPre(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		text := "Hello world's 1234567 HTTPServer!!\n\n  漢字 한국어 ſ <sentinel:12> IMGIMGAAZ\t\r\n end  "
		spans := s.Split(text, nil)
		if err := checkTiling(text, spans); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%-16s hand=%v %q", name, IsHandWritten(s), pieces(text, spans))
	}
	if _, err := ForGGUFPre("no-such-pre"); err == nil || !strings.Contains(err.Error(), "no-such-pre") {
		t.Errorf("unknown name: err = %v", err)
	}
	for _, name := range []string{"gpt-2", "llama-bpe", "qwen2", "qwen35", "deepseek-coder", "falcon", "mpt", "starcoder", "refact", "command-r", "gpt-4o", "default"} {
		s, _ := ForGGUFPre(name)
		if !IsHandWritten(s) {
			t.Errorf("%s is not fully hand-written", name)
		}
	}
}

func TestNewSplitBehaviors(t *testing.T) {
	text := "the-final--countdown"
	want := map[Behavior][]string{
		Removed:            {"the", "final", "countdown"},
		Isolated:           {"the", "-", "final", "-", "-", "countdown"},
		MergedWithPrevious: {"the-", "final-", "-", "countdown"},
		MergedWithNext:     {"the", "-final", "-", "-countdown"},
		Contiguous:         {"the", "-", "final", "--", "countdown"},
	}
	for b, w := range want {
		for _, isRegex := range []bool{false, true} {
			s, err := NewSplit("-", isRegex, b, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := Strings(s, text, nil); !slices.Equal(got, w) {
				t.Errorf("%v regex=%v: got %q want %q", b, isRegex, got, w)
			}
		}
		pb, err := ParseBehavior(b.String())
		if err != nil || pb != b {
			t.Errorf("ParseBehavior(%q) = %v, %v", b.String(), pb, err)
		}
	}
	// Gemma's Split(" ", MergedWithPrevious) and an inverted Removed split.
	s, _ := NewSplit(" ", false, MergedWithPrevious, false)
	if got, w := Strings(s, "a b  c ", nil), []string{"a ", "b ", " ", "c "}; !slices.Equal(got, w) {
		t.Errorf("gemma: got %q want %q", got, w)
	}
	s, _ = NewSplit(`\p{N}+`, true, Removed, true)
	if got, w := Strings(s, "ab12cd345", nil), []string{"12", "345"}; !slices.Equal(got, w) {
		t.Errorf("invert: got %q want %q", got, w)
	}
	// Hand-written and regexp2 give the same merges.
	for _, b := range []Behavior{MergedWithPrevious, MergedWithNext, Contiguous, Removed} {
		h, _ := NewSplit(PatternLlama3, true, b, false)
		ref, _ := NewRegexp2(refPattern(PatternLlama3))
		r := &hfSplit{m: ref, behavior: b}
		for _, x := range trickyStrings()[:300] {
			if g, w := h.Split(x, nil), r.Split(x, nil); !slices.Equal(g, w) {
				t.Errorf("%v on %q: %v vs %v", b, x, g, w)
			}
		}
	}
}

type seqPair struct {
	name      string
	hand, ref Splitter
}

// seqPairs returns multi-stage GGUF pre-tokenizers built from hand-written
// matchers and the same pipelines built from regexp2 only.
func seqPairs(t testing.TB) []seqPair {
	var out []seqPair
	for _, name := range []string{"default", "deepseek-coder", "deepseek-v3", "falcon", "starcoder", "viking", "laguna", "minicpm5", "gemma4", "youtu"} {
		h, err := ForGGUFPre(name)
		if err != nil {
			t.Fatal(err)
		}
		var stages []Splitter
		for _, p := range GGUFPrePatterns(name) {
			r, err := NewRegexp2(refPattern(p))
			if err != nil {
				t.Fatal(err)
			}
			stages = append(stages, r)
		}
		out = append(out, seqPair{name, h, Sequence(stages...)})
	}
	return out
}

func TestGGUFSequencesAgree(t *testing.T) {
	strs := trickyStrings()
	for _, q := range seqPairs(t) {
		if !IsHandWritten(q.hand) && q.name != "youtu" {
			t.Errorf("%s is not hand-written", q.name)
		}
		for _, s := range strs {
			got, want := q.hand.Split(s, nil), q.ref.Split(s, nil)
			if err := checkTiling(s, got); err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("GGUF %s on %q:\n hand    %q\n regexp2 %q", q.name, s, pieces(s, got), pieces(s, want))
			}
		}
	}
}

// TestConcurrentUse splits from several goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	var ss []Splitter
	for _, name := range []string{"llama-bpe", "deepseek-coder", "gpt-4o"} {
		s, err := ForGGUFPre(name)
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	fb, _ := New(`\d+|[a-z]++`)
	ss = append(ss, fb)
	text := mixedText(20000) + "漢字 ſ \xff"
	done := make(chan [][2]int)
	for g := range 8 {
		go func() {
			var out [][2]int
			for k := range 20 {
				out = ss[(g+k)%len(ss)].Split(text, out[:0])
			}
			done <- out
		}()
	}
	for range 8 {
		if err := checkTiling(text, <-done); err != nil {
			t.Error(err)
		}
	}
}
