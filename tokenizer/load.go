package tokenizer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goformer/goformer/weights"
)

// Load loads a tokenizer from a path, detecting its kind:
//
//   - a directory: tokenizer.json (with tokenizer_config.json), else
//     tokenizer.model, else encoder.json + vocab.bpe, else a single .gguf;
//   - a file named *.json: a Hugging Face tokenizer.json;
//   - a GGUF file (by its magic number): its tokenizer.ggml.* metadata;
//   - any other file: a SentencePiece model protobuf (tokenizer.model).
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		return loadDir(path)
	}
	head := make([]byte, 4)
	if f, err := os.Open(path); err == nil {
		n, _ := f.Read(head)
		head = head[:n]
		f.Close()
	}
	switch {
	case bytes.Equal(head, []byte("GGUF")):
		return loadGGUFFile(path)
	case strings.HasSuffix(strings.ToLower(path), ".json"):
		if filepath.Base(path) == "encoder.json" {
			return FromGPT2Files(path, filepath.Join(filepath.Dir(path), "vocab.bpe"))
		}
		return fromJSONFile(path)
	}
	return FromSentencePieceFile(path)
}

func loadDir(dir string) (*Tokenizer, error) {
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	switch {
	case exists("tokenizer.json"):
		return fromJSONFile(filepath.Join(dir, "tokenizer.json"))
	case exists("tokenizer.model"):
		return FromSentencePieceFile(filepath.Join(dir, "tokenizer.model"))
	case exists("encoder.json") && exists("vocab.bpe"):
		return FromGPT2Files(filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe"))
	}
	ggufs, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if len(ggufs) == 1 {
		return loadGGUFFile(ggufs[0])
	}
	return nil, fmt.Errorf("tokenizer: %s: no tokenizer.json, tokenizer.model, encoder.json+vocab.bpe or single .gguf file", dir)
}

func loadGGUFFile(path string) (*Tokenizer, error) {
	f, err := weights.Open(path, weights.Options{})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := FromGGUF(f.Meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
