package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/goformer/goformer/synth"
	"github.com/goformer/goformer/weights"
)

// cmdSynth writes a random-weight checkpoint (package synth).
func cmdSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer synth --arch ARCH (--shape NAME | --config config.json) --dtype f32|bf16|f16|q8_0|q4_0|q4_k|q6_k [--format gguf|hf] -o PATH")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nArchitectures and shapes:")
		shapes := synth.Shapes()
		for _, a := range synth.Arches {
			fmt.Fprintf(stderr, "  %-8s %s\n", a, strings.Join(shapes[a], ", "))
		}
	}
	arch := fs.String("arch", "", "family: "+strings.Join(synth.Arches, ", "))
	shape := fs.String("shape", "", "preset shape: tiny, or a real model's (see below)")
	cfgPath := fs.String("config", "", "Hugging Face config.json giving the shape instead of --shape")
	dtype := fs.String("dtype", "f32", "matrix type: f32, bf16, f16, q8_0, q4_0, q4_k or q6_k (quantized: gguf only)")
	format := fs.String("format", "gguf", "output format: gguf (a file) or hf (a directory)")
	out := fs.String("o", "", "output path")
	tokDir := fs.String("tokenizers", "../shared/tokenizers", "directory of the shared tokenizers")
	seed := fs.Uint64("seed", 1, "random seed")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if len(pos) > 0 || *arch == "" || *out == "" || (*shape == "") == (*cfgPath == "") {
		fs.Usage()
		return errors.New("synth needs --arch, -o, and one of --shape or --config")
	}
	dt, ok := map[string]weights.DType{"f32": weights.F32, "bf16": weights.BF16, "f16": weights.F16,
		"q8_0": weights.Q8_0, "q4_0": weights.Q4_0, "q4_k": weights.Q4_K, "q6_k": weights.Q6_K}[strings.ToLower(*dtype)]
	if !ok {
		return fmt.Errorf("synth: --dtype %q: want f32, bf16, f16, q8_0, q4_0, q4_k or q6_k", *dtype)
	}
	o := synth.Options{Arch: *arch, Shape: *shape, DType: dt, Format: *format, Tokenizers: *tokDir, Seed: *seed}
	if *cfgPath != "" {
		raw, err := os.ReadFile(*cfgPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &o.Config); err != nil {
			return fmt.Errorf("%s: %w", *cfgPath, err)
		}
	}
	start := time.Now()
	if err := synth.Write(*out, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s %s %s) in %.1fs\n", *out, *arch, *dtype, *format, time.Since(start).Seconds())
	return ctx.Err()
}
