// Package server is goformer's OpenAI-compatible HTTP server: chat and text
// completions (streamed as server-sent events or not), embeddings, models,
// tokenize/detokenize, health and Prometheus metrics, in front of one loaded
// model.
//
// Requests share forward passes: the model's KV cache holds Config.Slots
// independent sequences and one scheduler goroutine, at every step, batches
// the next token of every generating slot with chunks of prompts still being
// evaluated (continuous batching). Requests beyond the slots wait in a
// bounded queue (or get 429 when it is full); a client that disconnects has
// its generation cancelled and its slot freed at the next step; a new
// request goes to the free slot whose cached tokens share the longest prefix
// with its prompt, and only the rest of the prompt is evaluated.
//
//	srv, err := server.New(m, server.Config{Slots: 4})
//	if err != nil { ... }
//	defer srv.Close()
//	http.ListenAndServe("127.0.0.1:8080", srv.Handler())
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goformer/goformer"
)

// Config configures a Server. The zero value serves with 1 slot and the
// defaults below.
type Config struct {
	// ModelName is the id /v1/models reports and requests may name (besides
	// "default" and Aliases). Default: "default".
	ModelName string
	Aliases   []string
	// Slots is the number of sequences generated in parallel (default 1).
	Slots int
	// Queue is the number of requests that may wait for a slot; more get
	// 429. 0 means DefaultQueue; -1 means no queue (429 as soon as every
	// slot is busy).
	Queue int
	// MaxBodyBytes bounds request bodies (default 4 MiB); larger get 413.
	MaxBodyBytes int64
	// MaxTokens bounds max_tokens (0: the context); a request asking for
	// more gets 400, one asking for nothing gets this many at most.
	MaxTokens int
	// RequestTimeout bounds a generation request, queueing included (0: none).
	// A request over it gets 504, or an error event if it is streaming.
	RequestTimeout time.Duration
	// APIKey, when set, must be sent as "Authorization: Bearer KEY" to
	// every endpoint but /health and /metrics.
	APIKey string
	// MaxBatch bounds the tokens of one forward pass (default 512): prompt
	// chunks share what the generating slots leave.
	MaxBatch int
	// Embed, when set, computes embeddings for /v1/embeddings (one vector per
	// input and the tokens used). Without it, /v1/embeddings answers 400.
	Embed func(ctx context.Context, inputs []string) (vectors [][]float32, tokens int, err error)
	// Logger receives structured request logs (default: slog.Default()).
	Logger *slog.Logger
}

// DefaultQueue is the queue length when Config.Queue is 0.
const DefaultQueue = 64

// Server serves one model. Create it with New and release it with Close.
type Server struct {
	m       *goformer.Model
	cfg     Config
	names   map[string]bool
	created int64
	context int
	vocab   int
	sched   *scheduler
	metrics *metrics
	log     *slog.Logger

	draining atomic.Bool
	inflight sync.WaitGroup // generation requests
	ids      atomic.Int64
	base     context.Context // cancelled by a forced shutdown
	cancel   context.CancelCauseFunc
}

// New starts a server's scheduler for m. Closing the server does not close m.
func New(m *goformer.Model, cfg Config) (*Server, error) {
	return newServer(m, m, cfg)
}

// newServer runs the forward passes on eng (tests slow it down).
func newServer(m *goformer.Model, eng engine, cfg Config) (*Server, error) {
	if cfg.Slots <= 0 {
		cfg.Slots = 1
	}
	switch {
	case cfg.Queue == 0:
		cfg.Queue = DefaultQueue
	case cfg.Queue < 0:
		cfg.Queue = 0
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.ModelName == "" {
		cfg.ModelName = "default"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	info := m.Info()
	if cfg.MaxBatch < cfg.Slots {
		return nil, fmt.Errorf("server: MaxBatch %d is smaller than Slots %d", cfg.MaxBatch, cfg.Slots)
	}
	if cfg.MaxTokens < 0 {
		return nil, fmt.Errorf("server: MaxTokens %d is negative", cfg.MaxTokens)
	}
	s := &Server{
		m: m, cfg: cfg, created: time.Now().Unix(), context: info.Context, vocab: info.Config.Vocab,
		metrics: newMetrics(cfg.Slots), log: cfg.Logger,
		names: map[string]bool{"default": true, cfg.ModelName: true},
	}
	for _, a := range cfg.Aliases {
		s.names[a] = true
	}
	s.base, s.cancel = context.WithCancelCause(context.Background())
	var err error
	s.sched, err = newScheduler(eng, m.Tokenizer(), cfg.Slots, info.Context, info.Config.Vocab, cfg.Queue, cfg.MaxBatch, s.metrics)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return s, nil
}

// Shutdown stops taking generation requests (they get 503), waits for the
// running ones to finish until ctx is done, then cancels what is left (a
// stream ends with an error event) and stops the scheduler. Use it together
// with http.Server.Shutdown, which closes the listeners and waits for the
// handlers to return.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	idle := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(idle)
	}()
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel(errShutdown)
		<-idle
	}
	s.sched.close()
	return err
}

