package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// decoder is a Hugging Face decoder: it transforms the list of token
// strings; Decode concatenates the result.
type decoder interface {
	decodeChain(toks []string, c decodeCtx) []string
}

// decodeCtx is how a chain is run.
type decodeCtx struct {
	// raw keeps raw bytes (no UTF-8 repair) so a stream decoder can wait
	// for a character to complete.
	raw bool
	// cont: the tokens continue earlier text, so nothing is stripped at
	// the start (dummy-prefix spaces, WordPiece's first-token rule).
	cont bool
}

// seqDecoder applies decoders in order.
type seqDecoder []decoder

func (q seqDecoder) decodeChain(toks []string, c decodeCtx) []string {
	for _, d := range q {
		toks = d.decodeChain(toks, c)
	}
	return toks
}

// replaceDecoder replaces a pattern in every token.
type replaceDecoder struct{ r replacer }

func (d replaceDecoder) decodeChain(toks []string, c decodeCtx) []string {
	for i, t := range toks {
		toks[i] = d.r.replace(t)
	}
	return toks
}

// byteFallbackDecoder turns runs of <0xXX> tokens into the bytes they
// stand for; an invalid run becomes one U+FFFD per byte token (as Hugging
// Face tokenizers does).
type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(toks []string, c decodeCtx) []string {
	out := toks[:0:0]
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		switch {
		case c.raw || utf8.Valid(run):
			out = append(out, string(run))
		default:
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, t := range toks {
		if b, ok := parseByteTokenLoose(t); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// parseByteTokenLoose parses "<0xXX>" with either case of hex digits.
func parseByteTokenLoose(s string) (byte, bool) {
	return isByteToken(s)
}

// fuseDecoder joins all tokens into one.
type fuseDecoder struct{}

func (fuseDecoder) decodeChain(toks []string, c decodeCtx) []string {
	if len(toks) <= 1 {
		return toks
	}
	return []string{strings.Join(toks, "")}
}

// stripDecoder removes up to start leading and stop trailing copies of a
// character from every token. In continuation mode it does nothing.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(toks []string, c decodeCtx) []string {
	if c.cont {
		return toks
	}
	for i, t := range toks {
		for k := 0; k < d.start; k++ {
			r, w := utf8.DecodeRuneInString(t)
			if w == 0 || r != d.content {
				break
			}
			t = t[w:]
		}
		for k := 0; k < d.stop; k++ {
			r, w := utf8.DecodeLastRuneInString(t)
			if w == 0 || r != d.content {
				break
			}
			t = t[:len(t)-w]
		}
		toks[i] = t
	}
	return toks
}

// byteLevelDecoder maps the byte-level characters of GPT-2 style tokens
// back to bytes and joins everything into one string. A token holding a
// character outside the byte-level alphabet (an added token such as
// "<|eot_id|>" with non-ASCII text) contributes its own bytes.
type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(toks []string, c decodeCtx) []string {
	var b []byte
	for _, t := range toks {
		b = appendByteLevel(b, t)
	}
	if c.raw {
		return []string{string(b)}
	}
	return []string{string(appendValid(nil, b))}
}

// appendByteLevel appends the bytes a byte-level token stands for.
func appendByteLevel(b []byte, t string) []byte {
	n := len(b)
	for _, r := range t {
		if r < 0 || int(r) >= len(unicodeToByte) || unicodeToByte[r] < 0 {
			return append(b[:n], t...)
		}
		b = append(b, byte(unicodeToByte[r]))
	}
	return b
}

// metaspaceDecoder turns the replacement character back into spaces and
// removes the space it prepended at the start of the text.
type metaspaceDecoder struct {
	replacement rune
	prepend     bool // prepend_scheme is not "never"
}

func (d metaspaceDecoder) decodeChain(toks []string, c decodeCtx) []string {
	rep := string(d.replacement)
	for i, t := range toks {
		t = strings.ReplaceAll(t, rep, " ")
		if i == 0 && d.prepend && !c.cont {
			t = strings.TrimPrefix(t, " ")
		}
		toks[i] = t
	}
	return toks
}

// wordPieceDecoder glues "##" continuations to the previous token and puts
// spaces between words.
type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func (d wordPieceDecoder) decodeChain(toks []string, c decodeCtx) []string {
	for i, t := range toks {
		if i != 0 || c.cont {
			if strings.HasPrefix(t, d.prefix) {
				t = strings.Replace(t, d.prefix, "", 1)
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanUpSpaces(t)
		}
		toks[i] = t
	}
	return toks
}

// bpeDecoder replaces the end-of-word suffix of each token with a space
// (nothing after the last token).
type bpeDecoder struct{ suffix string }

func (d bpeDecoder) decodeChain(toks []string, c decodeCtx) []string {
	for i, t := range toks {
		rep := " "
		if i == len(toks)-1 && !c.raw {
			rep = ""
		}
		toks[i] = strings.ReplaceAll(t, d.suffix, rep)
	}
	return toks
}

// ctcDecoder collapses repeated tokens, drops the pad token and turns the
// word delimiter into spaces.
type ctcDecoder struct {
	pad, delim string
	cleanup    bool
}

func (d ctcDecoder) decodeChain(toks []string, c decodeCtx) []string {
	out := toks[:0:0]
	for i, t := range toks {
		if i > 0 && t == toks[i-1] {
			continue
		}
		if t == d.pad {
			continue
		}
		t = strings.ReplaceAll(t, d.delim, " ")
		if d.cleanup {
			t = cleanUpSpaces(t)
		}
		out = append(out, t)
	}
	return out
}

// parseDecoder builds a decoder from its tokenizer.json object.
func parseDecoder(raw json.RawMessage) (decoder, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		var s struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		var q seqDecoder
		for _, r := range s.Decoders {
			d, err := parseDecoder(r)
			if err != nil {
				return nil, err
			}
			q = append(q, d)
		}
		return q, nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		var s struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		r, _ := utf8.DecodeRuneInString(s.Content)
		return stripDecoder{content: r, start: s.Start, stop: s.Stop}, nil
	case "Replace":
		var s struct {
			Pattern hfPattern `json:"pattern"`
			Content string    `json:"content"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		lit, f, err := s.Pattern.compile()
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return replaceDecoder{replacer{literal: lit, re: f, content: s.Content}}, nil
	case "Metaspace":
		var s struct {
			Replacement    *string `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		d := metaspaceDecoder{replacement: '\u2581', prepend: true}
		if s.Replacement != nil {
			d.replacement, _ = utf8.DecodeRuneInString(*s.Replacement)
		}
		if s.PrependScheme != nil {
			d.prepend = *s.PrependScheme != "never"
		} else if s.AddPrefixSpace != nil {
			d.prepend = *s.AddPrefixSpace
		}
		return d, nil
	case "WordPiece":
		var s struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		d := wordPieceDecoder{prefix: "##", cleanup: s.Cleanup == nil || *s.Cleanup}
		if s.Prefix != nil {
			d.prefix = *s.Prefix
		}
		return d, nil
	case "BPEDecoder":
		var s struct {
			Suffix *string `json:"suffix"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		d := bpeDecoder{suffix: "</w>"}
		if s.Suffix != nil {
			d.suffix = *s.Suffix
		}
		return d, nil
	case "CTC":
		var s struct {
			Pad     *string `json:"pad_token"`
			Delim   *string `json:"word_delimiter_token"`
			Cleanup *bool   `json:"cleanup"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		d := ctcDecoder{pad: "<pad>", delim: "|", cleanup: s.Cleanup == nil || *s.Cleanup}
		if s.Pad != nil {
			d.pad = *s.Pad
		}
		if s.Delim != nil {
			d.delim = *s.Delim
		}
		return d, nil
	case "":
		return nil, errors.New("decoder without a type")
	}
	return nil, fmt.Errorf("unknown decoder type %q", typ)
}
