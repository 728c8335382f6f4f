package tokenizer

// GPT-2's byte-level alphabet: every byte is shown as a printable
// character. Bytes that are printable Latin-1 ('!'..'~', '¡'..'¬',
// '®'..'ÿ') stand for themselves; the others are mapped, in byte order, to
// U+0100, U+0101, ...
var (
	byteToUnicode [256]rune
	byteToString  [256]string
	unicodeToByte [0x180]int16
)

func init() {
	for i := range unicodeToByte {
		unicodeToByte[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = 256 + n
			n++
		}
		byteToUnicode[b] = r
		byteToString[b] = string(r)
		unicodeToByte[r] = int16(b)
	}
}

// appendByteLevelEncode appends the bytes of s mapped to the byte-level
// alphabet.
func appendByteLevelEncode(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = append(b, byteToString[s[i]]...)
	}
	return b
}
