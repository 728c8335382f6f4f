package pretok

import (
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// handMatchers returns one entry per distinct hand-written matcher.
func handMatchers() []*handSplitter {
	seen := map[*handSplitter]bool{}
	var hs []*handSplitter
	for _, h := range known {
		if !seen[h] {
			seen[h] = true
			hs = append(hs, h)
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].name < hs[j].name })
	return hs
}

// adversarial inputs of about n bytes.
func adversarial(n int) map[string]string {
	rep := func(u string) string { return strings.Repeat(u, n/len(u)) }
	return map[string]string{
		"letters":     rep("abcdefghij"),
		"one-char":    rep("a"),
		"upper":       rep("A"),
		"upper-lm":    rep("AʰB"),
		"spaces":      rep(" "),
		"space-tab":   rep(" \t"),
		"ws-then-nl":  rep(" ") + "\n",
		"nl-ws-x":     "\n" + rep(" ") + "x",
		"newlines":    rep("\r\n"),
		"digits":      rep("7"),
		"punct":       rep("!"),
		"apostrophes": rep("'"),
		"combining":   "a" + rep("\u0301"),
		"nbsp":        rep("\u00a0"),
		"invalid":     rep("\xff"),
		"cjk":         rep("漢"),
		"mixed":       rep("x'S 1\u0301\t"),
	}
}

// TestLinearTime splits 256 KiB and 1 MiB adversarial inputs with every
// hand-written matcher and fails on a super-linear slowdown.
func TestLinearTime(t *testing.T) {
	small, big := 256<<10, 1<<20
	if testing.Short() {
		small, big = 64<<10, 256<<10
	}
	as, ab := adversarial(small), adversarial(big)
	var dst [][2]int
	// Thread CPU time, not wall time: the machine may be busy.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	measure := func(h *handSplitter, s string, reps int) time.Duration {
		best := time.Duration(1 << 62)
		for range reps {
			t0 := threadCPU()
			dst = h.Split(s, dst[:0])
			if d := threadCPU() - t0; d < best {
				best = d
			}
		}
		return best
	}
	for _, h := range handMatchers() {
		for name, s := range ab {
			if h.split != nil && name != "one-char" && name != "combining" && name != "invalid" && name != "mixed" {
				continue // class-run matchers: a plain loop, fewer inputs suffice
			}
			tb := measure(h, s, 1)
			ts := measure(h, as[name], 2)
			// Linear: ×4 input ≈ ×4 time. Allow generous noise, and
			// measure again before failing.
			if tb > 16*ts+20*time.Millisecond {
				tb, ts = measure(h, s, 3), measure(h, as[name], 3)
			}
			if tb > 2*time.Second {
				t.Errorf("%s on %s (%d bytes): %v", h.name, name, len(s), tb)
			}
			if tb > 16*ts+20*time.Millisecond {
				t.Errorf("%s on %s: %v for %d bytes vs %v for %d bytes: super-linear", h.name, name, tb, len(s), ts, len(as[name]))
			}
		}
	}
}

// mixedText generates deterministic English prose mixed with Go-like code.
func mixedText(n int) string {
	words := strings.Fields(`the of and to in is that it for was on are as with his they at be this have from or one had by
		word but not what all were we when your can said there use an each which she do how their if will up other about out
		many then them these so some her would make like him into time has look two more write go see number no way could
		people my than first water been call who oil its now find long down day did get come made may part I'm don't it's
		we're they've you'll he'd Hello World HTTP JSON naïve café résumé Zürich façade`)
	code := []string{"func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {\n", "\tif err != nil {\n\t\treturn nil, err\n\t}\n",
		"for i := 0; i < len(x); i++ {\n", "\t// TODO: handle the 3rd case\n", "}\n\n", "x := map[string]int{\"a\": 1, \"b\": 22}\n",
		"    return a+b*c/d - 1234567;\r\n", "#include <stdio.h>\n", "\t\tfmt.Printf(\"%d items\\n\", n)\n"}
	rng := rand.New(rand.NewPCG(7, 11))
	var b strings.Builder
	for b.Len() < n {
		if rng.IntN(4) == 0 {
			b.WriteString(code[rng.IntN(len(code))])
			continue
		}
		k := 5 + rng.IntN(15)
		for i := range k {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
			switch rng.IntN(12) {
			case 0:
				b.WriteByte(',')
			case 1:
				b.WriteString(" 19" + string(rune('0'+rng.IntN(10))) + "0")
			case 2:
				b.WriteString(" (see §2)")
			}
		}
		b.WriteString(".\n")
		if rng.IntN(5) == 0 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func BenchmarkSplit(b *testing.B) {
	text := mixedText(1 << 20)
	for _, h := range handMatchers() {
		b.Run("hand/"+h.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			dst := make([][2]int, 0, len(text)/2)
			for b.Loop() {
				dst = h.Split(text, dst[:0])
			}
		})
	}
	for _, name := range []string{PatternGPT2, PatternLlama3, PatternQwen2, PatternO200k} {
		ref, _ := NewRegexp2(refPattern(name))
		b.Run("regexp2/"+known[name].name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			dst := make([][2]int, 0, len(text)/2)
			for b.Loop() {
				dst = ref.Split(text, dst[:0])
			}
		})
	}
}

// BenchmarkGGUFPre measures whole pre-tokenizers (multi-stage ones included).
func BenchmarkGGUFPre(b *testing.B) {
	text := mixedText(1 << 20)
	for _, name := range []string{"gpt-2", "llama-bpe", "qwen2", "deepseek-coder", "deepseek-v3", "falcon", "starcoder", "default", "gpt-4o"} {
		s, err := ForGGUFPre(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			dst := make([][2]int, 0, len(text)/2)
			for b.Loop() {
				dst = s.Split(text, dst[:0])
			}
		})
	}
}
