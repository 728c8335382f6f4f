package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
)

// postProcessor adds the special tokens around an encoded sequence
// (Hugging Face post-processors; only the single-sequence form is used).
type postProcessor interface {
	process(ids []int) []int
}

// templateProcessor is TemplateProcessing: the "single" template, whose
// items are special tokens (each possibly several ids) and the sequence.
type templateProcessor struct {
	before, after []int
}

func (p *templateProcessor) process(ids []int) []int {
	out := make([]int, 0, len(p.before)+len(ids)+len(p.after))
	out = append(out, p.before...)
	out = append(out, ids...)
	return append(out, p.after...)
}

// edges returns the first id the template adds before the sequence and the
// last one after it (-1 where none).
func (p *templateProcessor) edges() (first, last int) {
	first, last = -1, -1
	if len(p.before) > 0 {
		first = p.before[0]
	}
	if len(p.after) > 0 {
		last = p.after[len(p.after)-1]
	}
	return first, last
}

// seqPostProcessor applies post-processors in order.
type seqPostProcessor []postProcessor

func (q seqPostProcessor) process(ids []int) []int {
	for _, p := range q {
		ids = p.process(ids)
	}
	return ids
}

// parsePostProcessor builds a post-processor; nil for ones that only
// affect offsets (ByteLevel).
func parsePostProcessor(raw json.RawMessage, lookup func(string) (int, bool)) (postProcessor, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "TemplateProcessing":
		var s struct {
			Single []struct {
				SpecialToken *struct {
					ID string `json:"id"`
				} `json:"SpecialToken"`
				Sequence *struct {
					ID string `json:"id"`
				} `json:"Sequence"`
			} `json:"single"`
			SpecialTokens map[string]struct {
				ID  string `json:"id"`
				IDs []int  `json:"ids"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		p := &templateProcessor{}
		seen := false
		for _, it := range s.Single {
			switch {
			case it.Sequence != nil:
				if seen {
					return nil, errors.New("TemplateProcessing: single template has two sequences")
				}
				seen = true
			case it.SpecialToken != nil:
				st, ok := s.SpecialTokens[it.SpecialToken.ID]
				ids := st.IDs
				if !ok {
					id, found := lookup(it.SpecialToken.ID)
					if !found {
						return nil, fmt.Errorf("TemplateProcessing: special token %q is not defined", it.SpecialToken.ID)
					}
					ids = []int{id}
				}
				if seen {
					p.after = append(p.after, ids...)
				} else {
					p.before = append(p.before, ids...)
				}
			default:
				return nil, errors.New("TemplateProcessing: template item is neither SpecialToken nor Sequence")
			}
		}
		if !seen {
			return nil, errors.New("TemplateProcessing: single template has no sequence")
		}
		return p, nil
	case "BertProcessing", "RobertaProcessing":
		var s struct {
			Sep []json.RawMessage `json:"sep"`
			Cls []json.RawMessage `json:"cls"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		id := func(pair []json.RawMessage, what string) (int, error) {
			var n int
			if len(pair) != 2 || json.Unmarshal(pair[1], &n) != nil {
				return 0, fmt.Errorf("%s: %s must be [token, id]", typ, what)
			}
			return n, nil
		}
		sep, err := id(s.Sep, "sep")
		if err != nil {
			return nil, err
		}
		cls, err := id(s.Cls, "cls")
		if err != nil {
			return nil, err
		}
		return &templateProcessor{before: []int{cls}, after: []int{sep}}, nil
	case "ByteLevel":
		return nil, nil
	case "Sequence":
		var s struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		var q seqPostProcessor
		for _, r := range s.Processors {
			p, err := parsePostProcessor(r, lookup)
			if err != nil {
				return nil, err
			}
			if p != nil {
				q = append(q, p)
			}
		}
		switch len(q) {
		case 0:
			return nil, nil
		case 1:
			return q[0], nil
		}
		return q, nil
	case "":
		return nil, errors.New("post-processor without a type")
	}
	return nil, fmt.Errorf("unknown post-processor type %q", typ)
}
