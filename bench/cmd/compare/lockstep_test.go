package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockstepTakesTurns runs two stand-in engines (shell scripts that
// announce three steps, record each in a shared file when released, and
// print an empty llama-bench JSON list): the turns must alternate A B, B A,
// A B.
func TestLockstepTakesTurns(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	order := filepath.Join(dir, "order")
	engine := func(name string, steps int) []string {
		return []string{"sh", "-c", `i=0; while [ $i -lt ` + string(rune('0'+steps)) + ` ]; do echo "step s$i" >&2; echo "log line" >&2; read x; echo ` + name + ` >> ` + order + `; i=$((i+1)); done; echo '[{"n_prompt": 4, "avg_ts": 1, "samples_ts": [1]}]'`}
	}
	ms, errs := runLockstep(context.Background(), time.Minute, dir, "m.gguf", [2]string{"a", "b"}, [2][]string{engine("A", 3), engine("B", 3)})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("engine %d: %v", i, err)
		}
		if _, ok := ms[i]["pp4"]; !ok {
			t.Errorf("engine %d: results %v, want pp4", i, ms[i])
		}
	}
	got, err := os.ReadFile(order)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(strings.Fields(string(got)), " "); s != "A B B A A B" {
		t.Errorf("turns %q, want %q", s, "A B B A A B")
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "m.a.log")); !strings.Contains(string(log), "log line") || strings.Contains(string(log), "step") {
		t.Errorf("engine a's log %q: want its other stderr lines only", log)
	}

	// An engine that stops early leaves the other to finish alone.
	os.Remove(order)
	_, errs = runLockstep(context.Background(), time.Minute, dir, "m.gguf", [2]string{"a", "b"}, [2][]string{engine("A", 1), engine("B", 3)})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors %v", errs)
	}
	if got, _ := os.ReadFile(order); strings.Join(strings.Fields(string(got)), " ") != "A B B B" {
		t.Errorf("turns %q, want A B B B", got)
	}
}
