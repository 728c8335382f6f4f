package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
)

// StepGate returns an Options.Progress function for running two engines in
// lockstep (bench/cmd/compare does this with goformer and llama.cpp): before
// each warm-up and each repetition it writes "step TEST REP/REPS" (REP 0:
// the warm-up) as a line to w, then waits for a line on r, so that a
// controller can let the engines take turns, repetition by repetition, and
// the machine's drift hits both alike. Once r reaches its end (or fails) the
// gate stops waiting; when ctx is done it returns at once (the test then
// stops on ctx).
func StepGate(ctx context.Context, r io.Reader, w io.Writer) func(test string, rep, reps int) {
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		s := bufio.NewScanner(r)
		for s.Scan() {
			select {
			case lines <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func(test string, rep, reps int) {
		fmt.Fprintf(w, "step %s %d/%d\n", test, rep, reps)
		select {
		case <-lines:
		case <-ctx.Done():
		}
	}
}