// Close cancels every request and stops the scheduler at once.
func (s *Server) Close() error {
	s.draining.Store(true)
	s.cancel(errShutdown)
	s.sched.close()
	s.inflight.Wait()
	return nil
}

// SlotsBusy is the number of slots running a generation now.
func (s *Server) SlotsBusy() int {
	_, busy := s.sched.load()
	return busy
}

// GeneratedTokens is the number of tokens generated since New.
func (s *Server) GeneratedTokens() int64 { return s.metrics.genTokens.Load() }

// Handler returns the HTTP handler with every endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/chat/completions", s.endpoint("chat", http.MethodPost, true, s.handleChat))
	mux.Handle("/v1/completions", s.endpoint("completions", http.MethodPost, true, s.handleCompletion))
	mux.Handle("/v1/embeddings", s.endpoint("embeddings", http.MethodPost, true, s.handleEmbeddings))
	mux.Handle("/v1/models", s.endpoint("models", http.MethodGet, true, s.handleModels))
	mux.Handle("/v1/models/{id...}", s.endpoint("models", http.MethodGet, true, s.handleModel))
	mux.Handle("/tokenize", s.endpoint("tokenize", http.MethodPost, true, s.handleTokenize))
	mux.Handle("/detokenize", s.endpoint("detokenize", http.MethodPost, true, s.handleDetokenize))
	mux.Handle("/health", s.endpoint("health", http.MethodGet, false, s.handleHealth))
	mux.Handle("/metrics", s.endpoint("metrics", http.MethodGet, false, s.handleMetrics))
	mux.Handle("/", s.endpoint("other", "", false, func(w http.ResponseWriter, r *http.Request, l *reqLog) error {
		return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: strp("not_found"),
			Message: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)}
	}))
	return mux
}

// reqLog collects what a request's log line reports.
type reqLog struct {
	id                      string
	prompt, cached, gen     int
	finish                  string
	stream                  bool
	status                  int
	wroteHeader, notLogging bool
}

type statusWriter struct {
	http.ResponseWriter
	l *reqLog
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.l.wroteHeader {
		w.l.status, w.l.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.l.wroteHeader {
		w.l.status, w.l.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) endpoint(name, method string, auth bool, h func(http.ResponseWriter, *http.Request, *reqLog) error) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		l := &reqLog{id: fmt.Sprintf("%x", s.ids.Add(1)), status: http.StatusOK}
		w := &statusWriter{ResponseWriter: rw, l: l}
		err := func() error {
			if method != "" && r.Method != method {
				w.Header().Set("Allow", method)
				return &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: strp("method_not_allowed"),
					Message: fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, method)}
			}
			if auth && s.cfg.APIKey != "" && !s.authorized(r) {
				return &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: strp("invalid_api_key"),
					Message: "missing or invalid API key: send Authorization: Bearer KEY"}
			}
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
			return h(w, r, l)
		}()
		if err != nil && !l.wroteHeader {
			writeError(w, err)
		}
		if l.notLogging {
			return
		}
		s.metrics.request(name, l.status)
		attrs := []any{"id", l.id, "method", r.Method, "path", r.URL.Path, "status", l.status, "duration", time.Since(t0)}
		if l.prompt > 0 {
			attrs = append(attrs, "prompt_tokens", l.prompt, "cached_tokens", l.cached, "completion_tokens", l.gen, "finish", l.finish, "stream", l.stream)
		}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		level := slog.LevelInfo
		if l.status >= 500 {
			level = slog.LevelError
		} else if name == "health" || name == "metrics" {
			level = slog.LevelDebug
		}
		s.log.Log(r.Context(), level, "request", attrs...)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(s.cfg.APIKey)) == 1
}

// checkModel accepts the loaded model's names, "default" and "".
func (s *Server) checkModel(name string) error {
	if name == "" || s.names[name] {
		return nil
	}
	return withCode(&apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: strp("model"),
		Message: fmt.Sprintf("the model %q does not exist: this server serves %q (or \"default\")", name, s.cfg.ModelName)}, "model_not_found")
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled)
}
