package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/server"
)

// cmdServe runs the OpenAI-compatible HTTP server until ctx is cancelled
// (Ctrl-C) or SIGTERM, then shuts down gracefully.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer serve [-m MODEL] [--host 127.0.0.1] [--port 8080] [--parallel N] [flags]")
		fs.PrintDefaults()
	}
	modelPath := fs.String("m", "", "model: a .gguf file, a Hugging Face directory or a cached ORG/NAME (default: the embedded stories260K)")
	pull := fs.Bool("pull", false, "download -m ORG/NAME from the Hugging Face Hub first if it is not in the cache")
	host := fs.String("host", "127.0.0.1", "address to listen on (0.0.0.0 exposes the server to the network)")
	port := fs.Int("port", 8080, "TCP port (0: any free port)")
	parallel := fs.Int("parallel", 4, "parallel slots: sequences generated together in one batch")
	queue := fs.Int("queue", server.DefaultQueue, "requests that may wait for a slot; more get 429 (-1: none)")
	ctxLen := fs.Int("c", 0, "context length per slot (0: the model's, at most 4096)")
	threads := fs.Int("t", 0, "CPU threads (0: all cores)")
	backendName := fs.String("backend", "native", backendUsage)
	maxTokens := fs.Int("max-tokens", 0, "largest max_tokens a request may ask for (0: the context)")
	maxBody := fs.Int64("max-body", 4<<20, "largest request body in bytes")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit on one generation request, queueing included (0: none)")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "on shutdown, how long running requests may finish before they are cancelled")
	apiKey := fs.String("api-key", "", "require Authorization: Bearer KEY (default: $GOFORMER_API_KEY; empty: no key)")
	alias := fs.String("alias", "", "model id to report and accept (default: the model file's name)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	kvCache := fs.String("kv-cache", "f32", kvCacheUsage)
	verbose := fs.Bool("v", false, "debug logs (health and metrics requests too)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("serve takes no arguments, got %q", pos)
	}
	switch {
	case *parallel < 1:
		return fmt.Errorf("--parallel %d: need at least 1 slot", *parallel)
	case *port < 0 || *port > 65535:
		return fmt.Errorf("--port %d: not a TCP port", *port)
	case *maxTokens < 0:
		return fmt.Errorf("--max-tokens %d: must be ≥ 0", *maxTokens)
	case *maxBody <= 0:
		return fmt.Errorf("--max-body %d: must be positive", *maxBody)
	}
	if *apiKey == "" {
		*apiKey = os.Getenv("GOFORMER_API_KEY")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		return fmt.Errorf("--log-format %q: want text or json", *logFormat)
	}
	log := slog.New(h)

	spec := *modelPath
	path := ""
	if spec != "" {
		if path, err = ensureModel(ctx, spec, *pull, stderr); err != nil {
			return err
		}
	}
	beOpt, err := backendOption(*backendName)
	if err != nil {
		return err
	}
	opts := []goformer.Option{goformer.WithThreads(*threads), goformer.WithContext(*ctxLen), beOpt}
	if opts, err = withKVCache(opts, *kvCache); err != nil {
		return err
	}
	m, err := goformer.Load(path, opts...)
	if err != nil {
		return err
	}
	defer m.Close()
	name := *alias
	if name == "" {
		name = modelName(spec, m.Info().Source)
	}
	var aliases []string
	if spec != "" && spec != name {
		aliases = append(aliases, spec)
	}
	cfg := server.Config{
		ModelName: name, Aliases: aliases, Slots: *parallel, Queue: *queue, MaxBodyBytes: *maxBody,
		MaxTokens: *maxTokens, RequestTimeout: *timeout, APIKey: *apiKey, Logger: log,
	}
	if m.Embedder() {
		cfg.Embed = m.Embed
	}
	srv, err := server.New(m, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(h, slog.LevelWarn),
	}
	info := m.Info()
	log.Info("serving", "model", name, "arch", info.Arch, "context", info.Context, "slots", *parallel,
		"url", "http://"+ln.Addr().String(), "api_key", *apiKey != "")

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", *grace)
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	// Close the listeners first (no new connections), let the running
	// generations finish within the grace period, then wait for handlers.
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(context.Background()) }()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("cancelled running requests at the end of the grace period", "error", err)
	}
	select {
	case <-httpDone:
	case <-time.After(5 * time.Second):
		hs.Close()
	}
	log.Info("stopped")
	return nil
}

// modelName is the id a served model reports: the -m value's file or
// directory name without .gguf, or the embedded model's name.
func modelName(spec, source string) string {
	n := spec
	if n == "" {
		n, _, _ = strings.Cut(source, " ") // "stories260K.gguf (embedded)"
	}
	n = filepath.Base(strings.TrimRight(n, "/"))
	return strings.TrimSuffix(n, ".gguf")
}
