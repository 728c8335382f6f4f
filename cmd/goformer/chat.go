package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/goformer/goformer"
)

const chatHelp = `Commands:
  /reset               forget the conversation (keeps the system message)
  /save FILE           save the conversation as JSON
  /load FILE           load a conversation saved with /save
  /set NAME VALUE      set temperature, top-k, top-p, min-p, repeat-penalty, seed or max-tokens
  /history             show the conversation
  /help                this text
  /bye                 quit (or Ctrl-D)
Ctrl-C stops the answer being written.
`

// chatState is what /save writes and /load reads.
type chatState struct {
	System   string             `json:"system,omitempty"`
	Messages []goformer.Message `json:"messages"`
}

// cmdChat runs an interactive chat. interrupts delivers Ctrl-C: during an
// answer it cancels that answer only.
func cmdChat(ctx context.Context, args []string, in io.Reader, stdout, stderr io.Writer, interrupts <-chan os.Signal) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer chat [flags]")
		fs.PrintDefaults()
		fmt.Fprint(stderr, chatHelp)
	}
	modelPath := fs.String("m", "", "model: a .gguf file or a Hugging Face directory (default: the embedded stories260K)")
	system := fs.String("system", "", "system message")
	n := fs.Int("n", -1, "tokens per answer at most (-1: until end of turn or a full context)")
	temp := fs.Float64("temperature", 0.8, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 40, "top-k (0: off)")
	topP := fs.Float64("top-p", 0.9, "top-p (1: off)")
	seed := fs.Int64("seed", -1, "random seed (-1: random)")
	threads := fs.Int("t", 0, "CPU threads (0: all cores)")
	ctxLen := fs.Int("c", 0, "context length (0: the model's, at most 4096)")
	ignoreEOS := fs.Bool("ignore-eos", false, "do not stop answers at end-of-turn tokens")
	kvCache := fs.String("kv-cache", "f32", kvCacheUsage)
	if _, err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	path, err := resolveModel(*modelPath)
	if err != nil {
		return err
	}
	loadOpts := []goformer.Option{goformer.WithThreads(*threads), goformer.WithContext(*ctxLen)}
	if loadOpts, err = withKVCache(loadOpts, *kvCache); err != nil {
		return err
	}
	m, err := goformer.Load(path, loadOpts...)
	if err != nil {
		return err
	}
	defer m.Close()
	s := uint64(*seed)
	if *seed < 0 {
		s = rand.Uint64()
	}
	opts := goformer.GenerateOptions{MaxTokens: max(*n, 0), Temperature: float32(*temp), TopK: *topK, TopP: float32(*topP), Seed: s, IgnoreEOS: *ignoreEOS}
	st := chatState{System: *system}
	if m.ChatTemplate() == nil {
		fmt.Fprintln(stderr, "(this model has no chat template: turns are joined as plain text)")
	}
	fmt.Fprintln(stderr, "Type a message, /help for commands, Ctrl-D to quit.")
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for {
		fmt.Fprint(stdout, ">>> ")
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "/") {
			quit, err := chatCommand(line, &st, &opts, stdout)
			if err != nil {
				fmt.Fprintln(stdout, "error:", err)
			}
			if quit {
				return nil
			}
			continue
		}
		st.Messages = append(st.Messages, goformer.Message{Role: "user", Content: line})
		msgs := st.Messages
		if st.System != "" {
			msgs = append([]goformer.Message{{Role: "system", Content: st.System}}, msgs...)
		}
		answer, err := chatAnswer(ctx, m, msgs, opts, stdout, interrupts)
		st.Messages = append(st.Messages, goformer.Message{Role: "assistant", Content: answer})
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stdout, "\nerror:", err)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// chatAnswer streams one answer; an interrupt cancels it.
func chatAnswer(ctx context.Context, m *goformer.Model, msgs []goformer.Message, opts goformer.GenerateOptions, w io.Writer, interrupts <-chan os.Signal) (string, error) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-interrupts:
			cancel()
		case <-done:
		}
	}()
	var b strings.Builder
	var err error
	for tok, e := range m.Chat(actx, msgs, opts) {
		if e != nil {
			err = e
			break
		}
		b.WriteString(tok.Text)
		io.WriteString(w, tok.Text)
	}
	if errors.Is(err, context.Canceled) {
		io.WriteString(w, " [interrupted]")
	}
	io.WriteString(w, "\n")
	return strings.TrimSpace(b.String()), err
}

func chatCommand(line string, st *chatState, o *goformer.GenerateOptions, w io.Writer) (quit bool, err error) {
	f := strings.Fields(line)
	switch f[0] {
	case "/bye", "/exit", "/quit":
		return true, nil
	case "/help", "/?":
		io.WriteString(w, chatHelp)
	case "/reset", "/clear":
		st.Messages = nil
		fmt.Fprintln(w, "conversation cleared")
	case "/history":
		if st.System != "" {
			fmt.Fprintf(w, "system: %s\n", st.System)
		}
		for _, m := range st.Messages {
			fmt.Fprintf(w, "%s: %s\n", m.Role, m.Content)
		}
		fmt.Fprintf(w, "(%d messages)\n", len(st.Messages))
	case "/save", "/load":
		if len(f) != 2 {
			return false, fmt.Errorf("usage: %s FILE", f[0])
		}
		if f[0] == "/save" {
			b, _ := json.MarshalIndent(st, "", "  ")
			if err := os.WriteFile(f[1], b, 0o644); err != nil {
				return false, err
			}
			fmt.Fprintf(w, "saved %d messages to %s\n", len(st.Messages), f[1])
			return false, nil
		}
		b, err := os.ReadFile(f[1])
		if err != nil {
			return false, err
		}
		var loaded chatState
		if err := json.Unmarshal(b, &loaded); err != nil {
			return false, fmt.Errorf("%s: %w", f[1], err)
		}
		*st = loaded
		fmt.Fprintf(w, "loaded %d messages from %s\n", len(st.Messages), f[1])
	case "/set":
		if len(f) != 3 {
			return false, errors.New("usage: /set NAME VALUE")
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return false, fmt.Errorf("/set %s: %q is not a number", f[1], f[2])
		}
		switch f[1] {
		case "temperature":
			o.Temperature = float32(v)
		case "top-k", "top_k":
			o.TopK = int(v)
		case "top-p", "top_p":
			o.TopP = float32(v)
		case "min-p", "min_p":
			o.MinP = float32(v)
		case "repeat-penalty", "repeat_penalty":
			o.RepeatPenalty = float32(v)
		case "seed":
			o.Seed = uint64(v)
		case "max-tokens", "max_tokens", "n":
			o.MaxTokens = max(int(v), 0)
		default:
			return false, fmt.Errorf("/set: unknown setting %q", f[1])
		}
		fmt.Fprintf(w, "%s = %s\n", f[1], f[2])
	default:
		return false, fmt.Errorf("unknown command %s (/help lists them)", f[0])
	}
	return false, nil
}

// chatMain runs the chat command with its own interrupt handling: Ctrl-C
// stops an answer, not the program.
func chatMain(args []string) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	return cmdChat(context.Background(), args, os.Stdin, os.Stdout, os.Stderr, sig)
}
