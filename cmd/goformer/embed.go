package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/model"
)

// cmdEmbed prints the pooled, L2-normalized embeddings of texts, one JSON
// array of numbers per line.
func cmdEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer embed -m MODEL [-t THREADS] TEXT...")
		fs.PrintDefaults()
	}
	modelPath := fs.String("m", "", "embedding model (BERT family): a .gguf file or a Hugging Face directory")
	tokPath := fs.String("tokenizer", "", "tokenizer file instead of the model's")
	threads := fs.Int("t", 0, "threads (0: all cores)")
	texts, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if *modelPath == "" || len(texts) == 0 {
		fs.Usage()
		return errors.New("embed needs -m MODEL and at least one TEXT")
	}
	if *modelPath, err = resolveModel(*modelPath); err != nil {
		return err
	}
	opts := []goformer.Option{goformer.WithThreads(*threads)}
	if *tokPath != "" {
		opts = append(opts, goformer.WithTokenizer(*tokPath))
	}
	m, err := goformer.Load(*modelPath, opts...)
	if err != nil {
		return err
	}
	defer m.Close()
	if !m.Embedder() {
		return fmt.Errorf("%s: %w: %s is not an embedding model", *modelPath, model.ErrUnsupported, m.Info().Arch)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, text := range texts {
		vecs, _, err := m.Embed(ctx, []string{text})
		if err != nil {
			return fmt.Errorf("embed %q: %w", text, err)
		}
		js, err := json.Marshal(vecs[0])
		if err != nil {
			return err
		}
		w.Write(js)
		w.WriteByte('\n')
	}
	return nil
}
