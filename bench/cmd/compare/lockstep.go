package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// stepper is one engine of a lockstep run: a benchmark process started with
// its step flag (goformer bench -step, llamacpp.mjs --step), which announces
// each warm-up and repetition with a "step ..." line on stderr and then
// waits for a line on stdin.
type stepper struct {
	who   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
	steps chan string // the step lines; closed when the process's stderr ends
	live  bool        // started, and its stderr has not ended
	log   *os.File
	path  string // of the log
}

// runLockstep runs the engines' processes at the same time, both loaded,
// and lets them take turns warm-up by warm-up and repetition by repetition,
// in alternating order (A B, B A, A B, ...): the machine's speed drifts by
// tens of percent within minutes, and pairs measured seconds apart see the
// same machine. The engine waiting for its turn is idle. Both processes must
// run the same tests in the same order. It returns each engine's records by
// test name (nil where it failed) and its error. At the limit both are
// interrupted, and print the tests and repetitions they finished.
func runLockstep(ctx context.Context, limit time.Duration, dir, model string, who [2]string, argv [2][]string) ([2]map[string]result, [2]error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	base := strings.TrimSuffix(filepath.Base(model), ".gguf")
	var (
		es   [2]*stepper
		res  [2]map[string]result
		errs [2]error
	)
	for i := range es {
		e := &stepper{who: who[i], steps: make(chan string)}
		es[i] = e
		e.path = filepath.Join(dir, base+"."+who[i]+".log")
		if e.log, errs[i] = os.Create(e.path); errs[i] != nil {
			continue
		}
		defer e.log.Close()
		e.cmd = exec.CommandContext(ctx, argv[i][0], argv[i][1:]...)
		e.cmd.Stdout = &e.out
		e.cmd.Cancel = func() error { return e.cmd.Process.Signal(os.Interrupt) }
		e.cmd.WaitDelay = 15 * time.Second
		var stderr io.ReadCloser
		if e.stdin, errs[i] = e.cmd.StdinPipe(); errs[i] != nil {
			continue
		}
		if stderr, errs[i] = e.cmd.StderrPipe(); errs[i] != nil {
			continue
		}
		if errs[i] = e.cmd.Start(); errs[i] != nil {
			continue
		}
		e.live = true
		go func() {
			defer close(e.steps)
			s := bufio.NewScanner(stderr)
			for s.Scan() {
				if line := s.Text(); strings.HasPrefix(line, "step ") {
					e.steps <- strings.TrimPrefix(line, "step ")
				} else {
					fmt.Fprintln(e.log, line)
				}
			}
		}()
	}
	// Each engine's first step line says it has loaded the model.
	for _, e := range es {
		if e.live {
			_, e.live = <-e.steps
		}
	}
	for turn := 0; ; turn++ {
		order := es
		if turn%2 == 1 {
			order[0], order[1] = es[1], es[0]
		}
		ran := false
		for _, e := range order {
			if !e.live {
				continue
			}
			ran = true
			if _, err := io.WriteString(e.stdin, "\n"); err != nil {
				// It exited; its stderr ends too.
				for range e.steps {
				}
				e.live = false
				continue
			}
			_, e.live = <-e.steps
		}
		if !ran {
			break
		}
	}
	for i, e := range es {
		if e.cmd == nil || e.cmd.Process == nil {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%s did not start", e.who)
			}
			continue
		}
		e.stdin.Close()
		runErr := e.cmd.Wait()
		if ctx.Err() == context.DeadlineExceeded {
			runErr = fmt.Errorf("stopped after %v", limit)
		}
		res[i], errs[i] = parseResults(e.out.Bytes(), runErr, dir, base, e.who, e.path)
	}
	return res, errs
}
