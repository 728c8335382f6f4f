package tokenizer

import "errors"

// FromSentencePieceFile loads a SentencePiece tokenizer.model.
func FromSentencePieceFile(path string) (*Tokenizer, error) {
	return nil, errors.New("tokenizer: SentencePiece .model files are not supported yet")
}
