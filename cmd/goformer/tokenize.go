package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goformer/goformer/internal/defaultmodel"
	"github.com/goformer/goformer/tokenizer"
	"github.com/goformer/goformer/weights"
)

// stdin is where --jsonl reads; a variable so tests can replace it.
var stdin io.Reader = os.Stdin

func cmdTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer tokenize [-m MODEL | --tokenizer FILE] [--no-special] [--json] TEXT\n       goformer tokenize [...] --jsonl < strings.jsonl")
		fs.PrintDefaults()
	}
	modelPath := fs.String("m", "", "model whose tokenizer to use: a .gguf file or a Hugging Face directory (default: the embedded model)")
	tokPath := fs.String("tokenizer", "", "tokenizer file: tokenizer.json, tokenizer.model, a (vocab-only) .gguf, or a directory")
	noSpecial := fs.Bool("no-special", false, "do not add BOS/EOS or other special tokens")
	jsonOut := fs.Bool("json", false, "print a JSON array of ids instead of one id and piece per line")
	jsonl := fs.Bool("jsonl", false, "batch mode: read one JSON string per line on stdin, write one JSON array of ids per line")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if *modelPath != "" && *tokPath != "" {
		return errors.New("tokenize: give -m or --tokenizer, not both")
	}
	if *jsonl != (len(pos) == 0) {
		fs.Usage()
		return errors.New("tokenize takes one TEXT argument, or --jsonl and no argument")
	}
	if *modelPath, err = resolveModel(*modelPath); err != nil {
		return err
	}
	tok, err := loadTokenizer(*modelPath, *tokPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if *jsonl {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		for line := 1; sc.Scan(); line++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			var s string
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				return fmt.Errorf("stdin line %d: want a JSON string: %w", line, err)
			}
			b, _ := json.Marshal(nonNil(tok.Encode(s, !*noSpecial)))
			w.Write(b)
			w.WriteByte('\n')
		}
		return sc.Err()
	}
	ids := tok.Encode(pos[0], !*noSpecial)
	if *jsonOut {
		b, _ := json.Marshal(nonNil(ids))
		w.Write(b)
		w.WriteByte('\n')
		return nil
	}
	for _, id := range ids {
		fmt.Fprintf(w, "%6d %q\n", id, tok.Piece(id))
	}
	return nil
}

func nonNil(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

// loadTokenizer loads only the tokenizer of a model or tokenizer file.
func loadTokenizer(modelPath, tokPath string) (*tokenizer.Tokenizer, error) {
	switch {
	case tokPath != "":
		return tokenizer.Load(tokPath)
	case modelPath == "":
		f, err := weights.ReadGGUF(defaultmodel.Name, defaultmodel.GGUF)
		if err != nil {
			return nil, err
		}
		return tokenizer.FromGGUF(f.Meta)
	}
	if st, err := os.Stat(modelPath); err == nil && st.IsDir() {
		return tokenizer.Load(modelPath)
	}
	if strings.EqualFold(filepath.Ext(modelPath), ".gguf") {
		return tokenizer.Load(modelPath)
	}
	return nil, fmt.Errorf("%s: not a .gguf file or a model directory", modelPath)
}
