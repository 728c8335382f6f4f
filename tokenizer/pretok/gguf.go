package pretok

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Expression lists of llama.cpp's BPE pre-tokenizer types, applied in order
// (each expression splits the pieces of the previous one). Where llama.cpp
// runs an adapted form of a tokenizer.json expression, the original
// tokenizer.json expression is used here, since that is what produced the
// reference tokenizations (the adaptations only approximate it).
var (
	ggufDefault = []string{`[\p{P}\$\+<=>\^~\|]+`, PatternGPT2LlamaCpp, `\p{N}+`, `[0-9][0-9][0-9]`}
	ggufGPT2    = []string{PatternGPT2}
	ggufLlama3  = []string{PatternLlama3}
	ggufQwen2   = []string{PatternQwen2}
	ggufQwen35  = []string{PatternQwen35}
	ggufO200k   = []string{PatternO200k}
	ggufTekken  = []string{PatternTekken}
	ggufStar    = []string{`\p{N}`, PatternGPT2LlamaCpp}
	ggufFalcon  = []string{"[\\p{P}\\$\\+<=>\\^~\\|`]+", PatternGPT2LlamaCpp, `[0-9][0-9][0-9]`}
	ggufDSCoder = []string{`[\r\n]`, `\s?\p{L}+`, `\s?\p{P}+`, cjkRun, `\p{N}`}
	// DeepSeek LLM's expressions; code points that Unicode normalization
	// would change are written as \x{...} escapes.
	ggufDSLLM = []string{
		`[\r\n]`,
		`\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\x{1F7D}ᾀ-ᾴᾶ-ᾼ\x{1FBE}ῂ-ῄῆ-ῌῐ-\x{1FD3}ῖ-\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\x{2126}ℨ\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+`,
		`\s?[!-/:-~！-／：-～‘-‟　-。]+`,
		`\s+$`,
		cjkRun,
		`\p{N}+`,
	}
	ggufDSV3      = []string{`\p{N}{1,3}`, "[一-龥぀-ゟ゠-ヿ]+", patternDSV3}
	ggufPoro      = []string{patternPoro}
	ggufViking    = []string{patternPoro, `\p{N}`}
	ggufChameleon = []string{
		`<sentinel:[0-9]+>`,
		`(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z`,
		`([\t\n]|    |  )`,
		`\p{N}`,
		"[\\p{P}!-/:-@\\[-`{-~]",
		PatternGPT2LlamaCpp,
	}
	ggufMiniCPM5  = []string{`\p{N}{1,3}`, contrHF + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}
	ggufJais2     = []string{contrHF + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`}
	ggufLines     = []string{patternLines}
	ggufYoutu     = []string{"[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+", patternYoutu}
	ggufTinyAya   = []string{`\d{1,3}(?=(?:\d{3})*\b)`, PatternO200k}
	ggufLaguna    = []string{patternLines, contrCpp + PatternQwen2[len(contrHF):]}
	ggufExaoneMoE = []string{contrHF + `|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`}
	ggufSuperBPE  = []string{`\p{N}+`, `(?=(\d{3})+(?!\d))`}
	ggufBailing   = []string{`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`}
	ggufSeedCoder = []string{contrHF + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`}
)

