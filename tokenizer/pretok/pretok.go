// Package pretok splits text into pre-tokens the way the regular expressions
// of Hugging Face tokenizer.json "Split" pre-tokenizers (behavior Isolated)
// and of llama.cpp's BPE pre-tokenizers (GGUF tokenizer.ggml.pre) do.
//
// Those expressions are written for Oniguruma/PCRE: they use lookahead
// (\s+(?!\S)), case-insensitive groups, possessive quantifiers and Unicode
// classes, which Go's regexp (RE2) lacks. The package has hand-written,
// strictly linear-time matchers for the known expressions (GPT-2, Llama 3 /
// cl100k, Qwen2, Qwen3.5, GPT-4o / o200k, Tekken, ... and the simple stages of
// multi-regex pre-tokenizers) and falls back to github.com/dlclark/regexp2, a
// backtracking engine, for any other expression.
//
// # Semantics
//
// A Splitter reports pieces as byte spans [start, end) of the input. The
// pieces are the matches of the expression found left to right (leftmost
// match, alternatives tried in order, backtracking as in Oniguruma), plus the
// stretches of text between matches as pieces of their own, so the spans
// always tile the input: concatenating the pieces gives back the text. Empty
// matches produce no piece but do end the stretch before them.
//
// # Unicode
//
// Character classes follow the Unicode version of Go's unicode package
// (unicode.Version, 15.0.0 for Go 1.26): \p{L}, \p{N}, \p{M}, \p{P}, \p{S} are
// the general categories and \s is the White_Space property (the same set as
// unicode.IsSpace: \t \n \v \f \r, space, U+0085, U+00A0, U+1680,
// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). Oniguruma as built
// into HF tokenizers may implement another Unicode version, so code points
// assigned or recategorised between the two versions can be classified
// differently. Case-insensitive contractions (?i:'s|...) use Unicode simple
// case folding as Oniguruma does, so "'ſ" (U+017F) matches 's; the
// regexp2 fallback folds with ToLower and does not match it.
//
// Invalid UTF-8 is never an error: each byte that is not part of a valid
// sequence counts as one code point with the classes of U+FFFD (a symbol, so
// not a letter, number, space or punctuation), exactly as Go's []rune
// conversion sees it, and spans keep exact byte offsets.
//
// # Use
//
//   - New(pattern): a tokenizer.json Split "Regex" (Isolated), or llama.cpp
//     expression. HF's ByteLevel pre-tokenizer with use_regex=true uses
//     PatternGPT2.
//   - NewSplit(pattern, isRegex, behavior, invert): any tokenizer.json Split
//     pre-tokenizer (all behaviors, String patterns).
//   - ForGGUFPre(name): a GGUF tokenizer.ggml.pre value; multi-expression
//     pre-tokenizers (DeepSeek, Falcon, StarCoder, ...) are Sequences.
//   - Sequence(stages...): HF's Sequence of Split pre-tokenizers.
//
// Hand-written matchers exist for the GPT-2, Llama 3 (cl100k), Qwen2,
// Qwen3.5, MiniCPM5, Seed-Coder, Bailing, GPT-4o (o200k), Tekken and
// DeepSeek-V3 expressions, in their tokenizer.json and llama.cpp spellings,
// for Poro/BLOOM, Gemma 4's line split and DeepSeek LLM's \s+$, and for the
// class-run stages \p{N}, \p{N}+, \p{N}{1,3}, [0-9]{3}, [\r\n], \s?\p{L}+,
// \s?\p{P}+, \S+, the punctuation runs and the CJK runs of DeepSeek; other
// simple class-run expressions are compiled (see New). IsHandWritten tells
// whether a Splitter uses only those.
//
// # Differences from the reference engines
//
// HF tokenizers matches with Oniguruma, OpenAI's GPT-2 encoder with Python's
// regex module, llama.cpp with its own code and tables; the hand-written
// matchers reproduce Oniguruma's semantics with Go's Unicode tables (see
// above). The regexp2 fallback is .NET-flavoured: it is compiled with
// Multiline so that ^ and $ are line anchors as in Oniguruma, but \d and \w
// follow .NET (\d = \p{Nd}, \w = [\p{L}\p{Mn}\p{Nd}\p{Pc}], Oniguruma's \w
// also has all of \p{M}), Oniguruma's \h (hex digit) and class
// intersection [a&&[^b]] are not supported, and (?i) does not use Unicode
// case folding.
package pretok

import (
	"fmt"
	"strings"
	"sync"
)

// Splitter splits text into pre-tokens.
type Splitter interface {
	// Split appends to dst the byte spans [start, end) of the pieces of text
	// and returns the extended slice. The spans are in order, non-empty and
	// cover text exactly: the first starts at 0, each starts where the
	// previous one ends, and the last ends at len(text). Split is safe for
	// concurrent use.
	Split(text string, dst [][2]int) [][2]int
}

