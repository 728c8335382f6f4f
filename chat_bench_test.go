package goformer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goformer/goformer"
)

// ttft returns the time to the first generated token of a chat turn.
func ttft(b *testing.B, m *goformer.Model, msgs []goformer.Message) (time.Duration, string) {
	b.Helper()
	t0 := time.Now()
	var first time.Duration
	var reply strings.Builder
	for tok, err := range m.Chat(context.Background(), msgs, goformer.GenerateOptions{MaxTokens: 8, IgnoreEOS: true}) {
		if err != nil {
			b.Fatal(err)
		}
		if first == 0 {
			first = time.Since(t0)
		}
		reply.WriteString(tok.Text)
	}
	return first, reply.String()
}

// BenchmarkChatSecondTurn measures time to first token of turn 2 of a chat
// whose history is about 1,000 tokens, against turn 1 (reported as
// turn2/turn1): turn 2 reuses the KV cache of the shared prefix.
func BenchmarkChatSecondTurn(b *testing.B) {
	m, err := goformer.Load("", goformer.WithContext(2048))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	long := strings.Repeat("Lily and Tom played in the park with a big red ball. ", 80)
	var t1, t2 time.Duration
	for b.Loop() {
		// a different first message each round, so turn 1 starts cold
		msgs := []goformer.Message{{Role: "user", Content: long}}
		d1, reply := ttft(b, m, msgs)
		msgs = append(msgs, goformer.Message{Role: "assistant", Content: reply}, goformer.Message{Role: "user", Content: "What happened next?"})
		d2, _ := ttft(b, m, msgs)
		t1 += d1
		t2 += d2
		long = "Again. " + long
	}
	b.ReportMetric(float64(t1.Microseconds())/float64(b.N)/1000, "turn1-ttft-ms")
	b.ReportMetric(float64(t2.Microseconds())/float64(b.N)/1000, "turn2-ttft-ms")
	b.ReportMetric(float64(t2)/float64(t1), "turn2/turn1")
	if n := len(m.Tokenizer().Encode(long, true)); n < 1000 {
		b.Fatalf("history of %d tokens, want ≥ 1000", n)
	}
}
