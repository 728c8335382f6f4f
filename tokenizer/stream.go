package tokenizer

// StreamDecoder turns generated tokens into text one token at a time. The
// text continues earlier text (a prompt), so nothing is stripped at the
// start: the dummy-prefix space of a SentencePiece piece such as "▁Once" is
// kept, a WordPiece word gets its leading space. Special (control) tokens
// produce no text; other added tokens produce their content.
//
// A StreamDecoder is not safe for concurrent use; make one per sequence.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte // bytes of an unfinished character
	one     [1]string
}

// NewStreamDecoder returns a decoder for a stream of generated tokens.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Add appends a token and returns the text it completes: only whole UTF-8
// characters. Bytes of a character split across byte-fallback tokens (such
// as <0xE5> <0xB0> <0x8F>) are held until the character is complete; bytes
// that can never form a character are returned as U+FFFD.
func (d *StreamDecoder) Add(id int) string {
	t := d.t
	if id < 0 || id >= len(t.vocab) || t.attr[id]&attrControl != 0 {
		return ""
	}
	d.pending = t.streamPiece(d.pending, id, d.one[:])
	k := incompleteTail(d.pending)
	ready := d.pending[:len(d.pending)-k]
	if len(ready) == 0 {
		return ""
	}
	s := string(appendValid(nil, ready))
	d.pending = append(d.pending[:0], d.pending[len(d.pending)-k:]...)
	return s
}

// Flush returns whatever is held back (an unfinished character becomes
// U+FFFD) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	if len(d.pending) == 0 {
		return ""
	}
	s := string(appendValid(nil, d.pending))
	d.pending = d.pending[:0]
	return s
}

// streamPiece appends the raw bytes token id contributes in the middle of a
// text.
func (t *Tokenizer) streamPiece(b []byte, id int, one []string) []byte {
	if t.dec == nil {
		return t.appendPiece(b, id, true)
	}
	one[0] = t.vocab[id]
	out := t.dec.decodeChain(one[:1], decodeCtx{raw: true, cont: true})
	for _, s := range out {
		b = append(b, s...)
	}
	return b
}
