package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/goformer/goformer/bench"
	"github.com/goformer/goformer/model"
)

// cmdBench measures prompt processing and generation throughput the way
// llama-bench does (see package bench).
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: goformer bench [flags]

Prompt processing (ppN: N random token ids evaluated from an empty cache) and
generation (tgN: N single-token steps from an empty cache) in tokens/s, mean ±
standard deviation over -r repetitions after one warm-up, as llama-bench
measures them; tokenization and sampling are left out.`)
		fs.PrintDefaults()
	}
	modelPath := fs.String("m", "", "model: a .gguf file or a Hugging Face directory (default: the embedded stories260K)")
	backendName := fs.String("backend", "native", backendUsage)
	prompts := fs.String("p", "512", "prompt lengths, comma-separated (0: no pp test)")
	gens := fs.String("n", "128", "generation lengths, comma-separated (0: no tg test)")
	reps := fs.Int("r", 5, "repetitions of each test")
	threads := fs.Int("t", 0, "CPU threads (0: all cores)")
	ctxLen := fs.Int("c", 0, "context length: KV cache positions (0: the longest test)")
	noMmap := fs.Bool("no-mmap", false, "read the weights into memory instead of memory-mapping them")
	format := fs.String("o", "md", "output format: md or json (llama-bench's JSON: one object per test)")
	seed := fs.Uint64("seed", 1, "seed of the random token ids")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed tests to `FILE` (go tool pprof)")
	exactBF16 := fs.Bool("exact-bf16", false, exactBF16Usage)
	kvCache := fs.String("kv-cache", "f32", kvCacheUsage)
	opProfile := fs.Bool("op-profile", false, "time each op of the decoding (tg) steps, warm-ups included, and write a table of µs per token to stderr at the end (native backend)")
	step := fs.Bool("step", false, "before each warm-up and repetition, write 'step TEST REP/REPS' (REP 0: the warm-up) to stderr and wait for a line on stdin (for running two engines in lockstep, as bench/compare.sh does)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("bench takes no arguments, got %q", pos)
	}
	if *modelPath, err = resolveModel(*modelPath); err != nil {
		return err
	}
	o := bench.Options{Path: *modelPath, Reps: *reps, Threads: *threads, Context: *ctxLen, NoMmap: *noMmap, Seed: *seed, ExactBF16: *exactBF16}
	if o.F16Cache, err = parseKVCache(*kvCache); err != nil {
		return err
	}
	if o.Backend, err = openBackend(*backendName); err != nil {
		return err
	}
	if o.Prompts, err = bench.ParseList(*prompts); err != nil {
		return fmt.Errorf("-p: %w", err)
	}
	if o.Gens, err = bench.ParseList(*gens); err != nil {
		return fmt.Errorf("-n: %w", err)
	}
	switch {
	case *reps < 1:
		return fmt.Errorf("-r %d: want at least 1", *reps)
	case *ctxLen < 0:
		return fmt.Errorf("-c %d: must be ≥ 0", *ctxLen)
	case *format != "md" && *format != "json":
		return fmt.Errorf("-o %q: want md or json", *format)
	}
	switch {
	case *step:
		o.Progress = bench.StepGate(ctx, os.Stdin, stderr)
	case !*quiet:
		o.Progress = func(test string, rep, reps int) {
			if rep == 0 {
				fmt.Fprintf(stderr, "bench: %s warm-up\n", test)
				return
			}
			fmt.Fprintf(stderr, "bench: %s %d/%d\n", test, rep, reps)
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *opProfile {
		o.OpProfile = new(model.OpProfile)
	}
	r, err := bench.Run(ctx, o)
	if o.OpProfile != nil {
		o.OpProfile.Report(stderr)
	}
	if r == nil {
		return err
	}
	// Interrupted runs still print the tests that finished.
	write := r.WriteMarkdown
	if *format == "json" {
		write = r.WriteJSON
	}
	if werr := write(stdout); werr != nil && err == nil {
		err = werr
	}
	return err
}
