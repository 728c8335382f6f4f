package synth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/goformer/goformer/weights"
)

// GGUF token types (llama.cpp's llama_token_type).
const (
	tokNormal      = 1
	tokUnknown     = 2
	tokControl     = 3
	tokUserDefined = 4
	tokUnused      = 5
	tokByte        = 6
)

// tokenizer is a shared tokenizer read from its Hugging Face files, ready to
// be copied into a Hugging Face directory or converted to GGUF
// tokenizer.ggml.* metadata (llama.cpp's key conventions).
type tokenizer struct {
	name   string
	model  string // GGUF tokenizer.ggml.model: gpt2, llama or bert
	pre    string // GGUF tokenizer.ggml.pre
	tokens []string
	types  []int32
	scores []float32 // llama (SentencePiece-style) only
	merges []string  // gpt2 only

	special        map[string]int // bos, eos, unknown, padding, seperator, cls, mask → id
	addBOS, addEOS bool
	spacePrefix    *bool

	// Hugging Face files to write: name → contents.
	hfFiles map[string][]byte
}

// hfTokenizerJSON is the part of tokenizer.json synth reads.
type hfTokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Model struct {
		Type   string          `json:"type"`
		Vocab  map[string]int  `json:"vocab"`
		Merges json.RawMessage `json:"merges"`
	} `json:"model"`
}

// tokenizerKinds gives each shared tokenizer's GGUF model, pre-tokenizer
// and special tokens.
var tokenizerKinds = map[string]struct {
	model, pre             string
	bos, eos, unk, pad     string
	addBOS, addEOS, prefix bool
}{
	"llama3":       {"gpt2", "llama-bpe", "<|begin_of_text|>", "<|end_of_text|>", "", "", true, false, false},
	"qwen3":        {"gpt2", "qwen2", "", "<|endoftext|>", "", "<|endoftext|>", false, false, false},
	"gpt2":         {"gpt2", "gpt-2", "<|endoftext|>", "<|endoftext|>", "", "", false, false, false},
	"mistral":      {"llama", "default", "<s>", "</s>", "<unk>", "", true, false, true},
	"gemma3":       {"llama", "default", "<bos>", "<eos>", "<unk>", "<pad>", true, false, false},
	"bert-uncased": {"bert", "default", "[CLS]", "[SEP]", "[UNK]", "[PAD]", true, true, false},
}

// tokenizerCache keeps parsed tokenizers (read-only once loaded): the
// large tokenizer.json files take seconds to parse.
var tokenizerCache = struct {
	sync.Mutex
	m map[string]*tokenizer
}{m: map[string]*tokenizer{}}

func loadTokenizer(root, name string) (*tokenizer, error) {
	key := filepath.Join(root, name)
	tokenizerCache.Lock()
	defer tokenizerCache.Unlock()
	if t, ok := tokenizerCache.m[key]; ok {
		return t, nil
	}
	t, err := parseTokenizer(root, name)
	if err == nil {
		tokenizerCache.m[key] = t
	}
	return t, err
}

func parseTokenizer(root, name string) (*tokenizer, error) {
	kind, ok := tokenizerKinds[name]
	if !ok {
		return nil, fmt.Errorf("synth: no tokenizer %q", name)
	}
	if root == "" {
		return nil, fmt.Errorf("synth: no tokenizer directory given (the shared tokenizers, e.g. ../shared/tokenizers)")
	}
	dir := filepath.Join(root, name)
	t := &tokenizer{name: name, model: kind.model, pre: kind.pre, addBOS: kind.addBOS, addEOS: kind.addEOS,
		special: map[string]int{}, hfFiles: map[string][]byte{}}
	if kind.model == "llama" {
		p := kind.prefix
		t.spacePrefix = &p
	}
	var raw []byte
	var err error
	if name == "gpt2" {
		raw, err = gpt2TokenizerJSON(dir)
	} else {
		raw, err = os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	}
	if err != nil {
		return nil, fmt.Errorf("synth: tokenizer %s: %w", name, err)
	}
	t.hfFiles["tokenizer.json"] = raw
	if cfg, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		t.hfFiles["tokenizer_config.json"] = cfg
	}
	var tj hfTokenizerJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("synth: %s: %w", filepath.Join(dir, "tokenizer.json"), err)
	}
	n := 0
	for _, id := range tj.Model.Vocab {
		n = max(n, id+1)
	}
	for _, a := range tj.AddedTokens {
		n = max(n, a.ID+1)
	}
	t.tokens = make([]string, n)
	t.types = make([]int32, n)
	for s, id := range tj.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("synth: %s: token %q has id %d", name, s, id)
		}
		t.tokens[id] = s
		t.types[id] = tokNormal
	}
	for _, a := range tj.AddedTokens {
		t.tokens[a.ID] = a.Content
		if a.Special {
			t.types[a.ID] = tokControl
		} else {
			t.types[a.ID] = tokUserDefined
		}
	}
	for i, s := range t.tokens {
		if t.types[i] == 0 {
			t.tokens[i], t.types[i] = fmt.Sprintf("[PAD%d]", i), tokUnused
		}
		if t.model == "llama" && t.types[i] == tokNormal && len(s) == 6 && strings.HasPrefix(s, "<0x") && strings.HasSuffix(s, ">") {
			t.types[i] = tokByte
		}
	}
	var merges []string
	if len(tj.Model.Merges) > 0 {
		if err := json.Unmarshal(tj.Model.Merges, &merges); err != nil {
			var pairs [][2]string
			if err2 := json.Unmarshal(tj.Model.Merges, &pairs); err2 != nil {
				return nil, fmt.Errorf("synth: %s: merges: %w", name, err2)
			}
			merges = make([]string, len(pairs))
			for i, p := range pairs {
				merges[i] = p[0] + " " + p[1]
			}
		}
	}
	switch t.model {
	case "gpt2":
		t.merges = merges
	case "llama":
		// SentencePiece-style scores from the BPE merges: a piece made by
		// merge r scores -r, so that merging the best-scored pair first
		// replays the merges in rank order; pieces no merge makes score
		// below every merged one.
		rank := make(map[string]int, len(merges))
		for r, m := range merges {
			a, b, _ := strings.Cut(m, " ")
			if _, dup := rank[a+b]; !dup {
				rank[a+b] = r
			}
		}
		t.scores = make([]float32, n)
		for i, piece := range t.tokens {
			switch r, ok := rank[piece]; {
			case t.types[i] != tokNormal:
				t.scores[i] = 0
			case ok:
				t.scores[i] = -float32(r)
			default:
				t.scores[i] = -float32(len(merges) + i)
			}
		}
	case "bert":
		// llama.cpp's WordPiece vocabulary marks word starts with U+2581
		// and drops the "##" of continuations.
		for i, s := range t.tokens {
			if t.types[i] == tokControl {
				continue
			}
			if rest, ok := strings.CutPrefix(s, "##"); ok {
				t.tokens[i] = rest
			} else {
				t.tokens[i] = "\u2581" + s
			}
		}
	}
	ids := map[string]int{}
	for _, a := range tj.AddedTokens {
		ids[a.Content] = a.ID
	}
	for k, v := range tj.Model.Vocab {
		if _, ok := ids[k]; !ok {
			ids[k] = v
		}
	}
	for key, tok := range map[string]string{"bos": kind.bos, "eos": kind.eos, "unknown": kind.unk, "padding": kind.pad} {
		if tok == "" {
			continue
		}
		id, ok := ids[tok]
		if !ok {
			return nil, fmt.Errorf("synth: %s: no token %q for %s", name, tok, key)
		}
		t.special[key] = id
		if t.model == "llama" && key == "unknown" {
			t.types[id] = tokUnknown
		}
	}
	if t.model == "bert" {
		t.special["seperator"] = ids["[SEP]"]
		t.special["cls"] = ids["[CLS]"]
		t.special["mask"] = ids["[MASK]"]
	}
	return t, nil
}

