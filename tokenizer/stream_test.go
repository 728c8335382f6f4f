package tokenizer

import (
	"testing"
	"unicode/utf8"
)

func storiesTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	tok, err := FromGGUF(loadGGUFMeta(t, needShared(t, "models/stories260K/stories260K.gguf")))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestStreamDecoderSplitsCharacters(t *testing.T) {
	tok := storiesTokenizer(t)
	for _, text := range []string{"小明 had a red ball. 他很高兴。", "naïve café 🐶 Zoë", "é", "🐶🐶", "a\u0301b"} {
		ids := tok.Encode(text, false)
		d := tok.NewStreamDecoder()
		var got string
		for _, id := range ids {
			s := d.Add(id)
			if !utf8.ValidString(s) {
				t.Errorf("%q: Add(%d) returned invalid UTF-8 %q", text, id, s)
			}
			got += s
		}
		if rest := d.Flush(); rest != "" {
			t.Errorf("%q: Flush = %q, want nothing left", text, rest)
		}
		if want := " " + text; got != want {
			t.Errorf("stream decode of %q = %q, want %q (dummy-prefix space kept)", text, got, want)
		}
		if s := tok.Decode(ids); s != text {
			t.Errorf("Decode = %q, want %q", s, text)
		}
	}
}

func TestStreamDecoderHoldsPartialBytes(t *testing.T) {
	tok := storiesTokenizer(t)
	b := func(x byte) int {
		id, ok := tok.TokenID(byteTokenName(x))
		if !ok {
			t.Fatalf("no byte token for %#x", x)
		}
		return id
	}
	d := tok.NewStreamDecoder()
	// 我 = E6 88 91: nothing until the third byte.
	if s := d.Add(b(0xE6)); s != "" {
		t.Fatalf("after 1 byte: %q", s)
	}
	if s := d.Add(b(0x88)); s != "" {
		t.Fatalf("after 2 bytes: %q", s)
	}
	if s := d.Add(b(0x91)); s != "我" {
		t.Fatalf("after 3 bytes: %q", s)
	}
	// 🐶 = F0 9F 90 B6, then an ASCII piece.
	for _, x := range []byte{0xF0, 0x9F, 0x90} {
		if s := d.Add(b(x)); s != "" {
			t.Fatalf("partial emoji: %q", s)
		}
	}
	if s := d.Add(b(0xB6)); s != "🐶" {
		t.Fatalf("emoji: %q", s)
	}
	// An unfinished character followed by ASCII: U+FFFD then the text.
	d.Add(b(0xE5))
	a, _ := tok.TokenID("a")
	if s := d.Add(a); s != "\uFFFDa" {
		t.Fatalf("broken sequence: %q", s)
	}
	// A byte that can never start a character is replaced at once.
	if s := d.Add(b(0xFF)); s != "\uFFFD" {
		t.Fatalf("0xFF: %q", s)
	}
	// Flush turns a pending prefix into U+FFFD.
	d.Add(b(0xF0))
	d.Add(b(0x9F))
	if s := d.Flush(); s != "\uFFFD" {
		t.Fatalf("Flush: %q", s)
	}
	if s := d.Flush(); s != "" {
		t.Fatalf("second Flush: %q", s)
	}
	// Control tokens produce nothing; text keeps its leading space.
	once, _ := tok.TokenID("\u2581O")
	if s := d.Add(tok.BOS()) + d.Add(once); s != " O" {
		t.Fatalf("BOS + ▁O: %q", s)
	}
}

func TestIncompleteTail(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0}, {"a", 0}, {"\xe6", 1}, {"\xe6\x88", 2}, {"\xe6\x88\x91", 0},
		{"a\xf0\x9f\x90", 3}, {"\xf0\x9f\x90\xb6", 0}, {"\xff", 0}, {"\xe0\x80", 0},
		{"\xed\xa0", 0}, {"\xc3", 1}, {"\x80", 0},
	} {
		if got := incompleteTail([]byte(c.in)); got != c.want {
			t.Errorf("incompleteTail(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestValidUTF8(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe6\x88", "\uFFFD"},
		{"\xe6\x88a", "\uFFFDa"},
		{"\xff\xfe", "\uFFFD\uFFFD"},
		{"\xf0\x9f\x90\xb6\xf0", "🐶\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xc0\xaf", "\uFFFD\uFFFD"},
	} {
		if got := validUTF8(c.in); got != c.want {
			t.Errorf("validUTF8(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
