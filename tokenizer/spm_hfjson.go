package tokenizer

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/goformer/goformer/weights"
)

// SPMToHFJSON writes a Hugging Face tokenizer.json for the SentencePiece
// BPE vocabulary ("llama") of a GGUF file, in the form Hugging Face gives
// Llama-2 tokenizers: a BPE model with byte_fallback whose merges are
// derived from the piece scores (every split of a piece into two pieces,
// ordered by the piece's score), the Prepend("▁") + Replace(" ", "▁")
// normalizer, no pre-tokenizer, the Replace/ByteFallback/Fuse/Strip decoder,
// and a TemplateProcessing post-processor adding BOS/EOS as the GGUF says.
// Control and unknown tokens become special added tokens, user-defined
// tokens non-special ones.
//
// FromFile on the result encodes like FromGGUF on meta, with one caveat
// inherent to the format: where two different pieces have exactly the same
// score, SentencePiece merges the leftmost pair first, the merges list
// gives one of them priority.
func SPMToHFJSON(meta weights.Metadata) ([]byte, error) {
	if kind, _ := meta.String("tokenizer.ggml.model"); kind != "llama" {
		return nil, fmt.Errorf("tokenizer: SPMToHFJSON needs a SentencePiece (\"llama\") vocabulary, not %q", kind)
	}
	t, err := FromGGUF(meta)
	if err != nil {
		return nil, err
	}
	scores, _ := meta.Floats("tokenizer.ggml.scores")

	type merge struct {
		l, r, id int
	}
	var merges []merge
	for id, p := range t.vocab {
		if t.attr[id]&attrNormal == 0 || len(p) < 2 {
			continue
		}
		for k := 1; k < len(p); k++ {
			if p[k]&0xC0 == 0x80 {
				continue
			}
			l, ok1 := t.toID[p[:k]]
			r, ok2 := t.toID[p[k:]]
			if ok1 && ok2 && mergeable(t.attr[l]) && mergeable(t.attr[r]) {
				merges = append(merges, merge{l, r, id})
			}
		}
	}
	sort.SliceStable(merges, func(a, b int) bool {
		x, y := merges[a], merges[b]
		if scores[x.id] != scores[y.id] {
			return scores[x.id] > scores[y.id]
		}
		if x.id != y.id {
			return x.id < y.id
		}
		if x.l != y.l {
			return x.l < y.l
		}
		return x.r < y.r
	})

	type addedJSON struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	var added []addedJSON
	vocab := make(map[string]int, len(t.vocab))
	for id, p := range t.vocab {
		if _, dup := vocab[p]; dup {
			continue
		}
		vocab[p] = id
		if a := t.attr[id]; a&(attrControl|attrUnknown|attrUserDefined) != 0 && p != "" {
			added = append(added, addedJSON{ID: id, Content: p, Special: a&attrUserDefined == 0})
		}
	}
	mergeList := make([][2]string, len(merges))
	for i, m := range merges {
		mergeList[i] = [2]string{t.vocab[m.l], t.vocab[m.r]}
	}

	type obj = map[string]any
	var single, pair []obj
	special := obj{}
	addSpecial := func(id int) {
		name := t.vocab[id]
		special[name] = obj{"id": name, "ids": []int{id}, "tokens": []string{name}}
	}
	if t.addBOS && t.bos >= 0 {
		single = append(single, obj{"SpecialToken": obj{"id": t.vocab[t.bos], "type_id": 0}})
		addSpecial(t.bos)
	}
	single = append(single, obj{"Sequence": obj{"id": "A", "type_id": 0}})
	if t.addEOS && t.eos >= 0 {
		single = append(single, obj{"SpecialToken": obj{"id": t.vocab[t.eos], "type_id": 0}})
		addSpecial(t.eos)
	}
	pair = append(pair, single...)
	for _, it := range single {
		if _, ok := it["Sequence"]; ok {
			pair = append(pair, obj{"Sequence": obj{"id": "B", "type_id": 1}})
		} else {
			pair = append(pair, obj{"SpecialToken": obj{"id": it["SpecialToken"].(obj)["id"], "type_id": 1}})
		}
	}

	var normalizers []obj
	decoders := []obj{
		{"type": "Replace", "pattern": obj{"String": "\u2581"}, "content": " "},
		{"type": "ByteFallback"},
		{"type": "Fuse"},
	}
	if t.spacePrefix {
		normalizers = append(normalizers, obj{"type": "Prepend", "prepend": "\u2581"})
		decoders = append(decoders, obj{"type": "Strip", "content": " ", "start": 1, "stop": 0})
	}
	normalizers = append(normalizers, obj{"type": "Replace", "pattern": obj{"String": " "}, "content": "\u2581"})
	var unk any
	if t.unk >= 0 {
		unk = t.vocab[t.unk]
	}
	doc := struct {
		Version       string      `json:"version"`
		Truncation    any         `json:"truncation"`
		Padding       any         `json:"padding"`
		AddedTokens   []addedJSON `json:"added_tokens"`
		Normalizer    obj         `json:"normalizer"`
		PreTokenizer  any         `json:"pre_tokenizer"`
		PostProcessor obj         `json:"post_processor"`
		Decoder       obj         `json:"decoder"`
		Model         obj         `json:"model"`
	}{
		Version:     "1.0",
		AddedTokens: added,
		Normalizer:  obj{"type": "Sequence", "normalizers": normalizers},
		PostProcessor: obj{"type": "TemplateProcessing", "single": single, "pair": pair,
			"special_tokens": special},
		Decoder: obj{"type": "Sequence", "decoders": decoders},
		Model: obj{
			"type": "BPE", "dropout": nil, "unk_token": unk,
			"continuing_subword_prefix": nil, "end_of_word_suffix": nil,
			"fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
			"vocab": vocab, "merges": mergeList,
		},
	}
	return json.MarshalIndent(doc, "", " ")
}
