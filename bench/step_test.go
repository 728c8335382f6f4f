package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestStepGate runs the embedded model with a gate: each warm-up and
// repetition announces itself and waits for its line.
func TestStepGate(t *testing.T) {
	ctx := context.Background()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{Prompts: []int{4}, Gens: []int{2}, Reps: 2, Threads: 1, Progress: StepGate(ctx, inR, outW)})
		outW.Close()
		done <- err
	}()
	steps := bufio.NewScanner(outR)
	for _, want := range []string{"pp4 0/2", "pp4 1/2", "pp4 2/2", "tg2 0/2", "tg2 1/2", "tg2 2/2"} {
		if !steps.Scan() {
			t.Fatalf("no step line; want step %s", want)
		}
		if got := steps.Text(); got != "step "+want {
			t.Fatalf("got %q, want %q", got, "step "+want)
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned (%v) while step %s waited for its line", err, want)
		case <-time.After(20 * time.Millisecond):
		}
		fmt.Fprintln(inW)
	}
	if steps.Scan() {
		t.Errorf("extra line %q", steps.Text())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStepGateEOF: once the controller's input ends, the gate no longer
// waits.
func TestStepGateEOF(t *testing.T) {
	ctx := context.Background()
	inR, inW := io.Pipe()
	inW.Close()
	if _, err := Run(ctx, Options{Prompts: []int{4}, Gens: []int{2}, Reps: 2, Threads: 1, Progress: StepGate(ctx, inR, io.Discard)}); err != nil {
		t.Fatal(err)
	}
}

// TestStepGateCancel: a cancelled context releases a waiting gate, and the
// run stops with the context's error.
func TestStepGateCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	inR, _ := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{Prompts: []int{4}, Reps: 2, Threads: 1, Progress: StepGate(ctx, inR, outW)})
		done <- err
	}()
	bufio.NewReader(outR).ReadString('\n') // the first step waits
	cancel()
	go io.Copy(io.Discard, outR)
	if err := <-done; err == nil {
		t.Fatal("Run after cancel: nil error")
	}
}
