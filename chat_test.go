package goformer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/model"
)

const testTemplate = `{{ bos_token }}{% for m in messages %}{{ m.role | upper }}: {{ m.content }}
{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}`

// TestChatReusesPrefix renders turns with a chat template and checks that
// turn 2 evaluates only what turn 1 did not already put in the cache.
func TestChatReusesPrefix(t *testing.T) {
	m, err := goformer.Load("", goformer.WithChatTemplate(testTemplate))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	msgs := []goformer.Message{{Role: "system", Content: "Tell short stories."}, {Role: "user", Content: "Once upon a time"}}
	ids, err := m.ChatPrompt(msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := m.Tokenizer().EncodeSpecial("<s>SYSTEM: Tell short stories.\nUSER: Once upon a time\nASSISTANT:")
	if !slices.Equal(ids, want) || ids[0] != m.Tokenizer().BOS() {
		t.Fatalf("chat prompt %v, want %v (BOS from the template, once)", ids, want)
	}
	var st model.Stats
	var reply strings.Builder
	for tok, err := range m.Chat(context.Background(), msgs, goformer.GenerateOptions{MaxTokens: 12, Stats: &st}) {
		if err != nil {
			t.Fatal(err)
		}
		reply.WriteString(tok.Text)
	}
	msgs = append(msgs, goformer.Message{Role: "assistant", Content: reply.String()}, goformer.Message{Role: "user", Content: "The end?"})
	for _, err := range m.Chat(context.Background(), msgs, goformer.GenerateOptions{MaxTokens: 4, Stats: &st}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st.CachedTokens < len(ids) {
		t.Fatalf("turn 2 reused %d cached tokens, want at least turn 1's prompt (%d)", st.CachedTokens, len(ids))
	}
}

func TestStopStrings(t *testing.T) {
	m, err := goformer.Load("")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var full strings.Builder
	for tok, err := range m.Generate(context.Background(), "Once upon a time", goformer.GenerateOptions{MaxTokens: 40}) {
		if err != nil {
			t.Fatal(err)
		}
		full.WriteString(tok.Text)
	}
	// greedy: ", there was a little girl named Lily. ..." — stop at "Lily"
	i := strings.Index(full.String(), "Lily")
	if i < 0 {
		t.Fatalf("greedy text %q lacks Lily", full.String())
	}
	var st model.Stats
	var got strings.Builder
	for tok, err := range m.Generate(context.Background(), "Once upon a time", goformer.GenerateOptions{MaxTokens: 40, Stop: []string{"Lily", "zzz"}, Stats: &st}) {
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(tok.Text)
	}
	if got.String() != full.String()[:i] || st.StopReason != "stop" {
		t.Fatalf("with stop \"Lily\": %q (%s), want %q (stop)", got.String(), st.StopReason, full.String()[:i])
	}
}

func TestPromptLongerThanContext(t *testing.T) {
	m, err := goformer.Load("", goformer.WithContext(16))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, err := range m.Generate(context.Background(), strings.Repeat("Once upon a time ", 10), goformer.GenerateOptions{}) {
		if err == nil || !strings.Contains(err.Error(), "does not fit") {
			t.Fatalf("err = %v, want a context error", err)
		}
		return
	}
	t.Fatal("no error")
}
