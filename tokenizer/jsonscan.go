package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonScanner is a small, fast reader of JSON text used for the large parts
// of tokenizer.json (the vocabulary and merges), where encoding/json with
// reflection is several times too slow. It validates what it reads; values
// it skips are returned as raw spans for encoding/json.
type jsonScanner struct {
	b   []byte
	pos int
}

// scanError reports malformed JSON at a byte offset.
type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return fmt.Sprintf("invalid JSON at offset %d: %s", e.off, e.msg) }

func (s *jsonScanner) fail(msg string) error { return &scanError{s.pos, msg} }

func (s *jsonScanner) ws() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.pos >= len(s.b) {
		return 0
	}
	return s.b[s.pos]
}

func (s *jsonScanner) expect(c byte) error {
	if s.peek() != c {
		return s.fail(fmt.Sprintf("want %q", c))
	}
	s.pos++
	return nil
}

// str reads a string value.
func (s *jsonScanner) str() (string, error) {
	if s.peek() != '"' {
		return "", s.fail("want a string")
	}
	start := s.pos
	s.pos++
	simple := true
	for {
		if s.pos >= len(s.b) {
			return "", s.fail("unterminated string")
		}
		c := s.b[s.pos]
		if c == '"' {
			break
		}
		if c == '\\' {
			simple = false
			s.pos += 2
			continue
		}
		if c < 0x20 {
			return "", s.fail("control character in string")
		}
		if c >= utf8.RuneSelf {
			simple = false
		}
		s.pos++
	}
	s.pos++
	raw := s.b[start+1 : s.pos-1]
	if simple || (!hasByte(raw, '\\') && utf8.Valid(raw)) {
		return string(raw), nil
	}
	var out string
	if err := json.Unmarshal(s.b[start:s.pos], &out); err != nil {
		return "", &scanError{start, err.Error()}
	}
	return out, nil
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// integer reads an integer value.
func (s *jsonScanner) integer() (int, error) {
	s.ws()
	start := s.pos
	neg := false
	if s.pos < len(s.b) && s.b[s.pos] == '-' {
		neg = true
		s.pos++
	}
	n := 0
	digits := 0
	for s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9' {
		n = n*10 + int(s.b[s.pos]-'0')
		s.pos++
		digits++
		if digits > 12 {
			return 0, s.fail("integer too large")
		}
	}
	if digits == 0 {
		s.pos = start
		return 0, s.fail("want an integer")
	}
	if s.pos < len(s.b) && (s.b[s.pos] == '.' || s.b[s.pos] == 'e' || s.b[s.pos] == 'E') {
		s.pos = start
		return 0, s.fail("want an integer")
	}
	if neg {
		n = -n
	}
	return n, nil
}

// number reads a number value.
func (s *jsonScanner) number() (float64, error) {
	s.ws()
	start := s.pos
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.pos++
			continue
		}
		break
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.pos]), 64)
	if err != nil {
		s.pos = start
		return 0, s.fail("want a number")
	}
	return f, nil
}

// skip passes over any value and returns its raw text.
func (s *jsonScanner) skip() (json.RawMessage, error) {
	s.ws()
	start := s.pos
	depth := 0
	for {
		if s.pos >= len(s.b) {
			return nil, s.fail("unexpected end of JSON")
		}
		c := s.b[s.pos]
		switch c {
		case '"':
			if _, err := s.rawString(); err != nil {
				return nil, err
			}
		case '{', '[':
			depth++
			s.pos++
		case '}', ']':
			depth--
			s.pos++
			if depth < 0 {
				return nil, s.fail("unbalanced brackets")
			}
		default:
			s.pos++
		}
		if depth == 0 {
			// A scalar ends at a delimiter.
			if c != '"' && c != '}' && c != ']' {
				for s.pos < len(s.b) {
					d := s.b[s.pos]
					if d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t' {
						break
					}
					s.pos++
				}
			}
			raw := s.b[start:s.pos]
			if !json.Valid(raw) {
				return nil, &scanError{start, "malformed value"}
			}
			return raw, nil
		}
	}
}

