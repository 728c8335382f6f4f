package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

// The greedy continuation of "Once upon a time" by llama2.c's run.c on
// stories260K (../shared/models/stories260K/generations/greedy_once_upon_a_time.json).
var runCGreedy = []int{432, 383, 286, 261, 376, 298, 315, 421, 395, 317}

func TestGenerateJSON(t *testing.T) {
	want := runCGreedy
	if b, err := os.ReadFile("../../../shared/models/stories260K/generations/greedy_once_upon_a_time.json"); err == nil {
		var g struct {
			Generated []int `json:"generated_ids"`
		}
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		want = g.Generated[:10]
	}
	out, _, err := runCLI(t, "generate", "--temperature", "0", "-n", "10", "--json", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 11 {
		t.Fatalf("%d lines, want 10 tokens + summary:\n%s", len(lines), out)
	}
	var ids []int
	for _, l := range lines[:10] {
		var tok struct {
			ID   *int    `json:"id"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal([]byte(l), &tok); err != nil || tok.ID == nil || tok.Text == nil {
			t.Fatalf("bad token line %q: %v", l, err)
		}
		ids = append(ids, *tok.ID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[10]), &sum); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"done", "prompt_tokens", "generated_tokens", "prompt_tps", "gen_tps"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q: %s", k, lines[10])
		}
	}
	if sum["done"] != true || sum["prompt_tokens"] != 5.0 || sum["generated_tokens"] != 10.0 {
		t.Errorf("summary %s", lines[10])
	}
}

func TestGenerateText(t *testing.T) {
	out, stderr, err := runCLI(t, "generate", "-n", "20", "--seed", "3", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "Once upon a time") || len(out) <= len("Once upon a time\n") {
		t.Fatalf("stdout %q", out)
	}
	if !strings.Contains(stderr, "tokens/s") {
		t.Fatalf("stderr lacks timings: %q", stderr)
	}
	// same seed, same text
	again, _, err := runCLI(t, "generate", "-n", "20", "--seed", "3", "Once upon a time")
	if err != nil || again != out {
		t.Fatalf("seed 3 twice: %q vs %q (%v)", out, again, err)
	}
}

func TestGenerateContextOverflow(t *testing.T) {
	long := strings.Repeat("Once upon a time ", 10)
	out, _, err := runCLI(t, "generate", "-c", "16", "-n", "40", "--ignore-eos", "--context-overflow", "shift", "--temperature", "0", "--json", long)
	if err != nil {
		t.Fatal(err)
	}
	// count generated tokens; a trailing {"id":-1} line would carry flushed
	// bytes of an incomplete character
	if n := strings.Count(out, `"id"`) - strings.Count(out, `"id":-1`); n != 40 {
		t.Fatalf("%d tokens generated in a context of 16 with shifting, want 40:\n%s", n, out)
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"generate"}, "one PROMPT"},
		{[]string{"generate", "-n", "0", "x"}, "-n 0"},
		{[]string{"generate", "--top-p", "2", "x"}, "--top-p"},
		{[]string{"generate", "-m", "/nonexistent/model.gguf", "x"}, "/nonexistent/model.gguf"},
		{[]string{"generate", "-c", "8", strings.Repeat("Once upon a time ", 10)}, "does not fit"},
		{[]string{"frobnicate"}, "usage"},
		{[]string{"generate", "--context-overflow", "wrap", "x"}, "--context-overflow"},
		{[]string{"generate", "--kv-cache", "q8_0", "x"}, "--kv-cache"},
		{[]string{"bench", "--kv-cache", "f8", "-q"}, "--kv-cache"},
		{[]string{"chat", "--kv-cache", "bf16"}, "--kv-cache"},
	} {
		_, _, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}
