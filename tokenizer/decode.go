package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// DecodeOptions control DecodeWith.
type DecodeOptions struct {
	// SkipSpecial leaves out special (control) tokens.
	SkipSpecial bool
	// CleanUp applies Hugging Face's clean_up_tokenization_spaces to the
	// result (" ." -> ".", " n't" -> "n't", ...).
	CleanUp bool
}

// Decode turns ids back into text the way the tokenizer's family does:
//
//   - tokenizer.json: the decoder pipeline over the tokens, special tokens
//     rendered as their text, then clean_up_tokenization_spaces if
//     tokenizer_config.json asks for it (as transformers' decode does);
//   - SentencePiece (GGUF llama, .model): control tokens produce nothing, the
//     unknown token " ⁇ ", byte pieces are assembled into UTF-8, "▁" becomes
//     a space and the leading space of the dummy prefix is removed;
//   - GPT-2 files: the byte-level pieces concatenated.
//
// Ids out of range are skipped. Invalid UTF-8 becomes U+FFFD (one per
// maximal invalid subsequence, or per byte token where the Hugging Face
// ByteFallback decoder says so).
func (t *Tokenizer) Decode(ids []int) string {
	return t.DecodeWith(ids, DecodeOptions{CleanUp: t.cleanup})
}

// DecodeWith decodes ids with explicit options.
func (t *Tokenizer) DecodeWith(ids []int, o DecodeOptions) string {
	var s string
	if t.dec != nil {
		toks := make([]string, 0, len(ids))
		for _, id := range ids {
			if id < 0 || id >= len(t.vocab) {
				continue
			}
			if o.SkipSpecial && t.attr[id]&attrControl != 0 {
				continue
			}
			toks = append(toks, t.vocab[id])
		}
		toks = t.dec.decodeChain(toks, decodeCtx{})
		s = validUTF8(strings.Join(toks, ""))
	} else {
		s = validUTF8(string(t.rawDecode(ids, false, o.SkipSpecial)))
	}
	if o.CleanUp {
		s = cleanUpSpaces(s)
	}
	return s
}

// rawDecode renders ids as bytes for the families without a decoder
// pipeline. cont: the text continues earlier text (no dummy-prefix
// stripping).
func (t *Tokenizer) rawDecode(ids []int, cont, skipSpecial bool) []byte {
	var b []byte
	bosWS := !cont
	for _, id := range ids {
		if id < 0 || id >= len(t.vocab) {
			continue
		}
		n := len(b)
		b = t.appendPiece(b, id, skipSpecial)
		if bosWS && len(b) > n {
			if (t.fam == famSPM || t.fam == famWPM) && t.attr[id]&(attrNormal|attrUserDefined) != 0 && t.spmStripSpace() && b[n] == ' ' {
				b = append(b[:n], b[n+1:]...)
			}
			bosWS = false
		}
	}
	return b
}

// spmStripSpace reports whether the SentencePiece dummy prefix is in use
// (and so its space is removed by Decode).
func (t *Tokenizer) spmStripSpace() bool { return t.spacePrefix }

// appendPiece appends the bytes a token stands for in the middle of text.
func (t *Tokenizer) appendPiece(b []byte, id int, skipSpecial bool) []byte {
	a := t.attr[id]
	p := t.vocab[id]
	switch t.fam {
	case famSPM, famWPM:
		switch {
		case a&attrControl != 0, a&attrUnused != 0:
			return b
		case a&attrUnknown != 0:
			return append(b, " \u2047 "...)
		case a&attrByte != 0:
			if c, ok := isByteToken(p); ok {
				return append(b, c)
			}
			return b
		case a&attrUserDefined != 0:
			return append(b, p...)
		}
		return appendReplaceSpace(b, p)
	case famGPT2:
		if a&attrControl != 0 {
			if skipSpecial || t.hideControl {
				return b
			}
			return append(b, p...)
		}
		return appendByteLevel(b, p)
	}
	if a&attrControl != 0 && skipSpecial {
		return b
	}
	return append(b, p...)
}

// appendReplaceSpace appends p with every "▁" replaced by a space.
func appendReplaceSpace(b []byte, p string) []byte {
	for {
		i := strings.Index(p, "\u2581")
		if i < 0 {
			return append(b, p...)
		}
		b = append(b, p[:i]...)
		b = append(b, ' ')
		p = p[i+len("\u2581"):]
	}
}

// validUTF8 replaces invalid UTF-8 with U+FFFD, one per maximal invalid
// subsequence (the WHATWG / Rust from_utf8_lossy convention).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendValid(nil, []byte(s)))
}

// appendValid appends b to dst with invalid sequences replaced by U+FFFD,
// one per maximal invalid subsequence.
func appendValid(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		r, w := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || w > 1 {
			dst = append(dst, b[i:i+w]...)
			i += w
			continue
		}
		// Invalid: skip the maximal prefix of a valid sequence.
		dst = append(dst, "\uFFFD"...)
		i += maximalSubpart(b[i:])
	}
	return dst
}

// maximalSubpart returns the length (>= 1) of the longest prefix of b that
// is a prefix of some valid UTF-8 sequence (b[0] is not valid on its own).
func maximalSubpart(b []byte) int {
	c := b[0]
	var n int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		n = 2
	case c == 0xE0:
		n, lo = 3, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		n = 3
	case c == 0xED:
		n, hi = 3, 0x9F
	case c == 0xF0:
		n, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		n = 4
	case c == 0xF4:
		n, hi = 4, 0x8F
	default:
		return 1
	}
	k := 1
	for k < n && k < len(b) {
		x := b[k]
		if k == 1 {
			if x < lo || x > hi {
				break
			}
		} else if x < 0x80 || x > 0xBF {
			break
		}
		k++
	}
	return k
}

// incompleteTail returns how many bytes at the end of b form a valid but
// unfinished UTF-8 sequence (0 if none).
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 {
			// A lead byte: is b[len-k:] a proper prefix of a valid sequence?
			tail := b[len(b)-k:]
			if need := seqLen(c); need > k && maximalSubpart(tail) == k {
				return k
			}
			return 0
		}
	}
	return 0
}

func seqLen(c byte) int {
	switch {
	case c >= 0xC2 && c <= 0xDF:
		return 2
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xF0 && c <= 0xF4:
		return 4
	}
	return 0
}

// cleanUpSpaces is transformers' clean_up_tokenization: each replacement
// applied in turn to the whole string.
func cleanUpSpaces(s string) string {
	for i := 0; i < len(cleanupPairs); i += 2 {
		s = strings.ReplaceAll(s, cleanupPairs[i], cleanupPairs[i+1])
	}
	return s
}

var cleanupPairs = []string{
	" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
	" n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re",
}