// gpt2TokenizerJSON builds a Hugging Face tokenizer.json from GPT-2's
// original encoder.json and vocab.bpe.
func gpt2TokenizerJSON(dir string) ([]byte, error) {
	enc, err := os.ReadFile(filepath.Join(dir, "encoder.json"))
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(enc, &vocab); err != nil {
		return nil, fmt.Errorf("encoder.json: %w", err)
	}
	bpe, err := os.ReadFile(filepath.Join(dir, "vocab.bpe"))
	if err != nil {
		return nil, err
	}
	var merges []string
	for _, line := range strings.Split(string(bpe), "\n") {
		if line == "" || strings.HasPrefix(line, "#version") {
			continue
		}
		merges = append(merges, line)
	}
	eot, ok := vocab["<|endoftext|>"]
	if !ok {
		return nil, fmt.Errorf("encoder.json has no <|endoftext|>")
	}
	tj := map[string]any{
		"version":    "1.0",
		"truncation": nil, "padding": nil,
		"added_tokens": []any{map[string]any{"id": eot, "content": "<|endoftext|>", "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": true, "special": true}},
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": merges},
	}
	return json.Marshal(tj)
}

// writeHF copies the tokenizer files into dir.
func (t *tokenizer) writeHF(dir string) error {
	for _, name := range sortedKeys(t.hfFiles) {
		if err := os.WriteFile(filepath.Join(dir, name), t.hfFiles[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ggufKVs returns the tokenizer.ggml.* metadata for a model of vocab rows
// (the token list is padded with unused tokens up to it).
func (t *tokenizer) ggufKVs(vocab int) ([]weights.KV, error) {
	tokens, types, scores := slices.Clip(t.tokens), slices.Clip(t.types), slices.Clip(t.scores)
	for i := len(tokens); i < vocab; i++ {
		tokens = append(tokens, fmt.Sprintf("[PAD%d]", i))
		types = append(types, tokUnused)
		if scores != nil {
			scores = append(scores, 0)
		}
	}
	kv := []weights.KV{
		{Key: "tokenizer.ggml.model", Value: t.model},
		{Key: "tokenizer.ggml.pre", Value: t.pre},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.token_type", Value: types},
	}
	if scores != nil {
		kv = append(kv, weights.KV{Key: "tokenizer.ggml.scores", Value: scores})
	}
	if t.merges != nil {
		kv = append(kv, weights.KV{Key: "tokenizer.ggml.merges", Value: t.merges})
	}
	for _, k := range sortedKeys(t.special) {
		kv = append(kv, weights.KV{Key: "tokenizer.ggml." + k + "_token_id", Value: uint32(t.special[k])})
	}
	kv = append(kv,
		weights.KV{Key: "tokenizer.ggml.add_bos_token", Value: t.addBOS},
		weights.KV{Key: "tokenizer.ggml.add_eos_token", Value: t.addEOS})
	if t.spacePrefix != nil {
		kv = append(kv, weights.KV{Key: "tokenizer.ggml.add_space_prefix", Value: *t.spacePrefix})
	}
	return kv, nil
}
