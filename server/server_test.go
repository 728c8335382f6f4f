package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/model"
)

const storiesDir = "../../shared/models/stories260K"

func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(storiesDir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("golden data %s not present (it lives in ../shared beside the repo): %v", p, err)
	}
	return p
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// golden is a llama2.c run.c generation recorded for stories260K.
type golden struct {
	ID        string `json:"id"`
	Prompt    string `json:"prompt"`
	PromptIDs []int  `json:"prompt_ids"`
	Generated []int  `json:"generated_ids"`
	Text      string `json:"text"`
	Sampler   struct {
		Temperature float64 `json:"temperature"`
		TopP        float64 `json:"topp"`
		Seed        *int64  `json:"seed"`
	} `json:"sampler"`
}

func loadModel(t testing.TB) *goformer.Model {
	t.Helper()
	m, err := goformer.Load("", goformer.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

type testServer struct {
	*Server
	http   *httptest.Server
	client openai.Client
}

// newTestServer serves the embedded stories260K on loopback with cfg and
// returns an official OpenAI client pointed at it.
func newTestServer(t testing.TB, cfg Config, opts ...option.RequestOption) *testServer {
	t.Helper()
	m := loadModel(t)
	if cfg.ModelName == "" {
		cfg.ModelName = "stories260K"
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	s, err := New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startTestServer(t, s, opts...)
}

type (
	modelCache = model.Cache
	modelBatch = model.Batch
	streamT    = ssestream.Stream[openai.Completion]
)

// startTestServer serves s on loopback and returns an official OpenAI
// client pointed at it.
func startTestServer(t testing.TB, s *Server, opts ...option.RequestOption) *testServer {
	t.Helper()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.CloseClientConnections()
		s.Close()
		hs.Close()
	})
	opts = append([]option.RequestOption{option.WithBaseURL(hs.URL + "/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0)}, opts...)
	return &testServer{Server: s, http: hs, client: openai.NewClient(opts...)}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func goldenCompletion(g golden) openai.CompletionNewParams {
	p := openai.CompletionNewParams{
		Model:     "stories260K",
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String(g.Prompt)},
		MaxTokens: openai.Int(int64(len(g.Generated))),
	}
	p.Temperature = openai.Float(g.Sampler.Temperature)
	if g.Sampler.Temperature > 0 {
		p.TopP = openai.Float(g.Sampler.TopP)
		p.Seed = openai.Int(*g.Sampler.Seed)
	}
	return p
}

// run.c never stops at EOS (only at BOS, after its recorded tokens).
var ignoreEOS = option.WithJSONSet("ignore_eos", true)

// TestCompletionsMatchLlama2c sends every run.c golden prompt as a text
// completion, all at once through 4 slots, so that they are batched
// together, and checks each text and usage against run.c.
func TestCompletionsMatchLlama2c(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedFile(t, "generations"), "*.json"))
	if len(files) == 0 {
		t.Fatal("no generation goldens")
	}
	ts := newTestServer(t, Config{Slots: 4})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for _, f := range files {
		var g golden
		readJSON(t, f, &g)
		wg.Go(func() {
			res, err := ts.client.Completions.New(ctx, goldenCompletion(g), ignoreEOS)
			if err != nil {
				t.Errorf("%s: %v", g.ID, err)
				return
			}
			if len(res.Choices) != 1 {
				t.Errorf("%s: %d choices", g.ID, len(res.Choices))
				return
			}
			c := res.Choices[0]
			if c.Text != g.Text {
				t.Errorf("%s: text differs from run.c:\n got %q\nwant %q", g.ID, c.Text, g.Text)
			}
			if c.FinishReason != "length" {
				t.Errorf("%s: finish_reason %q, want length", g.ID, c.FinishReason)
			}
			if res.Usage.PromptTokens != int64(len(g.PromptIDs)) || res.Usage.CompletionTokens != int64(len(g.Generated)) ||
				res.Usage.TotalTokens != int64(len(g.PromptIDs)+len(g.Generated)) {
				t.Errorf("%s: usage %+v, want %d prompt and %d completion tokens", g.ID, res.Usage, len(g.PromptIDs), len(g.Generated))
			}
			if res.Object != "text_completion" || res.Model != "stories260K" || !strings.HasPrefix(res.ID, "cmpl-") {
				t.Errorf("%s: object %q model %q id %q", g.ID, res.Object, res.Model, res.ID)
			}
		})
	}
	wg.Wait()
}

// TestCompletionStreaming streams a golden and checks the concatenated
// chunks, the finish reason and the usage chunk.
func TestCompletionStreaming(t *testing.T) {
	var g golden
	readJSON(t, sharedFile(t, "generations/sampled_t1.0_p0.9_s42_once_upon_a_time.json"), &g)
	ts := newTestServer(t, Config{Slots: 2})
	p := goldenCompletion(g)
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := ts.client.Completions.NewStreaming(ctxT(t), p, ignoreEOS)
	var text strings.Builder
	var finish string
	var u openai.CompletionUsage
	chunks := 0
	for stream.Next() {
		c := stream.Current()
		chunks++
		if c.Object != "text_completion" {
			t.Errorf("chunk object %q", c.Object)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Text)
			if ch.FinishReason != "" {
				finish = string(ch.FinishReason)
			}
		}
		if c.Usage.TotalTokens > 0 {
			u = c.Usage
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != g.Text {
		t.Errorf("streamed text differs from run.c:\n got %q\nwant %q", text.String(), g.Text)
	}
	if finish != "length" || u.CompletionTokens != int64(len(g.Generated)) || u.PromptTokens != int64(len(g.PromptIDs)) {
		t.Errorf("finish %q usage %+v", finish, u)
	}
	if chunks < len(g.Generated)/2 {
		t.Errorf("%d chunks for %d tokens: not streamed token by token", chunks, len(g.Generated))
	}
}

// TestChat sends a conversation, streaming and not: stories260K has no chat
// template, so the prompt is the contents joined by newlines.
func TestChat(t *testing.T) {
	ts := newTestServer(t, Config{Slots: 2})
	ctx := ctxT(t)
	msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Once upon a time"), openai.UserMessage("there was a cat.")}
	params := openai.ChatCompletionNewParams{Model: "default", Messages: msgs, MaxTokens: openai.Int(40), Temperature: openai.Float(0)}

	// the reference: the library's own generation (checked against run.c in
	// the root package) on the same prompt
	m := ts.m
	prompt, err := m.ChatPrompt([]goformer.Message{{Role: "system", Content: "Once upon a time"}, {Role: "user", Content: "there was a cat."}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	var wantN int
	for tok, err := range m.GenerateIDs(ctx, prompt, goformer.GenerateOptions{MaxTokens: 40}) {
		if err != nil {
			t.Fatal(err)
		}
		if tok.ID >= 0 {
			wantN++
		}
		want.WriteString(tok.Text)
	}

	res, err := ts.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 || res.Choices[0].Message.Content != want.String() || res.Choices[0].Message.Role != "assistant" {
		t.Fatalf("chat answer %+v, want %q", res.Choices, want.String())
	}
	if res.Object != "chat.completion" || !strings.HasPrefix(res.ID, "chatcmpl-") {
		t.Errorf("object %q id %q", res.Object, res.ID)
	}
	if res.Usage.PromptTokens != int64(len(prompt)) || res.Usage.CompletionTokens != int64(wantN) {
		t.Errorf("usage %+v, want %d prompt and %d completion tokens", res.Usage, len(prompt), wantN)
	}
	if wantN == 40 && res.Choices[0].FinishReason != "length" || wantN < 40 && res.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason %q after %d tokens", res.Choices[0].FinishReason, wantN)
	}

	// streaming, with the usage chunk; the same prompt again reuses the slot's cache
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := ts.client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	first := true
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if first && (len(c.Choices) != 1 || c.Choices[0].Delta.Role != "assistant") {
			t.Errorf("first chunk %+v has no assistant role", c)
		}
		first = false
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != want.String() {
		t.Fatalf("streamed answer %+v, want %q", acc.Choices, want.String())
	}
	if acc.Usage.CompletionTokens != int64(wantN) || acc.Usage.PromptTokensDetails.CachedTokens != int64(len(prompt)-1) {
		t.Errorf("streamed usage %+v: want %d completion tokens and %d cached prompt tokens", acc.Usage, wantN, len(prompt)-1)
	}
}

// TestStopAndSeed: a stop string ends the text before it (finish_reason
// stop), and a seed makes sampled text repeatable.
func TestStopAndSeed(t *testing.T) {
	var g golden
	readJSON(t, sharedFile(t, "generations/greedy_once_upon_a_time.json"), &g)
	ts := newTestServer(t, Config{Slots: 2})
	ctx := ctxT(t)
	p := goldenCompletion(g)
	p.Stop = openai.CompletionNewParamsStopUnion{OfStringArray: []string{"red ball", "zzz"}}
	res, err := ts.client.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	want := g.Text[:strings.Index(g.Text, "red ball")]
	if res.Choices[0].Text != want || res.Choices[0].FinishReason != "stop" {
		t.Errorf("stopped text %q (%s), want %q (stop)", res.Choices[0].Text, res.Choices[0].FinishReason, want)
	}
	// streamed, the stop string is never sent, not even in part
	stream := ts.client.Completions.NewStreaming(ctx, p)
	var text strings.Builder
	for stream.Next() {
		for _, c := range stream.Current().Choices {
			text.WriteString(c.Text)
		}
	}
	if err := stream.Err(); err != nil || text.String() != want {
		t.Errorf("streamed stopped text %q (%v), want %q", text.String(), err, want)
	}

	sampled := openai.CompletionNewParams{Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Tom")},
		MaxTokens: openai.Int(30), Temperature: openai.Float(1.2), Seed: openai.Int(7)}
	a, err := ts.client.Completions.New(ctx, sampled, ignoreEOS)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts.client.Completions.New(ctx, sampled, ignoreEOS)
	if err != nil {
		t.Fatal(err)
	}
	sampled.Seed = openai.Int(8)
	c, err := ts.client.Completions.New(ctx, sampled, ignoreEOS)
	if err != nil {
		t.Fatal(err)
	}
	if a.Choices[0].Text != b.Choices[0].Text {
		t.Errorf("same seed, different texts:\n%q\n%q", a.Choices[0].Text, b.Choices[0].Text)
	}
	if a.Choices[0].Text == c.Choices[0].Text {
		t.Errorf("seeds 7 and 8 gave the same text %q", a.Choices[0].Text)
	}
}

// TestLogprobs checks echoed prompt logprobs and generated-token logprobs
// against the log-softmax of run.c's logits.
func TestLogprobs(t *testing.T) {
	var lg struct {
		Positions []struct {
			InputID int       `json:"input_id"`
			Argmax  int       `json:"argmax"`
			Logits  []float64 `json:"logits"`
		} `json:"positions"`
	}
	readJSON(t, sharedFile(t, "logits/greedy_once_upon_a_time.logits.json"), &lg)
	logSoftmax := func(l []float64) []float64 {
		mx := l[0]
		for _, v := range l {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range l {
			s += math.Exp(v - mx)
		}
		out := make([]float64, len(l))
		for i, v := range l {
			out[i] = v - mx - math.Log(s)
		}
		return out
	}
	var ids []int64
	for _, p := range lg.Positions {
		ids = append(ids, int64(p.InputID))
	}
	n := len(ids)
	ts := newTestServer(t, Config{Slots: 1, MaxBatch: 7}) // prompt in chunks of 7
	res, err := ts.client.Completions.New(ctxT(t), openai.CompletionNewParams{
		Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfArrayOfTokens: ids},
		MaxTokens: openai.Int(1), Temperature: openai.Float(0), Echo: openai.Bool(true), Logprobs: openai.Int(3),
	}, ignoreEOS)
	if err != nil {
		t.Fatal(err)
	}
	lp := res.Choices[0].Logprobs
	if len(lp.TokenLogprobs) != n+1 || len(lp.Tokens) != n+1 || len(lp.TopLogprobs) != n+1 || len(lp.TextOffset) != n+1 {
		t.Fatalf("%d/%d/%d/%d logprob entries, want %d", len(lp.Tokens), len(lp.TokenLogprobs), len(lp.TopLogprobs), len(lp.TextOffset), n+1)
	}
	var raw struct {
		Choices []struct {
			Logprobs struct {
				TokenLogprobs []*float64 `json:"token_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(res.RawJSON()), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Choices[0].Logprobs.TokenLogprobs[0] != nil {
		t.Errorf("the first prompt token has logprob %v, want null", *raw.Choices[0].Logprobs.TokenLogprobs[0])
	}
	for k := 1; k <= n; k++ {
		ref := logSoftmax(lg.Positions[k-1].Logits)
		want := lg.Positions[k-1].Argmax // the generated token after the prompt
		if k < n {
			want = lg.Positions[k].InputID
		}
		if got := lp.TokenLogprobs[k]; math.Abs(got-ref[want]) > 1e-3 {
			t.Errorf("token %d (id %d): logprob %g, run.c %g", k, want, got, ref[want])
		}
		if len(lp.TopLogprobs[k]) != 3 {
			t.Errorf("token %d: %d top logprobs, want 3", k, len(lp.TopLogprobs[k]))
		}
	}
	// echo text: the prompt (after BOS) then the generated token
	tok := ts.m.Tokenizer()
	prompt := make([]int, n)
	for i, id := range ids {
		prompt[i] = int(id)
	}
	if want := tok.Decode(prompt[1:]); !strings.HasPrefix(res.Choices[0].Text, want) {
		t.Errorf("echoed text %q does not start with the prompt %q", res.Choices[0].Text, want)
	}

	// chat logprobs of a greedy answer: the top alternative is the token itself
	chat, err := ts.client.Chat.Completions.New(ctxT(t), openai.ChatCompletionNewParams{
		Model: "stories260K", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		MaxTokens: openai.Int(8), Temperature: openai.Float(0), Logprobs: openai.Bool(true), TopLogprobs: openai.Int(2),
	}, ignoreEOS)
	if err != nil {
		t.Fatal(err)
	}
	content := chat.Choices[0].Logprobs.Content
	if len(content) != 8 {
		t.Fatalf("%d chat logprob entries, want 8", len(content))
	}
	var joined string
	for i, c := range content {
		joined += c.Token
		if len(c.TopLogprobs) != 2 || c.TopLogprobs[0].Logprob != c.Logprob || c.Logprob > 0 || c.TopLogprobs[1].Logprob > c.Logprob {
			t.Errorf("entry %d: %+v", i, c)
		}
	}
	if joined != chat.Choices[0].Message.Content {
		t.Errorf("logprob tokens join to %q, content %q", joined, chat.Choices[0].Message.Content)
	}
}

// TestModelsTokenizeHealth covers the small endpoints.
func TestModelsTokenizeHealth(t *testing.T) {
	ts := newTestServer(t, Config{Slots: 1})
	ctx := ctxT(t)
	page, err := ts.client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "stories260K" || page.Data[0].Object != "model" {
		t.Errorf("models %+v", page.Data)
	}
	for _, id := range []string{"stories260K", "default"} {
		if m, err := ts.client.Models.Get(ctx, id); err != nil || m.ID != "stories260K" {
			t.Errorf("model %s: %+v %v", id, m, err)
		}
	}
	_, err = ts.client.Models.Get(ctx, "gpt-4")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}

	// embeddings: a decoder-only model has none
	_, err = ts.client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "stories260K", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "does not support embeddings") {
		t.Errorf("embeddings on a decoder-only model: %v", err)
	}

	post := func(path, body string, v any) int {
		t.Helper()
		resp, err := http.Post(ts.http.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	tok := ts.m.Tokenizer()
	var tr struct{ Tokens []int }
	if code := post("/tokenize", `{"content":"Once upon a time","add_special":true}`, &tr); code != 200 || !equalInts(tr.Tokens, tok.Encode("Once upon a time", true)) {
		t.Errorf("tokenize: %d %v", code, tr.Tokens)
	}
	var dr struct{ Content string }
	if code := post("/detokenize", `{"tokens":[403,407,261,378]}`, &dr); code != 200 || dr.Content != tok.Decode([]int{403, 407, 261, 378}) {
		t.Errorf("detokenize: %d %q", code, dr.Content)
	}
	resp, err := http.Get(ts.http.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("health: %d", resp.StatusCode)
	}
	resp, err = http.Get(ts.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"goformer_requests_total{endpoint=\"models\",code=\"200\"} 3", "# TYPE goformer_queue_depth gauge", "goformer_slots 1"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
