package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe starts goformer serve on a free loopback port with the embedded
// model, chats with it through the official OpenAI client and stops it as
// Ctrl-C would.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--port", "0", "--parallel", "2", "-t", "1"}, &stdout, &stderr)
	}()
	urlRe := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	var url string
	for i := 0; i < 500 && url == ""; i++ {
		if m := urlRe.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if url == "" {
		t.Fatalf("no listening address logged:\n%s", stderr.String())
	}
	client := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	page, err := client.Models.List(rctx)
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "stories260K" {
		t.Fatalf("models: %+v %v", page, err)
	}
	res, err := client.Chat.Completions.New(rctx, openai.ChatCompletionNewParams{
		Model: "default", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		MaxTokens: openai.Int(16), Temperature: openai.Float(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Choices[0].Message.Content == "" || res.Usage.CompletionTokens == 0 {
		t.Errorf("empty answer: %+v", res)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	logs := stderr.String()
	for _, want := range []string{"msg=serving", "msg=request", "path=/v1/chat/completions", "completion_tokens=", "msg=stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestServeFlags(t *testing.T) {
	for _, args := range [][]string{{"serve", "--parallel", "0"}, {"serve", "--port", "70000"}, {"serve", "extra"}, {"serve", "--log-format", "xml"}} {
		var out, errb syncBuffer
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