// ggufPre maps tokenizer.ggml.pre names to expression lists, following
// llama.cpp's llama_vocab::load name table.
var ggufPre = map[string][]string{
	"default": ggufDefault,

	"llama3": ggufLlama3, "llama-v3": ggufLlama3, "llama-bpe": ggufLlama3, "falcon3": ggufLlama3,
	"falcon-h1": ggufLlama3, "pixtral": ggufLlama3, "midm-2.0": ggufLlama3, "lfm2": ggufLlama3,
	"dbrx": ggufLlama3, "smaug-bpe": ggufLlama3, "glm4": ggufLlama3, "chatglm-bpe": ggufLlama3,

	"deepseek-llm":   ggufDSLLM,
	"deepseek-coder": ggufDSCoder,
	"deepseek-v3":    ggufDSV3, "hunyuan-dense": ggufDSV3,

	"falcon": ggufFalcon,

	"gpt-2": ggufGPT2, "mpt": ggufGPT2, "phi-2": ggufGPT2, "jina-es": ggufGPT2, "jina-de": ggufGPT2,
	"gigachat": ggufGPT2, "jina-v2-es": ggufGPT2, "jina-v2-de": ggufGPT2, "a.x-4.0": ggufGPT2,
	"mellum": ggufGPT2, "jina-v1-en": ggufGPT2, "jina-v2-code": ggufGPT2, "roberta-bpe": ggufGPT2,
	"olmo": ggufGPT2, "jais": ggufGPT2, "trillion": ggufGPT2, "granite-docling": ggufGPT2, "exaone4": ggufGPT2,

	"starcoder": ggufStar, "refact": ggufStar, "command-r": ggufStar, "smollm": ggufStar,
	"codeshell": ggufStar, "exaone": ggufStar, "minerva-7b": ggufStar,

	"qwen2": ggufQwen2, "deepseek-r1-qwen": ggufQwen2, "kormo": ggufQwen2, "stablelm2": ggufQwen2,
	"megrez": ggufQwen2, "hunyuan": ggufQwen2, "grok-2": ggufQwen2,
	"qwen35": ggufQwen35,

	"poro-chat": ggufPoro, "bloom": ggufPoro, "gpt3-finnish": ggufPoro,
	"viking":    ggufViking,
	"tekken":    ggufTekken,
	"chameleon": ggufChameleon,
	"gpt-4o":    ggufO200k, "llama4": ggufO200k, "minimax-m2": ggufO200k,
	"superbpe":   ggufSuperBPE,
	"bailingmoe": ggufBailing, "bailingmoe2": ggufBailing, "llada-moe": ggufBailing,
	"seed-coder": ggufSeedCoder,

	// Names of newer llama.cpp versions.
	"minicpm5": ggufMiniCPM5, "jina-v5-nano": ggufLlama3, "modern-bert": ggufGPT2, "jais-2": ggufJais2,
	"gemma4": ggufLines, "granite-embed-multi-311m": ggufLines, "sarvam-moe": ggufLines,
	"whitespace": {`\S+`}, "f2llmv2": ggufQwen2, "solar-open": ggufQwen2, "mellum2": ggufStar,
	"youtu": ggufYoutu, "exaone-moe": ggufExaoneMoE, "kanana2": ggufO200k, "talkie": ggufO200k,
	"tiny_aya": ggufTinyAya, "cohere2moe": ggufTinyAya, "joyai-llm": ggufDSV3, "laguna": ggufLaguna,
}

var ggufCache sync.Map // name -> Splitter

// GGUFPreNames returns the tokenizer.ggml.pre names ForGGUFPre knows, sorted.
func GGUFPreNames() []string {
	names := make([]string, 0, len(ggufPre))
	for n := range ggufPre {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GGUFPrePatterns returns the expressions that ForGGUFPre(name) applies in
// order, or nil for an unknown name.
func GGUFPrePatterns(name string) []string {
	return append([]string(nil), ggufPre[name]...)
}

// ForGGUFPre returns the pre-tokenizer Splitter for a GGUF
// tokenizer.ggml.pre value of a BPE ("gpt2") vocabulary, following
// llama.cpp: "gpt-2", "llama-bpe"/"llama3", "qwen2", "qwen35",
// "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon", "mpt",
// "starcoder", "refact", "command-r", "gpt-4o", "tekken", ... (see
// GGUFPreNames). "default" is llama.cpp's default BPE expression list (an
// SPM "llama" vocabulary that says "default" uses no regex at all). The
// Splitters are shared and safe for concurrent use. Unknown names, and names
// llama.cpp implements with custom code rather than expressions
// ("kimi-k2", "afmoe"), give an error naming them.
func ForGGUFPre(name string) (Splitter, error) {
	if s, ok := ggufCache.Load(name); ok {
		return s.(Splitter), nil
	}
	pats, ok := ggufPre[name]
	if !ok {
		return nil, fmt.Errorf("pretok: unknown GGUF pre-tokenizer %q (known: %s)", name, strings.Join(GGUFPreNames(), ", "))
	}
	stages := make([]Splitter, len(pats))
	for i, p := range pats {
		s, err := New(p)
		if err != nil {
			return nil, fmt.Errorf("pretok: GGUF pre-tokenizer %q: %w", name, err)
		}
		stages[i] = s
	}
	s, _ := ggufCache.LoadOrStore(name, Sequence(stages...))
	return s.(Splitter), nil
}