// Finder is implemented by the Splitters of a single expression. FindAll
// appends only the spans of the matches (not the text between them), which
// is what HF's other Split behaviors (Removed, MergedWithPrevious,
// MergedWithNext, Contiguous, invert) are built from.
type Finder interface {
	FindAll(text string, dst [][2]int) [][2]int
}

// Strings returns the pieces of text as strings (which share text's memory),
// appended to dst.
func Strings(s Splitter, text string, dst []string) []string {
	var buf [64][2]int
	spans := s.Split(text, buf[:0])
	for _, sp := range spans {
		dst = append(dst, text[sp[0]:sp[1]])
	}
	return dst
}

// handSplitter is a hand-written matcher for a known expression.
type handSplitter struct {
	name  string
	match func(s string, i int) int
	split func(s string, dst [][2]int) [][2]int // optional faster Split
	// need, when not 0, says that a match needs a code point with one of
	// these class bits: a piece without one passes through unsplit.
	need uint16
	// all, when set, replaces the position-by-position search (for
	// expressions where that would not be linear).
	all func(s string, dst []span) []span
}

func (h *handSplitter) Split(text string, dst [][2]int) [][2]int {
	if h.split != nil {
		return h.split(text, dst)
	}
	if h.all != nil {
		for _, x := range h.all(text, nil) {
			dst = append(dst, [2]int{x.start, x.end})
		}
		return dst
	}
	return isolated(text, dst, h.match)
}

func (h *handSplitter) FindAll(text string, dst [][2]int) [][2]int {
	if h.all != nil {
		for _, x := range h.all(text, nil) {
			if x.match {
				dst = append(dst, [2]int{x.start, x.end})
			}
		}
		return dst
	}
	return findAll(text, dst, h.match)
}

func (h *handSplitter) String() string { return "pretok.hand(" + h.name + ")" }

// Known expressions, in normalized form (see Normalize).
const (
	// PatternGPT2 is GPT-2's expression, also HF's ByteLevel(use_regex=true).
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// PatternGPT2LlamaCpp is llama.cpp's form of PatternGPT2, without the
	// final |\s+; both produce the same pieces.
	PatternGPT2LlamaCpp = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	// PatternLlama3 is Llama 3's (tiktoken cl100k_base's) expression.
	PatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternQwen2 is Qwen2's expression (PatternLlama3 with single digits).
	PatternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternQwen35 is Qwen3.5's expression (combining marks join letters).
	PatternQwen35 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternO200k is GPT-4o's (tiktoken o200k_base's) expression, also Llama 4's.
	PatternO200k = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternTekken is Mistral Tekken's expression.
	PatternTekken = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

const (
	contrHF  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)`
	contrCpp = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`
	cjkRun   = "[一-龥ࠀ-一가-퟿]+"
)

func cl(p cl100kParams) func(string, int) int { return p.match }

func o2(p o200kParams) func(string, int) int { return p.match }

func cr(p classRunParams) *classRunParams { return &p }

// known maps normalized expressions to their hand-written matchers.
var known = map[string]*handSplitter{}

// addKnown registers a matcher: m is a match function or a *classRunParams.
func addKnown(name string, m any, patterns ...string) {
	h := &handSplitter{name: name}
	switch m := m.(type) {
	case func(string, int) int:
		h.match = m
	case func(string, []span) []span:
		h.all = m
	case *classRunParams:
		h.match, h.split = m.match, m.split
		if !m.negate {
			h.need = m.mask
		}
	default:
		panic("pretok: bad matcher")
	}
	for _, p := range patterns {
		if _, dup := known[p]; dup {
			panic("pretok: duplicate known pattern " + p)
		}
		known[p] = h
	}
}

