package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/weights"
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
	f, err := weights.Open(*modelPath, weights.Options{})
	if err != nil {
		return err
	}
	defer f.Close()
	be := model.NewNative(*threads)
	defer be.Close()
	m, err := model.Load(f, be)
	if err != nil {
		return err
	}
	if _, ok := m.(model.Encoder); !ok {
		return fmt.Errorf("%s: %w: %s is not an embedding model", *modelPath, model.ErrUnsupported, m.Config().Arch)
	}
	tok, err := loadTokenizer(*modelPath, *tokPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, text := range texts {
		if err := ctx.Err(); err != nil {
			return err
		}
		ids := tok.Encode(text, true)
		v, err := model.Embed(m, be, ids)
		if err != nil {
			return fmt.Errorf("embed %q: %w", text, err)
		}
		js, err := json.Marshal(v)
		if err != nil {
			return err
		}
		w.Write(js)
		w.WriteByte('\n')
	}
	return nil
}
