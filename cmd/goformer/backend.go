package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/backend/gomlx"
	"github.com/goformer/goformer/backend/xla"
	"github.com/goformer/goformer/model"
)

// backendUsage documents --backend.
const backendUsage = "compute backend: native (goformer's CPU kernels), " +
	"gomlx-go (GoMLX graphs in pure Go: slow, for checking), " +
	"xla[:PLUGIN] (XLA through a PJRT plugin: a name such as cpu or cuda found in PJRT_PLUGIN_LIBRARY_PATH, " +
	"or the plugin's absolute path; 'goformer xla install' fetches one), " +
	"xla-bf16[:PLUGIN] (xla with bfloat16 matrix products for bf16 weights: faster on GPUs, less exact)"

// openBackend returns the backend --backend names; nil for native, which
// goformer.Load makes itself (with the -t threads).
func openBackend(spec string) (model.Backend, error) {
	name, arg, _ := strings.Cut(spec, ":")
	switch name {
	case "", "native":
		if arg != "" {
			return nil, fmt.Errorf("--backend %q: native takes no argument", spec)
		}
		return nil, nil
	case "gomlx-go":
		if arg != "" {
			return nil, fmt.Errorf("--backend %q: gomlx-go takes no argument", spec)
		}
		return gomlx.NewGo()
	case "xla", "xla-bf16":
		be, err := xla.New(arg, gomlx.Options{BF16Matmul: name == "xla-bf16"})
		if err != nil {
			return nil, fmt.Errorf("--backend %s: %w", spec, err)
		}
		return be, nil
	}
	return nil, fmt.Errorf("--backend %q: want native, gomlx-go, xla[:PLUGIN] or xla-bf16[:PLUGIN]", spec)
}

// backendOption is openBackend as a Load option.
func backendOption(spec string) (goformer.Option, error) {
	be, err := openBackend(spec)
	if err != nil {
		return nil, err
	}
	return goformer.WithBackend(be), nil
}

// cmdXLA is 'goformer xla install': the one way goformer downloads PJRT
// plugins.
func cmdXLA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "install" {
		fmt.Fprintln(stderr, "Usage: goformer xla install [--cuda] [--dir DIR]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	fs := flag.NewFlagSet("xla install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cuda := fs.Bool("cuda", false, "also install the CUDA plugin and NVIDIA libraries (from jax's jax-cuda13-pjrt wheels)")
	dir := fs.String("dir", "", "install directory (default ~/.local/lib/go-xla, searched when PJRT_PLUGIN_LIBRARY_PATH is unset)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("xla install: unexpected arguments %q", fs.Args())
	}
	if err := xla.Install(*dir, *cuda); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "installed; run with --backend xla (or xla:cpu, xla:cuda)")
	return nil
}

// exactBF16Usage documents --exact-bf16 (bench, generate).
const exactBF16Usage = "BF16 weights: multiply against the float32 activations exactly instead of rounding them to bfloat16 " +
	"for the CPU's bfloat16 dot products (AVX512_BF16; the default, as llama.cpp computes: faster, each product off by up to 2^-8 relatively) (native backend)"

// kvCacheUsage documents --kv-cache (bench, chat, generate, serve).
const kvCacheUsage = "KV cache element type: f32 (exact) or f16 (half the memory and of the bytes attention reads, " +
	"each key and value rounded once, as llama.cpp's default cache; native backend)"

// parseKVCache reads --kv-cache: whether the cache is float16.
func parseKVCache(s string) (f16 bool, err error) {
	switch s {
	case "f32":
		return false, nil
	case "f16":
		return true, nil
	}
	return false, fmt.Errorf("--kv-cache %q: want f32 or f16", s)
}

// withKVCache adds to opts the load option --kv-cache asks for (none for
// f32).
func withKVCache(opts []goformer.Option, kvCache string) ([]goformer.Option, error) {
	f16, err := parseKVCache(kvCache)
	if err != nil {
		return nil, err
	}
	if f16 {
		opts = append(opts, goformer.WithF16Cache())
	}
	return opts, nil
}