func init() {
	addKnown("gpt2", gpt2MatchWS, PatternGPT2)
	addKnown("gpt2-llama.cpp", gpt2MatchNoWS, PatternGPT2LlamaCpp)

	llama3 := PatternLlama3[len(contrHF):]
	addKnown("llama3", cl(cl100kParams{contr: contrFold, digitMax: 3, letter: cL, punctNot: cS | cL | cN, suffix: true}), PatternLlama3)
	addKnown("llama3-llama.cpp", cl(cl100kParams{contr: contrASCII, digitMax: 3, letter: cL, punctNot: cS | cL | cN, suffix: true}), contrCpp+llama3)

	qwen2 := PatternQwen2[len(contrHF):]
	addKnown("qwen2", cl(cl100kParams{contr: contrFold, digitMax: 1, letter: cL, punctNot: cS | cL | cN, suffix: true}),
		PatternQwen2,
		// Bailing MoE: possessive quantifiers and \s*[\r\n] that cannot change the result.
		`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`)
	addKnown("qwen2-llama.cpp", cl(cl100kParams{contr: contrASCII, digitMax: 1, letter: cL, punctNot: cS | cL | cN, suffix: true}),
		contrCpp+qwen2,
		`'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`)
	addKnown("qwen2-nocontr", cl(cl100kParams{digitMax: 1, letter: cL, punctNot: cS | cL | cN, suffix: true}), qwen2[1:])

	qwen35 := PatternQwen35[len(contrHF):]
	addKnown("qwen35", cl(cl100kParams{contr: contrFold, digitMax: 1, letter: cL | cM, punctNot: cS | cL | cN | cM, suffix: true}), PatternQwen35)
	addKnown("qwen35-llama.cpp", cl(cl100kParams{contr: contrASCII, digitMax: 1, letter: cL | cM, punctNot: cS | cL | cN | cM, suffix: true}), contrCpp+qwen35)

	minicpm := `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	addKnown("minicpm5", cl(cl100kParams{contr: contrFold, digitMax: 0, letter: cL, punctNot: cS | cL | cN, suffix: true}), contrHF+minicpm)
	addKnown("minicpm5-llama.cpp", cl(cl100kParams{contr: contrASCII, digitMax: 0, letter: cL, punctNot: cS | cL | cN, suffix: true}), contrCpp+minicpm)

	seed := `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`
	addKnown("seed-coder", cl(cl100kParams{contr: contrFold, digitMax: 1, letter: cL, punctNot: cS | cL | cN}), contrHF+seed)
	addKnown("seed-coder-llama.cpp", cl(cl100kParams{contr: contrASCII, digitMax: 1, letter: cL, punctNot: cS | cL | cN}), contrCpp+seed)

	addKnown("o200k", o2(o200kParams{contr: contrFold, digitMax: 3}), PatternO200k)
	addKnown("tekken", o2(o200kParams{digitMax: 1}), PatternTekken)

	// Simple stages of multi-regex pre-tokenizers.
	addKnown(`\p{N}`, cr(classRunParams{mask: cN, min: 1, max: 1}), `\p{N}`, `\p{N}{1}`)
	addKnown(`\p{N}+`, cr(classRunParams{mask: cN, min: 1}), `\p{N}+`)
	addKnown(`\p{N}{1,3}`, cr(classRunParams{mask: cN, min: 1, max: 3}), `\p{N}{1,3}`)
	addKnown(`[0-9]{3}`, cr(classRunParams{mask: cDigit, min: 3, max: 3}), `[0-9][0-9][0-9]`, `[0-9]{3}`)
	addKnown(`[\r\n]`, cr(classRunParams{mask: cNL, min: 1, max: 1}), `[\r\n]`)
	addKnown(`\s?\p{L}+`, cr(classRunParams{mask: cL, min: 1, prefix: cS}), `\s?\p{L}+`)
	addKnown(`\s?\p{P}+`, cr(classRunParams{mask: cP, min: 1, prefix: cS}), `\s?\p{P}+`)
	addKnown(`[\p{P}$+<=>^~|]+`, cr(classRunParams{mask: cDefP, min: 1}), `[\p{P}\$\+<=>\^~\|]+`)
	addKnown(`[\p{P}$+<=>^~|`+"`]+", cr(classRunParams{mask: cASCIIP, min: 1}), "[\\p{P}\\$\\+<=>\\^~\\|`]+")
	addKnown("cjk-run", cr(classRunParams{mask: cHanKo, min: 1}), cjkRun)
	addKnown("deepseek-v3", dsv3Match, patternDSV3)
	addKnown("poro", poroMatch, patternPoro)
	addKnown("lines", linesMatch, patternLines)
	addKnown(`\s+$`, wsEndSpans, `\s+$`)
	addKnown("o200k-llama.cpp-youtu", o2(o200kParams{contr: contrASCII, digitMax: 1}), patternYoutu)
	addKnown("han-kana-run", cr(classRunParams{mask: cHanKana, min: 1}), "[一-龥぀-ゟ゠-ヿ]+")
	addKnown(`\S+`, cr(classRunParams{mask: cS, negate: true, min: 1}), `\S+`)
}

// Normalize returns the canonical text of a pre-tokenizer expression, the
// form in which known expressions are recognised: literal carriage returns,
// newlines and tabs become the escapes \r, \n and \t (llama.cpp writes some
// of them literally), and the one-letter property forms \pL, \pN, \pM, \pP,
// \pS, \pZ become \p{L} and so on.
func Normalize(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\\':
			if i+1 < len(pattern) {
				if (pattern[i+1] == 'p' || pattern[i+1] == 'P') && i+2 < len(pattern) && strings.IndexByte("LNMPSZC", pattern[i+2]) >= 0 {
					b.WriteByte('\\')
					b.WriteByte(pattern[i+1])
					b.WriteByte('{')
					b.WriteByte(pattern[i+2])
					b.WriteByte('}')
					i += 2
					continue
				}
				b.WriteByte(c)
				b.WriteByte(pattern[i+1])
				i++
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// New returns a Splitter for pattern, written as it appears in a
// tokenizer.json Split pre-tokenizer ("pattern": {"Regex": ...}, after JSON
// decoding) or in llama.cpp's pre-tokenizer lists. Known expressions get a
// hand-written linear-time matcher; any other is compiled with regexp2 (see
// Regexp2). Use IsHandWritten to tell which one was chosen.
func New(pattern string) (Splitter, error) {
	norm := Normalize(pattern)
	if h, ok := known[norm]; ok {
		return h, nil
	}
	if sp, ok := compileSimple(norm); ok {
		return &handSplitter{name: "simple(" + norm + ")", match: sp.match}, nil
	}
	return NewRegexp2(pattern)
}

// IsHandWritten reports whether s is one of the hand-written matchers (or a
// Sequence of them only).
func IsHandWritten(s Splitter) bool {
	switch s := s.(type) {
	case *handSplitter:
		return true
	case *hfSplit:
		switch s.m.(type) {
		case *handSplitter, literal:
			return true
		}
		return false
	case *sequence:
		for _, st := range s.stages {
			if !IsHandWritten(st) {
				return false
			}
		}
		return true
	}
	return false
}

// sequence applies its stages one after the other, each splitting the
// pieces of the previous one, like HF's Sequence of Split pre-tokenizers and
// llama.cpp's lists of expressions. A piece is matched on its own, so
// lookahead at its end sees the end of the text.
type sequence struct {
	stages []Splitter
	need   []uint16 // per stage: handSplitter.need, or 0
}

// Sequence returns a Splitter that applies the stages in order, each one to
// every piece produced by the previous one.
func Sequence(stages ...Splitter) Splitter {
	if len(stages) == 1 {
		return stages[0]
	}
	q := &sequence{stages: append([]Splitter(nil), stages...), need: make([]uint16, len(stages))}
	for i, st := range stages {
		if h, ok := st.(*handSplitter); ok {
			q.need[i] = h.need
		}
	}
	return q
}

// seqBufs holds one scratch span buffer per intermediate stage.
type seqBufs [][][2]int

var seqPool = sync.Pool{New: func() any { return new(seqBufs) }}

func (q *sequence) Split(text string, dst [][2]int) [][2]int {
	if len(q.stages) == 0 {
		if len(text) > 0 {
			dst = append(dst, [2]int{0, len(text)})
		}
		return dst
	}
	bufs := seqPool.Get().(*seqBufs)
	for len(*bufs) < len(q.stages) {
		*bufs = append(*bufs, nil)
	}
	dst = q.split(text, 0, 0, dst, *bufs, allClasses)
	seqPool.Put(bufs)
	return dst
}

// split runs stages k.. depth-first over text (at offset off in the
// original), so each intermediate buffer only holds one piece's spans.
// bound is a superset of the class bits present in text (allClasses when
// unknown); it lets class-run stages skip pieces they cannot split.
func (q *sequence) split(text string, off, k int, dst [][2]int, bufs seqBufs, bound uint16) [][2]int {
	st := q.stages[k]
	last := k == len(q.stages)-1
	if need := q.need[k]; need != 0 {
		if bound == allClasses && len(text) > 1 {
			bound = classUnion(text)
		}
		if bound&need == 0 {
			if last {
				return append(dst, [2]int{off, off + len(text)})
			}
			return q.split(text, off, k+1, dst, bufs, bound)
		}
	}
	if last {
		n0 := len(dst)
		dst = st.Split(text, dst)
		if off != 0 {
			for j := n0; j < len(dst); j++ {
				dst[j][0] += off
				dst[j][1] += off
			}
		}
		return dst
	}
	b := st.Split(text, bufs[k][:0])
	bufs[k] = b
	for _, sp := range b {
		sub := bound
		if sp[1]-sp[0] < len(text) {
			sub = allClasses // a strict sub-piece: its own classes are not known
		}
		dst = q.split(text[sp[0]:sp[1]], off+sp[0], k+1, dst, bufs, sub)
	}
	return dst
}

// String describes s for debugging.
func (q *sequence) String() string {
	parts := make([]string, len(q.stages))
	for i, s := range q.stages {
		parts[i] = fmt.Sprint(s)
	}
	return "pretok.Sequence(" + strings.Join(parts, ", ") + ")"
}
