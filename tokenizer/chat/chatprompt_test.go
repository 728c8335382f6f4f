package chat_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goformer/goformer"
)

// TestChatPromptOfCommittedTemplates checks the prompt goformer's chat
// (Model.ChatPrompt, what `goformer chat` sends) builds for one user turn
// with each committed real template: the embedded stories260K model with the
// template attached must produce exactly the tokens of the Python jinja2
// reference rendering (testdata/renderings.json, rendered with <s> and </s>,
// which are stories260K's BOS and EOS too; Qwen2.5's template uses
// neither, its end-of-turn marker is literal text).
func TestChatPromptOfCommittedTemplates(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "renderings.json"))
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]struct {
		Text *string `json:"text"`
	}{}
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"Qwen-Qwen2.5-Instruct.jinja", "microsoft-Phi-3.5-mini-instruct.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja", "mistralai-Mistral-7B-Instruct-v0.1.jinja"} {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := goformer.Load("", goformer.WithChatTemplate(string(src)))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := m.ChatPrompt([]goformer.Message{{Role: "user", Content: "Tell me a story about a cat named Zoë 🐱."}}, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		ref := refs[refKey(string(src), "single-user")].Text
		if ref == nil {
			t.Fatalf("%s: no reference", file)
		}
		want := m.Tokenizer().EncodeSpecial(*ref)
		if !slices.Equal(ids, want) {
			t.Errorf("%s: prompt %v (%q), want %v (%q)", file, ids, m.Tokenizer().Decode(ids), want, *ref)
		}
		m.Close()
	}
}

// refKey is the key of a rendering in testdata/renderings.json (as key in
// chat_test.go).
func refKey(src, conv string) string {
	h := sha256.Sum256([]byte(src))
	return hex.EncodeToString(h[:8]) + "/" + conv
}
