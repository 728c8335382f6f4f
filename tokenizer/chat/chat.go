// Package chat renders conversations into a model's prompt text with the
// model's own chat template: the Jinja template Hugging Face ships in
// tokenizer_config.json ("chat_template") and GGUF files carry as
// tokenizer.chat_template.
//
// Templates run on github.com/ardanlabs/jinja, a pure-Go Jinja engine built
// for exactly these templates (no cgo, no dependencies at run time). It was
// chosen over gonja (aimed at Ansible-style templating, missing several
// Python string methods chat templates call) and pongo2 (Django syntax, not
// Jinja); renderings are checked against @huggingface/jinja, the
// implementation transformers.js uses.
package chat

import (
	"errors"
	"fmt"
	"time"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	Source string
	// BOS and EOS are the token texts the template may refer to as
	// bos_token and eos_token.
	BOS, EOS string
	t        *jinja.Template
	// Now returns the time for strftime_now / date_string (nil: time.Now).
	Now func() time.Time
}

// New compiles a template.
func New(source, bos, eos string) (*Template, error) {
	if source == "" {
		return nil, errors.New("chat template is empty")
	}
	t, err := jinja.Compile(source)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &Template{Source: source, BOS: bos, EOS: eos, t: t}, nil
}

// ErrTemplate is returned (wrapped) when a template raises an exception,
// as templates do for conversations they do not accept (e.g. roles that do
// not alternate).
var ErrTemplate = errors.New("chat template raised an exception")

// Options are the extra variables a render may set.
type Options struct {
	// AddGenerationPrompt appends the header of the assistant's next turn.
	AddGenerationPrompt bool
	// Vars are further template variables (e.g. "enable_thinking", "tools").
	Vars map[string]any
}

// Render formats msgs as the model expects.
func (t *Template) Render(msgs []Message, o Options) (string, error) {
	list := make([]any, len(msgs))
	for i, m := range msgs {
		list[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	data := map[string]any{
		"messages":              list,
		"add_generation_prompt": o.AddGenerationPrompt,
		"bos_token":             t.BOS,
		"eos_token":             t.EOS,
	}
	for k, v := range o.Vars {
		data[k] = v
	}
	vals := make(map[string]jinja.Value, len(data)+3)
	for k, v := range data {
		vals[k] = jinja.FromGoValue(v)
	}
	vals["raise_exception"] = jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		msg := ""
		if len(args) > 0 {
			msg = args[0].String()
		}
		return jinja.None(), fmt.Errorf("%w: %s", ErrTemplate, msg)
	})
	vals["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 {
			return jinja.None(), errors.New("strftime_now takes one format argument")
		}
		return jinja.NewString(strftime(args[0].String(), now())), nil
	})
	if _, ok := vals["date_string"]; !ok {
		vals["date_string"] = jinja.NewString(now().Format("02 Jan 2006"))
	}
	out, err := t.t.RenderValues(vals)
	if err != nil {
		return "", fmt.Errorf("rendering chat template: %w", err)
	}
	return out, nil
}

// strftime implements the C directives chat templates use.
func strftime(format string, t time.Time) string {
	var b []byte
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b = append(b, c)
			continue
		}
		i++
		switch format[i] {
		case 'd':
			b = fmt.Appendf(b, "%02d", t.Day())
		case 'm':
			b = fmt.Appendf(b, "%02d", int(t.Month()))
		case 'Y':
			b = fmt.Appendf(b, "%04d", t.Year())
		case 'y':
			b = fmt.Appendf(b, "%02d", t.Year()%100)
		case 'b':
			b = append(b, t.Format("Jan")...)
		case 'B':
			b = append(b, t.Format("January")...)
		case 'a':
			b = append(b, t.Format("Mon")...)
		case 'A':
			b = append(b, t.Format("Monday")...)
		case 'H':
			b = fmt.Appendf(b, "%02d", t.Hour())
		case 'M':
			b = fmt.Appendf(b, "%02d", t.Minute())
		case 'S':
			b = fmt.Appendf(b, "%02d", t.Second())
		case 'j':
			b = fmt.Appendf(b, "%03d", t.YearDay())
		case '%':
			b = append(b, '%')
		default:
			b = append(b, '%', format[i])
		}
	}
	return string(b)
}
