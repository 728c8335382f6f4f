package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/goformer/goformer/tokenizer/pretok"
)

// FromGPT2Files loads GPT-2's original encoder.json (byte-level token ->
// id) and vocab.bpe (ranked merges) with the semantics of OpenAI's
// encoder.py: GPT-2's pre-tokenizer expression, byte-level BPE, no
// special-token parsing (EncodeSpecial matches <|endoftext|>), nothing
// added around the sequence; Decode renders <|endoftext|> as its text.
func FromGPT2Files(encoderJSON, vocabBPE string) (*Tokenizer, error) {
	enc, err := os.ReadFile(encoderJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	bpe, err := os.ReadFile(vocabBPE)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := FromGPT2(enc, bpe)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", encoderJSON, err)
	}
	return t, nil
}

// FromGPT2 builds a tokenizer from the contents of encoder.json and
// vocab.bpe (see FromGPT2Files).
func FromGPT2(encoderJSON, vocabBPE []byte) (*Tokenizer, error) {
	var vocab map[string]int
	if err := json.Unmarshal(encoderJSON, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: encoder.json: %w", err)
	}
	var merges [][2]string
	for i, line := range strings.Split(string(vocabBPE), "\n") {
		line = strings.TrimRight(line, "\r")
		if i == 0 && strings.HasPrefix(line, "#version") || line == "" {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("tokenizer: vocab.bpe line %d: want two tokens separated by a space", i+1)
		}
		merges = append(merges, [2]string{a, b})
	}
	size := 0
	for s, id := range vocab {
		if id < 0 || id >= 1<<26 {
			return nil, fmt.Errorf("tokenizer: encoder.json: id %d of %q out of range", id, s)
		}
		size = max(size, id+1)
	}
	t := &Tokenizer{fam: famGPT2, bos: -1, eos: -1, unk: -1, pad: -1, parseAdded: matchNone}
	t.vocab = make([]string, size)
	t.attr = make([]tokenAttr, size)
	t.toID = vocab
	for s, id := range vocab {
		t.vocab[id] = s
		t.attr[id] = attrNormal
	}
	re, err := pretok.New(pretok.PatternGPT2)
	if err != nil {
		return nil, err
	}
	t.pre = splitPreTokenizer{re}
	m, err := newHFBPE(vocab, merges, &hfModel{}, true)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: vocab.bpe: %w", err)
	}
	t.model = m
	var added []addedToken
	if id, ok := vocab["<|endoftext|>"]; ok {
		t.attr[id] = attrControl
		t.bos, t.eos = id, id
		added = append(added, addedToken{id: id, content: "<|endoftext|>", special: true})
	}
	t.added = newAddedVocab(added)
	t.setEOG()
	t.finish()
	return t, nil
}
