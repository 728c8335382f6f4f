package server

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/goformer/goformer"
)

var loadDuration = flag.Duration("load", 1500*time.Millisecond, "duration of each TestLoad run (the issue's figure: 30s)")

// TestDisconnect: cancelling a stream mid-way frees its slot within 100 ms
// and no further token is computed for it.
func TestDisconnect(t *testing.T) {
	ts := newSlowServer(t, Config{Slots: 1}, 2*time.Millisecond)
	ctx, cancel := context.WithCancel(ctxT(t))
	stream := longStream(ts, ctx, 500)
	for i := 0; i < 5; i++ {
		if !stream.Next() {
			t.Fatalf("stream ended after %d chunks: %v", i, stream.Err())
		}
	}
	if ts.SlotsBusy() != 1 {
		t.Fatalf("%d slots busy during the stream", ts.SlotsBusy())
	}
	t0 := time.Now()
	cancel()
	for ts.SlotsBusy() != 0 && time.Since(t0) < 2*time.Second {
		time.Sleep(100 * time.Microsecond)
	}
	freed := time.Since(t0)
	if freed > 100*time.Millisecond {
		t.Errorf("slot freed %v after the client went away, want < 100ms", freed)
	}
	n := ts.GeneratedTokens()
	passes := ts.metrics.passes.Load()
	time.Sleep(50 * time.Millisecond)
	if n2, p2 := ts.GeneratedTokens(), ts.metrics.passes.Load(); n2 != n || p2 != passes {
		t.Errorf("after the slot was freed: %d more tokens, %d more forward passes", n2-n, p2-passes)
	}
	if n >= 500 {
		t.Errorf("all %d tokens were generated: the cancellation was not seen", n)
	}
	t.Logf("slot freed %v after cancel, after %d of 500 tokens", freed, n)
	stream.Close()
}

// doneChecker records whether each streamed response body ended with the
// data: [DONE] event.
type doneChecker struct {
	ok, bad atomic.Int64
}

type tailBody struct {
	io.ReadCloser
	tail []byte
	c    *doneChecker
	once sync.Once
}

func (b *tailBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.tail = append(b.tail, p[:n]...)
	if len(b.tail) > 64 {
		b.tail = b.tail[len(b.tail)-64:]
	}
	return n, err
}

func (b *tailBody) Close() error {
	b.once.Do(func() {
		if bytes.HasSuffix(b.tail, []byte("data: [DONE]\n\n")) {
			b.c.ok.Add(1)
		} else {
			b.c.bad.Add(1)
		}
	})
	return b.ReadCloser.Close()
}

func (c *doneChecker) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	resp, err := next(req)
	if err == nil && resp.Header.Get("Content-Type") == "text/event-stream" {
		resp.Body = &tailBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

type loadResult struct {
	streams, tokens, errors int64
	elapsed                 time.Duration
}

// runLoad runs clients concurrent streaming clients against a server with
// slots slots for d, each sending requests back to back.
func runLoad(t *testing.T, slots, clients int, d time.Duration) loadResult {
	m, err := goformer.Load("", goformer.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := New(m, Config{Slots: slots, ModelName: "stories260K", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	var check doneChecker
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := openai.NewClient(option.WithBaseURL(hs.URL+"/v1/"), option.WithMaxRetries(0), option.WithAPIKey("unused"),
		option.WithHTTPClient(&http.Client{Transport: tr}), option.WithMiddleware(check.middleware))
	prompts := []string{"Once upon a time", "Tom and his dog", "Lily was sad because", "The sun", "One day, a little bird"}
	var res loadResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	t0 := time.Now()
	deadline := t0.Add(d)
	for c := range clients {
		wg.Go(func() {
			for i := 0; i < 100000 && time.Now().Before(deadline); i++ {
				stream := client.Completions.NewStreaming(ctx, openai.CompletionNewParams{
					Model:         "stories260K",
					Prompt:        openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompts[(c+i)%len(prompts)])},
					MaxTokens:     openai.Int(64),
					Temperature:   openai.Float(0.8),
					Seed:          openai.Int(int64(c*1000 + i)),
					StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
				})
				finishes, usageTokens := 0, int64(-1)
				var problem error
				for stream.Next() {
					ch := stream.Current()
					if ch.Object != "text_completion" {
						problem = fmt.Errorf("chunk object %q", ch.Object)
					}
					for _, x := range ch.Choices {
						if x.FinishReason != "" {
							finishes++
						}
					}
					if ch.JSON.Usage.Valid() && ch.Usage.TotalTokens > 0 {
						usageTokens = ch.Usage.CompletionTokens
					}
				}
				if err := stream.Err(); err != nil {
					problem = err
				} else if finishes != 1 || usageTokens < 0 {
					problem = fmt.Errorf("%d finish reasons, usage %d", finishes, usageTokens)
				}
				mu.Lock()
				if problem != nil {
					res.errors++
					t.Errorf("client %d request %d: %v", c, i, problem)
				} else {
					res.streams++
					res.tokens += usageTokens
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(t0)
	if bad := check.bad.Load(); bad != 0 || check.ok.Load() != res.streams {
		t.Errorf("%d streams ended without data: [DONE] (%d with it, %d requests)", bad, check.ok.Load(), res.streams)
	}
	return res
}

// TestLoad runs 16 concurrent streaming clients against 4 slots, then the
// same load against 1 slot, and reports the aggregate tokens/s of each.
// Every stream must be well-formed, with no errors, and the goroutines and
// heap must come back to their baseline. go test -run TestLoad -load 30s
// runs the 30 s per configuration.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	d := *loadDuration
	four := runLoad(t, 4, 16, d)
	one := runLoad(t, 1, 16, d)
	rate := func(r loadResult) float64 { return float64(r.tokens) / r.elapsed.Seconds() }
	t.Logf("16 clients, %v each: 4 slots %d streams %d tokens %.0f tok/s; 1 slot %d streams %d tokens %.0f tok/s; ratio 4/1 = %.2fx",
		d, four.streams, four.tokens, rate(four), one.streams, one.tokens, rate(one), rate(four)/rate(one))
	if four.errors+one.errors != 0 || four.streams == 0 || one.streams == 0 {
		t.Fatalf("errors %d/%d, streams %d/%d", four.errors, one.errors, four.streams, one.streams)
	}
	// both servers and models are closed: back to the baseline
	var g int
	for i := 0; i < 200; i++ {
		if g = runtime.NumGoroutine(); g <= g0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if g > g0 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the load, %d before:\n%s", g, g0, buf[:runtime.Stack(buf, true)])
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("goroutines %d before, %d after; heap in use %d KiB before, %d KiB after", g0, g, before.HeapAlloc>>10, after.HeapAlloc>>10)
	if after.HeapAlloc > before.HeapAlloc+4<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB over the load", before.HeapAlloc>>10, after.HeapAlloc>>10)
	}
}