// rawString passes over a string without decoding it.
func (s *jsonScanner) rawString() ([]byte, error) {
	start := s.pos
	s.pos++
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case '"':
			s.pos++
			return s.b[start:s.pos], nil
		case '\\':
			s.pos += 2
		default:
			s.pos++
		}
	}
	return nil, s.fail("unterminated string")
}

// object calls f for each member of an object; f must consume the value.
func (s *jsonScanner) object(f func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		k, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := f(k); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.fail("want ',' or '}'")
		}
	}
}

// array calls f for each element of an array; f must consume the element.
func (s *jsonScanner) array(f func(i int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := f(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail("want ',' or ']'")
		}
	}
}

// end checks that nothing but spaces follows.
func (s *jsonScanner) end() error {
	if s.peek() != 0 {
		return s.fail("data after the top-level value")
	}
	return nil
}

// hfFast is tokenizer.json read with the fast scanner: the vocabulary and
// merges decoded directly, everything else kept raw.
type hfFast struct {
	file   hfFile
	model  hfModel
	vocab  map[string]int // BPE/WordPiece/WordLevel vocabulary
	rev    []string       // its reverse (id -> token), nil if not read by the scanner
	merges [][2]string    // merges, when read before the vocabulary
	// mergeIDs are the merges as id pairs, when the vocabulary came first.
	mergeIDs    [][2]int32
	mergesFound bool
	// Unigram vocabulary.
	uniPieces []string
	uniScores []float64
	hasUni    bool
}

