// Command goformer generates text with transformer models.
//
//	goformer generate [-m MODEL] [-n N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--json] PROMPT
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

const usage = `goformer — transformer inference in Go

Usage:
  goformer generate [flags] PROMPT   generate text (without -m: the embedded stories260K model)
  goformer tokenize [flags] TEXT     print token ids (--jsonl: batch mode on stdin)
  goformer chat [flags]              interactive chat (Ctrl-C stops an answer, /help lists commands)
  goformer pull ORG/NAME[:REV]       download a Hugging Face model into the HF cache (--include PATTERN)
  goformer list                      models in the HF cache, with size and format
  goformer rm ORG/NAME               remove a model from the HF cache
  goformer bench [flags]             prompt/generation tokens/s, llama-bench style (-o json)
  goformer serve [flags]             OpenAI-compatible HTTP server (--host, --port, --parallel N)
  goformer synth --arch A --shape S  write a random-weight checkpoint (--dtype, --format gguf|hf, -o PATH)
  goformer embed -m MODEL TEXT...    print L2-normalized embeddings as JSON (BERT family)
  goformer xla install [--cuda]      download XLA's PJRT plugins (for --backend xla; never automatic)
  goformer help COMMAND              flags of a command

Run 'goformer generate -h' for its flags.
`

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "chat" {
		err = chatMain(os.Args[2:])
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "goformer:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "generate", "gen":
		return cmdGenerate(ctx, rest, stdout, stderr)
	case "tokenize":
		return cmdTokenize(ctx, rest, stdout, stderr)
	case "chat":
		return cmdChat(ctx, rest, stdin, stdout, stderr, nil)
	case "pull":
		return cmdPull(ctx, rest, stdout, stderr)
	case "list", "ls":
		return cmdList(ctx, rest, stdout, stderr)
	case "rm":
		return cmdRm(ctx, rest, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "xla":
		return cmdXLA(ctx, rest, stdout, stderr)
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "synth":
		return cmdSynth(ctx, rest, stdout, stderr)
	case "embed":
		return cmdEmbed(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "goformer: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, as most CLIs allow.
func parseInterspersed(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" || !strings.HasPrefix(rest[0], "-") || rest[0] == "-" {
			if rest[0] == "--" {
				return append(pos, rest[1:]...), nil
			}
			pos = append(pos, rest[0])
			args = rest[1:]
			continue
		}
		args = rest
	}
}
