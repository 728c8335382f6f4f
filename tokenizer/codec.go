package tokenizer

// Codec is what a tokenizer backend offers: *Tokenizer implements it, and
// so does the optional Rust-backed tokenizer in tokenizer/hftok (build tag
// hftokenizers).
type Codec interface {
	Encode(text string, addSpecial bool) []int
	Decode(ids []int) string
	VocabSize() int
}

var _ Codec = (*Tokenizer)(nil)
