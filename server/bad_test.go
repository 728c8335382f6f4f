package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// errorShape is OpenAI's error body.
type errorShape struct {
	Error *struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// TestBadRequests: malformed or invalid requests get a 4xx with an
// OpenAI-shaped error naming the problem, and nothing is generated.
func TestBadRequests(t *testing.T) {
	ts := newTestServer(t, Config{Slots: 1, MaxBodyBytes: 8 << 10, MaxTokens: 300})
	longPrompt := "[" + strings.Repeat("5,", 600) + "5]"
	chat := func(extra string) string {
		return `{"model":"stories260K","messages":[{"role":"user","content":"hi"}]` + extra + `}`
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string // in the message
	}{
		{"malformed JSON", "POST", "/v1/chat/completions", `{"model": "stories260K", "messages": [`, 400, "malformed JSON"},
		{"syntax error", "POST", "/v1/completions", `{"prompt": "a",, }`, 400, "offset"},
		{"empty body", "POST", "/v1/completions", ``, 400, "empty request body"},
		{"not an object", "POST", "/v1/completions", `[1,2,3]`, 400, "JSON object"},
		{"trailing data", "POST", "/v1/completions", `{"prompt":"a"} {}`, 400, "after the request object"},
		{"wrong type", "POST", "/v1/chat/completions", `{"messages": "hi"}`, 400, `"messages"`},
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, 404, "does not exist"},
		{"negative max_tokens", "POST", "/v1/chat/completions", chat(`,"max_tokens":-1`), 400, "max_tokens"},
		{"zero max_tokens", "POST", "/v1/completions", `{"prompt":"a","max_tokens":0}`, 400, "max_tokens"},
		{"max_tokens over the limit", "POST", "/v1/completions", `{"prompt":"a","max_tokens":301}`, 400, "limit of 300"},
		{"negative max_completion_tokens", "POST", "/v1/chat/completions", chat(`,"max_completion_tokens":-5`), 400, "max_tokens"},
		{"prompt over the context", "POST", "/v1/completions", `{"prompt":` + longPrompt + `}`, 400, "maximum context length is 512"},
		{"token id out of range", "POST", "/v1/completions", `{"prompt":[1, 512]}`, 400, "outside the vocabulary"},
		{"oversized body", "POST", "/v1/completions", `{"prompt":"` + strings.Repeat("a", 9<<10) + `"}`, 413, "over the limit"},
		{"no messages", "POST", "/v1/chat/completions", `{"messages":[]}`, 400, "at least one message"},
		{"bad role", "POST", "/v1/chat/completions", `{"messages":[{"role":"wizard","content":"hi"}]}`, 400, "role"},
		{"image part", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "not supported"},
		{"n > 1", "POST", "/v1/chat/completions", chat(`,"n":2`), 400, "n must be 1"},
		{"temperature", "POST", "/v1/chat/completions", chat(`,"temperature":2.5`), 400, "temperature"},
		{"top_p", "POST", "/v1/chat/completions", chat(`,"top_p":-0.1`), 400, "top_p"},
		{"top_logprobs range", "POST", "/v1/chat/completions", chat(`,"logprobs":true,"top_logprobs":21`), 400, "top_logprobs"},
		{"top_logprobs without logprobs", "POST", "/v1/chat/completions", chat(`,"top_logprobs":2`), 400, "needs logprobs"},
		{"completion logprobs range", "POST", "/v1/completions", `{"prompt":"a","logprobs":-1}`, 400, "logprobs"},
		{"stop too many", "POST", "/v1/completions", `{"prompt":"a","stop":["a","b","c","d","e"]}`, 400, "at most 4"},
		{"stop type", "POST", "/v1/completions", `{"prompt":"a","stop":5}`, 400, "stop"},
		{"logit_bias key", "POST", "/v1/completions", `{"prompt":"a","logit_bias":{"x":1}}`, 400, "logit_bias"},
		{"response_format type", "POST", "/v1/chat/completions", chat(`,"response_format":{"type":"xml"}`), 400, "response_format"},
		{"response_format schema", "POST", "/v1/chat/completions", chat(`,"response_format":{"type":"json_schema","json_schema":{"schema":{}}}`), 400, "name"},
		{"response_format json", "POST", "/v1/chat/completions", chat(`,"response_format":{"type":"json_object"}`), 400, "not supported"},
		{"tools", "POST", "/v1/chat/completions", chat(`,"tools":[{"type":"function","function":{"name":"f"}}]`), 400, "tools"},
		{"several prompts", "POST", "/v1/completions", `{"prompt":["a","b"]}`, 400, "2 prompts"},
		{"no prompt", "POST", "/v1/completions", `{"model":"stories260K"}`, 400, "prompt is required"},
		{"suffix", "POST", "/v1/completions", `{"prompt":"a","suffix":"b"}`, 400, "suffix"},
		{"detokenize range", "POST", "/detokenize", `{"tokens":[-1]}`, 400, "vocabulary"},
		{"tokenize type", "POST", "/tokenize", `{"content":5}`, 400, `"content"`},
		{"embeddings input", "POST", "/v1/embeddings", `{"model":"stories260K","input":5}`, 400, "embeddings"},
		{"unknown endpoint", "POST", "/v1/assistants", `{}`, 404, "no endpoint"},
		{"wrong method", "GET", "/v1/chat/completions", ``, 405, "use POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, ts.http.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e errorShape
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("status %d, body is not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != c.status || e.Error == nil || e.Error.Type == "" || !strings.Contains(e.Error.Message, c.want) {
				t.Errorf("status %d, error %+v; want %d with %q", resp.StatusCode, e.Error, c.status, c.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if n := ts.GeneratedTokens(); n != 0 {
		t.Errorf("%d tokens generated for bad requests", n)
	}
}

// TestAPIKey: with a key, requests without it get 401; with it, they pass.
func TestAPIKey(t *testing.T) {
	ts := newTestServer(t, Config{Slots: 1, APIKey: "sekret"})
	_, err := ts.client.Models.List(ctxT(t))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("wrong key: %v", err)
	}
	ok := openai.NewClient(option.WithBaseURL(ts.http.URL+"/v1/"), option.WithAPIKey("sekret"), option.WithMaxRetries(0))
	if _, err := ok.Models.List(ctxT(t)); err != nil {
		t.Fatalf("right key: %v", err)
	}
	resp, err := http.Get(ts.http.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/health needs no key, got %d", resp.StatusCode)
	}
}

// slowEngine adds a delay to every forward pass, so tests can act while a
// generation is under way.
type slowEngine struct {
	engine
	delay time.Duration
}

func (e slowEngine) Forward(c modelCache, b *modelBatch, dst []float32) ([]float32, error) {
	time.Sleep(e.delay)
	return e.engine.Forward(c, b, dst)
}

func newSlowServer(t testing.TB, cfg Config, delay time.Duration) *testServer {
	t.Helper()
	m := loadModel(t)
	cfg.ModelName = "stories260K"
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	s, err := newServer(m, slowEngine{m, delay}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startTestServer(t, s)
}

func longStream(ts *testServer, ctx context.Context, maxTokens int) *streamT {
	return ts.client.Completions.NewStreaming(ctx, openai.CompletionNewParams{
		Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens: openai.Int(int64(maxTokens)), Temperature: openai.Float(0),
	}, ignoreEOS)
}

// TestBusyAndTimeout: with no queue, a request beyond the slots gets 429;
// a request over its time limit gets 504 (or an error event if streaming).
func TestBusyAndTimeout(t *testing.T) {
	ts := newSlowServer(t, Config{Slots: 1, Queue: -1, RequestTimeout: 300 * time.Millisecond}, 5*time.Millisecond)
	ctx := ctxT(t)
	stream := longStream(ts, ctx, 400)
	if !stream.Next() { // the slot is taken once the first chunk arrives
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	_, err := ts.client.Completions.New(ctx, openai.CompletionNewParams{Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("a")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Errorf("second request with one slot and no queue: %v, want 429", err)
	}
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("stream over the time limit ended with %v, want a timeout error event", err)
	}
	_, err = ts.client.Completions.New(ctx, openai.CompletionNewParams{Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("a")},
		MaxTokens: openai.Int(400)}, ignoreEOS)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 504 {
		t.Errorf("request over the time limit: %v, want 504", err)
	}
}

// TestShutdown: Shutdown lets a running stream finish, refuses new
// requests with 503, and cancels what is still running when its context
// ends.
func TestShutdown(t *testing.T) {
	ts := newSlowServer(t, Config{Slots: 2}, 2*time.Millisecond)
	ctx := ctxT(t)
	short := longStream(ts, ctx, 20) // finishes within the grace period
	long := longStream(ts, ctx, 500) // does not: cancelled
	if !short.Next() || !long.Next() {
		t.Fatalf("streams did not start: %v / %v", short.Err(), long.Err())
	}
	grace, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(grace) }()
	time.Sleep(20 * time.Millisecond)
	_, err := ts.client.Completions.New(ctx, openai.CompletionNewParams{Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("a")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Errorf("request during shutdown: %v, want 503", err)
	}
	n := 1
	for short.Next() {
		n++
	}
	if err := short.Err(); err != nil || n < 2 {
		t.Errorf("short stream: %d chunks, %v", n, err)
	}
	for long.Next() {
	}
	if err := long.Err(); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("long stream ended with %v, want a shutting-down error event", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

// FuzzRequestDecoding: no request body makes the decoders panic, and every
// rejection is a 4xx OpenAI error.
func FuzzRequestDecoding(f *testing.F) {
	for _, s := range []string{
		`{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stop":["a"],"logprobs":true,"top_logprobs":2}`,
		`{"messages":[{"role":"system","content":[{"type":"text","text":"x"}]}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{}}}}`,
		`{"prompt":[1,2,3],"echo":true,"logprobs":3,"max_tokens":0,"logit_bias":{"5":-100},"seed":-1}`,
		`{"prompt":["x"],"stream":true,"stream_options":{"include_usage":true},"temperature":0.5,"top_p":0.9,"top_k":4}`,
		`{"prompt":[[1,2]]}`, `{"prompt":null}`, `[]`, `{`, `""`, `{"max_tokens":1e99}`,
	} {
		f.Add([]byte(s))
	}
	m := loadModel(f)
	s, err := New(m, Config{Slots: 1, ModelName: "stories260K", Logger: discardLogger(), MaxTokens: 100})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, parse := range []func(r *bytes.Reader) (parsed, error){
			func(r *bytes.Reader) (parsed, error) { return s.parseChat(r) },
			func(r *bytes.Reader) (parsed, error) { return s.parseCompletion(r) },
		} {
			p, err := parse(bytes.NewReader(body))
			if err != nil {
				if ae := toAPIError(err); ae.Status < 400 || ae.Status >= 500 || ae.Message == "" {
					t.Fatalf("rejection %d %q", ae.Status, ae.Message)
				}
				continue
			}
			g := p.gen
			if len(g.prompt) == 0 || len(g.prompt) > s.context || g.maxTokens < 0 || g.maxTokens > 100 || (g.maxTokens == 0 && !g.echo) {
				t.Fatalf("accepted an invalid request: %d prompt tokens, max_tokens %d", len(g.prompt), g.maxTokens)
			}
			for _, id := range g.prompt {
				if id < 0 || id >= s.vocab {
					t.Fatalf("accepted token id %d", id)
				}
			}
		}
	})
}

// TestQueuedTimeout: a request that times out while queued behind a busy
// slot gets its 504 at its deadline, not when the slot frees.
func TestQueuedTimeout(t *testing.T) {
	ts := newSlowServer(t, Config{Slots: 1, RequestTimeout: 400 * time.Millisecond}, 5*time.Millisecond)
	ctx := ctxT(t)
	stream := longStream(ts, ctx, 70) // ~350 ms of the slot
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := ts.client.Completions.New(short, openai.CompletionNewParams{Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("a")}})
	if err == nil || time.Since(t0) > 250*time.Millisecond {
		t.Errorf("queued request with a 100ms client deadline: %v after %v", err, time.Since(t0))
	}
	deadline := time.Now().Add(50 * time.Millisecond) // the slot stays busy ~200 ms more
	for time.Now().Before(deadline) {
		if q, _ := ts.sched.load(); q == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if q, _ := ts.sched.load(); q != 0 {
		t.Errorf("%d requests still queued after their client went away", q)
	}
	for stream.Next() {
	}
	stream.Close()
}