// scanTokenizerJSON reads a tokenizer.json.
func scanTokenizerJSON(data []byte) (*hfFast, error) {
	s := &jsonScanner{b: data}
	h := &hfFast{}
	if s.peek() != '{' {
		return nil, s.fail("tokenizer.json is not a JSON object")
	}
	err := s.object(func(key string) error {
		var err error
		switch key {
		case "model":
			if s.peek() != '{' {
				h.file.Model, err = s.skip()
				return err
			}
			h.file.Model = json.RawMessage("{}")
			return h.scanModel(s)
		case "added_tokens":
			var raw json.RawMessage
			if raw, err = s.skip(); err == nil {
				err = json.Unmarshal(raw, &h.file.AddedTokens)
			}
		case "normalizer":
			h.file.Normalizer, err = s.skip()
		case "pre_tokenizer":
			h.file.PreTokenizer, err = s.skip()
		case "post_processor":
			h.file.PostProcessor, err = s.skip()
		case "decoder":
			h.file.Decoder, err = s.skip()
		default:
			_, err = s.skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *hfFast) scanModel(s *jsonScanner) error {
	rest := []byte{'{'}
	err := s.object(func(key string) error {
		switch key {
		case "vocab":
			switch s.peek() {
			case '{':
				h.vocab = make(map[string]int, len(s.b)/40)
				var ar arena
				s.pos++
				if s.peek() == '}' {
					s.pos++
					return nil
				}
				for {
					kb, err := s.strBytes()
					if err != nil {
						return err
					}
					if err := s.expect(':'); err != nil {
						return err
					}
					id, err := s.integer()
					if err != nil {
						return err
					}
					if id < 0 || id >= 1<<26 {
						return fmt.Errorf("vocab id %d out of range", id)
					}
					tok := ar.str(kb)
					h.vocab[tok] = id
					if id >= len(h.rev) {
						h.rev = slices.Grow(h.rev, id+1-len(h.rev))[:id+1]
					}
					h.rev[id] = tok
					switch s.peek() {
					case ',':
						s.pos++
					case '}':
						s.pos++
						return nil
					default:
						return s.fail("want ',' or '}'")
					}
				}
			case '[':
				h.hasUni = true
				return s.array(func(i int) error {
					if err := s.expect('['); err != nil {
						return err
					}
					p, err := s.str()
					if err != nil {
						return err
					}
					if err := s.expect(','); err != nil {
						return err
					}
					f, err := s.number()
					if err != nil {
						return err
					}
					h.uniPieces = append(h.uniPieces, p)
					h.uniScores = append(h.uniScores, f)
					return s.expect(']')
				})
			}
			_, err := s.skip()
			return err
		case "merges":
			if s.peek() != '[' {
				_, err := s.skip()
				return err
			}
			h.mergesFound = true
			return s.array(func(i int) error {
				var a, b string
				var err error
				switch s.peek() {
				case '"':
					var m []byte
					if m, err = s.strBytes(); err != nil {
						return err
					}
					var ok bool
					a, b, ok = cutMergeBytes(m)
					if !ok {
						return fmt.Errorf("merges[%d] %q: want two tokens separated by a space", i, m)
					}
				case '[':
					s.pos++
					ab, err := s.strBytes()
					if err != nil {
						return err
					}
					a = bytesString(ab)
					if err := s.expect(','); err != nil {
						return err
					}
					bb, err := s.strBytes()
					if err != nil {
						return err
					}
					b = bytesString(bb)
					if err := s.expect(']'); err != nil {
						return err
					}
				default:
					return s.fail("merge is neither a string nor a pair")
				}
				if h.vocab != nil {
					x, ok1 := h.vocab[a]
					y, ok2 := h.vocab[b]
					if !ok1 || !ok2 {
						return fmt.Errorf("merge %q %q: token not in the vocabulary", a, b)
					}
					h.mergeIDs = append(h.mergeIDs, [2]int32{int32(x), int32(y)})
					return nil
				}
				h.merges = append(h.merges, [2]string{strings.Clone(a), strings.Clone(b)})
				return nil
			})
		}
		raw, err := s.skip()
		if err != nil {
			return err
		}
		if len(rest) > 1 {
			rest = append(rest, ',')
		}
		rest = strconv.AppendQuote(rest, key)
		rest = append(rest, ':')
		rest = append(rest, raw...)
		return nil
	})
	if err != nil {
		return err
	}
	rest = append(rest, '}')
	if err := json.Unmarshal(rest, &h.model); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if h.vocab == nil && !h.hasUni {
		return errors.New("model has no vocab")
	}
	return nil
}

// cutMergeBytes splits "a b" at its first space. The strings share m's
// memory (unsafe to keep unless cloned).
func cutMergeBytes(m []byte) (string, string, bool) {
	for i := 1; i < len(m); i++ {
		if m[i] == ' ' {
			return bytesString(m[:i]), bytesString(m[i+1:]), i+1 < len(m)
		}
	}
	return "", "", false
}

// strBytes reads a string value; the result may share the scanner's
// buffer (when the string has no escapes) or be freshly decoded.
func (s *jsonScanner) strBytes() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.fail("want a string")
	}
	start := s.pos
	s.pos++
	esc := false
	for {
		if s.pos >= len(s.b) {
			return nil, s.fail("unterminated string")
		}
		c := s.b[s.pos]
		if c == '"' {
			break
		}
		if c == '\\' {
			esc = true
			s.pos += 2
			continue
		}
		if c < 0x20 {
			return nil, s.fail("control character in string")
		}
		s.pos++
	}
	s.pos++
	raw := s.b[start+1 : s.pos-1]
	if !esc && utf8.Valid(raw) {
		return raw, nil
	}
	var out string
	if err := json.Unmarshal(s.b[start:s.pos], &out); err != nil {
		return nil, &scanError{start, err.Error()}
	}
	return []byte(out), nil
}

// arena hands out strings copied into large shared blocks, so that a
// vocabulary of 150k tokens costs a few allocations instead of 150k.
type arena struct{ buf []byte }

func (a *arena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(a.buf)+len(b) > cap(a.buf) {
		a.buf = make([]byte, 0, max(256<<10, len(b)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return bytesString(a.buf[start:])
}
