package tokenizer

import "errors"

// FromGPT2Files loads GPT-2's original encoder.json and vocab.bpe.
func FromGPT2Files(encoderJSON, vocabBPE string) (*Tokenizer, error) {
	return nil, errors.New("tokenizer: encoder.json/vocab.bpe are not supported yet")
}
