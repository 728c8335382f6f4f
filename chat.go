package goformer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/goformer/goformer/tokenizer/chat"
)

// Message is one turn of a conversation.
type Message = chat.Message

// ChatTemplate returns the model's compiled chat template, or nil when the
// model has none (then Chat joins the messages' contents with newlines).
func (m *Model) ChatTemplate() *chat.Template { return m.template }

// loadChatTemplate compiles src, or else the template that came with the
// tokenizer (GGUF tokenizer.chat_template or tokenizer_config.json's
// chat_template).
func (m *Model) loadChatTemplate(src string) error {
	if src == "" {
		src = m.tok.ChatTemplate()
	}
	if src == "" {
		return nil
	}
	piece := func(id int) string {
		if id < 0 {
			return ""
		}
		return m.tok.Piece(id)
	}
	t, err := chat.New(src, piece(m.tok.BOS()), piece(m.tok.EOS()))
	if err != nil {
		return fmt.Errorf("%s: %w", m.source, err)
	}
	m.template = t
	return nil
}

// ChatPrompt renders msgs with the chat template (with the assistant's
// turn opened) and tokenizes the result. Without a template the contents are
// joined by newlines and BOS is added as for plain text.
func (m *Model) ChatPrompt(msgs []Message, vars map[string]any) ([]int, error) {
	if len(msgs) == 0 {
		return nil, errors.New("chat: no messages")
	}
	if m.template == nil {
		var parts []string
		for _, x := range msgs {
			parts = append(parts, x.Content)
		}
		return m.tok.Encode(strings.Join(parts, "\n"), true), nil
	}
	text, err := m.template.Render(msgs, chat.Options{AddGenerationPrompt: true, Vars: vars})
	if err != nil {
		return nil, err
	}
	// The template writes the special tokens (BOS, turn markers) itself.
	return m.tok.EncodeSpecial(text), nil
}

// Chat generates the assistant's reply to msgs. Consecutive calls whose
// conversations share a prefix reuse the KV cache of that prefix, so each
// turn only evaluates what is new.
func (m *Model) Chat(ctx context.Context, msgs []Message, o GenerateOptions) iter.Seq2[Token, error] {
	ids, err := m.ChatPrompt(msgs, nil)
	if err != nil {
		return func(yield func(Token, error) bool) { yield(Token{}, err) }
	}
	return m.GenerateIDs(ctx, ids, o)
}
